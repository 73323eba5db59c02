"""Honest training: labels, L1 (momentum formula, LightGBM volatility), L2 (BayesianRidge), all
validated out of sample with purge and embargo equal to the horizon.

The flow, and why each number can be trusted:

1. Labels at date t use only closes t..t+H; features at t use only data <= t (the feature
   engine is causal). Rows whose label is unknown (the last H dates) are not trained on.
2. The volatility model is fitted per expanding walk-forward fold and predicts only its test
   block; the pooled test blocks are the out-of-fold (OOF) rows.
3. The meta-model is evaluated on the OOF rows twice, never in sample: a second expanding
   walk-forward (its per-date IC series gives the mean IC, IR, a date-blocked bootstrap CI,
   the deflated Sharpe ratio and the hit rate) and CPCV (10 groups, 2 test groups; its mean IC
   is the promotion metric).
4. Only then are the final models fitted on everything, for inference.

The research-score calibrator of upstream's L1 is not used: there are no research scores yet
(the manifest says so).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ._calibration import AlphaCalibrator, calibration_curve, expected_calibration_error
from ._drift import reference_distributions
from ._labels import forward_log_return, to_long, vol_bucket_relative_labels
from ._meta import MetaModel
from ._metrics import daily_ic, deflated_sharpe_ratio, hit_rate, summarize_ic
from ._momentum import MOMENTUM_FORMULA, momentum_score
from ._registry import BundleFile
from ._splits import CombinatorialPurgedCV, WalkForward
from ._volatility import VOLATILITY_FEATURES, VolatilityModel, rank_normalize_by_date

__all__ = ["META_FEATURES", "TrainingConfig", "TrainingResult", "build_dataset", "macro_features", "train_predictor"]

_log = logging.getLogger(__name__)

# L2 inputs, in order. Macro inputs that are all-NaN in the training rows (the sample has no VIX
# or yield series) are dropped, and the manifest lists them.
META_FEATURES = (
    "momentum_score",
    "expected_move",
    "macro_market_20d_return",
    "macro_market_20d_vol",
    "macro_market_breadth",
    "vix_level",
    "vix_term_slope",
    "yield_curve_slope",
)
MOMENTUM_INPUTS = ("momentum_5d", "momentum_20d", "price_vs_ma50", "rsi_14")
DECAY_HORIZONS = (5, 10, 21, 40, 60)


@dataclass(frozen=True)
class TrainingConfig:
    horizon: int = 21
    label_clip: float = 0.15
    min_train_dates: int = 504
    test_dates: int = 126
    meta_min_train_dates: int = 252
    cpcv_groups: int = 10
    cpcv_test_groups: int = 2
    n_boot: int = 1000
    dsr_trials: int = 10
    vol_estimators: int = 100
    calibration: str = "platt"
    seed: int = 0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], seed: int) -> TrainingConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown predictor option(s) {unknown}; known: {sorted(known)}")
        return cls(**{**options, "seed": options.get("seed", seed)})


def macro_features(close: pd.DataFrame, market: pd.Series | None, price_vs_ma50: pd.DataFrame) -> pd.DataFrame:
    """Per-date market context (wide: dates x names), causal: the market's 20-day log return and
    annualized vol, and breadth (the fraction of names above their 50-day mean)."""
    out = pd.DataFrame(index=close.index)
    if market is not None:
        m = market.reindex(close.index)
        log_ret = np.log(m).diff()
        out["macro_market_20d_return"] = np.log(m / m.shift(20))
        out["macro_market_20d_vol"] = log_ret.rolling(20).std() * np.sqrt(252)
    else:
        out["macro_market_20d_return"] = np.nan
        out["macro_market_20d_vol"] = np.nan
    valid = price_vs_ma50.notna()
    out["macro_market_breadth"] = (price_vs_ma50 > 0).where(valid).sum(axis=1) / valid.sum(axis=1).replace(0, np.nan)
    return out


def build_dataset(frames: Mapping[str, pd.DataFrame], market: pd.Series | None, *, horizon: int,
                  label_clip: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long rows (date, ticker) of features + L1 momentum + macro context + label; and the wide closes."""
    close = pd.DataFrame({t: f["Close"] for t, f in frames.items()}).sort_index()
    close.index = pd.DatetimeIndex(close.index, name="date")
    long = pd.concat({t: f.drop(columns=["source"], errors="ignore") for t, f in frames.items()},
                     names=["ticker", "date"]).swaplevel().sort_index()
    long.index = long.index.set_names(["date", "ticker"])
    wide_ma50 = long["price_vs_ma50"].unstack("ticker") if "price_vs_ma50" in long else close * np.nan
    macro = macro_features(close, market, wide_ma50.reindex(close.index))
    long = long.join(macro, on="date")
    long["momentum_score"] = momentum_score(long)
    labels = vol_bucket_relative_labels(close, horizon=horizon, clip=label_clip)
    long["label"] = to_long(labels, "label").reindex(long.index)
    return long, close


