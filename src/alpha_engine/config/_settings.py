"""Settings: one optional file (TOML or YAML) validated by pydantic, defaults that run offline.

Resolution, first match wins:

* workspace: the ``workspace`` argument, ``$ALPHA_ENGINE_HOME``, the file's ``workspace`` key
  (relative to the file), ``./.alpha-engine``;
* config file: the ``config_path`` argument, ``$ALPHA_ENGINE_CONFIG``, then
  ``<workspace>/config.toml``, ``config.yaml`` or ``config.yml`` if present; none is fine;
* ``[data] edgar_identity`` / ``edgar_base_url``: ``$ALPHA_ENGINE_EDGAR_IDENTITY`` /
  ``$ALPHA_ENGINE_EDGAR_BASE_URL`` over the file (``DATA_ENV_OVERRIDES``);
* ``freeze_config``: ``$ALPHA_ENGINE_FREEZE_CONFIG`` (``FREEZE_ENV``), which ``--freeze`` sets;
* where a deployed stage finds its stores, metrics, topic and state machine:
  ``$ALPHA_ENGINE_ARTIFACTS_URI`` and the others of ``DEPLOY_ENV_OVERRIDES`` over the file (the
  CloudFormation template sets them from its resources, docs/deploy.md).

The config file may be an ``s3://`` URL (a deployed stage's ``$ALPHA_ENGINE_CONFIG``): it is
fetched into ``<workspace>/config-from-s3.<suffix>`` (temp then rename) and read from there.

Everything a local run writes lives under the workspace, so ``rm -rf`` of it is a full reset.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._errors import ConfigError

__all__ = ["DEPLOY_ENV_OVERRIDES", "ChannelSettings", "DataSettings", "EmailChannel", "NotifySettings", "PipelineSettings", "Settings",
           "SnsChannel", "WebhookChannel", "load_settings"]

CONFIG_NAMES = ("config.toml", "config.yaml", "config.yml")
# Environment variables that override a [data] key (an identity is per person, not per file).
DATA_ENV_OVERRIDES = {"ALPHA_ENGINE_EDGAR_IDENTITY": "edgar_identity",
                      "ALPHA_ENGINE_EDGAR_BASE_URL": "edgar_base_url"}
# Settings a deployed stage takes from its environment (the template's resources), over the file:
# variable -> the key's path in the settings.
DEPLOY_ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "ALPHA_ENGINE_ARTIFACTS_URI": ("artifacts_uri",),
    "ALPHA_ENGINE_MARKET_STORE_URI": ("data", "market_store_uri"),
    "ALPHA_ENGINE_METRICS_URI": ("pipeline", "metrics_uri"),
    "ALPHA_ENGINE_SNS_TOPIC_ARN": ("pipeline", "sns_topic_arn"),
    "ALPHA_ENGINE_NOTIFICATIONS": ("pipeline", "notifications"),
    "ALPHA_ENGINE_STATE_MACHINE_NAME": ("pipeline", "state_machine_name"),
}
# ``freeze_config``: set ("1", "true" or "yes") by ``--freeze`` on run/resume/redrive/stage run, and
# passed on to every stage process, so a frozen run's Evaluator writes no config at all.
FREEZE_ENV = "ALPHA_ENGINE_FREEZE_CONFIG"
DEFAULT_APP = "alpha_engine.app:SATURDAY"


class PipelineSettings(BaseModel):
    """How the Saturday definition is composed and where its notifications go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_machine_name: str = "alpha-engine-saturday-pipeline"
    # The pipeline app (stage graph + resource wiring + run-date policy), as 'module:attribute'.
    app: str = DEFAULT_APP
    sns_topic_arn: str = "arn:aws:sns:us-east-1:111111111111:alpha-engine-alerts"
    mutex_table: str = "alpha-engine-sf-execution-mutex"
    # Lambda-compute stages are invoked as FunctionName = function_prefix + slug.
    function_prefix: str = "alpha-engine-"
    job_queue: str = "alpha-engine-stages"
    job_definition: str = "alpha-engine-stage"
    # Seconds a stage gets between SIGTERM and SIGKILL when it is stopped (timeout, abort).
    terminate_grace_seconds: float = Field(default=10.0, ge=0)
    # Where a stage's own notifications go: "outbox" = <workspace>/notifications/outbox.jsonl (delivered
    # by 'notify deliver'); "sns" = SNS Publish to sns_topic_arn (deployed; needs the 'aws' extra).
    notifications: Literal["outbox", "sns"] = "outbox"
    # Where metrics go: "" = <workspace>/metrics.db (SQLite); "cloudwatch://REGION" = CloudWatch
    # PutMetricData in that region (deployed; needs the 'aws' extra and boto3 credentials).
    metrics_uri: str = Field(default="", pattern=r"^(cloudwatch://[a-z]{2}(-[a-z]+)+-[0-9]+)?$")

    @field_validator("app")
    @classmethod
    def _app_is_module_attribute(cls, value: str) -> str:
        module, sep, attribute = value.partition(":")
        if not (module and sep and attribute):
            raise ValueError(f"must be 'module:attribute', got {value!r}")
        return value


