"""The market store's writer lease on S3: one writer per store across hosts, by conditional writes.

The lease is one object, ``<path_prefix>/.alpha-engine-writer.lock`` in the store's bucket, holding
JSON: who holds it (``owner``: host, pid and a random token; ``host``, ``pid``) and until when
(``expires``, UTC ISO 8601).

* **Take**: ``PutObject`` with ``If-None-Match: *``: S3 creates it only if no lease object exists,
  so of two writers racing, exactly one succeeds. The other reads the lease and is refused with
  :class:`MarketStoreLockedError` naming the holder and its expiry.
* **Take over a stale lease**: a lease past its expiry belongs to a writer that died (or lost its
  host). It is replaced with ``PutObject`` conditional on the ETag just read (``If-Match``), so of two
  writers taking over the same stale lease, one wins and the other is refused.
* **Renew**: a holder's lease lasts ``lease_seconds``; a daemon thread renews it every third of that
  (``If-Match`` on the holder's ETag). A renewal that finds another ETag means the lease was taken
  over: the lease is marked lost and every later write of this writer is refused (:meth:`S3Lease.check`).
  Every data write and the publish (the commit point) renew the lease first, so a writer whose
  lease was taken over (a host paused past the expiry) finds out before it writes, not a renewal later.
* **Release**: ``DeleteObject`` conditional on the holder's ETag: only the owner removes it.

Expiry compares clocks across hosts: ``lease_seconds`` (300 s by default) is far above any clock skew
a host with NTP has, and a crashed writer blocks the next one for at most that long.

boto3 is imported on first use (the ``aws`` extra); credentials and endpoint come from the ArcticDB
URI (``access``/``secret``, host and port) or, with ``aws_auth=true``, boto3's default chain.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ._errors import MarketStoreError, MarketStoreLockedError
from ._market_location import S3MarketLocation

__all__ = ["DEFAULT_LEASE_SECONDS", "LEASE_OBJECT_NAME", "S3Lease", "s3_client"]

DEFAULT_LEASE_SECONDS = 300.0
LEASE_OBJECT_NAME = ".alpha-engine-writer.lock"  # the LMDB lock file's name, inside the store's prefix
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def s3_client(location: S3MarketLocation, uri: str) -> Any:
    """A boto3 S3 client for the store's endpoint and credentials."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise MarketStoreError(f"market store {uri}: the S3 writer lease needs boto3, which is not installed "
                               f"(pip install 'alpha-engine[aws]')") from exc
    session = boto3.Session(profile_name=location.aws_profile or None)
    keys: dict[str, Any] = {} if location.aws_auth else {
        "aws_access_key_id": location.access, "aws_secret_access_key": location.secret}
    style = "virtual" if location.virtual_addressing else "path"
    return session.client("s3", endpoint_url=location.endpoint_url, region_name=location.region_name,
                          config=Config(s3={"addressing_style": style}, retries={"max_attempts": 3}), **keys)


