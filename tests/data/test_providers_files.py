"""The files provider: CSV/Parquet round trips and every malformed-file error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data import _errors
from alpha_engine.data.providers import FilesProvider, Provider
from alpha_engine.store import PRICE_COLUMNS

START, END = date(2023, 1, 1), date(2023, 1, 31)


def bars_table(n: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + rng.normal(0, 1, n).cumsum()
    return pd.DataFrame({
        "date": pd.bdate_range("2023-01-03", periods=n).strftime("%Y-%m-%d"),
        "open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close,
        "volume": rng.integers(1_000, 10_000, n).astype(float), "vwap": close - 0.1,
    })


def expected_frame(table: pd.DataFrame) -> pd.DataFrame:
    frame = table.rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close",
                                  "volume": "Volume", "vwap": "VWAP"})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("date")), name="date")
    frame = frame.astype("float64")
    frame["source"] = "files"
    return frame[[*PRICE_COLUMNS, "source"]]


def test_csv_round_trip_with_mixed_case_and_extra_columns(tmp_path: Path) -> None:
    table = bars_table()
    written = table.rename(columns={"date": "Date", "close": " Close ", "vwap": "VWAP"})
    written["Adj Close"] = 1.0  # ignored
    written.to_csv(tmp_path / "AAPL.csv", index=False)
    bars = FilesProvider(tmp_path).daily_bars(["AAPL"], START, END)
    pd.testing.assert_frame_equal(bars["AAPL"], expected_frame(table))


def test_parquet_round_trip_and_dates_as_index(tmp_path: Path) -> None:
    table = bars_table(seed=1)
    table.to_parquet(tmp_path / "MSFT.parquet", index=False)
    indexed = bars_table(seed=2)
    indexed.assign(date=pd.to_datetime(indexed["date"])).set_index("date").to_parquet(tmp_path / "BRK.B.parquet")
    bars = FilesProvider(tmp_path).daily_bars(["BRK.B", "MSFT"], START, END)
    pd.testing.assert_frame_equal(bars["MSFT"], expected_frame(table))
    pd.testing.assert_frame_equal(bars["BRK.B"], expected_frame(indexed))


def test_optional_columns_are_nan_and_rows_are_sorted(tmp_path: Path) -> None:
    pd.DataFrame({"date": ["2023-01-04", "2023-01-03"], "close": [2.0, 1.0]}).to_csv(tmp_path / "X.csv", index=False)
    frame = FilesProvider(tmp_path).daily_bars(["X"], START, END)["X"]
    assert frame["Close"].tolist() == [1.0, 2.0]
    assert frame[["Open", "High", "Low", "Volume", "VWAP"]].isna().all().all()


def test_range_clipping_and_absent_tickers(tmp_path: Path) -> None:
    bars_table().to_csv(tmp_path / "AAPL.csv", index=False)
    p = FilesProvider(tmp_path)
    assert len(p.daily_bars(["AAPL"], date(2023, 1, 4), date(2023, 1, 5))["AAPL"]) == 2
    assert p.daily_bars(["AAPL", "NOPE"], date(2024, 1, 1), date(2024, 2, 1)) == {}


def test_zoned_timestamps_keep_their_local_date(tmp_path: Path) -> None:
    pd.DataFrame({"date": ["2023-01-03T20:00:00-05:00"], "close": [1.0]}).to_csv(tmp_path / "Z.csv", index=False)
    frame = FilesProvider(tmp_path).daily_bars(["Z"], START, END)["Z"]
    assert frame.index.tolist() == [pd.Timestamp("2023-01-03")]


def test_universe_macro_sectors_and_last_date(tmp_path: Path) -> None:
    bars_table().to_csv(tmp_path / "AAPL.csv", index=False)
    bars_table(n=7).to_parquet(tmp_path / "MSFT.parquet", index=False)
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "macro").mkdir()
    pd.DataFrame({"Date": ["2023-01-03", "2023-01-04"], "CLOSE": [22.9, 22.0]}).to_csv(
        tmp_path / "macro" / "VIX.csv", index=False)
    pd.DataFrame({"ticker": ["MSFT", "AAPL"], "sector_etf": ["XLK", "XLK"]}).to_csv(tmp_path / "sectors.csv",
                                                                                 index=False)
    p = FilesProvider(tmp_path)
    assert p.universe(END) == ["AAPL", "MSFT"]  # sectors.csv and notes.txt are not tickers
    macro = p.macro_series(None, START, END)
    assert list(macro) == ["VIX"] and macro["VIX"]["Close"].tolist() == [22.9, 22.0]
    assert macro["VIX"]["VWAP"].isna().all()
    assert p.sector_map() == {"AAPL": "XLK", "MSFT": "XLK"}
    assert p.last_available_date() == date(2023, 1, 11)  # 7 business days from 2023-01-03
    assert p.market_symbol == "SPY" and p.caveats == ()
    assert isinstance(p, Provider)


def test_probe_needs_the_market_index_file(tmp_path: Path) -> None:
    bars_table().to_csv(tmp_path / "AAPL.csv", index=False)
    (tmp_path / "macro").mkdir()
    pd.DataFrame({"date": ["2023-01-03"], "close": [22.9]}).to_csv(tmp_path / "macro" / "VIX.csv", index=False)
    with pytest.raises(_errors.ProviderError, match=r"market index SPY: expected .*macro/SPY\.csv or \.parquet"):
        FilesProvider(tmp_path).probe()
    FilesProvider(tmp_path, market_symbol="VIX").probe()
    pd.DataFrame({"date": ["2023-01-03"], "close": [380.0]}).to_parquet(tmp_path / "macro" / "SPY.parquet")
    FilesProvider(tmp_path).probe()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("content", "pattern"), [
    ("day,close\n2023-01-03,1\n", r"AAPL.csv: missing the 'date' column \(columns: day, close\)"),
    ("date,open\n2023-01-03,1\n", r"AAPL.csv: missing the 'close' column"),
    ("date,close\n2023-01-03,1\n2023-13-45,2\n", r"AAPL.csv: unparseable date '2023-13-45' on data row 2"),
    ("date,close\n2023-01-03,1\n,2\n", r"AAPL.csv: unparseable date nan on data row 2"),
    ("date,close\n2023-01-03,1\n2023-01-04,2\n2023-01-03,3\n", r"AAPL.csv: duplicate dates 2023-01-03"),
    ("date,close\n2023-01-03,1\n2023-01-04,abc\n", r"AAPL.csv: column 'close' has the non-numeric value 'abc' on data row 2"),
    ("date,close,Close\n2023-01-03,1,1\n", r"AAPL.csv: columns 'close' and 'Close' are the same column"),
])
def test_malformed_files_name_the_file_and_the_problem(tmp_path: Path, content: str, pattern: str) -> None:
    _write(tmp_path / "AAPL.csv", content)
    with pytest.raises(_errors.ProviderError, match=pattern):
        FilesProvider(tmp_path).daily_bars(["AAPL"], START, END)


def test_a_ticker_in_both_formats_is_refused(tmp_path: Path) -> None:
    bars_table().to_csv(tmp_path / "AAPL.csv", index=False)
    bars_table().to_parquet(tmp_path / "AAPL.parquet", index=False)
    with pytest.raises(_errors.ProviderError, match=r"AAPL.csv and .*AAPL.parquet both hold AAPL"):
        FilesProvider(tmp_path).universe(END)


def test_an_unreadable_parquet_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "BAD.parquet", "this is not parquet")
    with pytest.raises(_errors.ProviderError, match=r"BAD.parquet: cannot be read as parquet"):
        FilesProvider(tmp_path).daily_bars(["BAD"], START, END)


def test_sectors_file_needs_its_columns(tmp_path: Path) -> None:
    _write(tmp_path / "sectors.csv", "symbol,sector\nAAPL,XLK\n")
    with pytest.raises(_errors.ProviderError, match=r"sectors.csv: missing the 'ticker' column"):
        FilesProvider(tmp_path).sector_map()


def test_probe_needs_an_existing_directory_with_a_ticker_file(tmp_path: Path) -> None:
    with pytest.raises(_errors.ProviderError, match=r"files: data directory .*missing does not exist"):
        FilesProvider(tmp_path / "missing").probe()
    _write(tmp_path / "sectors.csv", "ticker,sector_etf\n")
    with pytest.raises(_errors.ProviderError, match=r"has no <TICKER>.csv or .parquet file"):
        FilesProvider(tmp_path).probe()
    assert FilesProvider(tmp_path).sector_map() == {}
