"""MarketStore upserts and reads on a real, embedded LMDB ArcticDB in tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from arcticdb.version_store.library import Library
from market_test_support import BACKENDS, market_uri, stored_state

import alpha_engine.store._market_store as market_store_module
from alpha_engine.store import PRICE_COLUMNS, MarketStoreError, SymbolNotFoundError
from alpha_engine.store._market_store import MarketStore, UpsertResult

FEATURES = ("f_alpha", "f_beta")
CANONICAL = [*PRICE_COLUMNS, "source", *FEATURES]


def bars(start: str, periods: int, *, seed: int = 0, features: tuple[str, ...] = FEATURES,
         source: str = "polygon") -> pd.DataFrame:
    """A canonical-looking ticker frame: weekday index, closes, volume, features, some NaN."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=periods, name="date")
    frame = pd.DataFrame({c: np.nan for c in PRICE_COLUMNS}, index=index)
    frame["Close"] = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, periods)))
    frame["Volume"] = rng.integers(1_000, 2_000, periods).astype("float64")
    frame["source"] = source
    for i, name in enumerate(features):
        frame[name] = rng.normal(float(i), 1.0, periods).astype("float32")
    return frame


def store_files(root: Path) -> dict[str, str]:
    """sha256 of every file under the store except LMDB's lock.mdb: that file is LMDB's reader table,
    rewritten by every read transaction, and holds no data."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock.mdb"}


def versions(store: MarketStore, ticker: str, library: str = MarketStore.UNIVERSE) -> int:
    lib = store._library(library)
    return len(lib.list_versions(ticker))


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return tmp_path / "arcticdb"


@pytest.fixture()
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MarketStore]:
    """A store with both libraries, its writer lock held for the test: LMDB in tmp_path, or S3 on the
    moto server for the tests marked ``on_both_backends``."""
    market = MarketStore(market_uri(getattr(request, "param", "lmdb"), tmp_path), feature_columns=FEATURES)
    with market.writer():
        market.ensure_libraries()
        yield market


# The contract tests: they run on S3 too (ArcticDB on S3 is slower, so not every test does).
on_both_backends = pytest.mark.parametrize("store", BACKENDS, indirect=True)


# -- create / canonical layout ------------------------------------------------------------------------

@on_both_backends
def test_new_ticker_is_created_and_reads_back_in_the_canonical_layout(store: MarketStore) -> None:
    frame = bars("2022-01-03", 30)
    result = store.upsert("AAPL", frame)
    assert result == UpsertResult("AAPL", "created", 30, date(2022, 2, 11))
    back = store.read("AAPL")
    assert list(back.columns) == CANONICAL
    assert back.index.name == "date" and back.index.tz is None
    assert {c: str(back[c].dtype) for c in back.columns} == {
        **{c: "float64" for c in PRICE_COLUMNS}, "source": "object", "f_alpha": "float32", "f_beta": "float32"}
    pd.testing.assert_frame_equal(back, frame[CANONICAL], check_freq=False)


def test_frames_are_canonicalized_before_writing(store: MarketStore) -> None:
    index = pd.DatetimeIndex(["2022-01-05 21:00", "2022-01-03 21:00", "2022-01-04 21:00", "2022-01-04 21:00"],
                             tz="UTC")
    messy = pd.DataFrame({
        "f_beta": [3.0, 1.0, 2.0, 2.5],          # float64 feature, out of order
        "Close": [13, 11, 12, 12.5],             # ints and floats
        "Volume": pd.array([300, 100, 200, None], dtype="Int64"),
        "source": pd.Categorical(["yfinance", "polygon", None, "polygon"]),
        "unexpected": ["x", "y", "z", "w"],      # dropped
    }, index=index)
    store.upsert("MSFT", messy)
    back = store.read("MSFT")
    assert list(back.columns) == CANONICAL
    assert list(back.index) == list(pd.to_datetime(["2022-01-03", "2022-01-04", "2022-01-05"]))
    # duplicates keep the last row: 2022-01-04 is the (12.5, None volume, 'polygon') row
    assert back["Close"].tolist() == [11.0, 12.5, 13.0]
    assert back["Volume"].iloc[1] != back["Volume"].iloc[1]  # NaN, not invented
    assert back["source"].tolist() == ["polygon", "polygon", "yfinance"]
    assert back["f_beta"].dtype == np.float32 and back["f_beta"].tolist() == [1.0, 2.5, 3.0]
    assert back[["Open", "High", "Low", "VWAP", "f_alpha"]].isna().all().all()


def test_missing_source_is_recorded_as_unknown(store: MarketStore) -> None:
    store.upsert("KO", bars("2022-01-03", 3).drop(columns="source"))
    assert store.read("KO")["source"].tolist() == ["unknown"] * 3


# -- unchanged / appended / spliced ------------------------------------------------------------------

@on_both_backends
def test_reupserting_the_same_rows_writes_nothing(store: MarketStore) -> None:
    frame = bars("2022-01-03", 40)
    frame.iloc[5, frame.columns.get_loc("Close")] = np.nan  # NaN == NaN for the comparison
    store.upsert("AAPL", frame)
    before = stored_state(store.uri)
    result = store.upsert("AAPL", frame.copy())
    assert result == UpsertResult("AAPL", "unchanged", 0, date(2022, 2, 25))
    assert stored_state(store.uri) == before


def test_a_window_of_stored_rows_is_unchanged(store: MarketStore, root: Path) -> None:
    frame = bars("2022-01-03", 40)
    store.upsert("AAPL", frame)
    before = store_files(root)
    assert store.upsert("AAPL", frame.iloc[10:20]).mode == "unchanged"
    assert store_files(root) == before


@on_both_backends
def test_rows_after_the_last_date_are_appended(store: MarketStore) -> None:
    full = bars("2022-01-03", 40)
    store.upsert("AAPL", full.iloc[:30])
    result = store.upsert("AAPL", full.iloc[25:])  # 5 known rows (equal) + 10 new ones
    assert result == UpsertResult("AAPL", "appended", 10, date(2022, 2, 25))
    pd.testing.assert_frame_equal(store.read("AAPL"), full[CANONICAL], check_freq=False)
    assert versions(store, "AAPL") == 1


def test_a_changed_value_inside_the_series_is_spliced_new_rows_winning(store: MarketStore) -> None:
    full = bars("2022-01-03", 40)
    store.upsert("AAPL", full)
    patch = full.iloc[10:12].copy()
    patch["Close"] = [1.0, 2.0]
    result = store.upsert("AAPL", patch)
    assert result == UpsertResult("AAPL", "spliced", 40, date(2022, 2, 25))
    expected = full[CANONICAL].copy()
    expected.iloc[10:12, expected.columns.get_loc("Close")] = [1.0, 2.0]
    pd.testing.assert_frame_equal(store.read("AAPL"), expected, check_freq=False)
    assert versions(store, "AAPL") == 1


def test_a_new_date_inside_the_series_is_spliced(store: MarketStore) -> None:
    full = bars("2022-01-03", 20)
    store.upsert("AAPL", full.drop(index=full.index[7]))
    result = store.upsert("AAPL", full.iloc[7:8])
    assert result.mode == "spliced" and result.rows_written == 20
    pd.testing.assert_frame_equal(store.read("AAPL"), full[CANONICAL], check_freq=False)


def test_a_changed_source_alone_is_a_change(store: MarketStore) -> None:
    full = bars("2022-01-03", 10)
    store.upsert("AAPL", full)
    assert store.upsert("AAPL", full.assign(source="yfinance").iloc[-1:]).mode == "spliced"
    assert store.read("AAPL")["source"].tolist() == ["polygon"] * 9 + ["yfinance"]


def test_equality_is_bitwise_so_negative_zero_is_a_change(store: MarketStore) -> None:
    frame = bars("2022-01-03", 5).assign(f_alpha=np.float32(0.0))
    store.upsert("AAPL", frame)
    assert store.upsert("AAPL", frame.assign(f_alpha=np.float32(-0.0))).mode == "spliced"
    assert np.signbit(store.read("AAPL")["f_alpha"].to_numpy()).all()


def test_features_are_compared_after_rounding_to_float32(store: MarketStore) -> None:
    frame = bars("2022-01-03", 5)
    store.upsert("AAPL", frame)
    as_float64 = frame.astype({"f_alpha": "float64", "f_beta": "float64"})
    assert store.upsert("AAPL", as_float64).mode == "unchanged"


def test_an_empty_frame_is_unchanged_and_creates_nothing(store: MarketStore) -> None:
    assert store.upsert("NEW", bars("2022-01-03", 5).iloc[:0]) == UpsertResult("NEW", "unchanged", 0, None)
    assert store.tickers() == []


@on_both_backends
def test_upsert_many_reports_each_mode_in_input_order(store: MarketStore) -> None:
    a, b, c = bars("2022-01-03", 20, seed=1), bars("2022-01-03", 20, seed=2), bars("2022-01-03", 20, seed=3)
    store.upsert_many({"AAA": a.iloc[:10], "BBB": b, "CCC": c})
    c_changed = c.copy()
    c_changed.iloc[3, c_changed.columns.get_loc("Close")] += 1.0
    results = store.upsert_many({"DDD": a, "CCC": c_changed, "BBB": b, "AAA": a})
    assert [(r.ticker, r.mode, r.rows_written) for r in results] == [
        ("DDD", "created", 20), ("CCC", "spliced", 20), ("BBB", "unchanged", 0), ("AAA", "appended", 10)]
    assert store.tickers() == ["AAA", "BBB", "CCC", "DDD"]


def test_upsert_many_works_across_batches(store: MarketStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(market_store_module, "_BATCH_SIZE", 2)
    frames = {f"T{i}": bars("2022-01-03", 5, seed=i) for i in range(5)}
    assert [r.mode for r in store.upsert_many(frames)] == ["created"] * 5
    assert [r.mode for r in store.upsert_many(frames)] == ["unchanged"] * 5
    read = store.read_many()
    assert sorted(read) == sorted(frames)
    for ticker, frame in frames.items():
        pd.testing.assert_frame_equal(read[ticker], frame[CANONICAL], check_freq=False)


def test_daily_appends_are_compacted_every_twentieth_time(store: MarketStore) -> None:
    full = bars("2022-01-03", 45)
    store.upsert("AAPL", full.iloc[:20])
    library = store._library(MarketStore.UNIVERSE)
    slices = []
    for end in range(21, 46):
        assert store.upsert("AAPL", full.iloc[end - 1:end]).mode == "appended"
        slices.append(library.compact_data_explain_plan("AAPL").num_row_slices_before)
    # one row slice per append, folded back into one by every 20th append
    assert max(slices) == 20 and slices[19] == 1 and slices[-1] == 6
    pd.testing.assert_frame_equal(store.read("AAPL"), full[CANONICAL], check_freq=False)


def test_the_bundled_sp500_closes_round_trip(store: MarketStore) -> None:
    from skfolio.datasets import load_sp500_dataset

    closes = load_sp500_dataset().iloc[-500:, :8]
    frames = {t: pd.DataFrame({"Close": closes[t], "source": "skfolio"}) for t in closes.columns}
    assert {r.mode for r in store.upsert_many(frames)} == {"created"}
    assert {r.mode for r in store.upsert_many(frames)} == {"unchanged"}
    read = store.read_many(columns=["Close"])
    wide = pd.DataFrame({t: f["Close"] for t, f in read.items()})
    pd.testing.assert_frame_equal(wide, closes.rename_axis("date"), check_freq=False)


# -- reads ---------------------------------------------------------------------------------------------

def _spy_read_batch(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    requests: list[Any] = []
    original = Library.read_batch

    def spy(self: Library, symbols: list[Any], *args: Any, **kwargs: Any) -> Any:
        requests.extend(symbols)
        return original(self, symbols, *args, **kwargs)

    monkeypatch.setattr(Library, "read_batch", spy)
    return requests


def test_date_range_and_columns_are_applied_by_arcticdb(store: MarketStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    frame = bars("2022-01-03", 30)
    store.upsert("AAPL", frame)
    requests = _spy_read_batch(monkeypatch)
    got = store.read("AAPL", start=date(2022, 1, 10), end=date(2022, 1, 14), columns=["f_beta", "Close"])
    assert list(got.columns) == ["f_beta", "Close"]  # the requested order
    pd.testing.assert_frame_equal(got, frame.loc["2022-01-10":"2022-01-14", ["f_beta", "Close"]],
                                  check_freq=False)
    (request,) = requests
    assert request.date_range == (pd.Timestamp("2022-01-10"), pd.Timestamp("2022-01-14"))
    assert request.columns == ["f_beta", "Close"]


def test_open_ended_ranges(store: MarketStore) -> None:
    store.upsert("AAPL", bars("2022-01-03", 10))
    assert len(store.read("AAPL", start=date(2022, 1, 12))) == 3
    assert len(store.read("AAPL", end=date(2022, 1, 4))) == 2


@on_both_backends
def test_read_many_reads_all_or_some_tickers(store: MarketStore) -> None:
    store.upsert_many({t: bars("2022-01-03", 5, seed=i) for i, t in enumerate(["C", "A", "B"])})
    assert list(store.read_many()) == ["A", "B", "C"]
    assert list(store.read_many(["B"], columns=["Close"])["B"].columns) == ["Close"]


@on_both_backends
def test_reading_an_absent_ticker_names_it_and_what_is_stored(store: MarketStore) -> None:
    store.upsert_many({t: bars("2022-01-03", 5) for t in ("MSFT", "AAPL", "IBM", "AMZN")})
    with pytest.raises(SymbolNotFoundError) as caught:
        store.read("NOPE")
    assert str(caught.value) == (f"ticker NOPE is not in the market store at {store.uri} "
                                 f"(4 tickers stored, e.g. AAPL, AMZN, IBM)")
    assert caught.value.symbols == ("NOPE",) and isinstance(caught.value, MarketStoreError)
    with pytest.raises(SymbolNotFoundError, match=r"^tickers GONE, NOPE are not in the market store"):
        store.read_many(["AAPL", "GONE", "NOPE"])
    with pytest.raises(SymbolNotFoundError, match=r"^macro series VIX is not in the market store .*\(0 macro series"):
        store.read_macro(["VIX"])


def test_unknown_columns_are_refused(store: MarketStore) -> None:
    store.upsert("AAPL", bars("2022-01-03", 5))
    with pytest.raises(MarketStoreError, match=r"unknown columns \['f_gamma'\]"):
        store.read("AAPL", columns=["Close", "f_gamma"])


def test_last_dates_come_from_descriptions_not_data(store: MarketStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.upsert_many({"AAA": bars("2022-01-03", 5), "BBB": bars("2022-01-03", 9)})
    store.upsert_macro("SPY", bars("2022-01-03", 7)[["Close"]])

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("last_dates read data")

    monkeypatch.setattr(Library, "read_batch", refuse)
    monkeypatch.setattr(Library, "read", refuse)
    assert store.last_dates() == {"AAA": date(2022, 1, 7), "BBB": date(2022, 1, 13)}
    assert store.macro_last_dates() == {"SPY": date(2022, 1, 11)}


# -- schema drift -----------------------------------------------------------------------------------

def test_a_symbol_stored_with_an_older_feature_set_is_realigned_on_upsert(root: Path) -> None:
    old = MarketStore(f"lmdb://{root}", feature_columns=("f_a", "f_b"))
    frame = bars("2022-01-03", 10, features=("f_a", "f_b"))
    with old.writer():
        old.ensure_libraries()
        old.upsert("AAPL", frame)

    new = MarketStore(f"lmdb://{root}", feature_columns=("f_c", "f_b", "f_a"))
    # before the rewrite, reads already come back in the new layout (f_c NaN)
    drifted = new.read("AAPL")
    assert list(drifted.columns) == [*PRICE_COLUMNS, "source", "f_c", "f_b", "f_a"]
    assert drifted["f_c"].dtype == np.float32 and drifted["f_c"].isna().all()

    update = bars("2022-01-17", 2, seed=9, features=("f_c", "f_b", "f_a"))  # new dates only
    with new.writer():
        result = new.upsert("AAPL", update)
    assert result == UpsertResult("AAPL", "spliced", 12, date(2022, 1, 18))
    library = new._library(MarketStore.UNIVERSE)
    assert [c.name for c in library.get_description("AAPL").columns] == [
        *PRICE_COLUMNS, "source", "f_c", "f_b", "f_a"]
    back = new.read("AAPL")
    pd.testing.assert_frame_equal(back.iloc[:10][["f_b", "f_a"]], frame[["f_b", "f_a"]], check_freq=False)
    assert back["f_c"].iloc[:10].isna().all()
    np.testing.assert_array_equal(back["f_c"].iloc[10:].to_numpy(), update["f_c"].to_numpy())
    with new.writer():
        assert new.upsert("AAPL", update).mode == "unchanged"


def test_realignment_drops_features_no_longer_in_the_set(root: Path) -> None:
    old = MarketStore(f"lmdb://{root}", feature_columns=("f_a", "f_b"))
    frame = bars("2022-01-03", 5, features=("f_a", "f_b"))
    with old.writer():
        old.ensure_libraries()
        old.upsert("AAPL", frame)
    new = MarketStore(f"lmdb://{root}", feature_columns=("f_b",))
    with new.writer():
        assert new.upsert("AAPL", frame).mode == "spliced"
    assert list(new.read("AAPL").columns) == [*PRICE_COLUMNS, "source", "f_b"]


# -- macro --------------------------------------------------------------------------------------------

@on_both_backends
def test_macro_series_are_ticker_frames_without_features(store: MarketStore) -> None:
    spy = bars("2022-01-03", 10)[["Close", "source"]]
    assert store.upsert_macro("SPY", spy.iloc[:8]).mode == "created"
    assert store.upsert_macro("SPY", spy.iloc[:8]).mode == "unchanged"
    assert store.upsert_macro("SPY", spy).mode == "appended"
    store.upsert_macro("VIX", spy.assign(Close=20.0))
    assert store.macro_symbols() == ["SPY", "VIX"]
    assert store.tickers() == []
    got = store.read_macro(["SPY"], start=date(2022, 1, 10))
    assert list(got) == ["SPY"]
    assert list(got["SPY"].columns) == [*PRICE_COLUMNS, "source"]
    assert got["SPY"]["Close"].tolist() == spy["Close"].iloc[5:].tolist()
    assert sorted(store.read_macro()) == ["SPY", "VIX"]


def test_a_composite_macro_series_keeps_its_extra_columns(store: MarketStore) -> None:
    index = pd.bdate_range("2022-01-03", periods=4, name="date")
    composite = pd.DataFrame({"vix_level": [1.0, 1.1, 1.2, 1.3], "yield_10y": [0.3] * 4}, index=index)
    store.upsert_macro("features", composite, extra_columns=["vix_level", "yield_10y"])
    got = store.read_macro(["features"])["features"]
    assert list(got.columns) == [*PRICE_COLUMNS, "source", "vix_level", "yield_10y"]
    assert got["vix_level"].dtype == np.float64 and got["vix_level"].tolist() == [1.0, 1.1, 1.2, 1.3]
    assert store.upsert_macro("features", composite, extra_columns=["vix_level", "yield_10y"]).mode == "unchanged"


# -- preflight -----------------------------------------------------------------------------------------

@on_both_backends
def test_check_writable_cleans_up_its_sentinel(store: MarketStore) -> None:
    store.upsert("AAPL", bars("2022-01-03", 3))
    store.check_writable()
    assert store.tickers() == ["AAPL"]
    assert not store._library(MarketStore.UNIVERSE).has_symbol("__alpha_engine_preflight__")


def test_check_writable_needs_the_libraries(tmp_path: Path) -> None:
    empty = MarketStore(f"lmdb://{tmp_path / 'none'}")
    with pytest.raises(MarketStoreError, match="ensure_libraries"):
        empty.check_writable()


def test_libraries_present_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    assert MarketStore(f"lmdb://{path}").libraries_present() is False
    assert not path.exists()


def test_feature_columns_may_not_shadow_bar_columns() -> None:
    with pytest.raises(ValueError, match=r"\['Close'\]"):
        MarketStore("lmdb:///tmp/never-created", feature_columns=["f_a", "Close"])
    with pytest.raises(ValueError, match=r"\['f_a'\]"):
        MarketStore("lmdb:///tmp/never-created", feature_columns=["f_a", "f_a"])


def test_one_directory_is_one_arctic_instance_however_spelled(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stores = [MarketStore(uri) for uri in ("lmdb://rel", f"lmdb://{tmp_path}/rel/", f"lmdb://{tmp_path}/rel")]
    with stores[0].writer():
        stores[0].ensure_libraries()
    assert all(s.libraries_present() for s in stores)
    assert stores[0]._arctic is stores[1]._arctic is stores[2]._arctic
    assert (tmp_path / "rel" / "_arctic_cfg").is_dir()
