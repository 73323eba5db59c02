"""The health overview: one read-only look at everything that watches the pipeline.

``alpha-engine health`` prints it. Sections, each from the place that owns it:

* **runs**: the pipeline app's last executions (the runtime's store), with run_date and shell flag;
* **stages**: each stage's health marker (``health/{slug}.json``): status, run_date, last success;
* **freshness**: the freshness monitor's last cycle (``_freshness_monitor/check_results.json``);
* **substrate**: the latest substrate report (``monitoring/substrate/{date}.json``);
* **watchdog**: the watchdog's last check (``<workspace>/_watchdog/last_check.json``);
* **alarms**: the recorded alarm states (``<workspace>/alarms.db``), those in ALARM first;
* **notifications**: the last outbox messages, and those a channel has not taken yet.

``attention`` lists, in that order, what an operator should look at, each with the command that
shows more; it is empty when everything is fine. A section whose source is absent says so
(``None``) instead of guessing: a monitor that never ran is itself an attention item.

Nothing is written: the stores are opened read-only and the runtime's store is only read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alpha_engine.config import Settings
from alpha_engine.health import FRESHNESS_RESULTS, SUBSTRATE_REPORT
from alpha_engine.monitor import ALARM, WATCHDOG_RESULTS, AlarmBook
from alpha_engine.notify import TOPICS, failed_deliveries
from alpha_engine.pipeline import ARTIFACTS, HEALTH_MARKER, LocalPipeline, PipelineApp
from alpha_engine.store import ArtifactStore, StoreError

__all__ = ["health_overview"]

_RUNS = 5
_NOTICES = 5


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read(store: ArtifactStore, key: str) -> tuple[Any, str | None]:
    """(payload, None), (None, None) when absent, or (None, error) when it cannot be read."""
    try:
        if not store.exists(key):
            return None, None
        return store.read_json(key), None
    except (StoreError, OSError, ValueError) as exc:
        return None, f"{key}: {exc}"


def _read_file(path: Path) -> tuple[Any, str | None]:
    """A workspace file's JSON, as :func:`_read`; a check that could not run (its ``error``) is an error."""
    if not path.exists():
        return None, None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{path}: {exc}"
    if isinstance(payload, dict) and payload.get("error"):
        return payload, f"its last check at {payload.get('checked_at')} could not run: {payload['error']}"
    return payload, None


