"""The weekly report: one self-contained HTML file (no script, no external URL; plots are inline
SVG) that opens with the verdict and the grades table, then the modules' status, then the plots:
NAV against the index, drawdown, grades over time, IC decay by horizon, calibration.

Same evaluation, same bytes: matplotlib's SVG writer gets a fixed ``svg.hashsalt``, no date
metadata, and text as text (``svg.fonttype = none``), so no random ids or glyph paths vary.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

__all__ = ["render_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1f24;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.verdict{font-size:1.1rem;background:#f6f8fa;border-left:4px solid #0969da;padding:.8rem 1rem;margin:1rem 0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grade{font-weight:700}.st-ok{color:#1a7f37}.st-degraded{color:#9a6700}.st-skipped{color:#57606a}.st-error{color:#cf222e}
figure{margin:1rem 0;min-width:0}figure svg{max-width:100%;height:auto;display:block}figcaption{font-size:.88rem;color:#57606a}.plots{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.muted{color:#57606a;font-size:.9rem}
"""


def _svg(fig: Figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "alpha-engine-evaluator", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: inline SVG in HTML


def _figure(title: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.4, 3.4), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    return fig, ax


def _placeholder(title: str, why: str) -> str:
    fig, ax = _figure(title)
    ax.axis("off")
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, fontsize=10, color="#57606a")
    return _svg(fig)


def _nav_plots(portfolio: Mapping[str, Any] | None, reason: str | None) -> tuple[str, str]:
    path = (portfolio or {}).get("path")
    if not path or not path.get("nav"):
        why = reason or "no portfolio path"
        return _placeholder("NAV vs index", why), _placeholder("Drawdown", why)
    import numpy as np

    dates = np.array(path["dates"], dtype="datetime64[D]")
    nav = np.asarray(path["nav"], dtype=float)
    label = "backtest NAV" if portfolio and portfolio.get("source") == "backtest" else "signals (equal-weight buy candidates)"
    fig, ax = _figure("NAV vs index")
    ax.plot(dates, nav, label=label, color="#0969da", linewidth=1.4)
    drawdowns = [(label, nav, "#0969da")]
    if path.get("index_nav"):
        index_nav = np.asarray(path["index_nav"], dtype=float)
        ax.plot(dates, index_nav, label="index", color="#57606a", linewidth=1.2)
        drawdowns.append(("index", index_nav, "#57606a"))
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    nav_svg = _svg(fig)
    fig, ax = _figure("Drawdown")
    for name, series, color in drawdowns:
        ax.fill_between(dates, series / np.maximum.accumulate(series) - 1, 0, alpha=0.35, color=color, label=name)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return nav_svg, _svg(fig)


def _grades_plot(history: Sequence[Mapping[str, Any]]) -> str:
    points = [e for e in history if e.get("overall") is not None or any(e.get(g) is not None for g in
                                                                        ("research", "predictor", "executor"))]
    if not points:
        return _placeholder("Grades over time", "no graded week yet")
    import numpy as np

    fig, ax = _figure("Grades over time (0-100)")
    dates = np.array([e["date"] for e in history], dtype="datetime64[D]")
    for key, color in (("overall", "#1b1f24"), ("research", "#0969da"), ("predictor", "#8250df"), ("executor", "#1a7f37")):
        values = np.array([e.get(key) if e.get(key) is not None else np.nan for e in history], dtype=float)
        ax.plot(dates, values, marker="o", markersize=4, label=key, color=color)
    if len(dates) == 1:  # one week: a month either side, not matplotlib's default of years
        ax.set_xlim(dates[0] - np.timedelta64(30, "D"), dates[0] + np.timedelta64(30, "D"))
    for floor in (90, 65, 42, 20):
        ax.axhline(floor, color="#d0d7de", linewidth=0.8)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig)


