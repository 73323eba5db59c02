"""Forward-return labels for the predictor, on wide (dates x tickers) close frames.

Every horizon counts ROWS of the date index (trading days), never calendar days. A label at date t
uses closes at t + lag and t + lag + horizon only; the volatility bucket it is measured against uses
closes at dates <= t only, so nothing a label conditions on can see the label's own future.

``lag`` is the execution lag: features known at close t are traded at the first close they can
reach, ``lag`` sessions later, so the label is the return from there. ``lag=0`` (the functions'
default) is the old close-t-to-close-t+horizon label; training uses ``TrainingConfig.execution_lag``
(default 1 session).

Closes that are missing or non-positive count as missing; a label is NaN wherever an input it needs
is missing or t + horizon lies beyond the last row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "default_n_buckets",
    "forward_log_return",
    "market_relative_labels",
    "realized_vol",
    "to_long",
    "vol_bucket_relative_labels",
    "vol_buckets",
]

_BIG_UNIVERSE = 100
_DECILES = 10
_NAMES_PER_BUCKET = 5


def _check_close(close: object, where: str) -> pd.DataFrame:
    if not isinstance(close, pd.DataFrame):
        raise TypeError(f"{where}: close must be a pandas DataFrame (dates x tickers), got {type(close).__name__}")
    if not isinstance(close.index, pd.DatetimeIndex):
        raise TypeError(f"{where}: close.index must be a DatetimeIndex, got {type(close.index).__name__}")
    if not close.index.is_unique or not close.index.is_monotonic_increasing:
        raise ValueError(f"{where}: close.index must be unique and sorted ascending")
    if not close.columns.is_unique:
        raise ValueError(f"{where}: close has duplicate ticker columns")
    return close


def _check_positive_int(value: object, name: str, where: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_clip(clip: object, where: str) -> float:
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not np.isfinite(clip) or clip <= 0:
        raise ValueError(f"{where}: clip must be a finite number > 0, got {clip!r}")
    return float(clip)


def _log_close(close: pd.DataFrame) -> pd.DataFrame:
    values = close.to_numpy(dtype=np.float64, na_value=np.nan)
    # A zero or negative close is a data error; treat it as missing rather than emit -inf/NaN warnings.
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    return pd.DataFrame(logs, index=close.index, columns=close.columns)


def forward_log_return(close: pd.DataFrame, horizon: int = 21, *, lag: int = 0) -> pd.DataFrame:
    """Forward log return ``log(C[t + lag + horizon] / C[t + lag])`` per date and ticker.

    Parameters
    ----------
    close : DataFrame of shape (n_dates, n_tickers)
        Closes, index a sorted unique DatetimeIndex.
    horizon : int, default 21
        Rows (trading days) ahead.
    lag : int, default 0
        Execution lag: rows between t and the close the return starts from.

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
        NaN where t + lag + horizon is beyond the data or either close is missing.
    """
    where = "forward_log_return"
    close = _check_close(close, where)
    horizon = _check_positive_int(horizon, "horizon", where)
    lag = _check_positive_int(lag, "lag", where, minimum=0)
    logs = _log_close(close)
    return logs.shift(-(lag + horizon)) - logs.shift(-lag)


def realized_vol(close: pd.DataFrame, vol_window: int = 20) -> pd.DataFrame:
    """Trailing realized volatility: std (ddof=1) of the last ``vol_window`` daily log returns, up to t.

    Uses closes at dates t - vol_window .. t only. Strict: any missing return in the window makes the
    value NaN (a gap is not silently shrunk into a shorter window).

    Parameters
    ----------
    close : DataFrame of shape (n_dates, n_tickers)
    vol_window : int, default 20
        Number of daily returns in the window (>= 2).

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
        Per-day (not annualized) volatility.
    """
    where = "realized_vol"
    close = _check_close(close, where)
    vol_window = _check_positive_int(vol_window, "vol_window", where, minimum=2)
    returns = _log_close(close).diff()
    return returns.rolling(vol_window, min_periods=vol_window).std(ddof=1)


def default_n_buckets(n_names: int) -> int:
    """Buckets used for a cross-section of ``n_names`` tickers when ``n_buckets`` is not given.

    Deciles (10) from 100 names up, as upstream; below that ``max(1, n_names // 5)`` so every bucket
    holds at least 5 names (20 -> 4 buckets of 5; 99 -> 19 buckets of 5-6; 4 -> a single bucket).
    """
    if n_names >= _BIG_UNIVERSE:
        return _DECILES
    return max(1, n_names // _NAMES_PER_BUCKET)


def _bucket_ids(vol: pd.DataFrame, n_buckets: int | None) -> np.ndarray:
    """Float array (n_dates, n_tickers) of bucket ids 0..k-1 per date (0 = lowest vol), NaN without vol."""
    valid = vol.notna().to_numpy()
    n = valid.sum(axis=1)
    if n_buckets is None:
        k = np.where(n >= _BIG_UNIVERSE, _DECILES, np.maximum(1, n // _NAMES_PER_BUCKET))
    else:
        # Never more buckets than names, so no bucket is empty on a thin date.
        k = np.minimum(n_buckets, np.maximum(n, 1))
    # Ordinal ranks (ties broken by column order) give equal-count buckets whose sizes differ by <= 1.
    ranks = vol.rank(axis=1, method="first").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ids = np.floor((ranks - 1.0) * k[:, None] / n[:, None])
    return np.where(valid, ids, np.nan)


def vol_buckets(close: pd.DataFrame, *, vol_window: int = 20, n_buckets: int | None = None) -> pd.DataFrame:
    """Per-date realized-vol bucket of every ticker, re-ranked on each date's cross-section.

    Parameters
    ----------
    close : DataFrame of shape (n_dates, n_tickers)
    vol_window : int, default 20
        See :func:`realized_vol`.
    n_buckets : int or None, default None
        Fixed number of buckets (capped at the names available that date); None applies
        :func:`default_n_buckets` to each date's count of tickers with a volatility.

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
        Bucket id as float (0 = lowest volatility), NaN where the ticker has no volatility at t.
        Depends on closes at dates <= t only.
    """
    where = "vol_buckets"
    if n_buckets is not None:
        n_buckets = _check_positive_int(n_buckets, "n_buckets", where)
    vol = realized_vol(close, vol_window)
    return pd.DataFrame(_bucket_ids(vol, n_buckets), index=close.index, columns=close.columns)


def vol_bucket_relative_labels(
    close: pd.DataFrame,
    *,
    horizon: int = 21,
    vol_window: int = 20,
    n_buckets: int | None = None,
    clip: float = 0.15,
    lag: int = 0,
) -> pd.DataFrame:
    """Canonical label: forward log return minus the mean forward log return of the same vol bucket.

    On each date t, tickers are bucketed by trailing realized volatility (:func:`vol_buckets`, closes
    <= t only). The benchmark is the equal-weight mean of the forward log returns (closes t + lag and
    t + lag + horizon) of the bucket's members that have one, the ticker itself included. The result
    is clipped to ``[-clip, clip]``.

    Parameters
    ----------
    close : DataFrame of shape (n_dates, n_tickers)
    horizon : int, default 21
    vol_window : int, default 20
    n_buckets : int or None, default None
        See :func:`vol_buckets`.
    clip : float, default 0.15
    lag : int, default 0
        Execution lag (see the module doc).

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
        NaN where the ticker has no volatility at t or no forward return.
    """
    where = "vol_bucket_relative_labels"
    close = _check_close(close, where)
    horizon = _check_positive_int(horizon, "horizon", where)
    lag = _check_positive_int(lag, "lag", where, minimum=0)
    clip = _check_clip(clip, where)
    if n_buckets is not None:
        n_buckets = _check_positive_int(n_buckets, "n_buckets", where)
    fwd = forward_log_return(close, horizon, lag=lag).to_numpy()
    ids = _bucket_ids(realized_vol(close, vol_window), n_buckets)

    member = np.isfinite(ids) & np.isfinite(fwd)
    n_dates, _ = fwd.shape
    n_slots = int(np.nanmax(ids)) + 1 if member.any() else 1
    # One group per (date, bucket): bincount sums the members' returns and counts them in one pass.
    group = np.where(member, np.arange(n_dates)[:, None] * n_slots + np.nan_to_num(ids, nan=0.0), 0).astype(np.int64)
    sums = np.bincount(group[member], weights=fwd[member], minlength=n_dates * n_slots)
    counts = np.bincount(group[member], minlength=n_dates * n_slots)
    with np.errstate(invalid="ignore", divide="ignore"):
        bucket_mean = sums[group] / counts[group]
    labels = np.where(member, np.clip(fwd - bucket_mean, -clip, clip), np.nan)
    return pd.DataFrame(labels, index=close.index, columns=close.columns)


def market_relative_labels(
    close: pd.DataFrame, market: pd.Series, *, horizon: int = 21, clip: float = 0.15, lag: int = 0
) -> pd.DataFrame:
    """Alternative label: forward log return minus the market's forward log return, clipped.

    Parameters
    ----------
    close : DataFrame of shape (n_dates, n_tickers)
    market : Series of shape (n_market_dates,)
        Market closes (e.g. SPY), indexed by date; re-indexed onto ``close.index`` (missing -> NaN).
    horizon : int, default 21
    clip : float, default 0.15
    lag : int, default 0
        Execution lag (see the module doc).

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
    """
    where = "market_relative_labels"
    close = _check_close(close, where)
    horizon = _check_positive_int(horizon, "horizon", where)
    clip = _check_clip(clip, where)
    if not isinstance(market, pd.Series):
        raise TypeError(f"{where}: market must be a pandas Series of closes, got {type(market).__name__}")
    if not market.index.is_unique:
        raise ValueError(f"{where}: market index has duplicate dates")
    fwd = forward_log_return(close, horizon, lag=lag)
    market_frame = market.reindex(close.index).to_frame("market")
    market_fwd = forward_log_return(market_frame, horizon, lag=lag)["market"]
    return fwd.sub(market_fwd, axis=0).clip(lower=-clip, upper=clip)


def to_long(wide: pd.DataFrame, name: str) -> pd.Series:
    """Wide (dates x tickers) frame to a long Series indexed by (date, ticker), sorted, non-finite dropped.

    Parameters
    ----------
    wide : DataFrame of shape (n_dates, n_tickers)
    name : str
        Name of the returned Series.

    Returns
    -------
    Series of shape (n_valid,)
        MultiIndex levels ``date`` then ``ticker``, sorted by date then ticker.
    """
    if not isinstance(wide, pd.DataFrame):
        raise TypeError(f"to_long({name!r}): wide must be a pandas DataFrame, got {type(wide).__name__}")
    frame = wide.copy()
    frame.index = frame.index.rename("date")
    frame.columns = frame.columns.rename("ticker")
    long = frame.stack(future_stack=True)
    values = pd.to_numeric(long, errors="coerce").astype(np.float64)
    values = values[np.isfinite(values.to_numpy())]
    return values.sort_index(level=["date", "ticker"]).rename(name)
