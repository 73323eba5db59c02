"""ArcticDB exceptions are translated at one boundary; bad input is refused naming the ticker;
a damaged store is one error naming its directory and the recovery step."""

from __future__ import annotations

import inspect
from pathlib import Path

import arcticdb.exceptions as adb_exc
import numpy as np
import pandas as pd
import pytest

from alpha_engine.store import MarketStoreCorruptError, MarketStoreError
from alpha_engine.store._market_store import (
    ARCTIC_ERROR_MAP,
    CORRUPTION_MARKERS,
    MarketStore,
    map_arctic_exceptions,
)
from damaged_store import make_damaged_market_store


def arcticdb_exception_classes() -> list[type[BaseException]]:
    classes = {obj for name, obj in vars(adb_exc).items()
               if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, BaseException)}
    return sorted(classes, key=lambda c: c.__name__)


def test_every_arcticdb_exception_class_has_a_mapping() -> None:
    missing = [c.__name__ for c in arcticdb_exception_classes() if c not in ARCTIC_ERROR_MAP]
    assert missing == []


@pytest.mark.parametrize("cls", list(ARCTIC_ERROR_MAP), ids=lambda c: c.__name__)
def test_each_mapped_exception_becomes_a_market_store_error(cls: type[BaseException]) -> None:
    extra = [[]] if cls is adb_exc.MissingKeysInStageResultsError else []  # it also wants the tokens
    raised = cls("storage said no", *extra)
    with pytest.raises(MarketStoreError) as caught:
        with map_arctic_exceptions("lmdb:///x", "universe", "AAPL"):
            raise raised
    message = str(caught.value)
    assert "universe/AAPL" in message and "lmdb:///x" in message
    assert ARCTIC_ERROR_MAP[cls] in message and "storage said no" in message
    assert caught.value.__cause__ is raised


def test_the_most_specific_mapping_wins() -> None:
    with pytest.raises(MarketStoreError, match="LMDB map is full"):
        with map_arctic_exceptions("lmdb:///x", "macro", "SPY"):
            raise adb_exc.LmdbMapFullError("MDB_MAP_FULL")


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError):
        with map_arctic_exceptions("lmdb:///x", "universe"):
            raise KeyError("not ArcticDB's")


def test_an_invalid_uri_is_a_market_store_error() -> None:
    with pytest.raises(MarketStoreError, match="invalid ArcticDB URI"):
        MarketStore("nosuchscheme://somewhere").libraries_present()
    with pytest.raises(ValueError, match="ArcticDB URI"):
        MarketStore("/just/a/path")


@pytest.fixture()
def store(tmp_path: Path) -> MarketStore:
    market = MarketStore(f"lmdb://{tmp_path / 'arcticdb'}", feature_columns=("f_a",))
    with market.writer():
        market.ensure_libraries()
    return market


@pytest.mark.parametrize(("bad", "complaint"), [
    (pd.DataFrame({"Close": [1.0]}, index=["not a date"]), "index is not dates"),
    (pd.DataFrame({"Close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2022-01-03", None])), "NaT"),
    (pd.DataFrame({"Close": ["abc"]}, index=pd.DatetimeIndex(["2022-01-03"])), "column 'Close' is not numeric"),
    (pd.DataFrame([[1.0, 2.0]], columns=["Close", "Close"], index=pd.DatetimeIndex(["2022-01-03"])),
     "duplicate column names"),
    ("not a frame", "expected a DataFrame"),
])
def test_bad_frames_are_refused_naming_the_ticker(store: MarketStore, bad: object, complaint: str) -> None:
    with store.writer(), pytest.raises(MarketStoreError, match=complaint) as caught:
        store.upsert("BRK.B", bad)  # type: ignore[arg-type]
    assert "universe/BRK.B" in str(caught.value)
    assert store.tickers() == []


def test_bad_symbol_names_are_refused(store: MarketStore) -> None:
    frame = pd.DataFrame({"Close": [1.0]}, index=pd.DatetimeIndex(["2022-01-03"]))
    with store.writer():
        with pytest.raises(MarketStoreError, match=r"invalid symbol names \[''\]"):
            store.upsert("", frame)
        with pytest.raises(MarketStoreError, match="invalid symbol names"):
            store.upsert("__alpha_engine_preflight__", frame)


