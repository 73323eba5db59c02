"""The promotion gate: which model serves, and on what evidence.

Every decision reads out-of-sample evidence from the leak-free L2 walk-forward (the per-date
Spearman IC of the meta-model on purged, embargoed test folds; see :mod:`._training`), measured
on this run's data:

Skill gate (may a model be a full champion?)
    The 95% Newey-West HAC interval of its mean daily IC (lag 2 x horizon) lies above 0, or its
    deflated Sharpe ratio (effective T, the registry's record of trials; the probabilistic Sharpe
    ratio while fewer than two trials are recorded) is at least 0.95.
Challenger vs champion (both full)
    The champion is re-measured on this run's data with its own config: its labels, horizon, clip
    and execution lag. Different horizons or lags are not compared. Otherwise the per-date IC
    difference d_t = IC_challenger - IC_champion over the dates both measured gets a Newey-West
    standard error (lag 2 x horizon), and the challenger wins when mean(d) > z_(1-alpha_k) x se:
    the margin scales with the standard error of the difference.
Alpha spending
    The k-th challenger tested against one champion spends alpha_k = ALPHA x 6 / (pi^2 k^2), so the
    alpha spent over every week that champion serves sums to at most ALPHA (one-sided): the chance
    that any no-better challenger ever displaces it is at most ALPHA, however long it serves.
Re-validation
    Every run re-checks the champion against the skill gate on its re-measure. A full champion that
    fails is demoted to provisional (it keeps serving and its predictions say so; the stage sends a
    notification); a provisional champion that passes again is restored to full.
Refresh
    A challenger with the champion's own config (up to settings that change no model) measures
    exactly what the champion's re-measure would. It replaces the champion when it passes the skill
    gate (the same evidence, fresher weights); when it fails, that is the champion's failed
    re-validation.
Provisional service
    While no model has passed the gate (no champion, or a provisional one), the newest challenger
    serves provisionally if ``serve_provisional``.

Each decision is a JSON document with its statistics (:func:`decide`), recorded in the registry
(:meth:`ModelRegistry.record_decision`) and in the challenger's training report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._metrics import fixed_b_critical_value, newey_west_variance
from ._options import TrainingConfig
from ._registry import ModelRegistry

__all__ = [
    "ALPHA",
    "DSR_THRESHOLD",
    "Evidence",
    "alpha_for",
    "apply_decision",
    "decide",
    "paired_ic_test",
    "skill_gate",
]

ALPHA = 0.05  # one-sided level of the challenger-vs-champion test, spent over the champion's reign
DSR_THRESHOLD = 0.95
# Settings that change the statistics' precision or the speed, never the fitted models.
_NOT_MODEL_DEFINING = frozenset({"threads", "n_boot", "randomization_draws"})


@dataclass(frozen=True)
class Evidence:
    """One model's out-of-sample evidence on this run's data: its config, the manifest's
    ``validation`` block and the per-date meta-model IC series (date-indexed)."""

    config: Mapping[str, Any]
    validation: Mapping[str, Any]
    ic: pd.Series

    @property
    def horizon(self) -> int:
        return int(self.config["horizon"])

    @property
    def execution_lag(self) -> int:
        # Configs registered before the execution lag existed labelled from the features' close.
        return int(self.config.get("execution_lag", 0))


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def skill_gate(validation: Mapping[str, Any]) -> dict[str, Any]:
    """Whether a model's out-of-sample evidence earns full champion status, with the figures.

    Passes when the robust interval's lower bound is > 0 or the DSR is >= :data:`DSR_THRESHOLD`;
    a missing figure never passes.
    """
    ci_low, ci_high, dsr = (_number(validation.get(k)) for k in ("ic_ci_low", "ic_ci_high", "dsr"))
    method = str(validation.get("ic_ci_method", "unrecorded"))
    n_trials = validation.get("dsr_n_trials")
    dsr_name = "DSR" if isinstance(n_trials, int) and n_trials >= 2 else "DSR (PSR: fewer than 2 trials)"
    by_ci = ci_low is not None and ci_low > 0
    by_dsr = dsr is not None and dsr >= DSR_THRESHOLD
    interval = f"IC 95% CI [{_fmt(ci_low)}, {_fmt(ci_high)}] ({method})"
    dsr_text = f"{dsr_name} {_fmt(dsr)} (effective T {_fmt(_number(validation.get('dsr_effective_t')))}, " \
               f"{n_trials} trial(s))"
    if by_ci or by_dsr:
        why = " and ".join([*([f"{interval} excludes 0"] if by_ci else []),
                            *([f"{dsr_text} >= {DSR_THRESHOLD}"] if by_dsr else [])])
        reason = f"passes the skill gate: {why}"
    else:
        reason = f"no detectable skill: {interval} includes 0 and {dsr_text} < {DSR_THRESHOLD}"
    return {"passes": by_ci or by_dsr, "by_ci": by_ci, "by_dsr": by_dsr, "ic_mean": _number(
        validation.get("meta_oos_ic", {}).get("mean")), "ci_low": ci_low, "ci_high": ci_high, "ci_method": method,
        "dsr": dsr, "dsr_threshold": DSR_THRESHOLD, "dsr_n_trials": n_trials,
        "dsr_effective_t": _number(validation.get("dsr_effective_t")), "reason": reason}


def alpha_for(k: int) -> float:
    """The level spent by the ``k``-th challenger (k >= 1) tested against one champion:
    ALPHA x 6 / (pi^2 k^2), which sums to ALPHA over k = 1, 2, ..."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"alpha_for: k must be an integer >= 1, got {k!r}")
    return ALPHA * 6.0 / (math.pi ** 2 * k * k)


