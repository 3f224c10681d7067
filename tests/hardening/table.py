"""The scenario table of docs/security.md, from a run of the hardening suite.

    python tests/hardening/table.py            # runs the suite, prints the Markdown table
    python tests/hardening/table.py run.xml    # renders an existing JUnit XML report

One row per test function (its parametrized cases counted together): the area is the
module, the scenario the test's name, what is expected its docstring's first sentence,
and what was observed the pass count of that run. Not a test module (pytest does not
collect it); it reads the tests' own text so the table cannot drift from them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
MODULES = {
    "hardening/test_sinks.py": (
        "injection through every sink",
        "text stays data: one line, no markup, link, mention, key or trailer of its own",
    ),
    "hardening/test_hostile_input.py": (
        "hostile YAML, paths, image references",
        "exit 2, one line naming the file, the remote untouched",
    ),
    "hardening/test_control_files.py": (
        "files that steer the run",
        "exit 2, one line with a short escaped excerpt; no link followed",
    ),
    "hardening/test_editing.py": (
        "templates, digests, bump",
        "a template or non-version refused untouched; one digest rule",
    ),
    "hardening/test_policies_bypass.py": (
        "holds, soak, freezes, loop guards",
        "blocked (exit 3) or guarded on every path; nothing lands",
    ),
    "hardening/test_process.py": (
        "options, URLs, signals, hooks, temp files",
        "exit 2 before git runs; no secret echoed; cleanup on signals; no hook runs",
    ),
    "hardening/test_secret_scan.py": ("secret scan", "0 hits of the token in any form"),
    "hardening/test_load.py": (
        "concurrent load, bounded retries",
        "all land, no lost update, retries bounded in attempts and time",
    ),
    "e2e/test_crash.py": ("kills at every stage", "a rerun converges, nothing half-landed"),
    "e2e/test_transport.py": ("cut connections, server faults", "retried or one clear line"),
    "e2e/test_secrets.py": ("secrets in argv, config, temp files", "0 hits"),
    "e2e/test_concurrency.py": ("racing promotions", "no lost update, no downgrade"),
}
"""Module → (area, what every scenario in it must show unless its docstring says more)."""


def docstrings(module: Path) -> dict[str, str]:
    """First sentence of each test function's docstring, by name."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = " ".join((ast.get_docstring(node) or "").split())
            found[node.name] = doc.split(". ")[0].rstrip(".") if doc else ""
    return found


def rows(report: Path) -> list[tuple[str, str, str, int, int]]:
    """(area, scenario, expected, passed, total) per test function."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "").split("[", 1)[0]
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if skipped:
            continue
        entry = counts[(module.removeprefix("tests/"), name)]
        entry[0] += 0 if failed else 1
        entry[1] += 1
    found = []
    for (module, name), (passed, total) in counts.items():
        if module not in MODULES:
            continue
        area, rule = MODULES[module]
        expected = docstrings(TESTS / module).get(name, "") or rule
        scenario = name.removeprefix("test_").replace("_", " ")
        found.append((area, scenario, expected, passed, total))
    order = [area for area, _ in MODULES.values()]
    return sorted(found, key=lambda r: (order.index(r[0]), r[1]))


def markdown(found: list[tuple[str, str, str, int, int]]) -> str:
    lines = ["| area | scenario | expected | observed |", "|---|---|---|---|"]
    for area, scenario, expected, passed, total in found:
        cell = expected.replace("|", "\\|")
        verdict = f"{passed}/{total} pass" if passed == total else f"**{passed}/{total} pass**"
        lines.append(f"| {area} | {scenario} | {cell} | {verdict} |")
    passed = sum(r[3] for r in found)
    total = sum(r[4] for r in found)
    lines += ["", f"{len(found)} scenarios, {passed} of {total} cases passing."]
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1:
        report = Path(sys.argv[1])
    else:
        report = Path(tempfile.mkdtemp(prefix="hardening-")) / "run.xml"
        paths = [str(TESTS / m) for m in MODULES]
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *paths],
            cwd=TESTS.parent,
            check=False,
        )
    sys.stdout.write(markdown(rows(report)))


if __name__ == "__main__":
    main()
