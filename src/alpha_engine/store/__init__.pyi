from ._artifacts import ArtifactStore
from ._bars import (
    OHLCV_COLUMNS,
    PRICE_COLUMNS,
    SOURCE_COLUMN,
    Panel,
    content_digest,
    empty_ticker_frame,
    normalize_ticker_frame,
    panel_from_frames,
)
from ._calendar import TradingCalendar
from ._contracts import Artifact, Contracts
from ._errors import (
    ArtifactNotFoundError,
    CalendarError,
    ContractError,
    FencedWriteError,
    InvalidKeyError,
    MarketStoreCorruptError,
    MarketStoreError,
    MarketStoreLockedError,
    MetricsError,
    ReadOnlyMarketStoreError,
    ReadOnlyStoreError,
    StoreError,
    SymbolNotFoundError,
)
from ._fence import WriteFence
from ._market_location import probe_market_store
from ._market_store import MarketStore, UpsertResult
from ._metrics import (
    MAX_DATUMS_PER_CALL,
    STATISTICS,
    CloudWatchMetrics,
    Datapoint,
    MetricsStore,
    MetricSummary,
    SqliteMetrics,
    aggregate,
)
from ._writer_lock import WriterLock

__all__ = [
    "MAX_DATUMS_PER_CALL",
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "SOURCE_COLUMN",
    "STATISTICS",
    "Artifact",
    "ArtifactNotFoundError",
    "ArtifactStore",
    "CalendarError",
    "CloudWatchMetrics",
    "ContractError",
    "Contracts",
    "Datapoint",
    "FencedWriteError",
    "InvalidKeyError",
    "MarketStore",
    "MarketStoreCorruptError",
    "MarketStoreError",
    "MarketStoreLockedError",
    "MetricSummary",
    "MetricsError",
    "MetricsStore",
    "Panel",
    "ReadOnlyMarketStoreError",
    "ReadOnlyStoreError",
    "SqliteMetrics",
    "StoreError",
    "SymbolNotFoundError",
    "TradingCalendar",
    "UpsertResult",
    "WriteFence",
    "WriterLock",
    "aggregate",
    "content_digest",
    "empty_ticker_frame",
    "normalize_ticker_frame",
    "panel_from_frames",
    "probe_market_store",
]
