"""The substrate inventory: which decision points must leave a measurable artifact or metric.

The inventory is a YAML file (the default ships as ``alpha_engine/health/substrate_inventory.yaml``,
documented in its comments and in docs/observability.md). :func:`load_inventory` checks it against
``schemas/substrate_inventory.schema.json`` and then semantically (unique row ids, real dates,
``{date}`` the only placeholder); a bad file raises :class:`SubstrateInventoryError` naming the
file, the row id and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ._errors import SubstrateInventoryError

__all__ = ["SUBSTRATE_CADENCES", "DEFAULT_INVENTORY", "Inventory", "Source", "SubstrateRow", "load_inventory"]

Cadence = Literal["daily", "weekly", "per_event"]
SUBSTRATE_CADENCES: tuple[str, ...] = ("daily", "weekly", "per_event")
# Which row cadences a check of each cadence covers (upstream: weekly covers weekly and daily rows).
_COVERS: dict[str, frozenset[str]] = {"daily": frozenset({"daily"}), "weekly": frozenset({"weekly", "daily"}),
                                      "per_event": frozenset({"per_event"})}
DEFAULT_MAX_AGE_DAYS = 8
DEFAULT_WINDOW_DAYS = 7

DEFAULT_INVENTORY = Path(str(resources.files(__package__ or "alpha_engine.health").joinpath(
    "substrate_inventory.yaml")))
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Source:
    """One way a row can pass. ``spec`` keeps the kind-specific assertions as the file gives them."""

    kind: str
    spec: dict[str, Any] = field(compare=False, hash=False)

    @property
    def max_age_days(self) -> int:
        return int(self.spec.get("max_age_days", DEFAULT_MAX_AGE_DAYS))

    @property
    def label(self) -> str:
        """What the report names as the thing checked: the key, pattern, file or metric."""
        spec = self.spec
        if self.kind == "metric":
            names = [spec[k] for k in ("metric", "succeeded_metric", "failed_metric") if k in spec]
            dims = ",".join(f"{k}={v}" for k, v in sorted(spec.get("dimensions", {}).items()))
            return f"{spec['namespace']}/{'+'.join(names)}" + (f"{{{dims}}}" if dims else "")
        return str(spec.get("key") or spec.get("key_pattern") or spec.get("file"))


@dataclass(frozen=True)
class SubstrateRow:
    id: str
    cadence: str
    effective_date: date
    description: str
    non_fatal: bool
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Inventory:
    path: Path
    rows: tuple[SubstrateRow, ...]

    @property
    def row_ids(self) -> tuple[str, ...]:
        return tuple(row.id for row in self.rows)

    def for_cadence(self, cadence: str) -> tuple[SubstrateRow, ...]:
        """The rows a check of ``cadence`` covers: weekly covers weekly and daily rows, daily only
        daily rows, per_event only per_event rows."""
        if cadence not in _COVERS:
            raise SubstrateInventoryError(f"cadence {cadence!r} is not one of {', '.join(SUBSTRATE_CADENCES)}")
        return tuple(row for row in self.rows if row.cadence in _COVERS[cadence])


def _schema() -> dict[str, Any]:
    text = resources.files(__package__ or "alpha_engine.health").joinpath(
        "schemas", "substrate_inventory.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _where(path: Path, document: Any, at: list[Any]) -> str:
    """'<file>: row <id> (rows[i]), field sources[0].op' for a JSON path into the document."""
    if len(at) >= 2 and at[0] == "rows" and isinstance(at[1], int):
        rows = document.get("rows") if isinstance(document, dict) else None
        row = rows[at[1]] if isinstance(rows, list) and at[1] < len(rows) else None
        rid = row.get("id") if isinstance(row, dict) else None
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at[2:]).lstrip(".")
        return f"{path}: row {rid or '?'} (rows[{at[1]}])" + (f", field {rest}" if rest else "")
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".")
    return f"{path}" + (f": field {shown}" if shown else "")


def _check_schema(path: Path, document: Any) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    errors = list(Draft202012Validator(_schema()).iter_errors(document))
    if errors:
        error = best_match(errors)
        raise SubstrateInventoryError(
            f"substrate inventory {_where(path, document, list(error.absolute_path))}: {error.message} "
            f"(schema substrate_inventory.schema.json; {len(errors)} error(s) in all); fix the file")


def _check_keys(path: Path, rid: str, index: int, spec: dict[str, Any]) -> None:
    for name in ("key", "key_pattern", "companion_key_pattern"):
        value = spec.get(name)
        if value is None:
            continue
        bad = [p for p in _PLACEHOLDER.findall(value) if p != "date"]
        if bad:
            raise SubstrateInventoryError(
                f"substrate inventory {path}: row {rid}, field sources[{index}].{name}: placeholder "
                f"{{{bad[0]}}} is unknown; only {{date}} is filled in")
        if name == "key" and "{" in value:
            raise SubstrateInventoryError(
                f"substrate inventory {path}: row {rid}, field sources[{index}].key: a fixed key has no "
                f"placeholder; use key_pattern for {value!r}")


def parse_inventory(document: Any, path: Path) -> Inventory:
    """An inventory from its parsed YAML (see :func:`load_inventory`)."""
    _check_schema(path, document)
    rows: list[SubstrateRow] = []
    seen: set[str] = set()
    for raw in document["rows"]:
        rid = raw["id"]
        if rid in seen:
            raise SubstrateInventoryError(f"substrate inventory {path}: row {rid}, field id: the id is used twice; "
                                          "row ids must be unique (they name metrics and alarms)")
        seen.add(rid)
        try:
            effective = date.fromisoformat(raw["effective_date"])
        except ValueError:
            raise SubstrateInventoryError(
                f"substrate inventory {path}: row {rid}, field effective_date: {raw['effective_date']!r} "
                "is not a real date (YYYY-MM-DD)") from None
        for index, spec in enumerate(raw["sources"]):
            _check_keys(path, rid, index, spec)
        rows.append(SubstrateRow(id=rid, cadence=raw["cadence"], effective_date=effective,
                                 description=raw["description"], non_fatal=bool(raw.get("non_fatal", False)),
                                 sources=tuple(Source(kind=s["kind"], spec=dict(s)) for s in raw["sources"])))
    return Inventory(path=path, rows=tuple(rows))


def load_inventory(path: Path | str | None = None) -> Inventory:
    """Read and check a substrate inventory (the packaged one when ``path`` is None)."""
    import yaml

    where = Path(path) if path is not None else DEFAULT_INVENTORY
    try:
        document = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubstrateInventoryError(f"substrate inventory {where}: cannot read it ({exc}); check the path") from exc
    except yaml.YAMLError as exc:
        raise SubstrateInventoryError(f"substrate inventory {where}: not valid YAML ({exc})") from exc
    return parse_inventory(document, where)