def paired_ic_test(challenger: pd.Series, champion: pd.Series, *, lag: int, alpha: float) -> dict[str, Any]:
    """One-sided paired test that the challenger's per-date IC beats the champion's.

    d_t = challenger_t - champion_t over the dates where both are finite; se = sqrt(LRV / n) with
    LRV the Newey-West long-run variance at ``lag``; the challenger wins when mean(d) > c x se (the
    margin), c = z_(1-alpha) times the fixed-b inflation of the 5% critical value at this bandwidth.
    Fewer than ``2 * lag + 2`` common dates, or a zero se, never win.
    """
    both = pd.concat([challenger.rename("challenger"), champion.rename("champion")], axis=1, join="inner")
    d = (both["challenger"] - both["champion"]).to_numpy(dtype=np.float64)
    d = d[np.isfinite(d)]
    n = int(d.size)
    z_critical = float(norm.ppf(1.0 - alpha))
    result: dict[str, Any] = {"method": f"paired Newey-West HAC test of the per-date IC difference, lag {lag}",
                              "n_dates": n, "alpha": alpha, "z_critical": z_critical}
    if n < 2 * lag + 2:
        return {**result, "mean_difference": None, "se": None, "z": None, "p_value": None, "margin": None,
                "passes": False, "reason": f"only {n} common dates (need {2 * lag + 2})"}
    mean = float(d.mean())
    se = math.sqrt(newey_west_variance(d, lag) / n)
    # The normal critical value widened by the fixed-b inflation at 5% (Kiefer & Vogelsang 2005): the
    # fixed-b fits are tabulated at 5% and 2.5%, and alpha_k is smaller; the ratio carries over.
    z_critical *= fixed_b_critical_value(0.95, lag, n) / float(norm.ppf(0.95))
    result["z_critical"] = z_critical
    if se == 0.0:
        return {**result, "mean_difference": mean, "se": 0.0, "z": None, "p_value": None, "margin": 0.0,
                "passes": False, "reason": "the two IC series are identical on every common date"}
    z = mean / se
    margin = z_critical * se
    passes = mean > margin
    verdict = "beats" if passes else "does not beat"
    return {**result, "mean_difference": mean, "se": se, "z": z, "p_value": float(norm.sf(z)), "margin": margin,
            "passes": passes,
            "reason": f"{verdict} the champion: mean IC difference {mean:.4f} vs margin {margin:.4f} "
                      f"(z {z:.2f}, se {se:.4f}, alpha {alpha:.4f}, {n} dates)"}


