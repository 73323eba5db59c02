"""Counterfactual rule fit: does an agent reduce to a depth-3 decision tree?

For each supported agent, the captured decisions of the trailing window become rows (features ->
the agent's decision); a ``DictVectorizer`` + ``DecisionTreeClassifier(max_depth=3,
random_state=0)`` is fitted and scored in sample. A match rate above 0.85 flags the agent as a
demotion candidate: a few thresholds would decide as it does.

Features (v1), from what research captures (``research/_orchestrate.py``, ``_models.py``):

* ``ic_cio``: one row per CIO decision labelled ``ADVANCE`` or ``REJECT`` (``ADVANCE_FORCED`` is
  the force-fill rule, not a judgment, and is left out). From the snapshot's ``picks`` (the scored
  tickers the CIO saw): ``composite_score`` (``final_score``), ``quant_score``, ``qual_score``,
  ``sector_modifier`` (recovered from ``macro_shift`` = (modifier - 1) / 0.3 x 10; 1 when absent),
  ``held`` (1 when the ticker is in the snapshot's population); from the output decision:
  ``conviction``. A null value is left out of the row (``DictVectorizer`` reads it as 0).
* ``macro_economist``: one row per run, labelled with the ``market_regime`` it chose. Upstream
  read SPY/VIX/yield-curve indicators; our macro economist is given the regime substrate and
  per-ticker ``price_vs_ma200``/``momentum_20d``, so its market indicators are: the prior's
  ``prior_label`` and ``prior_p_{bull,neutral,bear}``, ``breadth_above_ma200`` (share of tickers
  above their 200-day mean), ``median_price_vs_ma200`` and ``median_momentum_20d``.

Every other agent seen in the window is ``UNSUPPORTED`` and its decisions are never listed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ._corpus import load_decision, scan_window
from ._errors import CorpusError

if TYPE_CHECKING:
    from alpha_engine.research import DecisionArtifact
    from alpha_engine.store import ArtifactStore

__all__ = ["SUPPORTED_AGENTS", "RuleFit", "CounterfactualRun", "cio_rows", "fit_rule", "macro_rows",
           "run_counterfactual"]

Row = tuple[dict[str, float | str], str]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _put(row: dict[str, float | str], name: str, value: Any) -> None:
    number = _number(value)
    if number is not None:
        row[name] = number


def cio_rows(decision: DecisionArtifact) -> list[Row]:
    """One row per ADVANCE/REJECT decision of a captured ``ic_cio`` decision (module docstring)."""
    snapshot, output = decision.input_data_snapshot, decision.agent_output
    picks = {p.get("ticker"): p for p in snapshot.get("picks") or [] if isinstance(p, dict)}
    held = {h.get("ticker") for h in snapshot.get("population") or [] if isinstance(h, dict)}
    rows: list[Row] = []
    for item in output.get("decisions") or []:
        label = item.get("decision") if isinstance(item, dict) else None
        if label not in ("ADVANCE", "REJECT"):
            continue
        pick = picks.get(item.get("ticker")) or {}
        row: dict[str, float | str] = {}
        _put(row, "composite_score", pick.get("final_score"))
        _put(row, "quant_score", pick.get("quant"))
        _put(row, "qual_score", pick.get("qual"))
        shift = _number(pick.get("macro_shift"))
        row["sector_modifier"] = 1.0 if shift is None else round(1.0 + shift * 0.3 / 10.0, 6)
        row["held"] = 1.0 if item.get("ticker") in held else 0.0
        _put(row, "conviction", item.get("conviction"))
        rows.append((row, str(label)))
    return rows


def macro_rows(decision: DecisionArtifact) -> list[Row]:
    """The one row of a captured ``macro_economist`` decision (module docstring); none without a regime."""
    snapshot, label = decision.input_data_snapshot, decision.agent_output.get("market_regime")
    if not isinstance(label, str):
        return []
    row: dict[str, float | str] = {}
    prior = snapshot.get("regime_substrate") or {}
    if isinstance(prior.get("label"), str):
        row["prior_label"] = prior["label"]
    for regime in ("bull", "neutral", "bear"):
        _put(row, f"prior_p_{regime}", (prior.get("probabilities") or {}).get(regime))
    trend = [v for v in ((snapshot.get("price_vs_ma200") or {}).values()) if _number(v) is not None]
    momentum = [v for v in ((snapshot.get("momentum_20d") or {}).values()) if _number(v) is not None]
    if trend:
        row["breadth_above_ma200"] = round(sum(1 for v in trend if v > 0) / len(trend), 6)
        row["median_price_vs_ma200"] = float(statistics.median(trend))
    if momentum:
        row["median_momentum_20d"] = float(statistics.median(momentum))
    return [(row, label)]


SUPPORTED_AGENTS: dict[str, Callable[[DecisionArtifact], list[Row]]] = {
    "ic_cio": cio_rows,
    "macro_economist": macro_rows,
}
"""Agent id -> its feature extraction (v1)."""


@dataclass
class RuleFit:
    """One agent's result: ``FIT`` (with the tree), ``SKIPPED`` (with a reason) or ``UNSUPPORTED``."""

    agent_id: str
    status: str
    reason: str = ""
    decisions: int = 0  # decisions loaded
    n: int = 0  # rows
    n_classes: int = 0
    match_rate: float | None = None
    feature_names: list[str] = field(default_factory=list)
    tree: str = ""
    importances: dict[str, float] = field(default_factory=dict)
    flag: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "status": self.status, "reason": self.reason,
                "decisions": self.decisions, "n": self.n, "n_classes": self.n_classes,
                "match_rate": self.match_rate, "feature_names": self.feature_names, "tree": self.tree,
                "importances": self.importances, "flag": self.flag}


