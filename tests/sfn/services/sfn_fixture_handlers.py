"""Lambda handlers run by the binding tests in real child processes.

Imported only inside those children (via PYTHONPATH), never by the tests themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any


class CustomException(Exception):
    pass


def echo(event: Any, context: Any) -> Any:
    return event


def describe_context(event: Any, context: Any) -> Any:
    return {
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "env": os.environ.get("SFN_FIXTURE_FLAG"),
    }


def noisy(event: Any, context: Any) -> Any:
    print("hello from the handler")
    return {"ok": True}


def raises(event: Any, context: Any) -> Any:
    raise Exception("Some exception was raised.")


def raises_custom(event: Any, context: Any) -> Any:
    raise CustomException()


def exits(event: Any, context: Any) -> Any:
    os._exit(3)


def killed(event: Any, context: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)
    return None


def unserialisable(event: Any, context: Any) -> Any:
    return {"when": object()}


def hangs(event: Any, context: Any) -> Any:
    # Report our pid and a grandchild's pid first so the test can check both die.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(event["pid_file"], "w") as fh:
        fh.write(f"{os.getpid()} {child.pid}")
    time.sleep(600)
    return None


def lease_env(event: Any, context: Any) -> Any:
    return {"lease": os.environ.get("SFN_TASK_LEASE"), "store": os.environ.get("SFN_EXECUTION_STORE"),
            "pid": os.getpid()}
