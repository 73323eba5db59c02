"""Settings for alpha-engine: one optional TOML/YAML file, validated, with offline defaults."""

from ._errors import ConfigError
from ._settings import (
    DEPLOY_ENV_OVERRIDES,
    ChannelSettings,
    DataSettings,
    EmailChannel,
    NotifySettings,
    PipelineSettings,
    Settings,
    SnsChannel,
    WebhookChannel,
    load_settings,
)

__all__ = ["DEPLOY_ENV_OVERRIDES", "ChannelSettings", "ConfigError", "DataSettings", "EmailChannel", "NotifySettings", "PipelineSettings",
           "Settings", "SnsChannel", "WebhookChannel", "load_settings"]
