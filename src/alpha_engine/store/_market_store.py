"""The market store: daily bars + per-row features in ArcticDB.

Two libraries, one symbol per series:

* ``universe``: one symbol per equity ticker. Columns, in this order: :data:`PRICE_COLUMNS` (float64),
  ``source`` (str), then the store's ``feature_columns`` (float32). A stored symbol whose columns differ
  (an older feature set) is realigned, by a full rewrite, on its next upsert; reads always return the
  current layout (features the symbol lacks come back NaN).
* ``macro``: one symbol per macro series, laid out as ticker frames (bars + ``source``); a composite
  series can keep extra float64 columns after them (``upsert_macro(..., extra_columns=...)``).

Every write is an idempotent **upsert** (:meth:`MarketStore.upsert`): rows equal to what is stored
write nothing, rows after the last stored date are appended, anything else rewrites the symbol.
Writes need the single-writer lock (:meth:`MarketStore.writer`); a store opened ``read_only``
refuses every write before touching anything.

Writes are **staged and published** (:mod:`._publication`): readers see only the last published
generation (an ArcticDB snapshot per library), and a writer session publishes its writes when it
ends without an error. A session that fails, or a process killed mid-write, leaves the previous
generation readable and consistent; the next session discards what it left before writing. Inside
its own session, after its first write, the writer reads what it has staged.

ArcticDB exceptions are translated at one boundary (:data:`ARCTIC_ERROR_MAP`, :func:`map_arctic_exceptions`)
into :class:`MarketStoreError` naming the library and symbol. Damaged files (LMDB's MDB_CORRUPTED,
MDB_INVALID, ...: :data:`CORRUPTION_MARKERS`) become :class:`MarketStoreCorruptError`, one line naming
the directory and the recovery step; a read of a symbol the store does not hold becomes
:class:`SymbolNotFoundError`, naming how many it does hold and a few of them.
"""

from __future__ import annotations

import atexit
import gc
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import arcticdb
import arcticdb.exceptions as adb_exc
import numpy as np
import pandas as pd
import pyarrow as pa
from arcticdb.options import OutputFormat
from arcticdb.version_store.library import Library, ReadInfoRequest, ReadRequest, WritePayload
from arcticdb_ext.exceptions import ErrorCode

from . import _publication as publication
from ._bars import PRICE_COLUMNS, SOURCE_COLUMN
from ._errors import MarketStoreCorruptError, MarketStoreError, ReadOnlyMarketStoreError, SymbolNotFoundError
from ._fence import WriteFence
from ._market_location import ARCTIC_CONFIG_DIR, lmdb_directory
from ._writer_lock import WriterLock

__all__ = ["MarketStore", "UpsertResult"]

_UNKNOWN_SOURCE = "unknown"
_PREFLIGHT_SYMBOL = "__alpha_engine_preflight__"
_RESERVED_SYMBOLS = frozenset({_PREFLIGHT_SYMBOL, publication.PUBLISH_MARKER})  # never data: hidden from readers
_BATCH_SIZE = 150  # symbols per batch call: bounds the frames held in memory at once (as upstream)
_NANOS_PER_DAY = 86_400 * 10**9
_APPENDS_KEY = "appends_since_compaction"  # version metadata: row slices added since the last rewrite
_COMPACT_AFTER_APPENDS = 20
_FLOAT_TYPE_NAMES = {np.dtype("float64"): "FLOAT64", np.dtype("float32"): "FLOAT32"}

# Every exception class ArcticDB exports, with what it means for the market store. The most specific
# class in an exception's MRO wins; tests check that every class in ``arcticdb.exceptions`` is here.
ARCTIC_ERROR_MAP: dict[type[BaseException], str] = {
    adb_exc.NoSuchVersionException: "symbol not found",
    adb_exc.NoDataFoundException: "no data found",
    adb_exc.LibraryNotFound: "library not found",
    adb_exc.StreamDescriptorMismatch: "columns or dtypes differ from the stored symbol",
    adb_exc.SchemaException: "schema mismatch",
    adb_exc.NormalizationException: "frame cannot be stored (unsupported dtype or index)",
    adb_exc.UnsortedDataException: "index is not sorted",
    adb_exc.SortingException: "sorting error",
    adb_exc.MissingDataException: "stored data is missing",
    adb_exc.LmdbMapFullError: "LMDB map is full (raise map_size in the URI)",
    adb_exc.PermissionException: "storage refused permission",
    adb_exc.KeyNotFoundException: "storage key not found",
    adb_exc.DuplicateKeyException: "storage key already exists",
    adb_exc.StorageException: "storage error",
    adb_exc.CompatibilityException: "stored data written by an incompatible ArcticDB",
    adb_exc.CodecException: "stored data cannot be decoded",
    adb_exc.InternalException: "ArcticDB internal error",
    adb_exc.DataTooNestedException: "data too nested",
    adb_exc.UnsupportedKeyInDictionary: "unsupported dictionary key",
    adb_exc.UserInputException: "invalid input",
    adb_exc.ArcticDuplicateSymbolsInBatchException: "duplicate symbols in one batch",
    adb_exc.ArcticUnsupportedDataTypeException: "unsupported data type",
    adb_exc.ArcticInvalidApiUsageException: "invalid ArcticDB API usage",
    adb_exc.MissingKeysInStageResultsError: "staged data missing",
    adb_exc.ArcticDbNotYetImplemented: "operation not supported by this ArcticDB",
    adb_exc.MismatchingLibraryOptions: "library exists with other options",
    adb_exc.UnknownLibraryOption: "unknown library option",
    adb_exc.UnsupportedLibraryOptionValue: "unsupported library option value",
    adb_exc.LmdbOptionsError: "invalid LMDB options",
    adb_exc.ArcticException: "ArcticDB error",
}


