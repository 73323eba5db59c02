"""Yahoo chart provider, replayed from recorded responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import httpx
import numpy as np
import pandas as pd
import pytest
from providers_support import FakeClock, Replay, Script, fixture, json_response, settings

from alpha_engine.data import _errors
from alpha_engine.data.providers import YahooProvider, from_yahoo_symbol, to_yahoo_symbol
from alpha_engine.data.providers._yahoo import parse_chart
from alpha_engine.store import PRICE_COLUMNS

START, END = date(2023, 1, 3), date(2023, 1, 6)
SESSIONS = pd.DatetimeIndex(["2023-01-03", "2023-01-04", "2023-01-05", "2023-01-06"], name="date")


def provider(handler: Replay | Script, clock: FakeClock | None = None, *, auto_adjust: bool = True,
             tickers: Sequence[str] = (), sectors: Mapping[str, str] | None = None) -> YahooProvider:
    return YahooProvider(tickers=tickers, sectors=sectors, auto_adjust=auto_adjust, http=settings(handler, clock))


def quote_of(name: str) -> dict[str, list[float | None]]:
    quote: dict[str, list[float | None]] = fixture(name)["response"]["json"]["chart"]["result"][0]["indicators"]["quote"][0]
    return quote


def test_daily_bars_parse_sessions_drop_null_rows_and_leave_vwap_nan() -> None:
    replay = Replay("yahoo_chart_AAPL.json")
    bars = provider(replay, auto_adjust=False).daily_bars(["AAPL"], START, END)
    frame = bars["AAPL"]
    assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
    pd.testing.assert_index_equal(frame.index, SESSIONS)  # the all-null 2023-01-02 row is gone
    quote = quote_of("yahoo_chart_AAPL.json")
    np.testing.assert_array_equal(frame["Close"].to_numpy(), np.array(quote["close"][1:], dtype=float))
    np.testing.assert_array_equal(frame["Volume"].to_numpy(), np.array(quote["volume"][1:], dtype=float))
    assert frame["VWAP"].isna().all()
    assert (frame["source"] == "yfinance").all()


def test_request_carries_the_documented_query() -> None:
    replay = Replay("yahoo_chart_AAPL.json")  # Replay matches path and query exactly
    provider(replay).daily_bars(["AAPL"], START, END)
    params = replay.requests[0].url.params
    assert params["interval"] == "1d" and params["events"] == "div,splits"
    assert params["includeAdjustedClose"] == "true"
    assert int(params["period1"]) < int(params["period2"])
    assert replay.requests[0].headers["user-agent"].startswith("Mozilla/5.0")


def test_auto_adjust_scales_ohlc_by_adjclose_and_keeps_volume() -> None:
    raw = provider(Replay("yahoo_chart_AAPL.json"), auto_adjust=False).daily_bars(["AAPL"], START, END)["AAPL"]
    adj = provider(Replay("yahoo_chart_AAPL.json")).daily_bars(["AAPL"], START, END)["AAPL"]
    result = fixture("yahoo_chart_AAPL.json")["response"]["json"]["chart"]["result"][0]
    adjclose = np.array(result["indicators"]["adjclose"][0]["adjclose"][1:], dtype=float)
    np.testing.assert_allclose(adj["Close"].to_numpy(), adjclose)
    ratio = adjclose / raw["Close"].to_numpy()
    for column in ("Open", "High", "Low"):
        np.testing.assert_allclose(adj[column].to_numpy(), raw[column].to_numpy() * ratio)
    np.testing.assert_array_equal(adj["Volume"].to_numpy(), raw["Volume"].to_numpy())


def test_share_class_symbols_map_to_yahoo_dashes_and_back() -> None:
    replay = Replay("yahoo_chart_BRK-B.json")
    bars = provider(replay).daily_bars(["BRK.B"], START, END)
    assert replay.requests[0].url.path == "/v8/finance/chart/BRK-B"
    frame = bars["BRK.B"]
    assert len(frame) == 2
    assert np.isnan(frame["High"].iloc[1]) and frame["Close"].iloc[1] == 312.29  # a null field stays NaN
    assert to_yahoo_symbol("BRK.B") == "BRK-B" and from_yahoo_symbol("BRK-B") == "BRK.B"
    assert to_yahoo_symbol("VIX") == "^VIX" and from_yahoo_symbol("^VIX") == "VIX"


def test_index_macro_series_use_the_caret_and_drop_the_zero_volume() -> None:
    replay = Replay("yahoo_chart_VIX.json")
    macro = provider(replay).macro_series(["VIX"], START, END)
    assert replay.requests[0].url.path == "/v8/finance/chart/^VIX"
    frame = macro["VIX"]
    pd.testing.assert_index_equal(frame.index, SESSIONS)  # Chicago dates
    assert frame["Close"].tolist() == [22.90, 22.01, 22.46, 21.13]
    assert frame["Volume"].isna().all()


def test_fred_only_symbols_are_absent_without_a_request() -> None:
    script = Script()
    assert provider(script).macro_series(["TWO", "HYOAS", "BAA10Y"], START, END) == {}
    assert script.requests == []


def test_unknown_symbol_is_absent_not_an_error() -> None:
    replay = Replay("yahoo_chart_not_found.json", "yahoo_chart_AAPL.json")
    bars = provider(replay).daily_bars(["NOSUCH", "AAPL"], START, END)
    assert list(bars) == ["AAPL"]


def _payload(stamps: list[int], meta: dict[str, object]) -> dict[str, object]:
    return {"chart": {"error": None, "result": [{"meta": meta, "timestamp": stamps, "indicators": {
        "quote": [{"open": [1.0] * len(stamps), "high": [1.0] * len(stamps), "low": [1.0] * len(stamps),
                   "close": [1.0] * len(stamps), "volume": [10] * len(stamps)}]}}]}}


def test_timestamps_become_the_exchange_local_date() -> None:
    # 10:00 in Sydney on 2023-01-04 is 23:00 UTC on 2023-01-03: the session is the 4th.
    stamp = int(pd.Timestamp("2023-01-03 23:00", tz="UTC").timestamp())
    frame = parse_chart(_payload([stamp], {"exchangeTimezoneName": "Australia/Sydney", "gmtoffset": 39600}))
    assert frame is not None and frame.index[0] == pd.Timestamp("2023-01-04")


def test_gmtoffset_is_the_fallback_when_the_zone_is_missing_or_unknown() -> None:
    stamp = int(pd.Timestamp("2023-01-03 23:00", tz="UTC").timestamp())
    metas: list[dict[str, object]] = [{"gmtoffset": 39600},
                                      {"exchangeTimezoneName": "Nowhere/Atlantis", "gmtoffset": 39600}]
    for meta in metas:
        frame = parse_chart(_payload([stamp], meta))
        assert frame is not None and frame.index[0] == pd.Timestamp("2023-01-04")
    with pytest.raises(ValueError, match="gmtoffset"):
        parse_chart(_payload([stamp], {}))


def test_malformed_payload_is_a_provider_error_naming_the_url() -> None:
    script = Script(json_response(200, {"chart": {"result": [{"timestamp": [1], "indicators": {}}], "error": None}}))
    with pytest.raises(_errors.ProviderError, match=r"yfinance: GET https://query1.finance.yahoo.com/v8/finance/chart/AAPL.*malformed"):
        provider(script).daily_bars(["AAPL"], START, END)


def test_yahoo_refusals_are_provider_errors_not_auth_errors() -> None:
    # Yahoo takes no credentials: a 401 means blocked, not a bad key.
    with pytest.raises(_errors.ProviderError) as info:
        provider(Script(json_response(401, {"finance": {"error": "Unauthorized"}}))).daily_bars(["AAPL"], START, END)
    assert not isinstance(info.value, _errors.ProviderAuthError)


def test_probe_succeeds_on_the_recorded_spy_chart() -> None:
    replay = Replay("yahoo_chart_SPY_probe.json")
    provider(replay).probe()
    assert replay.requests[0].url.params["range"] == "1d"


def test_probe_reports_an_outage_after_retries() -> None:
    clock = FakeClock()
    script = Script(json_response(503, {}), repeat_last=True)
    with pytest.raises(_errors.ProviderError, match=r"yfinance: GET .*chart/SPY.*provider outage"):
        provider(script, clock).probe()
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_probe_reports_unreachable() -> None:
    script = Script(httpx.ConnectError("name resolution failed"), repeat_last=True)
    with pytest.raises(_errors.ProviderError, match=r"unreachable.*check the network"):
        provider(script).probe()


def test_universe_is_the_configured_tickers() -> None:
    assert provider(Script(), tickers=["MSFT", "AAPL"]).universe(END) == ["AAPL", "MSFT"]
    with pytest.raises(_errors.ProviderError, match="tickers"):
        provider(Script()).universe(END)


def test_live_feed_has_no_last_date_and_no_caveats() -> None:
    p = provider(Script(), sectors={"AAPL": "XLK"})
    assert p.last_available_date() is None and p.caveats == () and p.market_symbol == "SPY"
    assert p.sector_map() == {"AAPL": "XLK"}
