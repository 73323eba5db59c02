"""DataPhase1's ingest through the real gates, on crafted bad data from a `files` directory.

Each bad row is blocked (never written) or warned with a message naming ticker, date and
values; coverage, freshness and backfill-regression failures stop the ingest with a clear error.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data import (
    FEATURE_ORDER,
    ProviderError,
    QualityGateError,
    compute_features,
    ingest_market_data,
    open_provider,
)
from alpha_engine.store import PRICE_COLUMNS, MarketStore, TradingCalendar, panel_from_frames

RUN_DATE = date(2022, 12, 31)  # a Saturday; the last closed session is Friday 2022-12-30
CALENDAR = TradingCalendar()
SESSIONS = CALENDAR.sessions(date(2021, 10, 1), date(2022, 12, 30))


def write_ticker(root: Path, ticker: str, sessions: list[date], *, seed: int, edit: Any = None) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(sessions))))
    frame = pd.DataFrame({"date": [d.isoformat() for d in sessions], "open": close * 0.999,
                          "high": close * 1.01, "low": close * 0.99, "close": close,
                          "volume": rng.integers(1_000_000, 2_000_000, len(sessions)).astype(float)})
    if edit is not None:
        edit(frame)
    frame.to_csv(root / f"{ticker}.csv", index=False)


def make_source(tmp_path: Path, edits: dict[str, Any] | None = None,
                sessions: dict[str, list[date]] | None = None) -> Path:
    root = tmp_path / "source"
    (root / "macro").mkdir(parents=True)
    for seed, ticker in enumerate(("AAA", "BBB", "CCC", "DDD")):
        write_ticker(root, ticker, (sessions or {}).get(ticker, SESSIONS), seed=seed,
                     edit=(edits or {}).get(ticker))
    spy = pd.DataFrame({"date": [d.isoformat() for d in SESSIONS], "close": np.linspace(380, 400, len(SESSIONS))})
    spy.to_csv(root / "macro" / "SPY.csv", index=False)
    return root


def ingest(root: Path, store: MarketStore, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = dict(provider=open_provider("files", {"root": str(root)}), store=store,
                                  calendar=CALENDAR, run_date=RUN_DATE, history_years=10, min_coverage=0.95,
                                  max_stale=3, postflight_sample=20)
    kwargs.update(overrides)
    return ingest_market_data(**kwargs)


@pytest.fixture
def store(tmp_path: Path) -> MarketStore:
    return MarketStore(f"lmdb://{tmp_path / 'arcticdb'}", feature_columns=FEATURE_ORDER)


def _set(column: str, day: str, value: float) -> Any:
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[frame["date"] == day, column] = value
    return edit


def test_clean_data_is_ingested_with_features_and_a_manifest(tmp_path: Path, store: MarketStore) -> None:
    report = ingest(make_source(tmp_path), store)
    assert store.tickers() == ["AAA", "BBB", "CCC", "DDD"]
    frame = store.read("AAA")
    assert list(frame.columns[:7]) == ["Open", "High", "Low", "Close", "Volume", "VWAP", "source"]
    assert list(frame.columns[7:]) == list(FEATURE_ORDER)
    assert frame["rsi_14"].iloc[-1] == frame["rsi_14"].iloc[-1]  # computed (not NaN) on full OHLCV
    manifest = report.manifest
    assert manifest["as_of_session"] == "2022-12-30" and manifest["universe"]["written"] == 4
    assert manifest["quality"]["blocked_rows"] == 0 and manifest["postflight"]["sample_max_stale_days"] == 0
    assert report.modes == {"created": 5}


@pytest.mark.parametrize(("ticker", "edit", "kind", "text"), [
    ("AAA", _set("low", "2022-06-01", 500.0), "bad_ohlc", "AAA 2022-06-01: High < Low"),
    ("BBB", _set("close", "2022-06-02", -5.0), "nonpositive_close", "BBB 2022-06-02"),
    ("CCC", _set("close", "2022-06-03", float("nan")), "missing_close", "CCC 2022-06-03"),
    ("DDD", _set("volume", "2022-06-06", -1.0), "negative_volume", "DDD 2022-06-06"),
])
def test_a_blocked_row_is_never_written_and_is_reported(tmp_path: Path, store: MarketStore, ticker: str,
                                                        edit: Any, kind: str, text: str) -> None:
    report = ingest(make_source(tmp_path, {ticker: edit}), store)
    day = text.split()[1].rstrip(":")
    assert pd.Timestamp(day) not in store.read(ticker).index
    found = [a for a in report.validation["anomalies"] if a["kind"] == kind]
    assert len(found) == 1 and found[0]["severity"] == "block" and text in found[0]["message"]
    assert report.manifest["quality"]["blocked_rows"] == 1


def test_a_warned_row_is_written_and_reported(tmp_path: Path, store: MarketStore) -> None:
    def jump(frame: pd.DataFrame) -> None:
        frame.loc[frame["date"] == "2022-07-01", ["open", "high", "low", "close"]] *= 1.8
    report = ingest(make_source(tmp_path, {"AAA": jump}), store)
    assert pd.Timestamp("2022-07-01") in store.read("AAA").index
    kinds = {(a["kind"], a["severity"]) for a in report.validation["anomalies"]}
    assert ("extreme_daily_move", "warn") in kinds


def test_duplicated_dates_are_refused_naming_the_file(tmp_path: Path, store: MarketStore) -> None:
    def duplicate(frame: pd.DataFrame) -> None:
        frame.loc[len(frame)] = frame.iloc[-1]
    with pytest.raises(ProviderError, match=r"AAA\.csv.*2022-12-30"):
        ingest(make_source(tmp_path, {"AAA": duplicate}), store)
    assert not store.libraries_present()


def test_a_stale_symbol_fails_the_postflight(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path, sessions={"DDD": SESSIONS[:-10]})
    with pytest.raises(QualityGateError, match=r"DDD.*10"):
        ingest(source, store)


def test_low_coverage_stops_before_anything_is_written(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path)
    provider = open_provider("files", {"root": str(source)})

    class Wider:  # a universe with a ticker the source has no data for
        def __getattr__(self, name: str) -> Any:
            return getattr(provider, name)

        def universe(self, as_of: date) -> list[str]:
            return [*provider.universe(as_of), "EEE"]

    with pytest.raises(QualityGateError, match="EEE"):
        ingest(source, store, provider=Wider())
    assert not store.libraries_present()


def test_a_rebuild_never_moves_a_last_date_backwards(tmp_path: Path, store: MarketStore) -> None:
    ingest(make_source(tmp_path), store)
    before = store.read("AAA")
    shorter = make_source(tmp_path / "later", sessions={"AAA": SESSIONS[:-5]})
    with pytest.raises(QualityGateError, match=r"backwards.*AAA"):
        ingest(shorter, store, max_stale=10)
    pd.testing.assert_frame_equal(store.read("AAA"), before)


def test_a_second_ingest_of_the_same_data_writes_nothing(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path)
    first = ingest(source, store)
    files = {p: p.read_bytes() for p in (tmp_path / "arcticdb").rglob("*") if p.is_file() and p.name != "lock.mdb"}
    second = ingest(source, store)
    assert second.modes == {"unchanged": 5}
    assert second.manifest == first.manifest
    assert {p: p.read_bytes() for p in files} == files


class GroupedFiles:
    """A files provider that also answers grouped-daily requests (as polygon does), counting calls."""

    def __init__(self, root: Path) -> None:
        self.inner = open_provider("files", {"root": str(root)})
        self.grouped_calls: list[date] = []

    def __getattr__(self, name: str) -> Any:
        if name == "daily_bars":
            raise AssertionError("MorningEnrich must use grouped_daily when the provider has it")
        return getattr(self.inner, name)

    def grouped_daily(self, day: date, tickers: Any = None) -> dict[str, pd.DataFrame]:
        self.grouped_calls.append(day)
        bars = self.inner.daily_bars(tickers or self.inner.universe(day), day, day)
        return {t: f for t, f in bars.items() if len(f)}


def test_morning_enrich_refreshes_the_last_sessions_with_one_grouped_request_each(
        tmp_path: Path, store: MarketStore) -> None:
    from alpha_engine.data import enrich_prior_session

    source = make_source(tmp_path)
    ingest(source, store)
    unchanged = enrich_prior_session(provider=GroupedFiles(source), store=store, calendar=CALENDAR, run_date=RUN_DATE)
    assert unchanged.summary["writes"] == {"unchanged": 5}
    # The vendor revises Thursday's bar (e.g. the settled close with VWAP): it is re-appended.
    frame = pd.read_csv(source / "AAA.csv")
    frame.loc[frame["date"] == "2022-12-29", "close"] *= 1.001
    frame.to_csv(source / "AAA.csv", index=False)
    provider = GroupedFiles(source)
    report = enrich_prior_session(provider=provider, store=store, calendar=CALENDAR, run_date=RUN_DATE)
    assert len(provider.grouped_calls) == 5 and provider.grouped_calls[-1] == date(2022, 12, 30)
    # AAA's bar changed, and through the cross-sectional features (z-scores, dispersion) so did
    # every ticker's rows on those dates; the macro series did not.
    assert report.summary["writes"] == {"spliced": 4, "unchanged": 1}
    stored = store.read("AAA")
    assert stored.loc["2022-12-29", "Close"] == pytest.approx(frame.loc[frame["date"] == "2022-12-29", "close"].item())


def test_morning_enrich_on_an_empty_store_is_a_documented_no_op(tmp_path: Path, store: MarketStore) -> None:
    from alpha_engine.data import enrich_prior_session

    report = enrich_prior_session(provider=GroupedFiles(make_source(tmp_path)), store=store, calendar=CALENDAR,
                                  run_date=RUN_DATE)
    assert report.summary == {"status": "skipped", "reason": "market store empty"}
    assert not store.libraries_present()


# -- consistency: every input checked before the first write; features from the stored bars; publish at the end

def store_files(store: MarketStore) -> dict[str, str]:
    """sha256 of every file of the store but LMDB's reader table (lock.mdb); {} when it does not exist."""
    root = store.local_path
    assert root is not None
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock.mdb"}


