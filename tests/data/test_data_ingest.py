"""DataPhase1's ingest through the real gates, on crafted bad data from a `files` directory.

Each bad row is blocked (never written) or warned with a message naming ticker, date and
values; coverage, freshness and backfill-regression failures stop the ingest with a clear error.
"""

from __future__ import annotations

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
    ingest_market_data,
    open_provider,
)
from alpha_engine.store import MarketStore, TradingCalendar

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
