"""No direct wall-clock or random call in the runtime or in stage code.

The runtime takes every timestamp, id and random draw from the engine's Clock and IdSource, and
stages take time and randomness from their context (``ctx.now``, ``ctx.seed``), so the same
inputs, run_date and seed give the same artifacts. The framework's operational records (health
marker times, log keys, execution names) are wall-clock by nature and are not scanned.
"""

from __future__ import annotations

from pathlib import Path

from alpha_engine.sfn.testing import scan_for_nondeterminism

REPO_ROOT = Path(__file__).resolve().parents[1]

# The runtime, and every domain package (stage code).
SCANNED_ROOTS = ["src/alpha_engine/sfn", "src/alpha_engine/data", "src/alpha_engine/predictor",
                 "src/alpha_engine/research", "src/alpha_engine/health", "src/alpha_engine/backtest",
                 "src/alpha_engine/evaluator", "src/alpha_engine/rag", "src/alpha_engine/regime",
                 "src/alpha_engine/monitor"]

# The only places allowed to touch real time or real entropy, each with its reason.
ALLOWED: list[tuple[str, str]] = [
    # SystemClock.now() *is* the real clock every production engine is given.
    ("src/alpha_engine/sfn/_clock.py", "datetime.datetime.now"),
    # IdSource() without a seed seeds itself from the OS once; a seeded IdSource never does.
    ("src/alpha_engine/sfn/_clock.py", "os.urandom"),
    # The Lambda child process bounds its own real run time (context.get_remaining_time_in_millis):
    # a real process on a real CPU, not engine state, so it is measured in monotonic real time.
    ("src/alpha_engine/sfn/services/_lambda_child.py", "time.monotonic"),
    # HTTP retries and the rate limiter pace real requests to a real server; both take the clock as
    # a parameter (tests inject a fake one) and default to monotonic real time.
    ("src/alpha_engine/data/providers/_factory.py", "time.monotonic"),
    ("src/alpha_engine/data/providers/_http.py", "time.monotonic"),
    # Training logs how long each phase took (progress on long work); no artifact holds the times.
    ("src/alpha_engine/predictor/_training.py", "time.perf_counter"),
    # The Evaluator logs each grading module's time (progress); the evaluation documents hold none.
    ("src/alpha_engine/evaluator/_completeness.py", "time.perf_counter"),
    # An ingestion's IngestionStats.seconds goes to the stage summary and the log, never the report.
    ("src/alpha_engine/rag/_index.py", "time.perf_counter"),
    ("src/alpha_engine/rag/_postgres.py", "time.perf_counter"),
    # The Backtester logs the sweep's progress and puts its wall time in the stage summary, never in
    # the backtest documents (a second run writes the same bytes: tests/backtest).
    ("src/alpha_engine/backtest/_backtester.py", "time.perf_counter"),
]


def _roots() -> list[Path]:
    return [REPO_ROOT / root for root in SCANNED_ROOTS]


def test_runtime_and_stage_code_read_no_wall_clock_or_random_source_directly() -> None:
    findings = scan_for_nondeterminism(_roots(), allow=ALLOWED)
    assert findings == [], "\n".join(str(f) for f in findings)


def test_every_allowlist_entry_is_still_needed() -> None:
    # An entry whose code is gone would silently allow a new use later: remove it instead.
    found = {(f.path.relative_to(REPO_ROOT).as_posix(), f.name) for f in scan_for_nondeterminism(_roots())}
    assert set(ALLOWED) <= found


def test_a_planted_wall_clock_call_in_a_stage_module_is_found(tmp_path: Path) -> None:
    stage = tmp_path / "data" / "_stages.py"
    stage.parent.mkdir()
    stage.write_text("from datetime import datetime\n\ndef run(ctx):\n    return datetime.now()\n")
    findings = scan_for_nondeterminism([*_roots(), tmp_path], allow=ALLOWED)
    assert [(f.path, f.name, f.line) for f in findings] == [(stage, "datetime.datetime.now", 4)]
