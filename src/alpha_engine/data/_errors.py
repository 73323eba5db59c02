"""Errors of the data layer.

::

    DataError
     ├── ProviderError            a price/macro source failed (network, auth, bad payload)
     │    └── ProviderAuthError   credentials missing or refused
     ├── MarketStoreError         ArcticDB market store problem
     │    ├── MarketStoreLockedError    another writer holds the single-writer lock
     │    └── ReadOnlyMarketStoreError  a write on a store opened read-only
     ├── QualityGateError         a gate refused data (blocked rows, coverage, freshness, regression)
     └── CalendarError            a date outside the trading calendar's range
"""

from __future__ import annotations

__all__ = [
    "CalendarError",
    "DataError",
    "MarketStoreError",
    "MarketStoreLockedError",
    "ProviderAuthError",
    "ProviderError",
    "QualityGateError",
    "ReadOnlyMarketStoreError",
]


class DataError(Exception):
    """Base of every data-layer error."""


class ProviderError(DataError):
    """A data provider failed; the message names the provider, the request and the cause."""


class ProviderAuthError(ProviderError):
    """A provider's credentials are missing or were refused."""


class MarketStoreError(DataError):
    """The market store cannot do what was asked."""


class MarketStoreLockedError(MarketStoreError):
    """Another process holds the market store's single-writer lock."""


class ReadOnlyMarketStoreError(MarketStoreError):
    """A write was attempted on a market store opened read-only."""


class QualityGateError(DataError):
    """A quality gate refused the data; the message lists the anomalies."""


class CalendarError(DataError):
    """A date the trading calendar cannot answer for."""