def _model_defining(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _NOT_MODEL_DEFINING}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _tested_against(registry: ModelRegistry, champion: str, run_date: str) -> int:
    """How many earlier weeks tested a challenger (paired) against ``champion`` since its last
    promotion: this run's test is the next one. A week counts once (a rerun is the same test)."""
    weeks: set[str] = set()
    for recorded in registry.decisions():  # oldest first
        if recorded["run_date"] == run_date:
            continue
        if recorded["champion_after"] == champion and recorded["champion_before"] != champion:
            weeks.clear()  # (re)promoted: its reign starts here
        elif recorded["champion_before"] == champion and recorded.get("paired_test") is not None:
            weeks.add(recorded["run_date"])
    return len(weeks)


def decide(registry: ModelRegistry, version: str, challenger: Evidence, *, run_date: str, serve_provisional: bool,
           remeasure: Callable[[TrainingConfig], Evidence]) -> dict[str, Any]:
    """The decision for challenger ``version`` (registered) against the registry's champion.

    Returns ``{run_date, challenger, champion_before, provisional_before, action, champion_after, provisional_after,
    reason, challenger_gate, champion_revalidation, paired_test, comparison}``; ``action`` is one of
    ``promote`` (full), ``promote_provisional``, ``restore`` (the provisional champion passes again),
    ``demote`` (the full champion fails re-validation), ``keep`` or ``none`` (no champion, none
    promoted). Nothing is written: the caller records and applies it. ``remeasure(config)`` trains
    ``config`` on this run's data (its own labels) and returns its evidence.
    """
    gate = skill_gate(challenger.validation)
    champion = registry.champion()
    provisional = registry.champion_is_provisional()
    base: dict[str, Any] = {"run_date": run_date, "challenger": version, "champion_before": champion,
                            "provisional_before": provisional, "challenger_gate": gate, "champion_revalidation": None, "paired_test": None,
                            "comparison": None}

    def outcome(action: str, after: str | None, provisional: bool, reason: str) -> dict[str, Any]:
        return {**base, "action": action, "champion_after": after, "provisional_after": provisional,
                "reason": reason}

    if champion is None:
        if gate["passes"]:
            return outcome("promote", version, False, f"first model; {gate['reason']}")
        if serve_provisional:
            return outcome("promote_provisional", version, True,
                           f"first model, provisional: {gate['reason']}; it serves until a model passes the gate")
        return outcome("none", None, False, f"not promoted: {gate['reason']}")

    if champion == version:  # a rerun of the champion's own training: its evidence is the challenger's
        base["champion_revalidation"] = gate
        return _revalidated(outcome, champion, provisional, gate, "re-measured as this run's challenger")

    champion_config = registry.manifest(champion).get("config", {})
    refresh = _model_defining(champion_config) == _model_defining(challenger.config)
    if refresh:
        base["comparison"] = "refresh: the champion's own config, so its re-measure is this challenger"
        revalidation = gate
        champion_evidence = challenger
    else:
        options = {k: v for k, v in champion_config.items() if k in TrainingConfig.model_fields}
        options.setdefault("execution_lag", 0)  # registered before the lag existed: labelled from the features' close
        champion_evidence = remeasure(TrainingConfig(**options))
        revalidation = skill_gate(champion_evidence.validation)
    base["champion_revalidation"] = revalidation

    if provisional:
        if gate["passes"]:
            return outcome("promote", version, False, f"{gate['reason']}; the champion {champion} was provisional")
        if revalidation["passes"] and not refresh:
            return outcome("restore", champion, False,
                           f"the provisional champion {champion} {revalidation['reason']} on this run's data "
                           f"(re-measured with its own config); challenger: {gate['reason']}")
        if serve_provisional:
            return outcome("promote_provisional", version, True,
                           f"replaces provisional champion {champion}, provisional: {gate['reason']}")
        return outcome("keep", champion, True, f"not promoted: {gate['reason']}; {champion} stays provisional")

    # A full champion.
    if refresh:
        if gate["passes"]:
            return outcome("promote", version, False, f"refresh of the champion's config {champion}: {gate['reason']}")
        return outcome("demote", champion, True,
                       f"the champion {champion} fails re-validation (this challenger is its config re-measured "
                       f"on this run's data): {gate['reason']}")
    if not revalidation["passes"]:
        if gate["passes"]:
            return outcome("promote", version, False,
                           f"{gate['reason']}; the champion {champion} fails re-validation "
                           f"({revalidation['reason']})")
        return outcome("demote", champion, True,
                       f"the champion {champion} fails re-validation on this run's data (re-measured with its own "
                       f"config): {revalidation['reason']}; challenger: {gate['reason']}")
    if (champion_evidence.horizon, champion_evidence.execution_lag) != (challenger.horizon, challenger.execution_lag):
        base["comparison"] = (f"refused: horizon {challenger.horizon} / execution lag {challenger.execution_lag} vs the "
                              f"champion's {champion_evidence.horizon} / {champion_evidence.execution_lag}")
        return outcome("keep", champion, False,
                       f"not compared: the challenger's labels (horizon {challenger.horizon}, execution lag "
                       f"{challenger.execution_lag}) differ from the champion's ({champion_evidence.horizon}, "
                       f"{champion_evidence.execution_lag}); ICs over different labels are not comparable. "
                       f"The champion {revalidation['reason']}")
    k = _tested_against(registry, champion, run_date) + 1
    test = paired_ic_test(challenger.ic, champion_evidence.ic, lag=2 * challenger.horizon, alpha=alpha_for(k))
    base["paired_test"] = {**test, "k": k, "spending": "alpha_k = 0.05 x 6 / (pi^2 k^2)"}
    base["comparison"] = f"paired test against the champion re-measured with its own config (challenger #{k})"
    if gate["passes"] and test["passes"]:
        return outcome("promote", version, False, f"{gate['reason']}; {test['reason']}")
    why = test["reason"] if gate["passes"] else gate["reason"]
    return outcome("keep", champion, False, f"not promoted: {why}; the champion {revalidation['reason']}")


