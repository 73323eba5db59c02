"""Pass rate of the recorded-AWS conformance corpus, per group and query language.

    python bench/conformance_report.py [--all]   # --all also tries the service-integration cases

Pure-ASL cases run on the engine alone (virtual clock, in-memory store). Service cases need
AWS resources of the recording account and are reported only with --all (for information).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from alpha_engine.sfn.testing import run_conformance_case

# The corpus bundled with the tests (see tests/sfn/data/README.md).
CASES = Path(__file__).resolve().parents[1] / "tests" / "sfn" / "data" / "aws" / "cases.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--cases", type=Path, default=CASES)
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    if not args.all:
        cases = [c for c in cases if c["pure_asl"]]
    table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    failures: list[str] = []
    for case in cases:
        outcome = run_conformance_case(case)
        row = table[(case["query_language"], case["group"])]
        if outcome.skipped:
            row[2] += 1
        elif outcome.passed:
            row[0] += 1
        else:
            row[1] += 1
            failures.append(f"{case['id'].split('v2/')[-1]}: {outcome.problems[0][:160]}")
    print("| language | group | passed | failed | not replayable |")
    print("|---|---|---|---|---|")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (language, group), (p, f, s) in sorted(table.items()):
        print(f"| {language} | {group} | {p} | {f} | {s} |")
        for i, v in enumerate((p, f, s)):
            totals[language][i] += v
    for language, (p, f, s) in sorted(totals.items()):
        print(f"| **{language}** | **all** | **{p}** | **{f}** | **{s}** |")
    if failures:
        print("\nFailing cases:")
        for line in failures:
            print(f"- {line}")
    sys.exit(0)


if __name__ == "__main__":
    main()
