"""Honest training: labels, L1 (momentum formula, LightGBM volatility), L2 (BayesianRidge), all
validated out of sample with purge and embargo equal to the label span, horizon + execution lag
(López de Prado 2018, *Advances in Financial Machine Learning*, ch. 7).

The flow, and why each number can be trusted:

1. Labels at date t use only closes t+L..t+L+H (L the execution lag); features at t use only
   data <= t (the feature engine is causal). Rows whose label is unknown (the last L+H dates)
   are not trained on. The volatility model's early-stopping block is purged the same way.
2. The volatility model is fitted per expanding walk-forward fold and predicts only its test
   block; the pooled test blocks are the out-of-fold (OOF) rows.
3. The meta-model is evaluated on the OOF rows twice, never in sample: a second expanding
   walk-forward (its per-date IC series gives the mean IC, IR, a Newey-West HAC CI, a ticker
   time-shift randomization p-value, the weekly-rebalance-date IC, the deflated Sharpe ratio with
   the effective T and the registry's trials, and the hit rate: the promotion gate's evidence) and
   CPCV (10 groups, 2 test groups; its mean IC is reported for comparison).
4. Only then are the final models fitted on everything, for inference.

The research-score calibrator of upstream's L1 is not used: there are no research scores yet
(the manifest says so).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alpha_engine.store import PRICE_COLUMNS

from ._calibration import (
    AlphaCalibrator,
    calibration_curve,
    cross_fit_calibration,
    expected_calibration_error,
)
from ._crosssection import DateBlocks, rank_rows
from ._drift import reference_distributions
from ._labels import forward_log_return
from ._meta import MetaModel
from ._metrics import (
    daily_ic,
    daily_ic_matrix,
    deflated_sharpe_ratio,
    dsr_trial_inputs,
    hit_rate,
    ic_randomization_test,
    summarize_ic,
    weekly_dates,
)
from ._momentum import MOMENTUM_FORMULA
from ._options import TrainingConfig
from ._registry import BundleFile
from ._splits import CombinatorialPurgedCV, WalkForward
from ._volatility import VOLATILITY_FEATURES, BinnedRows, VolatilityModel, rank_normalize_by_date

__all__ = ["META_FEATURES", "TrainingResult", "train_predictor"]

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


def _fit_volatility_models(binned: BinnedRows, ranked: pd.DataFrame, jobs: list[tuple[np.ndarray, np.ndarray]], *,
                           n_estimators: int, seed: int, purge: int = 0,
                           ) -> list[tuple[VolatilityModel, pd.Series]]:
    """For each (train rows, predict rows) job, a volatility model and its predictions, one job
    after another with one LightGBM thread each; ``purge`` dates are dropped in front of each
    model's early-stopping block (see :class:`VolatilityModel`).

    The jobs ran side by side on ``workers`` threads until a clean-clone CI run died by SIGSEGV
    (exit 139) inside PredictorBacktest's refits, after the subsets were already built under a
    lock: LightGBM does not document training on subsets of one shared Dataset from several
    threads as safe, and ``lgb.train`` updates the shared reference from Python. One at a time
    gives the same models (one thread each, as before), only slower.
    """
    out = []
    for train_rows, predict_rows in jobs:
        model = VolatilityModel(n_estimators=n_estimators, seed=seed, num_threads=1,
                                purge=purge).fit_binned(binned, train_rows)
        out.append((model, model.predict(ranked.iloc[predict_rows], ranked=True)))
    return out


def _meta_out_of_sample(values: np.ndarray, label: np.ndarray, blocks: DateBlocks,
                        splits: list[tuple[np.ndarray, np.ndarray]], *, features: list[str],
                        workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each (train dates, test dates) split, the test rows and the predictions for them of an
    L2 fitted on the train rows; ``workers`` splits at a time (numpy releases the GIL, and the
    splits are independent, so the result is the same)."""
    n_dates = len(blocks.dates)

    def run(split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        train_rows, test_rows = _rows_of(blocks.codes, split[0], n_dates), _rows_of(blocks.codes, split[1], n_dates)
        meta = MetaModel(features=features).fit_arrays(values, label, rows=train_rows)
        return test_rows, meta.predict_arrays(values[test_rows])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, splits))


