"""The rules of STYLE.md §1, enforced on the source by AST, and start-up laziness.

`violations(package)` checks a source tree against every rule: imports follow the arrows
of the table, `subprocess` only in the git wrapper, output only in `cli`, the CI
environment read only by `cli` (and the git wrapper, for its child processes' env),
`promotion` sees forges and stores through their protocols (no adapter, no adapter
module), `queries` never writes (no store or forge write, no committing or publishing
step), and no import cycles. It runs on promoter itself, and on scratch copies with one
rule broken each, which it must report: a checker that cannot fail checks nothing.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"

ROOT_CONSTANTS = {"__version__", "BOT_NAME", "BOT_EMAIL", "DEFAULT_AUTHOR", "HOME", "REQUIREMENT"}
"""What the package root holds (`promoter/__init__.py`, which imports nothing): importable
anywhere."""
LEAVES = {
    "errors", "redact", "imageref", "versions", "yamlfile", "tree", "discovery", "sinks",
    "filetree", "pathglobs", "version_range",
}  # fmt: skip
ALLOWED: dict[str, set[str]] = {
    "cli": {"promotion", "queries", "config", "demo"} | LEAVES,
    "demo": {"promotion", "repo"} | LEAVES,
    "promotion": {"config", "editing", "environments", "repo", "forges", "guards", "ci", "policies"}
    | LEAVES,
    "policies": {"config"} | LEAVES - {"tree", "discovery"},
    "environments": {"config", "editing"} | LEAVES,
    "config": LEAVES - {"tree"},
    "editing": LEAVES - {"tree", "discovery"},
    "repo": LEAVES - {"discovery"} | {"gitformat"},
    "forges": LEAVES - {"discovery"} | {"gitformat"},
    "guards": LEAVES - {"tree", "discovery"},
    "ci": {"errors", "redact", "sinks"},
    "errors": set(),
    "redact": set(),
    "sinks": {"redact"},
    "imageref": {"errors", "sinks"},
    "tree": {"errors"},
    "gitformat": {"tree"},
    "discovery": {"errors", "imageref", "yamlfile", "filetree"},
    "filetree": set(),
    "pathglobs": {"errors"},
    "versions": set(),
    "version_range": set(),
    "yamlfile": set(),
    "history": {"tree"},
    "registry": {"errors", "redact", "imageref", "sinks"},
    "__main__": {"cli"},
}
ALLOWED["promotion"] |= {"history"}
"""When files changed along a history (ages, soak): read through the store protocol."""
ALLOWED["promotion"] |= {"registry"}
"""Whether an image is in its registry (`--verify-image`): HTTP the write path alone asks
for, so not a leaf every layer may import (no YAML, git or forge in it)."""
ALLOWED["queries"] = ALLOWED["promotion"] | {"promotion"}
"""The read-only use cases see what the write path sees, and read through its workspace
and checkout (`promotion` never imports them back)."""
ALLOWED["cli"] |= {"forges"}
REGISTRY = {"KINDS", "ForgeKind", "kind", "names", "infer", "register"}
"""What `cli` may import from `forges`: the registry of forge kinds (no client library,
no adapter, no `Forge`), so that `--forge`'s choices come from one place."""
FORGE_NAMES = {"github", "gitlab"}
"""Compared with a literal of these only inside `forges/`: elsewhere a forge's traits come
from its registered `ForgeKind`, so a new forge is one `register` call."""
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "editing": {"subprocess", "github", "gitlab", "click", "requests"},
    "forges": {"ruamel", "click", "jsonpatch", "subprocess"},
    "config": {"subprocess", "github", "gitlab", "click"},
    "repo": {"github", "gitlab", "ruamel", "click", "requests"},
    "guards": {"subprocess", "github", "gitlab", "ruamel", "click"},
    "policies": {"subprocess", "github", "gitlab", "ruamel", "click", "requests"},
    "promotion": {"click", "github", "gitlab", "requests", "subprocess"},
    "queries": {"click", "github", "gitlab", "requests", "subprocess"},
    "environments": {"subprocess", "github", "gitlab", "click", "requests"},
    "tree": {"subprocess", "github", "gitlab", "ruamel", "click", "requests"},
    "gitformat": {"subprocess", "github", "gitlab", "ruamel", "click", "requests"},
    "registry": {"subprocess", "github", "gitlab", "ruamel", "click", "requests", "tenacity"},
}
WRITES = {
    "push", "write_commit", "delete_branch", "make_tree", "open_or_update", "enable_auto_merge",
}  # fmt: skip
"""What changes a repository or a forge (`tree.Store`'s and `Forge`'s writes): `queries`
calls none of them."""
STEP_WRITES = {"build_tree", "commit", "publish_push", "publish_request", "open_request", "retire"}
"""`promotion.steps`' committing and publishing steps: `queries` neither imports nor uses them."""
SUBPROCESS_MODULES = {"repo/git.py"}
"""The one module that starts processes (STYLE §5)."""
ENVIRON_MODULES = {"cli/", "repo/git.py"}
"""`cli`'s modules read the CI environment once; the git wrapper passes it on to git (a
name ending in `/` is a package: every module under it)."""
PROTOCOL_PACKAGES = {"forges", "repo"}
"""`promotion` imports these packages' public faces only, never an adapter module."""
ADAPTERS = {
    "Clone", "ObjectReader", "GitHubForge", "GitHubStore", "LocalForge", "GitLabForge",
    "GitLabStore",
}  # fmt: skip


