"""Load a state machine definition from a file, a JSON/YAML text or a mapping.

Loading only turns text into a ``dict``; it does not validate ASL (see
:mod:`alpha_engine.sfn._validator`). Every failure is a :class:`DefinitionParseError` that
names the source (file path or ``<string>``) and, where the parser knows it, the line and
column.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ._errors import DefinitionParseError

__all__ = ["load_definition"]

_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_DEFINITION_SUFFIXES = frozenset({".json", ".asl", ".yaml", ".yml"})
# Longer strings cannot be a path on any platform we run on; skip the filesystem probe.
_MAX_PATH_PROBE = 4096


def load_definition(source: str | bytes | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Return the definition as a ``dict``.

    ``source`` is a path to a ``.json``/``.yaml``/``.yml`` file, a JSON or YAML text, or an
    already-parsed mapping (returned as a shallow ``dict`` copy). A ``str`` naming an existing
    file is read as that file.
    """
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, os.PathLike):
        return _load_file(Path(os.fspath(source)))
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DefinitionParseError(f"<bytes>: definition is not UTF-8 text ({exc.reason})") from exc
        return _parse_text(text, "<bytes>", yaml_first=False)
    if isinstance(source, str):
        path = _as_existing_file(source)
        if path is not None:
            return _load_file(path)
        stripped = source.strip()
        if (
            "\n" not in stripped
            and Path(stripped).suffix.lower() in _DEFINITION_SUFFIXES
            and not stripped.startswith(("{", "["))
        ):
            # Looks like a file name, not a document: a missing file is the likelier mistake
            # than a one-line YAML scalar.
            raise DefinitionParseError(f"{stripped}: definition file does not exist")
        return _parse_text(source, "<string>", yaml_first=False)
    raise DefinitionParseError(
        f"cannot load a definition from a {type(source).__name__}; "
        "expected a path, a JSON/YAML text or a mapping"
    )


def _as_existing_file(text: str) -> Path | None:
    if not text or len(text) > _MAX_PATH_PROBE or "\n" in text or text.lstrip().startswith("{"):
        return None
    try:
        path = Path(text)
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _load_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionParseError(f"{path}: cannot read definition file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionParseError(f"{path}: definition file is not UTF-8 text ({exc.reason})") from exc
    return _parse_text(text, str(path), yaml_first=path.suffix.lower() in _YAML_SUFFIXES)


def _parse_text(text: str, origin: str, *, yaml_first: bool) -> dict[str, Any]:
    if not text.strip():
        raise DefinitionParseError(f"{origin}: definition is empty")
    if yaml_first or not text.lstrip().startswith(("{", "[")):
        data = _parse_yaml(text, origin)
    else:
        # JSON errors carry exact positions; YAML would accept some broken JSON differently.
        data = _parse_json(text, origin)
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise DefinitionParseError(f"{origin}: the top level of a definition must be an object, got {kind}")
    return data


# --- JSON -----------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str, origin: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_pairs_without_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DefinitionParseError(
            f"{origin}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except _DuplicateKey as exc:
        raise DefinitionParseError(
            f"{origin}: duplicate key {json.dumps(exc.key)}{_second_occurrence(text, exc.key)}"
            " (a JSON object, e.g. States, cannot name the same key twice)"
        ) from exc
    except ValueError as exc:
        raise DefinitionParseError(f"{origin}: invalid JSON: {exc}") from exc


def _second_occurrence(text: str, key: str) -> str:
    """Best-effort 'at line L, column C' of the repeated key (json gives no positions here)."""
    as_key = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:")
    matches = [m.start() for m, _ in zip(as_key.finditer(text), range(2), strict=False)]
    if len(matches) < 2:
        return ""
    second = matches[1]
    line = text.count("\n", 0, second) + 1
    column = second - (text.rfind("\n", 0, second) + 1) + 1
    return f" at line {line}, column {column}"


# --- YAML -----------------------------------------------------------------------------------


class _DefinitionYamlLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """SafeLoader that keeps timestamps as strings and rejects duplicate keys.

    ASL timestamps (Wait ``Timestamp``, Choice ``TimestampEquals``) must stay RFC 3339 strings;
    PyYAML would turn an unquoted one into a ``datetime``.
    """


_DefinitionYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _DefinitionYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in result
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark
            ) from exc
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_DefinitionYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_DefinitionYamlLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = exc.problem or exc.context or "syntax error"
        raise DefinitionParseError(f"{origin}: invalid YAML{where}: {reason}") from exc
    except yaml.YAMLError as exc:
        raise DefinitionParseError(f"{origin}: invalid YAML: {exc}") from exc
