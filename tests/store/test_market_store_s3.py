"""The market store on S3 (the moto server): the writer lease across processes and hosts, read-only
mode, and the errors of a store that cannot be reached. The round-trip and publication contract tests
run on S3 through their fixtures (test_market_store.py, test_market_store_publication.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from market_test_support import expire_lease, s3_market_uri, stored_state

import moto_server
from alpha_engine.store import MarketStoreError, MarketStoreLockedError, ReadOnlyMarketStoreError
from alpha_engine.store._market_location import s3_market_location
from alpha_engine.store._market_store import MarketStore
from alpha_engine.store._s3_lease import LEASE_OBJECT_NAME, S3Lease
from alpha_engine.store._writer_lock import WriterLock

FEATURES = ("f_alpha",)

# Tries to take the writer lease from another process (another host, as far as S3 can tell).
CHILD = textwrap.dedent("""
    import sys
    from alpha_engine.store import MarketStoreLockedError
    from alpha_engine.store._market_store import MarketStore
    try:
        with MarketStore(sys.argv[1]).writer():
            print("acquired")
    except MarketStoreLockedError as exc:
        print("locked:", exc)
""")


def frame(periods: int = 5) -> pd.DataFrame:
    index = pd.bdate_range("2022-01-03", periods=periods, name="date")
    return pd.DataFrame({"Close": np.linspace(10.0, 11.0, periods), "source": "polygon",
                         "f_alpha": np.float32(0.5)}, index=index)


def lease_record(uri: str) -> dict[str, Any] | None:
    location = s3_market_location(uri)
    assert location is not None
    client = moto_server.client("s3")
    listed = client.list_objects_v2(Bucket=location.bucket, Prefix=location.key(LEASE_OBJECT_NAME))
    if not listed.get("KeyCount"):
        return None
    body = client.get_object(Bucket=location.bucket, Key=location.key(LEASE_OBJECT_NAME))["Body"].read()
    record: dict[str, Any] = json.loads(body)
    return record


def try_lock_in_child(uri: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, uri], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


@pytest.fixture()
def uri() -> str:
    """An S3 store with one ticker and one macro series, published; the lease released."""
    store_uri = s3_market_uri()
    store = MarketStore(store_uri, feature_columns=FEATURES)
    with store.writer():
        store.ensure_libraries()
        store.upsert("AAPL", frame())
        store.upsert_macro("SPY", frame()[["Close"]])
    return store_uri


class Clock:
    """A settable UTC clock for leases (tests never wait for real time to pass)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def lease(uri: str, clock: Callable[[], datetime] | None = None) -> S3Lease:
    location = s3_market_location(uri)
    assert location is not None
    return S3Lease(location, uri, **({"clock": clock} if clock else {}))


# -- one writer across processes ---------------------------------------------------------------------

def test_the_lease_is_an_object_naming_its_holder_removed_on_release(uri: str) -> None:
    store = MarketStore(uri, feature_columns=FEATURES)
    with store.writer():
        record = lease_record(uri)
        assert record is not None
        assert record["pid"] == __import__("os").getpid() and record["owner"].startswith(f"{record['host']}:")
        assert datetime.fromisoformat(record["expires"]) > datetime.fromisoformat(record["acquired"])
        assert "secret" not in json.dumps(record) and "testing" not in json.dumps(record)
    assert lease_record(uri) is None


def test_a_second_writer_in_this_process_is_refused_naming_the_holder(uri: str) -> None:
    first, second = MarketStore(uri, feature_columns=FEATURES), MarketStore(uri, feature_columns=FEATURES)
    with first.writer():
        holder = lease_record(uri)
        assert holder is not None
        with pytest.raises(MarketStoreLockedError) as info:
            second.writer().__enter__()
        message = str(info.value)
        assert f"another writer holds the lease s3://{s3_market_location(uri).bucket}/arcticdb/" \
               f"{LEASE_OBJECT_NAME}" in message  # type: ignore[union-attr]
        assert holder["owner"] in message and f"pid {holder['pid']}" in message and holder["expires"] in message
        assert "secret=***" in message and "secret=testing" not in message
    with second.writer():
        second.upsert("AAPL", frame(6))
    assert MarketStore(uri, feature_columns=FEATURES, read_only=True).last_dates()["AAPL"].day == 10


