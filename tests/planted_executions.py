"""Execution records planted straight into a workspace's execution store, for tests of what reads
the runtime's executions (the watchdog). A module beside conftest.py, not in it: ``conftest`` names
whichever directory's conftest pytest imported last."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from alpha_engine.sfn import ExecutionRecord, SqliteStore


def plant_execution(workspace: Path, name: str, start: str, *, machine: str = "alpha-engine-saturday-pipeline",
                    status: str = "SUCCEEDED", given: dict[str, object] | None = None) -> None:
    """One execution record of ``machine`` in the workspace's real execution store
    (``sfn/executions.sqlite3``), started at ``start`` (ISO), with input ``given``."""
    store = SqliteStore(workspace / "sfn" / "executions.sqlite3")
    try:
        store.create(ExecutionRecord(
            arn=f"arn:aws:states:us-east-1:123456789012:execution:{machine}:{name}", name=name,
            state_machine_arn=f"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}",
            state_machine_name=machine, definition="{}", input=json.dumps(given or {}), status=status,
            start_date=datetime.fromisoformat(start).timestamp()))
    finally:
        store.close()
