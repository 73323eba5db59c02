"""The freshness monitor: is every registered artifact there, and recent enough, for its cadence?

Absence-driven: it notices what did *not* happen (a run that never wrote its artifact), where the
stages themselves only report what they did.

* :func:`check_freshness` judges one :class:`ArtifactSpec` at an instant: ``fresh``, ``stale``,
  ``missing``, ``probe_failed`` or ``grace_period``. Pure: it lists the spec's folder once and
  never writes.
* :func:`run_freshness_cycle` checks every spec, writes ``_freshness_monitor/check_results.json``
  and ``_freshness_monitor/heartbeat.json``, emits the heartbeat and the per-cadence completion
  metrics, and publishes one alert per non-fresh artifact per cycle. It never raises for a
  per-spec problem.

**Cycles.** A cadence's cycles fall on Saturdays (``saturday``, due at 09:00 UTC), trading
sessions (``weekday`` at 13:00 UTC, ``eod`` at 21:00 UTC) or every calendar day
(``continuous``, at 00:00 UTC): upstream's cron anchors. A spec's *cycle* at an instant is its
last due cycle date; alerts are deduplicated per artifact and cycle.

**Age.** The newest artifact dated on or before the instant's UTC date is ``age`` trading days
old: the sessions closed after its date, up to the instant (a holiday closes no session, so a
holiday never ages an artifact, and no cycle is expected on it). ``fresh`` when the age is at
most ``max_age_trading_days``; ``stale`` when older; ``missing`` when there is none; but
``grace_period`` instead of missing while fewer than ``grace_period_cycles`` cycles are due
since the spec's ``since`` date. A probe that raises (the store cannot list, the calendar does
not cover the instant) gives ``probe_failed``, always critical, and the cycle goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from alpha_engine.pipeline import heartbeat
from alpha_engine.store import Artifact, Datapoint, StoreError

if TYPE_CHECKING:  # the calendar module imports pandas and exchange_calendars: not for a light import
    from alpha_engine.store import ArtifactStore, MetricsStore, TradingCalendar

from ._registry import ArtifactSpec
from ._substrate import SUBSTRATE_NAMESPACE

__all__ = [
    "CYCLE_ANCHORS",
    "FRESHNESS_HEARTBEAT",
    "FRESHNESS_PROCESS",
    "FRESHNESS_RESULTS",
    "CheckResult",
    "FreshnessCycle",
    "check_freshness",
    "cycle_date",
    "run_freshness_cycle",
]

FRESHNESS_RESULTS = Artifact("_freshness_monitor/check_results.json",
                             description="The freshness monitor's last cycle: every registry entry's state")
FRESHNESS_HEARTBEAT = Artifact("_freshness_monitor/heartbeat.json",
                               description="The freshness monitor's heartbeat: when its last cycle ran")
FRESHNESS_PROCESS = "freshness-monitor"
CYCLE_COMPLETE_METRIC = "ArtifactFreshnessCycleComplete"
CYCLE_ANCHORS: Mapping[str, time] = {"saturday": time(9), "weekday": time(13), "eod": time(21),
                                     "continuous": time(0)}
STATES = ("fresh", "stale", "missing", "probe_failed", "grace_period")
ALERT_STATES = ("stale", "missing", "probe_failed")
_SATURDAY = 5  # date.weekday()


class _Publisher(Protocol):
    def publish(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None: ...


Probe = Callable[[ArtifactSpec], list[tuple[date, str]]]
"""Given a spec, every (date, key) of its artifact that is stored."""


def _dated(spec: ArtifactSpec, keys: Sequence[str]) -> list[tuple[date, str]]:
    return [(day, key) for key in keys if (day := spec.date_of(key)) is not None]


@dataclass(frozen=True)
class CheckResult:
    """One spec's state at an instant, with the key it found, that key's date and age, and why."""

    spec: ArtifactSpec
    state: str
    cycle: date | None  # the spec's last due cycle date (None when the probe failed before knowing it)
    reason: str
    key: str | None = None
    found_date: date | None = None
    age_trading_days: int | None = None

    @property
    def severity(self) -> str:
        """The spec's severity; ``critical`` for a probe that failed."""
        return "critical" if self.state == "probe_failed" else self.spec.severity

    @property
    def dedup_key(self) -> str:
        """One alert per artifact and cycle: ``freshness/<id>/<cadence>/<cycle date>``."""
        cycle = self.cycle.isoformat() if self.cycle else "unknown"
        return f"freshness/{self.spec.id}/{self.spec.cadence}/{cycle}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.spec.id, "key_pattern": self.spec.key, "cadence": self.spec.cadence,
                "owner": self.spec.owner, "severity": self.severity, "state": self.state,
                "cycle": self.cycle.isoformat() if self.cycle else None, "key": self.key,
                "date": self.found_date.isoformat() if self.found_date else None,
                "age_trading_days": self.age_trading_days,
                "max_age_trading_days": self.spec.max_age_trading_days, "reason": self.reason,
                "dedup_key": self.dedup_key}


