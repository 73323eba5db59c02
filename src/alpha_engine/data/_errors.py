"""Errors of the data layer.

::

    DataError
     ├── ProviderError            a price/macro source failed (network, auth, bad payload)
     │    └── ProviderAuthError   credentials missing or refused
     └── QualityGateError         a gate refused data (blocked rows, coverage, freshness, regression)

The market store, its writer lock and the trading calendar are shared by every domain, so their
errors live with them in :mod:`alpha_engine.store` (``MarketStoreError``, ``CalendarError``).
"""

from __future__ import annotations

__all__ = ["DataError", "ProviderAuthError", "ProviderError", "QualityGateError"]


class DataError(Exception):
    """Base of every data-layer error."""


class ProviderError(DataError):
    """A data provider failed; the message names the provider, the request and the cause."""


class ProviderAuthError(ProviderError):
    """A provider's credentials are missing or were refused."""


class QualityGateError(DataError):
    """A quality gate refused the data; the message lists the anomalies."""
