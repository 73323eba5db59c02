"""Config auto-apply with guardrails, the promotion baseline and the weekly regression check with
automatic rollback (backtester.md §1.3 optimizers and ``regression_monitor``, §3, §9 item 7).

The Evaluator is the only writer of applied config: the Backtester only recommends (so executor
params are never applied twice a week, upstream's pitfall 8). Each week, in this order:

1. **Regression check** against ``config/promotion_baseline.json``: when the week's backtest ran the
   baseline's executor config, it regressed if its Sharpe is below the baseline's interval low, or
   its max drawdown is worse than the baseline's by more than ``max_drawdown_worsening``. Then every
   key applied with that baseline is rolled back to its ``_previous`` and the operator notified.
   A point drop (upstream: Sharpe down 20 %) is not evidence on a noisy Sharpe; leaving the
   baseline's own interval is.
2. **Executor params** from ``backtest/{date}/executor_rec.json``: applied only when it says
   ``apply``, the paired interval of its holdout Sharpe difference lies above 0, enough trials
   completed, no changed param moves by more than ``executor_max_relative_change`` of its value,
   and it was measured against the config in force (a stale recommendation is refused).
3. **Veto threshold** from ``backtest/{date}/predictor_rec.json`` (PredictorBacktest; absent until
   it runs): applied only when it recommends, its interval's lower bound is above 0, it was
   measured against the threshold in force, and the move is at least ``veto_min_change``. Upstream
   asked 0.10 of a point estimate; here the interval carries the evidence, so the step only has to
   stop churn: one step of the 0.50-0.80 sweep grid (0.05) - 0.10 would refuse every adjacent step
   even when the interval says it is better. Only ``veto_confidence`` is merged: every other key of
   ``predictor_params.json`` is kept (upstream's veto apply dropped them, pitfall 6).
4. **Baseline** written when anything was applied; **metrics history** of the week recorded.

``freeze`` computes and reports every decision ("would apply", "would roll back") and writes
nothing. A rerun of the same run_date never applies or rolls back twice: the change log says what
this run_date already did, and the module reports the same decisions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._completeness import ModuleResult, SkipModule
from ._config_book import CONFIG_KEYS, ConfigBook
from ._options import AutoApplyOptions

__all__ = ["PREDICTOR_REC_FIELDS", "Decision", "RegressionCheck", "auto_apply",
           "check_regression", "decide_executor", "decide_veto", "read_predictor_rec"]

# The fields of PredictorBacktest's recommendation (backtest/{date}/predictor_rec.json, its schema
# predictor_rec.schema.json) the veto guardrails read; nothing else of the document is read.
PREDICTOR_REC_FIELDS: dict[str, str] = {
    "recommendation": "recommendation",  # "apply" recommends a change, "keep" does not
    "recommended": "recommended_veto_confidence",
    "current": "current_veto_confidence",  # what the sweep measured against
    "interval": "sharpe_difference",  # {estimate, ci_low, ci_high, confidence}, or null
}


def read_predictor_rec(document: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of :data:`PREDICTOR_REC_FIELDS` from a predictor_rec document (None when absent)."""
    return {name: document.get(field) for name, field in PREDICTOR_REC_FIELDS.items()}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


@dataclass(frozen=True)
class Decision:
    """Whether to apply ``values`` for ``key``, with every guard's verdict (``failed`` empty: apply)."""

    key: str
    values: dict[str, Any] | None
    in_force: dict[str, Any] | None
    failed: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def apply(self) -> bool:
        return not self.failed and self.values is not None

    def as_dict(self) -> dict[str, Any]:
        return {"apply": self.apply, "failed": list(self.failed), "evidence": self.evidence}


