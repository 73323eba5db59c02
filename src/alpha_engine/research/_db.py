"""research.db: the research run's memory (SQLite in the workspace), with versioned migrations.

Migrations are the numbered files ``migrations/NNNN_name.sql``, applied in order inside one
transaction each; ``schema_version(version, name)`` records each one applied, so opening an up to
date database applies nothing (idempotent). A database newer than this code is refused.

Per-run tables are keyed by ``run_date``: :meth:`ResearchDB.record_run` deletes the run's rows and
writes them again in one transaction (a rerun replaces, never duplicates), then rebuilds the
current-state tables (``population``, ``investment_thesis``) from the latest run in the history.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alpha_engine.pipeline import Resource

from ._errors import ResearchDbError
from ._models import HeldPosition, PriorThesis

if TYPE_CHECKING:
    from alpha_engine.store import WriteFence

__all__ = ["MIGRATIONS", "RESEARCH_DB", "SCHEMA_VERSION", "ResearchDB", "RunRecord", "migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PER_RUN = ("thesis_history", "population_history", "scanner_evaluations", "cio_evaluations", "macro_snapshots",
            "score_performance")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every shipped migration, in order (1, 2, ... without gaps)."""
    folder = resources.files(__package__ or "").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise ResearchDbError(f"research migrations must be numbered 1..n without gaps: {[v for v, _, _ in found]}")
    return found


MIGRATIONS = migrations()
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class RunRecord:
    """Everything one research run writes to research.db (rows as column -> value)."""

    run_date: str
    theses: Sequence[Mapping[str, Any]]
    population: Sequence[Mapping[str, Any]]
    scanner: Sequence[Mapping[str, Any]]
    cio: Sequence[Mapping[str, Any]]
    macro: Mapping[str, Any]
    scores: Sequence[Mapping[str, Any]]


class ResearchDB:
    """research.db at ``path``; opened on first use. ``read_only`` never creates or migrates it."""

    def __init__(self, path: Path, *, read_only: bool = False, fence: WriteFence | None = None) -> None:
        self.path = path
        self.read_only = read_only
        self.fence = fence

    def __repr__(self) -> str:
        return f"ResearchDB({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                return sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise ResearchDbError(f"research.db: cannot open {self.path}: {exc}") from exc

    def exists(self) -> bool:
        return self.path.is_file()

    def version(self) -> int:
        """The applied schema version (0: no database or an empty one)."""
        if not self.exists():
            return 0
        with closing(self._connect()) as db:
            return _version(db)

    def check(self) -> None:
        """Readable, and not newer than this code (for a preflight; read-only, creates nothing)."""
        if not self.exists():
            return
        try:
            version = self.version()
        except sqlite3.Error as exc:
            raise ResearchDbError(f"research.db at {self.path} is unreadable: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise ResearchDbError(f"research.db at {self.path} is at schema {version}, newer than this code "
                                  f"({SCHEMA_VERSION})")

    def migrate(self) -> list[int]:
        """Apply the missing migrations; returns the versions applied (none when up to date)."""
        if self.read_only:
            raise ResearchDbError(f"research.db at {self.path} is open read-only: cannot migrate")
        self.check()
        applied = []
        with closing(self._connect()) as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            db.commit()
            current = _version(db)
            for version, name, sql in MIGRATIONS[current:]:
                try:
                    db.executescript(f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version}, '{name}');\n"
                                     "COMMIT;")
                except sqlite3.Error as exc:
                    db.rollback()
                    raise ResearchDbError(f"research.db at {self.path}: migration {version:04d}_{name} "
                                          f"failed: {exc}") from exc
                applied.append(version)
        return applied

    def prior_population(self, run_date: str) -> list[HeldPosition]:
        """The population after the latest run before ``run_date`` (empty for a first run)."""
        rows = self._query("SELECT ticker, entered, entry_score FROM population_history WHERE action != 'EXIT' "
                           "AND run_date = (SELECT MAX(run_date) FROM population_history WHERE run_date < ?) "
                           "ORDER BY ticker", (run_date,))
        return [HeldPosition(ticker=t, entered=e, entry_score=s) for t, e, s in rows]

    def prior_theses(self, run_date: str) -> dict[str, PriorThesis]:
        """Each ticker's latest thesis from a run before ``run_date``."""
        rows = self._query(
            "SELECT h.ticker, h.run_date, h.score, h.sector_rating, h.thesis_summary, h.conviction "
            "FROM thesis_history h JOIN (SELECT ticker, MAX(run_date) AS d FROM thesis_history WHERE run_date < ? "
            "GROUP BY ticker) m ON h.ticker = m.ticker AND h.run_date = m.d ORDER BY h.ticker", (run_date,))
        return {t: PriorThesis(ticker=t, run_date=d, score=s, sector_rating=r, thesis_summary=x, conviction=c)
                for t, d, s, r, x, c in rows}

    def prior_scores(self, run_date: str) -> dict[str, float | None]:
        """Each ticker's final score in the latest run before ``run_date`` that scored it."""
        rows = self._query(
            "SELECT p.ticker, p.score FROM score_performance p JOIN (SELECT ticker, MAX(run_date) AS d FROM "
            "score_performance WHERE run_date < ? GROUP BY ticker) m ON p.ticker = m.ticker AND p.run_date = m.d",
            (run_date,))
        return dict(rows)

    def pending_performance(self) -> list[tuple[str, str, float]]:
        """(run_date, ticker, price_at_score) of score rows whose 30-day outcome is not known yet."""
        return [(d, t, p) for d, t, p in self._query(
            "SELECT run_date, ticker, price_at_score FROM score_performance WHERE return_30d IS NULL "
            "AND price_at_score IS NOT NULL ORDER BY run_date, ticker", ())]

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if not self.exists():
            return []
        with closing(self._connect()) as db:
            if _version(db) == 0:
                return []
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise ResearchDbError(f"research.db at {self.path}: {exc}") from exc

    def record_run(self, record: RunRecord, outcomes: Sequence[Mapping[str, Any]] = ()) -> None:
        """Replace ``record.run_date``'s rows, fill known score outcomes, rebuild the current state."""
        if self.read_only:
            raise ResearchDbError(f"research.db at {self.path} is open read-only: cannot record a run")
        self.migrate()
        if self.fence is not None:
            self.fence.check(str(self.path), f"research.db run {record.run_date}")
        with closing(self._connect()) as db, closing(sqlite3.connect(":memory:")) as trial:
            try:
                # Applied to an in-memory copy first: a rerun that changes nothing leaves the file untouched.
                db.backup(trial)
                _apply_run(trial, record, outcomes)
                if list(trial.iterdump()) == list(db.iterdump()):
                    trial.rollback()
                    return
                trial.rollback()
                _apply_run(db, record, outcomes)
                db.commit()
            except sqlite3.Error as exc:
                db.rollback()
                raise ResearchDbError(f"research.db at {self.path}: recording run {record.run_date} failed: "
                                      f"{exc}") from exc

    def dump(self) -> Iterator[str]:
        """The database as SQL statements (``sqlite3 .dump``), for comparisons and backups."""
        with closing(self._connect()) as db:
            yield from db.iterdump()


