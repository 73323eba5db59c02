"""The small statistics the grading needs, as pure functions on numpy arrays.

The evaluator may not import the predictor's code (domains share Artifact constants only), so the
few it shares with it (a rank IC, a Newey-West interval with a fixed-b critical value, ECE) are
written here again, on purpose small.

* :func:`wilson_interval` - the Wilson score interval of a proportion (Wilson 1927); ``n`` may be an
  effective sample size (overlapping outcomes count for less than one observation each).
* :func:`proportion_pvalue` - two-sided z-test of a proportion against ``p0``.
* :func:`benjamini_hochberg` - the BH step-up procedure (1995): which of m tests are rejected at FDR q.
* :func:`rank_ic` - Spearman correlation of one cross-section.
* :func:`hac_mean_interval` - mean of a series with a Newey-West (Bartlett) long-run variance and the
  Kiefer-Vogelsang (2005) fixed-b critical value, for series of overlapping labels.
* :func:`reliability_table`, :func:`expected_calibration_error` - equal-width bins of predicted
  probabilities against the realised frequency.
* :func:`pearson_test` - a correlation and its two-sided p-value at an effective sample size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as _st

from ._errors import InsufficientDataError

__all__ = [
    "HacInterval",
    "benjamini_hochberg",
    "expected_calibration_error",
    "fixed_b_critical_value",
    "hac_mean_interval",
    "pearson_test",
    "proportion_pvalue",
    "rank_ic",
    "reliability_table",
    "wilson_interval",
]

Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n``; ``n`` may be fractional (an effective size)."""
    if n <= 0:
        raise InsufficientDataError(f"a Wilson interval needs n > 0, got {n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_pvalue(successes: float, n: float, p0: float = 0.5) -> float:
    """Two-sided p-value of the z-test of ``successes / n`` against ``p0`` (normal approximation)."""
    if n <= 0:
        raise InsufficientDataError(f"a proportion test needs n > 0, got {n}")
    z = (successes / n - p0) / math.sqrt(p0 * (1 - p0) / n)
    return float(2 * _st.norm.sf(abs(z)))


def benjamini_hochberg(pvalues: Sequence[float], q: float = 0.05) -> tuple[list[bool], list[float]]:
    """Which tests the Benjamini-Hochberg step-up procedure rejects at FDR ``q``, and each test's
    adjusted p-value (q-value). Rejects the k smallest p-values, k the largest i with p_(i) <= i q / m."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return [], []
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    passing = np.nonzero(ranked <= q * np.arange(1, m + 1) / m)[0]
    reject = np.zeros(m, dtype=bool)
    if len(passing):
        reject[order[: passing[-1] + 1]] = True
    adjusted_sorted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return reject.tolist(), adjusted.tolist()


def rank_ic(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman correlation of ``x`` and ``y`` over their jointly finite entries (NaN when fewer than
    3 remain or either side is constant)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3:
        return float("nan")
    ra, rb = _st.rankdata(a), _st.rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def fixed_b_critical_value(b: float) -> float:
    """Two-sided 5% critical value of a Bartlett-kernel HAC t-statistic at bandwidth ratio b = M/T
    (Kiefer & Vogelsang 2005, their cubic fit); 1.96 at b = 0."""
    return 1.96 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3


@dataclass(frozen=True)
class HacInterval:
    """The mean of a series and its 95% interval (Newey-West long-run variance, fixed-b value)."""

    mean: float
    se: float
    low: float
    high: float
    n: int
    lag: int
    critical_value: float

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "se": self.se, "ci_low": self.low, "ci_high": self.high, "n": self.n,
                "hac_lag": self.lag, "critical_value": round(self.critical_value, 4),
                "method": f"newey-west, lag {self.lag}, fixed-b critical value {self.critical_value:.3f}"}


def hac_mean_interval(series: npt.ArrayLike, lag: int, min_n: int) -> HacInterval:
    """The mean of ``series`` (finite entries, in time order) with a 95% interval that survives
    autocorrelation up to ``lag`` (overlapping labels): LRV = Newey-West with Bartlett weights,
    se = sqrt(LRV / n), critical value the fixed-b one at b = (lag + 1) / n.

    Raises :class:`InsufficientDataError` when fewer than ``min_n`` finite values remain."""
    x = np.asarray(series, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < max(min_n, 2):
        raise InsufficientDataError(f"a HAC interval needs at least {max(min_n, 2)} values, got {n}")
    lag = max(0, min(int(lag), n - 1))
    d = x - x.mean()
    lrv = float(d @ d) / n
    for k in range(1, lag + 1):
        lrv += 2 * (1 - k / (lag + 1)) * float(d[k:] @ d[:-k]) / n
    se = math.sqrt(max(lrv, 0.0) / n)
    cv = fixed_b_critical_value((lag + 1) / n)
    mean = float(x.mean())
    return HacInterval(mean, se, mean - cv * se, mean + cv * se, n, lag, cv)


def reliability_table(p: npt.ArrayLike, outcome: npt.ArrayLike, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins of predicted probabilities ``p`` on [0, 1]: per non-empty bin its edges, its
    count, the mean prediction and the realised frequency of ``outcome`` (0/1)."""
    prob, hit = np.asarray(p, dtype=float), np.asarray(outcome, dtype=float)
    index = np.clip((prob * n_bins).astype(int), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            rows.append({"low": b / n_bins, "high": (b + 1) / n_bins, "n": int(mask.sum()),
                         "mean_predicted": float(prob[mask].mean()), "observed": float(hit[mask].mean())})
    return rows


def expected_calibration_error(p: npt.ArrayLike, outcome: npt.ArrayLike, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean |mean prediction - realised frequency| over equal-width bins."""
    rows = reliability_table(p, outcome, n_bins)
    total = sum(r["n"] for r in rows)
    if total == 0:
        raise InsufficientDataError("ECE needs at least one prediction")
    return float(sum(r["n"] * abs(r["mean_predicted"] - r["observed"]) for r in rows) / total)


def pearson_test(x: npt.ArrayLike, y: npt.ArrayLike, n_effective: float | None = None) -> tuple[float, float, int]:
    """Pearson r of the jointly finite entries, its two-sided p-value from the t-test at
    ``n_effective`` observations (default: the count), and the count. NaN r and p = 1 when constant."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    if n < 3 or a.std() == 0 or b.std() == 0:
        return float("nan"), 1.0, n
    r = float(np.corrcoef(a, b)[0, 1])
    dof = max((n_effective if n_effective is not None else n) - 2, 1.0)
    t = r * math.sqrt(dof / max(1 - r * r, 1e-12))
    return r, float(2 * _st.t.sf(abs(t), dof)), n
