"""The fake GitHub, driven by real PyGithub and the plain git CLI.

The system under test is the fake itself, so raw git subprocesses are fine here; promoter's
code goes through `repo`. Every test ends with no server-thread errors and no openapi-core
validation errors (the documented schema gaps are collected apart, in `schema_gaps`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    GithubIntegration,
    GithubRetry,
    InputGitTreeElement,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository

from .github import FakeGitHub

OWNER, NAME = "acme", "config"
FILES = {
    "README.md": b"config repo\n",
    "envs/staging/values.yaml": b"image:\n  repository: acme/web\n  tag: 1.4.1\n",
    "envs/prod/values.yaml": b"image:\n  repository: acme/web\n  tag: 1.4.0\n",
}
IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c", "commit.gpgSign=false")


@pytest.fixture
def fake(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FakeGitHub]:
    """A fake with acme/config; `indirect` parametrization picks the layout."""
    layout = getattr(request, "param", "github.com")
    with FakeGitHub(tmp_path / "forge", layout=layout, lifetime=120) as server:
        server.create_repo(OWNER, NAME, FILES)
        yield server
        assert server.errors == []
        assert server.validation_errors == []


def client(fake: FakeGitHub, token: str | None = None, **options: object) -> Github:
    settings: dict[str, object] = {
        "retry": None,
        "seconds_between_requests": 0,
        "seconds_between_writes": 0,
    }
    settings.update(options)
    return Github(base_url=fake.api_url, auth=Auth.Token(token or fake.token), **settings)  # type: ignore[arg-type]


def repo_of(fake: FakeGitHub) -> Repository:
    return client(fake).get_repo(f"{OWNER}/{NAME}")


def git(
    *args: str, cwd: Path | None = None, token: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """git with the token as an extra header (tests of the fake only; promoter uses env)."""
    auth = ("-c", f"http.extraHeader=Authorization: Bearer {token}") if token else ()
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    result = subprocess.run(
        ["git", *IDENTITY, *auth, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def push_branch(
    fake: FakeGitHub,
    work: Path,
    branch: str,
    files: dict[str, bytes],
    *,
    start: str = "main",
    check: bool = True,
) -> str:
    """Clone over the fake's smart-HTTP endpoint, commit `files` on `start`, push to `branch`."""
    if work.exists():
        git("fetch", "-q", "origin", cwd=work, token=fake.token)
    else:
        git("clone", "-q", fake.git_url(OWNER, NAME), str(work), token=fake.token)
    git("checkout", "-q", "-B", "work", f"origin/{start}", cwd=work)
    for path, content in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(content)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", f"Change {branch}", cwd=work)
    pushed = git(
        "push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work, token=fake.token, check=check
    )
    if pushed.returncode != 0:
        return pushed.stderr
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def raw_request(
    fake: FakeGitHub, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, str], object]:
    """One request with urllib, to see headers exactly as sent (and send what PyGithub won't)."""
    request = urllib.request.Request(
        fake.api_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"token {token or fake.token}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), json.loads(error.read())


STAGING = {"envs/staging/values.yaml": b"image:\n  repository: acme/web\n  tag: 1.4.2\n"}


# -- repository, user, headers ----------------------------------------------------------------


@pytest.mark.parametrize("fake", ["github.com", "ghes"], indirect=True)
def test_repo_get_returns_full_repository_on_both_layouts(fake: FakeGitHub) -> None:
    repo = repo_of(fake)

    assert repo.default_branch == "main"
    assert repo.permissions.push is True
    assert repo.clone_url == fake.git_url(OWNER, NAME)
    assert repo.url == f"{fake.api_url}/repos/acme/config"
    assert fake.api_url.endswith("/api/v3") == (fake.layout == "ghes")
    assert client(fake).get_user().login == "promoter-bot"
    assert fake.count("GET", "/repos/acme/config") == 1
    assert fake.calls[0].path.endswith("/repos/acme/config")
    assert fake.write_calls == 0


def test_every_response_has_rate_limit_headers_and_json_type(fake: FakeGitHub) -> None:
    status, headers, body = raw_request(fake, "GET", "/repos/acme/config")
    missing_status, missing_headers, missing = raw_request(fake, "GET", "/repos/acme/nope")

    assert status == 200
    assert isinstance(body, dict)
    assert body["full_name"] == "acme/config"
    for seen in (headers, missing_headers):
        assert seen["Content-Type"] == "application/json; charset=utf-8"
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= {
            k.lower() for k in seen
        }
    assert int(missing_headers["x-ratelimit-used"]) == int(headers["x-ratelimit-used"]) + 1
    assert missing_status == 404
    assert missing == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
        "status": "404",
    }


def test_missing_or_wrong_authorization_is_401(fake: FakeGitHub) -> None:
    request = urllib.request.Request(fake.api_url + "/repos/acme/config")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request, timeout=10)
    status, _, body = raw_request(fake, "GET", "/user", token="ghs_other")

    assert missing.value.code == 401
    assert json.loads(missing.value.read())["message"] == "Bad credentials"
    assert (status, body) == (
        401,
        {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        },
    )


def test_get_repo_unknown_raises_unknown_object(fake: FakeGitHub) -> None:
    with pytest.raises(UnknownObjectException) as caught:
        client(fake).get_repo("acme/missing")
    assert caught.value.status == 404