def _is_cycle_day(cadence: str, day: date, calendar: TradingCalendar) -> bool:
    if cadence == "saturday":
        return day.weekday() == _SATURDAY
    if cadence == "continuous":
        return True
    return calendar.is_session(day)


def cycle_date(cadence: str, now: datetime, calendar: TradingCalendar) -> date:
    """The last cycle of ``cadence`` due at ``now``: the latest cycle day whose anchor has passed."""
    instant = now.astimezone(UTC)
    day = instant.date()
    if instant.time() < CYCLE_ANCHORS[cadence]:
        day -= timedelta(days=1)
    if cadence == "saturday":
        return day - timedelta(days=(day.weekday() - _SATURDAY) % 7)
    if cadence == "continuous":
        return day
    return day if calendar.is_session(day) else calendar.previous_session(day)


def _cycles_since(spec: ArtifactSpec, start: date, cycle: date, calendar: TradingCalendar) -> int:
    """How many cycles of the spec fall in ``[start, cycle]``."""
    if start > cycle:
        return 0
    if spec.cadence == "saturday":
        first = start + timedelta(days=(_SATURDAY - start.weekday()) % 7)
        return 0 if first > cycle else (cycle - first).days // 7 + 1
    if spec.cadence == "continuous":
        return (cycle - start).days + 1
    return len(calendar.sessions(start, cycle))


def check_freshness(store: ArtifactStore, spec: ArtifactSpec, now: datetime, calendar: TradingCalendar, *,
                    probe: Probe | None = None) -> CheckResult:
    """The state of ``spec`` at ``now``; never raises for a store or calendar problem (``probe_failed``).

    The probe lists the spec's folder (``store.list(spec.prefix)``, one call); :func:`run_freshness_cycle`
    passes one that lists each folder once per cycle and indexes its keys.
    """
    if now.tzinfo is None:
        raise ValueError(f"check_freshness({spec.id!r}): now must be timezone-aware, got {now!r}")
    cycle: date | None = None
    try:
        cycle = cycle_date(spec.cadence, now, calendar)
        stored = probe(spec) if probe is not None else _dated(spec, store.list(spec.prefix))
        today = now.astimezone(UTC).date()
        dated = [(day, key) for day, key in stored if day <= today]
        if not dated:
            return _absent(spec, cycle, calendar)
        found, key = max(dated)
        age = calendar.trading_days_stale(found, calendar.last_closed_session(now))
    except (StoreError, OSError, ValueError, LookupError) as exc:
        return CheckResult(spec, "probe_failed", cycle,
                           f"the probe raised {type(exc).__name__}: {exc}; check that the store at "
                           f"{store.uri} is reachable and readable")
    except Exception as exc:  # isolation: one broken probe must not stop the cycle
        return CheckResult(spec, "probe_failed", cycle, f"the probe raised {type(exc).__name__}: {exc}")
    allowed = spec.max_age_trading_days
    if age <= allowed:
        return CheckResult(spec, "fresh", cycle, f"{key} is {age} trading day(s) old (at most {allowed})",
                           key, found, age)
    return CheckResult(spec, "stale", cycle,
                       f"the newest {spec.key} is {key}, {age} trading days old (at most {allowed}); its owner "
                       f"{spec.owner} has not written a newer one: see its health marker and the last runs",
                       key, found, age)