class DataSettings(BaseModel):
    """Where market data comes from and how strict the data gates are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 'sample' (bundled, offline), 'files', 'yfinance', 'polygon' or 'synthetic'.
    provider: str = "sample"
    provider_options: dict[str, Any] = Field(default_factory=dict)
    # Optional second source for macro series ('fred'); None = the price provider's own.
    macro_provider: str | None = None
    macro_provider_options: dict[str, Any] = Field(default_factory=dict)
    # ArcticDB URI of the market store. Default: lmdb://<workspace>/arcticdb.
    market_store_uri: str = ""
    history_years: int = Field(default=10, ge=1, le=50)
    # A symbol more than this many trading days behind the run's last closed session is stale.
    max_stale_trading_days: int = Field(default=3, ge=0)
    # Fewer received tickers than this fraction of the universe fails the ingest.
    min_coverage: float = Field(default=0.95, gt=0, le=1)
    # How many universe tickers the postflight samples for freshness (seeded by run_date).
    postflight_sample: int = Field(default=20, ge=1)
    # Write-time warn kinds to treat as blocking (e.g. ['extreme_daily_move']).
    upgrade_to_block: list[str] = Field(default_factory=list)
    # SEC EDGAR (DataPhase2's insider transactions and company facts). SEC's fair-access policy
    # requires a declared User-Agent, "Name email@domain"; empty = no EDGAR provider, and DataPhase2
    # reports SKIPPED. $ALPHA_ENGINE_EDGAR_IDENTITY overrides the file.
    edgar_identity: str = ""
    # One server standing in for www.sec.gov and data.sec.gov (same paths); empty = SEC itself.
    # $ALPHA_ENGINE_EDGAR_BASE_URL overrides the file.
    edgar_base_url: str = ""


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


NotifyTopic = Literal["alerts", "watchdog"]


class _Channel(BaseModel):
    """What every notification channel has: a unique name and a dedup window.

    Secrets are never written in the file: a channel names the environment variable that holds
    one (``password_env``, ``url_env``), and the variable is read only when a message is sent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # A message whose dedup key this channel sent less than this many seconds earlier (by the
    # outbox timestamps) is recorded as suppressed, not sent again. 0 = no dedup.
    dedup_window_seconds: float = Field(default=3600.0, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    # Also send the execution status notice (succeeded with its duration, failed with error: cause,
    # aborted, timed out; shell runs labelled) when a run, resume or redrive ends.
    status_notices: bool = False
    # The topics this channel subscribes to: "alerts" (the pipeline's notices, the outbox) and/or
    # "watchdog" (the watchdog's alerts, kept apart as upstream's separate SNS topic).
    topics: list[NotifyTopic] = Field(default_factory=lambda: list[NotifyTopic](["alerts"]), min_length=1)

    @field_validator("topics")
    @classmethod
    def _topics_are_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"topics must be unique, got {value}")
        return value


class EmailChannel(_Channel):
    """E-mail over SMTP (STARTTLS optional; login only when ``username`` is set)."""

    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str = ""
    # The environment variable holding the SMTP password (needed when ``username`` is set).
    password_env: str = Field(default="", pattern=r"^$|" + _ENV_NAME)
    from_addr: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)


class WebhookChannel(_Channel):
    """A JSON POST: Slack-style ``{"text"}`` or Telegram-style ``{"chat_id", "text"}``."""

    kind: Literal["webhook"]
    style: Literal["slack", "telegram"] = "slack"
    # The environment variable holding the URL (webhook URLs carry their token).
    url_env: str = Field(pattern=_ENV_NAME)
    chat_id: str = ""

    @model_validator(mode="after")
    def _telegram_has_a_chat(self) -> WebhookChannel:
        if self.style == "telegram" and not self.chat_id:
            raise ValueError(f"channel {self.name}: a telegram-style webhook needs chat_id")
        return self


class SnsChannel(_Channel):
    """An SNS topic on AWS (boto3 ``publish``; credentials from boto3's usual chain)."""

    kind: Literal["sns"]
    topic_arn: str = Field(pattern=r"^arn:aws[a-z-]*:sns:")
    region: str = ""


ChannelSettings = Annotated[EmailChannel | WebhookChannel | SnsChannel, Field(discriminator="kind")]


