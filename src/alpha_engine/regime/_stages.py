"""The regime stages: RegimeSubstrate (the week's call) and RegimeRetrospectiveEval (scores old calls).

Both are soft, observe-only Lambda stages between the data phase and the research/predictor
group. Both read the execution input's ``regime_action`` (``receives_execution_input``):

* ``produce`` (the default, also when the input has no such field): compute and write;
* ``dry_run``: compute, log the result, write nothing.

A shell run (``shell_run: true``) is preflight-only: ``run`` is not called, the stores are
read-only and nothing is written, which is what upstream's shell-run value ``regime_action:
dry_run`` asks for. The preflight does not fit the model: a Lambda stage's preflight imports no
heavy library (``tests/e2e/test_light_stages.py``), so it checks the action and, from the data
manifest (JSON, no ArcticDB), that the market series is stored with enough weeks of history. The
computing dry run is ``regime_action: dry_run`` on a real run.

This module stays light: numpy, pandas, scipy and hmmlearn are imported inside ``run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alpha_engine.data import WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)

from ._artifacts import LATEST_REGIME, REGIME_RETROSPECTIVE, REGIME_SUBSTRATE
from ._options import REGIME_ACTIONS, RegimeRetrospectiveOptions, RegimeSubstrateOptions

if TYPE_CHECKING:
    from ._inputs import RegimeInputs
    from ._retrospective import RegimeCall

__all__ = ["RegimeRetrospectiveEval", "RegimeSubstrate"]

ACTION_FIELD = "regime_action"


def regime_action(ctx: StageContext[Any]) -> str:
    """``produce`` or ``dry_run``: the execution input's ``regime_action`` (default ``produce``)."""
    action = ctx.execution_input.get(ACTION_FIELD, "produce")
    if action not in REGIME_ACTIONS:
        raise PreflightError(f"execution input {ACTION_FIELD} must be one of {', '.join(REGIME_ACTIONS)}; "
                             f"got {action!r}")
    return str(action)


def _check_manifest(ctx: StageContext[Any], min_weeks: int) -> None:
    """From the data manifest alone (light): the market series is stored and its requested history
    spans at least ``min_weeks`` weeks."""
    from datetime import date

    if ctx.is_pending(WEEKLY_MANIFEST):
        return  # before DataPhase1 has run there is no history to check
    key = ctx.key(WEEKLY_MANIFEST)
    manifest = ctx.artifacts.read_json(key)
    symbol = str(manifest["market_symbol"])
    if symbol not in manifest["macro_symbols"] and symbol not in manifest["last_dates"]:
        raise PreflightError(f"the market symbol {symbol!r} is neither a macro series nor a universe ticker in {key}")
    history = manifest["history"]
    weeks = (date.fromisoformat(history["end"]) - date.fromisoformat(history["start"])).days // 7
    if weeks < min_weeks:
        raise PreflightError(f"{key} covers {weeks} weeks of history ({history['start']} to {history['end']}); the "
                             f"regime HMM needs at least {min_weeks} (min_weeks)")


def _inputs(ctx: StageContext[Any], min_weeks: int) -> RegimeInputs:
    """The weekly inputs up to the run's as-of session; RegimeInputError when the history is too short."""
    from alpha_engine.store import TradingCalendar

    from ._errors import RegimeInputError
    from ._inputs import load_regime_inputs

    manifest = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))
    as_of = TradingCalendar().as_of_session(ctx.run_date)
    inputs = load_regime_inputs(ctx.resource(MARKET), str(manifest["market_symbol"]), as_of)
    weeks = len(inputs.hmm_features())
    if weeks < min_weeks:
        raise RegimeInputError(f"regime: {inputs.market_symbol} has {weeks} usable weeks up to {as_of.isoformat()}; "
                               f"the HMM needs at least {min_weeks} (min_weeks)")
    return inputs


