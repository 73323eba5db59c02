"""The freshness registry: which dated artifacts must exist, on which cadence, and how old they may get.

The registry is a YAML file (``freshness_registry.yaml`` beside this module by default), checked
in two passes: the JSON Schema ``schemas/freshness_registry.schema.json`` (shapes and enums), then
the semantic checks a schema cannot state (unique ids and keys, ``{date}`` as the key's only
placeholder, a real ``since`` date). Every error names the file, the entry (index and id) and the
field, and :func:`load_registry` raises them all at once as a :class:`FreshnessRegistryError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import yaml

from alpha_engine.store import Artifact

from ._errors import FreshnessRegistryError

__all__ = ["FRESHNESS_CADENCES", "DEFAULT_REGISTRY", "ArtifactSpec", "load_registry", "registry_gaps"]

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "freshness_registry.yaml"
FRESHNESS_CADENCES = ("saturday", "weekday", "eod", "continuous")
_SCHEMA = Path(__file__).resolve().parent / "schemas" / "freshness_registry.schema.json"
_DATE_FIELD = "{date}"


@dataclass(frozen=True)
class ArtifactSpec:
    """One registry entry: the artifact at ``key`` (``{date}`` = its run or cycle date) is expected
    every ``cadence`` cycle, and is fresh while at most ``max_age_trading_days`` sessions have
    closed after its date. ``owner`` is the slug of the stage that writes it."""

    id: str
    key: str
    cadence: str
    max_age_trading_days: int
    severity: str
    owner: str
    grace_period_cycles: int = 2
    since: date | None = None
    description: str = ""

    def __post_init__(self) -> None:
        head, _, tail = self.key.partition(_DATE_FIELD)
        object.__setattr__(self, "_head", head)
        object.__setattr__(self, "_tail", tail)

    @property
    def head(self) -> str:
        """The key before ``{date}``."""
        return str(self.__dict__["_head"])

    @property
    def tail(self) -> str:
        """The key after ``{date}``."""
        return str(self.__dict__["_tail"])

    @property
    def prefix(self) -> str:
        """The folder to list for this artifact's keys (the longest one without ``{date}``)."""
        return self.head.rsplit("/", 1)[0] + "/" if "/" in self.head else ""

    def format(self, day: date | str) -> str:
        """The key for ``day``."""
        return self.head + (day if isinstance(day, str) else day.isoformat()) + self.tail

    def date_of(self, key: str) -> date | None:
        """The date a key of this artifact carries, or None when ``key`` is not one of its keys."""
        head, tail = self.head, self.tail
        if len(key) != len(head) + 10 + len(tail) or not key.startswith(head) or not key.endswith(tail):
            return None
        text = key[len(head):len(head) + 10]
        try:
            return date.fromisoformat(text) if text[4] == "-" and text[7] == "-" else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "cadence": self.cadence,
                "max_age_trading_days": self.max_age_trading_days, "severity": self.severity,
                "owner": self.owner, "grace_period_cycles": self.grace_period_cycles,
                "since": self.since.isoformat() if self.since else None}


def _where(path: Path, index: int, entry: Any, field: str | None) -> str:
    name = entry.get("id") if isinstance(entry, dict) else None
    label = f"entry {index}" + (f" ({name!r})" if isinstance(name, str) else "")
    return f"{path}: {label}" + (f", field {field!r}" if field else "")


def _schema_errors(path: Path, document: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(_SCHEMA.read_text(encoding="utf-8")))
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        where = list(error.absolute_path)
        if len(where) >= 2 and where[0] == "artifacts" and isinstance(where[1], int):
            field = str(where[2]) if len(where) > 2 else None
            if error.validator == "required":
                field = next(iter(re.findall(r"'([^']+)' is a required property", error.message)), field)
            entry = document["artifacts"][where[1]]
            problems.append(f"{_where(path, where[1], entry, field)}: {error.message}")
        else:
            field = ".".join(str(p) for p in where) or "(top level)"
            problems.append(f"{path}: {field}: {error.message}")
    return problems


