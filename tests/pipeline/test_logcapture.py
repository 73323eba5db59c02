"""Log capture: byte-exact tee, exact exit codes, signal forwarding, and a log shipped on every exit."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.pipeline import LogCaptureResult, log_key_for, run_with_log_capture
from alpha_engine.pipeline._logcapture import TERMINATE_GRACE_ENV, _kill_after_for

DRIVER = Path(__file__).with_name("logcapture_child.py")
WAIT = 30  # seconds: a bound so a bug cannot hang the suite, never an assertion
FIXED_NOW = datetime(2024, 1, 5, 7, 8, 9, tzinfo=UTC)


class DictSink:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def write_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data


class FailingSink:
    def write_bytes(self, key: str, data: bytes) -> None:
        raise OSError("bucket is on fire")


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def capture(tmp_path: Path, command: list[str], **kwargs: Any) -> tuple[LogCaptureResult, bytes, DictSink]:
    console = io.BytesIO()
    sink = kwargs.pop("sink", DictSink())
    result = run_with_log_capture(command, slug="stage-a", log_path=tmp_path / "logs" / "deep" / "a.log",
                                  sink=sink, run_date="2024-01-05", now=lambda: FIXED_NOW, host="box",
                                  console=console, **kwargs)
    return result, console.getvalue(), sink


KEY = "_logs/stage-a/2024-01-05/manual/0.0-box-070809Z.log"


# --- tee -------------------------------------------------------------------------------------------

def test_tee_is_byte_exact_to_console_log_and_shipped_copy(tmp_path: Path) -> None:
    expected = b"line one\r\n\x00\xff\xfe not utf-8 \xc3\x28\rcarriage\nerr part\nno trailing newline"
    result, console, sink = capture(tmp_path, py("""
        import sys
        sys.stdout.buffer.write(b"line one\\r\\n\\x00\\xff\\xfe not utf-8 \\xc3\\x28\\rcarriage\\n"); sys.stdout.flush()
        sys.stderr.buffer.write(b"err part\\n"); sys.stderr.flush()
        sys.stdout.buffer.write(b"no trailing newline"); sys.stdout.flush()
    """))
    assert result.exit_code == 0
    assert console == expected
    assert result.log_path.read_bytes() == expected
    assert sink.objects == {KEY: expected}
    assert result.log_key == KEY and result.upload_error is None


def test_large_output_is_fully_captured(tmp_path: Path) -> None:
    expected = bytes(range(256)) * 4096  # 1 MiB, far past SSM's 24 KB cut
    result, console, sink = capture(tmp_path, py("import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)"))
    assert len(expected) == 1 << 20
    assert console == expected
    assert result.log_path.read_bytes() == expected
    assert sink.objects[KEY] == expected


class BrokenPipeConsole(io.BytesIO):
    def write(self, data: Any) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def closed_console() -> io.BytesIO:
    console = io.BytesIO()
    console.close()
    return console


@pytest.mark.parametrize("console", [BrokenPipeConsole(), closed_console()], ids=["broken-pipe", "closed"])
def test_console_write_error_does_not_stop_the_log(tmp_path: Path, console: io.BytesIO) -> None:
    code = "import sys\nfor i in range(2000): sys.stdout.write(f'{i}\\n'); sys.stdout.flush()"
    expected = "".join(f"{i}\n" for i in range(2000)).encode()
    sink = DictSink()
    result = run_with_log_capture(py(code), slug="stage-a", log_path=tmp_path / "a.log", sink=sink,
                                  run_date="2024-01-05", now=lambda: FIXED_NOW, host="box", console=console)
    assert result.exit_code == 0
    assert result.log_path.read_bytes() == expected
    assert sink.objects[KEY] == expected


def test_log_is_overwritten_not_appended(tmp_path: Path) -> None:
    (tmp_path / "logs" / "deep").mkdir(parents=True)
    (tmp_path / "logs" / "deep" / "a.log").write_bytes(b"previous run\n")
    result, _, _ = capture(tmp_path, py("print('this run')"))
    assert result.log_path.read_bytes() == b"this run\n"


# --- exit codes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_is_propagated(tmp_path: Path, code: int) -> None:
    result, _, sink = capture(tmp_path, py(f"import sys; print('bye'); sys.exit({code})"))
    assert result.exit_code == code
    assert sink.objects[KEY] == b"bye\n"


def test_child_killed_by_sigkill_exits_137_and_log_is_shipped(tmp_path: Path) -> None:
    result, console, sink = capture(tmp_path, py("""
        import os, signal
        print("about to die", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    assert result.exit_code == 128 + 9
    assert console == b"about to die\n"
    assert sink.objects[KEY] == b"about to die\n"


@pytest.mark.parametrize("command", [["definitely-not-a-command-xyz"], [os.devnull]], ids=["missing", "not-exec"])
def test_command_that_cannot_start_exits_127_and_ships_the_reason(tmp_path: Path, command: list[str]) -> None:
    result, console, sink = capture(tmp_path, command)
    assert result.exit_code == 127
    assert console.startswith(f"logcapture: cannot start {command[0]}: ".encode())
    assert console.endswith(b"\n") and console.count(b"\n") == 1
    assert result.log_path.read_bytes() == console
    assert sink.objects[KEY] == console


# --- shipping --------------------------------------------------------------------------------------

def test_failing_sink_keeps_exit_code_and_reports_on_stderr(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    result, _, _ = capture(tmp_path, py("import sys; print('work'); sys.exit(3)"), sink=FailingSink())
    assert result.exit_code == 3
    assert result.log_key is None
    assert result.upload_error is not None and "bucket is on fire" in result.upload_error
    assert f"logcapture: log not shipped ({KEY}): " in capsys.readouterr().err
    assert result.log_path.read_bytes() == b"work\n"


def test_no_sink_ships_nothing(tmp_path: Path) -> None:
    result, _, _ = capture(tmp_path, py("print('x')"), sink=None)
    assert result == LogCaptureResult(exit_code=0, log_path=result.log_path, log_key=None, upload_error=None)
    assert result.log_path.read_bytes() == b"x\n"


def test_default_run_date_is_the_utc_date_of_now(tmp_path: Path) -> None:
    sink = DictSink()
    # 23:30 in UTC-05:00 is already the next day (04:30) in UTC.
    late = datetime(2024, 3, 4, 23, 30, 15, tzinfo=timezone(timedelta(hours=-5)))
    result = run_with_log_capture(py("print('x')"), slug="stage-a", log_path=tmp_path / "a.log", sink=sink,
                                  now=lambda: late, host="box", console=io.BytesIO())
    assert result.log_key == "_logs/stage-a/2024-03-05/manual/0.0-box-043015Z.log"
    assert list(sink.objects) == [result.log_key]


def test_default_host_is_the_sanitized_hostname(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "ip_10 0/1.ec2")
    sink = DictSink()
    result = run_with_log_capture(py("print('x')"), slug="stage-a", log_path=tmp_path / "a.log", sink=sink,
                                  run_date="2024-01-05", now=lambda: FIXED_NOW, console=io.BytesIO())
    assert result.log_key == "_logs/stage-a/2024-01-05/manual/0.0-ip-10-0-1.ec2-070809Z.log"


# --- keys and validation ---------------------------------------------------------------------------

def test_log_key_for_format() -> None:
    at = datetime(2024, 1, 5, 3, 4, 5, tzinfo=UTC)
    assert log_key_for("features-1", "2024-01-05", "host-a.local", at) == "_logs/features-1/2024-01-05/manual/0.0-host-a.local-030405Z.log"


def test_log_key_for_converts_to_utc_and_sanitizes_host() -> None:
    at = datetime(2024, 1, 5, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert log_key_for("s", "2024-01-05", "a b/c_d", at) == "_logs/s/2024-01-05/manual/0.0-a-b-c-d-010405Z.log"


@pytest.mark.parametrize("slug", ["", "Features", "a/b", "a_b", "../x", "a b", "é", "a\n"])
def test_log_key_for_rejects_bad_slug(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        log_key_for(slug, "2024-01-05", "h", FIXED_NOW)


@pytest.mark.parametrize("run_date", ["", "2024-1-5", "20240105", "2024-13-01", "../2024-01-05", "2024-01-05/x"])
def test_log_key_for_rejects_bad_run_date(run_date: str) -> None:
    with pytest.raises(ValueError, match="run date"):
        log_key_for("s", run_date, "h", FIXED_NOW)


@pytest.mark.parametrize(("slug", "run_date", "command"), [
    ("Bad_Slug", None, None), ("ok", "05/01/2024", None), ("ok", None, []),
])
def test_bad_arguments_are_rejected_before_anything_runs(tmp_path: Path, slug: str, run_date: str | None,
                                                         command: list[str] | None) -> None:
    marker = tmp_path / "ran"
    cmd = py(f"open({str(marker)!r}, 'w').close()") if command is None else command
    with pytest.raises(ValueError):
        run_with_log_capture(cmd, slug=slug, log_path=tmp_path / "a.log", sink=DictSink(), run_date=run_date,
                             console=io.BytesIO())
    assert not marker.exists()
    assert not (tmp_path / "a.log").exists()


# --- signals, in process ---------------------------------------------------------------------------

def test_previous_signal_handlers_are_restored(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = {sig: signal.signal(sig, mine) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        capture(tmp_path, py("pass"))
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_signal_while_the_child_starts_is_forwarded_once_it_exists(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_popen = subprocess.Popen

    def popen_after_sigterm(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)  # handled (held) by log capture, not fatal to pytest
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen_after_sigterm)
    result, _, sink = capture(tmp_path, py("import time; time.sleep(30)"))
    assert result.exit_code == 128 + signal.SIGTERM
    assert KEY in sink.objects


def test_signal_after_the_child_exited_still_ships(tmp_path: Path) -> None:
    def now_with_sigterm() -> datetime:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while shipping: must neither kill us nor stop it
        return FIXED_NOW

    sink = DictSink()
    result = run_with_log_capture(py("print('done')"), slug="stage-a", log_path=tmp_path / "a.log", sink=sink,
                                  run_date="2024-01-05", now=now_with_sigterm, host="box", console=io.BytesIO())
    assert result.exit_code == 0
    assert sink.objects == {KEY: b"done\n"}


# --- signals to the log-capture process ------------------------------------------------------------

def child_code(sig: signal.Signals, trap: bool) -> list[str]:
    handler = (f"lambda s, f: (print('got {sig.name[3:]}', flush=True), sys.exit(0))" if trap
               else "signal.SIG_DFL")
    return py(f"""
        import signal, sys, time
        signal.signal(signal.{sig.name}, {handler})
        sys.stdout.write("partial output\\n"); sys.stdout.flush()
        print("ready", flush=True)
        time.sleep({WAIT})
        print("not interrupted", flush=True)
    """)


def run_driver_and_signal(tmp_path: Path, command: list[str], sig: signal.Signals,
                          env: dict[str, str] | None = None) -> tuple[int, bytes, Path]:
    ship_dir, log_path = tmp_path / "shipped", tmp_path / "logs" / "stage.log"
    environ = {k: v for k, v in os.environ.items() if k != TERMINATE_GRACE_ENV}
    driver = subprocess.Popen([sys.executable, str(DRIVER), str(ship_dir), str(log_path), "--", *command],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**environ, **(env or {})})
    try:
        deadline = time.monotonic() + WAIT
        while not (log_path.exists() and b"ready\n" in log_path.read_bytes()):
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the child never printed 'ready'"
            time.sleep(0.01)
        os.kill(driver.pid, sig)
        out, err = driver.communicate(timeout=WAIT)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert err == b"", err
    shipped = list(ship_dir.glob("_logs/signal-test/2024-01-05/manual/0.0-driver-*Z.log"))
    assert len(shipped) == 1, shipped
    assert shipped[0].read_bytes() == log_path.read_bytes() == out
    return driver.returncode, out, shipped[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_kills_child_by_default_and_log_is_shipped(tmp_path: Path, sig: signal.Signals) -> None:
    code, out, _ = run_driver_and_signal(tmp_path, child_code(sig, trap=False), sig)
    assert code == 128 + sig  # 143 for SIGTERM, 130 for SIGINT
    # The log ends with one line that records the signal: a cut-off log always says why.
    head, last = out.rstrip(b"\n").rsplit(b"\n", 1)
    assert head == b"partial output\nready"
    assert last.startswith(f"logcapture: received {sig.name} and forwarded it to the command (pid ".encode())
    assert last.endswith(f"the command exited with code {128 + sig}".encode())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_is_forwarded_to_child_that_traps_it(tmp_path: Path, sig: signal.Signals) -> None:
    code, out, _ = run_driver_and_signal(tmp_path, child_code(sig, trap=True), sig)
    assert code == 0
    head, last = out.rstrip(b"\n").rsplit(b"\n", 1)
    assert head == f"partial output\nready\ngot {sig.name[3:]}".encode()
    assert last.startswith(f"logcapture: received {sig.name}".encode()) and last.endswith(b"exited with code 0")


def test_a_command_that_outlives_the_signal_is_killed_within_the_supervisors_grace_and_the_log_shipped(
        tmp_path: Path) -> None:
    ignoring = py(f"""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep({WAIT})
        print("not interrupted", flush=True)
    """)
    # The engine gives a stopped task 1 s before its SIGKILL; log capture kills the command at 0.5 s.
    code, out, _ = run_driver_and_signal(tmp_path, ignoring, signal.SIGTERM, env={TERMINATE_GRACE_ENV: "1"})
    assert code == 128 + signal.SIGKILL
    head, last = out.rstrip(b"\n").rsplit(b"\n", 1)
    assert head == b"ready"
    assert last.startswith(b"logcapture: received SIGTERM and forwarded it to the command (pid ")
    assert last.endswith(b"; it was still running 0.5s later, so log capture killed it (SIGKILL); "
                         b"the command exited with code 137")


@pytest.mark.parametrize(("environ", "kill_after"), [
    ({TERMINATE_GRACE_ENV: "10"}, 8.0), ({TERMINATE_GRACE_ENV: "1"}, 0.5), ({TERMINATE_GRACE_ENV: "0"}, 0.0),
    ({}, None), ({TERMINATE_GRACE_ENV: "soon"}, None), ({TERMINATE_GRACE_ENV: "-1"}, None),
])
def test_log_capture_keeps_part_of_the_grace_period_to_ship_the_log(environ: dict[str, str],
                                                                    kill_after: float | None) -> None:
    assert _kill_after_for(environ) == kill_after


def test_log_capture_reads_the_grace_period_under_the_runtimes_name() -> None:
    from alpha_engine.sfn._runtime import TERMINATE_GRACE_ENV as RUNTIME_NAME

    assert TERMINATE_GRACE_ENV == RUNTIME_NAME


def test_log_captures_own_line_starts_on_a_line_of_its_own(tmp_path: Path) -> None:
    """A signal can arrive while the command's last line is unfinished: the note still reads as a line."""
    from alpha_engine.pipeline._logcapture import _Tee

    path = tmp_path / "stage.log"
    with path.open("wb") as log:
        tee = _Tee(log, path, None)
        tee.write(b"half a line")
        tee.note("logcapture: received SIGTERM")
        tee.note("logcapture: second note\n")
    assert path.read_bytes() == b"half a line\nlogcapture: received SIGTERM\nlogcapture: second note\n"
