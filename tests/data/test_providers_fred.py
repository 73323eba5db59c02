"""FRED macro provider, replayed from recorded responses."""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd
import pytest
from providers_support import FakeClock, Replay, Script, json_response, settings

from alpha_engine.data import _errors
from alpha_engine.data.providers import FRED_SERIES, FredProvider, MacroProvider
from alpha_engine.store import PRICE_COLUMNS

KEY = "0123456789abcdef0123456789abcdef"
START, END = date(2023, 1, 2), date(2023, 1, 6)


def provider(handler: Replay | Script, clock: FakeClock | None = None, key: str | None = KEY) -> FredProvider:
    return FredProvider(key, http=settings(handler, clock))


def test_observations_parse_and_missing_values_are_dropped() -> None:
    replay = Replay("fred_observations_VIXCLS.json")
    frame = provider(replay).macro_series(["VIX"], START, END)["VIX"]
    assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
    # 2023-01-02 is "." in the payload: dropped, not NaN.
    assert frame.index.tolist() == list(pd.to_datetime(["2023-01-03", "2023-01-04", "2023-01-05", "2023-01-06"]))
    assert frame["Close"].tolist() == [22.90, 22.01, 22.46, 21.13]
    assert frame[["Open", "High", "Low", "Volume", "VWAP"]].isna().all().all()
    assert (frame["source"] == "fred").all()


def test_request_has_series_key_json_and_the_observation_window() -> None:
    replay = Replay("fred_observations_VIXCLS.json")
    provider(replay).macro_series(["VIX"], START, END)
    params = replay.requests[0].url.params
    assert params["series_id"] == "VIXCLS" and params["api_key"] == KEY and params["file_type"] == "json"
    assert (params["observation_start"], params["observation_end"]) == ("2023-01-02", "2023-01-06")


def test_symbols_map_to_fred_series() -> None:
    replay = Replay("fred_observations_VIXCLS.json", "fred_observations_DGS10.json")
    macro = provider(replay).macro_series(["TNX", "VIX"], START, END)
    assert list(macro) == ["TNX", "VIX"]
    assert [r.url.params["series_id"] for r in replay.requests] == ["DGS10", "VIXCLS"]
    assert FRED_SERIES == {"VIX": "VIXCLS", "VIX3M": "VXVCLS", "TNX": "DGS10", "IRX": "DTB3", "TWO": "DGS2",
                           "HYOAS": "BAMLH0A0HYM2", "BAA10Y": "BAA10Y"}


def test_none_asks_for_every_mapped_series() -> None:
    script = Script(json_response(200, {"observations": []}), repeat_last=True)
    assert provider(script).macro_series(None, START, END) == {}  # no observations -> absent
    assert sorted(r.url.params["series_id"] for r in script.requests) == sorted(FRED_SERIES.values())


def test_unknown_symbols_are_absent_without_a_request() -> None:
    script = Script()
    assert provider(script).macro_series(["SPY", "XLK"], START, END) == {}
    assert script.requests == []


def test_missing_key_fails_before_any_request() -> None:
    script = Script()
    for call in (lambda: provider(script, key=None).macro_series(["VIX"], START, END),
                 lambda: provider(script, key="").probe()):
        with pytest.raises(_errors.ProviderAuthError, match="FRED_API_KEY is not set"):
            call()
    assert script.requests == []


def test_probe_reads_one_dff_observation() -> None:
    replay = Replay("fred_observations_DFF_probe.json")
    provider(replay).probe()
    assert replay.requests[0].url.params["limit"] == "1"


def test_a_refused_key_is_an_auth_error_that_hides_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="httpx")
    script = Script("fred_error_bad_key.json")
    with pytest.raises(_errors.ProviderAuthError) as info:
        provider(script).probe()
    message = str(info.value)
    assert "fred: GET https://api.stlouisfed.org/fred/series/observations" in message
    assert "api_key=***" in message and "api_key is not registered" in message and "FRED_API_KEY" in message
    assert KEY not in message and KEY not in caplog.text
    assert len(script.requests) == 1  # not retried


def test_other_400s_are_not_auth_errors() -> None:
    with pytest.raises(_errors.ProviderError, match="series does not exist") as info:
        provider(Script("fred_error_no_series.json")).macro_series(["VIX"], START, END)
    assert not isinstance(info.value, _errors.ProviderAuthError)


def test_an_outage_is_retried_then_reported() -> None:
    clock = FakeClock()
    script = Script(json_response(500, {"error_code": 500, "error_message": "Internal Server Error"}),
                    repeat_last=True)
    with pytest.raises(_errors.ProviderError, match=r"after 4 attempts \(provider outage\): HTTP 500") as info:
        provider(script, clock).probe()
    assert clock.sleeps == [1.0, 2.0, 4.0] and KEY not in str(info.value)


def test_non_numeric_values_other_than_dot_are_malformed() -> None:
    body = {"observations": [{"date": "2023-01-03", "value": "n/a"}]}
    with pytest.raises(_errors.ProviderError, match=r"malformed.*'n/a'") as info:
        provider(Script(json_response(200, body))).macro_series(["VIX"], START, END)
    assert KEY not in str(info.value)


def test_fred_is_a_macro_provider() -> None:
    assert isinstance(provider(Script()), MacroProvider)
