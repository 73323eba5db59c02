"""``alpha-engine notify``: deliver the outbox to the configured channels."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import typer

from ._common import (
    ConfigOption,
    ExitCode,
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    err,
    load_configured,
)

__all__ = ["notify_app"]

notify_app = typer.Typer(help="Notification channels: deliver the outbox (e-mail, webhooks, SNS).",
                         no_args_is_help=True)


@notify_app.command("deliver")
@command
def deliver_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Deliver every outbox message not yet sent to each configured channel (retries failed ones).

    Exits 1 when a channel failed; the delivery log keeps it for the next try."""
    from alpha_engine.notify import deliver, failed_deliveries

    settings, _app = load_configured(config, workspace)
    report = deliver(settings.workspace, settings.notify.channels, env=os.environ, now=lambda: datetime.now(UTC))
    undelivered = failed_deliveries(settings.workspace)
    if as_json:
        emit_json({**report.to_json(), "channels": [c.name for c in settings.notify.channels],
                   "undelivered": undelivered})
    else:
        if not settings.notify.channels:
            err("no notification channels configured ([[notify.channels]] in the config file; docs/notifications.md)")
        err(f"delivered: {report.summary()}")
        for item in undelivered:
            err(f"undelivered: {item['subject']!r} to channel {item['channel']} ({item['attempts']} attempt(s)): "
                f"{item['error']}")
    if report.failed:
        raise typer.Exit(ExitCode.FAILED)
