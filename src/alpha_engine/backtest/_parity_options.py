"""Options of the Parity stage (``[stages.parity]``); light (pydantic only).

The simulation inputs and the executor config are the Backtester's (``[stages.backtester]`` and
its ``portfolio_stats.json``); these options choose only which sessions are compared and how."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ParityOptions"]


class ParityOptions(BaseModel):
    """Which sessions are replayed, the tolerances and where a paper executor's trade log is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sessions: int = Field(0, ge=0, le=260, description="compare the last N sessions up to the as-of session; 0: the "
                                                       "run's week (the sessions after the previous Saturday)")
    price_rtol: float = Field(1e-9, gt=0.0, lt=0.1, description="matched orders' fill prices agree within this "
                                                                "relative tolerance")
    max_differences: int = Field(10, ge=1, le=1000, description="first differences listed in the report and warning")
    trade_log: str = Field("executor/trades/{date}/trades.json",
                           description="artifact key of the paper executor's trade log ({date}: run_date); compared "
                                       "when present, recorded as skipped when absent")
