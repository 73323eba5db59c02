"""Data quality gates: the write-time anomaly taxonomy, the full-history report and pipeline gates.

Write time (:func:`check_new_rows`, :func:`split_blocked`): incoming bars are checked against the
taxonomy below; rows with a *block* anomaly are refused, *warn* rows are written and reported.

=========================  ========  =====================================================
kind                       severity  rule
=========================  ========  =====================================================
``bad_ohlc``               block     High < Low
``intrabar_inconsistent``  block     Close outside [Low, High] (not repeated when High < Low)
``nonpositive_close``      block     Close <= 0
``negative_volume``        block     Volume < 0
``missing_close``          block     Close NaN or infinite
``duplicate_date``         block     one date appears more than once
``unsorted_index``         block     dates not ascending (full history only)
``backfill_regression``    block     a rebuild moves a symbol's last date backwards
``extreme_daily_move``     warn      |Close / previous good close - 1| > 50%
``zero_volume``            warn      Volume == 0
``volume_spike``           warn      Volume > 10x median of the last 20 positive volumes
``gap``                    warn      more than 3 trading days between consecutive bars
=========================  ========  =====================================================

A check that needs a field which is NaN is skipped: the bundled sample has closes only, and a
missing High is not a bad High. Everything is computed on whole arrays; Python only loops over the
rows that are actually flagged, to build their :class:`Anomaly`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alpha_engine.store import PRICE_COLUMNS, TradingCalendar

from ._errors import QualityGateError

__all__ = [
    "BLOCK_KINDS",
    "WARN_KINDS",
    "Anomaly",
    "anomalies_summary",
    "backfill_regression",
    "check_new_rows",
    "coverage_gate",
    "freshness_gate",
    "freshness_report",
    "split_blocked",
    "validate_history",
]

# Canonical order: anomalies on the same day are listed in this order.
_KIND_ORDER = (
    "duplicate_date",
    "unsorted_index",
    "missing_close",
    "nonpositive_close",
    "bad_ohlc",
    "intrabar_inconsistent",
    "negative_volume",
    "backfill_regression",
    "extreme_daily_move",
    "zero_volume",
    "volume_spike",
    "gap",
)
BLOCK_KINDS: frozenset[str] = frozenset(_KIND_ORDER[:8])
WARN_KINDS: frozenset[str] = frozenset(_KIND_ORDER[8:])
_KIND_RANK = {kind: rank for rank, kind in enumerate(_KIND_ORDER)}

_EXTREME_MOVE = 0.5  # |Close/prev - 1| above this is a possible split or bad print
_SPIKE_RATIO = 10.0
_SPIKE_WINDOW = 20  # positive volumes in the spike median
_MAX_GAP_TRADING_DAYS = 3  # upstream used "> 5 calendar days", which is about this
_MISSING_SHOWN = 20  # tickers named in a coverage error

Value = float | int | str | None


@dataclass(frozen=True)
class Anomaly:
    """One problem found on one ticker and day. ``values`` holds the numbers the rule looked at."""

    ticker: str
    day: date
    kind: str
    severity: str  # 'block' | 'warn'
    values: Mapping[str, Value] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.severity not in ("block", "warn"):
            raise ValueError(
                f"Anomaly {self.ticker} {self.day} {self.kind}: severity must be 'block' or 'warn', "
                f"got {self.severity!r}"
            )
        # Read-only copy, so a frozen anomaly cannot be changed through the caller's dict.
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, non-finite floats as null)."""
        return {
            "ticker": self.ticker,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "severity": self.severity,
            "values": {key: _json_value(value) for key, value in self.values.items()},
            "message": self.message,
        }


def _json_value(value: Value) -> Value:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _fmt(value: Value) -> str:
    return "None" if value is None else str(value) if isinstance(value, str) else repr(value)


