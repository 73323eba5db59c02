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

Under ``--preflight-only`` the stores are opened read-only, so any write is an error, and no
health marker is written: a shell run leaves the stores byte-identical.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from alpha_engine.config import Settings

from ._graph import StageGraph, load_graph
from ._stage import Stage, StageContext, StageOutcome, Stores

__all__ = ["ExitCode", "StageReport", "health_marker_key", "run_stage", "write_report"]


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


def health_marker_key(slug: str) -> str:
    return f"health/{slug}.json"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _StageLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every record with the stage and run date, and exposes them as record fields."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"[{extra['stage']} {extra['run_date']}] {msg}", kwargs


def stage_logger(slug: str, run_date: date, preflight_only: bool) -> logging.LoggerAdapter[logging.Logger]:
    return _StageLogAdapter(logging.getLogger(f"alpha_engine.stage.{slug}"),
                            {"stage": slug, "run_date": run_date.isoformat(), "preflight_only": preflight_only})


def run_stage(slug: str, run_date: date, *, settings: Settings, preflight_only: bool = False,
              graph: StageGraph | None = None, now: Callable[[], datetime] = _utc_now) -> StageReport:
    """Run one stage (see module docstring). Never raises for a stage's own failure."""
    started = time.monotonic()
    graph = graph or load_graph(settings.pipeline.graph)
    stage_cls = graph.stage(slug)
    log = stage_logger(slug, run_date, preflight_only)
    stores = Stores(settings, read_only=preflight_only)
    ctx = StageContext(run_date=run_date, settings=settings, stores=stores, now=now, seed=settings.seed,
                       logger=log, preflight_only=preflight_only, options=settings.stage_options(slug))
    stage: Stage = stage_cls(settings.stage_options(slug))

    def report(status: str, code: ExitCode, outcome: StageOutcome | None = None,
               error: str | None = None) -> StageReport:
        return StageReport(slug=slug, run_date=run_date.isoformat(), preflight_only=preflight_only,
                           status=status, exit_code=int(code),
                           duration_seconds=round(time.monotonic() - started, 3),
                           summary=dict(outcome.summary) if outcome else {},
                           warnings=tuple(outcome.warnings) if outcome else (), error=error)

    log.info("preflight" + (" (preflight-only: stores are read-only)" if preflight_only else ""))
    try:
        stage.preflight(ctx)
    except Exception as exc:
        log.error("preflight failed: %s", _describe(exc))
        result = report("preflight_failed", ExitCode.PREFLIGHT_FAILED, error=_describe(exc))
        if not preflight_only:
            _write_health_marker(ctx, result, now)
        return result
    if preflight_only:
        log.info("preflight passed; preflight-only run, nothing else runs")
        return report("ok", ExitCode.OK)
    log.info("run")
    try:
        outcome = stage.run(ctx) or StageOutcome()
    except Exception as exc:
        log.error("run failed: %s\n%s", _describe(exc), "".join(traceback.format_exception(exc)).rstrip())
        result = report("failed", ExitCode.RUN_FAILED, error=_describe(exc))
        _write_health_marker(ctx, result, now)
        return result
    for warning in outcome.warnings:
        log.warning("%s", warning)
    result = report("ok", ExitCode.OK, outcome)
    try:
        _write_health_marker(ctx, result, now)
    except Exception as exc:
        log.error("could not write the health marker: %s", _describe(exc))
        return report("failed", ExitCode.RUN_FAILED, outcome, error=f"health marker not written: {_describe(exc)}")
    log.info("done in %.1fs", result.duration_seconds)
    return result


def _write_health_marker(ctx: StageContext, result: StageReport, now: Callable[[], datetime]) -> None:
    """``health/{slug}.json``; a failure keeps the previous ``last_success``."""
    key = health_marker_key(result.slug)
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


def write_report(path: Path, report: StageReport) -> None:
    """Write the report JSON atomically (temp file + rename) for whoever launched the stage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(report.to_json(), out, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
