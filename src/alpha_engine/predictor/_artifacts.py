"""The artifacts the predictor stages produce (consumers import these constants)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = [
    "CHAMPION_POINTER",
    "DRIFT_REPORT",
    "LATEST_PREDICTIONS",
    "MODEL_BUNDLE_FILE",
    "MODEL_REPORT_FILE",
    "PREDICTIONS",
    "PREDICTOR_PARAMS",
    "PREDICTOR_PARAMS_HISTORY",
    "PREDICTOR_PARAMS_PREVIOUS",
    "PROMOTION_DECISION",
    "REGISTRY_MANIFEST",
]

_PACKAGE = __package__ or ""

PREDICTIONS = Artifact(
    "predictor/predictions/{date}.json", schema="predictions.schema.json", package=_PACKAGE,
    description="the champion's per-ticker predictions for the run date (alpha, p_up, vetoes, model status)",
)
LATEST_PREDICTIONS = Artifact(
    "predictor/predictions/latest.json", schema="predictions.schema.json", package=_PACKAGE,
    description="a copy of the latest predictions",
)
DRIFT_REPORT = Artifact(
    "monitoring/drift/{date}.json", schema="drift_report.schema.json", package=_PACKAGE,
    description="DriftDetection: feature and prediction-pattern drift against the champion's reference",
)
REGISTRY_MANIFEST = Artifact(
    "predictor/registry/{version}/manifest.json", schema="registry_manifest.schema.json", package=_PACKAGE,
    description="a registered model bundle's manifest (written last: it marks a complete bundle)",
)
MODEL_BUNDLE_FILE = Artifact(
    "predictor/registry/{version}/{file}",
    description="a model bundle's files (models as JSON/text, feature list, drift reference); immutable",
)
CHAMPION_POINTER = Artifact(
    "predictor/registry/champion.json", schema="champion.schema.json", package=_PACKAGE,
    description="the serving model (version, provisional flag) and the promotion history",
)
PROMOTION_DECISION = Artifact(
    "predictor/registry/decisions/{date}/{version}.json", schema="promotion_decision.schema.json", package=_PACKAGE,
    description="PredictorTraining's promotion decision for the week's challenger, with the statistics behind it",
)
MODEL_REPORT_FILE = Artifact(
    "predictor/reports/{version}/{file}",
    description="a challenger's training report (markdown and figures)",
)

# The predictor's serving parameters in force (backtester.md §6 config/predictor_params.json). The predictor
# domain owns its contents (veto_confidence under "values", other keys kept on every merge); the Evaluator's
# guarded auto-apply writes it, and PredictorTraining reads it by key when it writes predictions.
PREDICTOR_PARAMS = Artifact(
    "config/predictor_params.json", schema="predictor_params.schema.json", package=_PACKAGE,
    description="the predictor's serving parameters in force (veto_confidence), written only by a guarded apply or a "
                "rollback; absent: the default veto_confidence 0.65",
)
PREDICTOR_PARAMS_PREVIOUS = Artifact(
    "config/predictor_params_previous.json", schema="predictor_params.schema.json", package=_PACKAGE,
    description="the predictor parameters in force before the last apply (what a rollback restores)",
)
PREDICTOR_PARAMS_HISTORY = Artifact(
    "config/predictor_params_history/{date}.json", schema="predictor_params.schema.json", package=_PACKAGE,
    description="the predictor parameters applied on that run date",
)
