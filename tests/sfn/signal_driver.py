"""Child process for the engine-signal tests: a LocalRuntime on a workspace runs (or redrives) one
Batch job that records the signal it gets, and prints the result as JSON.

    python signal_driver.py start|redrive|parallel WORKSPACE FLAGS GRACE_SECONDS

The job writes its pid to ``FLAGS/job.pid``; on SIGTERM or SIGINT it appends the signal number to
``FLAGS/job.signal`` and exits 3 (with ``FLAGS/ignore`` present it goes on running). With
``FLAGS/succeed`` present it exits 0 at once. ``parallel`` runs it in a Parallel state beside a
slow job that takes a while to stop: on the signal it sleeps 2 s, writes ``FLAGS/slow.done`` and
exits 3 (it writes its pid to ``FLAGS/slow.pid``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alpha_engine.sfn import LocalRuntime, RuntimeConfig

JOB = """
import os, signal, sys, time
flags = sys.argv[1]
if os.path.exists(os.path.join(flags, "succeed")):
    sys.exit(0)
def stop(signum, frame):
    with open(os.path.join(flags, "job.signal"), "a") as out:
        out.write(str(signum) + " ")
    if not os.path.exists(os.path.join(flags, "ignore")):
        sys.exit(3)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
with open(os.path.join(flags, "job.pid.tmp"), "w") as out:
    out.write(str(os.getpid()))
os.replace(os.path.join(flags, "job.pid.tmp"), os.path.join(flags, "job.pid"))
for _ in range(1200):
    time.sleep(0.1)
"""


SLOW_JOB = """
import os, signal, sys, time
flags = sys.argv[1]
def stop(signum, frame):
    time.sleep(2)
    with open(os.path.join(flags, "slow.done"), "w") as out:
        out.write("done")
    sys.exit(3)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
with open(os.path.join(flags, "slow.pid.tmp"), "w") as out:
    out.write(str(os.getpid()))
os.replace(os.path.join(flags, "slow.pid.tmp"), os.path.join(flags, "slow.pid"))
for _ in range(1200):
    time.sleep(0.1)
"""


def _job(state: str, script: str, flags: str) -> dict[str, object]:
    return {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
            "Parameters": {"JobName": state.lower(), "JobQueue": "q", "JobDefinition": "d",
                           "ContainerOverrides": {"Command": [sys.executable, "-c", script, flags]}}}


def parallel_definition(flags: str) -> dict[str, object]:
    return {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Work", "States": {"Work": _job("Work", JOB, flags)}},
        {"StartAt": "Slow", "States": {"Slow": _job("Slow", SLOW_JOB, flags)}},
    ]}}}


def definition(flags: str) -> dict[str, object]:
    return {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
                "Parameters": {"JobName": "work", "JobQueue": "q", "JobDefinition": "d",
                               "ContainerOverrides": {"Command": [sys.executable, "-c", JOB, flags]}},
            },
        },
    }


def main() -> None:
    mode, workspace, flags, grace = sys.argv[1:5]
    runtime = LocalRuntime(RuntimeConfig(workspace=Path(workspace), terminate_grace_seconds=float(grace)))
    if mode == "start":
        result = runtime.start(definition(flags), {}, name="signal-test")
    elif mode == "parallel":
        result = runtime.start(parallel_definition(flags), {}, name="signal-test")
    else:
        result = runtime.redrive("signal-test")
    print(json.dumps({"status": result.status, "error": result.error, "cause": result.cause,
                      "signal": result.signal}))


if __name__ == "__main__":
    main()
