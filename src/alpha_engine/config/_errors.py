"""Configuration errors.

::

    ConfigError            the config file is missing, unreadable or invalid
"""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the field."""
