"""The write fence: a store asks it right before publishing a write and refuses the write when it says
no (FencedWriteError naming the store, the key and the reason); nothing is left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from store_test_support import raw_tree

from alpha_engine.store import ArtifactStore, FencedWriteError, MarketStore, StoreError


class Fence:
    """Allows writes until ``close()``; records what it was asked, and what it saw when asked."""

    def __init__(self, seen: Callable[[], object] = lambda: None) -> None:
        self.open = True
        self.asked: list[tuple[str, str]] = []
        self.seen_then: list[object] = []
        self._seen = seen

    def close(self) -> None:
        self.open = False

    def check(self, store: str, key: str) -> None:
        self.asked.append((store, key))
        self.seen_then.append(self._seen())
        if not self.open:
            raise FencedWriteError(f"{store}: refused to write {key}: attempt 1 of Train ended",
                                   key=key, uri=store, reason="attempt 1 of Train ended")


def fenced(store: ArtifactStore, fence: Fence) -> ArtifactStore:
    return ArtifactStore(store.uri, storage_options=store.storage_options, fence=fence)


def test_a_fenced_store_writes_while_the_fence_allows(store: ArtifactStore) -> None:
    fence = Fence()
    fenced(store, fence).write_json("predictions/latest.json", {"v": 1})
    assert store.read_json("predictions/latest.json") == {"v": 1}
    assert fence.asked == [(store.uri, "predictions/latest.json")]


@pytest.mark.parametrize("write", [
    lambda s: s.write_json("health/train.json", {"status": "ok"}),
    lambda s: s.write_text("health/train.json", "ok"),
    lambda s: s.write_bytes("health/train.json", b"ok"),
], ids=["json", "text", "bytes"])
def test_a_closed_fence_refuses_every_write_and_leaves_nothing_behind(
        store: ArtifactStore, write: Callable[[ArtifactStore], None]) -> None:
    fence = Fence()
    fence.close()
    with pytest.raises(FencedWriteError) as info:
        write(fenced(store, fence))
    assert isinstance(info.value, StoreError)
    assert (info.value.key, info.value.uri, info.value.reason) == ("health/train.json", store.uri,
                                                                  "attempt 1 of Train ended")
    assert "health/train.json" in str(info.value) and store.uri in str(info.value)
    assert [path for path in raw_tree(store) if path.rsplit("/", 1)[-1].startswith((".tmp-", "train.json"))] == []


def test_a_closed_fence_keeps_the_previous_version(store: ArtifactStore) -> None:
    store.write_json("predictions/latest.json", {"v": 1})
    fence = Fence()
    fence.close()
    with pytest.raises(FencedWriteError):
        fenced(store, fence).write_json("predictions/latest.json", {"v": 2})
    assert store.read_json("predictions/latest.json") == {"v": 1}


def test_a_closed_fence_refuses_a_delete(store: ArtifactStore) -> None:
    store.write_text("health/train.json", "ok")
    fence = Fence()
    fence.close()
    with pytest.raises(FencedWriteError):
        fenced(store, fence).delete("health/train.json")
    assert store.exists("health/train.json")


def test_the_local_store_asks_the_fence_after_the_bytes_are_written_just_before_the_rename(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    fence = Fence(seen=lambda: sorted(p.name for p in (root / "predictions").iterdir()))
    ArtifactStore(root, fence=fence).write_json("predictions/latest.json", {"v": 1})
    (temps,) = fence.seen_then
    assert len(temps) == 1 and temps[0].startswith(".tmp-latest.json-")  # only the temp file existed


def test_reads_never_ask_the_fence(store: ArtifactStore) -> None:
    store.write_json("a.json", {"v": 1})
    fence = Fence()
    fence.close()
    view = fenced(store, fence)
    assert view.read_json("a.json") == {"v": 1} and view.exists("a.json") and view.list() == ["a.json"]
    assert fence.asked == []


# -- the market store -----------------------------------------------------------------------------------


def _bars() -> pd.DataFrame:
    index = pd.bdate_range("2022-01-03", periods=5, name="date")
    frame = pd.DataFrame({"Open": 1.0, "High": 2.0, "Low": 0.5, "Close": 1.5, "Adj_Close": 1.5,
                          "Volume": 100.0}, index=index)
    frame["source"] = "test"
    return frame


def test_the_market_store_asks_the_fence_before_every_write_and_refuses_when_closed(tmp_path: Path) -> None:
    fence = Fence()
    market = MarketStore(f"lmdb://{tmp_path / 'arcticdb'}", fence=fence)
    with market.writer():
        market.ensure_libraries()
        market.upsert("AAPL", _bars())
        fence.close()
        with pytest.raises(FencedWriteError) as info:
            market.upsert_many({"MSFT": _bars(), "NVDA": _bars()})
        with pytest.raises(FencedWriteError):
            market.upsert_macro("SPY", _bars())
    assert info.value.key == "universe/MSFT,NVDA" and info.value.uri == market.uri
    assert market.tickers() == ["AAPL"] and market.macro_symbols() == []
    assert (market.uri, "universe/AAPL") in fence.asked


def test_a_closed_fence_refuses_the_market_stores_preflight_write_probe(tmp_path: Path) -> None:
    market = MarketStore(f"lmdb://{tmp_path / 'arcticdb'}")
    with market.writer():
        market.ensure_libraries()
    fence = Fence()
    fence.close()
    with pytest.raises(FencedWriteError):
        MarketStore(market.uri, fence=fence).check_writable()
