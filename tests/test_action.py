"""action.yml: valid against GitHub's schema, and its script keeps the token out of argv."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from schemas import check_builtin

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"


def test_action_yml_validates_against_github_actions_schema() -> None:
    check_builtin("vendor.github-actions", ACTION)


def test_action_outputs_match_what_promoter_writes() -> None:
    from promoter.promotion.report import outputs
    from promoter.promotion.result import Result, Status

    action = YAML(typ="safe").load(ACTION.read_text())
    assert set(action["outputs"]) == set(outputs(Result(Status.UNCHANGED)))


def test_action_script_passes_inputs_and_token_by_environment(tmp_path: Path) -> None:
    """Run the step's bash with a stub `promote` that records its argv and env: the inputs
    reach promoter as PROMOTE_INPUT_* variables and the token as PROMOTER_TOKEN, none of
    them in argv."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    action = YAML(typ="safe").load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "promote")
    stub = tmp_path / "bin" / "promote"
    stub.parent.mkdir()
    stub.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$OUT/argv"\nprintf "%s" "$PROMOTER_TOKEN" > "$OUT/tok"\n'
        'printf "%s" "$PROMOTE_INPUT_ENVIRONMENT" > "$OUT/env"\n'
    )
    stub.chmod(0o755)
    env = {
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "OUT": str(tmp_path),
        "PROMOTER_TOKEN": "ghs_secret_value",
        "PROMOTE_INPUT_ENVIRONMENT": "dev\nstaging\n",
    }
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=False)
    assert done.returncode == 0
    assert (tmp_path / "argv").read_text().splitlines() == ["ci-run"]
    assert (tmp_path / "tok").read_text() == "ghs_secret_value"
    assert (tmp_path / "env").read_text() == "dev\nstaging\n"


UNSAFE_IN_RUN = ("${{ inputs.", "${{ github.event")
"""Expressions the runner pastes into the script text before bash sees it: an input or an
event field (a PR title, a branch name) would be code. Pass them through `env:` instead."""


def _run_steps(document: object) -> list[tuple[str, str]]:
    """(where, script) of every `run:` step in an action or workflow document."""
    found: list[tuple[str, str]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("run"), str):
                found.append((where, node["run"]))
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(document, "")
    return found


def _files_with_run_steps() -> list[Path]:
    return [ACTION, *sorted((ROOT / "examples").rglob("*.yml"))]


@pytest.mark.parametrize("path", _files_with_run_steps(), ids=lambda p: p.name)
def test_action_run_steps_never_interpolate_inputs_or_event_fields(path: Path) -> None:
    steps = _run_steps(YAML(typ="safe").load(path.read_text()))
    assert steps or path != ACTION
    for where, script in steps:
        for unsafe in UNSAFE_IN_RUN:
            assert unsafe not in script, f"{path.name}{where}: run interpolates {unsafe}...}}"


def test_action_interpolation_check_can_fail() -> None:
    document = {"runs": {"steps": [{"run": 'echo "${{ inputs.environment }}"'}]}}
    steps = _run_steps(document)
    assert steps == [(".runs.steps[0]", 'echo "${{ inputs.environment }}"')]
    assert any(unsafe in steps[0][1] for unsafe in UNSAFE_IN_RUN)


def _expression(value: str, inputs: dict[str, str]) -> str:
    """`${{ inputs.x }}` and `${{ github.action_path }}` as the runner substitutes them."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("inputs."):
            return inputs.get(name.removeprefix("inputs."), "")
        if name == "github.action_path":
            return str(ROOT)
        raise AssertionError(f"unexpected expression {name}")

    return re.sub(r"\$\{\{([^}]*)\}\}", substitute, value)


def _run_action(inputs: dict[str, str], tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run the composite action's promote step as a runner does: defaults for inputs not
    given, `env:` evaluated, the script in `bash -eo pipefail`, then the action's outputs
    read back from `$GITHUB_OUTPUT` through their `value:` expressions."""
    action = YAML(typ="safe").load(ACTION.read_text())
    given = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | inputs
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "promote")
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    run_env = {k: _expression(str(v), given) for k, v in step["env"].items()}
    run_env |= env | {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=run_env, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    written: dict[str, str] = {}
    for line in output_file.read_text().splitlines():
        name, _, value = line.partition("=")
        written[name] = value
    outputs = {}
    for name, spec in action["outputs"].items():
        match = re.fullmatch(r"\$\{\{\s*steps\.promote\.outputs\.([\w-]+)\s*\}\}", spec["value"])
        assert match, f"output {name} does not read the promote step"
        outputs[name] = written.get(match.group(1), "")
    return outputs


@pytest.fixture
def config_remote(tmp_path: Path) -> Path:
    """The fixture config repository as a bare repository on disk."""
    from fakes.githttp import make_bare_repo

    files = {
        p.relative_to(ROOT / "promoter" / "demo_repo").as_posix(): p.read_bytes()
        for p in (ROOT / "promoter" / "demo_repo").rglob("*")
        if p.is_file()
    }
    return make_bare_repo(tmp_path / "srv", "config.git", files)


def test_action_runs_like_a_runner_and_reports_its_outputs(
    tmp_path: Path, config_remote: Path
) -> None:
    inputs = {
        "config-repo": str(config_remote),
        "environment": "dev",
        "image": "ghcr.io/acme/web:9.9.9",
        "mode": "push",
        "token": "ghs_not_needed_for_a_local_remote",
    }
    outputs = _run_action(inputs, tmp_path, {})
    assert outputs["changed"] == "true"
    assert outputs["status"] == "changed"
    assert len(outputs["commit-sha"]) == 40
    assert outputs["skipped"] == "false"
    assert outputs["operation"] == "none"


def test_action_reports_a_guard_skip(tmp_path: Path, config_remote: Path) -> None:
    event = ROOT / "fixtures" / "ci" / "github" / "push-bot.json"
    inputs = {
        "config-repo": str(config_remote),
        "environment": "dev",
        "image": "ghcr.io/acme/web:9.9.9",
        "mode": "push",
        "token": "t",
        "ignore": "docs/**\ndeploy/**",
    }
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event)}
    outputs = _run_action(inputs, tmp_path, env)
    assert outputs["skipped"] == "true"
    assert outputs["skip-reason"].startswith("bot-author: ")
    assert outputs["status"] == "skipped"
    assert outputs["changed"] == "false"
