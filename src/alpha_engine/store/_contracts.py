"""Artifact declarations and the contract table the artifact store validates JSON against.

An :class:`Artifact` is declared by the package that produces it: a key pattern and, for JSON,
the JSON Schema (draft 2020-12) it must match, shipped in that package's ``schemas/`` folder.
Consumers import the producer's constant, so no key string is ever copied.

Key patterns are POSIX keys with ``{field}`` placeholders, each standing for exactly one key
segment part (never a ``/``). ``{date}`` is the run date and matches only ``YYYY-MM-DD``, so
``predictor/predictions/{date}.json`` covers ``predictor/predictions/2022-12-30.json`` but not
``predictor/predictions/latest.json``.

:class:`Contracts` is the table an :class:`~alpha_engine.store.ArtifactStore` validates against:
the first artifact with a schema whose pattern matches a key decides the key's contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from ._errors import ContractError, StoreError

__all__ = ["Artifact", "Contracts"]

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_SCHEMA_DIR = "schemas"


@dataclass(frozen=True)
class Artifact:
    """One artifact (or family of artifacts) a stage writes.

    Parameters
    ----------
    key : str
        The key pattern, e.g. ``"market_data/weekly/{date}/manifest.json"``.
    schema : str or None
        The JSON Schema's file name in ``<package>/schemas/``; ``None`` for an artifact that is
        not JSON (a report, a log) or has no contract.
    package : str
        The producer's package (``__package__`` where the artifact is declared).
    description : str
        One line for ``alpha-engine stages`` and the docs.
    """

    key: str
    schema: str | None = None
    package: str = ""
    description: str = ""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key or self.key.startswith("/") or "//" in self.key or ".." in self.key.split("/"):
            raise ValueError(f"artifact key pattern {self.key!r} must be a relative POSIX key")
        if self.schema is not None and not self.package:
            raise ValueError(f"artifact {self.key!r}: a schema needs the package that ships it")
        parts = []
        position = 0
        for match in _FIELD.finditer(self.key):
            parts.append(re.escape(self.key[position:match.start()]))
            parts.append(_DATE if match.group(1) == "date" else "[^/]+")
            position = match.end()
        parts.append(re.escape(self.key[position:]))
        object.__setattr__(self, "_regex", re.compile("".join(parts)))

    def __str__(self) -> str:
        return self.key

    @property
    def fields(self) -> tuple[str, ...]:
        """The placeholder names in the key pattern, in order."""
        return tuple(_FIELD.findall(self.key))

    @property
    def dated(self) -> bool:
        """Whether the key carries the run date and nothing else variable (one key per run)."""
        return self.fields == ("date",)

    @property
    def fixed(self) -> bool:
        """Whether the key has no placeholder (one key, overwritten by every run)."""
        return not self.fields

    def run_key(self, run_date: date | str) -> str | None:
        """The one key a run writes (dated by ``run_date``, or fixed), or None for a family of
        keys (a registry's versions) that a run date alone does not name."""
        return self.format(run_date) if self.dated or self.fixed else None

    def format(self, run_date: date | str | None = None, **fields: str) -> str:
        """The concrete key: ``{date}`` from ``run_date``, other placeholders from ``fields``."""
        values = dict(fields)
        if run_date is not None:
            values["date"] = run_date if isinstance(run_date, str) else run_date.isoformat()
        missing = [name for name in self.fields if name not in values]
        if missing:
            raise ValueError(f"artifact {self.key!r}: no value for {', '.join(missing)}")
        key = _FIELD.sub(lambda m: str(values[m.group(1)]), self.key)
        if not self.matches(key):
            raise ValueError(f"artifact {self.key!r}: {key!r} does not fit the pattern (a value holds '/'?)")
        return key

    def matches(self, key: str) -> bool:
        """Whether ``key`` is one of this artifact's keys."""
        return self._regex.fullmatch(key) is not None

    @property
    def prefix(self) -> str:
        """The longest folder prefix with no placeholder (where to list this artifact's keys)."""
        head = self.key.split("{", 1)[0]
        return head.rsplit("/", 1)[0] + "/" if "/" in head else ""

    def validate(self, value: Any, *, key: str | None = None, uri: str | None = None) -> None:
        """Raise :class:`ContractError` if ``value`` fails this artifact's schema (if it has one)."""
        if self.schema is None:
            return
        errors = list(_validator(self.package, self.schema).iter_errors(value))
        if not errors:
            return
        from jsonschema.exceptions import best_match

        error = best_match(errors)
        pointer = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path)
        where = f" in artifact store {uri!r}" if uri is not None else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        shown = repr(pointer) if pointer else "'' (document root)"
        named = key or self.key
        raise ContractError(
            f"{named!r}{where} breaks contract {self.schema} at JSON pointer {shown}: {error.message}{more}",
            key=named, uri=uri, schema=self.schema, pointer=pointer, reason=error.message,
        )

    def load_schema(self) -> dict[str, Any]:
        """The parsed JSON Schema (StoreError if the artifact has none or it cannot be loaded)."""
        if self.schema is None:
            raise StoreError(f"artifact {self.key!r} has no contract schema")
        return _load_schema(self.package, self.schema)


class Contracts:
    """The contract table of a set of artifacts (typically every artifact a stage graph produces).

    Two artifacts with the same key pattern must agree on the schema; the first artifact with a
    schema whose pattern matches a key is that key's contract.
    """

    def __init__(self, artifacts: Iterable[Artifact] = ()) -> None:
        seen: dict[str, Artifact] = {}
        for artifact in artifacts:
            other = seen.get(artifact.key)
            if other is not None and (other.package, other.schema) != (artifact.package, artifact.schema):
                raise StoreError(f"artifact {artifact.key!r} is declared twice with different contracts: "
                                 f"{other.package}/{other.schema} and {artifact.package}/{artifact.schema}")
            seen.setdefault(artifact.key, artifact)
        self._artifacts = tuple(seen.values())

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)

    def __repr__(self) -> str:
        return f"Contracts({len(self._artifacts)} artifacts)"

    def artifact_for(self, key: str) -> Artifact | None:
        """The artifact whose contract covers ``key``, or ``None``."""
        for artifact in self._artifacts:
            if artifact.schema is not None and artifact.matches(key):
                return artifact
        return None

    def validate(self, key: str, value: Any, *, uri: str | None = None) -> None:
        """Raise :class:`ContractError` if ``value`` fails the contract covering ``key``."""
        artifact = self.artifact_for(key)
        if artifact is not None:
            artifact.validate(value, key=key, uri=uri)


@cache
def _load_schema(package: str, name: str) -> dict[str, Any]:
    where = f"{package}/{_SCHEMA_DIR}/{name}"
    try:
        schema = json.loads(resources.files(package).joinpath(_SCHEMA_DIR, name).read_text(encoding="utf-8"))
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        raise StoreError(f"contract schema {where} cannot be loaded: {exc}") from exc
    if not isinstance(schema, dict):
        raise StoreError(f"contract schema {where} is not a JSON object")
    return schema


@cache
def _validator(package: str, name: str) -> Any:
    from jsonschema import Draft202012Validator

    # Formats are asserted (date, ...) where a checker exists; schemas add patterns for the rest.
    return Draft202012Validator(_load_schema(package, name), format_checker=Draft202012Validator.FORMAT_CHECKER)
