"""JSON contracts: which keys must match which JSON Schema.

``CONTRACTS`` is an ordered table of ``(key pattern, schema file name)``; the first row whose
pattern matches a key decides its schema. Patterns are :mod:`fnmatch` patterns matched segment
by segment, so ``*`` never crosses a ``/``: ``health/*.json`` covers ``health/data-phase1.json``
but not ``health/archive/x.json``. Schemas are JSON Schema draft 2020-12 files shipped in
``alpha_engine/store/schemas/``, loaded once and cached.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ._errors import ContractError, StoreError

__all__ = ["CONTRACTS", "contract_for", "validate_contract"]

CONTRACTS: tuple[tuple[str, str], ...] = (
    ("health/*.json", "health_marker.schema.json"),
    ("predictor/predictions/*.json", "predictions.schema.json"),
    ("monitoring/drift/*.json", "drift_report.schema.json"),
    ("predictor/registry/*/manifest.json", "registry_manifest.schema.json"),
)

_SCHEMA_PACKAGE = "alpha_engine.store"
_SCHEMA_DIR = "schemas"


def contract_for(key: str) -> str | None:
    """The schema file name registered for ``key``, or ``None`` if no contract covers it."""
    segments = key.split("/")
    for pattern, schema in CONTRACTS:
        parts = pattern.split("/")
        if len(parts) == len(segments) and all(map(fnmatchcase, segments, parts)):
            return schema
    return None


def validate_contract(key: str, value: Any) -> None:
    """Raise :class:`ContractError` if ``value`` fails the schema registered for ``key``."""
    _check(key, value, uri=None)


@cache
def _load_schema(name: str) -> dict[str, Any]:
    resource = resources.files(_SCHEMA_PACKAGE).joinpath(_SCHEMA_DIR, name)
    try:
        schema = json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"contract schema {_SCHEMA_DIR}/{name} cannot be loaded: {exc}") from exc
    if not isinstance(schema, dict):
        raise StoreError(f"contract schema {_SCHEMA_DIR}/{name} is not a JSON object")
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    # Formats are asserted (date, ...) where a checker exists; schemas add patterns for the rest.
    return Draft202012Validator(_load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _check(key: str, value: Any, *, uri: str | None) -> None:
    """Validate ``value`` for ``key``; ``uri`` names the store in the message when known."""
    schema = contract_for(key)
    if schema is None:
        return
    errors = list(_validator(schema).iter_errors(value))
    if not errors:
        return
    error: ValidationError = best_match(errors)
    pointer = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path)
    where = f" in artifact store {uri!r}" if uri is not None else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    shown = repr(pointer) if pointer else "'' (document root)"
    raise ContractError(
        f"{key!r}{where} breaks contract {schema} at JSON pointer {shown}: {error.message}{more}",
        key=key, uri=uri, schema=schema, pointer=pointer, reason=error.message,
    )
