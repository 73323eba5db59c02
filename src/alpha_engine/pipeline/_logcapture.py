"""Log capture: run a command, tee its output byte-exact to the console and a log, ship the log.

Every stage runs through here. Unlike upstream's log-capture CLI (which lost the log on SIGTERM
and was cut at 24 KB by SSM), the log is shipped on *every* exit: normal, failed, killed by a
signal, forwarded SIGTERM/SIGINT, or a command that could not start. The command's exit code is
propagated exactly (``128 + N`` when signal ``N`` killed it, ``127`` when it could not start).

The command never outlives log capture: it is started with a parent-death signal of SIGKILL, so
if log capture itself is killed (it is the stage's "container"), the stage dies with it and an
orphaned stage cannot go on writing after its execution has failed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import BinaryIO, Protocol

from ._artifacts import STAGE_LOG
from ._deathsig import parent_death_signal

__all__ = [
    "FIRST_ATTEMPT",
    "MANUAL_EXECUTION",
    "LogCaptureResult",
    "LogSink",
    "log_key_for",
    "run_with_log_capture",
    "stage_log_path",
    "stage_log_prefix",
]

CANNOT_START_EXIT = 127
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_CHUNK = 65536
_SLUG = re.compile(r"[a-z0-9-]+")
_RUN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

# Who a log belongs to: the execution's name and the attempt, ``{redrive count}.{retry count}`` (what
# the definition passes from ``$$.Execution.RedriveCount`` and ``$$.State.RetryCount``). A command run by
# hand, outside any execution, logs as MANUAL_EXECUTION.
MANUAL_EXECUTION = "manual"
FIRST_ATTEMPT = "0.0"

_SignalHandler = Callable[[int, FrameType | None], object] | int | None


class LogSink(Protocol):
    """Where logs are shipped (an ``alpha_engine.store.ArtifactStore`` fits)."""

    def write_bytes(self, key: str, data: bytes) -> None: ...


@dataclass(frozen=True)
class LogCaptureResult:
    """What a captured run ended with."""

    exit_code: int  # the child's exit code; death by signal N -> 128 + N; could not start -> 127
    log_path: Path
    log_key: str | None  # where it was shipped, None if shipping failed or no sink
    upload_error: str | None  # message if shipping failed


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_slug(slug: str) -> None:
    if not isinstance(slug, str) or _SLUG.fullmatch(slug) is None:
        raise ValueError(f"logcapture: slug {slug!r} must be lowercase letters, digits and '-'")


def _check_run_date(run_date: str) -> None:
    # The run date becomes a key segment: only a real YYYY-MM-DD may get there.
    try:
        ok = _RUN_DATE.fullmatch(run_date) is not None and bool(date.fromisoformat(run_date))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"logcapture: run date {run_date!r} must be YYYY-MM-DD")


def _safe_host(host: str) -> str:
    return _HOST_UNSAFE.sub("-", host) or "unknown-host"


def _safe_name(name: str, what: str) -> str:
    """An execution name or attempt label as one path segment (``[A-Za-z0-9._-]``, never '.' or '..')."""
    safe = _NAME_UNSAFE.sub("-", name)
    if not safe.strip("."):
        raise ValueError(f"logcapture: {what} {name!r} cannot name a log")
    return safe


def stage_log_path(workspace: Path, slug: str, run_date: str, execution: str = MANUAL_EXECUTION,
                   attempt: str = FIRST_ATTEMPT) -> Path:
    """Where log capture keeps one attempt's local log, ``logs/stages/{slug}/{date}/{execution}/{attempt}.log``
    (its shipped copy is under ``_logs/``). One file per execution and attempt: a new run never
    appends to, truncates or replays another's."""
    return (workspace / "logs" / "stages" / slug / run_date / _safe_name(execution, "execution name")
            / f"{_safe_name(attempt, 'attempt')}.log")


def stage_log_prefix(slug: str, run_date: str, execution: str) -> str:
    """The folder under which one execution's shipped logs of a stage are, ``_logs/{slug}/{date}/{execution}/``."""
    return f"{STAGE_LOG.prefix}{slug}/{run_date}/{_safe_name(execution, 'execution name')}/"


def log_key_for(slug: str, run_date: str, host: str, at: datetime, *, execution: str = MANUAL_EXECUTION,
                attempt: str = FIRST_ATTEMPT) -> str:
    """The shipped log's key, ``_logs/{slug}/{run_date}/{execution}/{attempt}-{host}-{HHMMSS}Z.log``.

    ``at`` is read as UTC (a naive datetime is taken to be UTC already); ``host`` is sanitized to
    ``[A-Za-z0-9.-]``, the execution name and attempt to ``[A-Za-z0-9._-]``. The time tells apart two
    attempts with the same label (an attempt started again by ``resume``). Raises ValueError for a
    slug that is not ``[a-z0-9-]+`` or a bad run date.
    """
    _check_slug(slug)
    _check_run_date(run_date)
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    name = f"{_safe_name(attempt, 'attempt')}-{_safe_host(host)}-{at:%H%M%S}Z.log"
    return STAGE_LOG.format(run_date, slug=slug, execution=_safe_name(execution, "execution name"), file=name)


