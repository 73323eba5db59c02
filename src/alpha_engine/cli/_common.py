"""Options and output helpers shared by every command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from alpha_engine.sfn import SfnError

WorkspaceOption = typer.Option(
    None, "--workspace", "-w", envvar="ALPHA_ENGINE_HOME",
    help="Workspace directory holding the execution database and binding state "
         "(default: $ALPHA_ENGINE_HOME or ./.alpha-engine).",
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False))


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def parse_input(text: str | None) -> Any:
    """``--input`` accepts JSON text or ``@file``."""
    if text is None:
        return {}
    try:
        if text.startswith("@"):
            return json.loads(Path(text[1:]).read_text())
        return json.loads(text)
    except FileNotFoundError:
        raise fail(f"--input file not found: {text[1:]}", 2) from None
    except ValueError as exc:
        raise fail(f"--input is not valid JSON: {exc}", 2) from None


def guard(exc: SfnError) -> typer.Exit:
    """Turn a library error into a clean exit (the message names what and where)."""
    return fail(str(exc), 1)


def err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
