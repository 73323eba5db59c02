"""open_provider / open_macro_provider, and the provider options: one model per provider, checked
when the settings load (naming the file and the field) and again, by the same model, when a
provider is built."""

from __future__ import annotations

import types
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from providers_support import FakeClock, Replay
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.config import ConfigError, Settings, load_settings
from alpha_engine.data import _errors
from alpha_engine.data.providers import (
    MACRO_PROVIDER_NAMES,
    PROVIDER_NAMES,
    FilesProvider,
    FredProvider,
    MacroProvider,
    PolygonProvider,
    Provider,
    RetryPolicy,
    SampleProvider,
    SyntheticProvider,
    YahooOptions,
    YahooProvider,
    check_data_settings,
    open_macro_provider,
    open_provider,
    provider_options,
)

START, END = date(2023, 1, 3), date(2023, 1, 6)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(_errors.DataError, match=r"unknown data provider 'bloomberg'; known: sample, files, "
                                                r"yfinance, polygon, synthetic"):
        open_provider("bloomberg", {})
    with pytest.raises(_errors.DataError, match=r"unknown macro provider 'quandl'; known: fred, sample"):
        open_macro_provider("quandl", {})
    with pytest.raises(_errors.DataError, match=r"unknown provider 'quandl'; known: fred, sample, files"):
        provider_options("quandl", {})
    with pytest.raises(_errors.DataError, match=r"unknown data provider 'fred'"):
        open_provider("fred", {})  # a macro-only source


# Options a provider needs besides the one under test.
REQUIRED: dict[str, dict[str, Any]] = {"files": {"root": "/data"}}
# One wrong value for every option of every provider: (provider, option, value, field path, message).
OWN_CASES = [
    ("files", "root", 7, "root", "Input should be a valid string"),
    ("files", "market_symbol", "", "market_symbol", "String should have at least 1 character"),
    ("files", "caveats", ["ok", 1], "caveats.1", "Input should be a valid string"),
    ("synthetic", "n_tickers", 0, "n_tickers", "Input should be greater than or equal to 1"),
    ("synthetic", "n_days", 2.0, "n_days", "Input should be a valid integer"),
    ("synthetic", "seed", True, "seed", "Input should be a valid integer"),
    ("synthetic", "start", date(2015, 1, 2), "start", "Input should be a valid string"),
    ("yfinance", "tickers", ["AAPL", ""], "tickers.1", "String should have at least 1 character"),
    ("yfinance", "sectors", {"AAPL": 1}, "sectors.AAPL", "Input should be a valid string"),
    ("yfinance", "auto_adjust", "yes", "auto_adjust", "Input should be a valid boolean"),
    ("polygon", "tickers", 5, "tickers", "Input should be a valid list"),
    ("polygon", "sectors", ["XLK"], "sectors", "Input should be a valid dictionary"),
]
HTTP_CASES = [
    ("timeout", 0, "timeout", "Input should be greater than or equal to 0.001"),
    ("max_attempts", 0, "max_attempts", "Input should be greater than or equal to 1"),
    ("backoff_base", True, "backoff_base", "Input should be a valid number"),
    ("backoff_max", -1, "backoff_max", "Input should be greater than or equal to 0"),
    ("requests_per_minute", "60", "requests_per_minute", "Input should be a valid number"),
    ("burst", 1.5, "burst", "Input should be a valid integer"),
]
CASES = OWN_CASES + [(name, *case) for name in ("yfinance", "polygon", "fred") for case in HTTP_CASES]


def _config(directory: Path, data: dict[str, Any]) -> Settings:
    """Settings loaded from ``directory/config.yaml`` holding ``[data]``."""
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump({"data": data}), encoding="utf-8")
    return load_settings(path, workspace=directory, env={})


def _load_error(settings: Settings) -> str:
    with pytest.raises(ConfigError) as caught:
        check_data_settings(settings)
    return str(caught.value)


