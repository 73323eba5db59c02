"""Time the Research stage (deterministic backend) on the bundled sample.

    PYTHONPATH=src python bench/bench_research.py

Ingests the sample into a temporary workspace (DataPhase1, Scanner; not timed), then runs the
Research stage and prints its duration as the stage runner measures it (store reads, every role,
decision capture, research.db, signals).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from alpha_engine.config import load_settings
from alpha_engine.pipeline import run_stage

RUN_DATE = date(2022, 12, 31)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(workspace=Path(tmp) / "ws", env={})
        for slug in ("data-phase1", "scanner"):
            report = run_stage(slug, RUN_DATE, settings=settings)
            if report.status != "ok":
                raise SystemExit(f"{slug}: {report.error}")
        report = run_stage("research", RUN_DATE, settings=settings, now=lambda: datetime(2023, 1, 1, tzinfo=UTC))
        if report.status != "ok":
            raise SystemExit(f"research: {report.error}")
        print(f"research stage: {report.duration_seconds:.2f} s ({report.summary['decisions_captured']} decisions, "
              f"{report.summary['universe']} tickers in the universe)")


if __name__ == "__main__":
    main()
