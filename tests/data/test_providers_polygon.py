"""Polygon provider, replayed from recorded responses."""

from __future__ import annotations

from datetime import date

import httpx
import numpy as np
import pandas as pd
import pytest
from providers_support import FakeClock, Item, Replay, Script, fixture, json_response, settings

from alpha_engine.data import _errors
from alpha_engine.data.providers import PolygonProvider, to_polygon_symbol
from alpha_engine.store import PRICE_COLUMNS

KEY = "pk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
START, END = date(2023, 1, 3), date(2023, 1, 6)
SESSIONS = pd.DatetimeIndex(["2023-01-03", "2023-01-04", "2023-01-05", "2023-01-06"], name="date")


def provider(handler: Replay | Script, clock: FakeClock | None = None, *, key: str | None = KEY,
             requests_per_minute: float = 0) -> PolygonProvider:
    return PolygonProvider(key, http=settings(handler, clock, requests_per_minute=requests_per_minute))


def test_aggregates_parse_dates_prices_and_vwap() -> None:
    replay = Replay("polygon_aggs_AAPL.json")
    frame = provider(replay).daily_bars(["AAPL"], START, END)["AAPL"]
    assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
    pd.testing.assert_index_equal(frame.index, SESSIONS)  # t = midnight New York -> that date
    results = fixture("polygon_aggs_AAPL.json")["response"]["json"]["results"]
    np.testing.assert_array_equal(frame["VWAP"].to_numpy(), [r["vw"] for r in results])
    np.testing.assert_array_equal(frame["Close"].to_numpy(), [r["c"] for r in results])
    np.testing.assert_array_equal(frame["Volume"].to_numpy(), [r["v"] for r in results])
    assert (frame["source"] == "polygon").all()


def test_timestamps_passed_as_dates_print_as_plain_dates() -> None:
    replay = Replay("polygon_aggs_AAPL.json")  # matches only /2023-01-03/2023-01-06
    bars = provider(replay).daily_bars(["AAPL"], pd.Timestamp(START), pd.Timestamp(END))
    assert list(bars) == ["AAPL"]


def test_key_travels_as_a_bearer_header_never_in_the_url() -> None:
    replay = Replay("polygon_aggs_AAPL.json")
    provider(replay).daily_bars(["AAPL"], START, END)
    request = replay.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)
    assert dict(request.url.params) == {"adjusted": "true", "sort": "asc", "limit": "50000"}


def test_missing_key_fails_before_any_request() -> None:
    script = Script()
    p = provider(script, key=None)
    for call in (lambda: p.daily_bars(["AAPL"], START, END), lambda: p.grouped_daily(START), p.probe):
        with pytest.raises(_errors.ProviderAuthError, match="POLYGON_API_KEY is not set"):
            call()
    assert script.requests == []


def test_share_classes_keep_the_dot() -> None:
    replay = Replay("polygon_aggs_BRK.B.json")
    bars = provider(replay).daily_bars(["BRK.B"], START, END)
    assert replay.requests[0].url.path == "/v2/aggs/ticker/BRK.B/range/1/day/2023-01-03/2023-01-06"
    assert list(bars) == ["BRK.B"] and bars["BRK.B"]["VWAP"].iloc[0] == 309.5121
    assert to_polygon_symbol("BRK-B") == "BRK.B" and to_polygon_symbol("BRK.B") == "BRK.B"


def test_a_ticker_without_results_is_absent() -> None:
    replay = Replay("polygon_aggs_empty.json", "polygon_aggs_AAPL.json")
    assert list(provider(replay).daily_bars(["NOSUCH", "AAPL"], START, END)) == ["AAPL"]


def test_next_url_pages_are_followed_with_the_header() -> None:
    first = fixture("polygon_aggs_AAPL.json")["response"]["json"]
    page1 = {**first, "results": first["results"][:2],
             "next_url": "https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/1672894800000/2023-01-06?cursor=bGltaXQ9Mg"}
    page2 = {**first, "results": first["results"][2:]}
    script = Script(json_response(200, page1), json_response(200, page2))
    frame = provider(script).daily_bars(["AAPL"], START, END)["AAPL"]
    pd.testing.assert_index_equal(frame.index, SESSIONS)
    assert script.requests[1].url.params["cursor"] == "bGltaXQ9Mg"
    assert script.requests[1].headers["authorization"] == f"Bearer {KEY}"


