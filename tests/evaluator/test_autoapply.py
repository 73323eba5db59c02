"""The config auto-apply's guardrails, baseline and regression rollback, each shown failing on a planted
flaw: on an artifact store with the graph's contracts, with the evidence documents built here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.backtest import (
    EXECUTOR_PARAMS,
    EXECUTOR_PARAMS_HISTORY,
    EXECUTOR_PARAMS_PREVIOUS,
    ExecutorConfig,
)
from alpha_engine.evaluator import (
    CONFIG_CHANGES,
    METRICS_HISTORY,
    PROMOTION_BASELINE,
    AutoApplyOptions,
    ConfigBook,
    Evaluator,
    SkipModule,
    auto_apply,
    check_regression,
)
from alpha_engine.predictor import PREDICTOR_PARAMS
from alpha_engine.store import ArtifactStore

LOG = logging.getLogger("test_autoapply")
WEEK1, WEEK2 = "2022-12-31", "2023-01-07"
CURRENT = ExecutorConfig().model_dump(mode="json")
PROPOSED = {**CURRENT, "min_score": 75.0, "atr_multiplier": 2.5}
REC_KEY, PREC_KEY, STATS_KEY = "backtest/{d}/executor_rec.json", "backtest/{d}/predictor_rec.json", \
    "backtest/{d}/portfolio_stats.json"


def executor_rec(*, low: float = 0.05, recommendation: str = "apply", current: dict[str, Any] | None = None,
                 proposed: dict[str, Any] | None = None, completion: float = 0.9) -> dict[str, Any]:
    return {"recommendation": recommendation, "reasons": ["planted"], "current": current or CURRENT,
            "proposed": proposed or PROPOSED, "completion": completion, "signal_source": "synthetic",
            "config_source": "factory defaults",
            "holdout_sharpe_difference": {"estimate": 0.2, "ci_low": low, "ci_high": 0.4, "confidence": 0.95},
            "twin": {"proposed": {"sharpe_ratio": 0.8, "max_drawdown": -0.20, "total_alpha": 0.1,
                                  "intervals": {"sharpe_ratio": [0.5, 1.1]}}}}


def stats(*, sharpe: float, drawdown: float = -0.20, config: dict[str, Any] | None = None,
          ci: tuple[float, float] | None = None) -> dict[str, Any]:
    low, high = ci or (sharpe - 0.3, sharpe + 0.3)
    return {"sharpe_ratio": sharpe, "max_drawdown": drawdown, "total_alpha": 0.05, "config": config or CURRENT,
            "config_source": "factory defaults", "intervals": {"sharpe_ratio": [low, high]}}


def predictor_rec(*, recommended: float = 0.70, current: float = 0.65, low: float = 0.02) -> dict[str, Any]:
    return {"recommendation": "apply", "recommended_veto_confidence": recommended, "current_veto_confidence": current,
            "sharpe_difference": {"estimate": 0.1, "ci_low": low, "ci_high": 0.2, "confidence": 0.95}}


@pytest.fixture
def book(tmp_path: Path) -> ConfigBook:
    return ConfigBook(ArtifactStore(tmp_path / "artifacts", contracts=SATURDAY_GRAPH.contracts()))


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, subject: str, message: str) -> None:
        self.sent.append((subject, message))


def run(book: ConfigBook, day: str, *, rec: dict[str, Any] | None = None, prec: dict[str, Any] | None = None,
        week: dict[str, Any] | None = None, outbox: Outbox | None = None, **options: Any) -> dict[str, Any]:
    result = auto_apply(book, run_date=day, executor_rec=(REC_KEY.format(d=day), rec),
                        predictor_rec=(PREC_KEY.format(d=day), prec), portfolio_stats=(STATS_KEY.format(d=day), week),
                        options=AutoApplyOptions(**options), notify=outbox or Outbox(), log=LOG)
    return result.data


def files(book: ConfigBook) -> dict[str, bytes]:
    return {key: book.store.read_bytes(key) for key in book.store.list("config/")}


def test_the_evaluator_updates_the_config_under_its_owners_contracts() -> None:
    contracts = SATURDAY_GRAPH.contracts()
    assert contracts.artifact_for("config/executor_params.json") is EXECUTOR_PARAMS
    assert contracts.artifact_for("config/predictor_params_history/2022-12-31.json") is not None
    assert EXECUTOR_PARAMS.package == "alpha_engine.backtest" and PREDICTOR_PARAMS.package == "alpha_engine.predictor"
    assert EXECUTOR_PARAMS in Evaluator.updates and EXECUTOR_PARAMS not in Evaluator.produces


def test_an_apply_with_an_interval_that_includes_zero_is_not_applied(book: ConfigBook) -> None:
    data = run(book, WEEK1, rec=executor_rec(low=-0.01), week=stats(sharpe=0.6))
    assert data["executor_params"]["apply"] is False
    assert any("lower bound -0.01 is not above 0" in f for f in data["executor_params"]["failed"])
    assert not book.store.exists(EXECUTOR_PARAMS.key) and not book.store.exists(CONFIG_CHANGES.key)
    assert data["applied"] == []


def test_a_recommendation_that_passes_every_guard_is_applied_with_its_evidence(book: ConfigBook) -> None:
    data = run(book, WEEK1, rec=executor_rec(), week=stats(sharpe=0.6))
    assert data["applied"] == ["executor_params"] and data["executor_params"]["change"] == 1
    active = book.active("executor_params")
    assert active is not None and active["values"] == PROPOSED and active["origin"] == "applied"
    ExecutorConfig.model_validate(active["values"])  # the owning domain's type
    previous = book.previous("executor_params")
    assert previous is not None and previous["values"] == CURRENT and previous["origin"] == "settings"
    assert book.store.read_bytes(EXECUTOR_PARAMS_HISTORY.format(WEEK1)) == book.store.read_bytes(EXECUTOR_PARAMS.key)
    (change,) = book.changes()
    assert change["action"] == "apply" and change["changed"] == {"atr_multiplier": [3.0, 2.5], "min_score": [70.0, 75.0]}
    assert change["evidence"]["holdout_sharpe_difference"]["ci_low"] == 0.05
    assert change["evidence"]["thresholds"]["holdout_ci_low_above"] == 0.0
    baseline = book.store.read_json(PROMOTION_BASELINE.key)
    assert baseline["keys"] == ["executor_params"] and baseline["metrics"]["sharpe_ci"] == [0.5, 1.1]
    assert baseline["executor_config"] == PROPOSED  # the twin's proposed side: what the applied config achieved


@pytest.mark.parametrize(("flaw", "rec", "why"), [
    ("keep", executor_rec(recommendation="keep"), "recommends 'keep'"),
    ("low completion", executor_rec(completion=0.3), "completion 0.3 is below 0.5"),
    ("too large a move", executor_rec(proposed={**CURRENT, "max_position_pct": 0.15}), "max_position_pct would change"),
    ("nothing changes", executor_rec(proposed=CURRENT), "equal the current ones"),
])
def test_each_executor_guard_refuses_its_planted_flaw(book: ConfigBook, flaw: str, rec: dict[str, Any], why: str) -> None:
    data = run(book, WEEK1, rec=rec)
    assert data["executor_params"]["apply"] is False, flaw
    assert any(why in f for f in data["executor_params"]["failed"]), data["executor_params"]["failed"]
    assert not book.store.exists(EXECUTOR_PARAMS.key)


def test_a_recommendation_measured_against_another_config_is_stale(book: ConfigBook) -> None:
    run(book, WEEK1, rec=executor_rec())
    data = run(book, WEEK2, rec=executor_rec(current=CURRENT, proposed={**CURRENT, "min_score": 65.0}))
    assert data["executor_params"]["apply"] is False
    assert any("stale" in f for f in data["executor_params"]["failed"])


def test_freeze_computes_would_apply_and_writes_nothing(book: ConfigBook) -> None:
    data = run(book, WEEK1, rec=executor_rec(), prec=predictor_rec(), week=stats(sharpe=0.6), freeze=True)
    assert data["frozen"] and data["executor_params"]["would_apply"] and data["predictor_params"]["would_apply"]
    assert data["applied"] == [] and files(book) == {}


def test_a_rerun_of_the_same_run_date_applies_once_and_reports_the_same(book: ConfigBook) -> None:
    first = run(book, WEEK1, rec=executor_rec(), prec=predictor_rec(), week=stats(sharpe=0.6))
    written = files(book)
    again = run(book, WEEK1, rec=executor_rec(), prec=predictor_rec(), week=stats(sharpe=0.6))
    assert again == first and files(book) == written
    assert [c["seq"] for c in book.changes()] == [1, 2]


def test_an_apply_recorded_but_not_put_in_force_is_completed_by_the_rerun(book: ConfigBook) -> None:
    run(book, WEEK1, rec=executor_rec())
    applied = book.store.read_bytes(EXECUTOR_PARAMS.key)
    book.store.delete(EXECUTOR_PARAMS.key)  # planted: the process died between the change log and the active file
    run(book, WEEK1, rec=executor_rec())
    assert book.store.read_bytes(EXECUTOR_PARAMS.key) == applied and len(book.changes()) == 1


def test_the_veto_threshold_is_merged_only_past_its_guards(book: ConfigBook) -> None:
    assert run(book, WEEK1, prec=predictor_rec(low=0.0))["predictor_params"]["apply"] is False
    small = run(book, WEEK1, prec=predictor_rec(recommended=0.68))["predictor_params"]
    assert small["apply"] is False and any("smaller than 0.05" in f for f in small["failed"])
    assert not book.store.exists(PREDICTOR_PARAMS.key)
    # another key already in force is kept by the merge (upstream's veto apply dropped it)
    book.store.write_json(PREDICTOR_PARAMS.key, {"key": "predictor_params", "values": {
        "veto_confidence": 0.65, "recommended_signal_threshold": 0.01}, "origin": "manual", "run_date": None,
        "change": None, "source": "test"})
    data = run(book, WEEK2, prec=predictor_rec())
    assert data["predictor_params"]["apply"] is True
    active = book.active("predictor_params")
    assert active is not None and active["values"] == {"veto_confidence": 0.70, "recommended_signal_threshold": 0.01}


def test_a_missing_predictor_rec_degrades_and_nothing_at_all_skips(book: ConfigBook) -> None:
    result = auto_apply(book, run_date=WEEK1, executor_rec=("e", executor_rec(low=-1)), predictor_rec=("p", None),
                        portfolio_stats=("s", None), options=AutoApplyOptions(), notify=Outbox(), log=LOG)
    assert result.degraded == ("no p",)
    with pytest.raises(SkipModule, match="nothing to decide"):
        auto_apply(book, run_date=WEEK1, executor_rec=("e", None), predictor_rec=("p", None),
                   portfolio_stats=("s", None), options=AutoApplyOptions(), notify=Outbox(), log=LOG)


def test_a_planted_regression_rolls_back_notifies_once_and_a_rerun_does_nothing_again(book: ConfigBook) -> None:
    run(book, WEEK1, rec=executor_rec(), week=stats(sharpe=0.6))
    previous = book.store.read_bytes(EXECUTOR_PARAMS_PREVIOUS.key)
    outbox = Outbox()
    bad_week = stats(sharpe=0.3, config=PROPOSED)  # below the baseline's interval low 0.5
    data = run(book, WEEK2, week=bad_week, outbox=outbox)
    assert data["regression"]["status"] == "regressed" and data["regression"]["rolled_back"] == {"executor_params": 2}
    assert book.store.read_bytes(EXECUTOR_PARAMS.key) == previous  # the exact bytes in force before the apply
    assert len(outbox.sent) == 1 and "rolled back executor_params" in outbox.sent[0][1]
    rollback = book.changes()[-1]
    assert rollback["action"] == "rollback" and rollback["evidence"]["baseline"] == WEEK1
    assert "below the baseline's 95% interval low 0.500" in rollback["evidence"]["reasons"][0]
    assert book.store.read_json(PROMOTION_BASELINE.key)["status"] == "rolled_back"
    written = files(book)
    again = run(book, WEEK2, week=bad_week, outbox=outbox)
    assert again == data and files(book) == written and len(outbox.sent) == 1 and len(book.changes()) == 2


def test_a_point_drop_inside_the_baseline_interval_is_not_a_regression(book: ConfigBook) -> None:
    run(book, WEEK1, rec=executor_rec(), week=stats(sharpe=0.6))
    data = run(book, WEEK2, week=stats(sharpe=0.6, config=PROPOSED))  # 25 % below 0.8, inside [0.5, 1.1]
    assert data["regression"]["status"] == "ok" and book.active("executor_params")["values"] == PROPOSED  # type: ignore[index]
    assert book.store.exists(METRICS_HISTORY.format(WEEK2))


def test_a_drawdown_worse_than_the_threshold_is_a_regression_and_freeze_only_reports_it(book: ConfigBook) -> None:
    run(book, WEEK1, rec=executor_rec(), week=stats(sharpe=0.6))
    written = files(book)
    data = run(book, WEEK2, week=stats(sharpe=0.8, drawdown=-0.30, config=PROPOSED), freeze=True)
    assert data["regression"]["status"] == "regressed" and data["regression"]["would_roll_back"] == ["executor_params"]
    assert files(book) == written  # frozen: nothing rolled back, nothing recorded


def test_the_regression_check_compares_only_the_baselines_own_config() -> None:
    baseline = {"run_date": WEEK1, "status": "active", "executor_config": PROPOSED,
                "metrics": {"sharpe_ci": [0.5, 1.1], "max_drawdown": -0.2}}
    week = {"sharpe_ratio": 0.1, "max_drawdown": -0.5}
    options = AutoApplyOptions()
    assert check_regression(week, CURRENT, baseline, WEEK2, options).status == "not_applicable"
    assert check_regression(week, PROPOSED, baseline, WEEK1, options).status == "not_applicable"
    assert check_regression(week, PROPOSED, baseline, WEEK2, options).status == "regressed"
    assert check_regression(week, PROPOSED, {**baseline, "status": "rolled_back"}, WEEK2, options).status \
        == "not_applicable"
