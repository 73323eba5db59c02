"""A change set as data (:class:`Change`, :class:`ChangeSet`) and its rendering as the table the
operator reads before anything is executed (:func:`render_changes`). Pure: no AWS call here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Change", "ChangeSet", "render_changes"]

# The table lists additions first, then modifications, then removals; any other action after them.
_ACTION_ORDER = {"Add": 0, "Modify": 1, "Remove": 2, "Import": 3, "Dynamic": 4}
_HEADER = ("ACTION", "LOGICAL ID", "TYPE", "REPLACEMENT")


@dataclass(frozen=True)
class Change:
    """One resource change of a change set.

    ``replacement`` is CloudFormation's answer for a Modify: ``True`` (the resource is deleted and
    created anew, with a new physical id and, for a bucket or table, without its data),
    ``Conditional`` (it depends on a value known only at execution) or ``False``; ``""`` when
    CloudFormation gives none (Add, Remove, or an endpoint that does not compute it)."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""
    physical_id: str = ""

    @classmethod
    def from_aws(cls, entry: Mapping[str, Any]) -> Change:
        """One entry of DescribeChangeSet's ``Changes`` (``{"Type": "Resource", "ResourceChange": {...}}``)."""
        rc = entry.get("ResourceChange", {})
        return cls(action=str(rc.get("Action", "")), logical_id=str(rc.get("LogicalResourceId", "")),
                   resource_type=str(rc.get("ResourceType", "")), replacement=str(rc.get("Replacement", "")),
                   physical_id=str(rc.get("PhysicalResourceId", "")))


@dataclass(frozen=True)
class ChangeSet:
    """A change set created on ``stack_name``: ``kind`` CREATE (the stack does not exist yet) or
    UPDATE, and its ``changes``. ``empty`` is CloudFormation's "no changes": the stack already
    matches the template and parameters (such a change set is FAILED with that reason on AWS and
    cannot be executed)."""

    name: str
    arn: str
    stack_name: str
    stack_id: str
    kind: str
    changes: tuple[Change, ...]
    empty: bool = False


def _sorted(changes: Sequence[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (_ACTION_ORDER.get(c.action, len(_ACTION_ORDER)), c.action, c.logical_id,
                                          c.resource_type, c.replacement))


def render_changes(changes: Sequence[Change]) -> str:
    """The changes as an aligned table (action, logical id, type, replacement), additions first,
    then modifications and removals, each by logical id; then a count line that names every
    replacement, since a replaced bucket or table loses its data. ``No changes.`` when empty."""
    if not changes:
        return "No changes."
    rows = [_HEADER, *((c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in _sorted(changes))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]])
             for row in rows]
    counts = Counter(c.action for c in changes)
    summary = ", ".join(f"{counts[a]} {a}" for a in sorted(counts, key=lambda a: (_ACTION_ORDER.get(a, 9), a)))
    lines.append(f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {summary}")
    replaced = sorted(c.logical_id for c in changes if c.replacement == "True")
    conditional = sorted(c.logical_id for c in changes if c.replacement == "Conditional")
    if replaced:
        lines.append(f"replaced (deleted and created anew, data included): {', '.join(replaced)}")
    if conditional:
        lines.append(f"maybe replaced (Conditional): {', '.join(conditional)}")
    return "\n".join(lines)
