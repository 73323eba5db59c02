"""The stage runner: what a Task state executes (``alpha-engine stage run SLUG``).

One call boots the stage named by its slug, runs its preflight and then, unless the run is
preflight-only, its ``run``; it writes the health marker ``health/{slug}.json`` and returns a
:class:`StageReport` whose ``exit_code`` the CLI exits with:

====  ==================================================================
0     ok (under ``--preflight-only``: the preflight passed; nothing written)
1     the run failed (an exception in ``run`` or writing the health marker)
2     the preflight failed
64    usage: unknown stage, bad run date, bad config or stage graph
====  ==================================================================

Before the stage's own preflight, the runner probes every resource the stage requires (cheaply,
without opening it) and checks what the stage consumes: an artifact an
upstream stage has not produced yet is *pending* under ``--preflight-only`` (logged as "would
consume X from Y", listed in the report's ``summary.would_consume``, and visible to the stage
as ``ctx.is_pending``); on a real run a missing required one fails the preflight, naming the
stage that produces it.

Under ``--preflight-only`` the stores are opened read-only, so any write is an error, and no
health marker is written: a shell run leaves the stores byte-identical.

After a run that completed ok (health marker written), the runner emits the stage's heartbeat,
``AlphaEngine/Heartbeat`` with dimension ``Process=<slug>``, value 1, stamped with the run's clock
(``now``), to the ``METRICS`` resource when the app wires it. A failed run and a preflight-only run
emit none, so a heartbeat alarm notices work that did not happen. A heartbeat that cannot be
written is logged as an error; the stage's own outcome stands.

A :class:`~._polling.PollingStage` runs as three phases in an execution (``phase``): submit
(preflight, then the job, reported as ``summary.job``; no marker), poll (no preflight; the poll
status as ``summary.poll_status``; no marker unless it fails) and process (preflight, then the
stage's outcome: marker and heartbeat as for any run). Without a phase it runs all three inline.

On a real run launched by the local runtime, the stores are fenced by the task attempt's lease
(:class:`~._fence.LeaseFence`): once the attempt is no longer current (its execution ended, a
newer attempt started) every write, health marker included, is refused.

A stage run by the Batch binding gets a termination message file
(``SFN_TERMINATION_MESSAGE_PATH``): :func:`write_termination_message` puts the failure there
(``PreflightError: ...``), and the binding reports it as the job's ``Container.Reason``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alpha_engine.config import Settings
from alpha_engine.store import Artifact, Datapoint

from ._app import PipelineApp, load_app
from ._artifacts import HEALTH_MARKER
from ._errors import PreflightError, StageDefinitionError
from ._fence import LeaseFence
from ._graph import StageGraph
from ._polling import PHASES, PollingStage, poll_status, submitted_job
from ._resources import METRICS
from ._stage import Stage, StageContext, StageOutcome

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore

__all__ = [
    "HEARTBEAT_METRIC",
    "HEARTBEAT_NAMESPACE",
    "TERMINATION_MESSAGE_ENV",
    "ExitCode",
    "StageReport",
    "artifact_present",
    "heartbeat",
    "run_stage",
    "skipped_stages",
    "write_report",
    "write_termination_message",
]

# The Batch binding's name for it (alpha_engine.sfn.services.TERMINATION_MESSAGE_ENV, pinned by a
# test), spelled here so the stage process never imports the runtime.
TERMINATION_MESSAGE_ENV = "SFN_TERMINATION_MESSAGE_PATH"

# Upstream's liveness metric (saturday-sf.md §5): namespace AlphaEngine, metric Heartbeat, dimension
# Process = the stage's slug.
HEARTBEAT_NAMESPACE = "AlphaEngine"
HEARTBEAT_METRIC = "Heartbeat"


def heartbeat(process: str, at: datetime) -> Datapoint:
    """``AlphaEngine/Heartbeat{Process=process}`` = 1 (Count) at ``at``: the datapoint a completed
    stage, freshness cycle or watchdog check emits, and the weekly heartbeat alarms watch."""
    return Datapoint.of(HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC, 1.0, {"Process": process}, at, unit="Count")


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1
    PREFLIGHT_FAILED = 2
    USAGE = 64


@dataclass(frozen=True)
class StageReport:
    """The outcome of one stage process."""

    slug: str
    run_date: str
    preflight_only: bool
    status: str  # 'ok' | 'failed' | 'preflight_failed'
    exit_code: int
    duration_seconds: float
    summary: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["summary"] = dict(self.summary)
        out["warnings"] = list(self.warnings)
        return out


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _traceback(exc: BaseException) -> str:
    """The traceback a run failure logs after its message; none for a damaged market store, whose
    one line already names the directory and the recovery step (a traceback would bury it)."""
    from alpha_engine.store import MarketStoreCorruptError

    if isinstance(exc, MarketStoreCorruptError) or isinstance(exc.__cause__, MarketStoreCorruptError):
        return ""
    return "\n" + "".join(traceback.format_exception(exc)).rstrip()


class _StageLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every record with the stage and run date, and exposes them as record fields."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"[{extra['stage']} {extra['run_date']}] {msg}", kwargs


def stage_logger(slug: str, run_date: date, preflight_only: bool) -> logging.LoggerAdapter[logging.Logger]:
    return _StageLogAdapter(logging.getLogger(f"alpha_engine.stage.{slug}"),
                            {"stage": slug, "run_date": run_date.isoformat(), "preflight_only": preflight_only})


def _pending(store: ArtifactStore, stage: type[Stage[Any]], graph: StageGraph, run_date: date,
             *, preflight_only: bool, log: logging.LoggerAdapter[logging.Logger]) -> dict[str, str]:
    """Consumed artifacts not produced yet (key pattern -> "<key> from <producer>"): pending under
    preflight-only; a missing required one fails a real run's preflight, naming its producer."""
    producers = graph.producers()
    pending: dict[str, str] = {}
    for item in stage.consumptions():
        artifact = item.artifact
        if artifact_present(store, artifact, run_date):
            continue
        producer = producers.get(artifact.key, "an upstream stage")
        shown = artifact.run_key(run_date) or artifact.key
        if preflight_only:
            pending[artifact.key] = f"{shown} from {producer}"
            log.info("would consume %s from %s (not produced yet)", shown, producer)
        elif item.required:
            raise PreflightError(f"{shown} is missing: {producer} produces it upstream of {stage.name}; "
                                 f"run {producer} for run_date {run_date.isoformat()} first (or do not skip it)")
    return pending


