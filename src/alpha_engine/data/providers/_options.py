"""Provider names and options: typed reads of one provider's options, light to import.

Unknown keys are refused, naming the known ones; values are read with their types, and every
error names the provider and the option. :func:`check_data_settings` runs these checks when the
settings load, so a typo in ``[data]`` fails before any stage starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alpha_engine.config import ConfigError, Settings

from .._errors import DataError

__all__ = ["MACRO_PROVIDER_NAMES", "PROVIDER_NAMES", "ProviderOptions", "check_data_settings"]

PROVIDER_NAMES: tuple[str, ...] = ("sample", "files", "yfinance", "polygon", "synthetic")
MACRO_PROVIDER_NAMES: tuple[str, ...] = ("fred", *PROVIDER_NAMES)

_HTTP_OPTIONS = ("timeout", "max_attempts", "backoff_base", "backoff_max", "requests_per_minute", "burst")
_KNOWN_OPTIONS: dict[str, tuple[str, ...]] = {
    "sample": (),
    "files": ("root", "market_symbol", "caveats"),
    "yfinance": ("tickers", "sectors", "auto_adjust", *_HTTP_OPTIONS),
    "polygon": ("tickers", "sectors", *_HTTP_OPTIONS),
    "fred": _HTTP_OPTIONS,
    "synthetic": ("n_tickers", "n_days", "seed", "start"),
}


class ProviderOptions:
    """Typed reads of one provider's options; errors name the provider and the option."""

    def __init__(self, provider: str, options: Mapping[str, Any]) -> None:
        self.provider = provider
        self.values = dict(options)
        unknown = sorted(set(self.values) - set(_KNOWN_OPTIONS[provider]))
        if unknown:
            known = ", ".join(_KNOWN_OPTIONS[provider]) or "none"
            raise DataError(f"data provider {provider!r}: unknown option(s) {', '.join(unknown)}; known: {known}")

    def _fail(self, key: str, wanted: str) -> DataError:
        return DataError(f"data provider {self.provider!r}: option {key!r} must be {wanted}, "
                         f"got {self.values[key]!r}")

    def number(self, key: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = self.values.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self._fail(key, f"a number >= {minimum:g}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def text(self, key: str, default: str | None) -> str:
        value = self.values.get(key, default)
        if value is None:
            raise DataError(f"data provider {self.provider!r}: option {key!r} is required")
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.values.get(key, [])
        if isinstance(value, str):  # "AAPL, MSFT" from an environment variable or a CLI flag
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise self._fail(key, "a list of symbols")
        return list(value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self.values.get(key, {})
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in value.items()):
            raise self._fail(key, "a mapping of ticker to sector ETF symbol")
        return dict(value)


def check_data_settings(settings: Settings) -> None:
    """ConfigError naming the file and the field if ``[data]`` names an unknown provider or option."""
    data = settings.data
    where = str(settings.source) if settings.source is not None else "settings"
    checks = [("provider", data.provider, data.provider_options, PROVIDER_NAMES)]
    if data.macro_provider is not None:
        checks.append(("macro_provider", data.macro_provider, data.macro_provider_options, MACRO_PROVIDER_NAMES))
    for field, name, options, known in checks:
        if name not in known:
            raise ConfigError(f"{where}: data.{field}: unknown provider {name!r}; known: {', '.join(known)}")
        try:
            ProviderOptions(name, options)
        except DataError as exc:
            raise ConfigError(f"{where}: data.{field}_options: {exc}") from None