def test_the_cases_give_a_wrong_value_for_every_option_of_every_provider() -> None:
    models = {name: type(provider_options(name, REQUIRED.get(name, {}))) for name in MACRO_PROVIDER_NAMES}
    wanted = {(name, field) for name, model in models.items() for field in model.model_fields}
    assert {(name, option) for name, option, *_ in CASES} == wanted


@pytest.mark.parametrize(("name", "option", "value", "path", "message"), CASES,
                         ids=[f"{case[0]}.{case[1]}" for case in CASES])
def test_a_wrong_option_value_fails_at_load_naming_the_file_and_the_field(
        tmp_path: Path, name: str, option: str, value: object, path: str, message: str) -> None:
    field = "macro_provider" if name == "fred" else "provider"
    settings = _config(tmp_path, {field: name, f"{field}_options": {**REQUIRED.get(name, {}), option: value}})
    assert _load_error(settings) == f"{tmp_path / 'config.yaml'}: data.{field}_options.{path}: {message}"


@pytest.mark.parametrize(("name", "option", "value", "path", "message"), CASES,
                         ids=[f"{case[0]}.{case[1]}" for case in CASES])
def test_open_provider_refuses_the_same_value_naming_the_provider_and_the_field(
        name: str, option: str, value: object, path: str, message: str) -> None:
    options = {**REQUIRED.get(name, {}), option: value}
    with pytest.raises(_errors.DataError) as caught:
        if name == "fred":
            open_macro_provider(name, options, env={})
        else:
            open_provider(name, options, env={})
    assert str(caught.value) == f"data provider {name!r}: {path}: {message}"


def test_a_missing_required_option_is_named() -> None:
    with pytest.raises(_errors.DataError, match=r"^data provider 'files': root: Field required$"):
        open_provider("files", {})


def test_an_unknown_option_fails_at_load_naming_the_field_and_the_known_ones(tmp_path: Path) -> None:
    settings = _config(tmp_path, {"provider": "synthetic", "provider_options": {"tickers": ["A"]},
                                  "macro_provider": "sample", "macro_provider_options": {"root": "/data"}})
    assert _load_error(settings) == (
        f"{tmp_path / 'config.yaml'}: "
        "data.provider_options.tickers: unknown option; known: n_tickers, n_days, seed, start; "
        "data.macro_provider_options.root: unknown option; known: none")
    with pytest.raises(_errors.DataError, match=r"^data provider 'yfinance': tikers: unknown option; known: "
                                                r"tickers, sectors, auto_adjust, timeout, max_attempts"):
        open_provider("yfinance", {"tikers": "AAPL"})


def test_an_unknown_provider_fails_at_load_naming_the_field(tmp_path: Path) -> None:
    settings = _config(tmp_path, {"provider": "nope", "macro_provider": "quandl"})
    assert _load_error(settings) == (
        f"{tmp_path / 'config.yaml'}: "
        "data.provider: unknown provider 'nope'; known: sample, files, yfinance, polygon, synthetic; "
        "data.macro_provider: unknown provider 'quandl'; known: fred, sample, files, yfinance, polygon, synthetic")
    fred_as_prices = _config(tmp_path, {"provider": "fred"})
    assert "data.provider: unknown provider 'fred'" in _load_error(fred_as_prices)


def test_settings_without_a_file_are_named_settings(tmp_path: Path) -> None:
    settings = load_settings(workspace=tmp_path, env={}, data={"provider_options": {"max_attempts": 2}})
    assert _load_error(settings) == "settings: data.provider_options.max_attempts: unknown option; known: none"


def test_valid_options_pass_at_load(tmp_path: Path) -> None:
    check_data_settings(_config(tmp_path, {
        "provider": "yfinance", "provider_options": {"tickers": "AAPL, MSFT", "timeout": 5, "requests_per_minute": 0},
        "macro_provider": "fred", "macro_provider_options": {"backoff_max": 1.5},
    }))
    check_data_settings(load_settings(workspace=tmp_path / "fresh", env={}))


