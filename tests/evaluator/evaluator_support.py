"""Helpers of the evaluator tests: a sample workspace (DataPhase1 on the bundled sample) with a synthetic weekly history of signals
and predictions over 2022, written as the Research and PredictorTraining stages would (schema-valid),
with a planted skill: scores and predicted alphas lean on the realised forward alpha."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.config import Settings, load_settings
from alpha_engine.data.providers import SampleProvider
from alpha_engine.store import ArtifactStore

RUN_DATE = date(2022, 12, 31)
FIRST_SIGNAL = date(2022, 1, 8)
SECTORS = {"AAPL": "Information Technology", "AMD": "Information Technology", "MSFT": "Information Technology",
           "BAC": "Financials", "JPM": "Financials", "BBY": "Consumer Discretionary", "HD": "Consumer Discretionary",
           "CVX": "Energy", "XOM": "Energy", "RRC": "Energy", "GE": "Industrials", "JNJ": "Health Care",
           "LLY": "Health Care", "MRK": "Health Care", "PFE": "Health Care", "UNH": "Health Care",
           "KO": "Consumer Staples", "PEP": "Consumer Staples", "PG": "Consumer Staples", "WMT": "Consumer Staples"}


def settings_for(workspace: Path, options: str = "") -> Settings:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.toml").write_text(f"[stages.evaluator]\n{options}", encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def _entry(ticker: str, score: float, signal: str) -> dict[str, object]:
    return {"ticker": ticker, "signal": signal, "score": round(score, 2), "rating": "BUY" if score >= 65 else "HOLD",
            "conviction": "stable", "sector": SECTORS[ticker], "sector_rating": "market_weight",
            "price_target_upside": None, "thesis_summary": "synthetic", "sub_scores": {"quant": round(score, 2), "qual": None},
            "factor_quality_score": 0.5}


def write_history(workspace: Path, seed: int = 7, skill: float = 1.0) -> list[str]:
    """Weekly signals and predictions from FIRST_SIGNAL to RUN_DATE; returns the signal dates."""
    store = ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts())
    provider = SampleProvider()
    bars = provider.daily_bars(sorted(SECTORS), date(2021, 12, 1), RUN_DATE)
    closes = pd.DataFrame({t: f["Close"] for t, f in bars.items()})
    closes.index = pd.DatetimeIndex(closes.index).normalize()
    forward = closes.shift(-10) / closes - 1  # planted: the future 10-session return (plus noise)
    forward = forward - forward.mean(axis=1).to_numpy()[:, None]
    rng = np.random.default_rng(seed)
    days = []
    day = FIRST_SIGNAL
    while day <= RUN_DATE:
        days.append(day.isoformat())
        after = forward[forward.index > pd.Timestamp(day)]
        row = (after.iloc[0] if len(after) else pd.Series(0.0, index=forward.columns)).fillna(0.0)
        noisy = skill * row.rank(pct=True).to_numpy() + rng.normal(0, 0.35, len(row))
        scores = 30 + 60 * (noisy - noisy.min()) / (noisy.max() - noisy.min())
        order = np.argsort(-scores)
        universe = [_entry(t, s, "ENTER" if i in order[:4] else "EXIT" if i in order[-2:] else "HOLD")
                    for i, (t, s) in enumerate(zip(row.index, scores, strict=True))]
        buys = [{**e, "catalysts": [], "entry_thesis": "synthetic"} for e in universe if e["signal"] == "ENTER"]
        regime = "bull" if day.month <= 6 else "bear"
        store.write_json(f"signals/{day.isoformat()}/signals.json", {
            "date": day.isoformat(), "time": f"{day.isoformat()}T00:00:00Z", "market_regime": regime,
            "sector_ratings": {}, "sector_modifiers": {}, "universe": universe, "buy_candidates": buys,
            "signals": {}, "population": sorted(e["ticker"] for e in buys), "architecture_version": "sector_teams"})
        alpha = 0.02 * (noisy - noisy.mean()) / noisy.std()
        p_up = 1 / (1 + np.exp(-alpha / 0.02))
        ranks = (-alpha).argsort().argsort() + 1
        predictions = [{"ticker": t, "predicted_direction": "UP" if p >= 0.5 else "DOWN",
                        "prediction_confidence": round(abs(p - 0.5) * 2, 6), "predicted_alpha": round(float(a), 6),
                        "predicted_alpha_std": 0.01, "p_up": round(float(p), 6), "combined_rank": int(r),
                        "gbm_veto": bool(a < 0 and r > 10 and abs(p - 0.5) * 2 >= 0.6), "momentum_veto": False,
                        "model_version": "synthetic", "price_data_age_days": 1}
                       for t, a, p, r in zip(row.index, alpha, p_up, ranks, strict=True)]
        store.write_json(f"predictor/predictions/{day.isoformat()}.json", {
            "date": day.isoformat(), "model_version": "synthetic", "model_status": "champion",
            "n_predictions": len(predictions), "n_high_confidence": 0, "caveats": [], "predictions": predictions})
        day += timedelta(days=7)
    return days


def copy_workspace(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("lock.mdb"))
    return destination