def _rows_of(date_code: np.ndarray, date_positions: np.ndarray, n_dates: int) -> np.ndarray:
    """Positions (ascending) of the rows whose date is one of ``date_positions``."""
    chosen = np.zeros(n_dates, dtype=bool)
    chosen[date_positions] = True
    return np.flatnonzero(chosen[date_code])


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the pairs where both are finite (NaN if fewer than 2 or constant)."""
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 2 or np.ptp(x[both]) == 0 or np.ptp(y[both]) == 0:
        return float("nan")
    return float(np.corrcoef(x[both], y[both])[0, 1])


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def train_predictor(dataset: pd.DataFrame, config: TrainingConfig, *, data_vintage: Mapping[str, Any],
                    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log,
                    prior_trial_sharpes: Sequence[float | None] = ()) -> TrainingResult:
    """Walk-forward L1, leak-free L2 evaluation (walk-forward + CPCV), final fit; see the module doc.

    ``prior_trial_sharpes`` are the out-of-sample IC IRs of the earlier recorded trials
    (:meth:`ModelRegistry.trials`); with this run they give the DSR's number of trials and the
    variance of their Sharpes (:func:`dsr_trial_inputs`).
    """
    # Only the columns training reads: copying all of a 2-million-row dataset costs seconds.
    needed = {*VOLATILITY_FEATURES, *META_FEATURES, "momentum_score", "label"}
    labelled = dataset[[c for c in dataset.columns if c in needed]].iloc[np.flatnonzero(dataset["label"].notna())]
    if not labelled.index.is_monotonic_increasing:
        labelled = labelled.sort_index()
    dates = labelled.index.get_level_values("date").unique().sort_values()
    span = config.horizon + config.execution_lag  # sessions a label reaches past its date: the purge and embargo
    folds = WalkForward(min_train_dates=config.min_train_dates, test_dates=config.test_dates,
                        purge=span, embargo=span)
    n_folds = folds.get_n_splits(dates)
    if n_folds < 2:
        raise ValueError(f"{len(dates)} labelled dates give {n_folds} walk-forward folds; need >= 2 "
                         f"(min_train_dates {config.min_train_dates} + test_dates {config.test_dates})")
    log.info("walk-forward: %d folds over %d labelled dates, %d rows", n_folds, len(dates), len(labelled))
    started = time.perf_counter()
    date_code = dates.get_indexer(labelled.index.get_level_values("date"))
    # Ranks are per date and folds split whole dates: rank once for every fold (same values).
    vol_columns = [c for c in VOLATILITY_FEATURES if c in labelled]
    ranked = rank_normalize_by_date(labelled[vol_columns]) if vol_columns else labelled[vol_columns]
    splits = list(folds.split(dates))
    volatility = VolatilityModel(n_estimators=config.vol_estimators, seed=config.seed, num_threads=config.threads,
                                 purge=span)
    # One LightGBM binning for every fold, with bin edges from the first fold's training rows.
    binned = volatility.bin_rows(ranked, labelled["label"].abs().to_numpy(),
                                 reference_rows=_rows_of(date_code, splits[0][0], len(dates)))
    jobs = [(_rows_of(date_code, train_pos, len(dates)), _rows_of(date_code, test_pos, len(dates)))
            for train_pos, test_pos in splits]
    # The final model (every labelled row) is fitted alongside the folds.
    fitted = _fit_volatility_models(binned, ranked, [*jobs, (np.arange(len(labelled)), np.arange(0))],
                                    n_estimators=config.vol_estimators, seed=config.seed,
                                    purge=span)
    final_vol = fitted.pop()[0]
    # The out-of-fold (OOF) rows: every fold's test rows, with its volatility model's predictions.
    oof = labelled[[c for c in dict.fromkeys(("label", *META_FEATURES)) if c in labelled and c != "expected_move"]]
    oof = oof.iloc[np.concatenate([test_rows for _, test_rows in jobs])].copy()
    oof["expected_move"] = np.concatenate([expected_move.to_numpy() for _, expected_move in fitted])
    used = [c for c in META_FEATURES if c in oof and oof[c].notna().any()]
    dropped = [c for c in META_FEATURES if c not in used]

    # The L2 is refitted ~60 times below: work on arrays, and on dense per-date matrices for the IC.
    oof_values = np.asfortranarray(oof[used].to_numpy(dtype=np.float64))  # column-major: fit_arrays takes rows
    oof_label = oof["label"].to_numpy(dtype=np.float64)
    blocks = DateBlocks(oof.index.get_level_values("date"))
    oof_dates = blocks.dates
    label_dense = blocks.to_dense(oof_label)
    momentum_ic_by_date = daily_ic_matrix(blocks.to_dense(oof["momentum_score"].to_numpy()), label_dense)
    fold_rows, first = [], 0
    for k, ((train_pos, test_pos), (_, test_rows)) in enumerate(zip(splits, jobs, strict=True)):
        rows = slice(first, first + len(test_rows))
        first += len(test_rows)
        fold_rows.append({"fold": k, "train_start": str(dates[train_pos[0]].date()),
                          "train_end": str(dates[train_pos[-1]].date()), "test_start": str(dates[test_pos[0]].date()),
                          "test_end": str(dates[test_pos[-1]].date()),
                          "momentum_ic": _nanmean(momentum_ic_by_date[np.unique(blocks.codes[rows])]),
                          "volatility_ic": _pearson(oof["expected_move"].to_numpy()[rows], np.abs(oof_label[rows]))})
    log.info("L1: %d walk-forward volatility fits and the final one in %.1f s", len(splits),
             time.perf_counter() - started)
    started = time.perf_counter()
    label_ranks = rank_rows(np.where(np.isfinite(label_dense), label_dense, np.nan))

    # Leak-free L2: a second walk-forward over the OOF rows.
    meta_folds = WalkForward(min_train_dates=config.meta_min_train_dates, test_dates=config.test_dates,
                             purge=span, embargo=span)
    walk_forward = _meta_out_of_sample(oof_values, oof_label, blocks, list(meta_folds.split(oof_dates)),
                                       features=used, workers=config.threads)
    evaluated = oof.iloc[np.concatenate([rows for rows, _ in walk_forward])]
    meta_oos = pd.Series(np.concatenate([pred for _, pred in walk_forward]), index=evaluated.index,
                         name="predicted_alpha")
    meta_ic = daily_ic(meta_oos, evaluated["label"])
    momentum_ic = daily_ic(evaluated["momentum_score"], evaluated["label"])
    meta_summary = summarize_ic(meta_ic, n_boot=config.n_boot, block=config.horizon, seed=config.seed)
    momentum_summary = summarize_ic(momentum_ic, n_boot=config.n_boot, block=config.horizon, seed=config.seed)
    weekly = weekly_dates(meta_ic.index)
    weekly_block = -(-config.horizon // 5)  # the horizon in weeks, rounded up
    weekly_summary = summarize_ic(meta_ic.loc[weekly], n_boot=config.n_boot, block=weekly_block, seed=config.seed)
    randomization = ic_randomization_test(meta_oos, evaluated["label"], n_draws=config.randomization_draws,
                                          min_shift=config.horizon, seed=config.seed)
    trial_inputs = dsr_trial_inputs(prior_trial_sharpes, meta_summary.ir, meta_summary.n_effective_fixed_b)
    log.info("leak-free L2 IC %.4f [%.4f, %.4f] (%s) over %d dates, randomization p %.3f; momentum alone %.4f "
             "(%.1f s)", meta_summary.mean, meta_summary.ci_low, meta_summary.ci_high, meta_summary.ci_method,
             meta_summary.n_dates, randomization["p_value"], momentum_summary.mean, time.perf_counter() - started)
    started = time.perf_counter()

    # CPCV over the OOF rows: reported for comparison (the promotion gate reads the walk-forward IC and DSR).
    cpcv = CombinatorialPurgedCV(n_groups=config.cpcv_groups, n_test_groups=config.cpcv_test_groups,
                                 purge=span, embargo=span)
    cpcv_splits = list(cpcv.split(oof_dates))

    def split_ic(split: tuple[np.ndarray, np.ndarray], test_rows: np.ndarray, pred: np.ndarray) -> float:
        test_pos = split[1]
        pred_dense = blocks.to_dense(pred, rows=test_rows)[test_pos]
        return _nanmean(daily_ic_matrix(pred_dense, label_dense[test_pos], label_ranks=label_ranks[test_pos]))

    cpcv_oos = _meta_out_of_sample(oof_values, oof_label, blocks, cpcv_splits, features=used, workers=config.threads)
    with ThreadPoolExecutor(max_workers=config.threads) as pool:
        cpcv_ics = list(pool.map(split_ic, cpcv_splits, *zip(*cpcv_oos, strict=True)))
    cpcv_arr = np.asarray(cpcv_ics, dtype=float)
    log.info("CPCV: %d splits, mean IC %.4f (%.1f s)", len(cpcv_arr), float(np.nanmean(cpcv_arr)),
             time.perf_counter() - started)
    started = time.perf_counter()

    # Final models, for inference (the volatility model was fitted with the folds).
    final_meta = MetaModel(features=used).fit(oof[used], oof["label"])
    # Calibration: scored cross-fitted over the L2 walk-forward folds (fit on earlier folds, purged, score
    # the next); the live calibrator is fitted on all the out-of-fold rows. SEs cluster by horizon-date blocks.
    evaluated_fold = np.concatenate([np.full(len(rows), k) for k, (rows, _) in enumerate(walk_forward)])
    evaluated_date = blocks.codes[np.concatenate([rows for rows, _ in walk_forward])]
    cross_fit = cross_fit_calibration(meta_oos.to_numpy(), evaluated["label"].to_numpy(), evaluated_fold,
                                      evaluated_date, purge=config.horizon, method=config.calibration,
                                      cluster_dates=config.horizon)
    calibrator = AlphaCalibrator(method=config.calibration).fit(meta_oos.to_numpy(), evaluated["label"].to_numpy(),
                                                                groups=evaluated_date // config.horizon)
    p_in_sample = calibrator.predict_proba(meta_oos.to_numpy())
    outcome = (evaluated["label"].to_numpy() > 0).astype(float)
    scored = cross_fit.scored

    # IC decay on the (date x ticker) grid of the closes: the evaluated rows scattered onto it.
    close_wide = dataset["Close"].unstack("ticker")
    at_date = close_wide.index.get_indexer(evaluated.index.get_level_values("date"))
    at_ticker = close_wide.columns.get_indexer(evaluated.index.get_level_values("ticker"))
    on_grid = {}
    for name, values in (("meta", meta_oos.to_numpy()), ("momentum", evaluated["momentum_score"].to_numpy())):
        on_grid[name] = np.full(close_wide.shape, np.nan)
        on_grid[name][at_date, at_ticker] = values
    decay = {}
    for h in DECAY_HORIZONS:
        fwd = forward_log_return(close_wide, h).to_numpy()
        decay[str(h)] = {name: _nanmean(daily_ic_matrix(grid, fwd)) for name, grid in on_grid.items()}

    # Drift is watched on model inputs: every feature and derived input, not raw price levels.
    drift_columns = [c for c in dataset.columns if c not in ("label", "source", *PRICE_COLUMNS)
                     and dataset[c].dtype.kind == "f"]
    recent = dataset.index.get_level_values("date") >= dates[max(0, len(dates) - 252)]
    reference = reference_distributions(dataset.iloc[np.flatnonzero(recent)][drift_columns], seed=config.seed)
    log.info("final fits, calibration, IC decay and drift reference in %.1f s", time.perf_counter() - started)
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
        "label": {"kind": "vol_bucket_relative_log_return", "clip": config.label_clip,
                  "execution_lag": config.execution_lag},
        "config": config.model_dump(),
        "data_vintage": dict(data_vintage),
        "code_version": code_version(),
        "rows": {"labelled": len(labelled), "oof": len(oof), "meta_evaluated": len(evaluated)},
        "walk_forward": {"folds": fold_rows, "purge": span, "embargo": span},
        "models": {
            "momentum": {"kind": "deterministic", "formula": MOMENTUM_FORMULA, "oos_ic": momentum_summary.to_json()},
            "volatility": {"kind": "lightgbm", "features": list(final_vol.features_used_),
                           "importance": final_vol.feature_importance(),
                           "median_fold_ic": float(np.nanmedian([f["volatility_ic"] for f in fold_rows]))},
            "research_calibrator": {"used": False, "reason": "no research scores exist yet"},
            "meta_model": {"kind": "bayesian_ridge", "features": used, "dropped_features": dropped,
                           "coef": dict(zip(used, final_meta.coef_.tolist(), strict=True))},
            "calibrator": {"method": config.calibration,
                           "ece": cross_fit.ece,
                           "in_sample_ece": expected_calibration_error(p_in_sample, outcome),
                           "out_of_sample": cross_fit.to_json(),
                           "final": calibrator.to_json(),
                           "curve": calibration_curve(meta_oos.to_numpy()[scored], evaluated["label"].to_numpy()[scored],
                                                      p=cross_fit.p_up[scored])},
        },
        "validation": {
            "meta_oos_ic": meta_summary.to_json(),
            "ic_ci_low": meta_summary.ci_low,
            "ic_ci_high": meta_summary.ci_high,
            "ic_ci_method": meta_summary.ci_method,
            "ic_randomization_p": randomization["p_value"],
            "ic_randomization": randomization,
            "weekly_ic": weekly_summary.to_json(),
            "cpcv": {"n_splits": len(cpcv_arr), "mean_ic": float(np.nanmean(cpcv_arr)),
                     "std_ic": float(np.nanstd(cpcv_arr)), "ics": cpcv_arr.tolist()},
            "dsr": deflated_sharpe_ratio(meta_ic.to_numpy(), n_trials=trial_inputs["n_trials"],
                                         trials_sr_variance=trial_inputs["trials_sr_variance"],
                                         n_effective=meta_summary.n_effective_fixed_b),
            "dsr_effective_t": meta_summary.n_effective_fixed_b,
            "dsr_n_trials": trial_inputs["n_trials"],
            "dsr_trials_sr_variance": trial_inputs["trials_sr_variance"],
            "dsr_trials_source": trial_inputs["source"],
            "hit_rate": hit_rate(meta_oos, evaluated["label"]),
            "ic_decay": decay,
        },
    })
    return TrainingResult(manifest=manifest, files=files, oof=oof, meta_ic=meta_ic)


def code_version() -> dict[str, str]:
    """What produced a bundle: the package and library versions, and a sha256 over the sources of
    the predictor and the feature engine (it changes with any edit, installed from git or not)."""
    import lightgbm
    import scipy
    import sklearn

    import alpha_engine

    digest = hashlib.sha256()
    package = Path(alpha_engine.__file__).parent
    for path in sorted([*package.glob("predictor/*.py"), *package.glob("data/features/*.py")]):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return {"alpha_engine": alpha_engine.__version__, "sources_sha256": digest.hexdigest(),
            "lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__}
