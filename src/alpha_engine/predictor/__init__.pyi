from ._artifacts import (
    CHAMPION_POINTER,
    DRIFT_REPORT,
    LATEST_PREDICTIONS,
    MODEL_BUNDLE_FILE,
    MODEL_REPORT_FILE,
    PREDICTIONS,
    PREDICTOR_PARAMS,
    PREDICTOR_PARAMS_HISTORY,
    PREDICTOR_PARAMS_PREVIOUS,
    PROMOTION_DECISION,
    REGISTRY_MANIFEST,
)
from ._calibration import AlphaCalibrator
from ._drift import ChampionReference, detect_drift, load_champion_reference, reference_distributions
from ._errors import PredictorError, RegistryCorruptionError, RegistryError, VersionNotFoundError
from ._inference import ChampionModels, load_champion, predict_cross_section
from ._labels import forward_log_return, market_relative_labels, vol_bucket_relative_labels
from ._meta import MetaModel
from ._metrics import ICSummary, daily_ic, deflated_sharpe_ratio, hit_rate, summarize_ic
from ._momentum import MOMENTUM_FORMULA, momentum_score
from ._options import PredictorTrainingOptions, TrainingConfig
from ._predictions import apply_vetoes, build_predictions
from ._promotion import (
    ALPHA,
    DSR_THRESHOLD,
    Evidence,
    alpha_for,
    apply_decision,
    decide,
    paired_ic_test,
    skill_gate,
)
from ._registry import BundleFile, ModelRegistry
from ._report import render_report
from ._rows import build_dataset, data_vintage, latest_model_inputs, macro_features, model_rows, training_rows
from ._splits import CombinatorialPurgedCV, WalkForward
from ._stages import DEFAULT_VETO_CONFIDENCE, DriftDetection, PredictorTraining, veto_confidence_in_force
from ._training import META_FEATURES, train_predictor
from ._volatility import VOLATILITY_FEATURES, VolatilityModel

__all__ = [
    "CHAMPION_POINTER",
    "DEFAULT_VETO_CONFIDENCE",
    "DRIFT_REPORT",
    "LATEST_PREDICTIONS",
    "META_FEATURES",
    "MODEL_BUNDLE_FILE",
    "MODEL_REPORT_FILE",
    "MOMENTUM_FORMULA",
    "PREDICTIONS",
    "PREDICTOR_PARAMS",
    "PREDICTOR_PARAMS_HISTORY",
    "PREDICTOR_PARAMS_PREVIOUS",
    "PROMOTION_DECISION",
    "REGISTRY_MANIFEST",
    "VOLATILITY_FEATURES",
    "ALPHA",
    "DSR_THRESHOLD",
    "AlphaCalibrator",
    "BundleFile",
    "ChampionReference",
    "ChampionModels",
    "CombinatorialPurgedCV",
    "DriftDetection",
    "Evidence",
    "ICSummary",
    "MetaModel",
    "ModelRegistry",
    "PredictorError",
    "PredictorTraining",
    "PredictorTrainingOptions",
    "RegistryCorruptionError",
    "RegistryError",
    "TrainingConfig",
    "VersionNotFoundError",
    "VolatilityModel",
    "WalkForward",
    "alpha_for",
    "apply_decision",
    "apply_vetoes",
    "build_dataset",
    "build_predictions",
    "daily_ic",
    "data_vintage",
    "decide",
    "deflated_sharpe_ratio",
    "detect_drift",
    "forward_log_return",
    "hit_rate",
    "latest_model_inputs",
    "load_champion",
    "load_champion_reference",
    "macro_features",
    "market_relative_labels",
    "model_rows",
    "momentum_score",
    "paired_ic_test",
    "predict_cross_section",
    "reference_distributions",
    "render_report",
    "skill_gate",
    "summarize_ic",
    "train_predictor",
    "training_rows",
    "veto_confidence_in_force",
    "vol_bucket_relative_labels",
]
