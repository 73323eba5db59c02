"""The predictor: honest walk-forward training, challenger/champion registry, inference, drift;
stages PredictorTraining and DriftDetection."""

from ._calibration import AlphaCalibrator
from ._drift import detect_drift, reference_distributions
from ._inference import ChampionModels, load_champion, predict_cross_section
from ._labels import forward_log_return, market_relative_labels, vol_bucket_relative_labels
from ._meta import MetaModel
from ._metrics import ICSummary, daily_ic, deflated_sharpe_ratio, hit_rate, summarize_ic
from ._momentum import MOMENTUM_FORMULA, momentum_score
from ._predictions import apply_vetoes, build_predictions
from ._registry import BundleFile, ModelRegistry
from ._report import render_report
from ._splits import CombinatorialPurgedCV, WalkForward
from ._stages import DriftDetection, PredictorTraining
from ._training import META_FEATURES, TrainingConfig, build_dataset, train_predictor
from ._volatility import VOLATILITY_FEATURES, VolatilityModel

__all__ = [
    "META_FEATURES",
    "MOMENTUM_FORMULA",
    "VOLATILITY_FEATURES",
    "AlphaCalibrator",
    "BundleFile",
    "ChampionModels",
    "CombinatorialPurgedCV",
    "DriftDetection",
    "ICSummary",
    "MetaModel",
    "ModelRegistry",
    "PredictorTraining",
    "TrainingConfig",
    "VolatilityModel",
    "WalkForward",
    "apply_vetoes",
    "build_dataset",
    "build_predictions",
    "daily_ic",
    "deflated_sharpe_ratio",
    "detect_drift",
    "forward_log_return",
    "hit_rate",
    "load_champion",
    "market_relative_labels",
    "momentum_score",
    "predict_cross_section",
    "reference_distributions",
    "render_report",
    "summarize_ic",
    "train_predictor",
    "vol_bucket_relative_labels",
]
