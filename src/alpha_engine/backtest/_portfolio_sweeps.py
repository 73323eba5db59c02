"""The portfolio-optimizer backtest: the optimizer gate and the two sweeps, as documents.

* **Gate.** The gated optimizer (minimum variance under ``gate_covariance``, declared before the
  run, so no selection to correct for) against the executor's baseline, equal weight over the same
  names, out of sample: the difference in annualised Sharpe ratio with a paired stationary-block-
  bootstrap interval. It passes only when the interval's lower bound is above 0.
* **Covariance sweep.** Minimum variance under each covariance estimator.
* **Risk-aversion sweep.** Mean-variance utility (``MAXIMIZE_UTILITY``) over the gamma grid, with
  the gate's covariance estimator.

Each configuration reports its out-of-sample Sharpe, volatility, maximum drawdown, return and
turnover, each with an interval, and its Sharpe difference to the baseline. A sweep selects the
highest Sharpe and reports the selection's difference to the baseline at the Bonferroni level
``1 - (1 - confidence) / N`` over its N configurations.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._portfolio import (
    CausalityCheck,
    OutOfSample,
    check_no_look_ahead,
    covariance_class,
    equal_weight,
    mean_variance_utility,
    minimum_variance,
    pre_selected,
    walk_forward,
)
from ._portfolio_data import SURVIVORSHIP_CAVEAT, ClosePanel, returns_from_closes
from ._portfolio_options import PortfolioOptimizerOptions
from ._portfolio_stats import (
    TRADING_DAYS,
    GateDecision,
    Interval,
    annual_volatility,
    annualised_sharpe,
    bonferroni_confidence,
    bootstrap_interval,
    max_drawdown,
    one_way_turnover,
    optimizer_gate,
    stationary_bootstrap_indices,
)

__all__ = ["Configuration", "PortfolioBacktest", "run_portfolio_backtest"]

Logger = logging.LoggerAdapter[logging.Logger] | logging.Logger
_DIGITS = 10
COSTS_NOTE = ("returns are gross of transaction costs; turnover counts the change between consecutive target "
              "weights (the daily return back to target inside a window, skfolio's constant-weight convention, is "
              "not counted, for the baseline either)")


@dataclass(frozen=True)
class Configuration:
    """One optimizer of a sweep: its name in the report, its parameter and how to build it."""

    name: str
    parameter: str | float
    description: str
    make: Callable[[], Any]


@dataclass(frozen=True)
class PortfolioBacktest:
    """The three documents the stage writes, and the stage's summary."""

    gate: dict[str, Any]
    covariance_sweep: dict[str, Any]
    risk_aversion_sweep: dict[str, Any]
    summary: dict[str, Any]


def _round(value: float) -> float | None:
    return round(float(value), _DIGITS) if math.isfinite(value) else None


def _day(value: Any) -> str:
    return str(pd.Timestamp(value).date().isoformat())