def test_grouped_daily_gives_one_row_frames_with_vwap() -> None:
    replay = Replay("polygon_grouped_2023-01-03.json")
    rows = provider(replay).grouped_daily(START)
    assert list(rows) == ["AAPL", "ACAXW", "BRK.B", "MSFT"]  # sorted
    aapl = rows["AAPL"]
    assert list(aapl.columns) == [*PRICE_COLUMNS, "source"]
    assert aapl.index.tolist() == [pd.Timestamp("2023-01-03")]  # t = 16:00 New York, still the 3rd
    assert aapl["VWAP"].iloc[0] == 126.3718 and aapl["Close"].iloc[0] == 125.07
    assert np.isnan(rows["ACAXW"]["VWAP"].iloc[0])  # no vw in the payload


def test_grouped_daily_filters_tickers_and_is_empty_on_a_holiday() -> None:
    replay = Replay("polygon_grouped_2023-01-03.json", "polygon_grouped_holiday.json")
    p = provider(replay)
    assert list(p.grouped_daily(START, tickers=["MSFT", "BRK-B"])) == ["BRK.B", "MSFT"]
    assert p.grouped_daily(date(2023, 1, 2)) == {}


def test_macro_series_fetch_etfs_and_leave_indices_absent() -> None:
    script = Script("polygon_aggs_AAPL.json")  # any bar payload will do for SPY
    macro = provider(script).macro_series(["SPY", "VIX", "TNX", "TWO"], START, END)
    assert list(macro) == ["SPY"]
    assert [r.url.path for r in script.requests] == ["/v2/aggs/ticker/SPY/range/1/day/2023-01-03/2023-01-06"]


def test_free_tier_rate_limit_is_the_default() -> None:
    clock = FakeClock()
    script = Script("polygon_aggs_AAPL.json", "polygon_aggs_BRK.B.json")
    p = PolygonProvider(KEY, http=settings(script, clock, requests_per_minute=5))
    p.daily_bars(["AAPL", "BRK.B"], START, END)
    assert clock.sleeps == [12.0]
    default = PolygonProvider(KEY)
    assert default.http.limiter is not None and default.http.limiter.rate == pytest.approx(5 / 60)


def test_429_is_retried_after_the_servers_delay() -> None:
    clock = FakeClock()
    script = Script("polygon_error_429.json", "polygon_aggs_AAPL.json")
    assert "AAPL" in provider(script, clock).daily_bars(["AAPL"], START, END)
    assert clock.sleeps == [12.0]


def test_retries_exhausted_name_the_url_and_not_the_key() -> None:
    script = Script(json_response(502, {"status": "ERROR", "error": "bad gateway"}), repeat_last=True)
    with pytest.raises(_errors.ProviderError) as info:
        provider(script).daily_bars(["AAPL"], START, END)
    message = str(info.value)
    assert "polygon: GET https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/2023-01-03/2023-01-06" in message
    assert "after 4 attempts (provider outage): HTTP 502" in message
    assert KEY not in message


def test_probe_passes_on_ticker_details() -> None:
    replay = Replay("polygon_ticker_details_AAPL.json")
    provider(replay).probe()
    assert replay.requests[0].url.path == "/v3/reference/tickers/AAPL"


@pytest.mark.parametrize(("item", "error", "pattern"), [
    ("polygon_error_401.json", _errors.ProviderAuthError, r"refused \(HTTP 401: Unknown API Key\).*POLYGON_API_KEY"),
    ("polygon_error_403.json", _errors.ProviderAuthError, r"refused \(HTTP 403: Your plan"),
    (json_response(503, {"status": "ERROR"}), _errors.ProviderError, r"provider outage"),
    (json_response(404, {"status": "NOT_FOUND"}), _errors.ProviderError, r"\(unexpected\): HTTP 404"),
    (httpx.ConnectError("connection refused"), _errors.ProviderError, r"\(unreachable\)"),
])
def test_probe_outcomes(item: Item, error: type[Exception], pattern: str) -> None:
    script = Script(item, repeat_last=True)
    with pytest.raises(error, match=pattern) as info:
        provider(script).probe()
    assert "polygon: GET https://api.polygon.io/v3/reference/tickers/AAPL" in str(info.value)
    if error is _errors.ProviderError:
        assert not isinstance(info.value, _errors.ProviderAuthError)


def test_a_payload_with_an_error_status_is_malformed() -> None:
    script = Script(json_response(200, {"status": "ERROR", "request_id": "x"}))
    with pytest.raises(_errors.ProviderError, match=r"malformed.*status 'ERROR'"):
        provider(script).daily_bars(["AAPL"], START, END)
