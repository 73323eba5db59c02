"""``alpha-engine metrics``: the workspace's metrics store (heartbeats and stage metrics), read-only."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import (
    ConfigOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
)

if TYPE_CHECKING:
    from alpha_engine.store import SqliteMetrics

metrics_app = typer.Typer(help="The metrics store: heartbeats and stage metrics (CloudWatch-shaped).",
                          no_args_is_help=True)


def _store(config: Path | None, workspace: Path | None) -> SqliteMetrics:
    from alpha_engine.pipeline import METRICS
    from alpha_engine.store import SqliteMetrics

    settings, app = load_configured(config, workspace)
    store = app.open_resources(settings, read_only=True).get(METRICS)
    if not isinstance(store, SqliteMetrics):
        raise UsageError(f"the pipeline app wires metrics to {type(store).__name__}; 'alpha-engine metrics' reads "
                         "the workspace's metrics.db only (use the CloudWatch console for CloudWatch)")
    return store


def _dims(dimensions: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in dimensions) or "-"


def _since(text: str | None) -> datetime | None:
    """--since: YYYY-MM-DD (midnight UTC) or an ISO timestamp (UTC when it names no zone)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since must be YYYY-MM-DD or an ISO timestamp, got {text!r}") from None
    if len(text) == 10:
        when = datetime.combine(when.date(), time(0), UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@metrics_app.command("list")
@command
def list_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every stored series (namespace, metric, dimensions) with its datapoint count and last value and time."""
    series = _store(config, workspace).metrics()
    if as_json:
        emit_json([s.to_json() for s in series])
        return
    if not series:
        typer.echo("(no metrics recorded)")
    for s in series:
        last = s.last_timestamp.isoformat(timespec="seconds").replace("+00:00", "Z")
        typer.echo(f"{s.namespace}/{s.name}  {_dims(s.dimensions)}  last {s.last_value:g} at {last}  "
                   f"({s.count} datapoint{'s' if s.count != 1 else ''})")


@metrics_app.command("get")
@command
def get_cmd(name: str = typer.Argument(..., help="Metric name, e.g. Heartbeat."),
            namespace: str = typer.Option("AlphaEngine", "--namespace", help="The metric's namespace."),
            since: str = typer.Option(None, "--since", help="Only datapoints at or after YYYY-MM-DD (UTC) or an "
                                      "ISO timestamp."),
            as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every datapoint of metric NAME, per series (dimensions), oldest first."""
    store = _store(config, workspace)
    start = _since(since)
    points = [p for s in store.metrics(namespace, name)
              for p in store.datapoints(namespace, name, dict(s.dimensions), start, None)]
    if as_json:
        emit_json([p.to_json() for p in points])
        return
    if not points:
        typer.echo(f"(no datapoints of {namespace}/{name}{' since ' + since if since else ''}; "
                   "see 'alpha-engine metrics list')")
    for p in points:
        when = p.timestamp.isoformat(timespec="seconds").replace("+00:00", "Z")
        typer.echo(f"{when}  {namespace}/{name}  {_dims(p.dimensions)}  {p.value:g} {p.unit}")
