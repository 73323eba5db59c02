"""The decision corpus scan: newest first, per-agent cap applied while listing (a capped agent is
never listed again), meta subtrees never listed, and a planted flaw (a scan that lists the whole
corpus) is what the listing counts catch."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from alpha_engine.evals import CorpusError, day_prefix, load_decision, parse_captured_key, scan_window
from alpha_engine.store import ArtifactStore

END = date(2026, 11, 21)


def _plant(store: ArtifactStore, days: int, agents: dict[str, int]) -> None:
    for back in range(days):
        day = END - timedelta(days=back)
        for agent, per_day in agents.items():
            for i in range(per_day):
                store.write_bytes(f"{day_prefix(day)}{agent}/{day.isoformat()}-run{i:02d}.json", b"{}")
    store.write_bytes("decision_artifacts/_eval/2026-11-21/x/y.json", b"{}")
    store.write_bytes("decision_artifacts/_cost_raw/2026-11-21/r/ic_cio.jsonl", b"")


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


def test_parse_rejects_meta_and_foreign_keys() -> None:
    parsed = parse_captured_key("decision_artifacts/2026/11/21/sector_quant:technology/r1.json")
    assert parsed is not None and parsed.agent_base == "sector_quant" and parsed.run_id == "r1"
    assert parsed.capture_date == END
    for key in ("decision_artifacts/_eval/2026-11-21/x/y.json", "decision_artifacts/2026/13/01/a/r.json",
                "decision_artifacts/2026/11/21/a/r.txt", "decision_artifacts/26/11/21/a/r.json"):
        assert parse_captured_key(key) is None


def test_window_newest_first_with_the_cap_applied_while_listing(store: ArtifactStore) -> None:
    _plant(store, days=10, agents={"ic_cio": 3, "macro_economist": 1})
    scan = scan_window(store, end=END, window_days=5, per_agent_cap=4)
    cio = [k for k in scan.keys if k.agent_id == "ic_cio"]
    assert [k.run_id for k in cio] == ["2026-11-21-run02", "2026-11-21-run01", "2026-11-21-run00",
                                       "2026-11-20-run02"]  # newest first; the oldest dropped
    macro = [k.capture_date for k in scan.keys if k.agent_id == "macro_economist"]
    assert macro == [END - timedelta(days=b) for b in range(4)]  # 5-day window, capped at 4
    assert scan.capped_agents == {"ic_cio", "macro_economist"}
    # ic_cio is full after two days: its folder is never listed on the other three days
    assert scan.listings == 5 + 2 + 4 and scan.days_listed == 5
    assert scan.start == END - timedelta(days=4)


def test_the_listing_work_grows_with_the_cap_not_with_the_corpus(store: ArtifactStore, tmp_path: Path) -> None:
    _plant(store, days=6, agents={"a": 20})
    big = ArtifactStore(str(tmp_path / "big"))
    _plant(big, days=6, agents={"a": 200})
    small_scan = scan_window(store, end=END, window_days=6, per_agent_cap=10)
    big_scan = scan_window(big, end=END, window_days=6, per_agent_cap=10)
    assert len(small_scan.keys) == len(big_scan.keys) == 10
    assert small_scan.listings == big_scan.listings == 6 + 1
    # the planted flaw: listing the whole window first, then capping, touches all of the corpus
    assert len(big.list("decision_artifacts/2026/")) == 1200


def test_include_filter_total_cap_and_deadline(store: ArtifactStore) -> None:
    _plant(store, days=3, agents={"ic_cio": 2, "sector_quant:tech": 2})
    only = scan_window(store, end=END, window_days=3, include=lambda a: a == "ic_cio")
    assert {k.agent_id for k in only.keys} == {"ic_cio"} and len(only.keys) == 6
    assert len(scan_window(store, end=END, window_days=3, total_cap=3).keys) == 3
    stopped = scan_window(store, end=END, window_days=3, deadline=lambda: True)
    assert stopped.keys == [] and stopped.days_listed == 0


def test_errors_name_what_is_wrong(store: ArtifactStore) -> None:
    with pytest.raises(CorpusError, match="window_days must be at least 1"):
        scan_window(store, end=END, window_days=0)
    store.write_json("decision_artifacts/2026/11/21/ic_cio/bad.json", {"run_id": "x"})
    with pytest.raises(CorpusError, match=r"decision decision_artifacts/2026/11/21/ic_cio/bad.json is not a valid"):
        load_decision(store, "decision_artifacts/2026/11/21/ic_cio/bad.json")
    with pytest.raises(CorpusError, match="cannot read decision"):
        load_decision(store, "decision_artifacts/2026/11/21/ic_cio/absent.json")


def test_children_lists_one_level(store: ArtifactStore) -> None:
    _plant(store, days=1, agents={"b": 1, "a": 1})
    assert store.children("decision_artifacts/2026/11/21/") == ["a", "b"]
    assert store.children("decision_artifacts/") == ["2026", "_cost_raw", "_eval"]
    assert store.children("nothing/here/") == []


def test_the_scan_records_every_agent_seen_and_a_deadline_stop(store: ArtifactStore) -> None:
    _plant(store, days=4, agents={"ic_cio": 2, "sector_quant:tech": 1})
    only = scan_window(store, end=END, window_days=4, include=lambda a: a == "ic_cio")
    assert only.agents_seen == {"ic_cio", "sector_quant:tech"} and {k.agent_id for k in only.keys} == {"ic_cio"}
    assert only.listings == 4 + 4 and not only.stopped_by_deadline  # sector_quant:tech seen, never listed
    ticks = iter(range(100))
    stopped = scan_window(store, end=END, window_days=4, deadline=lambda: next(ticks) >= 1)
    assert stopped.stopped_by_deadline and stopped.days_listed == 1 and stopped.summary()["stopped_by_deadline"]
