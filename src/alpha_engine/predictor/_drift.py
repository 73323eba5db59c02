"""Drift detection: today's features against the training reference, and prediction patterns.

Feature checks, per feature of the reference (thresholds in :data:`THRESHOLDS`):

- ``feature_mean_shift``: ``z = |mean today - reference mean| / reference std``;
  ``z > 3`` is WARN, ``z >= 5`` CRITICAL.
- ``feature_ks``: two-sample Kolmogorov-Smirnov statistic (:func:`scipy.stats.ks_2samp`) of
  today's values against the reference sample; ``> 0.3`` is WARN. It needs at least 30 values
  today (as upstream): with fewer, a same-distribution sample exceeds 0.3 too often.
- Fewer than 10 finite values today, a feature missing today, or a reference without spread:
  the feature is listed under ``skipped`` (INFO), not alerted.

Prediction-pattern checks (when today's predictions document is given):

- ``predictions_empty``: no rows, CRITICAL (the other prediction checks are then skipped).
- ``direction_clustering``: more than 80% of rows in one direction, WARN; CRITICAL when the
  two most recent ``history`` documents (predictions documents or earlier drift reports) were
  clustered too (three days in a row).
- ``alpha_degeneration``: population std of ``predicted_alpha`` below 0.001, CRITICAL.
- ``confidence_collapse``: mean ``prediction_confidence`` below 0.05, WARN. Confidence is
  ``|p_up - 0.5| * 2`` (0 = coin flip), so upstream's 0.45 floor, set for the older
  confidence definition, would fire on nearly every healthy day; 0.05 means the calibrated
  p_up sits within 0.025 of 0.5 on average.

Reports are deterministic (floats rounded to 6 decimals, alerts in a fixed order) and valid
against ``drift_report.schema.json``.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from ._registry import ModelRegistry

__all__ = ["THRESHOLDS", "ChampionReference", "detect_drift", "load_champion_reference", "reference_distributions"]

THRESHOLDS: Mapping[str, float] = {
    "z_warn": 3.0,            # z > this: WARN
    "z_critical": 5.0,        # z >= this: CRITICAL
    "ks_warn": 0.3,           # KS statistic > this: WARN
    "min_values": 10,         # fewer finite values today: feature skipped
    "min_ks_values": 30,      # fewer: KS skipped, mean shift still checked
    "direction_share": 0.8,   # one direction above this share: clustering
    "alpha_std_min": 0.001,   # std(predicted_alpha) below: degenerate
    "confidence_min": 0.05,   # mean confidence below: collapse
}
_SEVERITY_ORDER = ("OK", "INFO", "WARN", "CRITICAL")
_DECIMALS = 6


@dataclass(frozen=True)
class ChampionReference:
    """What drift is measured against: the champion's manifest and its training drift reference.
    Read without loading the models, so a drift check never imports the model stack."""

    version_id: str
    manifest: dict[str, Any]
    drift_reference: dict[str, Any]

    @property
    def label_clip(self) -> float:
        return float(self.manifest.get("label", {}).get("clip", 0.15))

    @property
    def horizon(self) -> int:
        return int(self.manifest.get("horizon", 21))


def load_champion_reference(registry: ModelRegistry) -> ChampionReference | None:
    """The champion's reference (hashes verified), or None when nothing was ever promoted."""
    version = registry.champion()
    if version is None:
        return None
    return ChampionReference(version, registry.manifest(version),
                             json.loads(registry.read_file(version, "drift_reference.json")))


def _r(value: float) -> float:
    return round(float(value), _DECIMALS) + 0.0


def _numeric_columns(frame: pd.DataFrame, where: str) -> list[str]:
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: duplicate feature columns")
    bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
           or pd.api.types.is_bool_dtype(frame[c])]
    if bad:
        raise TypeError(f"{where}: feature columns {bad} are not numeric")
    return names


def _finite(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=float)
    finite: np.ndarray = array[np.isfinite(array)]
    return finite