def test_tickers_take_a_list_a_tuple_or_a_comma_separated_string() -> None:
    def tickers(value: object) -> list[str]:
        options = provider_options("yfinance", {"tickers": value})
        assert isinstance(options, YahooOptions)
        return options.tickers

    assert tickers("AAPL, MSFT,,") == tickers(["AAPL", "MSFT"]) == tickers(("AAPL", "MSFT")) == ["AAPL", "MSFT"]
    assert tickers("") == [] and provider_options("yfinance", {}) == YahooOptions()
    files = open_provider("files", {"root": "/data", "caveats": "mine, yours"})
    assert isinstance(files, FilesProvider) and files.caveats == ("mine", "yours")


def test_numbers_take_integers_and_sectors_take_any_mapping() -> None:
    options = provider_options("polygon", {"timeout": 5, "requests_per_minute": 100,
                                           "sectors": types.MappingProxyType({"AAPL": "XLK"})})
    assert options.model_dump() == {"timeout": 5.0, "max_attempts": 4, "backoff_base": 1.0, "backoff_max": 60.0,
                                    "requests_per_minute": 100.0, "burst": 1, "tickers": [],
                                    "sectors": {"AAPL": "XLK"}}


NOT_NUMBERS = [(option, value) for option in ("timeout", "backoff_base", "backoff_max", "requests_per_minute")
               for value in (None, float("nan")) if (option, value) != ("requests_per_minute", None)]


@pytest.mark.parametrize(("option", "value"), NOT_NUMBERS)
def test_null_and_nan_are_not_numbers(option: str, value: object) -> None:
    with pytest.raises(_errors.DataError, match=rf"^data provider 'fred': {option}: Input should be "):
        provider_options("fred", {option: value})


def test_a_null_quota_is_the_providers_documented_one() -> None:
    assert provider_options("fred", {"requests_per_minute": None}) == provider_options("fred", {})


@pytest.mark.parametrize(("data", "message"), [
    ('provider = "yfinance"\nprovider_options = { max_attempts = 0 }',
     "data.provider_options.max_attempts: Input should be greater than or equal to 1"),
    ('provider = "nope"',
     "data.provider: unknown provider 'nope'; known: sample, files, yfinance, polygon, synthetic"),
])
def test_the_cli_exits_64_naming_the_config_file_and_the_field(tmp_path: Path, data: str, message: str) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "config.toml").write_text(f"[data]\n{data}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["stages"], env={"ALPHA_ENGINE_HOME": str(workspace), "ALPHA_ENGINE_CONFIG": None})
    assert result.exit_code == 64, result.output
    assert f"error: {(workspace / 'config.toml').resolve()}: {message}\n" in result.output


def test_the_cli_accepts_a_valid_data_section(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "config.toml").write_text(
        '[data]\nprovider = "yfinance"\nprovider_options = { tickers = "AAPL, MSFT", max_attempts = 2 }\n',
        encoding="utf-8")
    result = CliRunner().invoke(app, ["stages"], env={"ALPHA_ENGINE_HOME": str(workspace), "ALPHA_ENGINE_CONFIG": None})
    assert result.exit_code == 0, result.output


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


def test_http_options_reach_the_client() -> None:
    clock = FakeClock()
    options = {"timeout": 5, "max_attempts": 2, "backoff_base": 0.5, "backoff_max": 3, "requests_per_minute": 30,
               "burst": 2}
    for provider in (open_provider("yfinance", options, sleep=clock.sleep, monotonic=clock.monotonic),
                     open_provider("polygon", options, env={}, sleep=clock.sleep, monotonic=clock.monotonic),
                     open_macro_provider("fred", options, env={}, sleep=clock.sleep, monotonic=clock.monotonic)):
        assert isinstance(provider, YahooProvider | PolygonProvider | FredProvider)
        settings = provider.http.settings
        assert (settings.timeout, settings.requests_per_minute, settings.burst) == (5.0, 30.0, 2)
        assert settings.retry == RetryPolicy(max_attempts=2, backoff_base=0.5, backoff_max=3.0)
        assert settings.sleep == clock.sleep and settings.monotonic == clock.monotonic


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
