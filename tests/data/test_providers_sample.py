"""The bundled skfolio sample provider (offline)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from alpha_engine.data.providers import (
    SAMPLE_DEFAULT_RUN_DATE,
    SECTOR_ETFS,
    Provider,
    SampleProvider,
    first_saturday_after,
)
from alpha_engine.store import PRICE_COLUMNS

FIRST, LAST = date(1990, 1, 2), date(2022, 12, 28)
STOCKS = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "LLY", "MRK", "MSFT", "PEP",
          "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]


@pytest.fixture(scope="module")
def sample() -> SampleProvider:
    return SampleProvider()


@pytest.fixture(scope="module")
def bars(sample: SampleProvider) -> dict[str, pd.DataFrame]:
    return sample.daily_bars(STOCKS, FIRST, LAST)


def test_universe_is_the_twenty_sample_stocks(sample: SampleProvider) -> None:
    assert sample.universe(LAST) == STOCKS
    assert sample.universe(date(1989, 12, 29)) == []  # nothing before the first bar


def test_full_history_shapes(bars: dict[str, pd.DataFrame]) -> None:
    assert list(bars) == STOCKS
    for frame in bars.values():
        assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
        assert len(frame) == 8313
        assert frame.index[0] == pd.Timestamp(FIRST) and frame.index[-1] == pd.Timestamp(LAST)
        assert frame.index.is_monotonic_increasing and frame.index.is_unique and frame.index.name == "date"


def test_closes_only_every_other_column_is_nan(bars: dict[str, pd.DataFrame]) -> None:
    for frame in bars.values():
        assert frame["Close"].notna().all() and (frame["Close"] > 0).all()
        assert frame[["Open", "High", "Low", "Volume", "VWAP"]].isna().all().all()
        assert (frame["source"] == "sample").all()


def test_range_is_inclusive_and_unknown_tickers_are_absent(sample: SampleProvider) -> None:
    bars = sample.daily_bars(["MSFT", "NOPE"], date(2022, 12, 23), date(2022, 12, 28))
    assert list(bars) == ["MSFT"]
    assert bars["MSFT"].index.tolist() == list(pd.to_datetime(["2022-12-23", "2022-12-27", "2022-12-28"]))
    assert sample.daily_bars(["MSFT"], date(2023, 1, 1), date(2023, 2, 1)) == {}
    assert list(sample.daily_bars("MSFT", date(2022, 12, 23), date(2022, 12, 28))) == ["MSFT"]


def test_macro_has_the_index_and_the_factor_etfs(sample: SampleProvider) -> None:
    macro = sample.macro_series(None, FIRST, LAST)
    assert list(macro) == ["MTUM", "QUAL", "SIZE", "SP500", "USMV", "VLUE"]
    assert sample.market_symbol == "SP500" and len(macro["SP500"]) == 8313
    assert macro["MTUM"].index[0] == pd.Timestamp("2014-01-02")  # the factor ETFs start in 2014
    assert macro["SP500"][["Open", "High", "Low", "Volume", "VWAP"]].isna().all().all()
    assert list(sample.macro_series(["SP500", "VIX"], FIRST, LAST)) == ["SP500"]


def test_last_date_and_default_run_date(sample: SampleProvider, bars: dict[str, pd.DataFrame]) -> None:
    assert sample.last_available_date() == LAST
    assert max(f.index[-1] for f in bars.values()) == pd.Timestamp(LAST)
    assert SAMPLE_DEFAULT_RUN_DATE == date(2022, 12, 31) == first_saturday_after(LAST)
    assert SAMPLE_DEFAULT_RUN_DATE.weekday() == 5


def test_first_saturday_after_is_strictly_after() -> None:
    assert first_saturday_after(date(2022, 12, 30)) == date(2022, 12, 31)  # Friday
    assert first_saturday_after(date(2022, 12, 31)) == date(2023, 1, 7)  # a Saturday -> the next
    assert first_saturday_after(date(2023, 1, 1)) == date(2023, 1, 7)  # Sunday


def test_caveats_state_survivorship_and_closes_only(sample: SampleProvider) -> None:
    text = " ".join(sample.caveats).lower()
    assert "survivorship" in text and "hindsight" in text and "closes only" in text


def test_sector_map_covers_the_universe_with_sector_etfs(sample: SampleProvider) -> None:
    sectors = sample.sector_map()
    assert sorted(sectors) == STOCKS and set(sectors.values()) <= set(SECTOR_ETFS)
    assert sectors["AAPL"] == "XLK" and sectors["XOM"] == "XLE"


def test_probe_and_protocol(sample: SampleProvider) -> None:
    sample.probe()
    assert isinstance(sample, Provider)


def test_deterministic_bytes() -> None:
    a = SampleProvider().daily_bars(["AAPL"], FIRST, LAST)["AAPL"]
    b = SampleProvider().daily_bars(["AAPL"], FIRST, LAST)["AAPL"]
    assert pd.util.hash_pandas_object(a).equals(pd.util.hash_pandas_object(b))


@pytest.mark.parametrize("name", ["sp500_dataset", "sp500_index", "factors_dataset"])
def test_the_datasets_read_from_the_wheel_equal_skfolios_loaders(name: str) -> None:
    import skfolio.datasets

    from alpha_engine.data.providers._sample import _skfolio_dataset

    loader = getattr(skfolio.datasets, f"load_{name}")
    pd.testing.assert_frame_equal(_skfolio_dataset(name), loader(), check_exact=True)


def test_a_missing_dataset_file_is_a_provider_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from alpha_engine.data import ProviderError
    from alpha_engine.data.providers import _sample

    monkeypatch.setattr(_sample, "_SKFOLIO_DATA", ("datasets", "nowhere"))
    with pytest.raises(ProviderError, match=r"nowhere/sp500_dataset.csv.gz could not be read"):
        _sample._skfolio_dataset("sp500_dataset")
