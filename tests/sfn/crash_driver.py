"""Child process for the SIGKILL tests: runs (or resumes) a multi-task execution on a SQLite store.

Every Task appends one line to the effects file when it runs, so the test can count side effects.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from alpha_engine.sfn import Engine, TaskCall
from alpha_engine.sfn._clock import IdSource
from alpha_engine.sfn._store import SqliteStore

DEFINITION = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"step": "fetch", "n.$": "$.n"}, "ResultPath": "$.fetch", "Next": "Fan"},
        "Fan": {
            "Type": "Parallel", "ResultPath": "$.fan", "Next": "Each",
            "Branches": [
                {"StartAt": "A1", "States": {
                    "A1": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"step": "a1"}, "Next": "A2"},
                    "A2": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"step": "a2", "prev.$": "$"}, "End": True}}},
                {"StartAt": "B1", "States": {
                    "B1": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"step": "b1"}, "End": True}}},
            ],
        },
        "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.each",
                 "ItemProcessor": {"StartAt": "Item", "States": {
                     "Item": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                              "Parameters": {"step": "item", "v.$": "$"}, "End": True}}},
                 "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.n, 1)"}, "ResultPath": "$.count",
                  "Next": "Finish"},
        "Finish": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"step": "finish", "all.$": "$"}, "End": True},
    },
}
INPUT = {"n": 41, "items": [1, 2, 3, 4, 5]}


def main() -> None:
    mode, db, effects = sys.argv[1:4]

    async def invoke(call: TaskCall) -> object:
        key = f"{call.state_name}:{json.dumps(call.parameters, sort_keys=True)}"
        with open(effects, "a") as fh:
            fh.write(key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        await asyncio.sleep(0.02)
        return {"done": call.parameters}

    engine = Engine(store=SqliteStore(db), ids=IdSource(7), task_invoker=invoke)
    if mode == "start":
        result = asyncio.run(engine.start(DEFINITION, INPUT, name="crash-test"))
    else:
        arn = engine.store.list_executions(limit=1)[0].arn
        result = asyncio.run(engine.resume(arn))
    print(json.dumps({"status": result.status, "output": result.output}, sort_keys=True))


if __name__ == "__main__":
    main()
