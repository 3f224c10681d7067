"""The GitLab component and the child pipeline `promote plan --output gitlab-pipeline`
writes, run end to end by gitlab-ci-local (4.69.0, the shell executor) against the fake
GitLab on 127.0.0.1.

The consumer project includes the component as a user does
(`component: $CI_SERVER_FQDN/promoter-dev/promoter/promote@0.1.0` with `inputs:`):
gitlab-ci-local fetches `templates/promote.yml` at that tag from promoter's project on the
fake. The job runs in a fresh venv without promoter, so its `before_script` installs the
component's pinned `promoter-package` (`promoter.REQUIREMENT`, a git tag of the project
on GitHub), which git's `url.<base>.insteadOf` sends to the same tagged project on the
fake: what gets installed is exactly the release the component names. The dotenv report
and the merge request the promotion opened are read back.

gitlab-ci-local comes from npm and needs rsync; `.ci/run` installs both. Without them the
tests are skipped, saying so.
"""

from __future__ import annotations

import base64
import itertools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import freshvenv
import pytest
from fakes.gitlab import FakeGitLab
from ruamel.yaml import YAML

import promoter

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "glpat-gitlab-ci-local"
HOME_PROJECT = "promoter-dev/promoter"
GITHUB_HOME = f"{promoter.HOME}.git"


def _gitlab_ci_local() -> str:
    found = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "gitlab-ci-local"
    path = str(found) if found.exists() else shutil.which("gitlab-ci-local")
    if path is None:
        pytest.skip("gitlab-ci-local is not installed (.ci/run installs it with npm)")
    if shutil.which("rsync") is None:
        pytest.skip("gitlab-ci-local's shell executor needs rsync (.ci/run installs it)")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.strip() == "4.69.0", version.stdout + version.stderr
    return path


def _config_files() -> dict[str, bytes]:
    source = ROOT / "promoter" / "demo_repo"
    return {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*")
            if p.is_file()}  # fmt: skip


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[FakeGitLab]:
    """The fake GitLab with the config project and promoter's own project, tagged with the
    running release both ways (`vX.Y.Z` as on GitHub, `X.Y.Z` as the CI/CD Catalog has it)."""
    with FakeGitLab(tmp_path / "gl", token=TOKEN, lifetime=600) as fake:
        fake.create_project("acme/config", _config_files())
        home = fake.create_project(HOME_PROJECT, freshvenv.checkout_files(ROOT))
        for tag in (f"v{promoter.__version__}", promoter.__version__):
            subprocess.run(["git", "--git-dir", str(home.bare), "tag", tag, "main"], check=True)
        yield fake


def _job_environment(tmp_path: Path, gitlab: FakeGitLab) -> tuple[dict[str, str], Path]:
    """A fresh venv with no promoter first on PATH, and git told to authenticate to the
    fake and to fetch promoter's GitHub URL from its tagged project there."""
    venv = tmp_path / "venv"
    bin_dir = freshvenv.create(venv)
    auth = base64.b64encode(f"ci:{TOKEN}".encode()).decode()
    env = freshvenv.clean_environment(tmp_path, bin_dir) | freshvenv.pip_environment()
    env |= {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": f"http.{gitlab.url}/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {auth}",
        "GIT_CONFIG_KEY_1": f"url.{gitlab.git_url(HOME_PROJECT)}.insteadOf",
        "GIT_CONFIG_VALUE_1": GITHUB_HOME,
    }
    return env, venv


def _consumer(tmp_path: Path, gitlab: FakeGitLab, pipeline: str) -> Path:
    """The application project gitlab-ci-local runs in: a git repository whose origin is
    on the fake (where gitlab-ci-local fetches components from)."""
    project = tmp_path / "web"
    project.mkdir()
    (project / ".gitlab-ci.yml").write_text(pipeline)
    git = ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com",
           "-c", "init.defaultBranch=main"]  # fmt: skip
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "ci"],
                 ["remote", "add", "origin", gitlab.git_url("acme/web")]):  # fmt: skip
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    return project


