"""Replay: the promotion gate week by week on the bundled sample, against the old rule.

The audit found that on the sample a pipeline started ten weeks before the end of the data would
have promoted a no-skill model to full champion under the old rule (CPCV mean IC > 0) and kept it
for twelve weeks. This replays the weekly retrain: for each Saturday run date of the last
``--weeks`` weeks of the sample, the data up to that week's last session is read from a market
store filled by DataPhase1, ``train_predictor`` trains with PredictorTraining's default config
(its trials recorded in a fresh registry, as the stage does), and :func:`decide` decides; the
decision is recorded and applied. Printed per week: the challenger's IC and 95% Newey-West
interval, its DSR, the action, the champion's status after, and whether the old rule would have
promoted it. The last line counts the weeks a full champion served under each rule.

    .venv/bin/python bench/replay_promotion.py [--weeks 22] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from alpha_engine.config import load_settings
from alpha_engine.data import FEATURE_ORDER, WEEKLY_MANIFEST
from alpha_engine.pipeline import run_stage
from alpha_engine.predictor import (
    Evidence,
    ModelRegistry,
    TrainingConfig,
    apply_decision,
    decide,
    train_predictor,
    training_rows,
)
from alpha_engine.store import ArtifactStore, MarketStore, TradingCalendar

LAST_RUN_DATE = date(2022, 12, 31)  # the sample's last Saturday (closes to 2022-12-28)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=22)
    parser.add_argument("--workspace", type=Path, default=None, help="default: a temporary directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = args.workspace or Path(tmp) / "ws"
        replay(workspace, args.weeks)


def replay(workspace: Path, weeks: int) -> None:
    settings = load_settings(workspace=workspace, env={})
    started = time.perf_counter()
    ingest = run_stage("data-phase1", LAST_RUN_DATE, settings=settings)
    if ingest.status != "ok":
        raise SystemExit(f"DataPhase1 failed: {ingest.error}")
    store = MarketStore(settings.data.market_store_uri, feature_columns=FEATURE_ORDER, read_only=True)
    market_symbol = ArtifactStore(settings.artifacts_uri).read_json(
        WEEKLY_MANIFEST.format(LAST_RUN_DATE))["market_symbol"]
    registry = ModelRegistry(ArtifactStore(workspace / "replay-registry"))
    calendar = TradingCalendar()
    config = TrainingConfig()
    print(f"sample ingested in {time.perf_counter() - started:.0f} s; config: PredictorTraining defaults "
          f"(horizon {config.horizon}, execution lag {config.execution_lag})")
    print(f"{'run date':<11} {'IC':>8} {'95% NW CI':>20} {'DSR':>6} {'CPCV':>8}  {'old rule':<9} "
          f"{'action':<20} champion after")
    full_new = full_old = 0
    old_champion = False
    for week in range(weeks - 1, -1, -1):
        run_date = LAST_RUN_DATE - timedelta(weeks=week)
        as_of = calendar.as_of_session(run_date)
        t0 = time.perf_counter()
        dataset, vintage, _ = training_rows(store, calendar, as_of, market_symbol, horizon=config.horizon,
                                            label_clip=config.label_clip, execution_lag=config.execution_lag)
        trials = [t["sharpe"] for t in registry.trials(excluding=(run_date.isoformat(), config.model_dump()))]
        result = train_predictor(dataset, config, data_vintage=vintage, prior_trial_sharpes=trials)
        version = registry.register(result.files, result.manifest, label="predictor", run_date=run_date.isoformat())
        evidence = Evidence(result.manifest["config"], result.manifest["validation"], result.meta_ic)
        decision = decide(registry, version, evidence, run_date=run_date.isoformat(), serve_provisional=True,
                          remeasure=_no_remeasure)
        registry.record_decision(decision)
        apply_decision(registry, decision)
        action = decision["action"]
        validation = result.manifest["validation"]
        cpcv = validation["cpcv"]["mean_ic"]
        # The old rule: the first model with CPCV IC > 0 became full champion, and a retrain of the same
        # config never displaced it, nothing demoted it.
        old_champion = old_champion or cpcv > 0
        full_old += old_champion
        full_now = not registry.champion_is_provisional()
        full_new += full_now
        interval = f"[{validation['ic_ci_low']:.4f}, {validation['ic_ci_high']:.4f}]"
        print(f"{run_date.isoformat():<11} {validation['meta_oos_ic']['mean']:>8.4f} {interval:>20} "
              f"{validation['dsr']:>6.3f} {cpcv:>8.4f}  {'full' if old_champion else '-':<9} {action:<20} "
              f"{'full' if full_now else 'provisional'}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nweeks with a full champion over {weeks} weekly runs: gate {full_new}, old rule (CPCV IC > 0) {full_old}; "
          f"total {time.perf_counter() - started:.0f} s")


def _no_remeasure(config: TrainingConfig) -> Evidence:
    raise AssertionError("one config throughout: every challenger is a refresh, so nothing is re-measured")


if __name__ == "__main__":
    main()