# What LMDB says when a store's files are damaged (truncated, overwritten, torn by a crash mid-copy):
# any ArcticDB exception whose text carries one of these is a corrupt store, whatever its class.
CORRUPTION_MARKERS = ("MDB_CORRUPTED", "MDB_INVALID", "MDB_PAGE_NOTFOUND", "MDB_VERSION_MISMATCH", "MDB_PANIC",
                      "MDB_BAD_TXN")


def _describe_arctic_error(exc: BaseException) -> str:
    for cls in type(exc).__mro__:
        if cls in ARCTIC_ERROR_MAP:
            return ARCTIC_ERROR_MAP[cls]
    return "ArcticDB error"


def _place(uri: str, library: str, symbol: str | None) -> str:
    where = f"{library}/{symbol}" if symbol else f"library '{library}'"
    return f"market store {uri}: {where}"


def _corruption_marker(text: str) -> str | None:
    return next((marker for marker in CORRUPTION_MARKERS if marker in text), None)


def _corrupt_store(uri: str, library: str, marker: str, rebuild: str | None) -> MarketStoreCorruptError:
    """The one-line error for a damaged store: what, where, and how to recover."""
    directory = lmdb_directory(uri)
    then = f"then rebuild it: {rebuild}" if rebuild else "then re-ingest its data"
    if directory is not None:
        where = directory / library if library and "," not in library else directory
        step = f"move the directory aside (mv {directory} {directory}.corrupt), {then}"
        message = f"market store {uri} is corrupt ({marker} in {where}): {step}"
    else:
        message = f"market store {uri} is corrupt ({marker} in library '{library}'): restore or delete it, {then}"
    return MarketStoreCorruptError(message, uri=uri, directory=str(directory) if directory else None, reason=marker)


@contextmanager
def map_arctic_exceptions(uri: str, library: str, symbol: str | None = None, *,
                          rebuild: str | None = None) -> Iterator[None]:
    """Translate ArcticDB exceptions raised inside into :class:`MarketStoreError` (cause chained);
    damaged files into :class:`MarketStoreCorruptError`, whose recovery step names ``rebuild``
    (the command that rebuilds the store) when given."""
    try:
        yield
    except adb_exc.ArcticException as exc:
        marker = _corruption_marker(str(exc))
        if marker is not None:
            raise _corrupt_store(uri, library, marker, rebuild) from exc
        raise MarketStoreError(
            f"{_place(uri, library, symbol)}: {_describe_arctic_error(exc)} ({type(exc).__name__}: {exc})"
        ) from exc


@dataclass(frozen=True)
class UpsertResult:
    """What one upsert did to one symbol.

    ``mode`` is 'created', 'appended' (rows after the last stored date), 'spliced' (the symbol was
    rewritten: new or changed dates inside the series, or a column-layout realignment) or 'unchanged'
    (nothing written). ``rows_written`` counts rows sent to storage (a splice rewrites every row);
    ``last_date`` is the symbol's last stored date afterwards (None if it has no rows). An empty
    frame is 'unchanged' and creates nothing.
    """

    ticker: str
    mode: str
    rows_written: int
    last_date: date | None


@dataclass(frozen=True)
class _Layout:
    """The stored columns of one library: bars, source, then float columns of ``extra_dtype``."""

    extra_columns: tuple[str, ...]
    extra_dtype: np.dtype[Any]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*PRICE_COLUMNS, SOURCE_COLUMN, *self.extra_columns)

    def type_names(self) -> tuple[tuple[str, str], ...]:
        """(column, ArcticDB type name) pairs a canonical frame is stored with."""
        extra = _FLOAT_TYPE_NAMES[self.extra_dtype]
        return (*((c, "FLOAT64") for c in PRICE_COLUMNS), (SOURCE_COLUMN, "UTF_DYNAMIC64"),
                *((c, extra) for c in self.extra_columns))


def _checked_columns(columns: Sequence[str], what: str) -> tuple[str, ...]:
    out = tuple(columns)
    if isinstance(columns, str) or not all(isinstance(c, str) and c for c in out):
        raise ValueError(f"MarketStore: {what} must be a sequence of non-empty names, got {columns!r}")
    reserved = set(PRICE_COLUMNS) | {SOURCE_COLUMN}
    clashes = sorted({c for c in out if c in reserved} | {c for c in out if out.count(c) > 1})
    if clashes:
        raise ValueError(f"MarketStore: {what} repeat or shadow bar columns: {clashes}")
    return out