def _run(tool: str, project: Path, env: dict[str, str], *extra: str) -> str:
    done = subprocess.run(
        [tool, "--force-shell-executor", "--no-color", "--variable", f"PROMOTER_TOKEN={TOKEN}",
         *extra],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    assert TOKEN not in log
    return log


def _installed_version(venv: Path) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import promoter, importlib.metadata as m; "
         "print(m.version('promoter'), promoter.__file__)"],
        capture_output=True, text=True, check=True, cwd=venv,
    )  # fmt: skip
    version, location = done.stdout.split()
    assert Path(location).is_relative_to(venv), location  # installed, not this checkout
    return version


def test_component_included_with_inputs_promotes_and_reports(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    tool = _gitlab_ci_local()
    env, venv = _job_environment(tmp_path, gitlab)
    pipeline = f"""\
include:
  - component: $CI_SERVER_FQDN/{HOME_PROJECT}/promote@{promoter.__version__}
    inputs:
      config-repo: {gitlab.git_url("acme/config")}
      environment: production
      image: ghcr.io/acme/web:1.5.0
      api-url: {gitlab.url}
      labels: urgent, team::sre
      extra-args: --forge gitlab
"""
    project = _consumer(tmp_path, gitlab, pipeline)
    log = _run(tool, project, env)
    assert f"downloaded {HOME_PROJECT} {promoter.__version__} templates/promote" in log
    assert "PASS  promote" in log
    assert _installed_version(venv) == promoter.__version__  # the component's pin, installed
    report = project / ".gitlab-ci-local" / "artifacts" / "promote" / ".gitlab-ci-reports"
    values = dict(
        line.split("=", 1)
        for line in (report / "dotenv" / "promote.env").read_text().splitlines()
    )
    (request,) = gitlab.open_requests("acme/config")
    assert values["PROMOTE_STATUS"] == "changed"
    assert values["PROMOTE_OPERATION"] == "created"
    assert values["PROMOTE_REQUEST_NUMBER"] == values["PROMOTE_MR_IID"] == str(request.iid)
    assert values["PROMOTE_REQUEST_URL"].endswith(f"/acme/config/-/merge_requests/{request.iid}")
    assert request.labels == ["promotion", "production", "urgent", "team::sre"]
    tip = gitlab.branch_tip(gitlab.projects["acme/config"], request.source_branch)
    assert tip == values["PROMOTE_COMMIT_SHA"]


def test_generated_child_pipeline_runs_and_promotes_every_pending_app(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    tool = _gitlab_ci_local()
    env, venv = _job_environment(tmp_path, gitlab)
    plan = subprocess.run(
        [sys.executable, "-m", "promoter", "plan", "--to", "production", "--all", "--no-clone",
         "--per-job", "10", "--output", "gitlab-pipeline", "--forge", "gitlab", "--api-url",
         gitlab.url, "--config-repo", gitlab.git_url("acme/config")],
        env={**os.environ, "PROMOTER_TOKEN": TOKEN}, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    child = plan.stdout
    assert promoter.REQUIREMENT in child
    jobs = YAML(typ="safe").load(child)
    apps = [
        word.removeprefix("--app=")
        for name, job in jobs.items()
        if not name.startswith(".") and isinstance(job, dict) and "script" in job
        for line in job["script"]
        for before, word in itertools.pairwise(["", *shlex.split(line)])
        if before == "--app"
    ]
    assert apps, child
    project = _consumer(tmp_path, gitlab, child)
    _run(tool, project, env)
    assert _installed_version(venv) == promoter.__version__
    opened = gitlab.open_requests("acme/config")
    branches = sorted(request.source_branch for request in opened)
    assert branches == sorted(f"promote/production/{app}" for app in apps)
