"""The decision corpus: captured decisions in a trailing window, listed a bounded way.

Research captures each decision at ``decision_artifacts/{YYYY}/{MM}/{DD}/{agent_id}/{run_id}.json``
(:data:`alpha_engine.research.DECISION_ARTIFACT`; the date is the capture date). The eval stages
read the decisions of a trailing window ending at the run date. Upstream's counterfactual once
listed everything under ``decision_artifacts/`` for 56 days (about 32,740 artifacts) and timed out
its 600 s Lambda; the fix bounds the work while listing. So :func:`scan_window`:

* walks the window's days newest first and lists only their date prefixes;
* lists one level at a time (:meth:`ArtifactStore.children`): a day's agents, then one agent's
  decisions, so an agent that has reached its cap is never listed again, and the work grows with
  the cap, not with the corpus;
* takes an agent's decisions newest first (a later day first; within a day, a greater run_id
  first) and drops the oldest beyond ``per_agent_cap`` (None or 0: no cap);
* stops at ``total_cap`` decisions overall when one is given;
* never lists the meta subtrees (``_eval/``, ``_analysis/``, ``_cost_raw/``, ...): they are not
  under a date prefix.

Loading is separate (:func:`load_decision`): a caller loads only the keys it keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ._errors import CorpusError

if TYPE_CHECKING:
    from alpha_engine.research import DecisionArtifact
    from alpha_engine.store import ArtifactStore

__all__ = ["DECISIONS_ROOT", "META_SUBTREES", "CapturedKey", "CorpusScan", "agent_base", "day_prefix",
           "load_decision", "parse_captured_key", "scan_window"]

DECISIONS_ROOT = "decision_artifacts/"
# The eval chain's own subtrees of decision_artifacts/ (upstream's list, plus ours): never decisions.
META_SUBTREES = ("_analysis", "_cost", "_cost_raw", "_counterfactual", "_eval", "_eval_by_capture",
                 "_eval_judge_only", "_eval_rolling", "_replay", "_replay_summary")


def agent_base(agent_id: str) -> str:
    """The agent family: ``sector_quant:technology`` -> ``sector_quant``."""
    return agent_id.split(":", 1)[0]


def day_prefix(day: date) -> str:
    """``decision_artifacts/YYYY/MM/DD/``: one capture date's decisions."""
    return f"{DECISIONS_ROOT}{day.year:04d}/{day.month:02d}/{day.day:02d}/"


@dataclass(frozen=True)
class CapturedKey:
    """One captured decision's key, parsed."""

    key: str
    capture_date: date
    agent_id: str
    run_id: str

    @property
    def agent_base(self) -> str:
        return agent_base(self.agent_id)


