"""examples/: copy-paste CI files that are valid for their CI and whose scripts parse.

GitHub workflows are checked against check-jsonschema's builtin `vendor.github-workflows`
schema, GitLab pipelines against `vendor.gitlab-ci`; every `run:`/`script:` line must be
valid bash once the runner's `${{ ... }}` expressions are substituted. (actionlint would
check more, but it cannot be installed offline here: its wheel downloads a binary.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from schemas import check_builtin

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GITHUB = sorted((EXAMPLES / "github").glob("*.yml"))
GITLAB = sorted((EXAMPLES / "gitlab").glob("*.yml"))


def test_examples_exist() -> None:
    assert {p.name for p in GITHUB} == {
        "app-repository.yml", "single-repository.yml", "manual-promotion.yml",
        "scheduled-promotion.yml",
    }  # fmt: skip
    assert [p.name for p in GITLAB] == [
        "app-repository.gitlab-ci.yml", "scheduled-promotion.gitlab-ci.yml",
        "single-project.gitlab-ci.yml",
    ]  # fmt: skip


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_examples_github_workflow_is_valid(path: Path) -> None:
    check_builtin("vendor.github-workflows", path)


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.name)
def test_examples_gitlab_pipeline_is_valid(path: Path) -> None:
    check_builtin("vendor.gitlab-ci", path)


def _scripts(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "before_script") and isinstance(value, list):
                found.extend(str(line) for line in value)
            else:
                found.extend(_scripts(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_scripts(value))
    return found


@pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda p: p.name)
def test_examples_scripts_are_valid_bash(path: Path) -> None:
    scripts = _scripts(YAML(typ="safe").load(path.read_text()))
    for script in scripts:
        text = re.sub(r"\$\{\{[^}]*\}\}", "placeholder", script)
        done = subprocess.run(
            ["bash", "-n"], input=text, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{path.name}: {script!r}: {done.stderr}"


def test_examples_promote_commands_use_real_options() -> None:
    """Every `promote` option an example uses is one the CLI has."""
    from click.testing import CliRunner

    from promoter.cli import cli

    known = (
        CliRunner().invoke(cli, ["--help"]).output
        + CliRunner().invoke(cli, ["guard", "--help"]).output
    )
    used: set[str] = set()
    for path in GITHUB + GITLAB:
        for script in _scripts(YAML(typ="safe").load(path.read_text())):
            for command in re.findall(r"\bpromote\b[^\n|;&]*", script):
                used.update(re.findall(r"(--[a-z][a-z-]+)", command))
    assert used, "the examples call promote"
    assert sorted(option for option in used if option not in known) == []


ZIZMOR_CONFIG = EXAMPLES.parent / ".ci" / "zizmor.yml"


@pytest.mark.parametrize("path", [EXAMPLES.parent / "action.yml", *GITHUB], ids=lambda p: p.name)
def test_zizmor_finds_nothing(path: Path) -> None:
    """zizmor (offline) on the Action and every workflow example: actions pinned by commit
    (promoter's own by its release tag, `.ci/zizmor.yml`), least-privilege permissions,
    no credentials persisted, no template expansion of untrusted input."""
    import shutil
    import sys

    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(zizmor).exists():
        pytest.skip("zizmor is not installed (pip install zizmor)")
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--config", str(ZIZMOR_CONFIG), "--format",
         "plain", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_check_can_fail(tmp_path: Path) -> None:
    """The same call flags an unpinned action and a checkout that keeps its credentials."""
    import shutil
    import sys

    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(zizmor).exists():
        pytest.skip("zizmor is not installed (pip install zizmor)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
    )
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--config", str(ZIZMOR_CONFIG), "--format",
         "plain", str(bad)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "unpinned-uses" in done.stdout
    assert "artipacked" in done.stdout


def test_examples_pin_promoter_to_the_running_release() -> None:
    """Every place an example runs promoter names this release: the action's tag, the
    component's version, or the install requirement; never a bare `pip install promoter`."""
    import promoter

    for path in GITHUB + GITLAB:
        text = path.read_text()
        for ref in re.findall(r"promoter-dev/promoter@([\w.]+)", text):
            assert ref == f"v{promoter.__version__}", path.name
        for ref in re.findall(r"promoter-dev/promoter/promote@([\w.]+)", text):
            assert ref == promoter.__version__, path.name
        for line in re.findall(r"pip install[^\n]*", text):
            assert "$PROMOTER_PACKAGE" in line or promoter.REQUIREMENT in line, line
        assert not re.search(r"pip install (--quiet )?promoter\b", text), path.name
        assert "acme/promoter" not in text, path.name
