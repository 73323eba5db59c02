"""Runtime benchmark: alpha-engine's embedded Step Functions engine against moto's ASL interpreter.

Usage (from the repository root)::

    .venv/bin/python bench/bench_sfn.py            # full run (also: make bench)
    .venv/bin/python bench/bench_sfn.py --quick    # fewer runs
    .venv/bin/python bench/bench_sfn.py --no-moto  # ours only, no baseline venv needed

Prints a markdown table and writes bench/results/sfn.json. The moto baseline (latest moto with the
latest jsonpath-ng) lives in its own virtualenv, bench/.venv-moto, created on first use; it runs in a
subprocess (bench/_moto_side.py) so moto never enters the project environment. See bench/README.md
for the scenarios and the method.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alpha_engine.sfn import Engine
from alpha_engine.sfn._model import parse_state_machine
from alpha_engine.sfn._store import ExecutionStore, MemoryStore, SqliteStore
from alpha_engine.sfn._validator import validate_definition

__all__ = ["main", "Scenario", "scenarios"]

BENCH_DIR = Path(__file__).resolve().parent
MOTO_VENV = BENCH_DIR / ".venv-moto"
MOTO_STAMP = MOTO_VENV / ".installed"
MOTO_PACKAGES = ["moto[stepfunctions]", "boto3", "jsonpath-ng"]
RESULTS = BENCH_DIR / "results" / "sfn.json"


# -- definitions (the same dicts go to both runtimes) ------------------------------------------------

def linear_definition(n: int = 1000) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(n):
        state: dict[str, Any] = {"Type": "Pass"}
        if i == 0:
            state["Result"] = {"started": True, "tag": "linear"}
            state["ResultPath"] = "$.first"
        if i < n - 1:
            state["Next"] = f"S{i + 1}"
        else:
            state["End"] = True
        states[f"S{i}"] = state
    return {"Comment": f"{n}-state Pass chain", "StartAt": "S0", "States": states}


def choice_loop_definition() -> dict[str, Any]:
    # Init -> [Check -> Incr] x limit -> Check -> Done: 2 * limit + 3 transitions.
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Parameters": {"i": 0, "limit.$": "$.limit", "label": "loop"},
                     "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"And": [{"Not": {"Variable": "$.i", "NumericGreaterThanEqualsPath": "$.limit"}},
                             {"Variable": "$.i", "IsNumeric": True}],
                     "Next": "Incr"},
                    {"Variable": "$.label", "StringEquals": "abort", "Next": "Done"},
                    {"Variable": "$.i", "NumericGreaterThanEqualsPath": "$.limit", "Next": "Done"},
                ],
                "Default": "Done",
            },
            "Incr": {"Type": "Pass",
                     "Parameters": {"i.$": "States.MathAdd($.i, 1)", "limit.$": "$.limit", "label.$": "$.label"},
                     "Next": "Check"},
            "Done": {"Type": "Succeed"},
        },
    }


def parallel_definition(branches: int = 10, depth: int = 10) -> dict[str, Any]:
    def branch(b: int) -> dict[str, Any]:
        states: dict[str, Any] = {}
        for i in range(depth):
            state: dict[str, Any] = {"Type": "Pass", "Result": {"b": b, "i": i}, "ResultPath": f"$.r{i}"}
            if i < depth - 1:
                state["Next"] = f"B{b}S{i + 1}"
            else:
                state["End"] = True
            states[f"B{b}S{i}"] = state
        return {"StartAt": f"B{b}S0", "States": states}

    return {"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "Branches": [branch(b) for b in range(branches)], "End": True}}}


def map_definition(max_concurrency: int | None = None, *, count_only: bool = False) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Item",
            "States": {"Item": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True}},
        },
        "End": True,
    }
    if max_concurrency is not None:
        state["MaxConcurrency"] = max_concurrency
    if count_only:
        # 100,000 results would exceed the 256 KiB state-output quota (States.DataLimitExceeded, as on
        # AWS); keep only their number, which also proves every iteration ran.
        state["ResultSelector"] = {"count.$": "States.ArrayLength($)"}
    return {"StartAt": "Fan", "States": {"Fan": state}}


def map_input(n: int, *, small: bool = False) -> dict[str, Any]:
    # small: one-digit items, so 100,000 of them stay under the 256 KiB execution-input quota
    return {"items": [i % 10 for i in range(n)] if small else list(range(n))}


@dataclass(frozen=True)
class Scenario:
    """One benchmark workload; ``runs``/``quick_runs`` exclude the warm-up run."""

    name: str
    what: str
    definition: dict[str, Any]
    input: Any
    expected_transitions: int
    runs: int = 5
    quick_runs: int = 3
    warmup: int = 1
    moto: str = "run"  # "run" | "hang-probe" (moto is known to hang; probed with a timeout)
    moto_input: Any = None  # smaller input for the hang probe
    extra: dict[str, Any] = field(default_factory=dict)


def scenarios(big_map_items: int = 100_000) -> list[Scenario]:
    return [
        Scenario("linear1000", "1,000-state Pass chain", linear_definition(), {"x": 1}, 1000),
        Scenario("choice_loop", "Choice loop x500 (And/Not/...Path, States.MathAdd)", choice_loop_definition(),
                 {"limit": 500}, 1003),
        Scenario("parallel10x10", "Parallel 10 branches x 10 Pass", parallel_definition(), {"x": 1}, 101),
        Scenario("map1000", "Map 1,000 items, 1 Pass (MaxConcurrency 0)", map_definition(), map_input(1000),
                 1001),
        Scenario("map1000_mc40", "Map 1,000 items, MaxConcurrency 40", map_definition(40), map_input(1000),
                 1001),
        Scenario(f"map_mc1_{big_map_items // 1000}k" if big_map_items >= 1000 else f"map_mc1_{big_map_items}",
                 f"Map {big_map_items:,} items, MaxConcurrency 1, ResultSelector count", map_definition(1, count_only=True),
                 map_input(big_map_items, small=True),
                 big_map_items + 1, runs=1, quick_runs=1, warmup=0, moto="hang-probe",
                 moto_input=map_input(1000, small=True)),
    ]


# -- our engine -------------------------------------------------------------------------------------

@dataclass
class Measured:
    walls_ms: list[float]
    transitions: int
    events: int
    status: str
    output: Any

    @property
    def median_ms(self) -> float:
        return statistics.median(self.walls_ms)

    def as_json(self) -> dict[str, Any]:
        return {"wall_ms": self.walls_ms, "median_ms": self.median_ms, "transitions": self.transitions,
                "events": self.events, "status": self.status,
                "transitions_per_s": self.transitions / (self.median_ms / 1000)}


def _timed_start(engine: Engine, definition: dict[str, Any], value: Any) -> tuple[float, Any]:
    async def go() -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = await engine.start(definition, value)
        return time.perf_counter() - t0, result

    return asyncio.run(go())


def run_ours(scenario: Scenario, store_kind: str, runs: int, warmup: int) -> Measured:
    walls: list[float] = []
    last: tuple[int, int, str, Any] = (0, 0, "", None)
    for index in range(warmup + runs):
        tmp = tempfile.mkdtemp(prefix="bench-sfn-")
        store: ExecutionStore = MemoryStore() if store_kind == "memory" else SqliteStore(Path(tmp) / "runs.db")
        try:
            engine = Engine(store=store)  # fresh engine: no compiled-definition cache between runs
            wall, result = _timed_start(engine, scenario.definition, scenario.input)
            events = store.events(result.arn)
            entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
            last = (entered, len(events), result.status, result.output)
        finally:
            store.close()
            shutil.rmtree(tmp, ignore_errors=True)
        if index >= warmup:
            walls.append(wall * 1000)
    return Measured(walls, *last)


def load_validate(definition: dict[str, Any], runs: int) -> dict[str, Any]:
    """json.loads + validate_definition + parse_state_machine, in process, on the definition text."""
    text = json.dumps(definition)
    loads: list[float] = []
    validates: list[float] = []
    parses: list[float] = []
    totals: list[float] = []
    problems = 0
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        raw = json.loads(text)
        t1 = time.perf_counter()
        diagnostics = validate_definition(raw)
        t2 = time.perf_counter()
        parse_state_machine(raw)
        t3 = time.perf_counter()
        problems = sum(1 for d in diagnostics if getattr(d, "severity", "ERROR") == "ERROR")
        loads.append((t1 - t0) * 1000)
        validates.append((t2 - t1) * 1000)
        parses.append((t3 - t2) * 1000)
        totals.append((t3 - t0) * 1000)
    # first iteration is the warm-up (imports, first-call caches)
    return {"bytes": len(text.encode()), "errors": problems,
            "json_loads_ms": statistics.median(loads[1:]), "validate_ms": statistics.median(validates[1:]),
            "parse_ms": statistics.median(parses[1:]), "median_ms": statistics.median(totals[1:]),
            "wall_ms": totals[1:]}


# -- cold start -------------------------------------------------------------------------------------

def _time_process(argv: list[str], cwd: Path, runs: int) -> dict[str, Any]:
    walls: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return {"argv": argv, "error": f"exit {proc.returncode}: " + " | ".join(tail)}
        walls.append(wall * 1000)
    return {"argv": argv, "wall_ms": walls, "median_ms": statistics.median(walls)}


def cold_start(runs: int, moto_python: Path | None) -> dict[str, Any]:
    bindir = Path(sys.executable).parent
    cli = bindir / "alpha-engine"
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sfn-cold-") as tmp:
        work = Path(tmp)
        definition = work / "one.asl.json"
        definition.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
        out["python -c pass"] = _time_process([sys.executable, "-c", "pass"], work, runs)
        if cli.exists():
            out["alpha-engine sfn run --quiet"] = _time_process(
                [str(cli), "sfn", "run", str(definition), "--quiet", "--workspace", str(work / "ws")], work, runs)
        else:
            out["alpha-engine sfn run --quiet"] = {"error": f"{cli} not found (pip install -e . first)"}
        if moto_python is not None:
            out['python -c "import boto3"'] = _time_process([str(moto_python), "-c", "import boto3"], work, runs)
            out["moto 1-state run (import + mock_aws + execute)"] = _time_process(
                [str(moto_python), str(BENCH_DIR / "_moto_side.py"), "--cold"], work, runs)
    return out


# -- moto -------------------------------------------------------------------------------------------

def ensure_moto_venv(log: Callable[[str], None]) -> Path | None:
    """The baseline venv (created once); None, with the reason logged, when it cannot be built."""
    python = MOTO_VENV / "bin" / "python"
    if MOTO_STAMP.exists() and python.exists():
        return python
    log(f"creating {MOTO_VENV} (moto baseline, first use only) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MOTO_VENV)], check=True, capture_output=True, text=True)
        # the repository ignores .venv/ but not this name: keep the venv out of git from inside
        (MOTO_VENV / ".gitignore").write_text("*\n")
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True,
                       capture_output=True, text=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", *MOTO_PACKAGES], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log(f"moto venv setup failed, running ours only: {detail.strip()[-800:]}")
        return None
    MOTO_STAMP.write_text("\n".join(MOTO_PACKAGES) + "\n")
    return python


def run_moto(python: Path, specs: list[dict[str, Any]], timeout: float, log: Callable[[str], None]
             ) -> dict[str, Any] | None:
    request = json.dumps({"scenarios": specs})
    try:
        proc = subprocess.run([str(python), str(BENCH_DIR / "_moto_side.py")], input=request,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"moto subprocess did not finish in {timeout:.0f} s: {[s['name'] for s in specs]}")
        return None
    if proc.returncode != 0:
        log(f"moto subprocess failed (exit {proc.returncode}): {proc.stderr.strip()[-1500:]}")
        return None
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# -- report -----------------------------------------------------------------------------------------

def _fmt_ms(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:,.1f} ms"


def _cell(median_ms: float, transitions: int) -> str:
    return f"{_fmt_ms(median_ms)} · {transitions / (median_ms / 1000):,.0f} t/s"


def _ratio(moto_ms: float | None, ours_ms: float) -> str:
    return f"{moto_ms / ours_ms:,.0f}×" if moto_ms else "—"


def render(report: dict[str, Any]) -> str:
    lines = [
        f"## alpha-engine SFN runtime vs moto — {report['machine']['when']}",
        "",
        f"Python {report['machine']['python']} on {report['machine']['platform']}, "
        f"{report['machine']['cpus']} CPUs; wall = median of n runs (after 1 untimed warm-up run when n > 1); "
        f"t/s = transitions / median wall. moto: {report.get('moto_versions') or 'not run'}.",
        "",
        "| scenario | transitions | ours, MemoryStore | ours, SqliteStore | moto | memory vs moto "
        "| sqlite vs moto |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["scenarios"].items():
        mem, sql, moto = row["ours_memory"], row["ours_sqlite"], row.get("moto")
        moto_ms: float | None = None
        if moto is None:
            moto_cell = "not run"
        elif moto.get("status") == "RUNNING":
            moto_cell = f"**hangs** ({moto['probe']}; still RUNNING after {moto['hung_after_s']:.0f} s)"
        elif moto.get("status") == "SUCCEEDED":
            moto_ms = statistics.median(moto["wall_ms"])
            moto_cell = _cell(moto_ms, moto["transitions"])
        else:
            moto_cell = f"{moto.get('status')} {moto.get('error') or ''}".strip()
        flag = "" if mem["status"] == "SUCCEEDED" and mem["transitions"] == row["expected_transitions"] else " ⚠"
        lines.append(
            f"| {name} — {row['what']} (n={len(mem['wall_ms'])}) | {mem['transitions']:,}{flag} | {_cell(mem['median_ms'], mem['transitions'])}"
            f" | {_cell(sql['median_ms'], sql['transitions'])} | {moto_cell} | {_ratio(moto_ms, mem['median_ms'])}"
            f" | {_ratio(moto_ms, sql['median_ms'])} |"
        )
    lv = report["load_validate"]
    moto_create = report.get("moto_create_linear1000_ms")
    lines.append(
        f"| load+validate linear1000 ({lv['bytes'] / 1024:.0f} KB: json.loads {lv['json_loads_ms']:.1f} + validate "
        f"{lv['validate_ms']:.1f} + parse {lv['parse_ms']:.1f} ms) | — | {_fmt_ms(lv['median_ms'])} | — | "
        f"{_fmt_ms(moto_create) + ' (create_state_machine)' if moto_create else '—'} | "
        f"{_ratio(moto_create, lv['median_ms'])} | — |"
    )
    lines += ["", "Cold start (whole process, median of "
              f"{report['cold_runs']}):", "", "| command | wall |", "|---|---:|"]
    for label, entry in report["cold_start"].items():
        cell = _fmt_ms(entry["median_ms"]) if "median_ms" in entry else f"failed: {entry.get('error')}"
        lines.append(f"| `{label}` | {cell} |")
    if report["notes"]:
        lines += ["", *[f"- {note}" for note in report["notes"]]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs (3, cold start 3, load+validate 10)")
    parser.add_argument("--no-moto", action="store_true", help="skip the moto baseline")
    parser.add_argument("--runs", type=int, default=None, help="override the runs per scenario")
    parser.add_argument("--only", default=None, help="comma-separated scenario names")
    parser.add_argument("--big-map-items", type=int, default=100_000, help="items of the MaxConcurrency 1 Map")
    parser.add_argument("--hang-timeout", type=float, default=20.0,
                        help="seconds before moto's MaxConcurrency 1 probe (1,000 items) counts as hung")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"result file (default {RESULTS})")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    chosen = scenarios(args.big_map_items)
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [s for s in chosen if s.name in wanted]
    runs_for: dict[str, int] = {}
    for s in chosen:
        runs_for[s.name] = s.quick_runs if args.quick else s.runs
        if args.runs is not None and s.runs > 1:  # the single-run 100k Map keeps its one run
            runs_for[s.name] = args.runs
    cold_runs = 3 if args.quick else 5
    notes: list[str] = []

    moto_python = None if args.no_moto else ensure_moto_venv(log)
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M:%S")},
        "runs": runs_for,
        "cold_runs": cold_runs,
        "scenarios": {},
        "notes": notes,
    }

    for s in chosen:
        log(f"ours {s.name} ...")
        row: dict[str, Any] = {"what": s.what, "expected_transitions": s.expected_transitions}
        for kind in ("memory", "sqlite"):
            measured = run_ours(s, kind, runs_for[s.name], s.warmup)
            row[f"ours_{kind}"] = measured.as_json()
            if measured.status != "SUCCEEDED" or measured.transitions != s.expected_transitions:
                notes.append(f"ours/{kind} {s.name}: {measured.status}, {measured.transitions} transitions "
                             f"(expected SUCCEEDED, {s.expected_transitions})")
            row[f"_output_{kind}"] = measured.output
        report["scenarios"][s.name] = row

    log("load+validate ...")
    report["load_validate"] = load_validate(linear_definition(), 10 if args.quick else 30)
    if report["load_validate"]["errors"]:
        notes.append(f"validate_definition reported {report['load_validate']['errors']} errors on linear1000")

    if moto_python is not None:
        runnable = [s for s in chosen if s.moto == "run"]
        specs = [{"name": s.name, "definition": s.definition, "input": s.input, "runs": runs_for[s.name],
                  "warmup": s.warmup, "timeout": 300.0} for s in runnable]
        if specs:
            log(f"moto {', '.join(s['name'] for s in specs)} (subprocess; slow) ...")
            moto_out = run_moto(moto_python, specs, 3600, log)
            if moto_out is not None:
                report["moto_versions"] = ", ".join(f"{k} {v}" for k, v in moto_out["versions"].items())
                for name, result in moto_out["results"].items():
                    row = report["scenarios"][name]
                    ours_output = row["_output_memory"]
                    if result.get("status") == "SUCCEEDED" and result.get("output") != ours_output:
                        notes.append(f"{name}: moto's output differs from ours")
                    result.pop("output", None)
                    row["moto"] = result
                linear = moto_out["results"].get("linear1000")
                if linear and linear.get("create_ms"):
                    report["moto_create_linear1000_ms"] = statistics.median(linear["create_ms"])
        for s in chosen:
            if s.moto != "hang-probe":
                continue
            items = len(s.moto_input["items"])
            log(f"moto {s.name}: hang probe with {items} items, {args.hang_timeout:.0f} s timeout ...")
            spec = {"name": s.name, "definition": s.definition, "input": s.moto_input, "runs": 1, "warmup": 0,
                    "timeout": args.hang_timeout}
            probe = run_moto(moto_python, [spec], args.hang_timeout + 120, log)
            if probe is not None:
                report.setdefault("moto_versions", ", ".join(f"{k} {v}" for k, v in probe["versions"].items()))
                result = probe["results"][s.name]
                result.pop("output", None)
                result["probe"] = f"{items:,} items"
                report["scenarios"][s.name]["moto"] = result
                if result.get("status") == "RUNNING":
                    errors = "; ".join(result.get("thread_errors") or []) or "none reported"
                    notes.append(f"moto {s.name}: MaxConcurrency 1 over {items:,} items is still RUNNING after "
                                 f"{args.hang_timeout:.0f} s (exceptions in its worker threads: {errors}); "
                                 f"not attempted at {s.expected_transitions - 1:,} items")
    else:
        notes.append("moto baseline not run (--no-moto or venv setup failed)")

    log("cold start ...")
    report["cold_start"] = cold_start(cold_runs, moto_python)

    for row in report["scenarios"].values():
        row.pop("_output_memory", None)
        row.pop("_output_sqlite", None)
    table = render(report)
    print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