def _anomaly(
    ticker: str, day: date, kind: str, severity: str, text: str, values: Mapping[str, Value]
) -> Anomaly:
    shown = ", ".join(f"{key}={_fmt(value)}" for key, value in values.items())
    return Anomaly(ticker, day, kind, severity, values, f"{ticker} {day.isoformat()}: {text} ({shown})")


def _sorted(anomalies: list[Anomaly]) -> list[Anomaly]:
    return sorted(anomalies, key=lambda a: (a.day, _KIND_RANK.get(a.kind, len(_KIND_RANK)), a.ticker))


# --------------------------------------------------------------------------------------------- arrays


def _dates(index: pd.Index, ticker: str) -> pd.DatetimeIndex:
    """Midnight tz-naive dates of a frame's index, in the same order, duplicates kept."""
    try:
        dates = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{ticker}: bar index is not made of dates ({exc})") from exc
    if dates.tz is not None:
        dates = dates.tz_convert("UTC").tz_localize(None)
    return dates.normalize().rename("date")


def _bars(frame: pd.DataFrame | None, ticker: str) -> pd.DataFrame:
    """The price columns as float64 (absent or non-numeric -> NaN) on normalized dates, order kept."""
    if frame is None:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64") for c in PRICE_COLUMNS}, index=pd.DatetimeIndex([])
        )
    columns = {
        column: (
            pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            if column in frame
            else np.full(len(frame), np.nan)
        )
        for column in PRICE_COLUMNS
    }
    return pd.DataFrame(columns, index=_dates(frame.index, ticker))


def _sorted_unique(bars: pd.DataFrame) -> pd.DataFrame:
    """Ascending dates, one row per date (the last one, as normalize_ticker_frame keeps)."""
    return bars[~bars.index.duplicated(keep="last")].sort_index(kind="mergesort")


