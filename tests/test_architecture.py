"""The import rules of STYLE.md §1, enforced on the source by AST, and start-up laziness."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"

LEAVES = {"errors", "redact", "imageref"}
ALLOWED: dict[str, set[str]] = {
    "cli": {"promotion", "config", "demo"} | LEAVES,
    "demo": {"promotion", "repo"} | LEAVES,
    "promotion": {
        "config", "editing", "environments", "repo", "forges", "guards", "ci", "discovery"
    } | LEAVES,
    "environments": {"environments", "config", "editing", "discovery"} | LEAVES,
    "config": {"discovery"} | LEAVES,
    "discovery": {"config"} | LEAVES,
    "editing": {"editing"} | LEAVES,
    "repo": LEAVES,
    "forges": {"forges"} | LEAVES,
    "guards": LEAVES,
    "ci": LEAVES,
    "errors": set(),
    "redact": set(),
    "imageref": {"errors"},
    "__main__": {"cli"},
}
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "editing": {"subprocess", "github", "gitlab", "click", "requests"},
    "forges": {"ruamel", "click", "jsonpatch"},
    "config": {"subprocess", "github", "gitlab", "click"},
    "repo": {"github", "gitlab", "ruamel", "click"},
    "guards": {"subprocess", "github", "gitlab", "ruamel", "click"},
    "promotion": {"click", "github", "gitlab"},
    "environments": {"subprocess", "github", "gitlab", "click", "requests"},
}


def _box(module: Path) -> str:
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imports(module: Path) -> list[tuple[str, int]]:
    tree = ast.parse(module.read_text(), str(module))
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "promoter":
                names.extend((f"promoter.{alias.name}", node.lineno) for alias in node.names)
            else:
                names.append((node.module, node.lineno))
    return names


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_architecture_imports_follow_the_arrows(module: Path) -> None:
    box = _box(module)
    assert box in ALLOWED, f"{module}: module {box!r} is not in STYLE.md's table"
    for name, line in _imports(module):
        parts = name.split(".")
        if parts[0] == "promoter":
            if len(parts) == 1 or parts[1] == "__version__":
                continue
            target = parts[1]
            assert target == box or target in ALLOWED[box], (
                f"{module.name}:{line}: {box} must not import promoter.{target}"
            )
        else:
            assert parts[0] not in FORBIDDEN_THIRD_PARTY.get(box, set()), (
                f"{module.name}:{line}: {box} must not import {parts[0]}"
            )


def test_architecture_only_cli_prints() -> None:
    for module in MODULES:
        if _box(module) in ("cli", "__main__"):
            continue
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{module}:{node.lineno}: only cli prints"


_PROBE = """
import runpy, sys
sys.argv = ["promote"] + sys.argv[1:]
code = 0
try:
    runpy.run_module("promoter", run_name="__main__")
except SystemExit as exit:
    code = exit.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"github", "gitlab", "requests"})
sys.stderr.write("LOADED=" + ",".join(loaded) + "\\n")
sys.exit(code)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["bump", "--help"], ["bump", "{file}", "--image", "ghcr.io/acme/web:2.0.0"]],
    ids=["help", "bump-help", "bump"],
)
def test_architecture_cli_does_not_import_forge_clients(args: list[str], tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_text("images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n")
    argv = [a.replace("{file}", str(target)) for a in args]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "LOADED=\n" in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    if args[0] == "bump" and len(args) > 2:
        assert "newTag: 2.0.0" in target.read_text()