def _runs(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    rows = []
    for record in pipeline.executions(limit=_RUNS):
        try:
            shell = bool(json.loads(record.input or "{}").get("shell_run", False))
        except ValueError:
            shell = False
        rows.append({"name": record.name, "status": record.status, "run_date": pipeline.run_date_of(record.arn),
                     "shell_run": shell, "started": _iso(record.start_date), "stopped": _iso(record.stop_date),
                     "error": record.error})
    return rows


def _stages(app: PipelineApp, store: ArtifactStore) -> list[dict[str, Any]]:
    rows = []
    for stage in app.graph.stages():
        marker, error = _read(store, HEALTH_MARKER.format(slug=stage.slug))
        marker = marker if isinstance(marker, dict) else {}
        rows.append({"stage": stage.name, "slug": stage.slug, "failure_class": stage.failure_class.value,
                     "status": marker.get("status", "unreadable" if error else "never_run"),
                     "run_date": marker.get("run_date"), "last_success": marker.get("last_success"),
                     "error": marker.get("error") or error})
    return rows


def _latest_substrate(store: ArtifactStore) -> tuple[Any, str | None]:
    try:
        keys = sorted(k for k in store.list(SUBSTRATE_REPORT.prefix) if k.endswith(".json"))
    except (StoreError, OSError) as exc:
        return None, f"{SUBSTRATE_REPORT.prefix}: {exc}"
    return _read(store, keys[-1]) if keys else (None, None)


def _alarms(workspace: Path) -> dict[str, Any]:
    states = AlarmBook(workspace / "alarms.db", read_only=True).states()
    counts: dict[str, int] = {}
    for state, _, _ in states.values():
        counts[state] = counts.get(state, 0) + 1
    firing = [{"alarm": name, "reason": reason, "since": at}
              for name, (state, reason, at) in sorted(states.items()) if state == ALARM]
    return {"evaluated": len(states), "counts": counts, "in_alarm": firing}


def _notifications(workspace: Path) -> dict[str, Any]:
    """The last messages of every topic's outbox (the pipeline's alerts and the watchdog's), newest
    first, and the deliveries a channel has not taken yet."""
    last: list[dict[str, Any]] = []
    for name in sorted(TOPICS):
        outbox = workspace / TOPICS[name]
        if not outbox.exists():
            continue
        for line in outbox.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line of a crashed writer
            if isinstance(record, dict):
                last.append({"timestamp": record.get("timestamp"), "topic": name, "subject": record.get("subject")})
    last.sort(key=lambda r: str(r["timestamp"]), reverse=True)
    return {"last": last[:_NOTICES], "undelivered": failed_deliveries(workspace)}


def _counts_line(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    if isinstance(payload.get("counts"), dict):
        return dict(payload["counts"])
    counts: dict[str, int] = {}  # the watchdog: one verdict per schedule
    for verdict in payload.get("verdicts", []):
        if isinstance(verdict, dict):
            counts[str(verdict.get("status"))] = counts.get(str(verdict.get("status")), 0) + 1
    return counts


def _attention(overview: dict[str, Any]) -> list[str]:
    items: list[str] = []
    runs = overview["runs"]
    if not runs:
        items.append("no pipeline execution yet: start one with 'alpha-engine run'")
    elif runs[0]["status"] not in ("SUCCEEDED", "RUNNING"):
        items.append(f"the last execution {runs[0]['name']} is {runs[0]['status']}"
                     + (f" ({runs[0]['error']})" if runs[0]["error"] else "")
                     + f": see 'alpha-engine status {runs[0]['name']}'")
    bad = [s for s in overview["stages"] if s["status"] not in ("ok", "never_run")]
    for stage in bad:
        if stage["status"] == "unreadable":
            items.append(f"stage {stage['stage']} ({stage['failure_class']}): its health marker is unreadable: "
                         f"{stage['error']}")
            continue
        items.append(f"stage {stage['stage']} ({stage['failure_class']}) is {stage['status']} for run_date "
                     f"{stage['run_date']}: {stage['error'] or 'no error recorded'}")
    for name, what, command in (("freshness", "freshness monitor", "alpha-engine freshness check"),
                                ("substrate", "substrate check", "alpha-engine substrate check --cadence weekly"),
                                ("watchdog", "watchdog", "alpha-engine watchdog check")):
        section = overview[name]
        if section["error"]:
            items.append(f"the {what}'s last result cannot be used: {section['error']}")
        elif section["result"] is None:
            items.append(f"the {what} has not run here yet: run '{command}'")
        elif section["problems"]:
            items.append(f"{what}: {len(section['problems'])} problem(s), e.g. {section['problems'][0]}: "
                         f"run '{command}'")
    if not overview["alarms"]["evaluated"]:
        items.append("no alarm has been evaluated here yet: run 'alpha-engine alarms evaluate'")
    for alarm in overview["alarms"]["in_alarm"]:
        items.append(f"alarm {alarm['alarm']} is in ALARM since {alarm['since']}: {alarm['reason']}")
    for item in overview["notifications"]["undelivered"]:
        items.append(f"notification {item['subject']!r} not delivered to channel {item['channel']}: "
                     f"{item['error']}; retry with 'alpha-engine notify deliver'")
    return items


def _problems(name: str, payload: Any) -> list[str]:
    """The entries of a monitor's result that are not fine, as one line each."""
    if not isinstance(payload, dict):
        return []
    if name == "freshness":
        return [f"{r.get('artifact_id') or r.get('id')}: {r.get('state')}" for r in payload.get("results", [])
                if isinstance(r, dict) and r.get("state") not in ("fresh", "grace_period")]
    if name == "substrate":
        return [f"{r.get('id')}: {r.get('status')}" for r in payload.get("rows", [])
                if isinstance(r, dict) and r.get("status") in ("fail", "error")]
    return [f"{v.get('schedule')}: missed ({v.get('reason')})" for v in payload.get("verdicts", [])
            if isinstance(v, dict) and v.get("status") == "missed"]


def health_overview(settings: Settings, app: PipelineApp) -> dict[str, Any]:
    """The overview (module docstring) as one JSON-ready dict; never writes."""
    pipeline = LocalPipeline(settings, app=app)
    store = app.open_resources(settings, read_only=True).get(ARTIFACTS)
    overview: dict[str, Any] = {"workspace": str(settings.workspace), "runs": _runs(pipeline),
                                "stages": _stages(app, store)}
    sources = {"freshness": _read(store, FRESHNESS_RESULTS.key), "substrate": _latest_substrate(store),
               "watchdog": _read_file(settings.workspace / WATCHDOG_RESULTS)}
    for name, (payload, error) in sources.items():
        overview[name] = {"result": payload, "error": error, "counts": _counts_line(payload),
                          "problems": _problems(name, payload)}
    overview["alarms"] = _alarms(settings.workspace)
    overview["notifications"] = _notifications(settings.workspace)
    overview["attention"] = _attention(overview)
    return overview