def _timestamp(value: date | None, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise TypeError(f"MarketStore: {what} must be a date, got {type(value).__name__}")
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tz is not None else stamp


def _as_date(value: Any) -> date | None:
    stamp = pd.Timestamp(value) if value is not None else None
    return None if stamp is None or pd.isna(stamp) else stamp.date()


def _canonical_frame(frame: pd.DataFrame, layout: _Layout, where: str) -> pd.DataFrame:
    """The frame as stored: tz-naive midnight 'date' index, sorted, duplicates keep the last row,
    exactly ``layout.columns`` (missing -> NaN, extra dropped) with the stored dtypes."""
    if not isinstance(frame, pd.DataFrame):
        raise MarketStoreError(f"{where}: expected a DataFrame, got {type(frame).__name__}")
    if _is_canonical(frame, layout):
        return frame  # the common case (frames built by the feature stage): nothing to copy
    if not frame.columns.is_unique:
        raise MarketStoreError(f"{where}: duplicate column names {sorted(set(frame.columns[frame.columns.duplicated()]))}")
    try:
        index = pd.DatetimeIndex(frame.index)
    except (TypeError, ValueError) as exc:
        raise MarketStoreError(f"{where}: index is not dates ({exc})") from exc
    if index.hasnans:
        raise MarketStoreError(f"{where}: index has missing dates (NaT)")
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    index = index.as_unit("ns").normalize()
    # keep the last of each date, then order by date (a stable sort: equal dates are gone already)
    positions = np.flatnonzero(~index.duplicated(keep="last"))
    positions = positions[np.argsort(index.asi8[positions], kind="stable")]
    n = len(positions)
    data: dict[str, Any] = {}
    for column in (*PRICE_COLUMNS, *layout.extra_columns):
        dtype = layout.extra_dtype if column in layout.extra_columns else np.dtype("float64")
        if column not in frame.columns:
            data[column] = np.full(n, np.nan, dtype=dtype)
            continue
        try:
            values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise MarketStoreError(f"{where}: column {column!r} is not numeric ({exc})") from exc
        data[column] = values[positions].astype(dtype, copy=False)
    if SOURCE_COLUMN in frame.columns:
        source = frame[SOURCE_COLUMN].astype("object")  # categoricals are refused by ArcticDB
        source = source.where(source.notna(), _UNKNOWN_SOURCE).astype(str).to_numpy(dtype=object)
        data[SOURCE_COLUMN] = source[positions]
    else:
        data[SOURCE_COLUMN] = np.full(n, _UNKNOWN_SOURCE, dtype=object)
    out = pd.DataFrame(data, index=pd.DatetimeIndex(index[positions], name="date"), columns=list(layout.columns))
    return out


def _is_canonical(frame: pd.DataFrame, layout: _Layout) -> bool:
    """Already in the stored shape: exact columns and dtypes, a unique sorted midnight 'date' index,
    string sources without gaps."""
    if tuple(frame.columns) != layout.columns or frame.index.name != "date":
        return False
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or index.dtype != "datetime64[ns]":
        return False
    if not (index.is_monotonic_increasing and index.is_unique) or (index.asi8 % _NANOS_PER_DAY).any():
        return False
    dtypes = frame.dtypes.to_numpy()
    n_price = len(PRICE_COLUMNS)
    if any(d != np.float64 for d in dtypes[:n_price]) or any(d != layout.extra_dtype for d in dtypes[n_price + 1:]):
        return False
    source = frame[SOURCE_COLUMN]
    return source.dtype == object and pd.api.types.infer_dtype(source, skipna=False) in ("string", "empty")


def _bits_equal(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    """Float arrays equal bit for bit, any NaN equal to any NaN."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    same = a.view(unsigned) == b.view(unsigned)
    if same.all():
        return True
    return bool((same | (np.isnan(a) & np.isnan(b))).all())


_Blocks = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _frame_blocks(frame: pd.DataFrame, layout: _Layout) -> _Blocks:
    """(prices 2-D, extra columns 2-D, source) of a frame in the layout's column order."""
    n_price = len(PRICE_COLUMNS)
    return (frame.iloc[:, :n_price].to_numpy(), frame.iloc[:, n_price + 1:].to_numpy(),
            frame[SOURCE_COLUMN].to_numpy())


def _table_blocks(table: pa.Table, layout: _Layout, rows: np.ndarray[Any, Any] | None) -> _Blocks:
    """The same blocks from ArcticDB's Arrow output (``rows`` picks rows, None = all).

    Arrow columns convert to numpy without pandas' per-block overhead: frames ArcticDB returns in
    pandas format hold one block per column, which makes 2-D extraction several times slower."""
    def stacked(columns: Sequence[str], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
        if not columns:
            return np.empty((table.num_rows, 0), dtype=dtype)
        return np.column_stack([table.column(c).to_numpy() for c in columns])

    blocks = (stacked(PRICE_COLUMNS, np.dtype("float64")), stacked(layout.extra_columns, layout.extra_dtype),
              table.column(SOURCE_COLUMN).to_numpy())
    if rows is None:
        return blocks
    return (blocks[0][rows], blocks[1][rows], blocks[2][rows])


def _covered(new: pd.DataFrame, stored: pa.Table, layout: _Layout) -> bool:
    """Every row of ``new`` is stored with bit-equal values, NaN equal to NaN (the stored range may
    hold more dates). ``stored`` is ArcticDB's Arrow output: the index as column 'date', then the layout."""
    stored_dates = stored.column("date").to_numpy()
    new_dates = new.index.to_numpy()
    rows = None
    if len(stored_dates) != len(new_dates) or not np.array_equal(stored_dates, new_dates):
        if len(stored_dates) == 0:
            return False
        rows = np.minimum(np.searchsorted(stored_dates, new_dates), len(stored_dates) - 1)
        if not np.array_equal(stored_dates[rows], new_dates):
            return False  # a date the store does not have
    mine, theirs = _frame_blocks(new, layout), _table_blocks(stored, layout, rows)
    return (_bits_equal(mine[0], theirs[0]) and _bits_equal(mine[1], theirs[1])
            and bool(np.array_equal(mine[2], theirs[2])))


def _combine(stored: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Stored rows plus new rows, the new row winning on a shared date."""
    combined = pd.concat([stored[~stored.index.isin(new.index)], new])
    return combined.sort_index(kind="stable")



def _arctic_uri(uri: str, directory: Path | None) -> str:
    """The URI to open: an LMDB path made absolute now (not at first use, under another cwd), so one
    directory always maps to one Arctic instance."""
    if directory is None:
        return uri
    query = uri.partition("?")[2]
    return f"lmdb://{directory}" + (f"?{query}" if query else "")


# LMDB refuses two environments over one path in a process, so every MarketStore on a URI shares one
# Arctic instance (a second MarketStore on the path is still refused the writer lock by flock).
_ARCTIC_BY_URI: dict[str, arcticdb.Arctic] = {}
_ARCTIC_GUARD = threading.Lock()


def _shared_arctic(uri: str) -> arcticdb.Arctic:
    with _ARCTIC_GUARD:
        arctic = _ARCTIC_BY_URI.get(uri)
        if arctic is None:
            try:
                arctic = arcticdb.Arctic(uri)
            except ValueError as exc:  # ArcticDB's answer to a malformed URI
                raise MarketStoreError(f"market store {uri}: invalid ArcticDB URI ({exc})") from exc
            _ARCTIC_BY_URI[uri] = arctic
        return arctic


# ArcticDB can crash the interpreter at exit: a SIGSEGV in a garbage collection run on one of its
# worker threads while Python finalizes with Arctic instances still alive (measured here: 13 of 60
# read-only processes that had used read_batch, two running at once; compare man-group/ArcticDB#1922).
# A stage that did all its work would then die by signal. Releasing every instance in an atexit hook,
# while the interpreter is still whole, removed the crash (0 of 120 in the same measurement).
_LIVE_STORES: weakref.WeakSet[MarketStore] = weakref.WeakSet()


@atexit.register
def _release_arctic_at_exit() -> None:
    for store in list(_LIVE_STORES):
        store._arctic = None
        store._libraries.clear()
    with _ARCTIC_GUARD:
        _ARCTIC_BY_URI.clear()
    gc.collect()


class MarketStore:
    """Daily bars and per-row features in ArcticDB (libraries ``universe`` and ``macro``).

    ``uri`` is ``lmdb:///abs/path`` (local), an ArcticDB S3 URI (``s3s://HOST:BUCKET?path_prefix=...``,
    see :mod:`._market_location`) or any other ArcticDB URI; nothing connects until first use. ``feature_columns`` are the feature names in canonical order: the universe column order
    is :data:`PRICE_COLUMNS` + ``('source',)`` + ``feature_columns``. A ``read_only`` store refuses every
    write (:class:`ReadOnlyMarketStoreError`) and never creates anything, not even its directory.
    ``rebuild`` is the command that rebuilds the store from its sources: the recovery step a
    :class:`MarketStoreCorruptError` names.
    ``fence`` (a :class:`WriteFence`) is asked right before every ArcticDB write call; a refusal
    (:class:`FencedWriteError`) writes nothing more.
    """

    UNIVERSE = "universe"
    MACRO = "macro"

    def __init__(self, uri: str, *, feature_columns: Sequence[str] = (), read_only: bool = False,
                 rebuild: str | None = None, fence: WriteFence | None = None) -> None:
        if not isinstance(uri, str) or "://" not in uri:
            raise ValueError(f"MarketStore: uri must be an ArcticDB URI like 'lmdb:///abs/path', got {uri!r}")
        self.uri = uri
        self.feature_columns = _checked_columns(feature_columns, "feature_columns")
        self.read_only = read_only
        self.rebuild = rebuild
        self.fence = fence
        self._directory = lmdb_directory(uri)
        self._lock = WriterLock(uri, self._directory)
        self._universe_layout = _Layout(self.feature_columns, np.dtype("float32"))
        self._arctic: arcticdb.Arctic | None = None
        self._libraries: dict[str, Library] = {}
        _LIVE_STORES.add(self)
        self._staging = False  # this writer session has begun writing (leftovers discarded)
        self._staged = False  # ... and changed something, so it publishes when it ends

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"MarketStore({self.uri!r}, {len(self.feature_columns)} features{mode})"

    @property
    def local_path(self) -> Path | None:
        """The LMDB directory of a local store (parsed as ArcticDB parses the URI); None if remote."""
        return self._directory

    # -- connection ----------------------------------------------------------------------------------

    def _exists_on_disk(self) -> bool:
        # Arctic() over a missing LMDB directory creates it and its config library: look first.
        return self._directory is None or (self._directory / ARCTIC_CONFIG_DIR).is_dir()

    def _connect(self, *, create: bool) -> arcticdb.Arctic | None:
        if self._arctic is None:
            if not create and not self._exists_on_disk():
                return None
            with self._mapped(ARCTIC_CONFIG_DIR):
                self._arctic = _shared_arctic(_arctic_uri(self.uri, self._directory))
        return self._arctic

    def _mapped(self, library: str, symbol: str | None = None) -> AbstractContextManager[None]:
        return map_arctic_exceptions(self.uri, library, symbol, rebuild=self.rebuild)

    def _batch_failure(self, library: str, action: str, failed: list[tuple[str, Any]]) -> MarketStoreError:
        """The error for the failed items of a batch call: damage first, then symbols not stored
        (a read's or describe's), then whatever else ArcticDB said."""
        for _, item in failed:
            marker = _corruption_marker(str(item.exception_string))
            if marker is not None:
                return _corrupt_store(self.uri, library, marker, self.rebuild)
        missing = [symbol for symbol, item in failed if item.error_code == ErrorCode.E_NO_SUCH_VERSION]
        if action == "read" and len(missing) == len(failed):
            return self._not_stored(library, missing)
        return _batch_failure(self.uri, library, action, failed)

    def _not_stored(self, library: str, missing: list[str]) -> SymbolNotFoundError:
        stored = self._symbols(library, self._read_as_of(library))
        what = "ticker" if library == self.UNIVERSE else "macro series"
        plural = "s" if library == self.UNIVERSE else ""
        names = ", ".join(missing[:10]) + ("..." if len(missing) > 10 else "")
        examples = f", e.g. {', '.join(stored[:3])}" if stored else ""
        verb = "is" if len(missing) == 1 else "are"
        return SymbolNotFoundError(
            f"{what}{plural if len(missing) > 1 else ''} {names} {verb} not in the market store at {self.uri} "
            f"({len(stored)} {what}{plural if len(stored) != 1 else ''} stored{examples})",
            uri=self.uri, symbols=tuple(missing))

    def _library(self, name: str) -> Library:
        library = self._libraries.get(name)
        if library is not None:
            return library
        arctic = self._connect(create=False)
        if arctic is None:
            raise MarketStoreError(f"market store {self.uri}: no store at {self._directory} "
                                   f"(library '{name}' missing; run ensure_libraries)")
        with self._mapped(name):
            if not arctic.has_library(name):
                raise MarketStoreError(f"market store {self.uri}: library '{name}' does not exist "
                                       f"(run ensure_libraries)")
            library = arctic.get_library(name)
        self._libraries[name] = library
        return library

    def libraries_present(self) -> bool:
        """Whether both libraries exist (never creates anything)."""
        arctic = self._connect(create=False)
        if arctic is None:
            return False
        with self._mapped(f"{self.UNIVERSE},{self.MACRO}"):
            return bool(arctic.has_library(self.UNIVERSE) and arctic.has_library(self.MACRO))

    # -- writer lock ----------------------------------------------------------------------------------

    def _refuse_if_read_only(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyMarketStoreError(f"market store {self.uri} is read-only: {action} refused")

    def _require_writer(self, action: str) -> None:
        self._refuse_if_read_only(action)
        if not self._lock.held:
            raise MarketStoreError(f"market store {self.uri}: {action}: not holding the writer lock "
                                   f"(wrap writes in `with store.writer():`)")
        self._lock.check()  # an S3 lease taken over after it expired: this writer may not write on

    def writer(self) -> AbstractContextManager[None]:
        """A writer session: the single-writer lock, held for the ``with`` block; re-entrant for this
        store object. When the outermost block ends without an error, what it wrote is published
        (nothing is published when nothing changed, so a no-op session leaves the store byte-identical);
        when it raises, nothing is, and readers keep the previous generation.

        Local stores flock ``<path>/.alpha-engine-writer.lock`` (excludes every other process and store
        object); S3 stores take a lease object ``<path_prefix>/.alpha-engine-writer.lock`` by conditional
        writes (excludes writers on every host); other remote stores get a process-local lock only (see
        :mod:`._writer_lock`). A held lock raises :class:`MarketStoreLockedError` at once.
        """
        self._refuse_if_read_only("writer lock")
        return self._writer_session()

    @contextmanager
    def _writer_session(self) -> Iterator[None]:
        outermost = not self._lock.held
        with self._lock:
            if outermost:
                self._staging = self._staged = False
            try:
                yield
                if outermost and self._staged:
                    self._publish()
            finally:
                if outermost:  # on an error the staged writes stay unpublished, discarded next session
                    self._staging = self._staged = False

    def _both_libraries(self, first: str = UNIVERSE) -> list[Library]:
        """Both libraries (``first`` is looked up first, so a missing one is named by the caller's)."""
        other = self.MACRO if first == self.UNIVERSE else self.UNIVERSE
        found = {first: self._library(first), other: self._library(other)}
        return [found[self.UNIVERSE], found[self.MACRO]]

    def _begin_staging(self) -> None:
        """Before a session's first write: discard what a failed session left unpublished, or publish
        a store that has no generation yet (see :mod:`._publication`)."""
        if self._staging:
            return
        libraries = self._both_libraries()
        with self._mapped(f"{self.UNIVERSE},{self.MACRO}"):
            generation = publication.published_generation(libraries)
            if generation is None:
                self._require_writer("publish")
                publication.adopt_live(libraries, skip=[_PREFLIGHT_SYMBOL])
            else:
                self._require_writer("discard unpublished writes")
                self._staged = bool(publication.discard_unpublished(libraries, generation))
        self._staging = True

    def _publish(self) -> None:
        self._require_writer("publish")
        self._lock.check(confirm=True)  # the commit point: only while the S3 lease is still ours
        libraries = self._both_libraries()
        with self._mapped(f"{self.UNIVERSE},{self.MACRO}"):
            current = publication.published_generation(libraries)
            if current is None:  # pragma: no cover - _begin_staging published one before any write
                raise MarketStoreError(f"market store {self.uri}: no published generation to supersede")
            publication.publish(libraries, current, skip=[_PREFLIGHT_SYMBOL])

    def published_generation(self) -> int | None:
        """The generation readers see (None: no store, or one written before publication existed,
        whose live versions readers see)."""
        if not self.libraries_present():
            return None
        libraries = self._both_libraries()
        with self._mapped(f"{self.UNIVERSE},{self.MACRO}"):
            return publication.published_generation(libraries)

    def _read_as_of(self, library_name: str) -> str | None:
        """The snapshot readers read (None: the live versions, for the writer reading what it staged,
        or for a store without a generation)."""
        if self._lock.held and self._staging:
            return None
        libraries = self._both_libraries(library_name)
        with self._mapped(f"{self.UNIVERSE},{self.MACRO}"):
            generation = publication.published_generation(libraries)
        return None if generation is None else publication.snapshot_name(generation)

    def ensure_libraries(self) -> None:
        """Create the ``universe`` and ``macro`` libraries if missing."""
        self._require_writer("ensure_libraries")
        self._check_fence(f"{self.UNIVERSE},{self.MACRO}", ())
        arctic = self._connect(create=True)
        assert arctic is not None
        for name in (self.UNIVERSE, self.MACRO):
            with self._mapped(name):
                if arctic.has_library(name):
                    continue
                library = arctic.get_library(name, create_if_missing=True)
            self._libraries[name] = library
        self._begin_staging()

    def check_writable(self) -> None:
        """Preflight: take the writer lock, write, read back and delete a sentinel symbol in the
        universe library. Raises MarketStoreError (or a subclass) naming what failed."""
        self._refuse_if_read_only("check_writable")
        with self._lock:
            library = self._library(self.UNIVERSE)
            self._check_fence(self.UNIVERSE, [_PREFLIGHT_SYMBOL])
            probe = pd.DataFrame({"Close": [1.0]}, index=pd.DatetimeIndex(["2000-01-03"], name="date"))
            with self._mapped(self.UNIVERSE, _PREFLIGHT_SYMBOL):
                try:
                    library.write(_PREFLIGHT_SYMBOL, probe, prune_previous_versions=True)
                    back = library.read(_PREFLIGHT_SYMBOL).data
                finally:
                    if library.has_symbol(_PREFLIGHT_SYMBOL):
                        library.delete(_PREFLIGHT_SYMBOL)
            if not probe.equals(back):
                raise MarketStoreError(f"{_place(self.uri, self.UNIVERSE, _PREFLIGHT_SYMBOL)}: "
                                       f"sentinel read back differs from what was written")

    # -- reads ----------------------------------------------------------------------------------------

    def _symbols(self, library_name: str, as_of: str | None) -> list[str]:
        library = self._library(library_name)
        with self._mapped(library_name):
            symbols = _list_symbols(library, as_of)
        return sorted(s for s in symbols if s not in _RESERVED_SYMBOLS)

    def tickers(self) -> list[str]:
        """Sorted symbols of the universe library (published)."""
        return self._symbols(self.UNIVERSE, self._read_as_of(self.UNIVERSE))

    def macro_symbols(self) -> list[str]:
        """Sorted symbols of the macro library (published)."""
        return self._symbols(self.MACRO, self._read_as_of(self.MACRO))

    def _read_columns(self, layout: _Layout, columns: Sequence[str] | None, where: str) -> list[str]:
        if columns is None:
            return list(layout.columns)
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in wanted if c not in layout.columns]
        if unknown:
            raise MarketStoreError(f"{where}: unknown columns {unknown} (stored: {list(layout.columns)})")
        return wanted

    def _conform(self, frame: pd.DataFrame, layout: _Layout, columns: list[str]) -> pd.DataFrame:
        """A read frame in the requested columns; columns a drifted symbol lacks come back NaN."""
        if list(frame.columns) == columns:
            return frame
        out = frame.reindex(columns=columns)
        for column in columns:
            if column in layout.extra_columns and column not in frame.columns:
                out[column] = out[column].astype(layout.extra_dtype)
        return out

    def _read_many(self, library_name: str, layout: _Layout, symbols: Sequence[str] | None,
                   start: date | None, end: date | None, columns: Sequence[str] | None
                   ) -> dict[str, pd.DataFrame]:
        library = self._library(library_name)
        as_of = self._read_as_of(library_name)
        names = self._symbols(library_name, as_of) if symbols is None else _checked_symbols(symbols, library_name)
        wanted = self._read_columns(layout, columns, _place(self.uri, library_name, None))
        date_range = (_timestamp(start, "start"), _timestamp(end, "end"))
        ranged = None if date_range == (None, None) else date_range
        out: dict[str, pd.DataFrame] = {}
        for chunk in _chunks(names, _BATCH_SIZE):
            requests = [ReadRequest(s, as_of=as_of, date_range=ranged, columns=wanted) for s in chunk]
            with self._mapped(library_name, ",".join(chunk[:3]) + ("..." if len(chunk) > 3 else "")):
                items = library.read_batch(requests)
            failed = [(s, item) for s, item in zip(chunk, items, strict=True) if _is_batch_error(item)]
            if failed:
                raise self._batch_failure(library_name, "read", failed)
            for symbol, item in zip(chunk, items, strict=True):
                out[symbol] = self._conform(item.data, layout, wanted)
        return out

    def read(self, ticker: str, *, start: date | None = None, end: date | None = None,
             columns: Sequence[str] | None = None) -> pd.DataFrame:
        """One ticker's rows in [start, end] (inclusive; None = open), optionally a column subset.

        The date range and columns are applied by ArcticDB (only the needed segments are read).
        Raises :class:`MarketStoreError` if the ticker is not stored.
        """
        return self._read_many(self.UNIVERSE, self._universe_layout, [ticker], start, end, columns)[ticker]

    def read_many(self, tickers: Sequence[str] | None = None, *, start: date | None = None,
                  end: date | None = None, columns: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several tickers (None = every stored ticker) by batch reads; any missing ticker raises
        :class:`MarketStoreError` naming all of them."""
        return self._read_many(self.UNIVERSE, self._universe_layout, tickers, start, end, columns)

    def read_macro(self, symbols: Sequence[str] | None = None, *, start: date | None = None,
                   end: date | None = None) -> dict[str, pd.DataFrame]:
        """Macro series as stored (bars, source, then any extra columns the series was written with)."""
        library = self._library(self.MACRO)
        as_of = self._read_as_of(self.MACRO)
        names = self._symbols(self.MACRO, as_of) if symbols is None else _checked_symbols(symbols, self.MACRO)
        date_range = (_timestamp(start, "start"), _timestamp(end, "end"))
        ranged = None if date_range == (None, None) else date_range
        out: dict[str, pd.DataFrame] = {}
        for chunk in _chunks(names, _BATCH_SIZE):
            with self._mapped(self.MACRO, ",".join(chunk[:3])):
                items = library.read_batch([ReadRequest(s, as_of=as_of, date_range=ranged) for s in chunk])
            failed = [(s, item) for s, item in zip(chunk, items, strict=True) if _is_batch_error(item)]
            if failed:
                raise self._batch_failure(self.MACRO, "read", failed)
            out.update((s, item.data) for s, item in zip(chunk, items, strict=True))
        return out

    def _last_dates(self, library_name: str) -> dict[str, date]:
        library = self._library(library_name)
        as_of = self._read_as_of(library_name)
        names = self._symbols(library_name, as_of)
        out: dict[str, date] = {}
        for chunk in _chunks(names, _BATCH_SIZE):
            descriptions = self._describe(library, library_name, chunk, as_of)
            for symbol, description in descriptions.items():
                last = None if description is None else _as_date(description.date_range[1])
                if last is not None:
                    out[symbol] = last
        return out

    def last_dates(self) -> dict[str, date]:
        """Universe ticker -> last stored date, from symbol descriptions (no data is read)."""
        return self._last_dates(self.UNIVERSE)

    def macro_last_dates(self) -> dict[str, date]:
        """Macro symbol -> last stored date, from symbol descriptions (no data is read)."""
        return self._last_dates(self.MACRO)

    def _describe(self, library: Library, library_name: str, symbols: Sequence[str],
                  as_of: str | None = None) -> dict[str, Any]:
        """symbol -> ArcticDB SymbolDescription (live, or in snapshot ``as_of``), or None if the symbol
        is not stored."""
        requests = [ReadInfoRequest(s, as_of=as_of) for s in symbols]
        with self._mapped(library_name, ",".join(symbols[:3])):
            items = library.get_description_batch(requests)
        out: dict[str, Any] = {}
        failed = []
        for symbol, item in zip(symbols, items, strict=True):
            if not _is_batch_error(item):
                out[symbol] = item
            elif item.error_code == ErrorCode.E_NO_SUCH_VERSION:
                out[symbol] = None
            else:
                failed.append((symbol, item))
        if failed:
            raise self._batch_failure(library_name, "describe", failed)
        return out

    # -- writes ---------------------------------------------------------------------------------------

    def upsert(self, ticker: str, frame: pd.DataFrame) -> UpsertResult:
        """Write one ticker's rows idempotently (see :class:`UpsertResult` for the modes)."""
        return self.upsert_many({ticker: frame})[0]

    def upsert_many(self, frames: Mapping[str, pd.DataFrame]) -> list[UpsertResult]:
        """Upsert several tickers with batch calls; results in the mapping's order."""
        self._require_writer("upsert")
        return self._upsert(self.UNIVERSE, self._universe_layout, frames)

    def upsert_macro(self, symbol: str, frame: pd.DataFrame, *,
                     extra_columns: Sequence[str] = ()) -> UpsertResult:
        """Upsert one macro series (bars + source); ``extra_columns`` are float64 columns kept after
        them, for composite series. A stored series with other columns is rewritten in the new layout."""
        self._require_writer("upsert_macro")
        layout = _Layout(_checked_columns(extra_columns, "extra_columns"), np.dtype("float64"))
        return self._upsert(self.MACRO, layout, {symbol: frame})[0]

    def _upsert(self, library_name: str, layout: _Layout, frames: Mapping[str, pd.DataFrame]
                ) -> list[UpsertResult]:
        symbols = _checked_symbols(list(frames), library_name)
        library = self._library(library_name)
        self._begin_staging()
        results: dict[str, UpsertResult] = {}
        # canonical copies are made a chunk at a time to bound memory; a bad frame in a later chunk
        # therefore fails after earlier chunks were written (re-running is safe: upserts are idempotent)
        for chunk in _chunks(symbols, _BATCH_SIZE):
            canonical = {s: _canonical_frame(frames[s], layout, _place(self.uri, library_name, s)) for s in chunk}
            results.update(self._upsert_chunk(library, library_name, layout, canonical))
        return [results[s] for s in symbols]

    def _upsert_chunk(self, library: Library, library_name: str, layout: _Layout,
                      frames: dict[str, pd.DataFrame]) -> dict[str, UpsertResult]:
        descriptions = self._describe(library, library_name, list(frames))
        results: dict[str, UpsertResult] = {}
        writes: dict[str, tuple[str, pd.DataFrame]] = {}  # symbol -> (mode, full frame)
        appends: dict[str, pd.DataFrame] = {}
        overlaps: dict[str, pd.Timestamp] = {}  # symbol -> its last stored date
        rewrites: list[str] = []
        expected_types = layout.type_names()
        for symbol, frame in frames.items():
            description = descriptions[symbol]
            stored_last = None if description is None else _as_date(description.date_range[1])
            if frame.empty:
                results[symbol] = UpsertResult(symbol, "unchanged", 0, stored_last)
            elif description is None:
                writes[symbol] = ("created", frame)
            elif stored_last is None or _stored_types(description) != expected_types:
                rewrites.append(symbol)  # empty or an older column layout: realign by a rewrite
            elif frame.index[0] > pd.Timestamp(stored_last):
                appends[symbol] = frame
            else:
                overlaps[symbol] = pd.Timestamp(stored_last)

        if overlaps:
            tables = self._read_for_write(library, library_name, {
                s: (frames[s].index[0], last) for s, last in overlaps.items()}, arrow=True)
            for symbol, last in overlaps.items():
                frame = frames[symbol]
                n_known = int(frame.index.searchsorted(last, side="right"))
                if not _covered(frame.iloc[:n_known], tables[symbol], layout):
                    rewrites.append(symbol)
                elif n_known == len(frame):
                    results[symbol] = UpsertResult(symbol, "unchanged", 0, last.date())
                else:
                    appends[symbol] = frame.iloc[n_known:]

        if rewrites:
            stored = self._read_for_write(library, library_name, {s: None for s in rewrites})
            for symbol in rewrites:
                old = _canonical_frame(stored[symbol], layout, _place(self.uri, library_name, symbol))
                writes[symbol] = ("spliced", _combine(old, frames[symbol]))

        if writes or appends:
            self._staged = True
        if writes:
            payloads = [WritePayload(s, frame, metadata={_APPENDS_KEY: 0}) for s, (_, frame) in writes.items()]
            self._apply(library_name, "write", list(writes),
                        lambda: library.write_batch(payloads, prune_previous_versions=True))
            for symbol, (mode, frame) in writes.items():
                results[symbol] = UpsertResult(symbol, mode, len(frame), frame.index[-1].date())
        if appends:
            self._append(library, library_name, appends)
            for symbol, frame in appends.items():
                results[symbol] = UpsertResult(symbol, "appended", len(frame), frame.index[-1].date())
        return results

    def _append(self, library: Library, library_name: str, appends: Mapping[str, pd.DataFrame]) -> None:
        """Append rows; every ``_COMPACT_AFTER_APPENDS``-th append of a symbol also compacts it.

        Each append adds a row slice, and reads slow down with every slice (a year of daily one-row
        appends makes a full read about 12x slower), so the symbol's appends since its last
        write/compaction are counted in its version metadata."""
        symbols = list(appends)
        with self._mapped(library_name, ",".join(symbols[:3])):
            items = library.read_metadata_batch(symbols)
        counts = {s: _appends_since_compaction(item) for s, item in zip(symbols, items, strict=True)}
        compact = [s for s in symbols if counts[s] + 1 >= _COMPACT_AFTER_APPENDS]
        plain = [s for s in symbols if counts[s] + 1 < _COMPACT_AFTER_APPENDS]
        if plain:
            payloads = [WritePayload(s, appends[s], metadata={_APPENDS_KEY: counts[s] + 1}) for s in plain]
            self._apply(library_name, "append", plain,
                        lambda: library.append_batch(payloads, prune_previous_versions=True))
        if compact:
            compacting = [WritePayload(s, appends[s], metadata={_APPENDS_KEY: 0}) for s in compact]
            self._apply(library_name, "append", compact,
                        lambda: library.append_batch(compacting, prune_previous_versions=True, compact_data=True))

    def _read_for_write(self, library: Library, library_name: str,
                        ranges: Mapping[str, tuple[pd.Timestamp, pd.Timestamp] | None], *, arrow: bool = False
                        ) -> dict[str, Any]:
        """Stored rows for a write decision: pandas frames, or Arrow tables (``arrow``) to compare."""
        symbols = list(ranges)
        output = OutputFormat.PYARROW if arrow else None
        requests = [ReadRequest(s, date_range=ranges[s]) for s in symbols]
        with self._mapped(library_name, ",".join(symbols[:3])):
            items = library.read_batch(requests, output_format=output)
        failed = [(s, item) for s, item in zip(symbols, items, strict=True) if _is_batch_error(item)]
        if failed:
            raise self._batch_failure(library_name, "read", failed)
        return {s: item.data for s, item in zip(symbols, items, strict=True)}

    def _check_fence(self, library_name: str, symbols: Sequence[str]) -> None:
        """Ask the fence about a write of ``symbols`` (none: the library itself) in ``library_name``."""
        self._lock.check(confirm=True)  # an S3 lease is renewed first: a writer that lost it stops here
        if self.fence is not None:
            shown = ",".join(symbols[:3]) + (f",... ({len(symbols)} symbols)" if len(symbols) > 3 else "")
            self.fence.check(self.uri, f"{library_name}/{shown}" if symbols else f"library {library_name}")

    def _apply(self, library_name: str, action: str, symbols: list[str], call: Callable[[], list[Any]]) -> None:
        self._check_fence(library_name, symbols)  # every data write passes here, last thing before ArcticDB
        with self._mapped(library_name, ",".join(symbols[:3])):
            items = call()
        failed = [(s, item) for s, item in zip(symbols, items, strict=True) if _is_batch_error(item)]
        if failed:
            raise self._batch_failure(library_name, action, failed)


def _stored_types(description: Any) -> tuple[tuple[str, str], ...]:
    """(column, ArcticDB type name) pairs of a stored symbol, () unless its index is a 'date' index."""
    index = [str(column.name) for column in description.index]
    if index != ["date"]:
        return ()
    out = []
    for column in description.columns:
        text = str(column.dtype)  # 'TD<type=FLOAT64, dim=0>'
        out.append((str(column.name), text.split("type=", 1)[-1].split(",", 1)[0]))
    return tuple(out)


def _appends_since_compaction(item: Any) -> int:
    # symbols written by other tools carry no count (or other metadata): treat them as compact
    metadata = None if _is_batch_error(item) else getattr(item, "metadata", None)
    count = metadata.get(_APPENDS_KEY) if isinstance(metadata, dict) else None
    return count if isinstance(count, int) and count >= 0 else 0


def _list_symbols(library: Library, snapshot: str | None) -> list[str]:
    # Library.list_symbols() reads ArcticDB's symbol-list cache and, when the cache is missing or has
    # grown, compacts it: a storage write (refused in spirit by a read-only store) behind a storage lock
    # that costs about a second. Listing the version references instead never writes and, for a
    # library of ~1,000 symbols, is as fast. A snapshot's symbols are read from the snapshot itself.
    nvs = getattr(library, "_nvs", None)
    if nvs is None:  # pragma: no cover - a future ArcticDB without the native store handle
        return list(library.list_symbols(snapshot_name=snapshot))
    return list(nvs.list_symbols(snapshot=snapshot, use_symbol_list=False))


def _checked_symbols(symbols: Sequence[str], library: str) -> list[str]:
    names = [symbols] if isinstance(symbols, str) else list(symbols)
    bad = [s for s in names if not isinstance(s, str) or not s.strip() or s in _RESERVED_SYMBOLS]
    if bad:
        raise MarketStoreError(f"library '{library}': invalid symbol names {bad!r}")
    repeated = sorted({s for s in names if names.count(s) > 1}) if len(set(names)) != len(names) else []
    if repeated:
        raise MarketStoreError(f"library '{library}': symbols repeated {repeated}")
    return names


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _is_batch_error(item: Any) -> bool:
    # batch calls return ArcticDB DataError objects in place of results instead of raising
    return hasattr(item, "error_code") and hasattr(item, "exception_string")


def _batch_failure(uri: str, library: str, action: str, failed: list[tuple[str, Any]]) -> MarketStoreError:
    details = "; ".join(
        f"{symbol}: {str(item.error_category).rsplit('.', 1)[-1].lower()} "
        f"({str(item.exception_string).splitlines()[0]})" for symbol, item in failed[:5])
    more = f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
    names = ", ".join(symbol for symbol, _ in failed[:10]) + ("..." if len(failed) > 10 else "")
    return MarketStoreError(f"market store {uri}: library '{library}': {action} failed for {names}: {details}{more}")