def test_get_user_with_app_token_is_forbidden(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path, app_token=True) as fake:
        with pytest.raises(GithubException) as caught:
            _ = client(fake).get_user().login
        assert caught.value.status == 403
        assert caught.value.message == "Resource not accessible by integration"
        assert fake.validation_errors == []


# -- pull requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("fake", ["github.com", "ghes"], indirect=True)
def test_create_pull_duplicate_open_pull_raises_422(fake: FakeGitHub, tmp_path: Path) -> None:
    head_sha = push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)

    pr = repo.create_pull(base="main", head="promote/web/staging", title="Promote web", body="b")
    with pytest.raises(GithubException) as caught:
        repo.create_pull(base="main", head="promote/web/staging", title="Again", body="b")

    assert (pr.number, pr.head.sha, pr.head.ref, pr.base.ref) == (
        1,
        head_sha,
        "promote/web/staging",
        "main",
    )
    assert pr.mergeable is None  # not computed yet right after create
    assert type(caught.value) is GithubException
    assert caught.value.status == 422
    assert caught.value.message == "Validation Failed"
    assert caught.value.data["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:promote/web/staging.",
        }
    ]
    assert [p.number for p in fake.pulls[(OWNER, NAME)]] == [1]
    assert repo.get_pull(1).mergeable_state == "clean"


