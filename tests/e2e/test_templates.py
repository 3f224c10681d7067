"""Templates for the branch, the request title and the commit subject (issue 24), end to
end: the real `promote` subprocess against a plain file:// remote (where the branch is the
request) and against the fake GitHub and GitLab. The templated branch is updated in place
by the next build, found again by `status` as in flight, and a template a run cannot fill
is refused with exit 2 before anything is pushed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.githttp import make_bare_repo
from fakes.github import FakeGitHub
from fakes.gitlab import FakeGitLab

from .conftest import Promoter, Run, fixture_files, git, refs, rev

WEB = "ghcr.io/acme/web"
API = "ghcr.io/acme/api"
GH_TOKEN = "ghs_e2e_templates_token"
GL_TOKEN = "glpat-e2e-templates-token"
BRANCH = "promote/production/release-web"
TEMPLATES = """    templates:
      branch: "promote/{env}/release-{app}"
      title: "Deploy {app} {version} to {env}"
      subject: "chore({env}): bump {images}"
"""


def _files(templates: str = TEMPLATES) -> dict[str, bytes]:
    """The fixture repository, its production environment with `templates`."""
    files = fixture_files()
    text = files["promoter.yaml"].decode()
    anchor = '    reviewers: [acme/sre, "@alice"]\n'
    assert text.count(anchor) == 1
    files["promoter.yaml"] = text.replace(anchor, anchor + templates).encode()
    return files


def _line(run: Run, bare: Path, before: dict[str, str]) -> str:
    """The one error line of a refused run (exit 2), which pushed nothing."""
    assert run.returncode == 2, run.stdout + run.stderr
    assert refs(bare) == before
    (line,) = run.stderr.strip().splitlines()
    return line


@pytest.fixture
def plain(tmp_path: Path) -> tuple[Promoter, Path]:
    bare = make_bare_repo(tmp_path, "config.git", _files())
    promoter = Promoter(tmp_path / "run", token=None)
    promoter.tmpdir.mkdir()
    return promoter, bare


def _local(promoter: Promoter, bare: Path, *args: str) -> Run:
    return promoter.run("--config-repo", bare.as_uri(), *args)


def _production(promoter: Promoter, bare: Path, tag: str) -> dict[str, Any]:
    run = _local(
        promoter, bare, "--env", "production", "--image", f"{WEB}:{tag}", "--output", "json"
    )
    (env,) = run.ok().json()["environments"]
    return dict(env)


def test_templates_name_the_branch_and_subject_updated_in_place(
    plain: tuple[Promoter, Path],
) -> None:
    promoter, bare = plain
    first = _production(promoter, bare, "1.6.0")
    assert (first["status"], first["branch"]) == ("changed", BRANCH)
    assert git(bare, "branch", "--list", "promote/*").split() == [BRANCH]
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.6.0"
    )
    message = git(bare, "log", "-1", "--format=%B", BRANCH)
    assert "Promoted-by: promoter\nPromoted-env: production\n" in message  # loop guards' trailers
    assert "apps/web/overlays/production/kustomization.yaml:" in message  # the body, as before
    tip = rev(bare, BRANCH)

    status = _local(promoter, bare, "status", "--output", "json").ok().json()
    cells = {(c["app"], c["env"]): c for c in status["cells"]}
    waiting = cells[("web", "production")]["in_flight"]
    assert (waiting["branch"], waiting["version"]) == (BRANCH, "1.6.0")

    second = _production(promoter, bare, "1.6.1")
    assert (second["status"], second["branch"]) == ("changed", BRANCH)
    assert git(bare, "branch", "--list", "promote/*").split() == [BRANCH]
    assert rev(bare, BRANCH) != tip
    assert git(bare, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"  # rebuilt
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.6.1"
    )
    tip = rev(bare, BRANCH)
    third = _production(promoter, bare, "1.6.1")
    assert (third["status"], third["branch"]) == ("unchanged", BRANCH)
    assert rev(bare, BRANCH) == tip


def test_a_template_the_file_refuses_exits_2_naming_its_line(tmp_path: Path) -> None:
    templates = '    templates: {branch: "promote/{env}/{app}-{version}"}\n'
    bare = make_bare_repo(tmp_path, "config.git", _files(templates))
    promoter = Promoter(tmp_path / "run", token=None)
    promoter.tmpdir.mkdir()
    line_number = _files(templates)["promoter.yaml"].decode().splitlines().index(templates[:-1])
    before = refs(bare)
    run = _local(promoter, bare, "--env", "production", "--image", f"{WEB}:1.6.0")
    assert _line(run, bare, before) == (
        f"promote: error: promoter.yaml:{line_number + 1}: environments.production.templates."
        "branch: {version} is not available in a branch template: a branch names the "
        "promotion, not the version: promoter updates one branch and its request in place "
        "when a newer build comes (a version in the name would leave the older request "
        "open, to be merged after the newer one)"
    )
    validate = promoter.run("validate", "--config-repo", bare.as_uri())
    assert validate.returncode == 2
    assert "environments.production.templates.branch: {version}" in validate.stdout + (
        validate.stderr
    )


def test_a_template_this_run_cannot_fill_pushes_nothing_anywhere(
    plain: tuple[Promoter, Path],
) -> None:
    """Two apps in one request have no single `{app}`: refused before staging's push too."""
    promoter, bare = plain
    before = refs(bare)
    run = _local(
        promoter, bare, "--env", "staging", "--env", "production",
        "--image", f"{WEB}:1.6.0", "--image", f"{API}:2.6.0",
    )  # fmt: skip
    line = _line(run, bare, before)
    assert line.startswith("promote: error: promoter.yaml:")
    assert line.endswith(
        ": environments.production.templates.branch: {app} names one app, and this run "
        "promotes 2: use {apps}; nothing was pushed"
    )


