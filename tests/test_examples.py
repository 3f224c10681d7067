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
    assert scripts
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