@dataclass
class TrainingResult:
    manifest: dict[str, Any]
    files: list[BundleFile]
    oof: pd.DataFrame = field(repr=False)
    meta_ic: pd.Series = field(repr=False)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, rounded to 6 decimals for stable bytes."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return round(number, 6) if np.isfinite(number) else None
    return value


def _ic_mean(pred: pd.Series, label: pd.Series) -> float:
    ic = daily_ic(pred, label)
    return float(ic.mean()) if len(ic) else float("nan")


def train_predictor(dataset: pd.DataFrame, config: TrainingConfig, *, data_vintage: Mapping[str, Any],
                    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log) -> TrainingResult:
    """Walk-forward L1, leak-free L2 evaluation (walk-forward + CPCV), final fit; see the module doc."""
    labelled = dataset[dataset["label"].notna()]
    dates = labelled.index.get_level_values("date").unique().sort_values()
    folds = WalkForward(min_train_dates=config.min_train_dates, test_dates=config.test_dates,
                        purge=config.horizon, embargo=config.horizon)
    n_folds = folds.get_n_splits(dates)
    if n_folds < 2:
        raise ValueError(f"{len(dates)} labelled dates give {n_folds} walk-forward folds; need >= 2 "
                         f"(min_train_dates {config.min_train_dates} + test_dates {config.test_dates})")
    log.info("walk-forward: %d folds over %d labelled dates, %d rows", n_folds, len(dates), len(labelled))
    date_of_row = labelled.index.get_level_values("date")
    # Ranks are per date and folds split whole dates: rank once for every fold (same values).
    vol_columns = [c for c in VOLATILITY_FEATURES if c in labelled]
    ranked = rank_normalize_by_date(labelled[vol_columns]) if vol_columns else labelled[vol_columns]
    oof_parts, fold_rows = [], []
    for k, (train_pos, test_pos) in enumerate(folds.split(dates)):
        train = labelled[date_of_row.isin(dates[train_pos])]
        test = labelled[date_of_row.isin(dates[test_pos])]
        in_train, in_test = date_of_row.isin(dates[train_pos]), date_of_row.isin(dates[test_pos])
        vol = VolatilityModel(n_estimators=config.vol_estimators, seed=config.seed).fit(
            ranked[in_train], train["label"].abs(), ranked=True)
        part = test[["momentum_score", "label"]].copy()
        part["expected_move"] = vol.predict(ranked[in_test], ranked=True)
        oof_parts.append(part)
        fold_rows.append({"fold": k, "train_start": str(dates[train_pos[0]].date()),
                          "train_end": str(dates[train_pos[-1]].date()), "test_start": str(dates[test_pos[0]].date()),
                          "test_end": str(dates[test_pos[-1]].date()),
                          "momentum_ic": _ic_mean(part["momentum_score"], part["label"]),
                          "volatility_ic": float(part["expected_move"].corr(part["label"].abs()))})
    oof = pd.concat(oof_parts).sort_index()
    oof = oof.join(labelled[[c for c in META_FEATURES if c in labelled and c not in oof]])
    used = [c for c in META_FEATURES if c in oof and oof[c].notna().any()]
    dropped = [c for c in META_FEATURES if c not in used]

    # Leak-free L2: a second walk-forward over the OOF rows.
    oof_dates = oof.index.get_level_values("date").unique().sort_values()
    oof_date_of_row = oof.index.get_level_values("date")
    meta_folds = WalkForward(min_train_dates=config.meta_min_train_dates, test_dates=config.test_dates,
                             purge=config.horizon, embargo=config.horizon)
    preds = []
    for train_pos, test_pos in meta_folds.split(oof_dates):
        train = oof[oof_date_of_row.isin(oof_dates[train_pos])]
        test = oof[oof_date_of_row.isin(oof_dates[test_pos])]
        meta = MetaModel(features=used).fit(train[used], train["label"])
        preds.append(meta.predict(test[used]))
    meta_oos = pd.concat(preds).sort_index()
    evaluated = oof.loc[meta_oos.index]
    meta_ic = daily_ic(meta_oos, evaluated["label"])
    momentum_ic = daily_ic(evaluated["momentum_score"], evaluated["label"])
    meta_summary = summarize_ic(meta_ic, n_boot=config.n_boot, block=config.horizon, seed=config.seed)
    momentum_summary = summarize_ic(momentum_ic, n_boot=config.n_boot, block=config.horizon, seed=config.seed)
    log.info("leak-free L2 IC %.4f [%.4f, %.4f] over %d dates; momentum alone %.4f",
             meta_summary.mean, meta_summary.ci_low, meta_summary.ci_high, meta_summary.n_dates, momentum_summary.mean)

    # CPCV over the OOF rows: the promotion metric.
    cpcv = CombinatorialPurgedCV(n_groups=config.cpcv_groups, n_test_groups=config.cpcv_test_groups,
                                 purge=config.horizon, embargo=config.horizon)
    cpcv_ics = []
    for train_pos, test_pos in cpcv.split(oof_dates):
        train = oof[oof_date_of_row.isin(oof_dates[train_pos])]
        test = oof[oof_date_of_row.isin(oof_dates[test_pos])]
        meta = MetaModel(features=used).fit(train[used], train["label"])
        cpcv_ics.append(_ic_mean(meta.predict(test[used]), test["label"]))
    cpcv_arr = np.asarray(cpcv_ics, dtype=float)
    log.info("CPCV: %d splits, mean IC %.4f", len(cpcv_arr), float(np.nanmean(cpcv_arr)))

    # Final models, for inference.
    final_vol = VolatilityModel(n_estimators=config.vol_estimators, seed=config.seed).fit(
        ranked, labelled["label"].abs(), ranked=True)
    final_meta = MetaModel(features=used).fit(oof[used], oof["label"])
    calibrator = AlphaCalibrator(method=config.calibration).fit(meta_oos.to_numpy(), evaluated["label"].to_numpy())
    p_oos = calibrator.predict_proba(meta_oos.to_numpy())
    outcome = (evaluated["label"].to_numpy() > 0).astype(float)

    decay = {}
    close_wide = dataset["Close"].unstack("ticker")
    for h in DECAY_HORIZONS:
        fwd = to_long(forward_log_return(close_wide, h), f"fwd_{h}").reindex(evaluated.index)
        decay[str(h)] = {"meta": _ic_mean(meta_oos, fwd), "momentum": _ic_mean(evaluated["momentum_score"], fwd)}

    drift_columns = [c for c in dataset.columns if c not in ("label", "source") and dataset[c].dtype.kind == "f"]
    reference = reference_distributions(dataset[drift_columns].loc[
        dataset.index.get_level_values("date") >= dates[max(0, len(dates) - 252)]], seed=config.seed)
    files = [
        BundleFile("volatility_model.txt", final_vol.to_text().encode()),
        BundleFile("meta_model.json", _json_bytes(final_meta.to_json())),
        BundleFile("calibrator.json", _json_bytes(calibrator.to_json())),
        BundleFile("feature_list.json", _json_bytes({"meta_features": used, "volatility_features":
                                                     list(final_vol.features_used_), "momentum_inputs":
                                                     list(MOMENTUM_INPUTS)})),
        BundleFile("drift_reference.json", _json_bytes(_clean(reference))),
    ]
    manifest = _clean({
        "horizon": config.horizon,
        "label": {"kind": "vol_bucket_relative_log_return", "clip": config.label_clip},
        "config": asdict(config),
        "data_vintage": dict(data_vintage),
        "rows": {"labelled": len(labelled), "oof": len(oof), "meta_evaluated": len(evaluated)},
        "walk_forward": {"folds": fold_rows, "purge": config.horizon, "embargo": config.horizon},
        "models": {
            "momentum": {"kind": "deterministic", "formula": MOMENTUM_FORMULA, "oos_ic": momentum_summary.to_json()},
            "volatility": {"kind": "lightgbm", "features": list(final_vol.features_used_),
                           "importance": final_vol.feature_importance(),
                           "median_fold_ic": float(np.nanmedian([f["volatility_ic"] for f in fold_rows]))},
            "research_calibrator": {"used": False, "reason": "no research scores exist yet"},
            "meta_model": {"kind": "bayesian_ridge", "features": used, "dropped_features": dropped,
                           "coef": dict(zip(used, final_meta.coef_.tolist(), strict=True))},
            "calibrator": {"method": config.calibration,
                           "ece": expected_calibration_error(p_oos, outcome),
                           "curve": calibration_curve(meta_oos.to_numpy(), evaluated["label"].to_numpy(),
                                                      calibrator=calibrator)},
        },
        "validation": {
            "meta_oos_ic": meta_summary.to_json(),
            "cpcv": {"n_splits": len(cpcv_arr), "mean_ic": float(np.nanmean(cpcv_arr)),
                     "std_ic": float(np.nanstd(cpcv_arr)), "ics": cpcv_arr.tolist()},
            "deflated_sharpe": deflated_sharpe_ratio(meta_ic.to_numpy(), n_trials=config.dsr_trials),
            "hit_rate": hit_rate(meta_oos, evaluated["label"]),
            "ic_decay": decay,
        },
    })
    return TrainingResult(manifest=manifest, files=files, oof=oof, meta_ic=meta_ic)


def data_vintage(frames: Mapping[str, pd.DataFrame], as_of: date, digest: str) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "tickers": len(frames), "rows": int(sum(len(f) for f in frames.values())),
            "sha256": digest}


