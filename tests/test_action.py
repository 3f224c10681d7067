"""action.yml: valid against GitHub's schema, and its script keeps the token out of argv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"


def test_action_yml_validates_against_github_actions_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    if not checker.exists():
        pytest.fail("check-jsonschema is a test dependency; reinstall with '.[test]'")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_outputs_match_what_promoter_writes() -> None:
    from promoter.promotion.report import outputs
    from promoter.promotion.result import Result, Status

    action = YAML(typ="safe").load(ACTION.read_text())
    assert set(action["outputs"]) == set(outputs(Result(Status.UNCHANGED)))


def test_action_script_builds_argv_without_the_token(tmp_path: Path) -> None:
    """Run the step's bash with a stub `promote` that records its argv and env."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    action = YAML(typ="safe").load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "promote")
    stub = tmp_path / "bin" / "promote"
    stub.parent.mkdir()
    stub.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$OUT/argv"\nprintf "%s" "$PROMOTER_TOKEN" > "$OUT/tok"\n'
    )
    stub.chmod(0o755)
    env = {
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "OUT": str(tmp_path),
        "PROMOTER_TOKEN": "ghs_secret_value",
        "INPUT_ENV": "dev\nstaging\n",
        "INPUT_IMAGE": "ghcr.io/acme/web:1.4.2",
        "INPUT_APP": "",
        "INPUT_MODE": "pull-request",
        "INPUT_AUTO_MERGE": "true",
        "INPUT_API_URL": "",
        "INPUT_EXTRA_ARGS": "--skip-ci",
    }
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=False)
    assert done.returncode == 0
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv == [
        "--env", "dev", "--env", "staging", "--image", "ghcr.io/acme/web:1.4.2",
        "--mode", "pull-request", "--auto-merge", "--skip-ci",
    ]  # fmt: skip
    assert (tmp_path / "tok").read_text() == "ghs_secret_value"