def artifact_present(store: ArtifactStore, artifact: Artifact, run_date: date) -> bool:
    """Whether the run's key of ``artifact`` exists (any key of it, for a family such as a registry)."""
    key = artifact.run_key(run_date)
    if key is not None:
        return store.exists(key)
    return any(artifact.matches(key) for key in store.list(artifact.prefix))


def skipped_stages(graph: StageGraph, execution_input: Mapping[str, Any] | None) -> frozenset[str]:
    """Slugs of the stages an execution input skips (one of their ``Stage.skip_flags()`` is true, as
    the skip gates test)."""
    given = execution_input or {}
    return frozenset(stage.slug for stage in graph.stages()
                     if any(given.get(flag) is True for flag in stage.skip_flags()))


def run_stage(slug: str, run_date: date, *, settings: Settings, app: PipelineApp | None = None,
              preflight_only: bool = False, now: Callable[[], datetime] = _utc_now,
              execution_input: Mapping[str, Any] | None = None, phase: str | None = None,
              job: Mapping[str, Any] | None = None) -> StageReport:
    """Run one stage (see module docstring). Never raises for a stage's own failure; raises
    UnknownStageError/StageDefinitionError/ConfigError for a usage problem. ``execution_input`` is
    the execution's input, for a stage that declares ``receives_execution_input`` (``ctx.skipped``,
    ``ctx.execution_input``). ``phase`` (with ``job`` for poll and process) runs one phase of a
    :class:`PollingStage` (see :func:`_run_phase`); None runs the whole stage."""
    started = time.monotonic()
    app = app or load_app(settings.pipeline.app)
    stage_cls = app.graph.stage(slug)
    slug = stage_cls.slug
    if phase is not None:
        _check_phase(stage_cls, phase, job)
    options = app.stage_options(settings, stage_cls)
    log = stage_logger(slug, run_date, preflight_only)
    fence = None if preflight_only else LeaseFence.from_env()
    resources = app.open_resources(settings, read_only=preflight_only, stage=stage_cls, fence=fence)
    ctx: StageContext[Any] = StageContext(
        run_date=run_date, options=options, settings=settings, resources=resources, graph=app.graph, now=now,
        seed=settings.seed, logger=log, preflight_only=preflight_only,
        skipped=skipped_stages(app.graph, execution_input) if stage_cls.receives_execution_input else frozenset(),
        execution_input=dict(execution_input or {}) if stage_cls.receives_execution_input else {})
    stage: Stage[Any] = stage_cls()
    pending: dict[str, str] = {}

    def report(status: str, code: ExitCode, outcome: StageOutcome | None = None,
               error: str | None = None) -> StageReport:
        summary = dict(outcome.summary) if outcome else {}
        if pending:
            summary["would_consume"] = list(pending.values())
        return StageReport(slug=slug, run_date=run_date.isoformat(), preflight_only=preflight_only,
                           status=status, exit_code=int(code),
                           duration_seconds=round(time.monotonic() - started, 3),
                           summary=summary,
                           warnings=tuple(outcome.warnings) if outcome else (), error=error)

    if phase == "poll" and not preflight_only:
        return _run_poll_phase(stage, ctx, job or {}, report, now, log)
    log.info("preflight" + (" (preflight-only: stores are read-only)" if preflight_only else ""))
    try:
        for resource in stage_cls.requires:
            resources.probe(resource)
        pending = _pending(ctx.artifacts, stage_cls, app.graph, run_date, preflight_only=preflight_only, log=log)
        ctx = replace(ctx, pending=pending)
        stage.preflight(ctx)
    except Exception as exc:
        log.error("preflight failed: %s", _describe(exc))
        result = report("preflight_failed", ExitCode.PREFLIGHT_FAILED, error=_describe(exc))
        if not preflight_only:
            _write_failure_marker(ctx, result, now, log)
        return result
    if preflight_only:
        log.info("preflight passed; preflight-only run, nothing else runs")
        # A shell run's submit phase submits nothing: an empty job takes it straight to the
        # process phase, which runs its preflight too.
        empty = StageOutcome(summary={"job": {"status": "empty"}}) if phase == "submit" else None
        return report("ok", ExitCode.OK, empty)
    log.info("run" if phase is None else f"{phase} phase")
    try:
        if phase == "submit":
            assert isinstance(stage, PollingStage)
            submitted = submitted_job(stage, ctx)
            log.info("submitted: %s", submitted)
            return report("ok", ExitCode.OK, StageOutcome(summary={"job": submitted}))
        if phase == "process":
            assert isinstance(stage, PollingStage)
            outcome = stage.process(ctx, job or {}) or StageOutcome()
        else:
            outcome = stage.run(ctx) or StageOutcome()
    except Exception as exc:
        log.error("run failed: %s%s", _describe(exc), _traceback(exc))
        result = report("failed", ExitCode.RUN_FAILED, error=_describe(exc))
        _write_failure_marker(ctx, result, now, log)
        return result
    for warning in outcome.warnings:
        log.warning("%s", warning)
    result = report("ok", ExitCode.OK, outcome)
    try:
        _write_health_marker(ctx, result, now)
    except Exception as exc:
        log.error("could not write the health marker: %s", _describe(exc))
        return report("failed", ExitCode.RUN_FAILED, outcome, error=f"health marker not written: {_describe(exc)}")
    _emit_heartbeat(ctx, slug, now, log)
    log.info("done in %.1fs", result.duration_seconds)
    return result