# The runtime's name (alpha_engine.sfn._runtime.TERMINATE_GRACE_ENV, the same string, pinned by a
# test): the seconds a task process gets between the stop signal and SIGKILL.
TERMINATE_GRACE_ENV = "SFN_TERMINATE_GRACE_SECONDS"
# Of that grace, what log capture keeps for itself to write its last line and ship the log.
_SHIP_RESERVE_SECONDS = 2.0


def _kill_after_for(environ: Mapping[str, str]) -> float | None:
    """How long after a stop signal log capture lets the command run before it kills it itself:
    the supervisor's grace period (``$SFN_TERMINATE_GRACE_SECONDS``) less a reserve for shipping
    the log (up to 2 s, at most half the grace), so the log is shipped before the supervisor's
    SIGKILL reaches log capture. None (wait for the command however long) without the variable."""
    text = environ.get(TERMINATE_GRACE_ENV)
    if not text:
        return None
    try:
        grace = float(text)
    except ValueError:
        return None
    if not grace >= 0:
        return None
    return grace - min(_SHIP_RESERVE_SECONDS, grace / 2)


class _Forwarder:
    """Signal handlers that pass SIGTERM/SIGINT on to the child instead of stopping us.

    A signal that arrives before the child exists is held and forwarded as soon as it does; one that
    arrives after the child was reaped is dropped (we are about to ship and exit anyway). With
    ``kill_after``, a child still running that many seconds after the first signal is killed
    (SIGKILL), so the log can be shipped before the supervisor kills us too.
    """

    def __init__(self, kill_after: float | None = None) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
        self.received: list[int] = []  # every signal handled, in order, for the log's last line
        self.killed_after: float | None = None  # set when we had to kill the child ourselves
        self._kill_after = kill_after
        self._timer: threading.Timer | None = None
        self._previous: dict[int, _SignalHandler] = {}

    def install(self) -> None:
        # signal.signal only works in the main thread; elsewhere the caller keeps its own handling.
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in FORWARDED_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for sig, previous in self._previous.items():
            # None means a handler not set from Python: the closest we can restore is the default.
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        held, self.pending = self.pending, []
        for sig in held:
            self._send(sig)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._kill_after is not None and self._timer is None:
            self._timer = threading.Timer(self._kill_after, self._kill)
            self._timer.daemon = True
            self._timer.start()
        if self.child is None:
            self.pending.append(signum)
        else:
            self._send(signum)

    def _kill(self) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            self.killed_after = self._kill_after
            child.kill()  # guarded like send_signal against a child already reaped

    def _send(self, sig: int) -> None:
        assert self.child is not None
        # send_signal is os.kill(child.pid, sig) guarded against a child that was already reaped
        # (its pid could belong to another process by now).
        self.child.send_signal(sig)


class _Tee:
    """Writes each chunk to the log file and the console, flushing both."""

    def __init__(self, log: BinaryIO, log_path: Path, console: BinaryIO | None) -> None:
        self._log: BinaryIO | None = log
        self._log_path = log_path
        self._console = console
        self._line_open = False  # the last chunk written ended mid-line

    def note(self, line: str) -> None:
        """Write log capture's own ``line`` on a line of its own, even after a command's unfinished line."""
        self.write(("\n" if self._line_open else "") + line.rstrip("\n") + "\n")

    def write(self, chunk: bytes | str) -> None:
        if isinstance(chunk, str):
            chunk = chunk.encode(errors="replace")
        if chunk:
            self._line_open = not chunk.endswith(b"\n")
        # The log first: it is what gets shipped, and a console blocked on a slow reader must not
        # hold it back.
        if self._log is not None:
            try:
                self._log.write(chunk)
                self._log.flush()
            except (OSError, ValueError) as exc:
                self._log = None
                print(f"logcapture: log write failed ({self._log_path}): {exc}", file=sys.stderr, flush=True)
        if self._console is not None:
            try:
                self._console.write(chunk)
                self._console.flush()
            except (OSError, ValueError):
                # A closed console (reader gone) must not stop the log receiving the rest.
                self._console = None


def _exit_code(returncode: int) -> int:
    return returncode if returncode >= 0 else 128 - returncode