def _absent(spec: ArtifactSpec, cycle: date, calendar: TradingCalendar) -> CheckResult:
    if spec.since is not None:
        due = _cycles_since(spec, spec.since, cycle, calendar)
        if due < spec.grace_period_cycles:
            return CheckResult(spec, "grace_period", cycle,
                               f"no {spec.key} yet; {due} of its {spec.grace_period_cycles} grace cycle(s) since "
                               f"{spec.since.isoformat()} are due")
    return CheckResult(spec, "missing", cycle,
                       f"no {spec.key} for any date up to the {spec.cadence} cycle of {cycle.isoformat()}; its "
                       f"owner {spec.owner} has never written it here: run it ('alpha-engine stage run "
                       f"{spec.owner}') or look at why it did not run")


@dataclass
class _CachedProbe:
    """Lists each folder once per cycle and indexes its keys by the text around the date, so a
    spec's keys are one dictionary lookup; a failed listing is remembered and raised again for
    every spec under that folder."""

    store: ArtifactStore
    calls: int = 0
    _listed: dict[str, Sequence[str] | Exception] = field(default_factory=dict)
    _index: dict[tuple[str, int, int], dict[tuple[str, str], list[str]]] = field(default_factory=dict)

    def _list(self, prefix: str) -> Sequence[str]:
        if prefix not in self._listed:
            self.calls += 1
            try:
                self._listed[prefix] = self.store.list(prefix)
            except Exception as exc:
                self._listed[prefix] = exc
        answer = self._listed[prefix]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def __call__(self, spec: ArtifactSpec) -> list[tuple[date, str]]:
        keys = self._list(spec.prefix)
        head, tail = len(spec.head), len(spec.tail)
        shape = (spec.prefix, head, tail)
        if shape not in self._index:
            index: dict[tuple[str, str], list[str]] = {}
            for key in keys:
                if len(key) == head + 10 + tail:
                    index.setdefault((key[:head], key[head + 10:]), []).append(key)
            self._index[shape] = index
        candidates = self._index[shape].get((spec.head, spec.tail), [])
        return _dated(spec, candidates)


@dataclass(frozen=True)
class FreshnessCycle:
    """What one cycle found and did: every result, the alerts it published, the ones already sent
    in an earlier run of the same cycle, and what it could not publish or emit (with why)."""

    checked_at: datetime
    results: tuple[CheckResult, ...]
    alerted: tuple[str, ...]
    already_alerted: tuple[str, ...]
    errors: list[str]  # alerts that could not be published, metrics that could not be emitted
    list_calls: int
    written: bool

    @property
    def counts(self) -> dict[str, int]:
        return {state: sum(1 for r in self.results if r.state == state) for state in STATES}

    @property
    def problems(self) -> tuple[CheckResult, ...]:
        """The results to alert on: missing, stale or probe_failed."""
        return tuple(r for r in self.results if r.state in ALERT_STATES)

    def completion(self) -> dict[str, bool]:
        """Per cadence: is every spec of it fresh or in its grace period?"""
        return {cadence: all(r.state in ("fresh", "grace_period") for r in self.results if r.spec.cadence == cadence)
                for cadence in {r.spec.cadence for r in self.results}}

    def cycles(self) -> dict[str, str]:
        return {r.spec.cadence: r.cycle.isoformat() for r in self.results if r.cycle is not None}

    def to_json(self) -> dict[str, Any]:
        sent = set(self.alerted) | set(self.already_alerted)
        return {"checked_at": _iso(self.checked_at), "cycle": self.cycles(), "counts": self.counts,
                "results": [{**r.to_json(), "alerted": r.dedup_key in sent} for r in self.results]}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _previously_alerted(store: ArtifactStore) -> set[str]:
    try:
        if not store.exists(FRESHNESS_RESULTS.key):
            return set()
        previous = store.read_json(FRESHNESS_RESULTS.key)
        return {r["dedup_key"] for r in previous.get("results", []) if r.get("alerted")}
    except (StoreError, AttributeError, KeyError, TypeError):
        return set()  # an unreadable last result: alert again rather than stay silent


