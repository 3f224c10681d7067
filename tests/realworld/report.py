"""Run every real-world case and print a markdown table of verdicts.

    python -m tests.realworld.report        (from the project root)

Cases run in a process pool of 2, each in its own temporary directory. Exits 0 whatever the
verdicts: this is a report, the pytest suite (tests/realworld/test_realworld.py) is the gate.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .oracle import Verdict, find_shared, judge, load_cases, skip_reason

WORKERS = 2


def run_case(case: dict[str, Any], shared: Path) -> Verdict:
    """Judge one case in a fresh temporary directory; an oracle error becomes a failed verdict."""
    reason = skip_reason(case, shared)
    if reason is not None:
        return Verdict(str(case["id"]), False, "skipped", reason)
    with tempfile.TemporaryDirectory(prefix="realworld-") as workdir:
        try:
            return judge(case, shared, Path(workdir))
        except Exception as error:
            return Verdict(
                str(case["id"]), False, "oracle error", f"{type(error).__name__}: {error}"
            )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(cases: list[dict[str, Any]], verdicts: list[Verdict]) -> str:
    """The markdown table and totals for verdicts in case order."""
    lines = [
        "| case | accept | outcome | result | reason |",
        "|---|---|---|---|---|",
    ]
    for case, verdict in zip(cases, verdicts, strict=True):
        lines.append(
            f"| {_cell(verdict.case_id)} | {_cell('/'.join(case['accept']))} | {verdict.outcome} "
            f"| {'pass' if verdict.passed else 'FAIL'} | {_cell(verdict.reason)} |"
        )
    correct = sum(v.passed for v in verdicts)
    skipped = sum(v.outcome == "skipped" for v in verdicts)
    lines += [
        "",
        f"- cases correct: {correct} / {len(verdicts)}"
        + (f" ({skipped} skipped)" if skipped else ""),
        f"- false successes: {sum(v.outcome == 'false-success' for v in verdicts)}",
        f"- wrong-environment edits: {sum(v.outcome == 'wrong-env' for v in verdicts)}",
    ]
    return "\n".join(lines)


def main() -> int:
    shared = find_shared()
    cases = load_cases(shared)
    if not cases:
        print(f"no cases under {shared / 'realworld'}", file=sys.stderr)
        return 1
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        verdicts = list(pool.map(run_case, cases, [shared] * len(cases)))
    print(table(cases, verdicts))
    print(f"- run time: {time.monotonic() - started:.1f} s ({WORKERS} workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
