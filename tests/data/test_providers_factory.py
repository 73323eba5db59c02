"""open_provider / open_macro_provider, option checking, and the package's public surface."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from providers_support import FakeClock, Replay

from alpha_engine.data import _errors
from alpha_engine.data.providers import (
    MACRO_PROVIDER_NAMES,
    PROVIDER_NAMES,
    FilesProvider,
    FredProvider,
    MacroProvider,
    PolygonProvider,
    Provider,
    SampleProvider,
    SyntheticProvider,
    YahooProvider,
    open_macro_provider,
    open_provider,
)

START, END = date(2023, 1, 3), date(2023, 1, 6)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(_errors.DataError, match=r"unknown data provider 'bloomberg'; known: sample, files, "
                                                r"yfinance, polygon, synthetic"):
        open_provider("bloomberg", {})
    with pytest.raises(_errors.DataError, match=r"unknown macro provider 'quandl'; known: fred, sample"):
        open_macro_provider("quandl", {})


def test_unknown_options_list_the_known_ones() -> None:
    with pytest.raises(_errors.DataError, match=r"'synthetic': unknown option\(s\) tickers; known: n_tickers"):
        open_provider("synthetic", {"tickers": ["A"]})
    with pytest.raises(_errors.DataError, match=r"'sample': unknown option\(s\) root; known: none"):
        open_provider("sample", {"root": "/data"})


@pytest.mark.parametrize(("name", "options", "pattern"), [
    ("files", {}, r"option 'root' is required"),
    ("synthetic", {"n_tickers": 0}, r"option 'n_tickers' must be an integer >= 1"),
    ("synthetic", {"seed": "7"}, r"option 'seed' must be an integer"),
    ("yfinance", {"auto_adjust": "yes"}, r"option 'auto_adjust' must be true or false"),
    ("yfinance", {"tickers": [1, 2]}, r"option 'tickers' must be a list of symbols"),
    ("polygon", {"requests_per_minute": -1}, r"option 'requests_per_minute' must be a number >= 0"),
    ("polygon", {"max_attempts": 0}, r"option 'max_attempts' must be an integer >= 1"),
    ("polygon", {"sectors": ["XLK"]}, r"option 'sectors' must be a mapping"),
])
def test_bad_option_values_are_named(name: str, options: dict[str, object], pattern: str) -> None:
    with pytest.raises(_errors.DataError, match=pattern):
        open_provider(name, options, env={})


def test_each_name_builds_its_provider(tmp_path: Path) -> None:
    built = {
        "sample": open_provider("sample", {}),
        "files": open_provider("files", {"root": str(tmp_path), "market_symbol": "SP500", "caveats": ["mine"]}),
        "yfinance": open_provider("yfinance", {"tickers": "AAPL, MSFT", "timeout": 5}),
        "polygon": open_provider("polygon", {}, env={"POLYGON_API_KEY": "k"}),
        "synthetic": open_provider("synthetic", {"n_tickers": 3, "n_days": 10, "seed": 1}),
    }
    kinds = (SampleProvider, FilesProvider, YahooProvider, PolygonProvider, SyntheticProvider)
    for (name, provider), kind in zip(built.items(), kinds, strict=True):
        assert isinstance(provider, kind) and isinstance(provider, Provider) and provider.name == name
    assert set(built) == set(PROVIDER_NAMES)
    files = built["files"]
    assert files.market_symbol == "SP500" and files.caveats == ("mine",)
    assert built["yfinance"].universe(END) == ["AAPL", "MSFT"]
    assert isinstance(open_macro_provider("fred", {}, env={}), FredProvider)
    assert isinstance(open_macro_provider("sample", {}), MacroProvider)
    assert MACRO_PROVIDER_NAMES == ("fred", *PROVIDER_NAMES)


def test_keys_come_from_env_and_the_transport_replaces_the_network() -> None:
    replay = Replay("polygon_aggs_AAPL.json")
    clock = FakeClock()
    p = open_provider("polygon", {"requests_per_minute": 0}, env={"POLYGON_API_KEY": "pk_test"},
                      transport=replay.transport, sleep=clock.sleep, monotonic=clock.monotonic)
    assert list(p.daily_bars(["AAPL"], START, END)) == ["AAPL"]
    assert replay.requests[0].headers["authorization"] == "Bearer pk_test"


def test_a_missing_key_surfaces_at_probe_not_at_open() -> None:
    fred = open_macro_provider("fred", {}, env={})
    with pytest.raises(_errors.ProviderAuthError, match="FRED_API_KEY"):
        fred.probe()
    with pytest.raises(_errors.ProviderAuthError, match="POLYGON_API_KEY"):
        open_provider("polygon", {}, env={"POLYGON_API_KEY": ""}).probe()


def test_fred_reads_its_key_from_env_through_the_factory() -> None:
    replay = Replay("fred_observations_DFF_probe.json")
    fred = open_macro_provider("fred", {}, env={"FRED_API_KEY": "fk_test"}, transport=replay.transport)
    fred.probe()
    assert replay.requests[0].url.params["api_key"] == "fk_test"
