"""`require_source_pipeline` and `require_source_checks` (issue 24, deliverable 4):
`promote --to production` takes what staging runs only once the staging commit that put
it there passed its checks. Real `promote` runs against the fake GitLab (`last_pipeline`
in `GET repository/commits/:sha`; the commit's job statuses for named checks) and the
fake GitHub (the commit's statuses and check runs), and the refusal on a remote without a
forge."""

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
    what = f"pipeline status {status}" if status else "no pipeline or checks"
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


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=GH_TOKEN) as fake:
        yield fake
        assert fake.errors == []
        assert fake.validation_errors == []


def _github_repo(github: FakeGitHub, tmp_path: Path, gate: str = GATE) -> History:
    from .conftest import fixture_files

    files = fixture_files()
    files["promoter.yaml"] = _config(gate)
    github.create_repo("acme", "config", files)
    return History(Path(github.root) / "acme" / "config.git", tmp_path / "work")


def _on_github(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    return run_on_github(
        tmp_path, github, GH_TOKEN, "--to", "production", "--app", "web", "--output", "json",
        *args,
    )  # fmt: skip


def test_source_pipeline_on_github_waits_for_every_check_then_promotes(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _github_repo(github, tmp_path)
    placed = _staged(history)
    before = git(history.bare, "for-each-ref")
    nothing = _env(_on_github(tmp_path, github), 3)
    assert nothing["skip_reason"] == (
        f"source-pipeline: staging's commit {placed[:7]} has no pipeline or checks; "
        "production waits for one that succeeds"
    )
    github.set_status("acme", "config", placed, "ci/validate", "success")
    github.set_check_run("acme", "config", placed, "build", "in_progress")
    pending = _env(_on_github(tmp_path, github), 3)
    assert pending["status"] == "blocked"
    assert pending["skip_reason"] == (
        f"source-pipeline: staging's commit {placed[:7]} has check 'build' status "
        "in_progress; production waits for success"
    )
    assert git(history.bare, "for-each-ref") == before
    assert github.pulls.get(("acme", "config"), []) == []
    # The tip's checks passing do not stand in for the commit that set the version.
    tip = git(history.work, "rev-parse", "HEAD").strip()
    github.set_check_run("acme", "config", tip, "build", "completed", "success")
    assert _env(_on_github(tmp_path, github), 3)["status"] == "blocked"

    github.set_check_run("acme", "config", placed, "build", "completed", "success")
    done = _env(_on_github(tmp_path, github), 0)
    assert done["status"] == "changed"
    assert [c["new"] for c in done["changes"]] == ["1.5.0"]
    (pull,) = github.pulls[("acme", "config")]
    assert pull.head == "promote/production/web"
    assert "1.5.0" in git(history.bare, "show", f"promote/production/web:{PRODUCTION_WEB}")


@pytest.mark.parametrize(
    ("kind", "word"),
    [("status", "failure"), ("status", "error"), ("check", "failure"), ("check", "cancelled"),
     ("check", "timed_out")],
)  # fmt: skip
def test_source_pipeline_on_github_a_failed_check_blocks_naming_it(
    github: FakeGitHub, tmp_path: Path, kind: str, word: str
) -> None:
    history = _github_repo(github, tmp_path)
    placed = _staged(history)
    github.set_check_run("acme", "config", placed, "lint", "completed", "success")
    if kind == "status":
        github.set_status("acme", "config", placed, "ci/e2e", word)
        label = "status 'ci/e2e'"
    else:
        github.set_check_run("acme", "config", placed, "ci/e2e", "completed", word)
        label = "check 'ci/e2e'"
    blocked = _env(_on_github(tmp_path, github), 3)
    assert blocked["skip_reason"] == (
        f"source-pipeline: staging's commit {placed[:7]} has {label} status {word}; "
        f"production takes web 1.5.0 only once {label} of that commit succeeds (rerun it, "
        "or --force)"
    )
    assert github.pulls.get(("acme", "config"), []) == []


NAMED = "    policies:\n      require_source_checks: [e2e, ci/validate]\n"


def test_source_checks_on_github_wait_for_the_named_checks_only(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _github_repo(github, tmp_path, NAMED)
    placed = _staged(history)
    github.set_check_run("acme", "config", placed, "flaky-lint", "completed", "failure")
    github.set_status("acme", "config", placed, "ci/validate", "success")
    missing = _env(_on_github(tmp_path, github), 3)
    assert missing["skip_reason"] == (
        f"source-checks: staging's commit {placed[:7]} has no check 'e2e' yet; production "
        "waits for it to succeed"
    )
    github.set_check_run("acme", "config", placed, "e2e", "queued")
    queued = _env(_on_github(tmp_path, github), 3)
    assert queued["skip_reason"].endswith(
        "has check 'e2e' status queued; production waits for success"
    )
    github.set_check_run("acme", "config", placed, "e2e", "completed", "success")
    done = _env(_on_github(tmp_path, github), 0)
    assert done["status"] == "changed"  # the failing check nobody required does not count
    assert len(github.pulls[("acme", "config")]) == 1


def test_source_checks_on_gitlab_read_the_named_jobs(gitlab: FakeGitLab, tmp_path: Path) -> None:
    from .conftest import fixture_files

    files = fixture_files()
    files["promoter.yaml"] = _config(NAMED)
    project = gitlab.create_project(PROJECT, files)
    history = History(project.bare, tmp_path / "work")
    placed = _staged(history)
    gitlab.set_pipeline(PROJECT, placed, "failed")  # the pipeline is not what is asked
    gitlab.set_job(PROJECT, placed, "ci/validate", "success")
    gitlab.set_job(PROJECT, placed, "e2e", "pending")
    run = _run(tmp_path, gitlab)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.strip() == (
        f"production: blocked (source-checks: staging's commit {placed[:7]} has job 'e2e' "
        "status pending; production waits for success); nothing pushed"
    )
    gitlab.set_job(PROJECT, placed, "e2e", "success")
    done = _env(_run(tmp_path, gitlab, "--output", "json"), 0)
    assert done["status"] == "changed"
    assert len(gitlab.open_requests(PROJECT)) == 1


def test_source_gate_without_a_forge_is_refused_exit_2(tmp_path: Path) -> None:
    from .conftest import fixture_files

    bare = tmp_path / "config.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    files = fixture_files()
    files["promoter.yaml"] = _config(GATE)
    seed = tmp_path / "seed"
    seed.mkdir()
    for name, data in files.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_bytes(data)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "seed")
    git(seed, "push", "-q", str(bare), "main")
    history = History(bare, tmp_path / "work")
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=1))
    before = git(bare, "for-each-ref")
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir()
    run = Promoter(tmpdir).run(
        "--config-repo", bare.as_uri(), "--to", "production", "--app", "web"
    )
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line == (
        "promote: error: environments.production.policies.require_source_pipeline: the "
        "gate needs a forge that reports commit checks (github, gitlab); a remote without "
        "a forge reports no commit checks"
    )
    assert git(bare, "for-each-ref") == before
