"""The shape of the code at two revisions, side by side: module sizes (count, median,
max, the ten largest) and the longest functions, read from git so that both revisions are
measured in one run. Issue 20's "before and after".

    python benchmarks/structure.py [BEFORE [AFTER]]   (default: f7914b6^ and HEAD)
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def modules(rev: str) -> dict[str, str]:
    """Every promoter/*.py at `rev`, by path: its text."""
    paths = _git("ls-tree", "-r", "--name-only", rev, "promoter").split()
    return {p: _git("show", f"{rev}:{p}") for p in paths if p.endswith(".py")}


def functions(path: str, text: str) -> list[tuple[int, str]]:
    """(lines, qualified name) of every function and method of one module."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                end = child.end_lineno or child.lineno
                found.append((end - child.lineno + 1, f"{path}:{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(text), "")
    return found


def report(rev: str) -> list[str]:
    texts = modules(rev)
    sizes = sorted(((t.count("\n"), p) for p, t in texts.items()), reverse=True)
    counts = [n for n, _ in sizes]
    funcs = sorted((f for p, t in texts.items() for f in functions(p, t)), reverse=True)
    lengths = [n for n, _ in funcs]
    lines = [
        f"### {rev} ({_git('rev-parse', '--short', rev).strip()})",
        "",
        f"- modules: {len(counts)}, lines: {sum(counts)}, median {statistics.median(counts):g}, "
        f"max {counts[0]}; above 400 lines: {sum(1 for n in counts if n > 400)}",
        f"- functions: {len(lengths)}, median {statistics.median(lengths):g} lines, "
        f"above 50 lines: {sum(1 for n in lengths if n > 50)}",
        "- ten largest modules: "
        + ", ".join(f"{p.removeprefix('promoter/')} {n}" for n, p in sizes[:10]),
        "- ten longest functions: "
        + ", ".join(f"{name.removeprefix('promoter/')} {n}" for n, name in funcs[:10]),
        "",
    ]
    return lines


def main() -> None:
    before = sys.argv[1] if len(sys.argv) > 1 else "f7914b6^"
    after = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    print("\n".join(["## Structure (issue 20)", "", *report(before), *report(after)]))


if __name__ == "__main__":
    main()
