"""Every command has help text and an entry in docs/cli.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from alpha_engine.cli import app

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):  # a group
            out.extend(_commands(command, path))
        else:
            out.append((path, command))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_has_help_text() -> None:
    assert len(COMMANDS) > 20
    for path, command in COMMANDS:
        assert (command.help or "").strip(), f"alpha-engine {' '.join(path)} has no help text"


def test_every_command_is_documented() -> None:
    for path, _ in COMMANDS:
        *parents, leaf = path
        documented = f"alpha-engine {' '.join(path)}" in DOCS or (
            f"alpha-engine {' '.join(parents)} " in DOCS and leaf in DOCS)
        assert documented, f"alpha-engine {' '.join(path)} is missing from docs/cli.md"