def _version(db: sqlite3.Connection) -> int:
    has = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has:
        return 0
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def _insert(db: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        columns = sorted(row)
        values = [json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v for v in (row[c] for c in columns)]
        db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
                   values)


RESEARCH_DB: Resource[ResearchDB] = Resource(
    "research-db", "research.db (SQLite at <settings.workspace>/research/research.db): theses, population, "
                   "scanner and CIO evaluations, score performance")


def _apply_run(db: sqlite3.Connection, record: RunRecord, outcomes: Sequence[Mapping[str, Any]]) -> None:
    """The run's rows in one (uncommitted) transaction; see :meth:`ResearchDB.record_run`."""
    db.execute("BEGIN")
    for table in _PER_RUN:
        db.execute(f"DELETE FROM {table} WHERE run_date = ?", (record.run_date,))  # noqa: S608
    _insert(db, "thesis_history", record.theses)
    _insert(db, "population_history", record.population)
    _insert(db, "scanner_evaluations", record.scanner)
    _insert(db, "cio_evaluations", record.cio)
    _insert(db, "macro_snapshots", [record.macro])
    _insert(db, "score_performance", record.scores)
    for row in outcomes:
        db.execute("UPDATE score_performance SET return_10d = ?, return_30d = ?, beat_spy_10d = ?, "
                   "beat_spy_30d = ? WHERE run_date = ? AND ticker = ?",
                   (row["return_10d"], row["return_30d"], row["beat_spy_10d"], row["beat_spy_30d"],
                    row["run_date"], row["ticker"]))
    latest = db.execute("SELECT MAX(run_date) FROM population_history").fetchone()[0]
    db.execute("DELETE FROM population")
    db.execute("INSERT INTO population SELECT ticker, entered, entry_score, run_date FROM "
               "population_history WHERE run_date = ? AND action != 'EXIT'", (latest,))
    db.execute("DELETE FROM investment_thesis")
    db.execute("INSERT INTO investment_thesis SELECT h.ticker, h.run_date, h.team, h.score, h.rating, "
               "h.sector_rating, h.conviction, h.thesis_summary FROM thesis_history h JOIN "
               "(SELECT ticker, MAX(run_date) AS d FROM thesis_history GROUP BY ticker) m "
               "ON h.ticker = m.ticker AND h.run_date = m.d")