def published(store: MarketStore) -> dict[str, Any]:
    """Everything a reader of the store sees, read by another (read-only) store object."""
    reader = MarketStore(store.uri, feature_columns=FEATURE_ORDER, read_only=True)
    return {"generation": reader.published_generation(), "tickers": reader.read_many(),
            "macro": reader.read_macro()}


def assert_same_published(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["generation"] == b["generation"]
    for part in ("tickers", "macro"):
        assert sorted(a[part]) == sorted(b[part])
        for symbol in a[part]:
            pd.testing.assert_frame_equal(a[part][symbol], b[part][symbol])


def assert_features_are_those_of_the_stored_bars(store: MarketStore, provider: Any) -> None:
    """Features recomputed from the stored bars and macro series equal the stored features exactly
    (bit for bit, NaN equal to NaN): the computation is deterministic and sees the same inputs."""
    bars = store.read_many(columns=[*PRICE_COLUMNS, "source"])
    features = compute_features(panel_from_frames(bars), store.read_macro(), market_symbol=provider.market_symbol,
                                sector_of=provider.sector_map()).by_ticker()
    for ticker, stored in store.read_many(columns=list(FEATURE_ORDER)).items():
        expected = features[ticker].reindex(stored.index).to_numpy(dtype=np.float32)
        np.testing.assert_array_equal(stored.to_numpy(), expected, err_msg=ticker)


def test_a_missing_market_index_fails_before_a_fresh_store_is_created(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path)
    (source / "macro" / "SPY.csv").unlink()
    with pytest.raises(QualityGateError, match=r"market index missing: provider 'files' returned no SPY series .*"
                                               r"macro/SPY\.csv or \.parquet.*return_vs_spy_5d.*Nothing was written"):
        ingest(source, store)
    assert not (tmp_path / "arcticdb").exists()


def test_a_missing_market_index_fails_and_leaves_an_existing_store_untouched(tmp_path: Path,
                                                                             store: MarketStore) -> None:
    source = make_source(tmp_path)
    ingest(source, store)
    files, before = store_files(store), published(store)
    (source / "macro" / "SPY.csv").unlink()
    with pytest.raises(QualityGateError, match="market index missing"):
        ingest(source, store)
    assert store_files(store) == files
    assert_same_published(published(store), before)


def test_a_market_index_that_starts_after_the_bars_is_refused(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path)
    spy = pd.read_csv(source / "macro" / "SPY.csv")
    spy.iloc[40:].to_csv(source / "macro" / "SPY.csv", index=False)
    with pytest.raises(QualityGateError, match=r"market index SPY starts 2021-11-2\d, after the first bar 2021-10-01"):
        ingest(source, store)
    assert not (tmp_path / "arcticdb").exists()


def test_a_stored_macro_series_the_source_drops_is_refused(tmp_path: Path, store: MarketStore) -> None:
    source = make_source(tmp_path)
    pd.read_csv(source / "macro" / "SPY.csv").to_csv(source / "macro" / "VIX.csv", index=False)
    ingest(source, store)
    files = store_files(store)
    (source / "macro" / "VIX.csv").unlink()
    with pytest.raises(QualityGateError, match=r"VIX .*rebuild drops the symbol"):
        ingest(source, store)
    assert store_files(store) == files


def test_a_blocked_row_in_an_existing_store_keeps_the_stored_bars_and_their_features(tmp_path: Path,
                                                                                     store: MarketStore) -> None:
    ingest(make_source(tmp_path), store)
    bars = store.read_many(columns=list(PRICE_COLUMNS))
    revised = make_source(tmp_path / "revised", {"AAA": _set("low", "2022-06-01", 500.0)})  # High < Low
    report = ingest(revised, store)
    assert report.manifest["quality"]["blocked_rows"] == 1
    # The blocked row is neither stored nor used: the stored row stays, and so does every feature.
    assert report.modes == {"unchanged": 5}
    for ticker, frame in store.read_many(columns=list(PRICE_COLUMNS)).items():
        pd.testing.assert_frame_equal(frame, bars[ticker])
    assert_features_are_those_of_the_stored_bars(store, open_provider("files", {"root": str(revised)}))


def test_after_a_revision_and_a_blocked_row_the_stored_features_are_those_of_the_stored_bars(
        tmp_path: Path, store: MarketStore) -> None:
    ingest(make_source(tmp_path), store)
    def revise(frame: pd.DataFrame) -> None:  # the vendor corrects one bar
        frame.loc[frame["date"] == "2022-06-02", ["open", "high", "low", "close"]] *= 1.02

    revised = make_source(tmp_path / "revised", {"AAA": _set("low", "2022-06-01", 500.0), "BBB": revise})
    close = pd.read_csv(revised / "BBB.csv").set_index("date").loc["2022-06-02", "close"]
    report = ingest(revised, store)
    assert report.manifest["quality"]["blocked_rows"] == 1 and "spliced" in report.modes
    assert store.read("BBB").loc["2022-06-02", "Close"] == close
    assert_features_are_those_of_the_stored_bars(store, open_provider("files", {"root": str(revised)}))


def test_a_later_run_date_computes_features_over_the_whole_stored_history(tmp_path: Path,
                                                                         store: MarketStore) -> None:
    source = make_source(tmp_path)
    ingest(source, store, history_years=1)
    # A week later the one-year window starts a week later; the rows before it stay stored.
    report = ingest(source, store, history_years=1, run_date=date(2023, 1, 7), max_stale=10)
    assert report.modes == {"unchanged": 5}
    assert_features_are_those_of_the_stored_bars(store, open_provider("files", {"root": str(source)}))


def _scaled(factor: float) -> Any:
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[frame.index[-20:], ["open", "high", "low", "close"]] *= factor
    return edit


def test_a_failure_halfway_through_the_writes_leaves_the_previous_version_published(
        tmp_path: Path, store: MarketStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import alpha_engine.store._market_store as market_store_module

    ingest(make_source(tmp_path), store)
    before = published(store)
    revised = make_source(tmp_path / "revised", {t: _scaled(1.05) for t in ("AAA", "BBB", "CCC", "DDD")})
    monkeypatch.setattr(market_store_module, "_BATCH_SIZE", 1)  # one symbol per write call
    chunks: list[list[str]] = []
    real = MarketStore._upsert_chunk

    def fail_on_the_fourth(self: MarketStore, library: Any, name: str, layout: Any, frames: Any) -> Any:
        chunks.append(sorted(frames))
        if len(chunks) == 4:  # SPY, AAA and BBB were written; CCC fails
            raise RuntimeError("disk gone halfway")
        return real(self, library, name, layout, frames)

    monkeypatch.setattr(MarketStore, "_upsert_chunk", fail_on_the_fourth)
    with pytest.raises(RuntimeError, match="halfway"):
        ingest(revised, store)
    assert chunks == [["SPY"], ["AAA"], ["BBB"], ["CCC"]]
    assert_same_published(published(store), before)  # every symbol as it was, for every reader

    monkeypatch.setattr(MarketStore, "_upsert_chunk", real)
    report = ingest(revised, store)
    assert report.modes == {"spliced": 4, "unchanged": 1}
    assert published(store)["generation"] == before["generation"] + 1
    assert store.read("CCC")["Close"].iloc[-1] == pytest.approx(
        pd.read_csv(tmp_path / "revised" / "source" / "CCC.csv")["close"].iloc[-1])
    assert_features_are_those_of_the_stored_bars(store, open_provider("files", {"root": str(tmp_path / "revised" / "source")}))


def test_the_data_phase1_stage_refuses_a_source_without_its_market_index(tmp_path: Path) -> None:
    from alpha_engine.config import load_settings
    from alpha_engine.pipeline import run_stage

    source = make_source(tmp_path)
    settings = load_settings(workspace=tmp_path / "ws", env={},
                             data={"provider": "files", "provider_options": {"root": str(source)}})
    market = MarketStore(settings.data.market_store_uri, feature_columns=FEATURE_ORDER)
    assert run_stage("data-phase1", RUN_DATE, settings=settings).status == "ok"
    files = store_files(market)
    (source / "macro" / "SPY.csv").unlink()
    for workspace in (tmp_path / "ws", tmp_path / "fresh"):  # an existing store, then a fresh one
        settings = load_settings(workspace=workspace, env={},
                                 data={"provider": "files", "provider_options": {"root": str(source)}})
        result = run_stage("data-phase1", RUN_DATE, settings=settings)
        assert result.status == "preflight_failed", result
        assert f"market index SPY: expected {source / 'macro' / 'SPY'}.csv or .parquet" in (result.error or "")
    assert store_files(market) == files
    assert not (tmp_path / "fresh" / "arcticdb").exists()


def test_the_preflight_of_a_fresh_store_judges_only_the_directory_it_will_be_created_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from alpha_engine.config import load_settings
    from alpha_engine.pipeline import run_stage

    source = make_source(tmp_path)
    unrelated = tmp_path / "someone-else" / "read-only.txt"  # beside the workspace, not in it
    unrelated.parent.mkdir()
    unrelated.write_text("x")
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != unrelated and access(p, mode))
    settings = load_settings(workspace=tmp_path / "fresh", env={},
                             data={"provider": "files", "provider_options": {"root": str(source)}})
    result = run_stage("data-phase1", RUN_DATE, settings=settings, preflight_only=True)
    assert result.status == "ok", result.error

    made = MarketStore(settings.data.market_store_uri, feature_columns=FEATURE_ORDER)
    assert run_stage("data-phase1", RUN_DATE, settings=settings).status == "ok"
    stored = next(p for p in made.local_path.rglob("data.mdb"))  # type: ignore[union-attr]
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != stored and access(p, mode))
    result = run_stage("data-phase1", RUN_DATE, settings=settings, preflight_only=True)
    assert result.status == "preflight_failed" and f"the market store is not writable: {stored}" in (result.error or "")


def test_a_write_computed_from_an_older_generation_is_refused(tmp_path: Path, store: MarketStore) -> None:
    from alpha_engine.data._ingest import published_bars, write_with_features
    from alpha_engine.store import MarketStoreError

    source = make_source(tmp_path)
    ingest(source, store)
    generation, bars, macro = published_bars(store)
    revised = make_source(tmp_path / "revised", {t: _scaled(1.05) for t in ("AAA", "BBB")})
    ingest(revised, store)  # another writer publishes after this one read
    files, before = store_files(store), published(store)
    with pytest.raises(MarketStoreError, match=f"another writer published generation {generation + 1} after this "
                                               f"one read generation {generation}; nothing was written"):
        write_with_features(store, bars, macro, market_symbol="SPY", sector_of={}, read_generation=generation)
    assert store_files(store) == files
    assert_same_published(published(store), before)
