"""Provider names and options: one pydantic model per provider, light to import.

Every model is frozen, strict and refuses unknown keys: an integer option takes an integer (not
``2.0``, not ``true``), a number takes an integer or a float (not a boolean, ``"1"`` or NaN), a
flag takes ``true`` or ``false``. :func:`check_data_settings` validates ``[data]`` with these models
when the settings load, so a typo or a wrong type fails before any stage starts, naming the file
and the field.

=========== ==================================================================================
sample      none (:class:`SampleOptions`)
files       ``root`` (required), ``market_symbol`` ("SPY"), ``caveats`` (list of str)
yfinance    ``tickers``, ``sectors`` (ticker -> sector ETF), ``auto_adjust`` (true) + HTTP options
polygon     ``tickers``, ``sectors`` + HTTP options; key from ``POLYGON_API_KEY``
fred        HTTP options; key from ``FRED_API_KEY`` (macro provider)
synthetic   ``n_tickers`` (50), ``n_days`` (2520), ``seed`` (0), ``start`` ("2015-01-02")
=========== ==================================================================================

HTTP options (:class:`HttpOptions`): ``timeout`` (15 s), ``max_attempts`` (4), ``backoff_base``
(1 s), ``backoff_max`` (60 s), ``requests_per_minute`` (the provider's documented quota; 0 = no
limit), ``burst`` (1). ``tickers`` and ``caveats`` also take one comma-separated string
(``"AAPL, MSFT"``, as an environment variable or a CLI flag gives it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from alpha_engine.config import ConfigError, Settings

from .._errors import DataError

__all__ = [
    "MACRO_PROVIDER_NAMES",
    "PROVIDER_NAMES",
    "FilesOptions",
    "FredOptions",
    "HttpOptions",
    "PolygonOptions",
    "SampleOptions",
    "SyntheticOptions",
    "YahooOptions",
    "check_data_settings",
    "provider_options",
]

PROVIDER_NAMES: tuple[str, ...] = ("sample", "files", "yfinance", "polygon", "synthetic")
MACRO_PROVIDER_NAMES: tuple[str, ...] = ("fred", *PROVIDER_NAMES)


def _comma_separated(value: Any) -> Any:
    """``"AAPL, MSFT"`` as ``["AAPL", "MSFT"]`` (blanks dropped); a tuple (from a Python caller)
    as a list, which is all a strict list field takes."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, tuple):
        return list(value)
    return value


def _plain_dict(value: Any) -> Any:
    """Any mapping as a dict, which is all a strict dict field takes."""
    return dict(value) if isinstance(value, Mapping) else value


_Text = Annotated[str, Field(min_length=1)]
_Texts = Annotated[list[_Text], BeforeValidator(_comma_separated)]
_Sectors = Annotated[dict[str, str], BeforeValidator(_plain_dict)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SampleOptions(_Options):
    """The bundled sample takes no options."""


class FilesOptions(_Options):
    """A directory of CSV/Parquet files."""

    root: _Text
    market_symbol: _Text = "SPY"
    caveats: _Texts = Field(default_factory=list)


class SyntheticOptions(_Options):
    """The seeded factor model's size, seed and first date."""

    n_tickers: Annotated[int, Field(ge=1)] = 50
    n_days: Annotated[int, Field(ge=1)] = 2520
    seed: Annotated[int, Field(ge=0)] = 0
    start: _Text = "2015-01-02"


class HttpOptions(_Options):
    """Transport and pacing of a network provider's client (seconds for times)."""

    timeout: Annotated[float, Field(ge=0.001)] = 15.0
    max_attempts: Annotated[int, Field(ge=1)] = 4
    backoff_base: Annotated[float, Field(ge=0)] = 1.0
    backoff_max: Annotated[float, Field(ge=0)] = 60.0
    # None = the provider's documented quota; 0 = no limit.
    requests_per_minute: Annotated[float, Field(ge=0)] | None = None
    burst: Annotated[int, Field(ge=1)] = 1


class YahooOptions(HttpOptions):
    """Yahoo's chart endpoint: the universe, its sectors, adjusted prices or not."""

    tickers: _Texts = Field(default_factory=list)
    sectors: _Sectors = Field(default_factory=dict)  # ticker -> sector ETF symbol
    auto_adjust: bool = True


class PolygonOptions(HttpOptions):
    """Polygon.io aggregates: the universe and its sectors (the key comes from POLYGON_API_KEY)."""

    tickers: _Texts = Field(default_factory=list)
    sectors: _Sectors = Field(default_factory=dict)  # ticker -> sector ETF symbol


class FredOptions(HttpOptions):
    """FRED macro series: HTTP options only (the key comes from FRED_API_KEY)."""


_MODELS: dict[str, type[BaseModel]] = {
    "sample": SampleOptions,
    "files": FilesOptions,
    "yfinance": YahooOptions,
    "polygon": PolygonOptions,
    "fred": FredOptions,
    "synthetic": SyntheticOptions,
}


def _known(model: type[BaseModel]) -> str:
    """The model's options, its own before the inherited HTTP ones."""
    names = sorted(model.model_fields, key=lambda name: name in HttpOptions.model_fields)
    return ", ".join(names) or "none"


def _problems(model: type[BaseModel], exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) of each error; an unknown key lists the known ones."""
    problems = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "(options)"
        message = f"unknown option; known: {_known(model)}" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append((path, message))
    return problems


def provider_options(name: str, options: Mapping[str, Any]) -> BaseModel:
    """The validated options of provider ``name`` (one of :data:`MACRO_PROVIDER_NAMES`).

    DataError naming the provider and the field on an unknown provider, an unknown key or a
    value of the wrong type or range.
    """
    if name not in _MODELS:
        raise DataError(f"unknown provider {name!r}; known: {', '.join(MACRO_PROVIDER_NAMES)}")
    model = _MODELS[name]
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {msg}" for path, msg in _problems(model, exc))
        raise DataError(f"data provider {name!r}: {problems}") from None


def check_data_settings(settings: Settings) -> None:
    """ConfigError naming the file and every field of ``[data]`` with an unknown provider, an
    unknown option or an option value of the wrong type or range."""
    data = settings.data
    where = str(settings.source) if settings.source is not None else "settings"
    checks = [("provider", data.provider, data.provider_options, PROVIDER_NAMES)]
    if data.macro_provider is not None:
        checks.append(("macro_provider", data.macro_provider, data.macro_provider_options, MACRO_PROVIDER_NAMES))
    problems = []
    for field, name, options, known in checks:
        if name not in known:
            problems.append(f"data.{field}: unknown provider {name!r}; known: {', '.join(known)}")
            continue
        model = _MODELS[name]
        try:
            model.model_validate(dict(options))
        except ValidationError as exc:
            problems += [f"data.{field}_options.{path}: {msg}" for path, msg in _problems(model, exc)]
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