def test_a_value_that_makes_no_branch_name_is_refused(tmp_path: Path) -> None:
    """`{base}` after a literal `@`: the base `{rc}` is a branch name, `@{rc}` is none."""
    templates = '    templates: {branch: "promote/{env}/{app}/@{base}"}\n'
    bare = make_bare_repo(tmp_path, "config.git", _files(templates))
    git(bare, "branch", "{rc}", "main")
    promoter = Promoter(tmp_path / "run", token=None)
    promoter.tmpdir.mkdir()
    before = refs(bare)
    args = ("--env", "production", "--image", f"{WEB}:1.6.0")
    line = _line(_local(promoter, bare, "--base", "{rc}", *args), bare, before)
    assert ": environments.production.templates.branch: renders " in line
    assert "'promote/production/web/@{rc}' for this run, which is not a branch name" in line
    assert line.endswith("nothing was pushed")
    assert _production(promoter, bare, "1.6.0")["branch"] == "promote/production/web/@main"


# --- forges --------------------------------------------------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=GH_TOKEN) as fake:
        fake.create_repo("acme", "config", _files())
        yield fake
    assert fake.validation_errors == []


def _on_github(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    promoter = Promoter(tmp_path / "gh-run", token=GH_TOKEN)
    promoter.tmpdir.mkdir(exist_ok=True)
    return promoter.run(
        "--config-repo", github.git_url("acme", "config"), "--forge", "github",
        "--api-url", github.api_url, *args, env={"PROMOTER_GITHUB_WRITE_INTERVAL": "0"},
    )  # fmt: skip


def _github_production(tmp_path: Path, github: FakeGitHub, tag: str) -> dict[str, Any]:
    args = ("--env", "production", "--image", f"{WEB}:{tag}", "--output", "json")
    (env,) = _on_github(tmp_path, github, *args).ok().json()["environments"]
    return dict(env)


def test_github_pull_request_from_the_templates_updated_in_place(
    tmp_path: Path, github: FakeGitHub
) -> None:
    bare = Path(github.root) / "acme" / "config.git"
    created = _github_production(tmp_path, github, "1.5.0")
    assert created["pull_request"]["operation"] == "created"
    (pull,) = github.pulls[("acme", "config")]
    assert (pull.head, pull.base) == (BRANCH, "main")
    assert pull.title == "Deploy web 1.5.0 to production"
    assert "<!-- promoter -->" in pull.body  # the body is promoter's own, as before
    assert set(pull.labels) == {"promotion", "production"}
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.5.0"
    )

    updated = _github_production(tmp_path, github, "1.5.1")
    assert updated["pull_request"]["operation"] == "updated"
    (pull,) = github.pulls[("acme", "config")]
    assert (pull.head, pull.title) == (BRANCH, "Deploy web 1.5.1 to production")
    assert updated["pull_request"]["number"] == created["pull_request"]["number"]
    assert github.count("POST", path_regex=r"/pulls$") == 1  # no second request
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.5.1"
    )

    calls = len(github.calls)
    again = _github_production(tmp_path, github, "1.5.1")
    assert (again["status"], again["pull_request"]["operation"]) == ("unchanged", "unchanged")
    assert [c.method for c in github.calls[calls:]] == ["GET"]  # found as it should be

    table = _on_github(tmp_path, github, "status").ok().stdout
    web = next(line for line in table.splitlines() if line.startswith("web "))
    assert web.rstrip().endswith("→ 1.5.1 in #1"), web


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=GL_TOKEN) as fake:
        fake.create_project("acme/config", _files())
        yield fake
        assert fake.errors == []


def _gitlab_production(tmp_path: Path, gitlab: FakeGitLab, tag: str) -> dict[str, Any]:
    promoter = Promoter(tmp_path / "gl-run", token=GL_TOKEN)
    promoter.tmpdir.mkdir(exist_ok=True)
    run = promoter.run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:{tag}",
        "--output", "json",
    )  # fmt: skip
    (env,) = run.ok().json()["environments"]
    return dict(env)


def test_gitlab_merge_request_from_the_templates_updated_in_place(
    tmp_path: Path, gitlab: FakeGitLab
) -> None:
    bare = gitlab.projects["acme/config"].bare
    created = _gitlab_production(tmp_path, gitlab, "1.5.0")
    assert created["pull_request"]["operation"] == "created"
    (request,) = gitlab.open_requests("acme/config")
    assert (request.source_branch, request.target_branch) == (BRANCH, "main")
    assert request.title == "Deploy web 1.5.0 to production"
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.5.0"
    )

    updated = _gitlab_production(tmp_path, gitlab, "1.6.0")
    assert updated["pull_request"]["operation"] == "updated"
    (request,) = gitlab.open_requests("acme/config")
    assert (request.iid, request.source_branch) == (1, BRANCH)
    assert request.title == "Deploy web 1.6.0 to production"
    creates = [c for c in gitlab.write_calls() if c.method == "POST" and "merge_requests" in c.path]
    assert len(creates) == 1  # no second merge request
    assert git(bare, "log", "-1", "--format=%s", BRANCH).strip() == (
        "chore(production): bump web:1.6.0"
    )