def _ic_plot(predictor: Mapping[str, Any] | None) -> str:
    if not predictor:
        return _placeholder("IC decay by horizon", "no predictor evaluation")
    fig, ax = _figure("IC decay by horizon")
    drawn = False
    live = {int(h): v for h, v in predictor.get("live", {}).get("ic_decay", {}).items() if v.get("status") == "tested"}
    if live:
        hs = sorted(live)
        ax.errorbar(hs, [live[h]["mean"] for h in hs],
                    yerr=[[live[h]["mean"] - live[h]["ci_low"] for h in hs], [live[h]["ci_high"] - live[h]["mean"] for h in hs]],
                    marker="o", capsize=3, label="live (95% HAC CI)", color="#0969da")
        drawn = True
    training = (predictor.get("training") or {}).get("ic_decay") or {}
    if training:
        hs = sorted(int(h) for h in training)
        ax.plot(hs, [training[str(h)] for h in hs], marker="s", linestyle="--", label="walk-forward (training)", color="#8250df")
        drawn = True
    if not drawn:
        ax.axis("off")
        ax.text(0.5, 0.5, "no horizon with enough realised predictions", ha="center", va="center", color="#57606a")
        return _svg(fig)
    ax.axhline(0, color="#57606a", linewidth=0.8)
    ax.set_xlabel("horizon (sessions)")
    ax.set_ylabel("mean rank IC")
    ax.legend(fontsize=8)
    return _svg(fig)


