"""Child process for the engine-signal tests: a LocalRuntime on a workspace runs (or redrives) one
Batch job that records the signal it gets, and prints the result as JSON.

    python signal_driver.py start|redrive WORKSPACE FLAGS GRACE_SECONDS

The job writes its pid to ``FLAGS/job.pid``; on SIGTERM or SIGINT it appends the signal number to
``FLAGS/job.signal`` and exits 3 (with ``FLAGS/ignore`` present it goes on running). With
``FLAGS/succeed`` present it exits 0 at once.
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
    else:
        result = runtime.redrive("signal-test")
    print(json.dumps({"status": result.status, "error": result.error, "cause": result.cause,
                      "signal": result.signal}))


if __name__ == "__main__":
    main()