def _alert_text(result: CheckResult) -> tuple[str, str]:
    subject = f"Freshness {result.state}: {result.spec.id}"[:100]
    message = (f"[{result.severity}] {result.spec.id} ({result.spec.key}, {result.spec.cadence} cycle of "
               f"{result.cycle.isoformat() if result.cycle else 'unknown'}, owner {result.spec.owner}) is "
               f"{result.state}: {result.reason}")
    return subject, message


def run_freshness_cycle(specs: Sequence[ArtifactSpec], store: ArtifactStore, *, now: datetime,
                        calendar: TradingCalendar, metrics: MetricsStore | None = None,
                        notifier: _Publisher | None = None, write: bool = True) -> FreshnessCycle:
    """Check every spec at ``now`` and record the cycle.

    With ``write``: write ``check_results.json`` (canonical JSON, temp-then-rename: same inputs,
    same bytes) and ``heartbeat.json`` to ``store``, emit ``AlphaEngine/Heartbeat{Process=freshness-
    monitor}`` = 1 and ``AlphaEngine/Substrate ArtifactFreshnessCycleComplete{Cadence}`` (1 when
    every spec of the cadence is fresh or in its grace period, else 0) to ``metrics``, and publish
    one alert per missing, stale or probe_failed spec to ``notifier`` with the message attribute
    ``dedup_key``, unless the last recorded cycle already alerted that key (a rerun of the same
    cycle sends nothing new). A failing publish or emit is recorded in the result, never raised.
    Without ``write`` it only checks.
    """
    probe = _CachedProbe(store)
    results = []
    for spec in sorted(specs, key=lambda s: s.id):
        try:
            results.append(check_freshness(store, spec, now, calendar, probe=probe))
        except Exception as exc:  # a bug in one spec's check: reported, never fatal
            results.append(CheckResult(spec, "probe_failed", None, f"the check raised {type(exc).__name__}: {exc}"))
    if not write:
        return FreshnessCycle(now, tuple(results), (), (), [], probe.calls, False)
    before = _previously_alerted(store)
    alerted: list[str] = []
    already: list[str] = []
    errors: list[str] = []
    for result in results:
        if result.state not in ALERT_STATES:
            continue
        if result.dedup_key in before:
            already.append(result.dedup_key)
            continue
        if notifier is None:
            continue
        subject, message = _alert_text(result)
        try:
            notifier.publish(subject, message, attributes={"dedup_key": result.dedup_key})
            alerted.append(result.dedup_key)
        except Exception as exc:
            errors.append(f"{result.spec.id}: could not publish the alert: {type(exc).__name__}: {exc}")
    cycle = FreshnessCycle(now, tuple(results), tuple(alerted), tuple(already), errors, probe.calls, True)
    document = cycle.to_json()
    store.write_json(FRESHNESS_RESULTS.key, document)
    store.write_json(FRESHNESS_HEARTBEAT.key, {"process": FRESHNESS_PROCESS, "checked_at": document["checked_at"],
                                               "counts": document["counts"], "specs": len(results)})
    if metrics is not None:
        points = [heartbeat(FRESHNESS_PROCESS, now)]
        for cadence, complete in sorted(cycle.completion().items()):
            points.append(Datapoint.of(SUBSTRATE_NAMESPACE, CYCLE_COMPLETE_METRIC, 1.0 if complete else 0.0,
                                       {"Cadence": cadence}, now, unit="Count"))
        try:
            metrics.emit_many(points)
        except Exception as exc:  # the results are written; a metrics outage must not fail the cycle
            errors.append(f"could not emit the freshness metrics: {type(exc).__name__}: {exc}")
    return cycle
