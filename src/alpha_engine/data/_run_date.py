"""The default run date: a dataset that ends in the past is run as of its own end."""

from __future__ import annotations

from datetime import date
from typing import Any

from .providers import first_saturday_after, open_provider

__all__ = ["default_run_date"]


def default_run_date(settings: Any, today: date) -> date:
    """For a provider whose data ends (the bundled sample: 2022-12-28), the first Saturday after
    its last bar, so freshness checks pass offline; for live feeds, ``today``."""
    provider = open_provider(settings.data.provider, settings.data.provider_options)
    last = provider.last_available_date()
    return first_saturday_after(last) if last is not None else today