def _calibration_plot(predictor: Mapping[str, Any] | None) -> str:
    if not predictor:
        return _placeholder("Calibration of p_up", "no predictor evaluation")
    live = predictor.get("live", {}).get("calibration", {})
    bins, label = (live.get("bins"), f"live (ECE {live['ece']:.3f})") if live.get("bins") else (None, "")
    if not bins:
        training = predictor.get("training") or {}
        bins = training.get("calibration_curve")
        ece = training.get("ece")
        label = "walk-forward, cross-fitted" + (f" (ECE {ece:.3f})" if isinstance(ece, int | float) else "")
    if not bins:
        return _placeholder("Calibration of p_up", "no resolved predictions and no stored calibration curve")
    fig, ax = _figure("Calibration of p_up")
    ax.plot([0, 1], [0, 1], color="#d0d7de", linewidth=1, label="perfect")
    ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], marker="o", color="#0969da", label=label)
    ax.set_xlabel("mean predicted p_up")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return _svg(fig)


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _grades_table(scorecard: Mapping[str, Any]) -> str:
    rows = ["<table id='grades'><thead><tr><th>group</th><th>component</th><th>weight</th><th>grade</th>"
            "<th>score</th><th>evidence</th></tr></thead><tbody>"]
    overall = scorecard["overall"]
    rows.append(f"<tr><th colspan='3'>overall</th><td class='grade'>{_cell(overall['grade'])}</td>"
                f"<td class='num'>{_cell(overall['score'], 1)}</td><td>{html.escape(scorecard['status'])}</td></tr>")
    for group, body in scorecard["groups"].items():
        rows.append(f"<tr><th>{group}</th><th>(group)</th><td class='num'>{scorecard['group_weights'][group]:.2f}</td>"
                    f"<td class='grade'>{_cell(body['grade'])}</td><td class='num'>{_cell(body['score'], 1)}</td><td></td></tr>")
        for name, c in body["components"].items():
            evidence = c["figure"] if c["score"] is not None else f"not graded: {c['reason']}"
            rows.append(f"<tr><td></td><td>{name}</td><td class='num'>{c['weight']:.2f}</td><td class='grade'>{_cell(c['grade'])}</td>"
                        f"<td class='num'>{_cell(c['score'], 1)}</td><td>{html.escape(evidence)}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _modules_table(modules: Mapping[str, Mapping[str, Any]]) -> str:
    rows = ["<table id='modules'><thead><tr><th>module</th><th>status</th><th>reason</th></tr></thead><tbody>"]
    for name, m in modules.items():
        rows.append(f"<tr><td>{name}</td><td class='st-{m['status']}'>{m['status']}</td>"
                    f"<td>{html.escape(m['reason'] or '')}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _signal_table(quality: Mapping[str, Any] | None) -> str:
    if not quality:
        return "<p class='muted'>Signal quality was not computed (see the modules table).</p>"
    rows = ["<table id='signal-quality'><thead><tr><th>slice</th><th>n</th><th>hit rate</th><th>95% CI</th>"
            "<th>mean alpha</th><th>q (BH)</th></tr></thead><tbody>"]
    for h, s in quality["horizons"].items():
        rows.append(_slice_row(f"buy candidates, {h} sessions", s))
    for s in quality["slices"]:
        rows.append(_slice_row(f"{s['dimension']} {s['value']}", s))
    rows.append("</tbody></table>")
    fdr = quality["fdr"]
    rows.append(f"<p class='muted'>{fdr['tests']} slice tests; raw p &lt; 0.05: {fdr['raw_p_below_0_05']}; "
                f"rejected at FDR {fdr['q']}: {fdr['rejected']}. {html.escape(quality['overlap_note'])}.</p>")
    return "".join(rows)


def _slice_row(name: str, s: Mapping[str, Any]) -> str:
    if "hit_rate" not in s:
        return (f"<tr><td>{html.escape(name)}</td><td class='num'>{s.get('n', 0)}</td>"
                f"<td colspan='4' class='muted'>insufficient data</td></tr>")
    significant = " *" if s.get("significant") else ""
    return (f"<tr><td>{html.escape(name)}</td><td class='num'>{s['n']}</td><td class='num'>{s['hit_rate']:.1%}{significant}</td>"
            f"<td class='num'>[{s['ci_low']:.1%}, {s['ci_high']:.1%}]</td><td class='num'>{s['mean_alpha']:+.2%}</td>"
            f"<td class='num'>{_cell(s.get('q_value'))}</td></tr>")


def render_report(evaluation: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> str:
    """The report's HTML for one evaluation (the evaluation.json document) and the grade history."""
    modules = evaluation["modules"]

    def data(name: str) -> dict[str, Any] | None:
        m = modules.get(name, {})
        return m.get("data") if m.get("status") in ("ok", "degraded") else None

    portfolio_reason = modules.get("portfolio", {}).get("reason")
    nav_svg, drawdown_svg = _nav_plots(data("portfolio"), portfolio_reason)
    plots = [("NAV against the index", nav_svg), ("Drawdown", drawdown_svg),
             ("Grades over time", _grades_plot(history)), ("IC decay by horizon", _ic_plot(data("predictor"))),
             ("Calibration", _calibration_plot(data("predictor")))]
    figures = "".join(f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, svg in plots)
    caveats = "".join(f"<li>{html.escape(c)}</li>" for c in evaluation.get("caveats", []))
    window = evaluation["window"]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>alpha-engine evaluation {evaluation['date']}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Weekly evaluation — {evaluation['date']}</h1>"
        f"<p class='muted'>As of the {evaluation['as_of_session']} close; signals {window['start']} to {window['end']} "
        f"({window['signal_dates']} signal dates, {window['prediction_dates']} prediction dates); index "
        f"{html.escape(evaluation['market_symbol'])}.</p>"
        f"<div class='verdict' id='verdict'>{html.escape(evaluation['verdict'])}</div>"
        f"<h2>Grades</h2>{_grades_table(evaluation['scorecard'])}"
        f"<h2>Modules</h2>{_modules_table(modules)}"
        f"<h2>Plots</h2><div class='plots'>{figures}</div>"
        f"<h2>Signal quality</h2>{_signal_table(data('signal_quality'))}"
        f"<h2>Caveats</h2><ul>{caveats}</ul>"
        "</body></html>\n"
    )
