"""Errors of the predictor.

::

    PredictorError
     └── RegistryError              the model registry cannot do what was asked
          ├── VersionNotFoundError  no complete bundle (no manifest) for the version id (also a KeyError)
          └── RegistryCorruptionError  stored bytes or a manifest/pointer do not match what was registered

Invalid arguments to the model classes raise ``ValueError``/``TypeError`` as scikit-learn's
estimators do (and ``sklearn.exceptions.NotFittedError`` before ``fit``); store failures are the
store's errors (:mod:`alpha_engine.store`).
"""

from __future__ import annotations

__all__ = ["PredictorError", "RegistryCorruptionError", "RegistryError", "VersionNotFoundError"]


class PredictorError(Exception):
    """Base of every predictor error."""


class RegistryError(PredictorError):
    """Base of every model-registry error."""


class VersionNotFoundError(RegistryError, KeyError):
    """No complete bundle (no manifest) for the version id."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr-quote the message.
        return str(self.args[0]) if self.args else ""


class RegistryCorruptionError(RegistryError):
    """Stored bytes do not match the manifest's sha256 (or a manifest/pointer is malformed)."""
