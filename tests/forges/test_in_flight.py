"""Promotions in flight as the forges and their API stores read them: the promotion branches
(`Store.branches`) and their open pull/merge requests (`Forge.open_requests`), each one
listing per page, against the fake forges with the real PyGithub and python-gitlab."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest
from fakes.github import FakeGitHub
from fakes.gitlab import FakeGitLab
from fakes.gitlab.state import MergeRequest

from promoter.errors import InputError
from promoter.forges.github import GitHubForge
from promoter.forges.gitlab import GitLabForge
from promoter.forges.local import LocalForge
from promoter.redact import Secret
from promoter.tree import GitStats

FILES = {"README.md": b"config\n", "envs/production/values.yaml": b"tag: 1.0.0\n"}
IN_FLIGHT = ("promote/staging/web", "promote/production/web", "promote/production/api+web")
OTHERS = ("promotex/production/web", "feature/promote/web", "Promote/production/db")
CLOSED = "promote/production/worker"
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}


def _git(bare: Path, *args: str) -> str:
    env = {**IDENTITY, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(
        ["git", *args], cwd=bare, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def _branch(bare: Path, name: str) -> str:
    """A branch one commit ahead of main (GitHub opens no pull request without commits)."""
    tree = _git(bare, "rev-parse", "main^{tree}")
    commit = _git(bare, "commit-tree", tree, "-p", "main", "-m", name)
    _git(bare, "update-ref", f"refs/heads/{name}", commit)
    return commit


# -- GitHub ------------------------------------------------------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", lifetime=120) as fake:
        fake.create_repo("acme", "config", FILES)
        yield fake
        assert fake.errors == []
        assert fake.validation_errors == []


def _github_forge(fake: FakeGitHub) -> GitHubForge:
    return GitHubForge(
        fake.git_url("acme", "config"),
        token=Secret(fake.token),
        api_url=fake.api_url,
        write_interval=0,
        sleep=lambda _: None,
    )


def _open_pulls(fake: FakeGitHub) -> dict[str, str]:
    """Every branch of IN_FLIGHT and OTHERS with an open pull request, CLOSED with a closed
    one, and `promote/production/idle` with none; returns the tips."""
    bare = fake.root / "acme" / "config.git"
    tips = {name: _branch(bare, name) for name in (*IN_FLIGHT, *OTHERS, CLOSED)}
    tips["promote/production/idle"] = _branch(bare, "promote/production/idle")
    repo = _github_forge(fake).client.get_repo("acme/config")
    for name in (*IN_FLIGHT, *OTHERS, CLOSED):
        pull = repo.create_pull(base="main", head=name, title=f"Promote {name}", body="b")
        if name == CLOSED:
            pull.edit(state="closed")
    return tips


def test_github_open_requests_are_the_open_pulls_of_the_prefix_in_one_call(
    github: FakeGitHub,
) -> None:
    _open_pulls(github)
    forge = _github_forge(github)
    forge.repo  # noqa: B018  (lazy: no request, but one counted call)
    calls, requests = forge.calls, len(github.calls)

    found = forge.open_requests("promote/")

    assert sorted(found) == sorted(IN_FLIGHT)
    pulls = {p.head: p for p in github.pulls[("acme", "config")]}
    for branch, request in found.items():
        assert request.number == pulls[branch].number
        assert request.url == f"{github.url}/acme/config/pull/{request.number}"
        assert (request.spec.head, request.spec.base) == (branch, "main")
        assert request.spec.title == f"Promote {branch}"
    assert forge.calls - calls == 1
    assert [(c.method, c.path, c.query) for c in github.calls[requests:]] == [
        ("GET", "/repos/acme/config/pulls", {"state": "open"})
    ]
    assert sorted(forge.open_requests("promote/production/")) == sorted(IN_FLIGHT[1:])


def test_github_store_branches_are_the_heads_of_open_pulls(github: FakeGitHub) -> None:
    tips = _open_pulls(github)
    store = _github_forge(github).store(GitStats())
    requests = len(github.calls)

    found = store.branches("promote/")

    # No listing of refs in the API subset: a branch is in flight through its open pull
    # request, so neither the closed one's branch nor `idle` (none) is listed.
    assert found == {name: tips[name] for name in IN_FLIGHT}
    assert len(github.calls) - requests == 1
    assert store.branches("promote/staging/") == {IN_FLIGHT[0]: tips[IN_FLIGHT[0]]}


def test_github_open_requests_follow_the_pages(github: FakeGitHub) -> None:
    """PyGithub's 30 a page: 31 open pull requests are two requests, one counted call."""
    bare = github.root / "acme" / "config.git"
    repo = _github_forge(github).client.get_repo("acme/config")
    ahead = _branch(bare, "promote/env00/web")  # one commit ahead of main serves every branch
    refs = "".join(f"update refs/heads/promote/env{i:02d}/web {ahead}\n" for i in range(1, 31))
    subprocess.run(
        ["git", "update-ref", "--stdin"], cwd=bare, input=refs, text=True, check=True, timeout=60
    )
    for index in range(31):
        repo.create_pull(base="main", head=f"promote/env{index:02d}/web", title="t", body="b")
    forge = _github_forge(github)
    requests = len(github.calls)

    found = forge.open_requests("promote/")

    assert len(found) == 31
    listed = github.calls[requests:]
    assert [c.path for c in listed] == ["/repos/acme/config/pulls"] * 2
    assert listed[1].query == {"state": "open", "page": "2"}