def fit_rule(agent_id: str, rows: list[Row], *, max_depth: int = 3, min_samples: int = 10,
             flag_threshold: float = 0.85) -> RuleFit:
    """Fit the tree on ``rows`` and score it in sample; SKIPPED when n < ``min_samples`` or one class."""
    labels = sorted({label for _, label in rows})
    fit = RuleFit(agent_id=agent_id, status="SKIPPED", n=len(rows), n_classes=len(labels))
    if len(rows) < min_samples:
        fit.reason = f"{len(rows)} row(s), fewer than {min_samples}: too few to fit a rule"
        return fit
    if len(labels) < 2:
        fit.reason = f"a single class ({labels[0]}) in {len(rows)} row(s): nothing to tell apart"
        return fit
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.tree import DecisionTreeClassifier, export_text

    vectorizer = DictVectorizer(sparse=False, sort=True)
    x = vectorizer.fit_transform([features for features, _ in rows])
    y = [label for _, label in rows]
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=0).fit(x, y)
    names = [str(n) for n in vectorizer.get_feature_names_out()]
    fit.status = "FIT"
    fit.match_rate = round(float(tree.score(x, y)), 6)
    fit.feature_names = names
    fit.tree = export_text(tree, feature_names=names, decimals=4)
    fit.importances = {name: round(float(v), 6) for name, v in zip(names, tree.feature_importances_, strict=True)}
    fit.flag = fit.match_rate > flag_threshold
    return fit


@dataclass
class CounterfactualRun:
    """What one counterfactual run did."""

    start: date
    end: date
    fits: dict[str, RuleFit] = field(default_factory=dict)  # agent id -> result (UNSUPPORTED ones too)
    decisions_loaded: int = 0
    unreadable: list[str] = field(default_factory=list)
    complete: bool = True
    scan: dict[str, Any] = field(default_factory=dict)


def run_counterfactual(store: ArtifactStore, *, end: date, window_days: int = 28, per_agent_cap: int | None = 500,
                       max_depth: int = 3, min_samples: int = 10, flag_threshold: float = 0.85,
                       deadline: Callable[[], bool] | None = None,
                       load: Callable[[ArtifactStore, str], DecisionArtifact] = load_decision) -> CounterfactualRun:
    """Scan the window (only supported agents are listed, each capped at ``per_agent_cap`` newest
    decisions while listing), load and fit each supported agent; ``deadline()`` True stops the scan
    or the loop between agents and leaves ``complete`` False."""
    scan = scan_window(store, end=end, window_days=window_days, per_agent_cap=per_agent_cap,
                       include=lambda agent_id: agent_id in SUPPORTED_AGENTS, deadline=deadline)
    run = CounterfactualRun(start=scan.start, end=scan.end, complete=not scan.stopped_by_deadline)
    for agent_id in sorted(scan.agents_seen - set(SUPPORTED_AGENTS)):
        run.fits[agent_id] = RuleFit(agent_id=agent_id, status="UNSUPPORTED",
                                     reason="no feature extraction for this agent (v1: ic_cio, macro_economist)")
    for agent_id, keys in sorted(scan.by_agent().items()):
        if deadline is not None and deadline():
            run.complete = False
            break
        rows: list[Row] = []
        loaded = 0
        for key in keys:
            try:
                decision = load(store, key.key)
            except CorpusError as exc:
                run.unreadable.append(str(exc))
                continue
            loaded += 1
            rows.extend(SUPPORTED_AGENTS[agent_id](decision))
        run.decisions_loaded += loaded
        fit = fit_rule(agent_id, rows, max_depth=max_depth, min_samples=min_samples, flag_threshold=flag_threshold)
        fit.decisions = loaded
        run.fits[agent_id] = fit
    run.scan = scan.summary()
    return run
