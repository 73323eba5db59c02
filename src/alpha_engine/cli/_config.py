"""``alpha-engine config``: show, history and rollback of the applied configuration (the Evaluator's
guarded auto-apply writes it; see docs/evaluator.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._common import (
    ConfigOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
    parse_date,
    utc_now,
)

if TYPE_CHECKING:
    from alpha_engine.evaluator import ConfigBook

config_app = typer.Typer(help="The applied configuration: what is in force, every change and why, rollback.",
                         no_args_is_help=True)

KeyOption = typer.Option(None, "--key", help="executor_params or predictor_params (default: every key).")


def _book(config: Path | None, workspace: Path | None, *, writable: bool = False) -> ConfigBook:
    from alpha_engine.evaluator import ConfigBook

    settings, app = load_configured(config, workspace)
    return ConfigBook(app.open_artifacts(settings, read_only=not writable))


def _keys(key: str | None) -> list[str]:
    from alpha_engine.evaluator import CONFIG_KEYS

    if key is None:
        return list(CONFIG_KEYS)
    if key not in CONFIG_KEYS:
        raise UsageError(f"--key {key!r} is not a config key; known: {', '.join(CONFIG_KEYS)}")
    return [key]


def _values(changed: dict[str, list[Any]]) -> str:
    return ", ".join(f"{name} {json.dumps(a)} -> {json.dumps(b)}" for name, (a, b) in changed.items()) or "no value changed"


@config_app.command("show")
@command
def show_cmd(key: str = KeyOption, as_json: bool = JsonOption, config: Path = ConfigOption,
             workspace: Path = WorkspaceOption) -> None:
    """The applied config in force per key (or that the settings / defaults are in force)."""
    book = _book(config, workspace)
    shown = {k: book.active(k) for k in _keys(key)}
    if as_json:
        emit_json(shown)
        return
    for name, document in shown.items():
        if document is None:
            typer.echo(f"{name}: nothing applied; the settings or defaults are in force")
            continue
        typer.echo(f"{name}: {document['origin']} {document['run_date'] or ''} (change {document['change']}, from "
                   f"{document['source']})")
        typer.echo(json.dumps(document["values"], indent=2, sort_keys=True))


@config_app.command("history")
@command
def history_cmd(key: str = KeyOption, as_json: bool = JsonOption, config: Path = ConfigOption,
                workspace: Path = WorkspaceOption) -> None:
    """Every change of the applied config, oldest first: date, key, action (apply / rollback / manual),
    from -> to, the evidence and the execution; --json prints the whole change log."""
    book = _book(config, workspace)
    keys = _keys(key)
    changes = [c for c in book.changes() if c["key"] in keys]
    if as_json:
        emit_json(changes)
        return
    if not changes:
        typer.echo("(no config changes recorded)")
    for c in changes:
        when = c["run_date"] or c.get("recorded_at", "")
        typer.echo(f"#{c['seq']} {when}  {c['key']:<16} {c['action']:<8} by {c['by']}"
                   f"{' (execution ' + c['execution'] + ')' if c['execution'] else ''}: {_values(c['changed'])}")
        evidence = c["evidence"]
        if c["action"] == "apply":
            interval = evidence.get("holdout_sharpe_difference") or evidence.get("interval") or {}
            typer.echo(f"    evidence: {evidence.get('source')}: {evidence.get('recommendation')}, Sharpe difference "
                       f"{interval.get('estimate')} [{interval.get('ci_low')}, {interval.get('ci_high')}], "
                       f"thresholds {json.dumps(evidence.get('thresholds', {}), sort_keys=True)}")
        elif c["action"] == "rollback":
            typer.echo(f"    regression vs the baseline of {evidence.get('baseline')}: "
                       f"{'; '.join(evidence.get('reasons', []))}")
        else:
            typer.echo(f"    restored {c['restored_from']}: {evidence.get('reason', '')}")


@config_app.command("rollback")
@command
def rollback_cmd(key: str = KeyOption,
                 all_keys: bool = typer.Option(False, "--all", help="Roll back every key that has something to roll back."),
                 to: str = typer.Option(None, "--to", help="Restore the config applied on this date (YYYY-MM-DD) "
                                                           "instead of the _previous snapshot; needs --key."),
                 reason: str = typer.Option("manual rollback", "--reason", help="Recorded in the change log."),
                 as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Restore a key's config from before its last apply (its _previous file), or the one applied on
    --to DATE; recorded as a manual change. Refused (exit 1) when there is nothing to roll back,
    and (exit 75) while a run holds the workspace."""
    from alpha_engine.evaluator import ConfigBook
    from alpha_engine.pipeline import WorkspaceLock

    if (key is None) == (not all_keys):
        raise UsageError("name one key with --key K, or every key with --all")
    if to is not None and all_keys:
        raise UsageError("--to restores one key's dated config: use it with --key, not --all")
    if to is not None:
        to = parse_date(to, "--to").isoformat()
    settings, pipeline_app = load_configured(config, workspace)
    # A running execution's Evaluator may apply or roll back config: one writer at a time, so the
    # rollback takes the run lock (refused with exit 75, naming the run, while one is in progress).
    with WorkspaceLock(settings.workspace, command="config rollback", execution="(none: a manual config rollback)"):
        _rollback(ConfigBook(pipeline_app.open_artifacts(settings, read_only=False)), key, all_keys=all_keys, to=to,
                  reason=reason, as_json=as_json)


def _rollback(book: ConfigBook, key: str | None, *, all_keys: bool, to: str | None, reason: str,
              as_json: bool) -> None:
    from alpha_engine.evaluator import ConfigChangeError

    stamp = utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
    done: list[dict[str, Any]] = []
    refused: list[str] = []
    for name in _keys(key):
        try:
            done.append(book.rollback(name, to=to, run_date=None, by="cli", action="manual",
                                      evidence={"reason": reason}, recorded_at=stamp))
        except ConfigChangeError as exc:
            if not all_keys:
                raise
            refused.append(str(exc))
    if not done:
        raise ConfigChangeError("nothing to roll back: " + "; ".join(refused))
    _supersede_baseline(book, done)
    if as_json:
        emit_json(done)
        return
    for entry in done:
        typer.echo(f"{entry['key']}: restored {entry['restored_from']} (change {entry['seq']}): {_values(entry['changed'])}")


def _supersede_baseline(book: ConfigBook, done: list[dict[str, Any]]) -> None:
    """A manual change of a key the promotion baseline applied ends that baseline: the weekly check
    must not compare a config that is no longer in force (nor roll back over the operator)."""
    from alpha_engine.evaluator import PROMOTION_BASELINE

    store = book.store
    if not store.exists(PROMOTION_BASELINE.key):
        return
    baseline = dict(store.read_json(PROMOTION_BASELINE.key))
    touched = [e for e in done if e["key"] in baseline["keys"]]
    if baseline["status"] == "active" and touched:
        store.write_json(PROMOTION_BASELINE.key, {**baseline, "status": "superseded", "superseded_by": touched[0]["seq"]})
