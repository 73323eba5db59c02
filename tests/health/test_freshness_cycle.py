"""run_freshness_cycle: one cycle over every spec writes its results and heartbeat (atomically, the
same bytes for the same clock), emits its metrics, alerts once per artifact per cycle, and goes on
past a broken probe; ``alpha-engine freshness check`` runs it against the workspace."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.health import (
    FRESHNESS_HEARTBEAT,
    FRESHNESS_RESULTS,
    ArtifactSpec,
    load_registry,
    run_freshness_cycle,
)
from alpha_engine.pipeline import Notifier
from alpha_engine.store import ArtifactStore, SqliteMetrics, StoreError, TradingCalendar

CALENDAR = TradingCalendar()
NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
FRESH = ArtifactSpec("fresh-one", "fresh/{date}.json", "eod", 1, "warning", "scanner")
STALE = ArtifactSpec("stale-one", "stale/{date}.json", "saturday", 5, "critical", "research")
MISSING = ArtifactSpec("missing-one", "missing/{date}.json", "saturday", 5, "warning", "evaluator")
BROKEN = ArtifactSpec("broken-one", "broken/{date}.json", "eod", 1, "warning", "parity")
SPECS = (STALE, FRESH, BROKEN, MISSING)


class _BrokenStore(ArtifactStore):
    calls = 0

    def list(self, prefix: str = "") -> list[str]:
        type(self).calls += 1
        if prefix.startswith("broken"):
            raise StoreError("AccessDenied listing broken/")
        return super().list(prefix)


class _Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.fail = fail

    def publish(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None:
        if self.fail:
            raise OSError("outbox disk full")
        self.sent.append((subject, message, dict(attributes or {})))


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    store = _BrokenStore(tmp_path / "artifacts")
    store.write_json("fresh/2026-12-01.json", {})
    store.write_json("stale/2026-11-21.json", {})
    return store


def test_a_cycle_checks_every_spec_and_a_broken_probe_is_isolated(store: ArtifactStore, tmp_path: Path) -> None:
    notifier = _Recorder()
    metrics = SqliteMetrics(tmp_path / "metrics.db")
    cycle = run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, metrics=metrics, notifier=notifier)
    states = {r.spec.id: r.state for r in cycle.results}
    assert states == {"broken-one": "probe_failed", "fresh-one": "fresh", "missing-one": "missing",
                      "stale-one": "stale"}
    assert cycle.counts == {"fresh": 1, "stale": 1, "missing": 1, "probe_failed": 1, "grace_period": 0}
    assert cycle.list_calls == 4
    assert [attrs["dedup_key"] for _, _, attrs in notifier.sent] == [
        "freshness/broken-one/eod/2026-12-01", "freshness/missing-one/saturday/2026-11-28",
        "freshness/stale-one/saturday/2026-11-28"]
    subject, message, _ = notifier.sent[0]
    assert subject == "Freshness probe_failed: broken-one" and message.startswith("[critical] broken-one")
    document = store.read_json(FRESHNESS_RESULTS.key)
    assert document["checked_at"] == "2026-12-01T22:00:00Z"
    assert document["cycle"] == {"eod": "2026-12-01", "saturday": "2026-11-28"}
    assert [r["id"] for r in document["results"]] == ["broken-one", "fresh-one", "missing-one", "stale-one"]
    assert store.read_json(FRESHNESS_HEARTBEAT.key) == {
        "process": "freshness-monitor", "checked_at": "2026-12-01T22:00:00Z", "counts": cycle.counts, "specs": 4}
    heartbeat = metrics.datapoints("AlphaEngine", "Heartbeat", {"Process": "freshness-monitor"}, NOW,
                                   datetime(2027, 1, 1, tzinfo=UTC))
    assert [p.value for p in heartbeat] == [1.0]
    complete = {cadence: metrics.datapoints("AlphaEngine/Substrate", "ArtifactFreshnessCycleComplete",
                                            {"Cadence": cadence}, NOW, datetime(2027, 1, 1, tzinfo=UTC))[0].value
                for cadence in ("eod", "saturday")}
    assert complete == {"eod": 0.0, "saturday": 0.0}


def test_completion_is_one_when_every_spec_of_a_cadence_is_fresh(store: ArtifactStore, tmp_path: Path) -> None:
    metrics = SqliteMetrics(tmp_path / "metrics.db")
    run_freshness_cycle((FRESH, STALE), store, now=NOW, calendar=CALENDAR, metrics=metrics)
    values = {c: metrics.datapoints("AlphaEngine/Substrate", "ArtifactFreshnessCycleComplete", {"Cadence": c}, NOW,
                                    datetime(2027, 1, 1, tzinfo=UTC))[0].value for c in ("eod", "saturday")}
    assert values == {"eod": 1.0, "saturday": 0.0}


def test_a_rerun_of_the_same_cycle_sends_nothing_new_and_writes_the_same_bytes(store: ArtifactStore,
                                                                                tmp_path: Path) -> None:
    ids = iter(f"id-{n}" for n in range(100))
    notifier = Notifier(tmp_path / "ws", "topic", now=lambda: NOW, new_id=lambda: next(ids))
    outbox = tmp_path / "ws" / "notifications" / "outbox.jsonl"
    run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, notifier=notifier)
    first = store.read_bytes(FRESHNESS_RESULTS.key)
    lines = outbox.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["attributes"] == {
        "dedup_key": "freshness/broken-one/eod/2026-12-01"}
    again = run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, notifier=notifier)
    assert again.alerted == () and len(again.already_alerted) == 3
    assert outbox.read_text(encoding="utf-8").splitlines() == lines
    assert store.read_bytes(FRESHNESS_RESULTS.key) == first
    # The next cycles alert again (and fresh-one, not rewritten since, has gone stale).
    later = run_freshness_cycle(SPECS, store, now=datetime(2026, 12, 5, 10, tzinfo=UTC), calendar=CALENDAR,
                                notifier=notifier)
    assert sorted(later.alerted) == ["freshness/broken-one/eod/2026-12-04", "freshness/fresh-one/eod/2026-12-04",
                                     "freshness/missing-one/saturday/2026-12-05",
                                     "freshness/stale-one/saturday/2026-12-05"]


def test_a_failing_notifier_is_recorded_and_alerts_again_next_run(store: ArtifactStore) -> None:
    failed = run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, notifier=_Recorder(fail=True))
    assert len(failed.errors) == 3 and "outbox disk full" in failed.errors[0]
    assert not any(r["alerted"] for r in store.read_json(FRESHNESS_RESULTS.key)["results"])
    retry = _Recorder()
    run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, notifier=retry)
    assert len(retry.sent) == 3


def test_results_are_replaced_atomically(store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR)
    before = store.read_bytes(FRESHNESS_RESULTS.key)

    def crash(*args: Any) -> None:
        raise OSError("crashed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError):
        run_freshness_cycle(SPECS, store, now=datetime(2026, 12, 2, 22, tzinfo=UTC), calendar=CALENDAR)
    monkeypatch.undo()
    assert store.read_bytes(FRESHNESS_RESULTS.key) == before
    assert store.list("_freshness_monitor") == [FRESHNESS_RESULTS.key, FRESHNESS_HEARTBEAT.key]


def test_without_write_nothing_is_written_or_sent(store: ArtifactStore) -> None:
    notifier = _Recorder()
    cycle = run_freshness_cycle(SPECS, store, now=NOW, calendar=CALENDAR, notifier=notifier, write=False)
    assert not cycle.written and len(cycle.problems) == 3 and notifier.sent == []
    assert store.list("_freshness_monitor") == []


# -- the command line -------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    artifacts = ArtifactStore(tmp_path / "ws" / "artifacts")
    for spec in load_registry():
        artifacts.write_text(spec.format("2026-11-28"), "{}\n")
    return tmp_path / "ws"


def test_check_exits_0_when_everything_is_fresh(workspace: Path) -> None:
    result = runner.invoke(app, ["freshness", "check", "--at", "2026-11-30T12:00:00Z"])
    assert result.exit_code == 0, result.output
    n = len(load_registry())
    assert result.output.strip().splitlines()[-1].startswith(f"{n} artifact(s): {n} fresh, 0 stale")
    assert (workspace / "artifacts" / "_freshness_monitor" / "check_results.json").is_file()


def test_check_exits_1_and_names_each_problem_then_alerts_once(workspace: Path) -> None:
    (workspace / "artifacts" / "signals" / "2026-11-28" / "signals.json").unlink()
    first = runner.invoke(app, ["freshness", "check", "--at", "2026-12-01T12:00:00Z"])
    assert first.exit_code == 1, first.output
    assert first.output.splitlines()[0].startswith("missing      critical research-signals  no signals/{date}/")
    assert "1 alert(s) sent" in first.output
    again = runner.invoke(app, ["freshness", "check", "--at", "2026-12-01T12:05:00Z", "--json"])
    assert again.exit_code == 1
    document = json.loads(again.stdout)
    assert document["alerted"] == [] and document["already_alerted"] == ["freshness/research-signals/saturday/2026-11-28"]
    outbox = (workspace / "notifications" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(outbox) == 1


def test_no_write_checks_only(workspace: Path) -> None:
    result = runner.invoke(app, ["freshness", "check", "--at", "2026-12-15T12:00:00Z", "--no-write"])
    assert result.exit_code == 1 and f"{len(load_registry())} stale" in result.output
    assert not (workspace / "artifacts" / "_freshness_monitor").exists()
    assert not (workspace / "notifications").exists()


def test_a_bad_registry_is_a_usage_error(workspace: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nartifacts: [{id: x}]\n", encoding="utf-8")
    result = runner.invoke(app, ["freshness", "check", "--registry", str(bad)])
    assert result.exit_code == 64 and "field 'key'" in result.output
