"""The training report: the manifest as readable Markdown with four plots (PNG).

IC by walk-forward fold, IC decay by horizon, the calibration curve and the volatility model's
feature importance. Plots are rendered with matplotlib's Agg backend with the PNG metadata
stripped, so the same manifest gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

__all__ = ["render_report"]


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def render_report(manifest: Mapping[str, Any], *, version_id: str, caveats: list[str],
                  decision: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """``{"report.md": ..., "ic_by_fold.png": ..., ...}``; ``decision`` (from
    :func:`~._promotion.decide`) adds the verdict and the promotion decision with its statistics."""
    folds = manifest["walk_forward"]["folds"]
    validation = manifest["validation"]
    models = manifest["models"]
    files: dict[str, bytes] = {}

    fig, ax = plt.subplots(figsize=(7, 3.2))
    xs = [f["fold"] for f in folds]
    ax.bar([x - 0.2 for x in xs], [f["momentum_ic"] or 0 for f in folds], width=0.4, label="momentum (L1)")
    ax.bar([x + 0.2 for x in xs], [f["volatility_ic"] or 0 for f in folds], width=0.4, label="volatility (L1, |label|)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="walk-forward fold", ylabel="IC", title="Out-of-sample IC by fold")
    ax.legend(fontsize=8)
    files["ic_by_fold.png"] = _png(fig)

    decay = validation["ic_decay"]
    horizons = sorted(decay, key=int)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot([int(h) for h in horizons], [decay[h]["meta"] or 0 for h in horizons], marker="o", label="meta (L2)")
    ax.plot([int(h) for h in horizons], [decay[h]["momentum"] or 0 for h in horizons], marker="s", label="momentum")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(xlabel="horizon (trading days)", ylabel="mean daily IC", title="IC decay by horizon (out of sample)")
    ax.legend(fontsize=8)
    files["ic_decay.png"] = _png(fig)

    curve = models["calibrator"]["curve"]
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8)
    ax.plot([b["mean_predicted"] for b in curve], [b["observed_frequency"] for b in curve], marker="o")
    ax.set(xlabel="predicted P(up)", ylabel="observed frequency", title="Calibration: cross-fitted\n(earlier folds fit, next fold scored)",
           xlim=(0, 1), ylim=(0, 1))
    files["calibration.png"] = _png(fig)

    importance = models["volatility"]["importance"]
    names = sorted(importance, key=lambda n: importance[n] or 0)
    fig, ax = plt.subplots(figsize=(6, 0.35 * max(3, len(names)) + 1))
    ax.barh(names, [importance[n] or 0 for n in names])
    ax.set(xlabel="gain", title="Volatility model: feature importance")
    fig.tight_layout()
    files["feature_importance.png"] = _png(fig)

    meta_ic = validation["meta_oos_ic"]
    mom_ic = models["momentum"]["oos_ic"]
    code = manifest.get("code_version")
    lines = [
        f"# Predictor training report: {version_id}",
        "",
        f"Data as of {manifest['data_vintage']['as_of']}: {manifest['data_vintage']['tickers']} tickers, "
        f"{manifest['rows']['labelled']} labelled rows; label: {manifest['label']['kind']} over "
        f"{manifest['horizon']} trading days from {manifest['label'].get('execution_lag', 0)} session(s) after the "
        f"features' close, clipped at ±{manifest['label']['clip']}.",
        "",
        *(f"> **Caveat:** {c}" for c in caveats),
        "",
        *_verdict_lines(validation, decision),
        "## Out-of-sample skill (purge and embargo = horizon + execution lag)",
        "",
        "| model | mean daily IC | 95% CI (Newey-West HAC, lag 2 x horizon) | IR | dates |",
        "|---|---:|---|---:|---:|",
        f"| meta-model (L2) | {_fmt(meta_ic['mean'])} | [{_fmt(meta_ic['ci_low'])}, {_fmt(meta_ic['ci_high'])}] "
        f"| {_fmt(meta_ic['ir'])} | {meta_ic['n_dates']} |",
        f"| momentum formula (L1) | {_fmt(mom_ic['mean'])} | [{_fmt(mom_ic['ci_low'])}, {_fmt(mom_ic['ci_high'])}] "
        f"| {_fmt(mom_ic['ir'])} | {mom_ic['n_dates']} |",
        "",
        f"- CPCV (combinatorial purged cross-validation, {validation['cpcv']['n_splits']} splits): mean IC "
        f"{_fmt(validation['cpcv']['mean_ic'])} ± {_fmt(validation['cpcv']['std_ic'])} (standard deviation across "
        f"splits, not an interval; for comparison, not used by the gate).",
        f"- Randomization test (circular time shifts of each ticker's predictions, "
        f"{validation['ic_randomization']['n_draws']} draws): p = {_fmt(validation['ic_randomization_p'])}.",
        f"- Weekly rebalance dates only: mean IC {_fmt(validation['weekly_ic']['mean'])} "
        f"[{_fmt(validation['weekly_ic']['ci_low'])}, {_fmt(validation['weekly_ic']['ci_high'])}] "
        f"({validation['weekly_ic']['ci_method']} weeks) over {validation['weekly_ic']['n_dates']} weeks.",
        f"- Deflated Sharpe ratio of the IC series (Bailey & López de Prado 2014; the probabilistic Sharpe ratio "
        f"below 2 recorded trials): {_fmt(validation['dsr'])} (effective T "
        f"{_fmt(validation['dsr_effective_t'])} of {meta_ic['n_dates']} dates, {validation['dsr_n_trials']} "
        f"recorded trial(s)); hit rate {_fmt(validation['hit_rate'])}.",
        *_calibration_lines(models["calibrator"]),
        f"- Meta-model inputs: {', '.join(models['meta_model']['features'])}; dropped (no data): "
        f"{', '.join(models['meta_model']['dropped_features']) or 'none'}.",
        f"- Research calibrator: not used ({models['research_calibrator']['reason']}).",
        *([f"- Code: alpha_engine {code['alpha_engine']} (sources sha256 {code['sources_sha256'][:12]}), "
           f"lightgbm {code['lightgbm']}, scikit-learn {code['scikit-learn']}."] if code else []),
        "",
        "![IC by fold](ic_by_fold.png)",
        "![IC decay](ic_decay.png)",
        "![Calibration](calibration.png)",
        "![Feature importance](feature_importance.png)",
        "",
    ]
    files["report.md"] = "\n".join(lines).encode()
    return files


def _calibration_lines(calibrator: Mapping[str, Any]) -> list[str]:
    """The calibration bullets: cross-fitted ECE and Brier skill, the in-sample ECE, the slope test."""
    oos = calibrator.get("out_of_sample")
    if oos is None:  # a manifest from before cross-fitting
        return [f"- Calibration ({calibrator['method']}): ECE {_fmt(calibrator['ece'])} (in sample)."]
    lines = [f"- Calibration ({calibrator['method']}), cross-fitted (fit on earlier walk-forward folds, purged; "
             f"scored on the next; {oos['n_folds_scored']} folds, {oos['n_scored']} rows): ECE "
             f"{_fmt(oos['ece'])}; Brier {_fmt(oos['brier'])} vs base-rate Brier {_fmt(oos['base_rate_brier'])} "
             f"(skill {_fmt(oos['brier_skill'])}; > 0 beats the base rate). In-sample ECE "
             f"{_fmt(calibrator.get('in_sample_ece'))} (the fit's own rows: ~0 by construction)."]
    test = calibrator.get("final", {}).get("slope_test")
    if test is not None:
        verdict = ("not significantly > 0: p_up = base rate for every name" if test["shrunk_to_base_rate"]
                   else "significantly > 0: kept")
        lines.append(f"- Live calibrator slope (one-sided Wald test, date-block clustered SE): raw "
                     f"{_fmt(test['raw_slope'])}, z {_fmt(test['z'])}, p {_fmt(test['p_value'])} at level "
                     f"{_fmt(test['level'])} — {verdict}.")
    return lines


def _verdict_lines(validation: Mapping[str, Any], decision: Mapping[str, Any] | None) -> list[str]:
    """The verdict first: skill or no detectable skill by the gate, then the promotion decision."""
    from ._promotion import skill_gate

    gate = skill_gate(validation) if decision is None else decision["challenger_gate"]
    headline = ("**Skill detected** by the skill gate" if gate["passes"]
                else "**No detectable skill**: this model's out-of-sample evidence does not pass the skill gate")
    lines = ["## Verdict", "", f"{headline} (95% Newey-West HAC interval of the mean daily IC above 0, or DSR >= "
             f"{gate.get('dsr_threshold', 0.95)}): {gate['reason']}.", ""]
    if decision is None:
        return lines
    lines += [f"- Promotion decision: **{decision['action']}**; champion before {decision['champion_before'] or 'none'}, "
              f"after {decision['champion_after'] or 'none'}"
              f"{' (provisional)' if decision['provisional_after'] else ''}. {decision['reason']}."]
    if decision.get("comparison"):
        lines.append(f"- Comparison: {decision['comparison']}.")
    revalidation = decision.get("champion_revalidation")
    if revalidation is not None and decision["champion_before"] != decision["challenger"]:
        lines.append(f"- Champion re-validation (its own config re-trained on this run's data): {revalidation['reason']}.")
    test = decision.get("paired_test")
    if test is not None:
        lines.append(f"- {test['method'][0].upper()}{test['method'][1:]}: mean difference "
                     f"{_fmt(test['mean_difference'])}, se {_fmt(test['se'])}, z {_fmt(test['z'])}, one-sided p "
                     f"{_fmt(test['p_value'])}; challenger #{test['k']} against this champion spends alpha "
                     f"{_fmt(test['alpha'])} ({test['spending']}), margin {_fmt(test['margin'])} over "
                     f"{test['n_dates']} dates.")
    return [*lines, ""]
