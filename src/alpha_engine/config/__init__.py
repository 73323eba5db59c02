"""Settings for alpha-engine: one optional TOML/YAML file, validated, with offline defaults."""

from ._errors import ConfigError
from ._settings import DataSettings, PipelineSettings, Settings, load_settings

__all__ = ["ConfigError", "DataSettings", "PipelineSettings", "Settings", "load_settings"]