def _box(module: Path, package: Path) -> str:
    return module.relative_to(package).with_suffix("").parts[0]


def _name(module: Path, package: Path) -> str:
    parts = module.relative_to(package).with_suffix("").parts
    kept = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("promoter", *kept))


def _imports(tree: ast.AST) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """(module, imported names, line) of every absolute import, lazy ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(alias.name for alias in node.names)
            if node.module == "promoter":
                for name in names:
                    yield f"promoter.{name}", (), node.lineno
            else:
                yield node.module, names, node.lineno


def _top_level_imports(tree: ast.Module) -> Iterator[str]:
    """Imports run when the module loads (not inside functions or `if TYPE_CHECKING`)."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "promoter":
                yield from (f"promoter.{a.name}" for a in node.names)
            else:
                yield node.module
                yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _modules(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if p != package / "__init__.py")


@functools.cache
def _parsed(text: str, name: str) -> ast.Module:
    """One parse per module text: the planted-violation cases change one module each, and
    re-parsing the other hundred every time was most of this file's run time."""
    return ast.parse(text, name)


def violations(package: Path, planted: dict[str, str] | None = None) -> list[str]:
    """Every rule broken in the source tree at `package`, one line each; `planted` gives
    some modules other texts (by path relative to `package`), as if they were written."""
    found: list[str] = []
    graph: dict[str, set[str]] = {}
    for module in _modules(package):
        relative = module.relative_to(package).as_posix()
        box = _box(module, package)
        text = (planted or {}).get(relative)
        broken, edges = _module_violations(
            module.read_text() if text is None else text, relative, box
        )
        found += broken
        if edges is not None:
            graph[_name(module, package)] = set(edges)
    found += _cycles(graph)
    return found


@functools.cache
def _module_violations(
    text: str, relative: str, box: str
) -> tuple[tuple[str, ...], frozenset[str] | None]:
    """(the rules one module breaks, its imports of promoter's modules for the cycle check),
    once per module text: the planted-violation cases change one module each, and checking
    the other hundred again every time was most of this file's run time."""
    found: list[str] = []
    tree = _parsed(text, relative)
    if box not in ALLOWED:
        return (f"{relative}: module {box!r} is not in STYLE.md's table",), None
    for name, names, line in _imports(tree):
        parts = name.split(".")
        where = f"{relative}:{line}"
        if parts[0] != "promoter":
            if parts[0] in FORBIDDEN_THIRD_PARTY.get(box, set()):
                found.append(f"{where}: {box} must not import {parts[0]}")
            if parts[0] == "subprocess" and relative not in SUBPROCESS_MODULES:
                found.append(f"{where}: only the git wrapper starts processes")
            continue
        if len(parts) == 1 or parts[1] in ROOT_CONSTANTS:
            continue
        target = parts[1]
        if target != box and target not in ALLOWED[box]:
            found.append(f"{where}: {box} must not import promoter.{target}")
        if box == "cli" and target == "forges" and (len(parts) > 2 or set(names) - REGISTRY):
            found.append(f"{where}: cli may import only the forge registry from forges")
        if box in ("promotion", "queries") and target in PROTOCOL_PACKAGES:
            if len(parts) > 2:
                found.append(f"{where}: promotion must not import the adapter {name}")
            for adapter in sorted(set(names) & ADAPTERS):
                found.append(f"{where}: promotion must not import the adapter {adapter}")
    found += _output(tree, relative, box)
    if box != "forges":
        found += _forge_names(tree, relative)
    if box == "queries":
        found += _writes(tree, relative)
    if not _reads_environ_allowed(relative):
        for node in ast.walk(tree):
            if _reads_environment(node):
                found.append(f"{relative}:{node.lineno}: only cli reads the environment")
    edges = frozenset(n for n in _top_level_imports(tree) if n.startswith("promoter."))
    return tuple(found), edges


