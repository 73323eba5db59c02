"""Out-of-sample signal statistics: daily rank IC, its HAC summary, a ticker-shift randomization
test, the deflated Sharpe ratio with an effective sample size.

Predictions and labels are long Series indexed by (date, ticker). The daily IC is the per-date
cross-sectional Spearman correlation (Fama-MacBeth style). Overlapping H-day labels and persistent
predictors make neighbouring daily ICs strongly autocorrelated, so a naive t-statistic (and a
short-block bootstrap) overstates significance: the reported interval uses the Newey-West (1987)
long-run variance with a Bartlett kernel and lag 2 x H, and the same estimate gives the effective
number of independent observations used by the deflated Sharpe ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._crosssection import DateBlocks, rank_rows

__all__ = [
    "ICSummary",
    "daily_ic",
    "daily_ic_matrix",
    "deflated_sharpe_from_stats",
    "deflated_sharpe_ratio",
    "dsr_trial_inputs",
    "effective_sample_size",
    "hit_rate",
    "ic_randomization_test",
    "newey_west_variance",
    "summarize_ic",
    "weekly_dates",
]

_EULER_GAMMA = 0.5772156649015329


def _aligned(pred: pd.Series, label: pd.Series, where: str) -> pd.DataFrame:
    """Inner-join pred and label on their (date, ticker) index, keeping rows where both are finite."""
    for name, series in (("pred", pred), ("label", label)):
        if not isinstance(series, pd.Series):
            raise TypeError(f"{where}: {name} must be a pandas Series, got {type(series).__name__}")
        if not isinstance(series.index, pd.MultiIndex):
            raise TypeError(f"{where}: {name} must be indexed by a (date, ticker) MultiIndex")
        if not series.index.is_unique:
            raise ValueError(f"{where}: {name} has duplicate (date, ticker) rows")
    frame = pd.concat(
        [pred.astype(np.float64).rename("pred"), label.astype(np.float64).rename("label")], axis=1, join="inner"
    )
    finite = np.isfinite(frame.to_numpy()).all(axis=1)
    return frame[finite]


def daily_ic(pred: pd.Series, label: pd.Series, *, min_names: int = 5) -> pd.Series:
    """Per-date cross-sectional Spearman rank IC.

    Parameters
    ----------
    pred, label : Series of shape (n_rows,)
        Indexed by (date, ticker); joined on the index, rows where either is non-finite dropped.
    min_names : int, default 5
        Dates with fewer valid pairs are skipped; so are dates where pred or label is constant
        (the rank correlation is undefined there).

    Returns
    -------
    Series of shape (n_dates,)
        Named ``ic``, indexed by ``date`` ascending.
    """
    where = "daily_ic"
    if isinstance(min_names, bool) or not isinstance(min_names, int) or min_names < 2:
        raise ValueError(f"{where}: min_names must be an integer >= 2, got {min_names!r}")
    frame = _aligned(pred, label, where)
    level = "date" if "date" in frame.index.names else 0
    blocks = DateBlocks(frame.index.get_level_values(level))
    ic = daily_ic_matrix(blocks.to_dense(frame["pred"].to_numpy()), blocks.to_dense(frame["label"].to_numpy()),
                         min_names=min_names)
    keep = np.isfinite(ic)
    out = pd.Series(ic[keep], index=blocks.dates[keep], name="ic")
    out.index.name = "date"
    return out


def daily_ic_matrix(pred: np.ndarray, label: np.ndarray, *, min_names: int = 5,
                    label_ranks: np.ndarray | None = None) -> np.ndarray:
    """Per-row Spearman rank IC of two (n_dates, n_names) matrices (a date per row).

    Cells where either side is not finite are left out. A date with fewer than ``min_names``
    valid pairs, or a constant side, gets NaN. :func:`daily_ic` is this on long rows.
    ``label_ranks`` (``rank_rows`` of ``label`` with its non-finite cells NaN) saves re-ranking
    the label for many predictions; it is used only when ``pred`` is finite wherever ``label`` is,
    so the valid cells, and hence the ranks, are the label's.
    """
    label_valid = np.isfinite(label)
    valid = np.isfinite(pred) & label_valid
    x = rank_rows(np.where(valid, pred, np.nan))
    if label_ranks is not None and np.array_equal(valid, label_valid):
        y = label_ranks
    else:
        y = rank_rows(np.where(valid, label, np.nan))
    counts = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Pearson of the ranks: the mean rank of a date with m valid pairs is (m + 1) / 2.
        centre = ((counts + 1) / 2.0)[:, None]
        x = np.where(valid, x - centre, 0.0)
        y = np.where(valid, y - centre, 0.0)
        denom = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
        ic = (x * y).sum(axis=1) / denom
    keep = (counts >= min_names) & (denom > 0)
    # Rounding can push a perfect correlation a hair past 1.
    return np.where(keep, np.clip(ic, -1.0, 1.0), np.nan)


@dataclass(frozen=True)
class ICSummary:
    """Summary of a daily IC series.

    ``ir`` is mean / std (per date, not annualized). ``[ci_low, ci_high]`` is THE reported interval
    of the mean at ``confidence``: mean +- ``critical_value`` * ``se``, ``se`` the Newey-West HAC
    standard error with Bartlett kernel and ``hac_lag`` lags, ``critical_value`` the fixed-b one
    (:func:`fixed_b_critical_value`; ``ci_method`` names both). ``n_effective`` is
    n_dates * gamma0 / long-run variance (see :func:`effective_sample_size`); ``n_effective_fixed_b``
    is that times (z_0.95 / fixed-b cv_0.95)^2, the T at which the probabilistic Sharpe ratio's
    one-sided 5% threshold is the fixed-b test's (what the DSR uses). ``naive_t`` is
    ir * sqrt(n_dates), which assumes independent days; it is kept for comparison only, as is
    ``[bootstrap_ci_low, bootstrap_ci_high]``, the circular-block-bootstrap (block ``block``)
    percentile interval that the audit found too narrow for persistent predictors.
    """

    mean: float
    std: float
    ir: float
    naive_t: float
    n_dates: int
    hit_rate: float
    ci_low: float
    ci_high: float
    ci_method: str
    se: float
    hac_lag: int
    critical_value: float
    n_effective: float
    n_effective_fixed_b: float
    bootstrap_ci_low: float
    bootstrap_ci_high: float
    block: int
    n_boot: int
    seed: int
    confidence: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of every field; non-finite floats become None."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[key] = value
        return out


def _circular_block_means(values: np.ndarray, *, n_boot: int, block: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` circular block bootstrap resamples (Politis & Romano 1992) of ``values``.

    Each resample concatenates ceil(n / block) blocks of ``block`` consecutive values starting at
    uniform random positions, wrapping past the end (so every value is equally likely to be drawn),
    truncated to n values.
    """
    n = values.size
    n_blocks = -(-n // block)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    resampled = values[idx.reshape(n_boot, n_blocks * block)[:, :n]]
    means: np.ndarray = resampled.mean(axis=1)
    return means


def newey_west_variance(values: np.ndarray, lag: int) -> float:
    """Long-run variance of a series with the Bartlett kernel (Newey & West 1987).

    ``gamma_0 + 2 sum_{k=1..L} (1 - k / (L + 1)) gamma_k``, ``gamma_k`` the biased (1/n) sample
    autocovariance and L = min(lag, n - 1). The Bartlett weights keep it >= 0. The variance of the
    sample mean is this over n.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
        raise ValueError(f"newey_west_variance: lag must be an integer >= 0, got {lag!r}")
    if n < 2:
        raise ValueError(f"newey_west_variance: need at least 2 values, got {n}")
    d = x - x.mean()
    total = float(d @ d) / n
    for k in range(1, min(lag, n - 1) + 1):
        total += 2.0 * (1.0 - k / (lag + 1.0)) * float(d[k:] @ d[:-k]) / n
    return max(total, 0.0)


# Kiefer & Vogelsang (2005), "A new asymptotic theory for heteroskedasticity-autocorrelation robust
# tests", Econometric Theory 21: critical values of the Bartlett-kernel HAC t-statistic under fixed-b
# asymptotics, as cubic fits in b = M / T (M = lag + 1, the Bartlett bandwidth), by quantile. The normal
# quantile (b -> 0) is too small at the bandwidths used here: HAC t-statistics of null IC series spread
# 7-20% wider than N(0, 1) (bench/bench_predictor_null.py). The fits agree with a simulation of i.i.d.
# normal series within about 2%, conservatively (tests/predictor/test_metrics.py).
_FIXED_B_BARTLETT = {
    0.95: (1.6449, 2.1859, 0.3142, -0.3427),
    0.975: (1.9600, 2.9694, 0.4160, -0.5324),
}


def fixed_b_critical_value(quantile: float, lag: int, n: int) -> float:
    """The ``quantile`` (0.95 or 0.975) of the Bartlett-kernel HAC t-statistic with ``lag`` lags over
    ``n`` observations under fixed-b asymptotics (Kiefer & Vogelsang 2005); b = (lag + 1) / n,
    capped at 1."""
    if quantile not in _FIXED_B_BARTLETT:
        raise ValueError(f"fixed_b_critical_value: quantile must be one of {sorted(_FIXED_B_BARTLETT)}, got {quantile!r}")
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0 or n < 2:
        raise ValueError(f"fixed_b_critical_value: need an integer lag >= 0 and n >= 2, got lag {lag!r}, n {n!r}")
    b = min(1.0, (lag + 1) / n)
    c0, c1, c2, c3 = _FIXED_B_BARTLETT[quantile]
    return c0 + c1 * b + c2 * b * b + c3 * b ** 3


def effective_sample_size(values: np.ndarray, lag: int) -> float:
    """Number of independent observations a serially correlated series is worth.

    ``T_eff = T * gamma_0 / LRV`` with LRV the Newey-West long-run variance at ``lag``
    (:func:`newey_west_variance`): the T for which an i.i.d. mean would have the same variance.
    Clipped to [2, T] (negative autocorrelation does not earn more than T observations); T when the
    series is constant. With H-day overlapping labels and no other persistence it is about T / H.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    gamma0 = float(x.var())
    lrv = newey_west_variance(x, lag)
    if gamma0 == 0.0 or lrv == 0.0:
        return float(n)
    return float(min(n, max(2.0, n * gamma0 / lrv)))


def summarize_ic(
    ic: pd.Series, *, n_boot: int = 1000, block: int = 21, confidence: float = 0.95, seed: int = 0,
    hac_lag: int | None = None,
) -> ICSummary:
    """Mean, dispersion and a HAC confidence interval of a daily IC series.

    The reported CI is mean +- cv * sqrt(LRV / n), LRV the Newey-West long-run variance (Bartlett
    kernel, :func:`newey_west_variance`) with ``hac_lag`` lags, default 2 x ``block`` (twice the
    label horizon: the overlap of H-day labels alone lasts H - 1 dates, and persistent predictors
    stretch it), and cv the fixed-b critical value at 1 - alpha/2 (Kiefer & Vogelsang 2005), which
    widens the normal one by what estimating the LRV with that bandwidth costs. For comparison only, the old circular block bootstrap (blocks of
    ``block`` consecutive dates, capped at the series length, percentile method, deterministic for
    a seed) is kept as ``bootstrap_ci_*``.

    Parameters
    ----------
    ic : Series of shape (n_dates,)
        Daily ICs in date order (as from :func:`daily_ic`); NaNs are dropped.
    n_boot : int, default 1000
    block : int, default 21
        The label horizon in dates: the bootstrap block and half the default HAC lag.
    confidence : float, default 0.95
        0.90 or 0.95 (the tabulated fixed-b critical values).
    seed : int, default 0
    hac_lag : int or None, default None
        Newey-West lags; None: 2 x ``block``.

    Returns
    -------
    ICSummary
    """
    where = "summarize_ic"
    if not isinstance(ic, pd.Series):
        raise TypeError(f"{where}: ic must be a pandas Series, got {type(ic).__name__}")
    for name, value in (("n_boot", n_boot), ("block", block)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: {name} must be an integer >= 1, got {value!r}")
    if confidence not in (0.90, 0.95):
        raise ValueError(f"{where}: confidence must be 0.90 or 0.95 (the tabulated fixed-b critical values), "
                         f"got {confidence!r}")
    lag = 2 * block if hac_lag is None else hac_lag
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
        raise ValueError(f"{where}: hac_lag must be an integer >= 0, got {hac_lag!r}")
    values = ic.to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    n = values.size
    if n < 2:
        raise ValueError(f"{where}: need at least 2 finite IC values, got {n}")
    mean = float(values.mean())
    std = float(values.std(ddof=1))
    # Test constancy exactly: rounding gives identical values a tiny nonzero std and a huge IR.
    constant = bool(np.ptp(values) == 0.0)
    if constant:
        std = 0.0
    ir = float("nan") if constant else mean / std
    boot = _circular_block_means(values, n_boot=n_boot, block=min(block, n), seed=seed)
    alpha = 1.0 - confidence
    boot_low, boot_high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
    se = 0.0 if constant else math.sqrt(newey_west_variance(values, lag) / n)
    z = fixed_b_critical_value(round(1.0 - alpha / 2.0, 3), lag, n)
    n_effective = float(n) if constant else effective_sample_size(values, lag)
    # The T at which the PSR's one-sided 5% threshold is the fixed-b one-sided 5% test: the DSR's honest T.
    shrink = (float(stats.norm.ppf(0.95)) / fixed_b_critical_value(0.95, lag, n)) ** 2
    return ICSummary(
        mean=mean,
        std=std,
        ir=ir,
        naive_t=ir * math.sqrt(n),
        n_dates=int(n),
        hit_rate=float((values > 0).mean()),
        ci_low=mean - z * se,
        ci_high=mean + z * se,
        ci_method=f"newey-west, lag {lag}, fixed-b critical value {z:.3f}",
        se=se,
        hac_lag=lag,
        critical_value=z,
        n_effective=n_effective,
        n_effective_fixed_b=max(2.0, n_effective * shrink),
        bootstrap_ci_low=float(boot_low),
        bootstrap_ci_high=float(boot_high),
        block=block,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
    )


def _expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """E[max SR] of ``n_trials`` independent zero-skill trials (Bailey & López de Prado 2014, eq. 2)."""
    if n_trials == 1:
        return 0.0
    z = stats.norm.ppf
    return math.sqrt(sr_variance) * float(
        (1.0 - _EULER_GAMMA) * z(1.0 - 1.0 / n_trials) + _EULER_GAMMA * z(1.0 - 1.0 / (n_trials * math.e))
    )


def deflated_sharpe_from_stats(
    sharpe: float,
    *,
    n_obs: float,
    skew: float,
    kurtosis: float,
    n_trials: int = 1,
    trials_sr_variance: float | None = None,
) -> float:
    """Deflated Sharpe ratio from summary statistics (Bailey & López de Prado 2014).

    ``DSR = Phi((SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))`` with
    ``SR0 = sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))``, g the Euler-Mascheroni constant.

    Parameters
    ----------
    sharpe : float
        Per-period (not annualized) Sharpe ratio SR.
    n_obs : float
        T, number of observations (>= 2); pass the EFFECTIVE number of independent observations
        (:func:`effective_sample_size`) for a serially correlated series, not its length.
    skew : float
        Skewness of the returns.
    kurtosis : float
        Non-excess (Pearson) kurtosis; 3 for a normal.
    n_trials : int, default 1
        N, independent strategies tried; N = 1 gives SR0 = 0 (the probabilistic Sharpe ratio).
        Take it from the record of trials (:meth:`ModelRegistry.trials`), never a guess.
    trials_sr_variance : float or None, default None
        V, variance of the per-period SRs across the trials. None uses 1 / (T - 1), the sampling variance
        of an SR estimate under the null of zero skill.

    Returns
    -------
    float
        Probability in [0, 1] that the true SR exceeds SR0; NaN if the variance term is degenerate.
    """
    where = "deflated_sharpe_from_stats"
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"{where}: n_trials must be an integer >= 1, got {n_trials!r}")
    if isinstance(n_obs, bool) or not isinstance(n_obs, int | float) or not n_obs >= 2:
        raise ValueError(f"{where}: n_obs must be a number >= 2, got {n_obs!r}")
    variance = 1.0 / (n_obs - 1) if trials_sr_variance is None else float(trials_sr_variance)
    if not variance >= 0.0:
        raise ValueError(f"{where}: trials_sr_variance must be >= 0, got {trials_sr_variance!r}")
    sr0 = _expected_max_sharpe(n_trials, variance)
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not spread > 0.0:
        return float("nan")
    return float(stats.norm.cdf((sharpe - sr0) * math.sqrt(n_obs - 1) / math.sqrt(spread)))


def deflated_sharpe_ratio(
    series: np.ndarray,
    *,
    n_trials: int = 1,
    periods_per_year: int | None = None,
    trials_sr_variance: float | None = None,
    n_effective: float | None = None,
) -> float:
    """Deflated Sharpe ratio of a per-period series (here: daily ICs, IC-IR as the Sharpe analog).

    SR = mean / std (ddof=1); skew and kurtosis are the plain sample moments (scipy, biased,
    non-excess kurtosis). See :func:`deflated_sharpe_from_stats` for the formula.

    Parameters
    ----------
    series : array-like of shape (n_obs,)
        NaNs are dropped; at least 3 finite values with nonzero spread are needed.
    n_trials : int, default 1
    periods_per_year : int or None, default None
        Only the unit of ``trials_sr_variance``: when given, that variance is of ANNUALIZED Sharpe
        ratios and is divided by ``periods_per_year``. The DSR itself is scale-free, so without
        ``trials_sr_variance`` this has no effect.
    trials_sr_variance : float or None, default None
        Variance of the Sharpe ratios across the trials; None: the null sampling variance 1 / (T - 1).
    n_effective : float or None, default None
        T used in the formula: the effective number of independent observations (e.g.
        :func:`effective_sample_size` of the series at lag 2 x horizon). None: the series length,
        which overstates the evidence of overlapping-label ICs about H-fold.

    Returns
    -------
    float
        Probability in [0, 1].
    """
    where = "deflated_sharpe_ratio"
    values = np.asarray(series, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size < 3:
        raise ValueError(f"{where}: need at least 3 finite values, got {values.size}")
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: series contains infinite values")
    std = float(values.std(ddof=1))
    if np.ptp(values) == 0.0:
        raise ValueError(f"{where}: series has zero variance; the Sharpe ratio is undefined")
    if periods_per_year is not None:
        if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int) or periods_per_year < 1:
            raise ValueError(f"{where}: periods_per_year must be an integer >= 1, got {periods_per_year!r}")
        if trials_sr_variance is not None:
            trials_sr_variance = trials_sr_variance / periods_per_year
    return deflated_sharpe_from_stats(
        float(values.mean()) / std,
        n_obs=int(values.size) if n_effective is None else float(n_effective),
        skew=float(stats.skew(values)),
        kurtosis=float(stats.kurtosis(values, fisher=False)),
        n_trials=n_trials,
        trials_sr_variance=trials_sr_variance,
    )


def dsr_trial_inputs(prior_sharpes: Sequence[float | None], sharpe: float, n_effective: float) -> dict[str, Any]:
    """N and V for the deflated Sharpe ratio, from the record of trials.

    The trials are the ``prior_sharpes`` (per-date Sharpe ratios, here IC IRs, of every earlier
    recorded trial; non-finite ones are skipped) plus this one. With N >= 2, V is the sample
    variance (ddof=1) of their Sharpes. With N = 1 the expected maximum SR0 is 0 whatever V is
    (the DSR is then the probabilistic Sharpe ratio, no deflation for selection) and V is reported as
    the null sampling variance 1 / (T_eff - 1).

    Returns ``{"n_trials", "trials_sr_variance", "source"}``.
    """
    sharpes = [float(x) for x in prior_sharpes if x is not None and math.isfinite(float(x))]
    if math.isfinite(sharpe):
        sharpes.append(float(sharpe))
    n_trials = max(1, len(sharpes))
    if n_trials >= 2:
        return {"n_trials": n_trials, "trials_sr_variance": float(np.var(sharpes, ddof=1)),
                "source": "registry: sample variance of the recorded trials' Sharpe ratios"}
    return {"n_trials": 1, "trials_sr_variance": 1.0 / max(n_effective - 1.0, 1.0),
            "source": "one trial: SR0 = 0 (probabilistic Sharpe ratio); V = 1 / (T_eff - 1)"}


def weekly_dates(dates: pd.Index) -> pd.DatetimeIndex:
    """The last date of each calendar week (Monday to Sunday) in ``dates``: the weekly rebalance dates."""
    index = pd.DatetimeIndex(dates).unique().sort_values()
    if len(index) == 0:
        return index
    week = index.to_period("W-SUN")
    last = ~pd.Series(week).duplicated(keep="last").to_numpy()
    return index[last]


def ic_randomization_test(pred: pd.Series, label: pd.Series, *, n_draws: int = 200, min_shift: int = 21,
                          seed: int = 0, min_names: int = 5) -> dict[str, Any]:
    """One-sided randomization p-value of the mean daily IC that keeps each ticker's persistence.

    Each draw rolls every ticker's prediction series circularly in time by its own uniform shift in
    [``min_shift``, n_dates - ``min_shift``] (the dates x tickers grid of ``pred``), which keeps the
    predictor's autocorrelation and any ticker-level level differences but breaks its alignment with
    the labels' dates. The statistic is the mean daily rank IC (:func:`daily_ic_matrix`);
    ``p = (1 + #{null >= observed}) / (1 + n_draws)`` (Phipson & Smyth 2010). Seeded: same inputs
    and seed, same p.

    Returns ``{"observed", "p_value", "n_draws", "min_shift", "seed", "method"}``.
    """
    where = "ic_randomization_test"
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"{where}: n_draws must be an integer >= 1, got {n_draws!r}")
    frame = _aligned(pred, label, where)
    level = "ticker" if "ticker" in frame.index.names else 1
    wide_pred = frame["pred"].unstack(level)
    wide_label = frame["label"].unstack(level).reindex_like(wide_pred)
    p = wide_pred.to_numpy(dtype=np.float64)
    y = wide_label.to_numpy(dtype=np.float64)
    n, m = p.shape
    if isinstance(min_shift, bool) or not isinstance(min_shift, int) or min_shift < 1 or n - min_shift < min_shift:
        raise ValueError(f"{where}: min_shift must be an integer in [1, n_dates / 2] "
                         f"(n_dates {n}), got {min_shift!r}")
    # The labels do not move: rank them once (daily_ic_matrix uses these ranks whenever a shifted
    # prediction is finite wherever the label is, and re-ranks the label otherwise).
    label_ranks = rank_rows(np.where(np.isfinite(y), y, np.nan))
    observed = _mean_finite(daily_ic_matrix(p, y, min_names=min_names, label_ranks=label_ranks))
    rng = np.random.default_rng(seed)
    rows, cols = np.arange(n)[:, None], np.arange(m)[None, :]
    null = np.empty(n_draws)
    for i in range(n_draws):
        shifts = rng.integers(min_shift, n - min_shift + 1, size=m)
        shifted = p[(rows - shifts[None, :]) % n, cols]
        null[i] = _mean_finite(daily_ic_matrix(shifted, y, min_names=min_names, label_ranks=label_ranks))
    exceed = int(np.sum(null[np.isfinite(null)] >= observed)) if math.isfinite(observed) else n_draws
    return {"observed": observed, "p_value": (1 + exceed) / (1 + n_draws), "n_draws": n_draws,
            "min_shift": min_shift, "seed": seed,
            "method": f"circular time shift of each ticker's predictions, {n_draws} draws, shift >= {min_shift}"}


def _mean_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def hit_rate(pred: pd.Series, label: pd.Series) -> float:
    """Fraction of rows where sign(pred) == sign(label), over rows where both are finite and nonzero.

    Parameters
    ----------
    pred, label : Series of shape (n_rows,)
        Indexed by (date, ticker); joined on the index.
    """
    where = "hit_rate"
    frame = _aligned(pred, label, where)
    p = frame["pred"].to_numpy()
    y = frame["label"].to_numpy()
    nonzero = (p != 0) & (y != 0)
    if not nonzero.any():
        raise ValueError(f"{where}: no rows where both pred and label are finite and nonzero")
    return float((np.sign(p[nonzero]) == np.sign(y[nonzero])).mean())