class RegimeSubstrate(Stage[RegimeSubstrateOptions]):
    name = "RegimeSubstrate"
    slug = "regime-substrate"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 360
    description = ("Weekly 3-state regime call on the market index and the macro series present: Gaussian HMM "
                   "(filtered), composite z-score, BOCPD change-point probability")
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST,)
    produces = (REGIME_SUBSTRATE, LATEST_REGIME)
    receives_execution_input = True

    def preflight(self, ctx: StageContext[RegimeSubstrateOptions]) -> None:
        regime_action(ctx)
        _check_manifest(ctx, ctx.options.min_weeks)

    def _compute(self, ctx: StageContext[RegimeSubstrateOptions], inputs: RegimeInputs) -> dict[str, Any]:
        from ._substrate import build_substrate

        document = build_substrate(inputs, ctx.options, seed=ctx.seed, run_date=ctx.run_date)
        ctx.logger.info("regime call for the week of %s: %s (bear %.3f, neutral %.3f, bull %.3f); composite %s; "
                        "P(change in %d weeks) %.3f", document["week"], document["label"],
                        *document["probabilities"].values(), document["composite"]["label"],
                        document["change_point"]["window_weeks"], document["change_point"]["probability"])
        return document

    def run(self, ctx: StageContext[RegimeSubstrateOptions]) -> StageOutcome:
        action = regime_action(ctx)
        document = self._compute(ctx, _inputs(ctx, ctx.options.min_weeks))
        if action == "produce":
            ctx.artifacts.write_json(ctx.key(REGIME_SUBSTRATE), document)
            ctx.artifacts.write_json(ctx.key(LATEST_REGIME), document)
        else:
            ctx.logger.info("regime_action dry_run: nothing written")
        warnings = tuple(f"regime input {m['symbol']} missing: {m['consequence']}"
                         for m in document["inputs"]["missing"])
        return StageOutcome(summary={"action": action, "written": action == "produce", "label": document["label"],
                                     "probabilities": document["probabilities"],
                                     "composite": document["composite"]["label"],
                                     "change_probability": document["change_point"]["probability"]},
                            warnings=warnings)


class RegimeRetrospectiveEval(Stage[RegimeRetrospectiveOptions]):
    name = "RegimeRetrospectiveEval"
    slug = "regime-retrospective-eval"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 660
    description = ("Scores earlier regime calls against the HMM smoother on today's data (8-week lag, bear misses "
                   "cost 2x), with bootstrap intervals")
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST, optional(REGIME_SUBSTRATE))
    produces = (REGIME_RETROSPECTIVE,)
    receives_execution_input = True

    def preflight(self, ctx: StageContext[RegimeRetrospectiveOptions]) -> None:
        regime_action(ctx)
        ctx.artifacts.list(REGIME_SUBSTRATE.prefix)  # the earlier calls are listable
        _check_manifest(ctx, ctx.options.min_weeks)

    def _earlier_calls(self, ctx: StageContext[Any]) -> tuple[list[RegimeCall], list[str]]:
        """The substrate documents of earlier run dates, and the keys that could not be read."""
        from ._retrospective import RegimeCall

        own = ctx.key(REGIME_SUBSTRATE)
        calls, unreadable = [], []
        for key in sorted(ctx.artifacts.list(REGIME_SUBSTRATE.prefix)):
            if not REGIME_SUBSTRATE.matches(key) or key >= own:
                continue
            try:
                doc = ctx.artifacts.read_json(key)
                calls.append(RegimeCall(date=str(doc["date"]), week=str(doc["week"]), label=str(doc["label"]),
                                        probabilities={k: float(v) for k, v in doc["probabilities"].items()}))
            except Exception as exc:  # one bad old file must not stop the scoring of the others
                ctx.logger.warning("earlier regime call %s is unreadable, not scored: %s", key, exc)
                unreadable.append(key)
        return calls, unreadable

    def _compute(self, ctx: StageContext[RegimeRetrospectiveOptions], inputs: RegimeInputs) -> dict[str, Any]:
        from ._retrospective import build_retrospective

        calls, unreadable = self._earlier_calls(ctx)
        document = build_retrospective(calls, inputs, ctx.options, seed=ctx.seed, run_date=ctx.run_date)
        document["unreadable"] = unreadable
        ctx.logger.info("regime retrospective: %s", document["message"])
        return document

    def run(self, ctx: StageContext[RegimeRetrospectiveOptions]) -> StageOutcome:
        action = regime_action(ctx)
        document = self._compute(ctx, _inputs(ctx, ctx.options.min_weeks))
        if action == "produce":
            ctx.artifacts.write_json(ctx.key(REGIME_RETROSPECTIVE), document)
        else:
            ctx.logger.info("regime_action dry_run: nothing written")
        summary: dict[str, Any] = {"action": action, "written": action == "produce", "status": document["status"],
                                   "n_scorable": document["n_scorable"]}
        if document["metrics"] is not None:
            summary["weighted_accuracy"] = document["metrics"]["weighted_accuracy"]
        warnings = [f"earlier regime call {key} is unreadable and was not scored" for key in document["unreadable"]]
        if document["status"] == "insufficient_history":
            warnings.append(document["message"])
        return StageOutcome(summary=summary, warnings=tuple(warnings))