def test_a_read_before_ensure_libraries_names_the_library(tmp_path: Path) -> None:
    store = MarketStore(f"lmdb://{tmp_path / 'arcticdb'}")
    with store.writer():
        store._connect(create=True)  # the store exists, its libraries do not
    with pytest.raises(MarketStoreError, match="library 'macro' does not exist"):
        store.read_macro()


def test_an_arcticdb_failure_inside_a_write_names_symbol_and_library(store: MarketStore,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"Close": np.ones(3)}, index=pd.bdate_range("2022-01-03", periods=3, name="date"))

    def refuse(*args: object, **kwargs: object) -> object:
        raise adb_exc.PermissionException("E_PERMISSION write refused")

    library = store._library(MarketStore.UNIVERSE)
    monkeypatch.setattr(library, "write_batch", refuse)
    with store.writer(), pytest.raises(MarketStoreError, match=r"universe/MSFT: storage refused permission"):
        store.upsert("MSFT", frame)


def test_the_store_error_tree() -> None:
    import alpha_engine.store as store

    assert issubclass(store.ArtifactNotFoundError, store.StoreError) and issubclass(store.ArtifactNotFoundError, KeyError)
    assert issubclass(store.InvalidKeyError, store.StoreError) and issubclass(store.InvalidKeyError, ValueError)
    for error in (store.ReadOnlyStoreError, store.ContractError, store.MarketStoreError, store.CalendarError):
        assert issubclass(error, store.StoreError)
    assert issubclass(store.MarketStoreLockedError, store.MarketStoreError)
    assert issubclass(store.MarketStoreCorruptError, store.MarketStoreError)
    assert issubclass(store.SymbolNotFoundError, store.MarketStoreError)
    # A write refused by a read-only market store is both a market store error and a read-only one.
    assert issubclass(store.ReadOnlyMarketStoreError, store.MarketStoreError)
    assert issubclass(store.ReadOnlyMarketStoreError, store.ReadOnlyStoreError)


# -- a damaged store ------------------------------------------------------------------------------

@pytest.mark.parametrize("marker", CORRUPTION_MARKERS)
@pytest.mark.parametrize("cls", [adb_exc.StorageException, adb_exc.InternalException])
def test_lmdb_damage_becomes_a_corrupt_store_error_with_the_recovery(cls: type[BaseException], marker: str) -> None:
    raised = cls(f"E_UNEXPECTED_LMDB_ERROR Unexpected LMDB Error: mdb_dbi_open: {marker}: bad page")
    with pytest.raises(MarketStoreCorruptError) as caught:
        with map_arctic_exceptions("lmdb:///data/arcticdb", "universe", "AAPL", rebuild="alpha-engine data ingest"):
            raise raised
    assert str(caught.value) == (
        f"market store lmdb:///data/arcticdb is corrupt ({marker} in /data/arcticdb/universe): move the directory "
        f"aside (mv /data/arcticdb /data/arcticdb.corrupt), then rebuild it: alpha-engine data ingest")
    assert caught.value.reason == marker and caught.value.directory == "/data/arcticdb"
    assert caught.value.__cause__ is raised and isinstance(caught.value, MarketStoreError)


def test_a_remote_corrupt_store_names_the_library_and_a_rebuild_without_a_command() -> None:
    with pytest.raises(MarketStoreCorruptError, match=r"^market store s3s://bucket/x is corrupt \(MDB_CORRUPTED in "
                                                      r"library 'macro'\): restore or delete it, then re-ingest"):
        with map_arctic_exceptions("s3s://bucket/x", "macro"):
            raise adb_exc.StorageException("MDB_CORRUPTED")


@pytest.mark.parametrize("damage", ["universe:garbage", "universe:truncated", "_arctic_cfg:garbage"])
def test_reading_a_damaged_store_is_one_corrupt_store_error(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "arcticdb"
    make_damaged_market_store(directory, damage)
    store = MarketStore(f"lmdb://{directory}", read_only=True, rebuild="alpha-engine data ingest --workspace /ws")
    with pytest.raises(MarketStoreCorruptError) as caught:
        store.libraries_present()
        store.read_many()
    message = str(caught.value)
    assert message.startswith(f"market store lmdb://{directory} is corrupt (MDB_INVALID in {directory}/")
    assert f"mv {directory} {directory}.corrupt" in message
    assert message.endswith("then rebuild it: alpha-engine data ingest --workspace /ws") and "\n" not in message