def _relative_changes(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for name in sorted(set(current) | set(proposed)):
        old, new = current.get(name), proposed.get(name)
        if old == new:
            continue
        a, b = _finite(old), _finite(new)
        out[name] = math.inf if a is None or b is None or a == 0 else abs(b - a) / abs(a)
    return out


def decide_executor(rec: Mapping[str, Any] | None, in_force: Mapping[str, Any] | None, options: AutoApplyOptions,
                    *, source: str) -> Decision:
    """The executor guardrails (module docstring, step 2). ``in_force`` is the applied file's values,
    or None when the settings are in force (then the recommendation's ``current`` is what the
    Backtester read from them this run)."""
    if rec is None:
        return Decision("executor_params", None, None, (f"no executor recommendation ({source}): the Backtester did "
                                                        "not run for this run_date",), {"source": source})
    current, proposed = dict(rec.get("current") or {}), dict(rec.get("proposed") or {})
    interval = dict(rec.get("holdout_sharpe_difference") or {})
    low, completion = _finite(interval.get("ci_low")), _finite(rec.get("completion"))
    changes = _relative_changes(current, proposed)
    largest = max(changes.values(), default=0.0)
    failed = []
    if rec.get("recommendation") != "apply":
        failed.append(f"the Backtester recommends {rec.get('recommendation')!r}, not 'apply'")
    if low is None or low <= 0:
        failed.append(f"the holdout Sharpe difference's lower bound {low} is not above 0")
    if completion is None or completion < options.executor_min_completion:
        failed.append(f"completion {completion} is below {options.executor_min_completion}")
    if largest > options.executor_max_relative_change:
        worst = max(changes, key=lambda k: changes[k])
        failed.append(f"{worst} would change by {largest:.0%} of its value, above the bound "
                      f"{options.executor_max_relative_change:.0%}")
    if not changes:
        failed.append("the proposed params equal the current ones")
    if in_force is not None and dict(in_force) != current:
        failed.append("the recommendation was measured against a config that is no longer in force (stale)")
    evidence = {"source": source, "recommendation": rec.get("recommendation"), "reasons": list(rec.get("reasons", [])),
                "holdout_sharpe_difference": interval, "completion": completion,
                "signal_source": rec.get("signal_source"), "config_source": rec.get("config_source"),
                "relative_change": {k: (None if math.isinf(v) else round(v, 6)) for k, v in changes.items()},
                "thresholds": {"holdout_ci_low_above": 0.0, "min_completion": options.executor_min_completion,
                               "max_relative_change": options.executor_max_relative_change}}
    return Decision("executor_params", proposed or None, current, tuple(failed), evidence)


def decide_veto(rec: Mapping[str, Any] | None, in_force: float | None, options: AutoApplyOptions, *,
                source: str) -> Decision:
    """The veto-threshold guardrails (module docstring, step 3). ``in_force`` is the applied
    ``veto_confidence``, or None when the default is in force."""
    if rec is None:
        return Decision("predictor_params", None, None, (f"no predictor recommendation ({source}): PredictorBacktest "
                                                         "did not run for this run_date",), {"source": source})
    fields = read_predictor_rec(rec)
    new, current = _finite(fields["recommended"]), _finite(fields["current"])
    interval = fields["interval"] if isinstance(fields["interval"], Mapping) else {}
    low = _finite(interval.get("ci_low"))
    failed = []
    if fields["recommendation"] != "apply":
        failed.append(f"PredictorBacktest recommends {fields['recommendation']!r}, not 'apply'")
    if new is None or not 0.0 <= new <= 1.0:
        failed.append(f"the recommended veto_confidence {fields['recommended']!r} is not a number in [0, 1]")
    if current is None:
        failed.append("the recommendation does not say which veto_confidence it was measured against")
    if low is None or low <= 0:
        failed.append(f"the interval's lower bound {low} is not above 0")
    # (a tolerance: 0.70 - 0.65 is 0.04999... in binary floating point)
    if new is not None and current is not None and abs(new - current) < options.veto_min_change - 1e-9:
        failed.append(f"the move {current} -> {new} is smaller than {options.veto_min_change}")
    if in_force is not None and current is not None and abs(in_force - current) > 1e-12:
        failed.append(f"the recommendation was measured against veto_confidence {current}, but {in_force} is in force "
                      "(stale)")
    evidence = {"source": source, "recommendation": fields["recommendation"], "interval": dict(interval),
                "recommended": new, "current": current,
                "thresholds": {"ci_low_above": 0.0, "min_change": options.veto_min_change}}
    values = None if new is None else {"veto_confidence": new}
    return Decision("predictor_params", values, None if current is None else {"veto_confidence": current},
                    tuple(failed), evidence)


def week_metrics(stats: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The regression check's view of a backtest's statistics (portfolio_stats or the twin's side)."""
    ci = (stats.get("intervals") or {}).get("sharpe_ratio") or [None, None]
    return {"source": key, "sharpe_ratio": _finite(stats.get("sharpe_ratio")), "sharpe_ci": [_finite(v) for v in ci],
            "max_drawdown": _finite(stats.get("max_drawdown")), "total_alpha": _finite(stats.get("total_alpha"))}


@dataclass(frozen=True)
class RegressionCheck:
    """``status``: ``regressed`` | ``ok`` | ``not_applicable`` (``reasons`` say why each)."""

    status: str
    reasons: tuple[str, ...]


def check_regression(metrics: Mapping[str, Any], config: Mapping[str, Any] | None, baseline: Mapping[str, Any],
                     run_date: str, options: AutoApplyOptions) -> RegressionCheck:
    """This week's ``metrics`` (of a backtest that ran executor ``config``) against the baseline."""
    if baseline.get("status") != "active":
        return RegressionCheck("not_applicable", (f"the baseline of {baseline.get('run_date')} is "
                                                  f"{baseline.get('status')}",))
    if str(baseline["run_date"]) >= run_date:
        return RegressionCheck("not_applicable", ("the baseline was set by this run_date (or a later one)",))
    if config is None or dict(config) != baseline.get("executor_config"):
        return RegressionCheck("not_applicable", ("this week's backtest ran another executor config than the "
                                                  "baseline's",))
    base = baseline.get("metrics") or {}
    sharpe, low = _finite(metrics.get("sharpe_ratio")), _finite((base.get("sharpe_ci") or [None])[0])
    drawdown, base_drawdown = _finite(metrics.get("max_drawdown")), _finite(base.get("max_drawdown"))
    if sharpe is None or low is None or drawdown is None or base_drawdown is None:
        return RegressionCheck("not_applicable", ("a Sharpe, its interval or a max drawdown is missing",))
    reasons = []
    if sharpe < low:
        reasons.append(f"Sharpe {sharpe:.3f} is below the baseline's 95% interval low {low:.3f}")
    if drawdown < base_drawdown - options.max_drawdown_worsening:
        reasons.append(f"max drawdown {drawdown:.1%} is worse than the baseline's {base_drawdown:.1%} by more than "
                       f"{options.max_drawdown_worsening:.0%}")
    if reasons:
        return RegressionCheck("regressed", tuple(reasons))
    return RegressionCheck("ok", (f"Sharpe {sharpe:.3f} >= baseline interval low {low:.3f}; max drawdown "
                                  f"{drawdown:.1%} within {options.max_drawdown_worsening:.0%} of {base_drawdown:.1%}",))


Notify = Callable[[str, str], None]


def auto_apply(book: ConfigBook, *, run_date: str, executor_rec: tuple[str, Mapping[str, Any] | None],
               predictor_rec: tuple[str, Mapping[str, Any] | None],
               portfolio_stats: tuple[str, Mapping[str, Any] | None], options: AutoApplyOptions,
               notify: Notify, log: logging.Logger | logging.LoggerAdapter[logging.Logger],
               execution: str | None = None) -> ModuleResult:
    """One week's auto-apply (module docstring); each ``(key, document or None)`` names its evidence."""
    from ._artifacts import METRICS_HISTORY, PROMOTION_BASELINE

    store = book.store
    frozen = options.freeze
    rec_key, rec = executor_rec
    prec_key, prec = predictor_rec
    stats_key, stats = portfolio_stats
    baseline = dict(store.read_json(PROMOTION_BASELINE.key)) if store.exists(PROMOTION_BASELINE.key) else None
    if rec is None and prec is None and baseline is None:
        raise SkipModule(f"nothing to decide: no {rec_key}, no {prec_key} and no promotion baseline")
    data: dict[str, Any] = {"frozen": frozen}
    metrics = week_metrics(stats, stats_key) if stats is not None else None
    config = dict(stats["config"]) if stats is not None and "config" in stats else None

    # 1. the regression check, and the rollback it calls for
    rolled_back: list[str] = []
    done = [c for k in CONFIG_KEYS if (c := book.change_on(run_date, k, "rollback")) is not None]
    if done:  # this run_date rolled back already: report it, do nothing again
        evidence = done[0]["evidence"]
        rolled_back = [c["key"] for c in done]
        data["regression"] = {"status": "regressed", "reasons": list(evidence["reasons"]),
                              "baseline": evidence["baseline"], "rolled_back": {c["key"]: c["seq"] for c in done}}
    elif baseline is None or str(baseline["run_date"]) >= run_date:
        data["regression"] = {"status": "not_applicable", "reasons": ["no promotion baseline before this run_date"]}
    elif not options.regression_check:
        data["regression"] = {"status": "not_applicable", "reasons": ["regression_check is off"]}
    elif metrics is None:
        data["regression"] = {"status": "not_applicable", "reasons": [f"no {stats_key} this week"]}
    else:
        check = check_regression(metrics, config, baseline, run_date, options)
        data["regression"] = {"status": check.status, "reasons": list(check.reasons), "baseline": baseline["run_date"]}
        if check.status == "regressed" and frozen:
            data["regression"]["would_roll_back"] = list(baseline["keys"])
        elif check.status == "regressed":
            evidence = {"baseline": baseline["run_date"], "baseline_metrics": baseline["metrics"], "metrics": metrics,
                        "reasons": list(check.reasons),
                        "thresholds": {"sharpe_below_baseline_ci_low": True,
                                       "max_drawdown_worsening": options.max_drawdown_worsening}}
            changes = {}
            for key in baseline["keys"]:
                changes[key] = book.rollback(key, run_date=run_date, by="evaluator", action="rollback",
                                             evidence=evidence, execution=execution)["seq"]
            store.write_json(PROMOTION_BASELINE.key, {**baseline, "status": "rolled_back",
                                                      "rolled_back": {"run_date": run_date, "changes": changes}})
            data["regression"]["rolled_back"] = changes
            rolled_back = list(changes)
            message = (f"The weekly regression check of {run_date} rolled back {', '.join(changes)} applied on "
                       f"{baseline['run_date']}: {'; '.join(check.reasons)}. See alpha-engine config history.")
            log.warning("%s", message)
            notify(f"Alpha Engine — config rolled back ({run_date})", message)

    # 2-3. the decisions
    applied_executor = book.change_on(run_date, "executor_params", "apply")
    applied_veto = book.change_on(run_date, "predictor_params", "apply")
    active_executor = book.active("executor_params")
    active_predictor = book.active("predictor_params")
    executor_in_force = (applied_executor["from"] if applied_executor else
                         (active_executor["values"] if active_executor else None))
    veto_in_force = (applied_veto["from"]["veto_confidence"] if applied_veto else
                     (active_predictor["values"]["veto_confidence"] if active_predictor else None))
    decisions = [decide_executor(rec, executor_in_force, options, source=rec_key),
                 decide_veto(prec, veto_in_force, options, source=prec_key)]
    applied: dict[str, int] = {}
    for decision, done_entry in zip(decisions, (applied_executor, applied_veto), strict=True):
        body = decision.as_dict()
        if decision.key in rolled_back and decision.apply:
            body["apply"] = False
            body["failed"] = ["rolled back this week"]
        elif decision.apply and frozen:
            body["would_apply"] = True
        elif decision.apply and done_entry is not None:
            book.complete(done_entry)
            applied[decision.key] = body["change"] = done_entry["seq"]
        elif decision.apply:
            assert decision.values is not None and decision.in_force is not None
            values = decision.values
            if decision.key == "predictor_params" and active_predictor is not None:
                values = {**active_predictor["values"], **values}  # merge: keep every other key
            entry = book.apply(decision.key, values, run_date=run_date, source=str(decision.evidence["source"]),
                               evidence=decision.evidence, execution=execution, in_force=decision.in_force
                               if decision.key == "executor_params" or active_predictor is None
                               else active_predictor["values"],
                               in_force_source=str(decision.evidence.get("config_source") or "settings or defaults"))
            applied[decision.key] = body["change"] = entry["seq"]
            log.info("applied %s (change %d): %s", decision.key, entry["seq"], entry["changed"])
        data[decision.key] = body

    # 4. the baseline and the week's metrics
    if applied and not frozen:
        executor_applied = "executor_params" in applied
        side = (rec or {}).get("twin", {}).get("proposed") if executor_applied else stats
        base_metrics = week_metrics(side, f"{rec_key} twin.proposed" if executor_applied else stats_key) if side else None
        base_config = dict((rec or {}).get("proposed") or {}) if executor_applied else config
        previous = dict(store.read_json(PROMOTION_BASELINE.key)) if store.exists(PROMOTION_BASELINE.key) else None
        if previous is None or previous.get("run_date") != run_date or previous.get("changes") != applied:
            store.write_json(PROMOTION_BASELINE.key, {
                "run_date": run_date, "status": "active", "keys": sorted(applied), "changes": applied,
                "metrics": base_metrics, "executor_config": base_config, "rolled_back": None})
        data["baseline"] = {"run_date": run_date, "keys": sorted(applied), "metrics": base_metrics}
    if metrics is not None and not frozen:
        store.write_json(METRICS_HISTORY.format(run_date), {"run_date": run_date, **metrics,
                                                            "config_source": (stats or {}).get("config_source")})
    data["applied"] = sorted(applied)
    degraded = tuple(f"no {k}" for k, d in ((rec_key, rec), (prec_key, prec)) if d is None)
    return ModuleResult(data, degraded)
