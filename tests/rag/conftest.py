"""Fixtures of the RAG tests: a throwaway local PostgreSQL with pgvector (one per test session and
xdist worker, see pg_server.py), a fresh database per test, and both index backends behind one
factory so the behavioural tests run against each."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_server import LocalPostgres, ServerStartError, find_install

from alpha_engine.rag import PostgresRagIndex, RagBackend, RagIndex

_databases = itertools.count(1)


def _server(*, with_pgvector: bool) -> Iterator[LocalPostgres]:
    search = find_install(with_pgvector=with_pgvector)
    if search.install is None:
        pytest.skip(search.reason() if with_pgvector else
                    f"no PostgreSQL install without pgvector to show the missing-extension error on "
                    f"(tried: {'; '.join(search.rejected)})")
    try:
        server = LocalPostgres.start(search.install)
    except ServerStartError as exc:
        pytest.skip(f"PostgreSQL from {search.install.origin} ({search.install.bindir}) could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """A local PostgreSQL with pgvector for the whole session (skipped, saying why, if there is none
    or it cannot start)."""
    yield from _server(with_pgvector=True)


@pytest.fixture(scope="session")
def pg_server_without_pgvector() -> Iterator[LocalPostgres]:
    """A local PostgreSQL whose install lacks pgvector (the Debian system one here)."""
    yield from _server(with_pgvector=False)


def fresh_database(server: LocalPostgres) -> str:
    """The DSN of a new, empty database on ``server``."""
    import psycopg

    name = f"rag_test_{next(_databases)}"
    with psycopg.connect(server.dsn(), autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name}".encode())
        db.execute(f"CREATE DATABASE {name}".encode())
    return server.dsn(name)


@pytest.fixture
def pg_dsn(pg_server: LocalPostgres) -> str:
    """A fresh database on the session's server."""
    return fresh_database(pg_server)


OpenIndex = Callable[..., RagBackend]


@pytest.fixture(params=["sqlite", "postgres"])
def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenIndex]:
    """``open_index(read_only=False)``: the index of this test in the backend of the parameter
    (the same index on every call)."""
    opened: list[RagBackend] = []
    if request.param == "sqlite":
        def factory(read_only: bool = False) -> RagBackend:
            opened.append(RagIndex(tmp_path / "index.sqlite", read_only=read_only))
            return opened[-1]
    else:
        dsn = fresh_database(request.getfixturevalue("pg_server"))

        def factory(read_only: bool = False) -> RagBackend:
            opened.append(PostgresRagIndex(dsn, read_only=read_only))
            return opened[-1]
    yield factory
    for index in opened:
        index.close()