def reference_distributions(features: pd.DataFrame, *, max_points: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The training reference for :func:`detect_drift`, JSON-ready.

    Parameters
    ----------
    features : DataFrame of shape (n_rows, n_features)
        Long frame (rows are (date, ticker) observations); every column a numeric feature.
        Non-finite values are ignored.
    max_points : int, default 2000
        Largest sample kept per feature (drawn without replacement when there are more values).
    seed : int, default 0
        Seeds the draw; each feature's generator also hashes its name, so adding a feature does
        not change the others' samples.

    Returns
    -------
    dict
        ``{feature: {"n", "mean", "std", "sample"}}``: ``n`` finite values, their mean and
        sample std (ddof=1; ``None`` when undefined) and a sorted sample of at most
        ``max_points`` floats.
    """
    if not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"reference_distributions: max_points {max_points!r} must be a positive int")
    reference: dict[str, Any] = {}
    for name in sorted(_numeric_columns(features, "reference_distributions")):
        full = _finite(features[name])
        values = full
        if len(full) > max_points:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
            values = rng.choice(full, size=max_points, replace=False)
        mean = float(full.mean()) if len(full) else None
        std = float(full.std(ddof=1)) if len(full) > 1 else None
        reference[name] = {"n": int(len(full)), "mean": mean, "std": std,
                           "sample": [float(v) for v in np.sort(values)]}
    return reference


def detect_drift(today: pd.DataFrame, reference: Mapping[str, Any], *, predictions: Mapping[str, Any] | None = None,
                 history: Sequence[Mapping[str, Any]] = (), date: str | None = None) -> dict[str, Any]:
    """Compare today's cross-section with the reference and check today's predictions.

    Parameters
    ----------
    today : DataFrame of shape (n_tickers, n_features)
        Today's features; a long frame with a ``date`` index level must hold a single date,
        which then becomes the report's ``date``.
    reference : mapping
        Output of :func:`reference_distributions`.
    predictions : mapping, optional
        Today's predictions document (see ``build_predictions``).
    history : sequence of mappings, default ()
        Earlier days, oldest first (sorted by their ``date`` when every one has one): predictions
        documents, or earlier drift reports (clustered if they carry a ``direction_clustering``
        alert). The two most recent decide the three-days-in-a-row clustering rule.
    date : str, optional
        Report date (YYYY-MM-DD); defaults to the frame's date level, then the predictions' date.

    Returns
    -------
    dict
        ``{date?, status, severity, alerts, skipped, n_alerts, features, thresholds}``.
    """
    report_date = date or _frame_date(today) or (str(predictions["date"]) if predictions and
                                                 "date" in predictions else None)
    names = {str(c): c for c in today.columns}
    columns = set(_numeric_columns(today[[names[n] for n in sorted(names) if n in reference]], "detect_drift"))
    alerts: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    features: dict[str, Any] = {}
    for name in sorted(reference):
        _feature_checks(name, reference[name], today[names[name]] if name in columns else None, alerts, skipped, features)
    if predictions is not None:
        _prediction_checks(predictions, history, alerts, skipped)

    severity = max((a["severity"] for a in alerts), key=_SEVERITY_ORDER.index, default="OK")
    report: dict[str, Any] = {
        "status": "drift" if alerts else "ok",
        "severity": severity,
        "alerts": alerts,
        "skipped": skipped,
        "n_alerts": len(alerts),
        "features": features,
        "thresholds": {k: float(v) for k, v in THRESHOLDS.items()},
    }
    if report_date is not None:
        report["date"] = report_date
    return report


def _frame_date(frame: pd.DataFrame) -> str | None:
    if "date" not in (frame.index.names or []):
        return None
    dates = pd.DatetimeIndex(frame.index.get_level_values("date")).unique()
    if len(dates) > 1:
        raise ValueError(f"detect_drift: today's frame holds {len(dates)} dates "
                         f"({dates.min().date()} .. {dates.max().date()}); pass one cross-section")
    return None if len(dates) == 0 else str(dates[0].date())


def _skip(skipped: list[dict[str, Any]], check: str, reason: str, *, feature: str | None = None,
          n: int | None = None) -> None:
    entry: dict[str, Any] = {"check": check, "severity": "INFO", "reason": reason}
    if feature is not None:
        entry["feature"] = feature
    if n is not None:
        entry["n"] = n
    skipped.append(entry)


def _alert(alerts: list[dict[str, Any]], check: str, severity: str, value: float, threshold: float,
           message: str, *, feature: str | None = None) -> None:
    entry: dict[str, Any] = {"check": check, "severity": severity, "value": _r(value),
                             "threshold": float(threshold), "message": message}
    if feature is not None:
        entry["feature"] = feature
    alerts.append(entry)


def _feature_checks(name: str, ref: Any, column: pd.Series | None, alerts: list[dict[str, Any]],
                    skipped: list[dict[str, Any]], features: dict[str, Any]) -> None:
    if column is None:
        _skip(skipped, "feature_drift", "feature missing from today's features", feature=name, n=0)
        return
    values = _finite(column)
    n = len(values)
    if n < THRESHOLDS["min_values"]:
        _skip(skipped, "feature_drift", f"only {n} finite values today (< {THRESHOLDS['min_values']:g})",
              feature=name, n=n)
        return
    if not isinstance(ref, Mapping) or not {"mean", "std", "sample"} <= set(ref):
        raise ValueError(f"detect_drift: reference for feature {name!r} lacks mean/std/sample")
    ref_mean, ref_std, sample = ref["mean"], ref["std"], ref["sample"]
    stats: dict[str, Any] = {"n": n, "mean": _r(values.mean())}
    features[name] = stats

    if ref_mean is None or ref_std is None or not math.isfinite(ref_std) or ref_std <= 0:
        _skip(skipped, "feature_mean_shift", "reference has no spread (std missing or 0)", feature=name, n=n)
    else:
        z = abs(float(values.mean()) - float(ref_mean)) / float(ref_std)
        stats["z"] = _r(z)
        if z >= THRESHOLDS["z_critical"]:
            _alert(alerts, "feature_mean_shift", "CRITICAL", z, THRESHOLDS["z_critical"],
                   f"{name}: today's mean is {z:.2f} reference std from the training mean", feature=name)
        elif z > THRESHOLDS["z_warn"]:
            _alert(alerts, "feature_mean_shift", "WARN", z, THRESHOLDS["z_warn"],
                   f"{name}: today's mean is {z:.2f} reference std from the training mean", feature=name)

    if len(sample) == 0:
        _skip(skipped, "feature_ks", "reference sample is empty", feature=name, n=n)
    elif n < THRESHOLDS["min_ks_values"]:
        _skip(skipped, "feature_ks", f"only {n} finite values today (< {THRESHOLDS['min_ks_values']:g})",
              feature=name, n=n)
    else:
        result = ks_2samp(values, np.asarray(sample, dtype=float))
        statistic, pvalue = float(result.statistic), float(result.pvalue)
        stats["ks"], stats["ks_pvalue"] = _r(statistic), _r(min(max(pvalue, 0.0), 1.0))
        if statistic > THRESHOLDS["ks_warn"]:
            _alert(alerts, "feature_ks", "WARN", statistic, THRESHOLDS["ks_warn"],
                   f"{name}: KS statistic {statistic:.3f} against the training sample (p={pvalue:.2g})",
                   feature=name)


def _direction_share(document: Mapping[str, Any]) -> float | None:
    """Share of the most common direction, ``None`` for an empty document."""
    rows = document.get("predictions") or []
    if not rows:
        return None
    up = sum(1 for row in rows if row.get("predicted_direction") == "UP")
    return max(up, len(rows) - up) / len(rows)


def _was_clustered(document: Mapping[str, Any]) -> bool:
    """Whether an earlier day was clustered: a predictions document over the share limit, or a
    drift report carrying a ``direction_clustering`` alert."""
    if "predictions" not in document and "alerts" in document:
        return any(isinstance(a, Mapping) and a.get("check") == "direction_clustering" for a in document["alerts"])
    share = _direction_share(document)
    return share is not None and share > THRESHOLDS["direction_share"]


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    try:
        return np.array([float(row[key]) for row in rows], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"detect_drift: predictions entries need a numeric {key!r}: {exc!r}") from exc


def _prediction_checks(predictions: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
                       alerts: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> None:
    rows = predictions.get("predictions") or []
    if not rows:
        _alert(alerts, "predictions_empty", "CRITICAL", 0, 1, "today's predictions document has no rows")
        return

    share = _direction_share(predictions)
    assert share is not None
    limit = THRESHOLDS["direction_share"]
    if share > limit:
        ordered = list(history)
        if all(isinstance(doc.get("date"), str) for doc in ordered):
            ordered.sort(key=lambda doc: str(doc["date"]))
        recent = ordered[-2:]
        chronic = len(recent) == 2 and all(_was_clustered(doc) for doc in recent)
        _alert(alerts, "direction_clustering", "CRITICAL" if chronic else "WARN", share, limit,
               f"{share:.0%} of predictions point one way"
               + (" for the third day in a row" if chronic else ""))

    if len(rows) < 2:
        _skip(skipped, "alpha_degeneration", "fewer than 2 predictions", n=len(rows))
    else:
        std = float(_column(rows, "predicted_alpha").std())
        if std < THRESHOLDS["alpha_std_min"]:
            _alert(alerts, "alpha_degeneration", "CRITICAL", std, THRESHOLDS["alpha_std_min"],
                   f"predicted_alpha barely varies across names (std {std:.2g})")

    mean_confidence = float(_column(rows, "prediction_confidence").mean())
    if mean_confidence < THRESHOLDS["confidence_min"]:
        _alert(alerts, "confidence_collapse", "WARN", mean_confidence, THRESHOLDS["confidence_min"],
               f"mean prediction_confidence {mean_confidence:.3f}: p_up sits near 0.5 for almost every name")
