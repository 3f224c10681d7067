"""`require_source_pipeline` (issue 24, deliverable 4): `promote --to production` takes
what staging runs only once the staging commit that put it there has a pipeline that
succeeded. Real `promote` runs against the fake GitLab (which answers `last_pipeline` in
`GET repository/commits/:sha`), and the refusal on the fake GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub
from fakes.gitlab import FakeGitLab

from .conftest import Promoter, Run, git, run_on_github
from .test_environment_promotion import PRODUCTION_WEB, History, _config, _stage

GL_TOKEN = "glpat-e2e-pipeline-token"
GH_TOKEN = "ghs_e2e_pipeline_token"
GATE = "    policies:\n      require_source_pipeline: true\n"
PROJECT = "acme/config"


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=GL_TOKEN) as fake:
        yield fake
        assert fake.errors == []


def _gitlab_repo(gitlab: FakeGitLab, tmp_path: Path) -> History:
    from .conftest import fixture_files

    files = fixture_files()
    files["promoter.yaml"] = _config(GATE)
    project = gitlab.create_project(PROJECT, files)
    return History(project.bare, tmp_path / "work")


def _run(tmp_path: Path, gitlab: FakeGitLab, *args: str) -> Run:
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir(exist_ok=True)
    return Promoter(tmpdir, token=GL_TOKEN).run(
        "--config-repo", gitlab.git_url(PROJECT), "--forge", "gitlab", "--api-url", gitlab.url,
        "--to", "production", "--app", "web", *args,
    )  # fmt: skip


def _env(run: Run, code: int) -> dict[str, Any]:
    assert run.returncode == code, run.stdout + run.stderr
    (env,) = run.json()["environments"]
    return dict(env)


def _staged(history: History) -> str:
    """Staging runs web 1.5.0 from a commit an hour old, with a later unrelated commit on
    top: the gate asks about the commit that set the version, not the tip."""
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=1))
    placed = git(history.work, "rev-parse", "HEAD").strip()
    history.commit({"docs/notes.md": "unrelated\n"}, timedelta(minutes=30))
    return placed


def test_source_pipeline_running_blocks_then_success_promotes(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    history = _gitlab_repo(gitlab, tmp_path)
    placed = _staged(history)
    gitlab.set_pipeline(PROJECT, placed, "running")
    before = git(history.bare, "for-each-ref")
    run = _run(tmp_path, gitlab)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.strip() == (
        f"production: blocked (source-pipeline: staging's commit {placed[:7]} has pipeline "
        "status running; production waits for success); nothing pushed"
    )
    assert git(history.bare, "for-each-ref") == before
    assert gitlab.open_requests(PROJECT) == []
    assert gitlab.write_calls() == []
    asked = [c for c in gitlab.calls if c.path.endswith(f"/repository/commits/{placed}")]
    assert len(asked) == 1
    blocked = _env(_run(tmp_path, gitlab, "--output", "json"), 3)
    assert blocked["status"] == "blocked"
    assert blocked["skip_reason"].startswith("source-pipeline: ")
    plan = Promoter(tmp_path / "run-tmp", token=GL_TOKEN).run(
        "plan", "--config-repo", gitlab.git_url(PROJECT), "--forge", "gitlab",
        "--api-url", gitlab.url, "--to", "production", "--app", "web",
    )  # fmt: skip
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "blocked (source-pipeline: staging's commit" in plan.stdout

    gitlab.set_pipeline(PROJECT, placed, "success")
    done = _env(_run(tmp_path, gitlab, "--output", "json"), 0)
    assert done["status"] == "changed"
    assert [c["new"] for c in done["changes"]] == ["1.5.0"]
    (request,) = gitlab.open_requests(PROJECT)
    assert request.source_branch == "promote/production/web"
    assert "1.5.0" in git(history.bare, "show", f"promote/production/web:{PRODUCTION_WEB}")


@pytest.mark.parametrize("status", ["failed", "canceled", None])
def test_source_pipeline_failed_or_missing_is_blocked_naming_it(
    gitlab: FakeGitLab, tmp_path: Path, status: str | None
) -> None:
    history = _gitlab_repo(gitlab, tmp_path)
    placed = _staged(history)
    gitlab.set_pipeline(PROJECT, placed, status)
    # The tip's pipeline succeeding does not stand in for the commit that set the version.
    gitlab.set_pipeline(PROJECT, git(history.work, "rev-parse", "HEAD").strip(), "success")
    run = _run(tmp_path, gitlab)
    assert run.returncode == 3, run.stdout + run.stderr
    what = f"pipeline status {status}" if status else "no pipeline"
    assert f"(source-pipeline: staging's commit {placed[:7]} has {what}" in run.stdout
    assert gitlab.open_requests(PROJECT) == []


def test_source_pipeline_force_overrides_and_records_it(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    history = _gitlab_repo(gitlab, tmp_path)
    placed = _staged(history)
    gitlab.set_pipeline(PROJECT, placed, "failed")
    forced = _env(_run(tmp_path, gitlab, "--force", "--output", "json"), 0)
    assert forced["status"] == "changed"
    message = git(history.bare, "log", "-1", "--format=%B", "promote/production/web")
    assert "Promoter-policy-override: source-pipeline: staging's commit" in message


def test_source_pipeline_on_github_is_refused_exit_2(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "gh", token=GH_TOKEN) as github:
        from .conftest import fixture_files

        files = fixture_files()
        files["promoter.yaml"] = _config(GATE)
        github.create_repo("acme", "config", files)
        history = History(Path(github.root) / "acme" / "config.git", tmp_path / "work")
        _stage(history, "1.4.2", "1.5.0", timedelta(hours=1))
        before = git(history.bare, "for-each-ref")
        run = run_on_github(tmp_path, github, GH_TOKEN, "--to", "production", "--app", "web")
        assert run.returncode == 2, run.stdout + run.stderr
        (line,) = run.stderr.strip().splitlines()
        assert line == (
            "promote: error: environments.production.policies.require_source_pipeline: the "
            "gate needs a forge that reports commit pipelines (gitlab); GitHub's commit "
            "statuses are not supported yet"
        )
        assert git(history.bare, "for-each-ref") == before
        assert github.pulls.get(("acme", "config"), []) == []
    assert github.validation_errors == []


def test_source_pipeline_on_env_image_checks_the_named_version_like_soak(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    history = _gitlab_repo(gitlab, tmp_path)
    placed = _staged(history)
    gitlab.set_pipeline(PROJECT, placed, "success")
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir(exist_ok=True)
    repo = ("--config-repo", gitlab.git_url(PROJECT), "--forge", "gitlab", "--api-url", gitlab.url)
    promoter = Promoter(tmpdir, token=GL_TOKEN)
    absent = promoter.run(*repo, "--env", "production", "--image", "ghcr.io/acme/web:1.6.0")
    assert absent.returncode == 3, absent.stdout + absent.stderr
    assert "source-pipeline: web 1.6.0 is not what staging runs now" in absent.stdout
    named = promoter.run(*repo, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
    assert named.returncode == 0, named.stdout + named.stderr
    assert "1.5.0" in git(history.bare, "show", f"promote/production/web:{PRODUCTION_WEB}")
