"""Rewind a failed run to the stage that failed, so a redrive re-runs it and nothing before it.

AWS redrive restarts an execution at the state that failed. With the pipeline's error handling
that state is ``FailExecution``, reached from the stage's Catch through ``HandleFailure``, so a
plain redrive would only fail again. The stage that really failed is the Task whose Catch led
to ``Extract<Name>Error``. Rewinding forgets that Task's checkpoint and those of the failure
route after it (and, for a stage inside a parallel branch, the group and its join); a redrive
then replays every finished state from its checkpoint and runs the failed stage again.
Soft failures are never rewound: the run already went past them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._compose import rewind_states
from ._graph import StageGraph

__all__ = ["failed_stage_keys", "rewind_keys"]


def _split(key: str) -> tuple[str, str]:
    """``'/Group#0/b1/Name#2'`` -> ``('/Group#0/b1', 'Name')``."""
    frame, _, leaf = key.rpartition("/")
    return frame, leaf.rsplit("#", 1)[0]


def failed_stage_keys(steps: Mapping[str, Any], graph: StageGraph) -> list[str]:
    """Checkpoint keys of hard stages whose failure was caught into the failure route."""
    names = {stage.name for stage in graph.stages()}
    failed = []
    for key, step in steps.items():
        _, name = _split(key)
        if name in names and isinstance(step, list) and step and step[0] == f"Extract{name}Error":
            failed.append(key)
    return sorted(failed)


def rewind_keys(steps: Mapping[str, Any], graph: StageGraph) -> list[str]:
    """The checkpoint keys to drop so a redrive resumes at the failed stages (see module doc)."""
    failed = failed_stage_keys(steps, graph)
    if not failed:
        return []
    routes = rewind_states(graph)
    drop = set(failed)
    failed_frames = {_split(key)[0] for key in failed}
    for key in steps:
        frame, name = _split(key)
        if frame == "":
            if name in routes[""]:
                drop.add(key)
        elif frame in failed_frames:
            group = frame.split("/")[1].rsplit("#", 1)[0]
            if name in routes.get(group, frozenset()):
                drop.add(key)
    # A failed branch re-runs inside its Parallel state, so the group itself must run again
    # (its finished sibling branches replay from their checkpoints).
    for frame in failed_frames:
        if frame:
            drop.add(frame.rsplit("/", 1)[0])
    return sorted(k for k in drop if k in steps)
