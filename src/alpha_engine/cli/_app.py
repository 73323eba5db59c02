"""Root of the ``alpha-engine`` command tree, and where click's own usage errors get exit 64."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from ._alarms import alarms_app
from ._common import CLICK_EXCEPTION, CLICK_USAGE_ERROR, ExitCode, emit_error, json_requested
from ._config import config_app
from ._data import data_app
from ._deploy import deploy_app
from ._freshness import freshness_app
from ._health import health_cmd
from ._metrics import metrics_app
from ._monitor import monitor_app
from ._notify import notify_app
from ._pipeline import register
from ._predictor import predictor_app
from ._sfn import sfn_app
from ._stage import logcapture_app, stage_app
from ._substrate import substrate_app
from ._watchdog import watchdog_app


class _RootGroup(TyperGroup):
    """The root group: runs a command line as click does, except that click's usage errors (a
    missing option, an unknown one, a bad value) exit 64 like every other usage error, not 2, and
    print the JSON error object when the line asks for ``--json``."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        words = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(words, prog_name, complete_var, False, windows_expand_args, **extra)
        except CLICK_USAGE_ERROR as exc:
            exc.show()  # type: ignore[attr-defined]  # click's usage line, hint and message on stderr
            if json_requested(words):
                emit_error(type(exc).__name__, exc.format_message(), ExitCode.USAGE)  # type: ignore[attr-defined]
            sys.exit(int(ExitCode.USAGE))
        except CLICK_EXCEPTION as exc:
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(int(ExitCode.FAILED))
        # without standalone mode click returns the code of a typer.Exit (None after a plain return)
        sys.exit(int(code) if isinstance(code, int) else int(ExitCode.OK))


app = typer.Typer(
    name="alpha-engine",
    cls=_RootGroup,
    help="A weekly quant research pipeline on an embedded, durable AWS Step Functions runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register(app)
app.command("health")(health_cmd)
app.add_typer(data_app, name="data")
app.add_typer(predictor_app, name="predictor")
app.add_typer(config_app, name="config")
app.add_typer(stage_app, name="stage")
app.add_typer(logcapture_app, name="logcapture")
app.add_typer(sfn_app, name="sfn")
app.add_typer(notify_app, name="notify")
app.add_typer(metrics_app, name="metrics")
app.add_typer(alarms_app, name="alarms")
app.add_typer(deploy_app, name="deploy")
app.add_typer(watchdog_app, name="watchdog")
app.add_typer(freshness_app, name="freshness")
app.add_typer(substrate_app, name="substrate")
app.add_typer(monitor_app, name="monitor")
app.add_typer(deploy_app, name="deploy")


def main() -> None:
    app()
