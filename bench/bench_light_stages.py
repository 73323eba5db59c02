"""Benchmark: light stages stay light, the baseline commit and the current tree in the same run.

Both versions run from the same virtualenv; only ``PYTHONPATH`` differs (``<worktree>/src`` of the
baseline commit, checked out as a git worktree under the temp directory, vs this tree's ``src``),
and every process a run spawns inherits it. Measured, interleaved (the order alternates each round):

* ``python -m alpha_engine --help``: the reference of goal 1;
* ``stage run <slug> --preflight-only`` of the lambda-class stages, on a workspace holding a real run;
* the same stages through the local Lambda invocation path (Lambda child -> logcapture -> stage run);
* ``python -m alpha_engine run --json`` on the bundled sample from a fresh workspace.

Goals (issue "light stages stay light"): a lambda-class stage's process <= 2x ``--help``; the full
Saturday run <= 60% of the baseline's wall time, with the same stages. Each goal is judged on the
ratio of medians and on the ratio of minimums: BORDERLINE when they disagree.

    .venv/bin/python bench/bench_light_stages.py [--repeats 5] [--full-repeats 3]
                                                 [--baseline-commit 1e43bf2] [--run-date 2022-12-31] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Named, not read from alpha_engine.app.SATURDAY_GRAPH: the baseline has no such module, and one script
# times both versions (the test tests/e2e/test_light_stages.py derives its list from the graph).
LAMBDA_STAGES = ("saturday-health-check", "scanner")
SATURDAY_STAGES = ["MorningEnrich", "DataPhase1", "Scanner", "PredictorTraining", "DriftDetection",
                   "SaturdayHealthCheck"]
HEAVY = ("pandas", "arcticdb", "lightgbm", "sklearn", "exchange_calendars", "scipy", "matplotlib", "numpy",
         "pyarrow")
# Runs the CLI as `python -m alpha_engine` would, then writes which heavy packages were imported.
IMPORTS_WRAPPER = f"""
import atexit, json, runpy, sys
out = sys.argv.pop(1)
def report():
    import alpha_engine
    heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))
    with open(out, 'w') as f:
        json.dump({{'file': alpha_engine.__file__, 'heavy': heavy, 'modules': len(sys.modules)}}, f)
atexit.register(report)
sys.argv[0] = 'alpha_engine'
runpy.run_module('alpha_engine', run_name='__main__', alter_sys=True)
"""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def baseline_worktree(commit: str) -> Path:
    """A detached worktree of ``commit`` under the temp directory, created once and reused."""
    sha = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    path = Path(tempfile.gettempdir()) / "alpha-engine-bench" / f"baseline-{sha[:12]}"
    if not path.exists():
        progress(f"creating worktree {path} at {sha[:12]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(path), sha)
    elif git("rev-parse", "HEAD", cwd=path) != sha:
        sys.exit(f"{path} exists but is not a checkout of {sha}: remove it (git worktree remove {path})")
    return path


def environment(src: Path, workspace: Path | None = None) -> dict[str, str]:
    """The child environment: the caller's, minus alpha-engine settings, with ``src`` first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHA_ENGINE_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(src), OMP_WAIT_POLICY="PASSIVE")
    if workspace is not None:
        env["ALPHA_ENGINE_HOME"] = str(workspace)
    return env


def run(command: list[str], env: dict[str, str], *, stdin: str | None = None,
        timeout: float = 900) -> tuple[float, subprocess.CompletedProcess[str]]:
    with tempfile.TemporaryDirectory() as cwd:  # `-m` puts the cwd first on sys.path: keep it neutral
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, input=stdin, capture_output=True, text=True,
                              timeout=timeout)
        return time.perf_counter() - start, done