def _previous_good_close(close: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """For each row, the last finite positive close strictly before it (NaN if none)."""
    good = np.where(np.isfinite(close) & (close > 0), close, np.nan)
    previous: npt.NDArray[np.float64] = pd.Series(good).ffill().shift(1).to_numpy(dtype="float64")
    return previous


def _previous_volume_median(volume: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """For each row, the median of the last (up to) 20 positive volumes strictly before it."""
    positive = np.isfinite(volume) & (volume > 0)
    medians = (
        pd.Series(volume[positive]).rolling(_SPIKE_WINDOW, min_periods=1).median().to_numpy(dtype="float64")
    )
    before: npt.NDArray[np.int64] = (
        np.cumsum(positive) - positive
    )  # positive volumes strictly before each row
    result = np.full(volume.shape, np.nan)
    has = before > 0
    result[has] = medians[before[has] - 1]
    return result


def _dup_anomalies(ticker: str, dates: pd.DatetimeIndex) -> list[Anomaly]:
    counts = pd.Series(1, index=dates).groupby(level=0).size()
    return [
        _anomaly(
            ticker, day.date(), "duplicate_date", "block", "date appears more than once", {"count": int(n)}
        )
        for day, n in counts[counts > 1].items()
    ]


def _row_anomalies(
    ticker: str,
    bars: pd.DataFrame,
    prev_close: npt.NDArray[np.float64],
    volume_median: npt.NDArray[np.float64],
    upgraded: Collection[str] = (),
) -> list[Anomaly]:
    """Per-row rules on ``bars`` (one row per date); NaN fields make their comparisons False."""
    high, low, close, volume = (bars[c].to_numpy(dtype="float64") for c in ("High", "Low", "Close", "Volume"))
    days = [d.date() for d in bars.index]
    good_close = np.isfinite(close) & (close > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        move = close / prev_close - 1.0
        spike_ratio = volume / volume_median
    bad_ohlc = high < low
    rules: list[tuple[str, npt.NDArray[np.bool_], str, tuple[tuple[str, npt.NDArray[np.float64]], ...]]] = [
        ("missing_close", ~np.isfinite(close), "Close is missing or infinite", (("Close", close),)),
        ("nonpositive_close", np.isfinite(close) & (close <= 0), "Close <= 0", (("Close", close),)),
        ("bad_ohlc", bad_ohlc, "High < Low", (("High", high), ("Low", low))),
        (
            "intrabar_inconsistent",
            ((close < low) | (close > high)) & ~bad_ohlc,
            "Close outside [Low, High]",
            (("Close", close), ("Low", low), ("High", high)),
        ),
        ("negative_volume", volume < 0, "Volume < 0", (("Volume", volume),)),
        (
            "extreme_daily_move",
            good_close & (np.abs(move) > _EXTREME_MOVE),
            f"|Close / previous close - 1| > {_EXTREME_MOVE:.0%}",
            (("Close", close), ("prev_close", prev_close), ("move", move)),
        ),
        ("zero_volume", volume == 0, "Volume == 0", (("Volume", volume),)),
        (
            "volume_spike",
            np.isfinite(volume) & (volume > _SPIKE_RATIO * volume_median),
            f"Volume > {_SPIKE_RATIO:g}x median of the last {_SPIKE_WINDOW} positive volumes",
            (("Volume", volume), ("median", volume_median), ("ratio", spike_ratio)),
        ),
    ]
    found: list[Anomaly] = []
    for kind, mask, text, fields in rules:
        severity = "block" if kind in BLOCK_KINDS or kind in upgraded else "warn"
        for i in np.flatnonzero(mask):
            values: dict[str, Value] = {name: _number(array[i], name) for name, array in fields}
            found.append(_anomaly(ticker, days[i], kind, severity, text, values))
    return found


def _number(value: np.float64, name: str) -> float:
    # Derived ratios are rounded so messages stay readable; observed prices are kept exact.
    number = float(value)
    return round(number, 6) if name in ("move", "ratio") and np.isfinite(number) else number


# ----------------------------------------------------------------------------------------- write time


def _check_kinds(kinds: Collection[str]) -> frozenset[str]:
    names = frozenset((kinds,) if isinstance(kinds, str) else kinds)
    unknown = sorted(names - BLOCK_KINDS - WARN_KINDS)
    if unknown:
        raise ValueError(
            f"upgrade_to_block: unknown anomaly kind(s) {', '.join(unknown)}; known kinds: "
            f"{', '.join(sorted(BLOCK_KINDS | WARN_KINDS))}"
        )
    return names


def check_new_rows(
    ticker: str,
    rows: pd.DataFrame,
    history: pd.DataFrame | None,
    *,
    upgrade_to_block: Collection[str] = (),
) -> list[Anomaly]:
    """Check incoming bars before they are written.

    ``rows`` may be a raw frame (duplicate dates are reported as ``duplicate_date`` before
    anything collapses them). ``history`` is the stored series; only its bars dated before the
    first incoming date are used, as the reference for ``extreme_daily_move`` (last good close)
    and ``volume_spike`` (last 20 positive volumes). ``upgrade_to_block`` turns warn kinds into
    block kinds; an unknown name raises ``ValueError``. Anomalies come sorted by day then kind.
    """
    upgraded = _check_kinds(upgrade_to_block)
    incoming = _bars(rows, ticker)
    found = _dup_anomalies(ticker, pd.DatetimeIndex(incoming.index))
    incoming = _sorted_unique(incoming)
    if incoming.empty:
        return _sorted(found)
    past = _sorted_unique(_bars(history, ticker)) if history is not None and len(history) else None
    if past is not None:
        past = past[past.index < incoming.index[0]]
    combined = incoming if past is None or past.empty else pd.concat([past, incoming])
    tail = slice(len(combined) - len(incoming), None)
    prev_close = _previous_good_close(combined["Close"].to_numpy(dtype="float64"))[tail]
    volume_median = _previous_volume_median(combined["Volume"].to_numpy(dtype="float64"))[tail]
    found += _row_anomalies(ticker, incoming, prev_close, volume_median, upgraded)
    return _sorted(found)


def split_blocked(rows: pd.DataFrame, anomalies: Sequence[Anomaly]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(rows to write, blocked rows)``: a row is blocked when any block anomaly names its date.

    Both parts keep ``rows``' own shape and order (it may be a raw frame)."""
    blocked_days = sorted({a.day for a in anomalies if a.severity == "block"})
    dates = _dates(rows.index, "split_blocked")
    mask = np.asarray(dates.isin(pd.DatetimeIndex(blocked_days)), dtype=bool)
    return rows[~mask], rows[mask]


# ---------------------------------------------------------------------------------------- full history


def validate_history(ticker: str, frame: pd.DataFrame, calendar: TradingCalendar) -> list[Anomaly]:
    """Report (never refuse) everything wrong with a ticker's stored history.

    Row rules as at write time on the date-sorted, de-duplicated bars, plus ``duplicate_date``,
    ``unsorted_index`` (one anomaly at the first out-of-order date, with the count) and ``gap``
    (more than 3 trading days between consecutive bars: a holiday weekend is 1, a 5-session hole
    is 6). Severities are the taxonomy's; ``gap`` is a warn.
    """
    bars = _bars(frame, ticker)
    dates = pd.DatetimeIndex(bars.index)
    found = _dup_anomalies(ticker, dates)
    stamps = dates.values
    backwards = np.flatnonzero(stamps[1:] < stamps[:-1])
    if backwards.size:
        first = int(backwards[0]) + 1
        found.append(
            _anomaly(
                ticker,
                dates[first].date(),
                "unsorted_index",
                "block",
                "dates are not ascending",
                {
                    "position": first,
                    "previous": dates[first - 1].date().isoformat(),
                    "count": int(backwards.size),
                },
            )
        )
    bars = _sorted_unique(bars)
    close = bars["Close"].to_numpy(dtype="float64")
    volume = bars["Volume"].to_numpy(dtype="float64")
    found += _row_anomalies(ticker, bars, _previous_good_close(close), _previous_volume_median(volume))
    unique = pd.DatetimeIndex(bars.index)
    if len(unique) > 1:
        spans = calendar.trading_days_between_many(unique[:-1], unique[1:])
        for i in np.flatnonzero(spans > _MAX_GAP_TRADING_DAYS):
            start, end = unique[i].date(), unique[i + 1].date()
            found.append(
                _anomaly(
                    ticker,
                    end,
                    "gap",
                    "warn",
                    f"more than {_MAX_GAP_TRADING_DAYS} trading days since the previous bar",
                    {"from": start.isoformat(), "to": end.isoformat(), "trading_days": int(spans[i])},
                )
            )
    return _sorted(found)


# --------------------------------------------------------------------------------------- pipeline gates


def coverage_gate(
    expected: Collection[str],
    received: Collection[str],
    *,
    min_fraction: float = 0.95,
    max_missing: int | None = None,
) -> list[str]:
    """The expected tickers that were not received (sorted).

    Raises :class:`QualityGateError` when the received fraction of ``expected`` is below
    ``min_fraction`` or more than ``max_missing`` are missing; the message gives the count, the
    fraction and the first 20 missing tickers. Extra received tickers are ignored."""
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"coverage_gate: min_fraction must be in [0, 1], got {min_fraction}")
    if max_missing is not None and max_missing < 0:
        raise ValueError(f"coverage_gate: max_missing must be >= 0, got {max_missing}")
    wanted = set(expected)
    missing = sorted(wanted - set(received))
    fraction = 1.0 if not wanted else (len(wanted) - len(missing)) / len(wanted)
    reasons = []
    if fraction < min_fraction:
        reasons.append(f"{fraction:.2%} < {min_fraction:.2%}")
    if max_missing is not None and len(missing) > max_missing:
        reasons.append(f"{len(missing)} missing > max_missing {max_missing}")
    if reasons:
        shown = ", ".join(missing[:_MISSING_SHOWN])
        more = f" (and {len(missing) - _MISSING_SHOWN} more)" if len(missing) > _MISSING_SHOWN else ""
        raise QualityGateError(
            f"coverage gate: received {len(wanted) - len(missing)} of {len(wanted)} expected tickers "
            f"({'; '.join(reasons)}); {len(missing)} missing: {shown}{more}"
        )
    return missing


def freshness_report(
    last_dates: Mapping[str, date], as_of: date, calendar: TradingCalendar
) -> dict[str, int]:
    """Ticker -> trading days stale at ``as_of`` (sessions in ``(last, as_of]``), sorted by ticker."""
    tickers = sorted(last_dates)
    if not tickers:
        return {}
    stale = calendar.trading_days_between_many([last_dates[t] for t in tickers], [as_of] * len(tickers))
    return {ticker: int(days) for ticker, days in zip(tickers, stale, strict=True)}


def freshness_gate(
    last_dates: Mapping[str, date],
    as_of: date,
    calendar: TradingCalendar,
    *,
    max_stale: int = 3,
    sample: int | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Freshness report of the checked tickers; raises :class:`QualityGateError` listing every
    ticker more than ``max_stale`` trading days stale. With ``sample``, only a seeded random
    sample of that many tickers is checked (same seed and tickers -> same sample)."""
    if max_stale < 0:
        raise ValueError(f"freshness_gate: max_stale must be >= 0, got {max_stale}")
    tickers = sorted(last_dates)
    if sample is not None:
        if sample < 0:
            raise ValueError(f"freshness_gate: sample must be >= 0, got {sample}")
        chosen = np.random.default_rng(seed).choice(
            len(tickers), size=min(sample, len(tickers)), replace=False
        )
        tickers = [tickers[i] for i in sorted(chosen.tolist())]
    report = freshness_report({t: last_dates[t] for t in tickers}, as_of, calendar)
    stale = {t: days for t, days in report.items() if days > max_stale}
    if stale:
        listed = ", ".join(
            f"{t} ({days})" for t, days in sorted(stale.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        raise QualityGateError(
            f"freshness gate: {len(stale)} of {len(report)} tickers more than {max_stale} trading days stale "
            f"as of {as_of.isoformat()} ({calendar.name}): {listed}"
        )
    return report


def backfill_regression(before: Mapping[str, date], after: Mapping[str, date]) -> list[Anomaly]:
    """Block anomalies for every symbol whose last date a rebuild would move backwards (or drop:
    a symbol in ``before`` but absent from ``after`` is reported with ``after=None``)."""
    found = []
    for symbol in sorted(before):
        old, new = before[symbol], after.get(symbol)
        if new is None or new < old:
            found.append(
                _anomaly(
                    symbol,
                    old,
                    "backfill_regression",
                    "block",
                    "rebuild moves the last date backwards"
                    if new is not None
                    else "rebuild drops the symbol",
                    {"before": old.isoformat(), "after": None if new is None else new.isoformat()},
                )
            )
    return found


def anomalies_summary(anomalies: Sequence[Anomaly]) -> dict[str, Any]:
    """Counts for manifests: total, by severity, by kind, by ``kind:severity``, tickers affected
    and the sorted tickers with at least one block."""
    return {
        "total": len(anomalies),
        "by_severity": {
            "block": sum(a.severity == "block" for a in anomalies),
            "warn": sum(a.severity == "warn" for a in anomalies),
        },
        "by_kind": dict(sorted(Counter(a.kind for a in anomalies).items())),
        "by_kind_severity": dict(sorted(Counter(f"{a.kind}:{a.severity}" for a in anomalies).items())),
        "tickers": len({a.ticker for a in anomalies}),
        "blocked_tickers": sorted({a.ticker for a in anomalies if a.severity == "block"}),
    }
