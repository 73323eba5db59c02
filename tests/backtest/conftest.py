"""Helpers: a hand-built panel with known closes and signals, and the stage tests' workspace helpers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alpha_engine.backtest import BacktestInputs
from alpha_engine.config import Settings, load_settings


def hand_panel(closes: Sequence[Sequence[float]], *, enter: dict[int, Sequence[int]], sectors: Sequence[int] | None = None,
               score: float = 90.0) -> BacktestInputs:
    """Closes as rows of days x tickers; ``enter`` maps a signal day to the tickers with an ENTER."""
    close = np.ascontiguousarray(np.asarray(closes, np.float64))
    n_days, n_tickers = close.shape
    action = np.zeros((n_days, n_tickers), np.int8)
    signal_day = np.zeros(n_days, np.bool_)
    for day, tickers in enter.items():
        signal_day[day] = True
        action[day, list(tickers)] = 1
    sector_of = np.asarray(sectors if sectors is not None else range(n_tickers), np.int64)
    return BacktestInputs(
        dates=np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + n_days),
        tickers=tuple(f"T{i}" for i in range(n_tickers)), close=close, sector_of=sector_of,
        sectors=tuple(f"S{i}" for i in range(int(sector_of.max()) + 1)), signal_day=signal_day,
        regime=np.zeros(n_days, np.int8), action=action, score=np.full((n_days, n_tickers), score),
        conviction=np.zeros((n_days, n_tickers), np.int8), sector_rating=np.zeros((n_days, n_tickers), np.int8),
        upside=np.full((n_days, n_tickers), np.nan), veto=np.zeros((n_days, n_tickers), np.bool_),
        confidence=np.full((n_days, n_tickers), np.nan))


def stage_settings(workspace: Path, slug: str, options: str) -> Settings:
    """Settings of ``workspace`` (created) whose config.toml holds ``options`` under ``[stages.<slug>]``."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.toml").write_text(f"[stages.{slug}]\n{options}", encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def workspace_files(workspace: Path) -> dict[str, bytes]:
    """Every data file's bytes (LMDB's reader table, logs, health markers and the operational metrics
    and alarm databases left out: a completed rerun rightly emits its heartbeat)."""
    return {p.relative_to(workspace).as_posix(): p.read_bytes() for p in sorted(workspace.rglob("*"))
            if p.is_file() and p.name != "lock.mdb"
            and not p.relative_to(workspace).as_posix().startswith(
                ("artifacts/_logs/", "artifacts/health/", "metrics.db", "alarms.db"))}


def copy_workspace(source: Path, destination: Path) -> Path:
    """A copy of ``source`` at ``destination`` (LMDB's reader table left out)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("lock.mdb"))
    return destination


def read_artifact(workspace: Path, key: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((workspace / "artifacts" / key).read_text())
    return document
