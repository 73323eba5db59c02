"""JSON helpers every part of the runtime shares: the compact text AWS prints, JSON equality and
JSON type names.

``compact_json`` is the one spelling of "JSON as AWS puts it in events, causes and checkpoints":
no spaces, non-ASCII characters kept. ``json_equal`` is value equality in JSON's sense (``1 ==
1.0`` but ``true != 1``). ``json_type_name`` names a value's JSON type the way AWS words type
errors (``null``, ``boolean``, ``number``, ``string``, ``array``, ``object``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["compact_json", "json_equal", "json_type_name"]


def compact_json(value: Any) -> str:
    """JSON the way AWS prints documents in events and error causes: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: ``1 == 1.0`` but ``true != 1`` (Python's ``True == 1`` is not JSON's)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def json_type_name(value: Any) -> str:
    """The JSON type of ``value`` as AWS names it in type errors; a non-JSON value gives its
    Python type name (only a fuzzed definition can hold one)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