def _mean(values: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.asarray(values, dtype=np.float64).mean(axis=-1)
    return out


def _annual_return(values: np.ndarray) -> np.ndarray:
    return _mean(values) * TRADING_DAYS


class _Evaluator:
    """Statistics of out-of-sample results against one baseline, over one set of resamples."""

    def __init__(self, baseline: OutOfSample, options: PortfolioOptimizerOptions, seed: int) -> None:
        self.baseline = baseline
        self.confidence = options.confidence
        self.mean_block = options.mean_block_days
        self.test_days = options.test_days
        self.days = stationary_bootstrap_indices(len(baseline.returns), n_resamples=options.n_bootstrap,
                                                 mean_block=options.mean_block_days, seed=seed)
        # Turnover is one value per rebalance: blocks of about mean_block_days in rebalances.
        self.fold_block = max(1.0, options.mean_block_days / options.test_days)
        self.rebalances = (stationary_bootstrap_indices(baseline.n_folds - 1, n_resamples=options.n_bootstrap,
                                                        mean_block=self.fold_block, seed=seed + 1)
                           if baseline.n_folds > 2 else None)

    def gate(self, oos: OutOfSample, confidence: float | None = None) -> GateDecision:
        if not oos.dates.equals(self.baseline.dates):
            raise ValueError("a result and the baseline must cover the same out-of-sample days")
        return optimizer_gate(oos.returns, self.baseline.returns, indices=self.days,
                              confidence=confidence or self.confidence)

    def difference(self, oos: OutOfSample, confidence: float | None = None) -> Interval:
        return self.gate(oos, confidence).sharpe_difference

    def metrics(self, oos: OutOfSample) -> dict[str, Any]:
        r = oos.returns
        out: dict[str, Any] = {name: bootstrap_interval(statistic, r, self.days, self.confidence).to_json(_DIGITS)
               for name, statistic in (("sharpe", annualised_sharpe), ("annual_volatility", annual_volatility),
                                       ("max_drawdown", max_drawdown), ("annual_return", _annual_return))}
        turnover = one_way_turnover(oos.weights)
        if self.rebalances is not None and len(turnover) == self.rebalances.shape[1]:
            out["turnover"] = bootstrap_interval(_mean, turnover, self.rebalances, self.confidence).to_json(_DIGITS)
        else:
            value = float(turnover.mean()) if len(turnover) else 0.0
            out["turnover"] = Interval(value, math.nan, math.nan, self.confidence).to_json(_DIGITS)
        estimate = out["turnover"]["estimate"]
        out["annual_turnover"] = None if estimate is None else _round(estimate * TRADING_DAYS / self.test_days)
        return out

    def interval_json(self) -> dict[str, Any]:
        return {"method": "stationary block bootstrap (Politis & Romano 1994), percentile intervals; one resample "
                          "set for every series of the report (differences are paired)",
                "confidence": self.confidence, "n_resamples": int(self.days.shape[0]),
                "mean_block_days": self.mean_block, "turnover_mean_block_rebalances": self.fold_block}


def _row(config: Configuration, oos: OutOfSample, evaluator: _Evaluator) -> dict[str, Any]:
    return {"name": config.name, "parameter": config.parameter, "estimator": config.description,
            **evaluator.metrics(oos), "sharpe_difference": evaluator.difference(oos).to_json(_DIGITS)}


def _selection(configs: list[Configuration], results: dict[str, OutOfSample], evaluator: _Evaluator,
               rows: list[dict[str, Any]]) -> dict[str, Any]:
    sharpes = [row["sharpe"]["estimate"] for row in rows]
    finite = [(s if s is not None else -math.inf) for s in sharpes]
    best = int(np.argmax(finite))
    level = bonferroni_confidence(evaluator.confidence, len(configs))
    corrected = evaluator.gate(results[configs[best].name], level)
    return {"criterion": "highest out-of-sample annualised Sharpe ratio", "best": configs[best].name,
            "parameter": configs[best].parameter, "n_compared": len(configs),
            "correction": {"method": "Bonferroni: the selected configuration's Sharpe difference to the baseline "
                                     "at level 1 - (1 - confidence) / n_compared",
                           "level": round(level, 12),
                           "sharpe_difference": corrected.sharpe_difference.to_json(_DIGITS),
                           "beats_baseline": corrected.passes}}


def _selecting(max_assets: int | None, make: Callable[[], Any]) -> Callable[[], Any]:
    """``make`` behind the pre-selection when the universe is larger than ``max_assets``."""
    if max_assets is None:
        return make
    return lambda: pre_selected(make(), max_assets)


def _pre_selection_json(max_assets: int | None, n_assets: int) -> dict[str, Any]:
    applied = max_assets is not None and n_assets > max_assets
    return {"applied": applied, "max_assets": max_assets, "n_assets": n_assets,
            "method": ("per fold, the optimizers fit on the max_assets names with the lowest variance of daily "
                       "returns over that fold's training window; the others get weight 0; the baseline holds "
                       "every name") if applied else "none: every optimizer fits on every name"}


def _configurations(options: PortfolioOptimizerOptions, max_assets: int | None
                    ) -> tuple[list[Configuration], list[Configuration]]:
    covariance = [Configuration(name, name, f"MeanRisk(MINIMIZE_RISK, variance), EmpiricalPrior covariance "
                                            f"{covariance_class(name)}",
                                _selecting(max_assets, lambda n=name: minimum_variance(n)))  # type: ignore[misc]
                  for name in options.covariance_estimators]
    gammas = [Configuration(f"gamma={gamma:g}", float(gamma),
                            f"MeanRisk(MAXIMIZE_UTILITY, variance, risk_aversion={gamma:g}), EmpiricalPrior "
                            f"(empirical mean, covariance {covariance_class(options.gate_covariance)})",
                            _selecting(max_assets,
                                       lambda g=gamma: mean_variance_utility(g, options.gate_covariance)))  # type: ignore[misc]
              for gamma in options.risk_aversions]
    return covariance, gammas


def run_portfolio_backtest(panel: ClosePanel, options: PortfolioOptimizerOptions, *, seed: int,
                           context: dict[str, Any], log: Logger | None = None,
                           prepare: Callable[[pd.DataFrame], pd.DataFrame] = returns_from_closes
                           ) -> PortfolioBacktest:
    """Run the baseline, both sweeps and the gate on ``panel``; ``context`` (run_date, as-of session,
    data caveats) heads every document. ``prepare`` turns closes into the returns fitted on (the
    look-ahead check replays it on perturbed closes)."""
    logger = log or logging.getLogger(__name__)
    returns = prepare(panel.closes)
    wf = {"train_days": options.train_days, "test_days": options.test_days}
    pre_selection = _pre_selection_json(options.max_assets, returns.shape[1])
    max_assets = options.max_assets if pre_selection["applied"] else None
    covariance, gammas = _configurations(options, max_assets)
    gate_config = Configuration(options.gate_covariance, options.gate_covariance,
                                f"MeanRisk(MINIMIZE_RISK, variance), EmpiricalPrior covariance "
                                f"{covariance_class(options.gate_covariance)}",
                                _selecting(max_assets, lambda: minimum_variance(options.gate_covariance)))
    planned = [("baseline", Configuration("equal_weight", "equal_weight", "skfolio.optimization.EqualWeighted",
                                          equal_weight))]
    planned += [("covariance", c) for c in covariance] + [("risk_aversion", c) for c in gammas]
    if options.gate_covariance not in options.covariance_estimators:
        planned.append(("gate", gate_config))
    results: dict[tuple[str, str], OutOfSample] = {}
    for i, (sweep, config) in enumerate(planned, start=1):
        oos = walk_forward(returns, config.make(), **wf)
        results[(sweep, config.name)] = oos
        sharpe = float(annualised_sharpe(oos.returns))
        logger.info("walk-forward %d/%d (%s %s): %d folds, %d out-of-sample days, Sharpe %.3f", i, len(planned), sweep,
                    config.name, oos.n_folds, len(oos.returns), sharpe)
    baseline = results[("baseline", "equal_weight")]
    gated = results.get(("covariance", options.gate_covariance)) or results[("gate", options.gate_covariance)]
    causality: CausalityCheck = check_no_look_ahead(panel.closes, gate_config.make, gated, **wf, seed=seed + 2,
                                                    prepare=prepare, log=logger)
    evaluator = _Evaluator(baseline, options, seed)

    tickers = panel.tickers
    head = {**context,
            # No store location here: it is the workspace's path, and the same data must give the same bytes.
            "data": {"tickers": tickers, "n_tickers": len(tickers),
                     "dropped": [{"ticker": t, "reason": r} for t, r in panel.dropped],
                     "start": _day(panel.closes.index[0]), "end": _day(panel.closes.index[-1]),
                     "n_returns": len(returns)},
            "walk_forward": {"method": "skfolio.model_selection.WalkForward (rolling) + cross_val_predict",
                             **wf, "n_folds": baseline.n_folds, "oos_start": _day(baseline.dates[0]),
                             "oos_end": _day(baseline.dates[-1]), "n_oos_days": len(baseline.dates),
                             "pre_selection": pre_selection},
            "interval": evaluator.interval_json(),
            "caveats": [*context.get("caveats", []), SURVIVORSHIP_CAVEAT, COSTS_NOTE]}
    baseline_json = {"name": "equal_weight", "estimator": "skfolio.optimization.EqualWeighted",
                     **evaluator.metrics(baseline)}

    def sweep_document(kind: str, configs: list[Configuration], description: str) -> dict[str, Any]:
        rows = [_row(c, results[(kind, c.name)], evaluator) for c in configs]
        chosen = {c.name: results[(kind, c.name)] for c in configs}
        return {**head, "sweep": kind, "description": description, "baseline": baseline_json, "rows": rows,
                "selection": _selection(configs, chosen, evaluator, rows)}

    covariance_doc = sweep_document("covariance", covariance,
                                    "minimum variance (long-only, fully invested) under each covariance estimator")
    gamma_doc = sweep_document("risk_aversion", gammas,
                               "mean-variance utility (long-only, fully invested) over the risk-aversion grid, "
                               f"covariance {options.gate_covariance}")
    decision = evaluator.gate(gated)
    difference, passes = decision.sharpe_difference, decision.passes
    verdict = ("passes: the optimizer beats equal weight out of sample" if passes else
               "fails: the optimizer does not beat equal weight out of sample (the interval's lower bound is not "
               "above 0); the executor keeps equal weight")
    gate_doc = {**head,
                "baseline": baseline_json,
                "optimizer": {"name": f"minimum_variance/{options.gate_covariance}", "estimator": gate_config.description,
                              **evaluator.metrics(gated)},
                "gate": {"statistic": "annualised Sharpe ratio of the optimizer minus that of the baseline, out of "
                                      "sample", "sharpe_difference": difference.to_json(_DIGITS),
                         "rule": "passes only when the interval's lower bound is above 0", "passes": passes,
                         "verdict": verdict},
                "causality": {"splits": "every fold fits only on days before its test window; test windows move "
                                        "forward without overlap (checked before fitting)",
                              "look_ahead": causality.to_json()}}
    summary = {"gate": "pass" if passes else "fail", "optimizer": gate_doc["optimizer"]["name"],
               "sharpe_difference": [difference.to_json(_DIGITS)[k] for k in ("ci_low", "estimate", "ci_high")],
               "best_covariance": covariance_doc["selection"]["best"],
               "best_covariance_sharpe_difference_bonferroni": [
                   covariance_doc["selection"]["correction"]["sharpe_difference"][k]
                   for k in ("ci_low", "estimate", "ci_high")],
               "best_risk_aversion": gamma_doc["selection"]["parameter"],
               "best_risk_aversion_sharpe_difference_bonferroni": [
                   gamma_doc["selection"]["correction"]["sharpe_difference"][k]
                   for k in ("ci_low", "estimate", "ci_high")],
               "n_folds": baseline.n_folds, "n_tickers": len(tickers), "configurations": len(planned),
               "optimizer_universe": options.max_assets if max_assets is not None else len(tickers)}
    logger.info("optimizer gate %s: Sharpe difference %.3f [%.3f, %.3f]; best covariance %s, best gamma %s",
                summary["gate"], difference.estimate, difference.ci_low, difference.ci_high,
                summary["best_covariance"], summary["best_risk_aversion"])
    return PortfolioBacktest(gate=gate_doc, covariance_sweep=covariance_doc, risk_aversion_sweep=gamma_doc,
                             summary=summary)