def _reads_environ_allowed(relative: str) -> bool:
    return any(
        relative.startswith(m) if m.endswith("/") else relative == m for m in ENVIRON_MODULES
    )


def _reads_environment(node: ast.AST) -> bool:
    """`os.environ`, `os.getenv`, `os.environb`, or any of them imported from `os`."""
    names = {"environ", "environb", "getenv", "getenvb"}
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == "os" and node.attr in names
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(alias.name in names for alias in node.names)
    return False


def _output(tree: ast.AST, relative: str, box: str) -> list[str]:
    if box in ("cli", "__main__"):
        return _unencoded_output(tree, relative)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("print", "input"):
                found.append(f"{relative}:{node.lineno}: only cli prints")
        elif isinstance(node, ast.Attribute):
            if node.attr in ("stdout", "stderr") and isinstance(node.value, ast.Name):
                if node.value.id == "sys":
                    found.append(f"{relative}:{node.lineno}: only cli writes to sys.{node.attr}")
            elif node.attr in ("echo", "secho") and isinstance(node.value, ast.Name):
                found.append(f"{relative}:{node.lineno}: only cli prints")
    return found


def _unencoded_output(tree: ast.AST, relative: str) -> list[str]:
    """In cli, what is printed is a `sinks` encoder's result (issue 19): `click.echo(x)`
    takes `sinks.f(...)`, a constant, or nothing; so a new output cannot skip its sink."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("echo", "secho", "write"):
            continue
        if not node.args or isinstance(node.args[0], ast.Constant):
            continue
        first = node.args[0]
        encoded = (
            isinstance(first, ast.Call)
            and isinstance(first.func, ast.Attribute)
            and isinstance(first.func.value, ast.Name)
            and first.func.value.id == "sinks"
        )
        if not encoded:
            found.append(f"{relative}:{node.lineno}: cli output must go through a sink")
    return found


def _writes(tree: ast.AST, relative: str) -> list[str]:
    """A query reads: it calls no store or forge write, and no committing step (imported by
    name, or used through whatever name `promotion.steps` is bound to)."""
    steps = {"promoter.promotion.steps"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "promoter.promotion":
            steps |= {a.asname or a.name for a in node.names if a.name == "steps"}
        elif isinstance(node, ast.Import):
            steps |= {a.asname for a in node.names if a.name in steps and a.asname}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in WRITES:
                found.append(f"{relative}:{node.lineno}: queries must not write ({name})")
        if isinstance(node, ast.ImportFrom) and node.module == "promoter.promotion.steps":
            for alias in node.names:
                if alias.name in STEP_WRITES | {"*"}:
                    found.append(f"{relative}:{node.lineno}: queries must not write ({alias.name})")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in STEP_WRITES
            and ast.unparse(node.value) in steps
        ):
            found.append(f"{relative}:{node.lineno}: queries must not write ({node.attr})")
    return found


def _forge_names(tree: ast.AST, relative: str) -> list[str]:
    """Forges only through the registry: no `x == "gitlab"`, `"github" in host`, ... outside
    `forges/` (a comparison with a forge's name as a literal)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if isinstance(operand, ast.Constant) and operand.value in FORGE_NAMES:
                    found.append(
                        f"{relative}:{node.lineno}: forges only through the registry "
                        f"(compares with {operand.value!r})"
                    )
    return found


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Import cycles among promoter's modules, as they load (a depth-first search)."""
    edges = {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}
    found: list[str] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                if not _package_of(target, module):
                    cycle = [*stack[stack.index(target) :], target]
                    found.append("import cycle: " + " -> ".join(cycle))
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    return found


def _package_of(package: str, module: str) -> bool:
    """A package's `__init__` importing its own submodule is how packages load, not a cycle."""
    return module.startswith(package + ".")


def test_architecture_promoter_follows_every_rule() -> None:
    assert violations(PACKAGE) == []


BROKEN = [
    ("editing/source.py", "from promoter import repo\n", "editing must not import promoter.repo"),
    ("forges/local.py", "import ruamel.yaml\n", "forges must not import ruamel"),
    ("editing/splice.py", "import subprocess\n", "editing must not import subprocess"),
    ("forges/github.py", "import subprocess\n", "only the git wrapper starts processes"),
    ("repo/clone.py", "import subprocess\n", "only the git wrapper starts processes"),
    ("promotion/steps.py", "from promoter.repo import Clone\n", "adapter Clone"),
    (
        "promotion/steps.py",
        "from promoter.forges.github import api_url_for\n",
        "adapter promoter.forges.github",
    ),
    ("guards.py", "def f() -> None:\n    print('x')\n", "only cli prints"),
    ("ci.py", "import sys\nsys.stdout.write('x')\n", "only cli writes to sys.stdout"),
    ("forges/github.py", "import os\nX = os.environ\n", "only cli reads the environment"),
    ("tree.py", "import os\nX = os.getenv('A')\n", "only cli reads the environment"),
    ("imageref.py", "from promoter import guards\n", "imageref must not import promoter.guards"),
    ("tree.py", "from promoter.repo import git\n", "tree must not import promoter.repo"),
    ("guards.py", "from promoter.imageref import ImageRef\n", ""),
    ("errors.py", "from promoter.redact import redact\n", "errors must not import promoter.redact"),
    ("errors.py", "from promoter.imageref import ImageRef\n", "import cycle"),
    ("cli/render.py", "def f(x: str) -> None:\n    click.echo(x)\n", "must go through a sink"),
    ("cli/why.py", "def f(x: str) -> None:\n    click.echo(x)\n", "must go through a sink"),
    ("cli/render.py", "from promoter.cli.promote import run\n", "import cycle"),
    ("cli/render.py", "def f(x: str) -> None:\n    click.echo(sinks.log_line(x))\n", ""),
    ("cli/status.py", "import os\nX = os.environ\n", ""),
    ("cli/__init__.py", "import os\nX = os.getenv('A')\n", ""),
    ("promotion/steps.py", 'def f(k: str) -> bool:\n    return k == "gitlab"\n', "registry"),
    ("ci.py", 'def f(host: str) -> bool:\n    return "github" in host\n', "registry"),
    ("cli/render.py", 'def f(k: str) -> bool:\n    return k != "github"\n', "registry"),
    ("forges/local.py", 'def f(k: str) -> bool:\n    return k == "gitlab"\n', ""),
    ("cli/options.py", "from promoter.forges import Credentials\n", "only the forge registry"),
    ("cli/plan.py", "from promoter.forges.github import api_url_for\n", "only the forge registry"),
    ("cli/plan.py", "from promoter.forges import KINDS, kind\n", ""),
    ("queries/status.py", "from promoter.cli import render\n", "must not import promoter.cli"),
    ("queries/plan.py", "import click\n", "queries must not import click"),
    ("promotion/flow.py", "from promoter.queries import why\n", "must not import promoter.queries"),
    ("cli/render.py", "from promoter.queries import why\n", ""),
    *(
        ("queries/status.py", f"def f(s: object) -> None:\n    s.{write}()\n", f"write ({write})")
        for write in sorted(WRITES)
    ),
    ("queries/plan.py", "from promoter.promotion.steps import retire\n", "write (retire)"),
    ("queries/why.py", "def f(ws: object) -> None:\n    steps.commit(ws)\n", "write (commit)"),
    ("queries/why.py", "import promoter.promotion.steps as s\nX = s.build_tree\n", "(build_tree)"),
    ("queries/why.py", "def f(ws: object) -> None:\n    steps.check_out(ws)\n", ""),
    ("registry.py", "from promoter import config\n", "registry must not import promoter.config"),
    ("registry.py", "import tenacity\n", "registry must not import tenacity"),
    ("editing/source.py", "from promoter import registry\n", "must not import promoter.registry"),
    ("promotion/verification.py", "from promoter import registry\n", ""),
]


@pytest.mark.parametrize(
    ("module", "line", "expected"), BROKEN, ids=[f"{m}:{e or 'allowed'}" for m, _, e in BROKEN]
)
def test_architecture_checker_reports_a_broken_rule(module: str, line: str, expected: str) -> None:
    """One rule broken in one module's text is reported (an allowed import is not)."""
    found = violations(PACKAGE, {module: (PACKAGE / module).read_text() + "\n" + line})
    if expected:
        assert any(expected in v for v in found), found
        assert all(v.startswith((module, "import cycle")) for v in found), found
    else:
        assert found == []


_PROBE = """
import sys
sys.argv = ["promote"] + sys.argv[1:]
code = 0
try:  # argv given: the entry point's own exit (`os._exit`) would skip the report below
    from promoter.cli import main

    main(sys.argv[1:])
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
