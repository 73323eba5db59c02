"""The shared HTTP client: retries, backoff, rate limiting, error translation, secret hygiene."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import httpx
import pytest
from providers_support import FakeClock, Script, json_response, recorded_response, settings

from alpha_engine.data import _errors
from alpha_engine.data.providers import HttpClient, RateLimiter, RetryPolicy, redact
from alpha_engine.data.providers._http import HttpSettings

URL = "https://api.example.test/v1/series"
SECRET = "abcdef0123456789abcdef0123456789"


def client(script: Script, clock: FakeClock, *, requests_per_minute: float = 0, max_attempts: int = 4,
           auth_hint: str = "check the key",
           is_auth_failure: Callable[[httpx.Response], bool] | None = None) -> HttpClient:
    return HttpClient("demo", settings(script, clock, requests_per_minute=requests_per_minute,
                                       max_attempts=max_attempts),
                      secrets=[SECRET], auth_hint=auth_hint, is_auth_failure=is_auth_failure)


def ok() -> httpx.Response:
    return json_response(200, {"ok": True})


def test_503_twice_then_success_sleeps_exponential_backoff_without_waiting() -> None:
    clock = FakeClock()
    script = Script(json_response(503, {}), json_response(503, {}), ok())
    assert client(script, clock).get_json(URL) == {"ok": True}
    assert len(script.requests) == 3
    assert clock.sleeps == [1.0, 2.0]


def test_429_honours_retry_after_seconds() -> None:
    clock = FakeClock()
    script = Script("polygon_error_429.json", ok())
    client(script, clock).get(URL)
    assert clock.sleeps == [12.0]


def test_retry_after_http_date_is_measured_against_the_response_date() -> None:
    clock = FakeClock()
    throttled = json_response(429, {}, [("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT"),
                                        ("Date", "Wed, 21 Oct 2015 07:28:00 GMT")])
    client(Script(throttled, ok()), clock).get(URL)
    assert clock.sleeps == [30.0]


def test_backoff_is_capped_at_backoff_max() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_max=5.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(1, retry_after=3600) == 5.0


def test_transport_errors_are_retried_then_reported_unreachable() -> None:
    clock = FakeClock()
    script = Script(httpx.ConnectError("connection refused"), repeat_last=True)
    with pytest.raises(_errors.ProviderError, match=r"after 3 attempts \(unreachable\): ConnectError") as info:
        client(script, clock, max_attempts=3).get(URL)
    assert len(script.requests) == 3
    assert clock.sleeps == [1.0, 2.0]
    assert "demo: GET https://api.example.test/v1/series" in str(info.value)


def test_timeouts_are_retried() -> None:
    clock = FakeClock()
    script = Script(httpx.ReadTimeout("read timed out"), ok())
    assert client(script, clock).get_json(URL) == {"ok": True}
    assert clock.sleeps == [1.0]


def test_exhausted_retries_name_the_url_without_the_key() -> None:
    clock = FakeClock()
    script = Script(json_response(503, {"error_message": "Service Unavailable"}), repeat_last=True)
    with pytest.raises(_errors.ProviderError) as info:
        client(script, clock).get(URL, params={"series_id": "DFF", "api_key": SECRET})
    message = str(info.value)
    assert not isinstance(info.value, _errors.ProviderAuthError)
    assert "after 4 attempts (provider outage): HTTP 503: Service Unavailable" in message
    assert "series_id=DFF" in message and "api_key=***" in message
    assert SECRET not in message
    # Nothing chained either: a traceback of the error carries no secret.
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_401_and_403_are_auth_errors_without_retry() -> None:
    for name in ("polygon_error_401.json", "polygon_error_403.json"):
        clock = FakeClock()
        script = Script(name)
        with pytest.raises(_errors.ProviderAuthError, match=r"refused \(HTTP 40[13]: .+\); fix the key"):
            client(script, clock, auth_hint="fix the key").get(URL)
        assert len(script.requests) == 1 and clock.sleeps == []


def test_a_provider_specific_auth_rule_turns_a_400_into_an_auth_error() -> None:
    script = Script("fred_error_bad_key.json")
    c = client(script, FakeClock(), is_auth_failure=lambda r: "api_key" in r.text)
    with pytest.raises(_errors.ProviderAuthError, match="api_key is not registered"):
        c.get(URL, params={"api_key": SECRET})


def test_other_4xx_are_unexpected_and_not_retried() -> None:
    clock = FakeClock()
    script = Script(json_response(404, {"message": "no such route"}))
    with pytest.raises(_errors.ProviderError, match=r"after 1 attempt \(unexpected\): HTTP 404: no such route"):
        client(script, clock).get(URL)
    assert clock.sleeps == []


def test_passthrough_statuses_are_returned_to_the_caller() -> None:
    response = client(Script("yahoo_chart_not_found.json"), FakeClock()).get(URL, passthrough=(404,))
    assert response.status_code == 404


def test_a_body_that_is_not_json_is_malformed() -> None:
    script = Script(httpx.Response(200, text="<html>Will be right back</html>"))
    with pytest.raises(_errors.ProviderError, match=r"\(malformed\): HTTP 200 body is not JSON"):
        client(script, FakeClock()).get_json(URL)


def test_secrets_in_error_bodies_are_scrubbed() -> None:
    script = Script(json_response(400, {"message": f"bad key {SECRET}"}))
    with pytest.raises(_errors.ProviderError) as info:
        client(script, FakeClock()).get(URL)
    assert SECRET not in str(info.value) and "bad key ***" in str(info.value)


def test_no_secret_reaches_a_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    script = Script(json_response(503, {}), ok())
    client(script, FakeClock()).get(URL, params={"api_key": SECRET})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "retry 1/3" in text  # the retry was logged ...
    assert "HTTP Request: GET" in text  # ... and so were httpx's request lines ...
    assert SECRET not in text  # ... without the key
    assert "api_key=***" in text


def test_redact_replaces_secret_query_values() -> None:
    assert redact("https://x/y?apiKey=K1&a=1&api_key=K2&token=T") == "https://x/y?apiKey=***&a=1&api_key=***&token=***"
    assert redact("Bearer s3cr3t sent", ["s3cr3t"]) == "Bearer *** sent"


def test_rate_limiter_spaces_requests_on_a_fake_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, monotonic=clock.monotonic, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(3)]
    assert waits == [0.0, 12.0, 12.0]
    clock.advance(60.0)  # a quiet minute saves at most `burst` (1) token
    assert [limiter.acquire(), limiter.acquire()] == [0.0, 12.0]


def test_rate_limiter_burst_allows_back_to_back_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=3, monotonic=clock.monotonic, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_rate_limiter_never_loops_on_a_clock_that_does_not_advance() -> None:
    limiter = RateLimiter(6, monotonic=lambda: 0.0, sleep=lambda s: None)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 10.0, 10.0]


def test_client_rate_limit_applies_to_every_request() -> None:
    clock = FakeClock()
    script = Script(ok(), ok(), ok())
    c = client(script, clock, requests_per_minute=5)
    for _ in range(3):
        c.get(URL)
    assert clock.sleeps == [12.0, 12.0]


def test_provider_default_rate_limit_applies_unless_overridden() -> None:
    clock = FakeClock()
    script = Script(ok(), ok())
    c = HttpClient("demo", HttpSettings(transport=script.transport, sleep=clock.sleep, monotonic=clock.monotonic),
                   default_requests_per_minute=30)
    c.get(URL)
    c.get(URL)
    assert clock.sleeps == [2.0]


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateLimiter(0)


def test_recorded_429_fixture_carries_retry_after() -> None:
    assert recorded_response("polygon_error_429.json").headers["retry-after"] == "12"
