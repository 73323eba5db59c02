"""The one HTTP client every network provider uses.

* A timeout per request (default 15 s).
* Retries with exponential backoff on HTTP 429, HTTP 5xx and transport errors (timeouts, refused
  connections), honouring ``Retry-After``. No jitter: a replayed run asks for the same sleeps.
* A token-bucket rate limiter (requests per minute, ``burst`` tokens) shared by every request of
  the client, so a provider's documented quota (Polygon's free tier: 5/min) is never exceeded.
* ``sleep`` and ``monotonic`` are injected, so tests never wait.
* Failures are translated here, at one boundary, into :class:`ProviderError` /
  :class:`ProviderAuthError` naming the provider, the URL (secrets redacted), the HTTP status and
  what to do. Secrets never reach a message or a log record: query values of ``api_key`` /
  ``apiKey`` / ``token`` become ``***``, every registered secret string is scrubbed, errors are
  raised ``from None`` (a chained httpx exception would carry the raw URL into tracebacks), and a
  filter on the ``httpx`` logger redacts the request lines httpx itself logs.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from .._errors import ProviderAuthError, ProviderError

__all__ = ["HttpClient", "HttpSettings", "RateLimiter", "RetryPolicy", "redact"]

_log = logging.getLogger("alpha_engine.data.providers")

_SECRET_QUERY = re.compile(r"(?i)\b(api_?key|access_token|token)=([^&\s\"'#]+)")
# Secrets of every client built in this process, scrubbed from httpx's own log records too.
_REGISTERED_SECRETS: set[str] = set()

_HINTS = {
    "outage": "the provider is failing on its side; retry later or check its status page",
    "rate_limited": "the provider's rate limit was hit; lower requests_per_minute or retry later",
    "unreachable": "check the network, proxy and DNS settings, then retry",
    "unexpected": "check the request (symbol, dates, plan entitlements) against the provider's documentation",
    "malformed": "the response does not have the documented shape; the API may have changed",
}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secret query values replaced by ``***`` and every given secret scrubbed."""
    out = _SECRET_QUERY.sub(r"\1=***", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        out = out.replace(secret, "***")
    return out


class _RedactingFilter(logging.Filter):
    """Redacts httpx's ``HTTP Request: GET <url>`` records (FRED sends its key in the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, _REGISTERED_SECRETS)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
        logger.addFilter(_RedactingFilter())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure.

    Attempt ``n`` (1-based) that failed is followed by a sleep of ``backoff_base * 2**(n-1)``
    seconds, or the server's ``Retry-After``, both capped at ``backoff_max``.
    """

    max_attempts: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("RetryPolicy backoff_base and backoff_max must be >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt``."""
        wanted = retry_after if retry_after is not None else self.backoff_base * 2 ** (attempt - 1)
        return float(min(max(wanted, 0.0), self.backoff_max))


class RateLimiter:
    """A token bucket: ``requests_per_minute`` tokens accrue per minute, at most ``burst`` saved."""

    def __init__(self, requests_per_minute: float, *, burst: int = 1,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"RateLimiter: requests_per_minute must be > 0, got {requests_per_minute}")
        if burst < 1:
            raise ValueError(f"RateLimiter: burst must be >= 1, got {burst}")
        self.rate = requests_per_minute / 60.0  # tokens per second
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp: float | None = None

    def acquire(self) -> float:
        """Take one token, sleeping until one has accrued; returns the seconds slept."""
        now = self._monotonic()
        if self._stamp is not None:
            # max(0, ...): a clock that did not advance as far as the last sleep asked adds nothing.
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
        self._stamp = max(now, self._stamp or now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        wait = (1.0 - self._tokens) / self.rate
        self._sleep(wait)
        # The token that accrued during the wait is spent by this request.
        self._tokens = 0.0
        self._stamp += wait
        return wait


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: delta-seconds, or an HTTP-date against the response's ``Date``
    (never the wall clock, so the wait is a function of the response alone)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        now = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (when - now).total_seconds())


def _body_detail(response: httpx.Response, limit: int = 200) -> str:
    """The provider's own words about a failure: a known message field, else the body's start."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict):
        chart = payload.get("chart")
        if isinstance(chart, dict) and isinstance(chart.get("error"), dict):
            payload = chart["error"]
        for key in ("error_message", "message", "error", "description"):
            if isinstance(payload.get(key), str) and payload[key]:
                return str(payload[key])[:limit]
    return " ".join(response.text.split())[:limit]


@dataclass(frozen=True)
class HttpSettings:
    """Transport and pacing of a provider's client; the provider adds its headers, secrets and
    auth rules. ``requests_per_minute``: ``None`` = the provider's documented default, ``0`` = no limit."""

    transport: httpx.BaseTransport | None = None
    timeout: float = 15.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    requests_per_minute: float | None = None
    burst: int = 1
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


class HttpClient:
    """A retried, rate-limited ``httpx.Client`` for one provider; every failure is a ProviderError."""

    def __init__(self, provider: str, settings: HttpSettings | None = None, *,
                 default_requests_per_minute: float | None = None,
                 headers: Mapping[str, str] | None = None, secrets: Iterable[str] = (),
                 auth_statuses: Collection[int] = (401, 403),
                 is_auth_failure: Callable[[httpx.Response], bool] | None = None,
                 auth_hint: str = "check the provider's credentials") -> None:
        settings = settings or HttpSettings()
        self.provider = provider
        self.settings = settings
        self.retry = settings.retry
        self.secrets = tuple(s for s in secrets if s)
        self.auth_hint = auth_hint
        self._auth_statuses = frozenset(auth_statuses)
        self._is_auth_failure = is_auth_failure
        self._sleep = settings.sleep
        rpm = default_requests_per_minute if settings.requests_per_minute is None else settings.requests_per_minute
        self.limiter = (RateLimiter(rpm, burst=settings.burst, monotonic=settings.monotonic, sleep=settings.sleep)
                        if rpm else None)
        self._client = httpx.Client(transport=settings.transport, timeout=httpx.Timeout(settings.timeout),
                                    headers=dict(headers or {}), follow_redirects=True)
        _REGISTERED_SECRETS.update(self.secrets)
        _install_log_redaction()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def redact(self, text: str) -> str:
        """``text`` without this client's secrets."""
        return redact(text, self.secrets)

    def display_url(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """The URL as errors and logs show it: query included, secrets redacted."""
        full = httpx.URL(url, params=dict(params)) if params else httpx.URL(url)
        return self.redact(str(full))

    def get(self, url: str, *, params: Mapping[str, Any] | None = None,
            passthrough: Collection[int] = ()) -> httpx.Response:
        """GET with rate limiting and retries. Returns a 2xx response, or one whose status is in
        ``passthrough`` (the caller interprets it); raises ProviderError / ProviderAuthError otherwise."""
        shown = self.display_url(url, params)
        attempts = self.retry.max_attempts
        kind, detail = "unexpected", "no attempt made"
        for attempt in range(1, attempts + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            retry_after: float | None = None
            try:
                response = self._client.get(url, params=dict(params) if params else None)
            except httpx.TransportError as exc:  # timeouts, refused connections, resets: transient
                kind, detail = "unreachable", f"{type(exc).__name__}: {exc}"
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # bad URL, redirect loops, decoding
                raise self._error("unexpected", shown, f"{type(exc).__name__}: {exc}", attempt) from None
            else:
                status = response.status_code
                if 200 <= status < 300 or status in passthrough:
                    return response
                if self._auth_refused(response):
                    raise ProviderAuthError(self.redact(
                        f"{self.provider}: GET {shown} was refused (HTTP {status}: {_body_detail(response)}); "
                        f"{self.auth_hint}")) from None
                if status != 429 and status < 500:  # the request itself is wrong: retrying cannot help
                    raise self._error("unexpected", shown,
                                      f"HTTP {status}: {_body_detail(response)}", attempt) from None
                kind = "rate_limited" if status == 429 else "outage"
                detail = f"HTTP {status}: {_body_detail(response)}"
                retry_after = _retry_after(response)
            if attempt < attempts:
                delay = self.retry.delay(attempt, retry_after)
                _log.warning("%s: GET %s: %s; retry %d/%d in %.1fs", self.provider, shown,
                             self.redact(detail), attempt, attempts - 1, delay)
                self._sleep(delay)
        raise self._error(kind, shown, detail, attempts) from None

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET a 2xx JSON body (see :meth:`get`)."""
        return self.json_of(self.get(url, params=params))

    def json_of(self, response: httpx.Response) -> Any:
        """The response's JSON, or a ProviderError naming the URL when it is not JSON."""
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise self.malformed(str(response.request.url),
                                 f"HTTP {response.status_code} body is not JSON: "
                                 f"{' '.join(response.text.split())[:120]!r}") from None

    def malformed(self, url: str, detail: str) -> ProviderError:
        """The error for a payload that does not have the documented shape (to raise at the call site)."""
        return self._error("malformed", self.redact(url), detail, None)

    def _auth_refused(self, response: httpx.Response) -> bool:
        if response.status_code in self._auth_statuses:
            return True
        return self._is_auth_failure is not None and self._is_auth_failure(response)

    def _error(self, kind: str, shown: str, detail: str, attempts: int | None) -> ProviderError:
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        label = {"rate_limited": "rate limited", "outage": "provider outage"}.get(kind, kind)
        return ProviderError(self.redact(
            f"{self.provider}: GET {shown} failed{tries} ({label}): {detail}; {_HINTS[kind]}"))
