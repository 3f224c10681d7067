"""The fake GitLab, driven by real python-gitlab: every resource promoter uses, GitLab's
rules for the commits API and merge requests, and the contract check itself (an answer that
breaks the OpenAPI subset is reported, so a passing test means a valid exchange)."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest
from gitlab.exceptions import GitlabCreateError, GitlabGetError

from .gitlab import FakeGitLab
from .gitlab import repository as gitlab_repository
from .gitlab import state as gitlab_state

TOKEN = "glpat-fake-token"
FILES = {
    "README.md": b"# config\n",
    "envs/staging/values.yaml": b"image:\n  tag: 1.4.1\n",
    "envs/production/values.yaml": b"image:\n  tag: 1.4.0\n",
    **{f"apps/app{i:02d}/kustomization.yaml": b"images: []\n" for i in range(7)},
}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as server:
        server.create_project("acme/config", FILES)
        yield server
    assert server.validation_errors == []


def _client(fake: FakeGitLab) -> gitlab.Gitlab:
    return gitlab.Gitlab(fake.url, private_token=TOKEN, retry_transient_errors=False)


def test_every_repository_read_validates(fake: FakeGitLab) -> None:
    project = _client(fake).projects.get("acme/config")
    assert project.default_branch == "main"
    tip = project.branches.get("main").commit["id"]
    assert project.commits.get(tip).parent_ids == []
    meta = project.files.get(file_path="envs/staging/values.yaml", ref="main")
    assert base64.b64decode(meta.content) == FILES["envs/staging/values.yaml"]
    assert meta.last_commit_id == tip
    raw = project.files.raw(file_path="envs/staging/values.yaml", ref=tip)
    assert raw == FILES["envs/staging/values.yaml"]
    # A recursive listing over several pages: python-gitlab follows the Link header.
    listing = project.repository_tree(recursive=True, ref=tip, per_page=3, get_all=True)
    blobs = sorted(i["path"] for i in listing if i["type"] == "blob")
    assert blobs == sorted(FILES)
    assert {i["mode"] for i in listing if i["type"] == "tree"} == {"040000"}
    listed = project.commits.list(query_parameters={"ref_name": "main", "per_page": 5})
    assert [c.id for c in listed] == [tip]
    assert project.repository_compare("main", "main")["compare_same_ref"] is True
    assert fake.schema_gaps  # the tree API is outside the subset, and says so
    assert all("repository/tree" in g or "compare" in g for g in fake.schema_gaps)


def test_commits_api_creates_resets_and_guards_like_gitlab(fake: FakeGitLab) -> None:
    project = _client(fake).projects.get("acme/config")
    main = project.branches.get("main").commit["id"]
    update = {
        "action": "update", "file_path": "envs/staging/values.yaml",
        "content": base64.b64encode(b"image:\n  tag: 1.5.0\n").decode(), "encoding": "base64",
    }  # fmt: skip
    first = project.commits.create(
        {"branch": "promote/x", "start_sha": main, "commit_message": "one", "actions": [update]}
    )
    assert first.parent_ids == [main]
    # The branch exists now: a start_sha without force is GitLab's 400.
    with pytest.raises(GitlabCreateError, match="already exists"):
        project.commits.create(
            {"branch": "promote/x", "start_sha": main, "commit_message": "two",
             "actions": [update]}
        )  # fmt: skip
    reset = project.commits.create(
        {"branch": "promote/x", "start_sha": main, "force": True, "commit_message": "three",
         "actions": [update]}
    )  # fmt: skip
    assert reset.parent_ids == [main]  # reset onto main: "one" is gone
    # The per-file compare-and-swap: a stale last_commit_id is refused.
    stale = {**update, "last_commit_id": "0" * 40}
    with pytest.raises(GitlabCreateError, match="has changed since you started editing"):
        project.commits.create({"branch": "main", "commit_message": "x", "actions": [stale]})
    fresh = {**update, "last_commit_id": main}
    landed = project.commits.create({"branch": "main", "commit_message": "y", "actions": [fresh]})
    assert landed.parent_ids == [main]
    with pytest.raises(GitlabCreateError, match="already exists"):
        project.commits.create(
            {"branch": "main", "commit_message": "z",
             "actions": [{**update, "action": "create"}]}
        )  # fmt: skip
    assert project.files.raw(file_path="envs/staging/values.yaml", ref="main") == (
        b"image:\n  tag: 1.5.0\n"
    )
    project.branches.delete("promote/x")
    with pytest.raises(GitlabGetError):
        project.branches.get("promote/x")


def test_merge_requests_are_unique_per_source_and_target(fake: FakeGitLab) -> None:
    project = _client(fake).projects.get("acme/config")
    main = project.branches.get("main").commit["id"]
    project.commits.create(
        {"branch": "promote/web", "start_sha": main, "commit_message": "p",
         "actions": [{"action": "create", "file_path": "new.txt", "content": "x"}]}
    )  # fmt: skip
    spec = {"source_branch": "promote/web", "target_branch": "main", "title": "T"}
    created = project.mergerequests.create({**spec, "labels": "a,b", "reviewer_ids": [12]})
    assert created.labels == ["a", "b"]
    with pytest.raises(GitlabCreateError) as raised:
        project.mergerequests.create(spec)
    assert raised.value.response_code == 409
    assert raised.value.error_message == [
        f"Another open merge request already exists for this source branch: !{created.iid}"
    ]
    project.mergerequests.update(created.iid, {"add_labels": "c", "squash": True})
    again = project.mergerequests.get(created.iid)
    assert again.labels == ["a", "b", "c"]
    assert again.squash is True
    with pytest.raises(Exception, match="SHA does not match"):
        again.merge(auto_merge=True, sha="f" * 40)


@pytest.mark.parametrize(
    ("term", "matches"),
    [
        ("^promote/", {"promote/a/web", "Promote/B/api", "promote/"}),
        ("promote/", {"promote/a/web", "Promote/B/api", "promote/", "x/promote/y"}),
        ("web$", {"promote/a/web", "web"}),
        ("^web$", {"web"}),
        ("^promote/*/api", {"Promote/B/api"}),
        ("^promotex", {"promotex/a"}),
        ("^", {"promote/a/web", "Promote/B/api", "promote/", "x/promote/y", "promotex/a", "web"}),
    ],
)
def test_branch_search_follows_gitlab(term: str, matches: set[str]) -> None:
    """`^` anchors at the start, `$` at the end, `*` is a wildcard, case is ignored, and
    anything else is a substring (GitLab's `GitRefsFinder`)."""
    names = ["promote/a/web", "Promote/B/api", "promote/", "x/promote/y", "promotex/a", "web"]
    assert {n for n in names if gitlab_repository.matches_search(n, term)} == matches


def test_branch_list_searches_and_pages(fake: FakeGitLab) -> None:
    bare = fake.projects["acme/config"].bare
    for name in ("promote/a/web", "promote/b/web", "promote/c/api", "promotex/a", "x/promote/a"):
        subprocess.run(["git", "branch", name, "main"], cwd=bare, check=True, timeout=60)
    project = _client(fake).projects.get("acme/config", lazy=True)

    found = project.branches.list(search="^promote/", per_page=2, get_all=True)

    assert [b.name for b in found] == ["promote/a/web", "promote/b/web", "promote/c/api"]
    assert [c.query.get("page") for c in fake.calls] == [None, "2"]
    assert fake.calls[1].query["search"] == "^promote/"
    assert [b.name for b in project.branches.list(search="web$", get_all=True)] == [
        "promote/a/web", "promote/b/web",
    ]  # fmt: skip
    assert [b.name for b in project.branches.list(regex="^promote/[ab]/", get_all=True)] == [
        "promote/a/web", "promote/b/web",
    ]  # fmt: skip
    assert len(project.branches.list(get_all=True)) == 6  # main too


def test_merge_request_list_filters_state_newest_first_and_pages(fake: FakeGitLab) -> None:
    project = _client(fake).projects.get("acme/config", lazy=True)
    main = project.branches.get("main").commit["id"]
    for index in range(3):
        project.commits.create(
            {"branch": f"promote/{index}", "start_sha": main, "commit_message": "p",
             "actions": [{"action": "create", "file_path": f"{index}.txt", "content": "x"}]}
        )  # fmt: skip
        project.mergerequests.create(
            {"source_branch": f"promote/{index}", "target_branch": "main", "title": f"T{index}"}
        )
    project.mergerequests.update(2, {"state_event": "close"})
    before = len(fake.calls)

    opened = project.mergerequests.list(state="opened", per_page=1, get_all=True)

    assert [m.iid for m in opened] == [3, 1]
    assert [c.query.get("page") for c in fake.calls[before:]] == [None, "2"]
    closed = project.mergerequests.list(state="closed", get_all=True)
    assert [m.iid for m in closed] == [2]
    everything = project.mergerequests.list(sort="asc", get_all=True)
    assert [m.iid for m in everything] == [1, 2, 3]


def test_an_answer_breaking_the_contract_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check can fail: a project answer without `default_branch` (required by the
    subset) ends the fake with an AssertionError naming the field."""
    original = gitlab_state.project_json

    def broken(url: str, project: gitlab_state.Project) -> gitlab_state.JSON:
        answer = dict(original(url, project))
        del answer["default_branch"]
        return answer

    monkeypatch.setattr("fakes.gitlab.server.project_json", broken)
    server = FakeGitLab(tmp_path / "gl", token=TOKEN).__enter__()
    server.create_project("acme/config", FILES)
    _client(server).projects.get("acme/config")  # the client itself is content
    with pytest.raises(AssertionError, match="default_branch"):
        server.__exit__(None, None, None)