def apply_decision(registry: ModelRegistry, decision: Mapping[str, Any]) -> None:
    """Move the champion pointer as ``decision`` (from :func:`decide`) says; ``keep`` and ``none``
    change nothing. Each step is idempotent, so applying a decision again is safe."""
    action, reason = decision["action"], decision["reason"]
    if action in ("promote", "promote_provisional"):
        registry.promote(decision["challenger"], reason=reason, provisional=action == "promote_provisional")
    elif action == "demote":
        registry.demote(decision["champion_before"], reason=reason)
    elif action == "restore":
        registry.restore(decision["champion_before"], reason=reason)


def _revalidated(outcome: Callable[[str, str | None, bool, str], dict[str, Any]], champion: str, provisional: bool,
                 gate: Mapping[str, Any], how: str) -> dict[str, Any]:
    if gate["passes"]:
        if provisional:
            return outcome("restore", champion, False, f"the provisional champion {champion} ({how}) {gate['reason']}")
        return outcome("keep", champion, False, f"the champion {champion} ({how}) {gate['reason']}")
    if provisional:
        return outcome("keep", champion, True, f"the champion {champion} ({how}) stays provisional: {gate['reason']}")
    return outcome("demote", champion, True, f"the champion {champion} ({how}) fails re-validation: {gate['reason']}")
