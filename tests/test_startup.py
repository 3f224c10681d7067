"""Start-up: each command imports only what it uses (issue 23; STYLE §9).

The real entry point (`promoter.cli.main`) runs in a fresh interpreter that reports
every module it loaded; `--help` of the group and of every command must load no forge
client, YAML parser or patch library, and `bump` none of the promotion stack (flow, git,
forges, promoter.yaml). A canary proves the check sees a module that is loaded. How long
start-up takes is `benchmarks/startup.py`'s to measure, not a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

import promoter.promotion
from promoter.cli import cli

_PROBE = """
import json, sys
out, preload, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
for name in filter(None, preload.split(",")):
    __import__(name)
sys.argv = ["promote", *argv]
code = 0
try:  # argv given: the entry point's own exit (`os._exit`) would skip the report below
    from promoter.cli import main

    main(argv)
except SystemExit as exit:
    code = exit.code
with open(out, "w") as file:
    json.dump(sorted(sys.modules), file)
sys.exit(code)
"""

HELP_FORBIDDEN = (
    "github", "gitlab", "requests", "urllib3", "ruamel", "jsonpatch", "tenacity", "subprocess",
    "promoter.config", "promoter.editing", "promoter.environments", "promoter.promotion",
    "promoter.queries", "promoter.repo", "promoter.registry",
)  # fmt: skip
"""What no help page loads: forge clients, the YAML parser, jsonpatch, the use cases."""
BUMP_FORBIDDEN = (
    "github", "gitlab", "requests", "tenacity", "subprocess",
    "promoter.promotion.flow", "promoter.promotion.workspace", "promoter.promotion.steps",
    "promoter.promotion.plan", "promoter.forges", "promoter.repo", "promoter.config",
    "promoter.environments", "promoter.queries", "promoter.policies", "promoter.guards",
    "promoter.registry",
)  # fmt: skip
"""What `bump` (local files, no git, no promoter.yaml) does not load."""
_KUSTOMIZATION = "images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n"


def _loaded(tmp_path: Path, argv: list[str], preload: tuple[str, ...] = ()) -> list[str]:
    """The modules `promote ARGV` loaded (exit 0 required)."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), ",".join(preload), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(out.read_text())
    return loaded


def _found(loaded: list[str], forbidden: tuple[str, ...]) -> list[str]:
    """The forbidden packages (or any of their submodules) among `loaded`."""
    return sorted({f for f in forbidden for m in loaded if m == f or m.startswith(f + ".")})


@pytest.mark.parametrize("command", [None, *sorted(cli.commands)])
def test_startup_help_loads_no_heavy_module(command: str | None, tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, [command, "--help"] if command else ["--help"])
    assert "click" in loaded
    assert _found(loaded, HELP_FORBIDDEN) == []


def test_startup_bump_loads_only_the_editing_path(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_text(_KUSTOMIZATION)
    loaded = _loaded(tmp_path, ["bump", str(target), "--image", "ghcr.io/acme/web:2.0.0"])
    assert "newTag: 2.0.0" in target.read_text()
    assert {"promoter.promotion.edits", "promoter.editing", "ruamel.yaml"} <= set(loaded)
    assert _found(loaded, BUMP_FORBIDDEN) == []


def test_startup_check_sees_a_loaded_module(tmp_path: Path) -> None:
    """The canary: modules loaded before the command runs are reported, so a command that
    loaded them itself would fail the tests above."""
    loaded = _loaded(tmp_path, ["--help"], preload=("jsonpatch", "promoter.repo"))
    assert {"jsonpatch", "promoter.repo"} <= set(_found(loaded, HELP_FORBIDDEN))
    assert {"promoter.repo", "subprocess"} <= set(_found(loaded, BUMP_FORBIDDEN))


def test_startup_promotion_exports_resolve_lazily() -> None:
    """`import promoter.promotion` loads none of its modules; each exported name loads
    its own on first use, and submodules still import by name."""
    code = (
        "import sys, promoter.promotion as p\n"
        "print(sorted(m for m in sys.modules if m.startswith('promoter.promotion.')))\n"
        "from promoter.promotion import bump\n"
        "print('promoter.promotion.flow' in sys.modules, bump.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["[]", "False promoter.promotion.edits"]
    for name in promoter.promotion.__all__:
        value = getattr(promoter.promotion, name)
        assert getattr(value, "__name__", name) == name
    assert set(promoter.promotion.__all__) <= set(dir(promoter.promotion))
    from promoter.promotion import steps

    assert steps.__name__ == "promoter.promotion.steps"
    with pytest.raises(AttributeError):
        promoter.promotion.no_such_name  # noqa: B018


def test_startup_forge_choices_come_from_the_registry() -> None:
    """`--forge` lists the registry's kinds, read when click asks for them."""
    from promoter.forges import KINDS

    forge = next(p for p in cli.params if p.name == "forge")
    assert isinstance(forge.type, click.Choice)
    assert tuple(forge.type.choices) == tuple(KINDS)