def parse_captured_key(key: str) -> CapturedKey | None:
    """The parts of a decision key, or None for anything else (a meta subtree, a foreign file)."""
    parts = key.split("/")
    if len(parts) != 6 or f"{parts[0]}/" != DECISIONS_ROOT or not parts[5].endswith(".json"):
        return None
    try:
        day = date(int(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None
    if (len(parts[1]), len(parts[2]), len(parts[3])) != (4, 2, 2):
        return None
    return CapturedKey(key=key, capture_date=day, agent_id=parts[4], run_id=parts[5][:-len(".json")])


@dataclass
class CorpusScan:
    """What a scan kept, and what it cost (for the stage summary and the benchmark)."""

    start: date
    end: date
    keys: list[CapturedKey] = field(default_factory=list)  # newest first
    days_listed: int = 0  # day prefixes listed (a day with no folder counts too)
    listings: int = 0  # listing calls (children or list)
    names_listed: int = 0  # names those listings returned
    capped_agents: set[str] = field(default_factory=set)  # agents whose oldest decisions were dropped
    total_capped: bool = False  # stopped at total_cap
    # every agent id a listed day held, kept or not (an agent ``include`` filtered out is seen but
    # its decisions are never listed): a stage reports the agents it does not analyse from this
    agents_seen: set[str] = field(default_factory=set)
    stopped_by_deadline: bool = False  # ``deadline()`` ended the scan before the window's end

    def by_agent(self) -> dict[str, list[CapturedKey]]:
        out: dict[str, list[CapturedKey]] = {}
        for item in self.keys:
            out.setdefault(item.agent_id, []).append(item)
        return out

    def summary(self) -> dict[str, Any]:
        return {"window": [self.start.isoformat(), self.end.isoformat()], "decisions": len(self.keys),
                "agents": len({k.agent_id for k in self.keys}), "days_listed": self.days_listed,
                "listings": self.listings, "names_listed": self.names_listed,
                "capped_agents": sorted(self.capped_agents), "total_capped": self.total_capped,
                "agents_seen": len(self.agents_seen), "stopped_by_deadline": self.stopped_by_deadline}


def scan_window(store: ArtifactStore, *, end: date, window_days: int, per_agent_cap: int | None = None,
                total_cap: int | None = None, include: Callable[[str], bool] | None = None,
                deadline: Callable[[], bool] | None = None) -> CorpusScan:
    """The captured decisions of the ``window_days`` days ending at ``end`` (inclusive), bounded
    as the module docstring says. ``include(agent_id)`` filters agents before their decisions are
    listed (every agent a day holds is still recorded in ``agents_seen``); ``deadline()`` returning True stops the scan before the next listing (the caller
    marks its result incomplete). CorpusError if a listing fails."""
    if window_days < 1:
        raise CorpusError(f"window_days must be at least 1, got {window_days}")
    cap = per_agent_cap or None
    scan = CorpusScan(start=end - timedelta(days=window_days - 1), end=end)
    counts: dict[str, int] = {}
    for back in range(window_days):
        if deadline is not None and deadline():
            scan.stopped_by_deadline = True
            break
        day = end - timedelta(days=back)
        prefix = day_prefix(day)
        agents = _listed(store, scan, prefix, store.children)
        scan.days_listed += 1
        scan.agents_seen.update(agents)
        for agent_id in agents:
            if include is not None and not include(agent_id):
                continue
            if cap is not None and counts.get(agent_id, 0) >= cap:
                scan.capped_agents.add(agent_id)  # never listed again: the cap bounds the work
                continue
            names = [n for n in _listed(store, scan, f"{prefix}{agent_id}/", store.children) if n.endswith(".json")]
            for name in sorted(names, reverse=True):
                if cap is not None and counts.get(agent_id, 0) >= cap:
                    scan.capped_agents.add(agent_id)
                    break
                parsed = parse_captured_key(f"{prefix}{agent_id}/{name}")
                if parsed is None:
                    continue
                scan.keys.append(parsed)
                counts[agent_id] = counts.get(agent_id, 0) + 1
                if total_cap is not None and len(scan.keys) >= total_cap:
                    scan.total_capped = True
                    return scan
    return scan


def _listed(store: ArtifactStore, scan: CorpusScan, prefix: str, lister: Callable[[str], Iterable[str]]) -> list[str]:
    from alpha_engine.store import StoreError

    try:
        names = list(lister(prefix))
    except StoreError as exc:
        raise CorpusError(f"cannot list {prefix} in {store.uri}: {exc}") from exc
    scan.listings += 1
    scan.names_listed += len(names)
    return names


def load_decision(store: ArtifactStore, key: str) -> DecisionArtifact:
    """The decision at ``key``, validated; CorpusError naming the key when it cannot be read."""
    from pydantic import ValidationError

    from alpha_engine.research import DecisionArtifact
    from alpha_engine.store import StoreError

    try:
        doc = store.read_json(key)
    except StoreError as exc:
        raise CorpusError(f"cannot read decision {key}: {exc}") from exc
    try:
        return DecisionArtifact.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise CorpusError(f"decision {key} is not a valid decision artifact: {where}: {first['msg']} "
                          f"({exc.error_count()} error(s))") from exc