# -- GitLab ------------------------------------------------------------------------------------

TOKEN = "glpat-in-flight"


@pytest.fixture
def gitlab_fake(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        fake.create_project("acme/config", FILES)
        yield fake


def _gitlab_forge(fake: FakeGitLab) -> GitLabForge:
    return GitLabForge(
        fake.git_url("acme/config"), token=Secret(TOKEN), api_url=fake.url, sleep=lambda _: None
    )


def _open_merge_requests(fake: FakeGitLab) -> dict[str, str]:
    """As `_open_pulls`, on GitLab."""
    bare = fake.projects["acme/config"].bare
    tips = {name: _branch(bare, name) for name in (*IN_FLIGHT, *OTHERS, CLOSED)}
    tips["promote/production/idle"] = _branch(bare, "promote/production/idle")
    project = gitlab.Gitlab(fake.url, private_token=TOKEN).projects.get("acme/config", lazy=True)
    for name in (*IN_FLIGHT, *OTHERS, CLOSED):
        spec = {"source_branch": name, "target_branch": "main", "title": f"Promote {name}"}
        created = project.mergerequests.create(spec)
        if name == CLOSED:
            project.mergerequests.update(created.iid, {"state_event": "close"})
    return tips


def test_gitlab_open_requests_are_the_opened_merge_requests_of_the_prefix_in_one_call(
    gitlab_fake: FakeGitLab,
) -> None:
    _open_merge_requests(gitlab_fake)
    forge = _gitlab_forge(gitlab_fake)
    requests = len(gitlab_fake.calls)

    found = forge.open_requests("promote/")

    assert sorted(found) == sorted(IN_FLIGHT)
    iids = {m.source_branch: m.iid for m in gitlab_fake.projects["acme/config"].merge_requests}
    for branch, request in found.items():
        assert request.number == iids[branch]
        assert request.url == f"{gitlab_fake.url}/acme/config/-/merge_requests/{request.number}"
        assert (request.spec.head, request.spec.base) == (branch, "main")
        assert request.spec.title == f"Promote {branch}"
    assert forge.calls == 1
    (listed,) = gitlab_fake.calls[requests:]
    assert listed.path == "/api/v4/projects/acme%2Fconfig/merge_requests"
    assert listed.query["state"] == "opened"
    assert listed.query["per_page"] == "100"


def test_gitlab_store_branches_search_the_prefix_and_keep_it_exactly(
    gitlab_fake: FakeGitLab,
) -> None:
    tips = _open_merge_requests(gitlab_fake)
    store = _gitlab_forge(gitlab_fake).store(GitStats())
    requests = len(gitlab_fake.calls)

    found = store.branches("promote/")

    # Every branch under the prefix, with or without a request; GitLab's search ignores
    # case, so `Promote/production/db` came back and was dropped here.
    wanted = (*IN_FLIGHT, CLOSED, "promote/production/idle")
    assert found == {name: tips[name] for name in wanted}
    (listed,) = gitlab_fake.calls[requests:]
    assert listed.path == "/api/v4/projects/acme%2Fconfig/repository/branches"
    assert listed.query == {"search": "^promote/", "per_page": "100"}
    assert sorted(store.branches("promote/production/")) == sorted(
        [IN_FLIGHT[1], IN_FLIGHT[2], CLOSED, "promote/production/idle"]
    )


def test_gitlab_open_requests_follow_the_pages(gitlab_fake: FakeGitLab) -> None:
    """100 a page: 101 opened merge requests are two requests."""
    project = gitlab_fake.projects["acme/config"]
    _branch(project.bare, "promote/production/web")
    for iid in range(1, 102):
        target = f"env{iid}"
        project.merge_requests.append(
            MergeRequest(500 + iid, iid, project.id, "promote/production/web", target, "t")
        )
    forge = _gitlab_forge(gitlab_fake)

    found = forge.open_requests("promote/")

    # One head, 101 targets: the newest one is kept.
    assert {b: r.number for b, r in found.items()} == {"promote/production/web": 101}
    assert [c.query.get("page") for c in gitlab_fake.calls] == [None, "2"]


def test_store_branches_refuse_a_prefix_that_is_a_pattern(gitlab_fake: FakeGitLab) -> None:
    store = _gitlab_forge(gitlab_fake).store(GitStats())
    with pytest.raises(InputError, match="not a branch-name prefix"):
        store.branches("promote/*")
    assert gitlab_fake.calls == []


def test_local_forge_has_no_requests_to_list() -> None:
    assert LocalForge("/tmp/config").open_requests("promote/") == {}
