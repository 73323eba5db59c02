"""Every error the artifact store raises, in one tree.

::

    StoreError                    any failure of the store layer; foreign I/O errors are mapped here
    ├── ArtifactNotFoundError     no artifact at the key (also a KeyError)
    ├── ReadOnlyStoreError        a write or delete on a read-only store
    │    └── ReadOnlyMarketStoreError   ... on the market store (also a MarketStoreError)
    ├── FencedWriteError          a write refused by the store's write fence (the writer's
    │                             task attempt is no longer current)
    ├── ContractError             not valid JSON, or JSON that failed its schema
    ├── InvalidKeyError           the key is not a valid artifact key (also a ValueError)
    ├── MarketStoreError          ArcticDB market store problem (names the library and symbol)
    │    ├── MarketStoreLockedError     another writer holds the single-writer lock
    │    ├── MarketStoreCorruptError    the store's files are damaged (LMDB says so); names the recovery
    │    └── SymbolNotFoundError        a ticker or macro series that is not stored (names what is)
    ├── MetricsError              a datapoint CloudWatch would refuse, or a metrics back-end failure
    └── CalendarError             a date the trading calendar cannot answer for

Each carries the ``key`` and the store ``uri`` it is about (``None`` when not known), and the
message names both. Extra fields are keyword-only, so the errors pickle like plain exceptions.
"""

from __future__ import annotations

__all__ = [
    "ArtifactNotFoundError",
    "CalendarError",
    "ContractError",
    "FencedWriteError",
    "InvalidKeyError",
    "MarketStoreCorruptError",
    "MarketStoreError",
    "MarketStoreLockedError",
    "MetricsError",
    "ReadOnlyMarketStoreError",
    "ReadOnlyStoreError",
    "StoreError",
    "SymbolNotFoundError",
]


class StoreError(Exception):
    """Base of every error raised by :mod:`alpha_engine.store`."""

    def __init__(self, message: str, *, key: str | None = None, uri: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.uri = uri

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class ArtifactNotFoundError(StoreError, KeyError):
    """No artifact at the key (reads and deletes)."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr-quote the message; callers print this to humans.
        return self.message


class ReadOnlyStoreError(StoreError):
    """A write or delete was refused because the store is read-only; nothing was touched."""


class FencedWriteError(StoreError):
    """A write refused by the store's :class:`~alpha_engine.store.WriteFence`: the process is no longer
    allowed to publish (say, its task attempt was superseded or its execution ended). Nothing was
    published; ``reason`` says why, ``key`` what (a key, or a market library and symbols)."""

    def __init__(self, message: str, *, key: str | None = None, uri: str | None = None, reason: str = "") -> None:
        super().__init__(message, key=key, uri=uri)
        self.reason = reason


class ContractError(StoreError):
    """JSON that is not valid JSON, or that failed the schema registered for its key.

    ``schema`` is the schema file name, ``pointer`` the JSON pointer of the failing element
    (``""`` is the document root) and ``reason`` the validator's explanation; ``schema`` and
    ``pointer`` are ``None`` when the text is not JSON at all.
    """

    def __init__(self, message: str, *, key: str | None = None, uri: str | None = None,
                 schema: str | None = None, pointer: str | None = None, reason: str = "") -> None:
        super().__init__(message, key=key, uri=uri)
        self.schema = schema
        self.pointer = pointer
        self.reason = reason


class InvalidKeyError(StoreError, ValueError):
    """The key is not a relative POSIX key made of plain segments."""


class MarketStoreError(StoreError):
    """The market store cannot do what was asked."""


class MarketStoreLockedError(MarketStoreError):
    """Another process holds the market store's single-writer lock."""


class MarketStoreCorruptError(MarketStoreError):
    """The market store's files are damaged (LMDB reports MDB_CORRUPTED, MDB_INVALID, ...).

    ``directory`` is the local store's directory (``None`` for a remote store) and ``reason`` the
    storage layer's word for the damage; the message names both and the recovery step.
    """

    def __init__(self, message: str, *, uri: str | None = None, directory: str | None = None,
                 reason: str = "") -> None:
        super().__init__(message, uri=uri)
        self.directory = directory
        self.reason = reason


class SymbolNotFoundError(MarketStoreError):
    """A read named tickers (or macro series) the store does not hold; ``symbols`` lists them."""

    def __init__(self, message: str, *, uri: str | None = None, symbols: tuple[str, ...] = ()) -> None:
        super().__init__(message, uri=uri)
        self.symbols = symbols


class ReadOnlyMarketStoreError(ReadOnlyStoreError, MarketStoreError):
    """A write was attempted on a market store opened read-only; nothing was touched."""


class CalendarError(StoreError):
    """A date the trading calendar cannot answer for."""


class MetricsError(StoreError):
    """A datapoint CloudWatch would refuse (names the rule), a query it cannot answer, or a failure of
    the metrics back-end."""