class S3Lease:
    """The writer lease of one S3 market store (see the module docstring).

    ``uri`` is only for messages (give it redacted); ``clock`` returns the current UTC time (tests
    plant expired leases with it); ``client`` is a boto3 S3 client (default: built from the location).
    """

    def __init__(self, location: S3MarketLocation, uri: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 clock: Callable[[], datetime] = _utc_now, client: Any = None) -> None:
        if lease_seconds <= 0:
            raise ValueError(f"S3Lease: lease_seconds must be positive, got {lease_seconds}")
        self.location = location
        self.uri = uri
        self.key = location.key(LEASE_OBJECT_NAME)
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._client = client
        self._etag: str | None = None
        self._owner = ""
        self._lost: str | None = None
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"s3://{self.location.bucket}/{self.key}"

    @property
    def held(self) -> bool:
        return self._etag is not None

    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.location, self.uri)
        return self._client

    # -- take, renew, release ------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lease, or a stale one over; :class:`MarketStoreLockedError` naming the holder if a
        live lease is someone else's. Never waits."""
        owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        if self._put(owner, if_none_match=True):
            return self._took(owner)
        holder, etag = self._read()
        if holder is None:  # released between our PUT and our GET: the next writer may try again
            raise MarketStoreLockedError(f"market store {self.uri}: the writer lease {self.where} changed hands "
                                         f"while it was being taken; try again")
        expires = _expiry(holder)
        if expires is not None and expires > self._clock():
            raise MarketStoreLockedError(f"market store {self.uri}: another writer holds the lease {self.where} "
                                         f"({_describe(holder)}, until {expires.isoformat()}); wait for it to "
                                         f"finish, or for the lease to expire if that writer died")
        if not self._put(owner, if_match=etag):
            raise MarketStoreLockedError(f"market store {self.uri}: another writer took over the stale lease "
                                         f"{self.where} first")
        self._took(owner)

    def _took(self, owner: str) -> None:
        self._owner = owner
        self._lost = None
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="s3-writer-lease", daemon=True)
        self._renewer.start()

    def renew(self) -> None:
        """Extend the lease by ``lease_seconds``; marks it lost if another writer took it over."""
        with self._guard:
            if self._etag is None or self._lost is not None:
                return
            if not self._put(self._owner, if_match=self._etag):
                holder, _ = self._read()
                who = f" by {_describe(holder)}" if holder else " (the lease object is gone)"
                self._lost = f"the writer lease {self.where} was taken over{who}"

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.renew()
            except MarketStoreError:  # a network blip: the next renewal retries while expiry is still ahead
                continue

    def check(self, *, confirm: bool = False) -> None:
        """Raise :class:`MarketStoreLockedError` if this writer no longer holds the lease; ``confirm``
        asks S3 first (a renewal), rather than trusting the last renewal."""
        if confirm:
            self.renew()
        if self._lost is not None:
            raise MarketStoreLockedError(f"market store {self.uri}: {self._lost}: this writer may no longer write")
        if self._etag is None:
            raise MarketStoreLockedError(f"market store {self.uri}: the writer lease {self.where} is not held")

    def release(self) -> None:
        """Delete the lease object if it is still ours (conditional on our ETag)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._guard:
            etag, self._etag = self._etag, None
            if etag is None or self._lost is not None:
                return
            try:
                self.client().delete_object(Bucket=self.location.bucket, Key=self.key, IfMatch=etag)
            except Exception as exc:
                if _error_code(exc) not in _CONFLICT_CODES:  # someone else's by now: leave it
                    raise self._failure("release", exc) from exc

    # -- S3 calls ------------------------------------------------------------------------------------

    def _put(self, owner: str, *, if_none_match: bool = False, if_match: str | None = None) -> bool:
        """Write our lease record; False if the condition failed (another writer's lease is there)."""
        now = self._clock()
        record = {"owner": owner, "host": owner.split(":", 1)[0], "pid": int(owner.split(":")[1]),
                  "acquired": now.isoformat(), "expires": (now + timedelta(seconds=self.lease_seconds)).isoformat(),
                  "store": self.location.describe()}
        conditions: dict[str, str] = {"IfNoneMatch": "*"} if if_none_match else {"IfMatch": if_match or ""}
        try:
            answer = self.client().put_object(Bucket=self.location.bucket, Key=self.key, ContentType="application/json",
                                              Body=json.dumps(record, sort_keys=True).encode(), **conditions)
        except Exception as exc:
            if _error_code(exc) in _CONFLICT_CODES:
                return False
            raise self._failure("take", exc) from exc
        self._etag = str(answer["ETag"])
        return True

    def _read(self) -> tuple[dict[str, Any] | None, str | None]:
        """The current lease record and its ETag; (None, None) if there is no lease object."""
        try:
            answer = self.client().get_object(Bucket=self.location.bucket, Key=self.key)
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None, None
            raise self._failure("read", exc) from exc
        try:
            record = json.loads(answer["Body"].read())
        except ValueError:
            record = {}
        return (record if isinstance(record, dict) else {}), str(answer["ETag"])

    def _failure(self, action: str, exc: Exception) -> MarketStoreError:
        code = _error_code(exc)
        hint = ("the bucket does not exist: create it, or fix data.market_store_uri" if code == "NoSuchBucket" else
                "check the credentials (aws_auth=true uses the role; else access= and secret=) and the endpoint")
        return MarketStoreError(f"market store {self.uri}: cannot {action} the writer lease {self.where}: "
                                f"{type(exc).__name__}: {exc}; {hint}")



def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return ""


def _expiry(record: dict[str, Any]) -> datetime | None:
    """When the lease expires; None if the record does not say (a damaged lease: treated as stale)."""
    try:
        expires = datetime.fromisoformat(str(record["expires"]))
    except (KeyError, ValueError):
        return None
    return expires if expires.tzinfo is not None else expires.replace(tzinfo=UTC)


def _describe(record: dict[str, Any]) -> str:
    return f"owner {record.get('owner', '?')}, host {record.get('host', '?')}, pid {record.get('pid', '?')}"