def test_list_pulls_filters_by_owner_head_and_ignores_bare_head(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    push_branch(fake, tmp_path / "work", "promote/web/prod", {"envs/prod/values.yaml": b"x: 1\n"})
    repo = repo_of(fake)
    repo.create_pull(base="main", head="promote/web/staging", title="staging")
    repo.create_pull(base="main", head="acme:promote/web/prod", title="prod")

    by_owner = repo.get_pulls(state="open", head="acme:promote/web/staging", base="main")
    bare = repo.get_pulls(state="open", head="promote/web/staging", base="main")
    other_owner = repo.get_pulls(state="open", head="someone:promote/web/staging")

    assert [p.title for p in by_owner] == ["staging"]
    assert sorted(p.title for p in bare) == ["prod", "staging"]  # GitHub ignores it too
    assert list(other_owner) == []
    assert fake.calls[-3].query == {
        "base": "main",
        "head": "acme:promote/web/staging",
        "state": "open",
    }


def test_list_pulls_paginates_with_exact_link_header(fake: FakeGitHub, tmp_path: Path) -> None:
    for index in range(3):
        push_branch(fake, tmp_path / "work", f"b{index}", {f"f{index}.txt": b"x\n"})
        repo_of(fake).create_pull(base="main", head=f"b{index}", title=f"t{index}")

    status, headers, first = raw_request(
        fake, "GET", "/repos/acme/config/pulls?state=open&per_page=2"
    )
    _, second_headers, second = raw_request(
        fake, "GET", "/repos/acme/config/pulls?state=open&per_page=2&page=2"
    )
    titles = [p.title for p in client(fake, per_page=2).get_repo("acme/config").get_pulls()]

    base = f"{fake.api_url}/repos/acme/config/pulls?state=open&per_page=2"
    assert status == 200
    assert headers["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=2>; rel="last"'
    assert isinstance(first, list)
    assert [p["number"] for p in first] == [3, 2]
    assert second_headers["Link"] == f'<{base}&page=1>; rel="prev", <{base}&page=1>; rel="first"'
    assert isinstance(second, list)
    assert [p["number"] for p in second] == [1]
    assert titles == ["t2", "t1", "t0"]


def test_create_pull_without_commits_or_branch_raises_422(fake: FakeGitHub) -> None:
    repo = repo_of(fake)
    repo.create_git_ref("refs/heads/same", repo.get_branch("main").commit.sha)

    with pytest.raises(GithubException) as nothing:
        repo.create_pull(base="main", head="same", title="t")
    with pytest.raises(GithubException) as missing:
        repo.create_pull(base="main", head="nope", title="t")

    assert nothing.value.status == 422
    assert nothing.value.data["errors"][0]["message"] == "No commits between main and same"
    assert missing.value.data["errors"] == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]


def test_pull_edit_labels_reviewers_assignees_comment(fake: FakeGitHub, tmp_path: Path) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    pr = repo.create_pull(base="main", head="promote/web/staging", title="t1", body="b1")

    repo.create_git_ref("refs/heads/release", repo.get_branch("main").commit.sha)
    pr.edit(title="t2", body="b2 <!-- promoter:web/staging -->", base="release")
    with pytest.raises(GithubException) as bad_base:
        pr.edit(base="no-such-branch")
    pr.add_to_labels("promotion", "env:staging")
    pr.set_labels("promotion", "auto")
    pr.remove_from_labels("auto")
    pr.create_review_request(reviewers=["alice"], team_reviewers=["platform"])
    pr.create_review_request(reviewers=["alice"])  # already requested: accepted
    pr.add_to_assignees("bob")
    comment = pr.create_issue_comment("Superseded by #2")
    with pytest.raises(GithubException) as self_review:
        pr.create_review_request(reviewers=["promoter-bot"])
    fresh = repo.get_pull(pr.number)

    state = fake.pulls[(OWNER, NAME)][0]
    assert (state.title, state.body, state.base) == (
        "t2",
        "b2 <!-- promoter:web/staging -->",
        "release",
    )
    assert fresh.base.ref == "release"
    assert bad_base.value.data["errors"] == [
        {"resource": "PullRequest", "field": "base", "code": "invalid"}
    ]
    assert state.labels == ["promotion"]
    assert (state.requested_reviewers, state.requested_teams) == (["alice"], ["platform"])
    assert state.assignees == ["bob"]
    assert [c.body for c in state.comments] == ["Superseded by #2"]
    assert comment.body == "Superseded by #2"
    assert [label.name for label in fresh.labels] == ["promotion"]
    assert [u.login for u in fresh.requested_reviewers] == ["alice"]
    assert [t.slug for t in fresh.requested_teams] == ["platform"]
    assert [u.login for u in fresh.assignees] == ["bob"]
    assert fresh.comments == 1
    assert self_review.value.status == 422
    assert self_review.value.message == "Review cannot be requested from pull request author."
    assert fake.count("POST", "/issues/1/labels") == 1
    assert fake.count("POST", "/pulls") == 4  # the create and three review requests
    assert fake.count("POST", path_regex=r"/pulls$") == 1
    assert fake.count("PATCH") == 2
    labels_call = next(c for c in fake.calls if c.method == "POST" and c.path.endswith("/labels"))
    assert labels_call.request_json == ["promotion", "env:staging"]


def test_close_pull_allows_a_new_one_and_reopen_of_duplicate_fails(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    first = repo.create_pull(base="main", head="promote/web/staging", title="first")

    first.edit(state="closed")
    second = repo.create_pull(base="main", head="promote/web/staging", title="second")
    with pytest.raises(GithubException) as reopen:
        first.edit(state="open")

    assert [(p.number, p.state) for p in fake.pulls[(OWNER, NAME)]] == [(1, "closed"), (2, "open")]
    assert second.number == 2
    assert reopen.value.status == 422
    closed = repo.get_pulls(state="closed")
    assert [p.number for p in closed] == [1]


def test_delete_head_ref_closes_the_pull(fake: FakeGitHub, tmp_path: Path) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    pr = repo.create_pull(base="main", head="promote/web/staging", title="t")

    repo.get_git_ref("heads/promote/web/staging").delete()
    with pytest.raises(UnknownObjectException):
        repo.get_git_ref("heads/promote/web/staging")

    assert repo.get_pull(pr.number).state == "closed"
    assert fake.count("DELETE", "/git/refs/heads/promote/web/staging") == 1


def test_merge_fast_forwards_base_and_clone_sees_it(fake: FakeGitHub, tmp_path: Path) -> None:
    head = push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    pr = repo.create_pull(base="main", head="promote/web/staging", title="t")

    status = pr.merge(merge_method="merge", sha=head)
    git("clone", "-q", fake.git_url(OWNER, NAME), str(tmp_path / "after"), token=fake.token)

    assert (status.merged, status.sha) == (True, head)
    assert repo.get_branch("main").commit.sha == head
    assert (tmp_path / "after/envs/staging/values.yaml").read_bytes() == STAGING[
        "envs/staging/values.yaml"
    ]
    fresh = repo.get_pull(pr.number)
    assert (fresh.merged, fresh.state, fresh.merge_commit_sha) == (True, "closed", head)


def test_merge_diverged_base_writes_merge_or_squash_commit(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    push_branch(fake, work, "a", {"a.txt": b"a\n"})
    push_branch(fake, work, "b", {"b.txt": b"b\n"})
    repo = repo_of(fake)
    pr_a = repo.create_pull(base="main", head="a", title="A")
    pr_b = repo.create_pull(base="main", head="b", title="B")
    pr_a.merge(merge_method="merge")

    squashed = pr_b.merge(merge_method="squash")
    merged_a = repo.get_git_commit(repo.get_pull(1).merge_commit_sha)
    squash = repo.get_git_commit(squashed.sha)
    tree = repo.get_git_tree(squashed.sha, recursive=True)

    assert len(merged_a.parents) == 1  # fast-forward: main had not moved
    assert len(squash.parents) == 1
    assert squash.message.startswith("B (#2)")
    assert {"a.txt", "b.txt", "envs/staging/values.yaml"} <= {e.path for e in tree.tree}
    assert repo.get_commit(squashed.sha).commit.verification.verified is True  # web-flow signed


def test_merge_helper_writes_merge_commit_when_base_moved(fake: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    push_branch(fake, work, "a", {"a.txt": b"a\n"})
    push_branch(fake, work, "main", {"m.txt": b"m\n"})
    repo = repo_of(fake)
    repo.create_pull(base="main", head="a", title="A")

    fake.merge(OWNER, NAME, 1)

    main = repo.get_git_commit(repo.get_branch("main").commit.sha)
    assert len(main.parents) == 2
    assert fake.pulls[(OWNER, NAME)][0].merged is True


def test_merge_rebase_replays_head_commits_on_moved_base(fake: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    head = push_branch(fake, work, "a", {"a.txt": b"a\n"})
    moved = push_branch(fake, work, "main", {"m.txt": b"m\n"})
    repo = repo_of(fake)
    pr = repo.create_pull(base="main", head="a", title="A")

    status = pr.merge(merge_method="rebase")

    rebased = repo.get_git_commit(status.sha)
    assert status.sha != head
    assert [p.sha for p in rebased.parents] == [moved]
    assert rebased.message == "Change a\n"  # git-pushed messages end in a newline
    assert {"a.txt", "m.txt"} <= {
        e.path for e in repo.get_git_tree(status.sha, recursive=True).tree
    }


def test_merge_conflict_405_and_stale_sha_409(fake: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    push_branch(fake, work, "a", {"README.md": b"a\n"})
    push_branch(fake, work, "main", {"README.md": b"main\n"})
    push_branch(fake, work, "b", {"b.txt": b"b\n"})
    repo = repo_of(fake)
    conflicting = repo.create_pull(base="main", head="a", title="A")
    clean = repo.create_pull(base="main", head="b", title="B")

    with pytest.raises(GithubException) as conflict:
        conflicting.merge()
    with pytest.raises(GithubException) as stale:
        clean.merge(sha="0" * 40)

    assert (conflict.value.status, conflict.value.message) == (405, "Pull Request is not mergeable")
    assert repo.get_pull(1).mergeable_state == "dirty"
    assert stale.value.status == 409
    assert stale.value.message == "Head branch was modified. Review and try the merge again."


def test_push_of_head_into_base_marks_pull_merged(fake: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    head = push_branch(fake, work, "promote/web/staging", STAGING)
    repo = repo_of(fake)
    repo.create_pull(base="main", head="promote/web/staging", title="t")

    git("push", "-q", "origin", f"{head}:refs/heads/main", cwd=work, token=fake.token)

    assert repo.get_pull(1).merged is True


# -- Git Data API -----------------------------------------------------------------------------


@pytest.mark.parametrize("fake", ["github.com", "ghes"], indirect=True)
def test_git_data_commit_and_ref_update_with_fast_forward_guard(fake: FakeGitHub) -> None:
    repo = repo_of(fake)
    main = repo.get_git_ref("heads/main")
    parent = repo.get_git_commit(main.object.sha)

    blob = repo.create_git_blob("image:\n  tag: 1.4.2\n", "utf-8")
    binary = repo.create_git_blob("AAEC", "base64")
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("envs/staging/values.yaml", "100644", "blob", sha=blob.sha),
            InputGitTreeElement("new/deep/file.bin", "100644", "blob", sha=binary.sha),
            InputGitTreeElement("envs/prod/values.yaml", "100644", "blob", sha=None),
            InputGitTreeElement("inline.txt", "100644", "blob", content="inline\n"),
        ],
        base_tree=parent.tree,
    )
    commit = repo.create_git_commit("Promote web\n\nPromoted-by: promoter", tree, [parent])
    ref = repo.create_git_ref("refs/heads/promote/web/staging", commit.sha)
    sibling = repo.create_git_commit("sibling", parent.tree, [parent])
    with pytest.raises(GithubException) as not_ff:
        ref.edit(sibling.sha, force=False)
    ref.edit(sibling.sha, force=True)

    listed = repo.get_git_tree(commit.sha, recursive=True)
    paths = {e.path: e.type for e in listed.tree}
    assert paths["new/deep/file.bin"] == "blob"
    assert paths["new/deep"] == "tree"
    assert "envs/prod/values.yaml" not in paths
    assert "README.md" in paths
    assert {e.path for e in repo.get_git_tree(commit.sha).tree} == {
        "README.md",
        "envs",
        "inline.txt",
        "new",
    }
    assert repo.get_git_blob(binary.sha).content.strip() == "AAEC"
    assert commit.message == "Promote web\n\nPromoted-by: promoter"
    assert commit.parents[0].sha == parent.sha
    assert not_ff.value.status == 422
    assert not_ff.value.message == "Update is not a fast forward"
    assert repo.get_git_ref("heads/promote/web/staging").object.sha == sibling.sha
    patch = next(c for c in fake.calls if c.method == "PATCH")
    assert patch.request_json == {"sha": sibling.sha, "force": False}
    assert patch.path.endswith("/git/refs/heads/promote/web/staging")


def test_git_data_rejects_wrong_object_types(fake: FakeGitHub) -> None:
    repo = repo_of(fake)
    commit = repo.get_git_commit(repo.get_branch("main").commit.sha)

    tree_entry = {"path": "x", "mode": "100644", "type": "blob", "content": "x"}
    base_tree = raw_request(  # PyGithub asserts a GitTree; GitHub gets a commit sha anyway
        fake,
        "POST",
        "/repos/acme/config/git/trees",
        {"tree": [tree_entry], "base_tree": commit.sha},
    )
    not_a_tree = raw_request(
        fake, "POST", "/repos/acme/config/git/commits", {"message": "m", "tree": commit.sha}
    )
    with pytest.raises(GithubException) as missing_path:
        repo.create_git_tree(
            [InputGitTreeElement("nope.txt", "100644", "blob", sha=None)], base_tree=commit.tree
        )
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/main", commit.sha)
    with pytest.raises(GithubException) as bad_base64:
        repo.create_git_blob("@@@", "base64")

    assert base_tree[0] == 422
    assert base_tree[2]["message"] == "base_tree is not a valid tree oid"  # type: ignore[index]
    assert not_a_tree[0] == 422
    assert not_a_tree[2]["message"] == "Tree SHA is not a tree object"  # type: ignore[index]
    assert missing_path.value.status == 422
    assert (exists.value.status, exists.value.message) == (422, "Reference already exists")
    assert bad_base64.value.status == 422
    # the blob 422 is oneOf two error schemas that both match: a gap, filed apart
    assert [g for g in fake.schema_gaps if "git/blobs" in g] != []


def test_contents_file_directory_and_missing(fake: FakeGitHub) -> None:
    repo = repo_of(fake)

    file = repo.get_contents("envs/staging/values.yaml", ref="main")
    listing = repo.get_contents("envs", ref="main")
    with pytest.raises(UnknownObjectException):
        repo.get_contents("envs/nope.yaml", ref="main")
    with pytest.raises(GithubException) as bad_ref:
        repo.get_contents("README.md", ref="no-such-branch")

    assert not isinstance(file, list)
    assert file.decoded_content == FILES["envs/staging/values.yaml"]
    blobs = {e.path: e.sha for e in repo.get_git_tree("main", recursive=True).tree}
    assert file.sha == blobs["envs/staging/values.yaml"]
    assert isinstance(listing, list)
    assert sorted((c.path, c.type) for c in listing) == [
        ("envs/prod", "dir"),
        ("envs/staging", "dir"),
    ]
    assert (bad_ref.value.status, bad_ref.value.message) == (
        404,
        "No commit found for the ref no-such-branch",
    )
    assert type(bad_ref.value) is GithubException  # the message lacks "not found"


@pytest.mark.parametrize("app_token", [True, False])
def test_commit_verification_depends_on_token_and_origin(tmp_path: Path, app_token: bool) -> None:
    with FakeGitHub(tmp_path / "forge", app_token=app_token) as fake:
        fake.create_repo(OWNER, NAME, FILES)
        pushed = push_branch(fake, tmp_path / "work", "pushed", {"p.txt": b"p\n"})
        repo = repo_of(fake)
        parent = repo.get_git_commit(pushed)
        api_commit = repo.create_git_commit("api", parent.tree, [parent])

        via_commits = repo.get_commit(api_commit.sha).commit.verification
        pushed_verification = repo.get_commit(pushed).commit.verification

        assert api_commit.verification.verified is app_token
        assert via_commits.verified is app_token
        assert via_commits.reason == ("valid" if app_token else "unsigned")
        assert (pushed_verification.verified, pushed_verification.reason) == (False, "unsigned")
        assert fake.validation_errors == []


def test_compare_reports_ahead_behind_and_files(fake: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    head = push_branch(fake, work, "promote/web/staging", STAGING)
    repo = repo_of(fake)

    ahead = repo.compare("main", "promote/web/staging")
    behind = repo.compare("promote/web/staging", "main")
    identical = repo.compare("main", "main")

    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 1, 0)
    assert [c.sha for c in ahead.commits] == [head]
    assert [(f.filename, f.status, f.additions, f.deletions) for f in ahead.files] == [
        ("envs/staging/values.yaml", "modified", 1, 1)
    ]
    assert "+  tag: 1.4.2" in (ahead.files[0].patch or "")
    assert (behind.status, behind.behind_by) == ("behind", 1)
    assert identical.status == "identical"
    # pushed by dev@example.com, an email no account has: GitHub sends author null (a gap)
    assert any("base_commit/author" in gap for gap in fake.schema_gaps)
    assert fake.calls[-1].query == {"page": "1"}


# -- branch protection ------------------------------------------------------------------------


def test_branch_protection_signatures_refuse_unsigned_pushes(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "forge", app_token=True) as fake:
        fake.create_repo(OWNER, NAME, FILES)
        repo = repo_of(fake)
        with pytest.raises(GithubException) as unprotected:
            repo.get_branch("main").get_protection()

        fake.set_branch_protection(OWNER, NAME, "main", required_signatures=True)
        branch = repo.get_branch("main")
        rejected = push_branch(fake, tmp_path / "work", "main", {"x.txt": b"x\n"}, check=False)
        git("commit", "-q", "--amend", "-m", "rewritten", cwd=tmp_path / "work")
        parent = repo.get_git_commit(branch.commit.sha)
        signed = repo.create_git_commit("api", parent.tree, [parent])
        repo.get_git_ref("heads/main").edit(signed.sha)
        git("reset", "-q", "--hard", branch.commit.sha, cwd=tmp_path / "work")
        forced = git(
            "push",
            "-q",
            "--force",
            "origin",
            "HEAD:refs/heads/main",
            cwd=tmp_path / "work",
            token=fake.token,
            check=False,
        )
        deleted = git(
            "push",
            "-q",
            "origin",
            ":refs/heads/main",
            cwd=tmp_path / "work",
            token=fake.token,
            check=False,
        )

        assert (unprotected.value.status, unprotected.value.message) == (
            404,
            "Branch not protected",
        )
        assert branch.protected is True
        assert branch.get_required_signatures() is True
        assert branch.get_protection().required_signatures is True
        assert "Commits must have verified signatures." in rejected
        assert "Cannot force-push to this branch" in forced.stderr
        assert "Cannot delete this branch" in deleted.stderr
        assert repo.get_branch("main").commit.sha == signed.sha
        assert fake.validation_errors == []


def test_branch_protection_refuses_unsigned_api_ref_update(fake: FakeGitHub) -> None:
    fake.set_branch_protection(OWNER, NAME, "main", required_signatures=True)
    repo = repo_of(fake)
    parent = repo.get_git_commit(repo.get_branch("main").commit.sha)
    unsigned = repo.create_git_commit("api", parent.tree, [parent])

    with pytest.raises(GithubException) as caught:
        repo.get_git_ref("heads/main").edit(unsigned.sha)

    assert caught.value.status == 422
    assert "Commits must have verified signatures." in (caught.value.message or "")


# -- auto-merge (GraphQL) -----------------------------------------------------------------------


@pytest.mark.parametrize("fake", ["github.com", "ghes"], indirect=True)
def test_enable_automerge_records_it_when_checks_are_required(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.set_branch_protection(
        OWNER, NAME, "main", required_signatures=False, required_status_checks=["ci"]
    )
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    pr = repo.create_pull(base="main", head="promote/web/staging", title="t")

    result = pr.enable_automerge(merge_method="SQUASH")
    blocked = repo.get_pull(pr.number)
    with pytest.raises(GithubException) as rest_merge:
        blocked.merge()
    fake.merge(OWNER, NAME, pr.number)

    assert result["actor"]["login"] == "promoter-bot"
    assert blocked.mergeable_state == "blocked"
    assert blocked.raw_data["auto_merge"]["merge_method"] == "squash"
    assert blocked.raw_data["auto_merge"]["enabled_by"]["login"] == "promoter-bot"
    assert rest_merge.value.status == 405
    assert fake.pulls[(OWNER, NAME)][0].merged is True
    graphql = next(c for c in fake.calls if c.path.endswith("/graphql"))
    assert graphql.path == ("/graphql" if fake.layout == "github.com" else "/api/graphql")
    assert graphql.request_json["variables"]["input"] == {
        "pullRequestId": pr.node_id,
        "mergeMethod": "SQUASH",
    }


def test_enable_automerge_on_clean_pull_fails_like_github(fake: FakeGitHub, tmp_path: Path) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    pr = repo_of(fake).create_pull(base="main", head="promote/web/staging", title="t")

    with pytest.raises(GithubException) as caught:
        pr.enable_automerge(merge_method="SQUASH")

    assert caught.value.status == 400
    assert (
        caught.value.data["errors"][0]["message"] == "Pull request Pull request is in clean status"
    )
    assert fake.pulls[(OWNER, NAME)][0].auto_merge is None


def test_enable_automerge_not_allowed_and_unknown_node(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "forge") as fake:
        fake.create_repo(OWNER, NAME, FILES, allow_auto_merge=False, collaborators=["alice"])
        push_branch(fake, tmp_path / "work", "b", {"b.txt": b"b\n"})
        pr = repo_of(fake).create_pull(base="main", head="b", title="t")

        with pytest.raises(GithubException) as not_allowed:
            pr.enable_automerge()
        with pytest.raises(GithubException) as outsider:
            pr.create_review_request(reviewers=["mallory"])
        pr.add_to_assignees("alice", "mallory")
        fake.pulls[(OWNER, NAME)][0].node_id = "PR_gone"
        with pytest.raises(UnknownObjectException) as unknown:
            pr.enable_automerge()

        assert (
            not_allowed.value.data["errors"][0]["message"]
            == "Auto merge is not allowed for this repository"
        )
        assert unknown.value.status == 404
        assert outsider.value.status == 422
        assert (outsider.value.message or "").startswith(
            "Reviews may only be requested from collaborators."
        )
        assert fake.pulls[(OWNER, NAME)][0].assignees == ["alice"]  # mallory dropped silently
        assert fake.validation_errors == []


# -- faults -------------------------------------------------------------------------------------


def test_fail_502_is_a_plain_github_exception_without_retry(fake: FakeGitHub) -> None:
    fake.fail_502("GET", r"/repos/acme/config$")

    with pytest.raises(GithubException) as caught:
        client(fake).get_repo("acme/config")
    repo = client(fake).get_repo("acme/config")

    assert (caught.value.status, caught.value.data) == (502, {"message": "Server Error"})
    assert repo.name == "config"
    assert [c.status for c in fake.calls] == [502, 200]


def test_fail_502_is_retried_by_github_retry(fake: FakeGitHub) -> None:
    fake.fail_502("GET", r"/repos/acme/config$", times=2)

    repo = client(fake, retry=GithubRetry(total=3, backoff_factor=0)).get_repo("acme/config")

    assert repo.name == "config"
    assert [c.status for c in fake.calls] == [502, 502, 200]


def test_secondary_rate_limit_raises_rate_limit_exception(fake: FakeGitHub, tmp_path: Path) -> None:
    push_branch(fake, tmp_path / "work", "b", {"b.txt": b"b\n"})
    repo = repo_of(fake)
    fake.secondary_rate_limit("POST", r"/pulls$", retry_after=7)

    with pytest.raises(RateLimitExceededException) as caught:
        repo.create_pull(base="main", head="b", title="t")

    assert caught.value.status == 403
    assert caught.value.message is None  # PyGithub keeps it only in data for this class
    assert caught.value.data["message"].startswith("You have exceeded a secondary rate limit")
    assert caught.value.headers is not None
    assert caught.value.headers["retry-after"] == "7"
    assert fake.pulls[(OWNER, NAME)] == []


def test_primary_rate_limit_and_429_and_integration_403(fake: FakeGitHub) -> None:
    fake.primary_rate_limit("GET", r"/repos/acme/config$")
    fake.secondary_rate_limit("GET", r"/repos/acme/config$", status=429, retry_after=None)
    forbidden = {
        "message": "Resource not accessible by integration",
        "documentation_url": "x",
        "status": "403",
    }
    fake.fail_next("GET", r"/repos/acme/config$", 403, body=forbidden)

    with pytest.raises(RateLimitExceededException) as primary:
        client(fake).get_repo("acme/config")
    with pytest.raises(GithubException) as too_many:
        client(fake).get_repo("acme/config")
    with pytest.raises(GithubException) as integration:
        client(fake).get_repo("acme/config")

    assert primary.value.status == 403
    assert primary.value.headers is not None
    assert primary.value.headers["x-ratelimit-remaining"] == "0"
    assert (type(too_many.value), too_many.value.status) == (GithubException, 429)
    assert (type(integration.value), integration.value.status) == (GithubException, 403)


def test_bad_credentials_everywhere(fake: FakeGitHub, tmp_path: Path) -> None:
    with pytest.raises(BadCredentialsException) as wrong_token:
        client(fake, token="ghs_wrong").get_repo("acme/config")
    fake.bad_credentials()
    with pytest.raises(BadCredentialsException) as revoked:
        client(fake).get_repo("acme/config")
    clone = git(
        "clone", "-q", fake.git_url(OWNER, NAME), str(tmp_path / "c"), token=fake.token, check=False
    )

    assert (wrong_token.value.status, wrong_token.value.message) == (401, None)
    assert wrong_token.value.data["message"] == "Bad credentials"
    assert revoked.value.status == 401
    assert clone.returncode != 0
    assert [c.status for c in fake.calls] == [401, 401]


def test_race_create_pull_answers_422_after_creating_it(fake: FakeGitHub, tmp_path: Path) -> None:
    push_branch(fake, tmp_path / "work", "promote/web/staging", STAGING)
    repo = repo_of(fake)
    fake.race_create_pull(OWNER, NAME)

    with pytest.raises(GithubException) as caught:
        repo.create_pull(base="main", head="promote/web/staging", title="t")
    found = list(repo.get_pulls(state="open", head="acme:promote/web/staging", base="main"))

    assert caught.value.status == 422
    assert caught.value.data["errors"][0]["message"] == (
        "A pull request already exists for acme:promote/web/staging."
    )
    assert [p.number for p in found] == [1]
    assert fake.count("POST", "/pulls") == 1
    assert fake.count("POST", path_regex=r"/pulls$") == 1


# -- GitHub App authentication ----------------------------------------------------------------

APP_ID = 123456
PACE = {"seconds_between_requests": 0, "seconds_between_writes": 0}


def app_key_pair(seed: int = 0) -> tuple[str, bytes]:
    """(private key PEM for `Auth.AppAuth`, public key PEM for the fake): 2048-bit RSA, made
    once per module and `seed` (another seed: another app's key)."""
    return _key_pair(seed)


@cache
def _key_pair(seed: int) -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def app_fake(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FakeGitHub]:
    """A fake that is also GitHub App APP_ID (installation 4242), with acme/config."""
    layout = getattr(request, "param", "github.com")
    _, public = app_key_pair()
    with FakeGitHub(
        tmp_path / "forge", layout=layout, lifetime=120, app_id=APP_ID, app_public_key_pem=public
    ) as server:
        server.create_repo(OWNER, NAME, FILES)
        yield server
        assert server.errors == []
        assert server.validation_errors == []


def integration(fake: FakeGitHub, private_pem: str | None = None) -> GithubIntegration:
    auth = Auth.AppAuth(APP_ID, private_pem or app_key_pair()[0])
    return GithubIntegration(auth=auth, base_url=fake.api_url, retry=None, **PACE)  # type: ignore[arg-type]


def app_jwt(claims: dict[str, object], seed: int = 0) -> str:
    """An RS256 JWT with exactly `claims` (PyJWT's `jwt.encode` refuses an int `iss`)."""
    payload = json.dumps(claims).encode()
    return jwt.PyJWS().encode(payload, app_key_pair(seed)[0], algorithm="RS256")


def bearer_request(fake: FakeGitHub, method: str, path: str, credential: str) -> tuple[int, object]:
    request = urllib.request.Request(
        fake.api_url + path,
        method=method,
        data=b'{"permissions": {}}' if method == "POST" else None,
        headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("app_fake", ["github.com", "ghes"], indirect=True)
def test_app_jwt_mints_installation_token_for_rest_and_git(
    app_fake: FakeGitHub, tmp_path: Path
) -> None:
    gi = integration(app_fake)
    installation = gi.get_repo_installation(OWNER, NAME)
    token = gi.get_access_token(installation.id).token
    # git smart-HTTP with Basic x-access-token:<token>, as actions/checkout does.
    authed = app_fake.git_url(OWNER, NAME).replace("://", f"://x-access-token:{token}@")
    work = tmp_path / "work"
    git("clone", "-q", authed, str(work))
    (work / "envs/staging/values.yaml").write_bytes(STAGING["envs/staging/values.yaml"])
    git("commit", "-q", "-am", "Promote web", cwd=work)
    git("push", "-q", "origin", "HEAD:refs/heads/promote/web/staging", cwd=work)
    gh = Github(base_url=app_fake.api_url, auth=Auth.Token(token), retry=None, **PACE)  # type: ignore[arg-type]
    repo = gh.get_repo(f"{OWNER}/{NAME}")
    pull = repo.create_pull(base="main", head="promote/web/staging", title="Promote web")
    head = repo.get_git_commit(pull.head.sha)
    api_commit = repo.create_git_commit("api", head.tree, [head])

    assert installation.id == 4242
    assert installation.app_id == APP_ID
    assert token.startswith("ghs_")
    assert app_fake.minted_tokens == [token]
    assert pull.number == 1
    assert pull.user.login == "promoter-bot[bot]"
    assert api_commit.verification.verified is True  # an installation token's API commit
    with pytest.raises(GithubException) as user:
        _ = gh.get_user().login
    assert user.value.status == 403
    auth_headers = [c for c in app_fake.calls if "installation" in c.path]
    assert [(c.method, c.status) for c in auth_headers] == [("GET", 200), ("POST", 201)]


def test_app_installation_auth_mints_lazily_and_static_token_still_works(
    app_fake: FakeGitHub,
) -> None:
    app_auth = Auth.AppAuth(APP_ID, app_key_pair()[0])
    gh = Github(
        base_url=app_fake.api_url,
        auth=app_auth.get_installation_auth(app_fake.installation_id),
        retry=None,
        **PACE,  # type: ignore[arg-type]
    )

    assert gh.get_repo(f"{OWNER}/{NAME}").default_branch == "main"
    assert app_fake.count("POST", "/access_tokens") == 1
    assert len(app_fake.minted_tokens) == 1
    assert repo_of(app_fake).full_name == "acme/config"  # the fake's own `token` is untouched


def test_app_wrong_key_or_bad_jwt_is_401(app_fake: FakeGitHub) -> None:
    other_key = app_key_pair(1)[0]
    with pytest.raises(GithubException) as wrong_key:
        integration(app_fake, other_key).get_repo_installation(OWNER, NAME)
    now = int(time.time())
    expired = app_jwt({"iat": now - 700, "exp": now - 10, "iss": str(APP_ID)})
    too_far = app_jwt({"iat": now - 60, "exp": now + 900, "iss": APP_ID})
    other_app = app_jwt({"iat": now - 60, "exp": now + 300, "iss": "999"})
    int_iss = app_jwt({"iat": now - 60, "exp": now + 300, "iss": APP_ID})
    path = f"/app/installations/{app_fake.installation_id}/access_tokens"

    assert wrong_key.value.status == 401
    assert wrong_key.value.data["message"] == "A JSON web token could not be decoded"
    assert bearer_request(app_fake, "POST", path, expired)[0] == 401
    assert bearer_request(app_fake, "POST", path, expired)[1]["message"].startswith(  # type: ignore[index]
        "'Expiration time' claim ('exp') must be a numeric value"
    )
    assert bearer_request(app_fake, "POST", path, too_far) == (
        401,
        {
            "message": "'Expiration time' claim ('exp') is too far in the future",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        },
    )
    assert bearer_request(app_fake, "GET", "/repos/acme/config/installation", other_app)[0] == 401
    # A JWT is no credential for the ordinary endpoints, a token none for the App ones.
    assert bearer_request(app_fake, "GET", "/repos/acme/config", int_iss) == (
        401,
        {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        },
    )
    assert bearer_request(app_fake, "POST", path, app_fake.token)[1] == {
        "message": "A JSON web token could not be decoded",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    status, minted = bearer_request(app_fake, "POST", path, int_iss)  # `iss` may be an int
    assert status == 201
    assert isinstance(minted, dict)
    assert minted["token"] == app_fake.minted_tokens[-1]
    assert bearer_request(app_fake, "POST", "/app/installations/1/access_tokens", int_iss)[0] == 404


def test_app_minted_token_expires_and_unknown_repo_is_404(app_fake: FakeGitHub) -> None:
    gi = integration(app_fake)
    app_fake.token_lifetime = 0
    token = gi.get_access_token(app_fake.installation_id).token
    with pytest.raises(UnknownObjectException):
        gi.get_repo_installation(OWNER, "missing")
    with pytest.raises(GithubException) as narrowed:
        gi.get_access_token(app_fake.installation_id, permissions={"administration": "write"})

    with pytest.raises(BadCredentialsException):
        client(app_fake, token=token).get_repo(f"{OWNER}/{NAME}")
    assert narrowed.value.status == 422


def test_fake_without_app_refuses_app_endpoints(fake: FakeGitHub) -> None:
    with pytest.raises(GithubException) as caught:
        integration(fake).get_repo_installation(OWNER, NAME)
    assert caught.value.status == 401
    assert fake.minted_tokens == []
