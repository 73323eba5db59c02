"""The run-date policy: which run_date a run started without one gets."""

from __future__ import annotations

from datetime import date

from alpha_engine.config import Settings

__all__ = ["default_run_date"]


def default_run_date(settings: Settings, today: date) -> date:
    """For a provider whose data ends (the bundled sample: 2022-12-28), the first Saturday after
    its last bar, so freshness checks pass offline; for live feeds, ``today``."""
    from alpha_engine.data import first_saturday_after, open_provider

    provider = open_provider(settings.data.provider, settings.data.provider_options)
    last = provider.last_available_date()
    return first_saturday_after(last) if last is not None else today
