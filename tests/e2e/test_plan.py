"""`promote plan`: the fan-out of `promote --to` as a GitHub matrix and a GitLab child
pipeline, checked by check-jsonschema's builtin CI schemas, and a generated job run."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub
from ruamel.yaml import YAML
from schemas import check_builtin

from .conftest import Run, fixture_files, run_on_github

TOKEN = "ghs_e2e_plan_token"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github" / "scheduled-promotion.yml"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        fake.create_repo("acme", "config", fixture_files())
        yield fake
    assert fake.validation_errors == []


def _promote(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    return run_on_github(tmp_path, github, TOKEN, *args)


def _plan(tmp_path: Path, github: FakeGitHub, *args: str) -> str:
    run = run_on_github(tmp_path, github, TOKEN, "plan", "--to", "production", *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_plan_github_matrix_loads_as_the_example_workflows_strategy(
    github: FakeGitHub, tmp_path: Path
) -> None:
    matrix = json.loads(_plan(tmp_path, github, "--all", "--output", "github-matrix"))
    assert matrix == {
        "include": [
            {"apps": "api", "from": "staging", "to": "production", "app": "api",
             "version": "2.4.0"},
            {"apps": "web", "from": "staging", "to": "production", "app": "web",
             "version": "1.4.2"},
        ]
    }  # fmt: skip
    yaml = YAML()
    workflow: Any = yaml.load(EXAMPLE.read_text())
    assert (
        "fromJSON(needs.plan.outputs.matrix)" in workflow["jobs"]["promote"]["strategy"]["matrix"]
    )
    workflow["jobs"]["promote"]["strategy"]["matrix"] = matrix  # what the runner expands
    expanded = tmp_path / "expanded.yml"
    with expanded.open("w") as handle:
        yaml.dump(workflow, handle)
    check_builtin("vendor.github-workflows", expanded)
    grouped = json.loads(
        _plan(tmp_path, github, "--all", "--per-job", "2", "--output", "github-matrix")
    )
    assert grouped == {"include": [{"apps": "api web", "from": "staging", "to": "production"}]}


def test_plan_gitlab_child_pipeline_is_valid_and_its_job_promotes(
    github: FakeGitHub, tmp_path: Path
) -> None:
    text = _plan(tmp_path, github, "--all", "--output", "gitlab-pipeline")
    child = tmp_path / "child.yml"
    child.write_text(text)
    check_builtin("vendor.gitlab-ci", child)
    pipeline: Any = YAML(typ="safe").load(text)
    jobs = sorted(k for k in pipeline if k.startswith("promote-"))
    assert jobs == ["promote-api", "promote-web"]
    assert pipeline[".promote"]["allow_failure"] == {"exit_codes": [3]}
    # Run the web job's script as the runner would, with the pipeline's variables.
    (script,) = pipeline["promote-web"]["script"]
    assert script == "promote --to production --from staging --app web"
    env = {
        **os.environ,
        **pipeline["variables"],
        "PROMOTER_TOKEN": TOKEN,
        "PROMOTER_FORGE": "github",
        "PROMOTER_GITHUB_WRITE_INTERVAL": "0",
        "GITHUB_API_URL": github.api_url,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    argv = shlex.split(script)
    done = subprocess.run(
        [sys.executable, "-m", "promoter", *argv[1:], "--api-url", github.api_url],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (pull,) = github.pulls[("acme", "config")]
    assert pull.head == "promote/production/web"
    # Until its pull request merges, production still runs the old web: a rerun of the
    # job finds the same pull request as it should be.
    again = subprocess.run(
        [sys.executable, "-m", "promoter", *argv[1:], "--api-url", github.api_url],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(github.pulls[("acme", "config")]) == 1


def test_plan_with_nothing_pending(github: FakeGitHub, tmp_path: Path) -> None:
    for app in ("web", "api"):
        run = _promote(tmp_path, github, "--to", "production", "--app", app, "--mode", "push")
        assert run.returncode == 0, run.stderr
    assert json.loads(_plan(tmp_path, github, "--all", "--output", "github-matrix")) == {
        "include": []
    }
    text = _plan(tmp_path, github, "--all", "--output", "gitlab-pipeline")
    child = tmp_path / "empty.yml"
    child.write_text(text)
    check_builtin("vendor.gitlab-ci", child)
    assert "nothing-to-promote:" in text
    assert _plan(tmp_path, github, "--all").strip() == "production already runs what staging runs"