def _check_phase(stage_cls: type[Stage[Any]], phase: str, job: Mapping[str, Any] | None) -> None:
    """A phase names a phase of a polling stage, and poll and process get the job submit returned."""
    if not issubclass(stage_cls, PollingStage):
        raise StageDefinitionError(f"stage {stage_cls.slug} is not a polling stage: it has no phase {phase!r} "
                                   "(run it without --phase)")
    if phase not in PHASES:
        raise StageDefinitionError(f"unknown phase {phase!r} for stage {stage_cls.slug}: one of {', '.join(PHASES)}")
    if phase != "submit" and not isinstance(job, Mapping):
        raise StageDefinitionError(f"the {phase} phase of {stage_cls.slug} needs the job its submit phase returned "
                                   "(--job JSON)")


def _run_poll_phase(stage: Stage[Any], ctx: StageContext[Any], job: Mapping[str, Any],
                    report: Callable[..., StageReport], now: Callable[[], datetime],
                    log: logging.LoggerAdapter[logging.Logger]) -> StageReport:
    """The poll phase: no preflight (it runs every ``wait_seconds`` and only asks the external
    service); a failure (the cap has passed, the service errs) is the stage's failure, marker
    included."""
    assert isinstance(stage, PollingStage)
    try:
        status = poll_status(stage, ctx, job)
    except Exception as exc:
        log.error("poll failed: %s", _describe(exc))
        result: StageReport = report("failed", ExitCode.RUN_FAILED, error=_describe(exc))
        _write_failure_marker(ctx, result, now, log)
        return result
    log.info("poll: %s", status)
    return report("ok", ExitCode.OK, StageOutcome(summary={"poll_status": status}))