def _semantic_errors(path: Path, entries: list[dict[str, Any]]) -> list[str]:
    problems = []
    seen_ids: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = entry["key"]
        fields = re.findall(r"\{([^{}]*)\}", key)
        if fields != ["date"]:
            problems.append(f"{_where(path, index, entry, 'key')}: {key!r} must hold {{date}} exactly once and no "
                            f"other placeholder (found {fields or 'none'})")
        else:
            try:
                Artifact(key)
            except ValueError as exc:
                problems.append(f"{_where(path, index, entry, 'key')}: {exc}")
        if entry["id"] in seen_ids:
            problems.append(f"{_where(path, index, entry, 'id')}: id already used by entry {seen_ids[entry['id']]}")
        seen_ids.setdefault(entry["id"], index)
        if key in seen_keys:
            problems.append(f"{_where(path, index, entry, 'key')}: {key!r} already registered by entry "
                            f"{seen_keys[key]}")
        seen_keys.setdefault(key, index)
        if "since" in entry:
            try:
                date.fromisoformat(entry["since"])
            except ValueError:
                problems.append(f"{_where(path, index, entry, 'since')}: {entry['since']!r} is not a date")
    return problems


def load_registry(path: str | Path | None = None) -> tuple[ArtifactSpec, ...]:
    """The registry's entries, in file order; :class:`FreshnessRegistryError` naming every problem
    (file, entry, field) when the file is unreadable, not YAML, or fails a check."""
    where = Path(path) if path is not None else DEFAULT_REGISTRY
    try:
        document = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FreshnessRegistryError(f"{where}: cannot read the freshness registry: {exc}") from exc
    except yaml.YAMLError as exc:
        raise FreshnessRegistryError(f"{where}: not valid YAML: {exc}") from exc
    if isinstance(document, dict):  # YAML reads an unquoted 2026-01-03 as a date
        for entry in document.get("artifacts") or []:
            if isinstance(entry, dict) and isinstance(entry.get("since"), date):
                entry["since"] = entry["since"].isoformat()
    problems = _schema_errors(where, document)
    if not problems:
        problems = _semantic_errors(where, document["artifacts"])
    if problems:
        raise FreshnessRegistryError(f"the freshness registry has {len(problems)} problem(s); fix them and retry:\n  "
                                     + "\n  ".join(problems))
    return tuple(
        ArtifactSpec(id=e["id"], key=e["key"], cadence=e["cadence"],
                     max_age_trading_days=e["max_age_trading_days"], severity=e["severity"], owner=e["owner"],
                     grace_period_cycles=e.get("grace_period_cycles", 2),
                     since=date.fromisoformat(e["since"]) if "since" in e else None,
                     description=e.get("description", ""))
        for e in document["artifacts"])


class _Producer(Protocol):
    slug: str
    produces: tuple[Artifact, ...]


def registry_gaps(specs: Sequence[ArtifactSpec], stages: Iterable[type[_Producer]]) -> list[str]:
    """Where the registry and the stages disagree, one line each: a stage's dated output with no
    entry owned by that stage, and an entry whose owner is no stage or does not produce its key.
    Empty when they agree (tests/health/test_freshness_registry.py pins it for the Saturday graph)."""
    stages = list(stages)
    produced = {stage.slug: {a.key for a in stage.produces if a.dated} for stage in stages}
    registered = {(spec.owner, spec.key) for spec in specs}
    gaps = [f"stage {stage.slug} writes {key!r} but no registry entry with owner {stage.slug} registers it: "
            f"add one to {DEFAULT_REGISTRY.name}"
            for stage in stages for key in sorted(produced[stage.slug]) if (stage.slug, key) not in registered]
    for spec in specs:
        if spec.owner not in produced:
            gaps.append(f"registry entry {spec.id!r}: its owner {spec.owner!r} is no stage of the graph")
        elif spec.key not in produced[spec.owner]:
            gaps.append(f"registry entry {spec.id!r}: stage {spec.owner} declares no dated output {spec.key!r} "
                        "(fix the key or the owner, or remove the entry)")
    return gaps