def test_another_process_is_refused_while_the_lease_is_held(uri: str) -> None:
    store = MarketStore(uri, feature_columns=FEATURES)
    with store.writer():
        outcome = try_lock_in_child(uri)
        assert outcome.startswith("locked:") and f"pid {__import__('os').getpid()}" in outcome
    assert try_lock_in_child(uri) == "acquired"


def test_a_stale_lease_is_taken_over(uri: str) -> None:
    dead = lease(uri)
    dead.acquire()  # a writer that then died: never released, never renewed
    dead._stop.set()
    expire_lease(uri)
    store = MarketStore(uri, feature_columns=FEATURES)
    with store.writer():
        store.upsert("AAPL", frame(7))
        assert lease_record(uri)["pid"] == __import__("os").getpid()  # type: ignore[index]
    assert lease_record(uri) is None


def test_a_lease_until_its_expiry_is_live_and_past_it_is_stale() -> None:
    uri = s3_market_uri()
    clock = Clock()
    holder = lease(uri, clock)
    holder.acquire()
    holder._stop.set()
    other = lease(uri, clock)
    clock.now += timedelta(seconds=299)
    with pytest.raises(MarketStoreLockedError, match="another writer holds the lease"):
        other.acquire()
    clock.now += timedelta(seconds=2)
    other.acquire()
    assert other.held and lease_record(uri)["owner"] == other._owner  # type: ignore[index]
    other.release()


def test_a_damaged_lease_object_is_stale() -> None:
    uri = s3_market_uri()
    location = s3_market_location(uri)
    assert location is not None
    moto_server.client("s3").put_object(Bucket=location.bucket, Key=location.key(LEASE_OBJECT_NAME), Body=b"{oops")
    with WriterLock(uri, None):
        assert lease_record(uri) is not None
    assert lease_record(uri) is None


def test_of_two_writers_taking_over_one_stale_lease_only_one_wins() -> None:
    uri = s3_market_uri()
    dead = lease(uri)
    dead.acquire()
    dead._stop.set()
    expire_lease(uri)
    first, second = lease(uri), lease(uri)
    real_read = first._read

    def read_then_lose_the_race() -> tuple[dict[str, Any] | None, str | None]:
        seen = real_read()  # the stale lease and its ETag ...
        second.acquire()  # ... which the other writer replaces before our conditional PUT
        return seen

    first._read = read_then_lose_the_race  # type: ignore[method-assign]
    with pytest.raises(MarketStoreLockedError, match="another writer took over the stale lease .* first"):
        first.acquire()
    assert lease_record(uri)["owner"] == second._owner  # type: ignore[index]
    second.release()


def test_renewing_extends_the_expiry() -> None:
    uri = s3_market_uri()
    clock = Clock()
    held = lease(uri, clock)
    held.acquire()
    held._stop.set()  # renew by hand
    assert lease_record(uri)["expires"] == (clock.now + timedelta(seconds=300)).isoformat()  # type: ignore[index]
    clock.now += timedelta(seconds=200)
    held.renew()
    assert lease_record(uri)["expires"] == (clock.now + timedelta(seconds=300)).isoformat()  # type: ignore[index]
    held.check()
    held.release()


def test_a_writer_whose_lease_was_taken_over_may_not_write_publish_or_release_it(uri: str) -> None:
    before = MarketStore(uri, feature_columns=FEATURES, read_only=True).read("AAPL")["Close"].tolist()
    slow = MarketStore(uri, feature_columns=FEATURES)
    taker = WriterLock(uri, None)
    with pytest.raises(MarketStoreLockedError, match="taken over") as at_publish, slow.writer():
        slow.upsert("AAPL", frame(6))
        assert slow._lock.lease is not None
        slow._lock.lease._stop.set()  # its renewals stalled (a paused host) ...
        expire_lease(uri)
        taker.acquire()  # ... so another writer took the lease over
        with pytest.raises(MarketStoreLockedError, match=r"was taken over by owner .*may no longer write"):
            slow.upsert("AAPL", frame(7))  # every write renews first: refused before ArcticDB is called
        with pytest.raises(MarketStoreLockedError, match="taken over"):
            slow.upsert_macro("SPY", frame(7)[["Close"]])
    assert "may no longer write" in str(at_publish.value)  # and its session's end published nothing
    assert MarketStore(uri, feature_columns=FEATURES, read_only=True).read("AAPL")["Close"].tolist() == before
    assert taker.lease is not None and lease_record(uri)["owner"] == taker.lease._owner  # type: ignore[index]
    taker.release()
    assert lease_record(uri) is None


