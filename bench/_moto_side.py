"""moto side of the Step Functions benchmark; runs inside bench/.venv-moto, never in the project venv.

Protocol: bench_sfn.py writes one JSON request to stdin,
``{"scenarios": [{"name", "definition", "input", "runs", "warmup", "timeout"}]}``, and reads one JSON
document from stdout: ``{"versions": {...}, "results": {name: {...}}}``. Each result holds the wall
times (ms) of ``start_execution`` -> terminal status, the ``create_state_machine`` times (moto parses
the definition there), the status, ``*StateEntered`` and total event counts, and the last output.

``--cold`` runs a one-Pass-state machine end to end and exits: the parent times the whole process.

moto executes an ASL program in a worker thread started by ``start_execution``; the benchmark joins
that thread (found in moto's ``TMP_THREADS`` registry) with a timeout, so a hung execution is reported
as ``RUNNING`` instead of blocking the benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from importlib.metadata import version
from typing import Any

__all__ = ["main"]

ROLE_ARN = "arn:aws:iam::123456789012:role/bench-sfn"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# Exceptions that escape moto's worker threads (a hung execution usually leaves one behind).
_THREAD_ERRORS: list[str] = []


def _record_thread_error(args: threading.ExceptHookArgs) -> None:
    _THREAD_ERRORS.append(f"{args.exc_type.__name__}: {str(args.exc_value)[:200]}")


threading.excepthook = _record_thread_error


def _history(client: Any, arn: str) -> list[dict[str, Any]]:
    """Every history event; moto answers in one page today, but follow nextToken in case it pages."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events
        kwargs["nextToken"] = token


def _run_once(client: Any, threads: list[Any], name: str, definition: str, input_text: str, index: int,
              timeout: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    machine = client.create_state_machine(name=f"{name}-{index}", definition=definition, roleArn=ROLE_ARN)
    created = time.perf_counter()
    already = len(threads)
    t1 = time.perf_counter()
    arn = client.start_execution(stateMachineArn=machine["stateMachineArn"], name=f"run-{index}",
                                 input=input_text)["executionArn"]
    # start_execution appends its execution-logic thread before starting it; later entries are the
    # program/branch/iteration threads that thread spawns.
    worker = threads[already] if len(threads) > already else None
    deadline = t1 + timeout
    if worker is not None:
        worker.join(timeout)
    status = client.describe_execution(executionArn=arn)["status"]
    while status == "RUNNING" and time.perf_counter() < deadline:
        time.sleep(0.001)
        status = client.describe_execution(executionArn=arn)["status"]
    wall = time.perf_counter() - t1
    result: dict[str, Any] = {"create_ms": (created - t0) * 1000, "wall_ms": wall * 1000, "status": status}
    if status == "RUNNING":
        result["hung"] = True
        return result
    described = client.describe_execution(executionArn=arn)
    events = _history(client, arn)
    result["transitions"] = sum(1 for e in events if e["type"].endswith("StateEntered"))
    result["events"] = len(events)
    result["output"] = json.loads(described["output"]) if described.get("output") else None
    result["error"] = described.get("error")
    client.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
    return result


def _scenario(client: Any, threads: list[Any], spec: dict[str, Any]) -> dict[str, Any]:
    definition = json.dumps(spec["definition"])
    input_text = json.dumps(spec["input"])
    walls: list[float] = []
    creates: list[float] = []
    last: dict[str, Any] = {}
    total = spec.get("warmup", 0) + spec["runs"]
    for index in range(total):
        last = _run_once(client, threads, spec["name"], definition, input_text, index, spec["timeout"])
        if last.get("hung"):
            return {"status": "RUNNING", "hung_after_s": spec["timeout"], "wall_ms": [], "create_ms": [],
                    "thread_errors": sorted(set(_THREAD_ERRORS))}
        if index >= spec.get("warmup", 0):
            walls.append(last["wall_ms"])
            creates.append(last["create_ms"])
    return {"status": last["status"], "error": last.get("error"), "wall_ms": walls, "create_ms": creates,
            "transitions": last["transitions"], "events": last["events"], "output": last["output"]}


def _cold() -> None:
    import boto3
    from moto import mock_aws

    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        from moto.stepfunctions.parser.utils import TMP_THREADS

        client = boto3.client("stepfunctions", region_name="us-east-1")
        result = _run_once(client, TMP_THREADS, "cold", definition, "{}", 0, 30.0)
    if result["status"] != "SUCCEEDED":
        raise SystemExit(f"moto cold run ended {result['status']}")


def main() -> None:
    if "--cold" in sys.argv[1:]:
        _cold()
        return
    request = json.load(sys.stdin)
    import boto3
    from moto import mock_aws

    out: dict[str, Any] = {
        "versions": {pkg: version(pkg) for pkg in ("moto", "jsonpath-ng", "boto3", "antlr4-python3-runtime")},
        "results": {},
    }
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        from moto.stepfunctions.parser.utils import TMP_THREADS

        client = boto3.client("stepfunctions", region_name="us-east-1")
        for spec in request["scenarios"]:
            out["results"][spec["name"]] = _scenario(client, TMP_THREADS, spec)
            print(f"  moto {spec['name']}: done", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)
    sys.stdout.flush()
    # A hung execution leaves a daemon thread deep in recursion; do not wait for interpreter teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