class NotifySettings(BaseModel):
    """Where the outbox's notifications are delivered: its subscriptions (``[[notify.channels]]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[ChannelSettings] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _names_are_unique(cls, value: list[Any]) -> list[Any]:
        names = [channel.name for channel in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"channel names must be unique, repeated: {', '.join(repeated)}")
        return value


class Settings(BaseModel):
    """Everything configurable, with defaults that run the bundled sample offline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Path
    # Artifact store root: a directory or an fsspec URL (s3://bucket/prefix). Default: <workspace>/artifacts.
    artifacts_uri: str = ""
    # fsspec storage options for artifacts_uri (s3fs for s3://): empty on AWS, where the role's
    # credentials apply; {client_kwargs = {endpoint_url = "http://..."}} for an S3-compatible endpoint.
    artifacts_storage_options: dict[str, Any] = Field(default_factory=dict)
    seed: int = 20240601
    pipeline: PipelineSettings = PipelineSettings()
    data: DataSettings = DataSettings()
    notify: NotifySettings = NotifySettings()
    # Per-stage options, keyed by stage slug: raw here; the pipeline app validates each section
    # against its stage's Options model when the settings load (PipelineApp.check_settings).
    stages: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # The file these settings came from, if any.
    source: Path | None = None
    # Compute every config change (the Evaluator's auto-apply, its regression rollback) and record
    # it as "would apply", but write none (upstream's --freeze). $ALPHA_ENGINE_FREEZE_CONFIG or --freeze.
    freeze_config: bool = False

    def model_post_init(self, context: Any) -> None:
        if not self.artifacts_uri:
            object.__setattr__(self, "artifacts_uri", str(self.workspace / "artifacts"))
        if not self.data.market_store_uri:
            uri = f"lmdb://{self.workspace / 'arcticdb'}"
            object.__setattr__(self, "data", self.data.model_copy(update={"market_store_uri": uri}))

    def stage_options(self, slug: str) -> dict[str, Any]:
        return dict(self.stages.get(slug, {}))

    def child_environment(self) -> dict[str, str]:
        """What a stage process needs to find these same settings."""
        env = {"ALPHA_ENGINE_HOME": str(self.workspace)}
        if self.source is not None:
            env["ALPHA_ENGINE_CONFIG"] = str(self.source)
        if self.freeze_config:
            env[FREEZE_ENV] = "1"
        return env


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table/mapping, got {type(data).__name__}")
    return data


def _fetch_remote(url: str, workspace_hint: Path) -> Path:
    """A remote config file (``s3://bucket/key``) copied into the workspace; its local path."""
    suffix = Path(url.rsplit("/", 1)[-1]).suffix or ".toml"
    target = workspace_hint / f"config-from-s3{suffix}"
    try:
        import fsspec

        with fsspec.open(url, "rb") as remote:
            data = remote.read()
    except ImportError as exc:
        raise ConfigError(f"config file {url}: reading it needs {exc.name or 's3fs'}; "
                          "pip install 'alpha-engine[aws]'") from None
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {url} (upload it, or unset ALPHA_ENGINE_CONFIG)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {url}: {type(exc).__name__}: {exc}") from None
    workspace_hint.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    temp.write_bytes(data)
    os.replace(temp, target)
    return target


def _find_file(config_path: str | Path | None, workspace_hint: Path, env: Mapping[str, str]) -> Path | None:
    if config_path is not None:
        return Path(config_path)
    if env.get("ALPHA_ENGINE_CONFIG"):
        given = env["ALPHA_ENGINE_CONFIG"]
        return _fetch_remote(given, workspace_hint) if "://" in given else Path(given)
    for name in CONFIG_NAMES:
        candidate = workspace_hint / name
        if candidate.is_file():
            return candidate
    return None


def load_settings(config_path: str | Path | None = None, *, workspace: str | Path | None = None,
                  env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve the workspace and config file (see module docstring) and validate the settings."""
    env = os.environ if env is None else env
    explicit = workspace or env.get("ALPHA_ENGINE_HOME") or None
    hint = Path(explicit) if explicit else Path.cwd() / ".alpha-engine"
    path = _find_file(config_path, hint, env)
    data: dict[str, Any] = _read_file(path) if path is not None else {}
    if path is not None:
        path = path.resolve()
        data["source"] = path
        if explicit is None and "workspace" in data:
            data["workspace"] = (path.parent / str(data["workspace"])).resolve()
    if explicit is not None or "workspace" not in data:
        data["workspace"] = Path(hint).resolve()
    if path is not None and isinstance(data.get("artifacts_uri"), str) and "://" not in data["artifacts_uri"]:
        data["artifacts_uri"] = str((path.parent / data["artifacts_uri"]).resolve())
    for variable, key in DATA_ENV_OVERRIDES.items():
        section = data.get("data", {})
        if env.get(variable) and isinstance(section, dict):  # a malformed [data] fails validation as is
            data["data"] = {**section, key: env[variable]}
    for variable, keys in DEPLOY_ENV_OVERRIDES.items():
        if env.get(variable):
            table: Any = data
            for part in keys[:-1]:
                table = table.setdefault(part, {}) if isinstance(table, dict) else None
            if isinstance(table, dict):  # a malformed section fails validation as is
                table[keys[-1]] = env[variable]
    if env.get(FREEZE_ENV, "").strip().lower() in ("1", "true", "yes"):
        data["freeze_config"] = True
    data.update(overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path is not None else "settings"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"{where}: {problems}") from None