def test_check_trusts_the_last_renewal_and_confirm_asks_s3() -> None:
    """Why every write confirms: between background renewals, a lease taken over goes unnoticed."""
    uri = s3_market_uri()
    slow, taker = lease(uri), lease(uri)
    slow.acquire()
    slow._stop.set()
    expire_lease(uri)
    taker.acquire()
    slow.check()  # the last renewal said it was ours
    with pytest.raises(MarketStoreLockedError, match="taken over"):
        slow.check(confirm=True)
    slow.release()  # a lost lease is not deleted: it is the taker's now
    assert lease_record(uri)["owner"] == taker._owner  # type: ignore[index]
    taker.release()


# -- read-only ------------------------------------------------------------------------------------------

READ_ONLY_WRITES: dict[str, Callable[[MarketStore], object]] = {
    "writer": lambda s: s.writer(),
    "ensure_libraries": lambda s: s.ensure_libraries(),
    "upsert": lambda s: s.upsert("AAPL", frame()),
    "upsert_macro": lambda s: s.upsert_macro("SPY", frame()),
    "check_writable": lambda s: s.check_writable(),
}


@pytest.mark.parametrize("write", sorted(READ_ONLY_WRITES))
def test_a_read_only_s3_store_refuses_writes_and_touches_nothing(uri: str, write: str) -> None:
    before = stored_state(uri)
    store = MarketStore(uri, feature_columns=FEATURES, read_only=True)
    with pytest.raises(ReadOnlyMarketStoreError, match="read-only"):
        READ_ONLY_WRITES[write](store)
    assert store.tickers() == ["AAPL"] and store.macro_symbols() == ["SPY"]
    assert store.read("AAPL")["Close"].tolist() == frame()["Close"].tolist()
    assert stored_state(uri) == before


def test_a_read_only_store_on_an_empty_bucket_creates_nothing() -> None:
    uri = s3_market_uri()
    store = MarketStore(uri, feature_columns=FEATURES, read_only=True)
    assert store.libraries_present() is False
    with pytest.raises(MarketStoreError, match="library 'universe' does not exist"):
        store.tickers()
    assert stored_state(uri) == {}


# -- errors ----------------------------------------------------------------------------------------

def test_a_missing_bucket_is_named_when_the_lease_is_taken() -> None:
    uri = s3_market_uri().replace("market-", "nonexistent-", 1)
    with pytest.raises(MarketStoreError) as info:
        MarketStore(uri).writer().__enter__()
    assert "cannot take the writer lease s3://nonexistent-" in str(info.value)
    assert "the bucket does not exist: create it, or fix data.market_store_uri" in str(info.value)
    assert "secret=testing" not in str(info.value)


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MarketStore(s3_market_uri())
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MarketStoreError, match=r"needs boto3, which is not installed \(pip install 'alpha-engine\[aws\]'\)"):
        store.writer().__enter__()


def test_a_malformed_s3_uri_is_refused_when_the_store_is_made() -> None:
    with pytest.raises(MarketStoreError, match="no credentials: add aws_auth=true"):
        MarketStore("s3://127.0.0.1:bucket?port=9000&path_prefix=x")


def test_the_renewal_thread_renews_until_released() -> None:
    uri = s3_market_uri()
    clock = Clock()
    held = lease(uri, clock)
    held.acquire()
    held._stop.set()
    held._renewer.join()  # type: ignore[union-attr]
    waits = iter([False, False, True])  # two renewal periods pass, then the release stops it
    held._stop = type("Stop", (), {"wait": lambda self, timeout: next(waits), "set": lambda self: None,
                                   "clear": lambda self: None})()
    clock.now += timedelta(seconds=250)
    held._renew_loop()
    assert lease_record(uri)["expires"] == (clock.now + timedelta(seconds=300)).isoformat()  # type: ignore[index]
    held._renewer = None
    held.release()
    assert lease_record(uri) is None