def _run_teed(command: Sequence[str], tee: _Tee, forwarder: _Forwarder) -> int:
    try:
        # No shell, no new session: an outer supervisor signals our whole process group. The child
        # dies with us (SIGKILL when we die; spawned from the thread that waits for it below).
        child = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=parent_death_signal(signal.SIGKILL),
        )
    except (OSError, ValueError) as exc:
        tee.note(f"logcapture: cannot start {command[0]}: {exc}")
        return CANNOT_START_EXIT
    forwarder.attach(child)
    assert child.stdout is not None
    with child.stdout:
        fd = child.stdout.fileno()
        # os.read is retried after our handlers run (PEP 475), so a forwarded signal never cuts
        # the tee short: we read until the child's end of the pipe closes.
        while chunk := os.read(fd, _CHUNK):
            tee.write(chunk)
    exit_code = _exit_code(child.wait())
    if forwarder.received:
        tee.note(_signal_line(forwarder.received, child.pid, exit_code, forwarder.killed_after))
    return exit_code


def _signal_line(received: Sequence[int], pid: int, exit_code: int, killed_after: float | None = None) -> str:
    """The log's last line when the run was stopped: which signal, that it was forwarded, how it ended."""
    names = ", ".join(dict.fromkeys(signal.Signals(sig).name for sig in received))
    killed = ("" if killed_after is None else
              f"; it was still running {killed_after:g}s later, so log capture killed it (SIGKILL)")
    return (f"logcapture: received {names} and forwarded it to the command (pid {pid}){killed}; "
            f"the command exited with code {exit_code}\n")


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ship(log_path: Path, key: str, sink: LogSink) -> str | None:
    try:
        sink.write_bytes(key, log_path.read_bytes())
    except Exception as exc:  # any failure to ship is reported, never allowed to change the exit code
        error = _error_text(exc)
        print(f"logcapture: log not shipped ({key}): {error}", file=sys.stderr, flush=True)
        return error
    return None


def _key_now(slug: str, run_date: str | None, host: str | None, now: Callable[[], datetime],
             execution: str, attempt: str) -> str:
    at = now()
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return log_key_for(slug, run_date or at.date().isoformat(), host or socket.gethostname(), at,
                       execution=execution, attempt=attempt)


def run_with_log_capture(
    command: Sequence[str],
    *,
    slug: str,
    log_path: Path,
    sink: LogSink | None,
    run_date: str | None = None,
    now: Callable[[], datetime] = _utc_now,
    host: str | None = None,
    console: BinaryIO | None = None,
    execution: str = MANUAL_EXECUTION,
    attempt: str = FIRST_ATTEMPT,
    environ: Mapping[str, str] | None = None,
) -> LogCaptureResult:
    """Run ``command`` (no shell), tee its merged stdout/stderr to ``console`` and ``log_path``, ship.

    While the command runs, SIGTERM and SIGINT are forwarded to it and the tee goes on until its
    output ends; the log then ends with one line naming the signal and the command's exit code.
    Under a supervisor that names its grace period (``$SFN_TERMINATE_GRACE_SECONDS`` in
    ``environ``, default ``os.environ``; :func:`_kill_after_for`), a command still running near the
    end of it is killed, so the log is shipped before the supervisor's SIGKILL.
    The log (the command's output, plus that line when a signal came) is then shipped to ``sink``
    under :func:`log_key_for` for ``execution`` and ``attempt``; a shipping failure is printed to
    stderr and reported in ``upload_error`` without changing the exit code. ``console`` defaults
    to ``sys.stdout.buffer``.

    Raises ValueError for an empty command, a bad slug or run date (before anything runs), and
    OSError if the log file cannot be created.
    """
    if isinstance(command, str | bytes) or not command:
        raise ValueError(f"logcapture: the command must be a non-empty list of arguments, got {command!r}")
    _check_slug(slug)
    _safe_name(execution, "execution name")
    _safe_name(attempt, "attempt")
    if run_date is not None:
        _check_run_date(run_date)
    if console is None:
        console = getattr(sys.stdout, "buffer", None)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    forwarder = _Forwarder(_kill_after_for(os.environ if environ is None else environ))
    key: str | None = None
    upload_error: str | None = None
    with open(log_path, "wb") as log:
        forwarder.install()
        try:
            exit_code = _run_teed(command, _Tee(log, log_path, console), forwarder)
        finally:
            # Shipped even if the tee itself failed: the log is what explains the failure.
            try:
                log.close()  # everything written reaches the file before it is read back
                if sink is not None:
                    key = _key_now(slug, run_date, host, now, execution, attempt)
                    upload_error = _ship(log_path, key, sink)
            finally:
                forwarder.restore()
    return LogCaptureResult(
        exit_code=exit_code,
        log_path=log_path,
        log_key=key if upload_error is None else None,
        upload_error=upload_error,
    )