def checked(what: str, done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        sys.exit(f"{what}: exit code {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def sources_sha256(src: Path) -> str:
    """What ``predictor._training.code_version`` records (same code at both commits): it tells which
    tree the PredictorTraining Batch child, spawned by the runtime, actually ran."""
    package, digest = src / "alpha_engine", hashlib.sha256()
    for path in sorted([*package.glob("predictor/*.py"), *package.glob("data/features/*.py")]):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def full_run(label: str, src: Path, run_date: str, workspace: Path) -> tuple[float, dict[str, float]]:
    """One ``alpha-engine run --json`` on a fresh workspace; fails loudly unless it ran the six stages."""
    seconds, done = run([PYTHON, "-m", "alpha_engine", "run", "--json", "--run-date", run_date],
                        environment(src, workspace))
    checked(f"{label}: alpha-engine run", done)
    report = json.loads(done.stdout)
    stages = {s["name"]: s for s in report["stages"]}
    if (report["execution"]["status"] != "SUCCEEDED" or list(stages) != SATURDAY_STAGES
            or any(s["status"] != "SUCCEEDED" for s in stages.values())):
        sys.exit(f"{label}: the run did not succeed with the six stages: "
                 f"{report['execution']['status']}, {[(n, s['status']) for n, s in stages.items()]}")
    manifest = next((workspace / "artifacts").glob("predictor/registry/*/manifest.json"))
    recorded = json.loads(manifest.read_text())["code_version"]["sources_sha256"]
    if recorded != sources_sha256(src):
        sys.exit(f"{label}: PredictorTraining ran other sources than {src} (or they changed meanwhile)")
    return seconds, {name: float(s["seconds"]) for name, s in stages.items()}


def lambda_invoke(slug: str, run_date: str, src: Path) -> tuple[list[str], str]:
    """The local Lambda binding's command for a lambda-compute stage, and its event (preflight-only)."""
    name = f"alpha-engine-{slug}"
    child = src / "alpha_engine" / "sfn" / "services" / "_lambda_child.py"
    command = [PYTHON, str(child), "alpha_engine.pipeline._lambda_handler:handler", name,
               f"arn:aws:lambda:us-east-1:111111111111:function:{name}", "bench-request", "600000"]
    return command, json.dumps({"stage": slug, "run_date": run_date, "preflight_only": True})


def handler_ok(stdout: str) -> bool:
    """Whether the Lambda child's envelope holds a result with status OK (not an error)."""
    return bool(json.loads(json.loads(stdout).get("result", "{}")).get("status") == "OK")


def short_processes(src: Path, day: str) -> dict[str, tuple[list[str], str | None]]:
    """The short processes timed for each version: name -> (command, stdin)."""
    cli = [PYTHON, "-m", "alpha_engine"]
    processes: dict[str, tuple[list[str], str | None]] = {"--help": ([*cli, "--help"], None)}
    for slug in LAMBDA_STAGES:
        stage = [*cli, "stage", "run", slug, "--run-date", day, "--preflight-only"]
        processes[f"stage {slug}"] = (stage, None)
        processes[f"lambda invoke {slug}"] = lambda_invoke(slug, day, src)
    return processes


def imports_of(src: Path, workspace: Path, args: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "imports.json"
        _, done = run([PYTHON, "-c", IMPORTS_WRAPPER, str(out), *args], environment(src, workspace))
        checked(f"imports of {args}", done)
        return dict(json.loads(out.read_text()))


def summary(samples: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples), "min": min(samples), "runs": samples}


def measure(srcs: dict[str, Path], day: str, repeats: int, full_repeats: int,
            scratch: Path) -> dict[str, Any]:
    """Every measurement, versions interleaved (the order alternates each round)."""
    times: dict[str, dict[str, list[float]]] = {label: {} for label in srcs}
    stage_seconds: dict[str, list[dict[str, float]]] = {label: [] for label in srcs}
    seeded: dict[str, Path] = {}
    for round_ in range(full_repeats):
        for label in list(srcs)[:: 1 if round_ % 2 == 0 else -1]:
            workspace = scratch / f"{label}-{round_}"
            seconds, in_run = full_run(label, srcs[label], day, workspace)
            times[label].setdefault("full run", []).append(seconds)
            stage_seconds[label].append(in_run)
            seeded[label] = workspace  # the stages below check the last real run of their own version
            progress(f"full run {round_ + 1}/{full_repeats} {label}: {seconds:.1f} s")

    for round_ in range(repeats + 1):  # round 0 is an untimed warm-up
        for label in list(srcs)[:: 1 if round_ % 2 == 0 else -1]:
            for name, (command, stdin) in short_processes(srcs[label], day).items():
                seconds, done = run(command, environment(srcs[label], seeded[label]), stdin=stdin)
                checked(f"{label}: {name}", done)
                if stdin is not None and not handler_ok(done.stdout):
                    sys.exit(f"{label}: {name}: the handler did not return status OK: {done.stdout}")
                if round_:
                    times[label].setdefault(name, []).append(seconds)
        progress(f"short processes, round {round_}/{repeats} done")

    imports = {label: {slug: imports_of(srcs[label], seeded[label],
                                        ["stage", "run", slug, "--run-date", day, "--preflight-only"])
                       for slug in LAMBDA_STAGES} for label in srcs}
    per_stage = {label: {name: statistics.median(r[name] for r in runs) for name in SATURDAY_STAGES}
                 for label, runs in stage_seconds.items()}
    summaries = {label: {name: summary(s) for name, s in by_name.items()} for label, by_name in times.items()}
    return {"times": summaries, "stage_seconds_median": per_stage, "imports": imports}


def goals(times: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals, each judged on the ratio of medians and on the ratio of minimums: PASS or FAIL
    when both agree, BORDERLINE when the machine's noise decides."""
    current, baseline = times["current"], times["baseline"]
    checks = [(f"current stage {slug} / current --help", current[f"stage {slug}"], current["--help"], 2.0)
              for slug in LAMBDA_STAGES]
    checks.append(("current full run / baseline full run", current["full run"], baseline["full run"], 0.60))
    out = []
    for name, num, den, limit in checks:
        median, minimum = num["median"] / den["median"], num["min"] / den["min"]
        met = (median <= limit) + (minimum <= limit)
        out.append({"goal": name, "limit": limit, "ratio_of_medians": median, "ratio_of_mins": minimum,
                    "verdict": ("FAIL", "BORDERLINE", "PASS")[met]})
    return out


def print_report(results: dict[str, Any], srcs: dict[str, Path]) -> None:
    times, per_stage = results["times"], results["stage_seconds_median"]
    print(f"\nbaseline {results['baseline_commit'][:12]} ({srcs['baseline']}) vs the current tree "
          f"({srcs['current']}); seconds; load average {results['load_before']:.1f} before, "
          f"{results['load_after']:.1f} after\n")
    print("Every full run SUCCEEDED with the six stages, and its PredictorTraining Batch child recorded the "
          "sources sha256 of its own version's tree.\n")
    print("| process | baseline median | baseline min | current median | current min | current / baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in times["current"]:
        b, c = times["baseline"][name], times["current"][name]
        print(f"| {name} ({len(c['runs'])} runs) | {b['median']:.2f} | {b['min']:.2f} | {c['median']:.2f} | "
              f"{c['min']:.2f} | {c['median'] / b['median']:.2f} |")
    print("\n| stage: its seconds in the full run (median) | baseline | current |\n|---|---:|---:|")
    for name in SATURDAY_STAGES:
        print(f"| {name} | {per_stage['baseline'][name]:.1f} | {per_stage['current'][name]:.1f} |")
    print("\nratios of medians, for context:")
    for label in srcs:
        help_ = times[label]["--help"]["median"]
        for name in [n for n in times[label] if n.startswith(("stage", "lambda"))]:
            print(f"  {label:8} {name} / --help: {times[label][name]['median'] / help_:.2f}")
    print("\ngoals:")
    for goal in results["goals"]:
        print(f"  {goal['goal']} <= {goal['limit']:.2f}: {goal['ratio_of_medians']:.2f} (medians), "
              f"{goal['ratio_of_mins']:.2f} (mins): {goal['verdict']}")
    print("\nheavy packages imported by each lambda-stage process (preflight-only, after a real run):")
    for label in srcs:
        for slug, found in results["imports"][label].items():
            print(f"  {label:8} {slug:22} {', '.join(found['heavy']) or '(none)'}"
                  f"  [{found['modules']} modules in sys.modules; {found['file']}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each short process per version")
    parser.add_argument("--full-repeats", type=int, default=3, help="full Saturday runs per version (>= 1)")
    parser.add_argument("--baseline-commit", default="1e43bf2")
    parser.add_argument("--run-date", default="2022-12-31")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = parser.parse_args()

    srcs = {"baseline": baseline_worktree(args.baseline_commit) / "src", "current": ROOT / "src"}
    for label, src in srcs.items():
        done = checked(label, run([PYTHON, "-c", "import alpha_engine; print(alpha_engine.__file__)"],
                                  environment(src))[1])
        if Path(done.stdout.strip()) != src / "alpha_engine" / "__init__.py":
            sys.exit(f"{label}: imports {done.stdout.strip()}, not the code under {src}")
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(src)], check=True)  # no first-run compile
    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    with tempfile.TemporaryDirectory(prefix="alpha-engine-bench-light-") as scratch:
        results = measure(srcs, args.run_date, args.repeats, max(1, args.full_repeats), Path(scratch))
    results.update(load_before=load_before, load_after=os.getloadavg()[0], run_date=args.run_date,
                   baseline_commit=git("rev-parse", args.baseline_commit),
                   sources={label: str(src) for label, src in srcs.items()}, goals=goals(results["times"]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results, srcs)


if __name__ == "__main__":
    main()