def _emit_heartbeat(ctx: StageContext[Any], slug: str, now: Callable[[], datetime],
                    log: logging.LoggerAdapter[logging.Logger]) -> None:
    """``AlphaEngine/Heartbeat{Process=slug}`` = 1 for a completed run (see module docstring)."""
    resources = ctx.resources
    if not resources.wired(METRICS):
        return
    try:
        resources.get(METRICS).emit_many([heartbeat(slug, now())])
    except Exception as exc:
        log.error("could not emit the heartbeat %s/%s{Process=%s}: %s", HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC,
                  slug, _describe(exc))


def _write_health_marker(ctx: StageContext[Any], result: StageReport, now: Callable[[], datetime]) -> None:
    """``health/{slug}.json``; a failure keeps the previous ``last_success``."""
    key = HEALTH_MARKER.format(slug=result.slug)
    artifacts = ctx.artifacts
    last_success: str | None = None
    if result.status == "ok":
        last_success = now().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    elif artifacts.exists(key):
        try:
            last_success = artifacts.read_json(key).get("last_success")
        except Exception:
            last_success = None  # an unreadable old marker is replaced, not fatal
    artifacts.write_json(key, {
        "module": result.slug,
        "status": "ok" if result.status == "ok" else "failed",
        "last_success": last_success,
        "run_date": result.run_date,
        "duration_seconds": result.duration_seconds,
        "summary": dict(result.summary),
        "warnings": list(result.warnings),
        "error": result.error,
    })


def _write_failure_marker(ctx: StageContext[Any], result: StageReport, now: Callable[[], datetime],
                          log: logging.LoggerAdapter[logging.Logger]) -> None:
    """The failed health marker; a marker that cannot be written (a fenced write, say) is logged, and
    the stage's own failure stays the one reported."""
    try:
        _write_health_marker(ctx, result, now)
    except Exception as exc:
        log.error("could not write the health marker: %s", _describe(exc))


def write_report(path: Path, report: StageReport) -> None:
    """Write the report JSON atomically (temp file + rename) for whoever launched the stage."""
    _write_atomically(path, json.dumps(report.to_json(), indent=2, sort_keys=True))


def write_termination_message(report: StageReport, environ: Mapping[str, str] | None = None) -> Path | None:
    """For a failed stage whose launcher asked for one (``SFN_TERMINATION_MESSAGE_PATH``), write its
    error, ``"{ErrorType}: {message}"``, to that file; returns the file, or None if none was written."""
    target = (os.environ if environ is None else environ).get(TERMINATION_MESSAGE_ENV)
    if not target or report.exit_code == ExitCode.OK or not report.error:
        return None
    path = Path(target)
    _write_atomically(path, report.error)
    return path


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
