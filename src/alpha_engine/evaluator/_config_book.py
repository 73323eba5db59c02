"""The applied configuration in an artifact store: what is in force, its ``_previous`` snapshot and
dated history, and one change log recording every apply, rollback and manual change with its
evidence (backtester.md §1.1 "Config written back", §3 ``rollback``).

One table, :data:`CONFIG_KEYS`, names every key that can be applied; apply and rollback both go
through it, so no key can be applied without a rollback (upstream's ``research_params`` could:
pitfall 7). Each file is an envelope ``{key, values, origin, run_date, change, source}``: the
owning domain's schema checks ``values`` (an ExecutorConfig, the predictor's ``veto_confidence``).

Writes go through the store (temp-then-rename, fenced under a stage) in an order a crash can
resume: ``_previous`` snapshot, dated history, the change log entry (with the sha256 of the bytes
it puts in force), then the active file. :meth:`ConfigBook.complete` finishes an entry whose
active file was not written yet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alpha_engine.backtest import EXECUTOR_PARAMS, EXECUTOR_PARAMS_HISTORY, EXECUTOR_PARAMS_PREVIOUS
from alpha_engine.predictor import PREDICTOR_PARAMS, PREDICTOR_PARAMS_HISTORY, PREDICTOR_PARAMS_PREVIOUS
from alpha_engine.store import Artifact, ArtifactStore

from ._artifacts import CONFIG_CHANGES
from ._errors import ConfigChangeError

__all__ = ["CHANGE_ACTIONS", "CONFIG_KEYS", "ConfigBook", "ConfigKey"]

CHANGE_ACTIONS = ("apply", "rollback", "manual")


@dataclass(frozen=True)
class ConfigKey:
    """One applied config: the file in force, its snapshot before the last apply, its dated history."""

    name: str
    active: Artifact
    previous: Artifact
    history: Artifact


CONFIG_KEYS: dict[str, ConfigKey] = {
    "executor_params": ConfigKey("executor_params", EXECUTOR_PARAMS, EXECUTOR_PARAMS_PREVIOUS, EXECUTOR_PARAMS_HISTORY),
    "predictor_params": ConfigKey("predictor_params", PREDICTOR_PARAMS, PREDICTOR_PARAMS_PREVIOUS,
                                  PREDICTOR_PARAMS_HISTORY),
}


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _changed(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """param -> [from, to] for every value that differs (a missing side is None)."""
    before, after = before or {}, after or {}
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


class ConfigBook:
    """Reads and changes the applied configuration in ``store`` (see the module docstring)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @staticmethod
    def spec(key: str) -> ConfigKey:
        if key not in CONFIG_KEYS:
            raise ConfigChangeError(f"unknown config key {key!r}; known: {', '.join(CONFIG_KEYS)}")
        return CONFIG_KEYS[key]

    # -- reading -------------------------------------------------------------------------------

    def _bytes(self, key: str) -> bytes | None:
        return self.store.read_bytes(key) if self.store.exists(key) else None

    def active(self, key: str) -> dict[str, Any] | None:
        """The envelope in force for ``key``, or None (the settings or defaults are in force)."""
        artifact = self.spec(key).active
        return dict(self.store.read_json(artifact.key)) if self.store.exists(artifact.key) else None

    def previous(self, key: str) -> dict[str, Any] | None:
        artifact = self.spec(key).previous
        return dict(self.store.read_json(artifact.key)) if self.store.exists(artifact.key) else None

    def history_dates(self, key: str) -> list[str]:
        history = self.spec(key).history
        return sorted(k.rsplit("/", 1)[-1].removesuffix(".json") for k in self.store.list(history.prefix)
                      if history.matches(k))

    def changes(self, key: str | None = None) -> list[dict[str, Any]]:
        """Every recorded change, oldest first (of ``key`` only, when given)."""
        if key is not None:
            self.spec(key)
        if not self.store.exists(CONFIG_CHANGES.key):
            return []
        entries = list(self.store.read_json(CONFIG_CHANGES.key)["changes"])
        return [e for e in entries if key is None or e["key"] == key]

    def change_on(self, run_date: str, key: str, action: str) -> dict[str, Any] | None:
        """The change of ``action`` the Evaluator recorded for ``key`` on ``run_date`` (idempotent reruns)."""
        return next((e for e in self.changes(key) if e["run_date"] == run_date and e["action"] == action
                     and e["by"] == "evaluator"), None)

    # -- writing -------------------------------------------------------------------------------

    def _envelope(self, key: str, values: Mapping[str, Any], *, origin: str, run_date: str | None,
                  change: int | None, source: str) -> dict[str, Any]:
        return {"key": key, "values": dict(values), "origin": origin, "run_date": run_date, "change": change,
                "source": source}

    def _write_json(self, artifact: Artifact, key: str, document: Mapping[str, Any]) -> bytes:
        artifact.validate(dict(document), key=key, uri=self.store.uri)
        self.store.write_json(key, dict(document))
        return self.store.read_bytes(key)

    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        entries = self.changes()
        entry = {"seq": len(entries) + 1, **entry}
        self._write_json(CONFIG_CHANGES, CONFIG_CHANGES.key, {"changes": [*entries, entry]})
        return entry

    def apply(self, key: str, values: Mapping[str, Any], *, run_date: str, source: str, evidence: Mapping[str, Any],
              execution: str | None, in_force: Mapping[str, Any], in_force_source: str) -> dict[str, Any]:
        """Put ``values`` in force for ``key`` and return the change recorded.

        ``in_force`` are the values in force before (what the evidence was measured against): when no
        file is in force yet, the ``_previous`` snapshot records them with origin ``settings``, so a
        rollback restores exactly what was in force.
        """
        spec = self.spec(key)
        seq = len(self.changes()) + 1
        before = self._bytes(spec.active.key)
        if before is not None:
            self.store.write_bytes(spec.previous.key, before)
        else:
            self._write_json(spec.previous, spec.previous.key, self._envelope(
                key, in_force, origin="settings", run_date=None, change=None, source=in_force_source))
        document = self._envelope(key, values, origin="applied", run_date=run_date, change=seq, source=source)
        after = self._write_json(spec.history, spec.history.format(run_date), document)
        entry = self._record({
            "run_date": run_date, "key": key, "action": "apply", "by": "evaluator", "execution": execution,
            "from": dict(in_force), "to": dict(values), "changed": _changed(in_force, values),
            "sha256_before": _sha(before), "sha256_after": _sha(after), "restored_from": None,
            "evidence": dict(evidence)})
        self.store.write_bytes(spec.active.key, after)
        return entry

    def complete(self, entry: Mapping[str, Any]) -> bool:
        """Finish a recorded apply whose active file was not written (a crash between the two writes):
        when it is the key's latest change and the file in force differs, put its history bytes in force."""
        spec = self.spec(str(entry["key"]))
        latest = self.changes(spec.name)[-1]
        if latest["seq"] != entry["seq"] or _sha(self._bytes(spec.active.key)) == entry["sha256_after"]:
            return False
        data = self.store.read_bytes(spec.history.format(str(entry["run_date"])))
        if _sha(data) != entry["sha256_after"]:
            raise ConfigChangeError(f"config change {entry['seq']} ({spec.name}, {entry['run_date']}): "
                                    f"{spec.history.format(str(entry['run_date']))} no longer holds the applied bytes; "
                                    "restore it or roll back by hand (alpha-engine config rollback)")
        self.store.write_bytes(spec.active.key, data)
        return True

    def rollback(self, key: str, *, to: str | None = None, run_date: str | None, by: str, action: str,
                 evidence: Mapping[str, Any], execution: str | None = None,
                 recorded_at: str | None = None) -> dict[str, Any]:
        """Restore ``key``'s ``_previous`` bytes (or, with ``to``, its history file of that date) and
        record the change. Nothing to roll back (no snapshot, or it is what is in force) is a
        :class:`ConfigChangeError` and writes nothing."""
        spec = self.spec(key)
        before = self._bytes(spec.active.key)
        if to is None:
            source = spec.previous.key
            data = self._bytes(source)
            if data is None:
                raise ConfigChangeError(f"nothing to roll back for {key}: {source} does not exist (no config has "
                                        "been applied yet)")
        else:
            source = spec.history.format(to)
            data = self._bytes(source)
            if data is None:
                dates = self.history_dates(key)
                raise ConfigChangeError(f"no {key} was applied on {to}: {source} does not exist; applied on: "
                                        f"{', '.join(dates) or 'no date yet'}")
        if data == before:
            raise ConfigChangeError(f"nothing to roll back for {key}: {spec.active.key} already holds the bytes of "
                                    f"{source}")
        restored = json.loads(data)
        spec.active.validate(restored, key=source, uri=self.store.uri)
        current = json.loads(before) if before is not None else None
        if to is not None and before is not None:
            self.store.write_bytes(spec.previous.key, before)  # a dated restore can itself be rolled back
        entry = self._record({
            "run_date": run_date, "key": key, "action": action, "by": by, "execution": execution,
            **({"recorded_at": recorded_at} if recorded_at else {}),
            "from": current["values"] if current else None, "to": restored["values"],
            "changed": _changed(current["values"] if current else None, restored["values"]),
            "sha256_before": _sha(before), "sha256_after": _sha(data), "restored_from": source,
            "evidence": dict(evidence)})
        self.store.write_bytes(spec.active.key, data)
        return entry
