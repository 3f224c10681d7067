"""`GitLabStore` reading by path (issue 23): below a directory too wide for one page
(`apps/` with 150 apps) nothing is listed, a file's bytes are checked against its blob id,
the commit carries only the changed files with the `last_commit_id` read with them, and a
commit holding the same tree reads back under the same id. Real python-gitlab against the
fake GitLab on 127.0.0.1; the fake counts every request."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.gitlab import FakeGitLab, Project

from promoter.errors import ForgeError, PushRejectedError
from promoter.forges.gitlab import GitLabForge
from promoter.forges.gitlab_store import GitLabStore
from promoter.gitformat import object_id
from promoter.redact import Secret
from promoter.tree import DEFAULT_IDENTITY, GitStats, Snapshot

TOKEN = "glpat-store-token"
APPS = 150
"""Two pages of `apps/` (GitLab lists at most 100 entries a page)."""
TARGET = "apps/app-077/overlays/staging/kustomization.yaml"
OTHER = "apps/app-012/overlays/staging/kustomization.yaml"


def _files() -> dict[str, bytes]:
    files = {"promoter.yaml": b"version: 1\n", "README.md": b"config\n"}
    for index in range(APPS):
        app = f"app-{index:03d}"
        files[f"apps/{app}/overlays/staging/kustomization.yaml"] = f"tag: {app}-1\n".encode()
        files[f"apps/{app}/base/kustomization.yaml"] = b"resources: [deployment.yaml]\n"
    for index in range(120):  # a wide directory holding files
        files[f"envs/e-{index:03d}.yaml"] = f"env: {index}\n".encode()
    return files


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as server:
        server.create_project("acme/config", _files())
        yield server
        assert server.errors == []


def _store(fake: FakeGitLab) -> GitLabStore:
    forge = GitLabForge(fake.git_url("acme/config"), token=Secret(TOKEN), api_url=fake.url)
    store = forge.store(GitStats())
    assert isinstance(store, GitLabStore)
    return store


def _listed(fake: FakeGitLab, since: int = 0) -> list[tuple[str, str]]:
    """(path, page) of every repository-tree request since `since`."""
    return [
        (c.query.get("path", ""), c.query.get("page", "1"))
        for c in fake.calls[since:]
        if c.path.endswith("/repository/tree")
    ]


def _git(bare: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=bare, capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


def _blob(data: bytes) -> str:
    return object_id("blob", data)


def test_gitlab_store_reads_below_a_wide_directory_without_listing_it(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    store = _store(fake)
    tip = store.ref("main")
    snapshot = Snapshot(store, tip)
    before = len(fake.calls)
    wanted = [TARGET, "envs/e-050.yaml", "apps/app-077/overlays/none.yaml", "apps/nope/x.yaml"]
    written = snapshot.materialise(wanted, tmp_path / "tree")
    assert sorted(written) == sorted(wanted[:2])
    assert (tmp_path / "tree" / TARGET).read_bytes() == b"tag: app-077-1\n"
    assert (tmp_path / "tree/envs/e-050.yaml").read_bytes() == b"env: 50\n"
    listed = _listed(fake)
    assert ("apps", "1") not in listed  # the wide directory above the file: never listed
    assert all(page == "1" for _, page in listed)  # and nothing read page after page
    assert ("envs", "1") in listed  # the file's own directory: one page, found too wide
    assert len(fake.calls) - before <= 7, [c.path for c in fake.calls[before:]]
    entries = snapshot.entries(["apps/app-077", "envs", TARGET])
    directory, target = entries["apps/app-077"], entries[TARGET]
    assert directory is not None
    assert directory.is_tree
    assert target is not None
    assert target.oid == _blob(b"tag: app-077-1\n")


def test_gitlab_store_refuses_a_file_served_with_other_bytes(fake: FakeGitLab) -> None:
    project = fake.projects["acme/config"]
    project.served[TARGET] = b"tag: evil\n"
    project.served["envs/e-050.yaml"] = b"env: evil\n"
    store = _store(fake)
    snapshot = Snapshot(store, store.ref("main"))
    entry = snapshot.entries([TARGET])[TARGET]  # its directory listed: the blob id known
    assert entry is not None
    with pytest.raises(ForgeError, match="with other bytes"):
        store.blobs([entry.oid])
    with pytest.raises(ForgeError, match="with other bytes"):  # files API alone
        snapshot.entries(["envs/e-050.yaml"])


def _change(store: GitLabStore, tip: str, changes: dict[str, bytes]) -> tuple[str, str]:
    snapshot = Snapshot(store, tip)
    tree = snapshot.write_tree(changes)
    commit = store.write_commit(tree, tip, "promote\n", identity=DEFAULT_IDENTITY)
    return tree, commit


def test_gitlab_store_commit_below_a_wide_directory_sends_only_the_changed_file(
    fake: FakeGitLab,
) -> None:
    project = fake.projects["acme/config"]
    store = _store(fake)
    tip = store.ref("main")
    Snapshot(store, tip).materialise([TARGET], Path(fake.root / "read"))
    before = len(fake.calls)
    _, commit = _change(store, tip, {TARGET: b"tag: app-077-2\n"})
    landed = store.push(commit, "main", lease=None, force=False)
    calls = fake.calls[before:]
    assert [c.method for c in calls] == ["GET", "POST"]  # branch check, the commit
    (action,) = calls[-1].body["actions"]
    assert action["file_path"] == TARGET
    assert action["action"] == "update"
    assert action["last_commit_id"] == tip  # read with the file, not asked again
    assert project.tip("main") == landed
    changed = _git(project.bare, "diff", "--name-only", tip, landed).split()
    assert changed == [TARGET]
    assert _git(project.bare, "show", f"{landed}:{TARGET}") == "tag: app-077-2\n"
    assert _listed(fake, before) == []

    # Another run building the same change on the same tip reads the landed commit as the
    # very tree it built (a promotion branch found unchanged); a different change does not.
    again = _store(fake)
    _change(again, tip, {TARGET: b"tag: app-077-2\n"})
    same, _ = _change(again, tip, {TARGET: b"tag: app-077-2\n"})  # built twice: the same
    assert again.commit_info(landed).tree == same
    for changes in (
        {TARGET: b"tag: app-077-3\n"},  # other bytes
        {TARGET: b"tag: app-077-2\n", OTHER: b"tag: app-012-2\n"},  # another file too
    ):
        other = _store(fake)
        different, _ = _change(other, tip, changes)
        assert other.commit_info(landed).tree != different
    assert ("apps", "1") not in _listed(fake)


def test_gitlab_store_second_change_on_its_own_commit_keeps_the_first(fake: FakeGitLab) -> None:
    """Two units in one run: the second reads and writes on the commit the first landed."""
    project = fake.projects["acme/config"]
    store = _store(fake)
    tip = store.ref("main")
    _, commit = _change(store, tip, {TARGET: b"tag: app-077-2\n"})
    first = store.push(commit, "main", lease=None, force=False)
    assert store.update("main") == first
    read = Snapshot(store, first)
    assert read.clone.blobs([read.entries([OTHER])[OTHER].oid])  # type: ignore[union-attr]
    assert read.entries([TARGET])[TARGET].oid == _blob(b"tag: app-077-2\n")  # type: ignore[union-attr]
    assert read.files_under("apps/app-077") == [  # a directory below the changed `apps/`
        "apps/app-077/base/kustomization.yaml",
        TARGET,
    ]
    _, commit = _change(store, first, {OTHER: b"tag: app-012-2\n", "new/file.yaml": b"a: 1\n"})
    second = store.push(commit, "main", lease=None, force=False)
    changed = _git(project.bare, "diff", "--name-only", tip, second).split()
    assert changed == [OTHER, TARGET, "new/file.yaml"]
    assert _git(project.bare, "show", f"{second}:{TARGET}") == "tag: app-077-2\n"
    # `apps/app-077` asked for itself: one page of `apps/` says it is wide, no more
    assert [page for path, page in _listed(fake) if path == "apps"] == ["1"]


def _push_from_clone(project: Project, tmp_path: Path, path: str, data: bytes) -> None:
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(project.bare), str(work)], check=True, timeout=60)
    (work / path).write_bytes(data)
    identity = ["-c", "user.name=C", "-c", "user.email=c@example.com"]
    for args in (["commit", "-qam", "colleague"], ["push", "-q", "origin", "HEAD:main"]):
        subprocess.run(["git", *identity, *args], cwd=work, check=True, timeout=60)


@pytest.mark.parametrize("when", ["before the check", "between the check and the write"])
def test_gitlab_store_lost_race_on_the_same_file_is_rejected(
    fake: FakeGitLab, tmp_path: Path, when: str
) -> None:
    """A colleague changes the very file below the wide directory: the push is rejected
    (promotion re-plans on the new tip), never written over the colleague's change."""
    project = fake.projects["acme/config"]
    store = _store(fake)
    tip = store.ref("main")
    _, commit = _change(store, tip, {TARGET: b"tag: app-077-2\n"})
    if when == "before the check":
        _push_from_clone(project, tmp_path, TARGET, b"tag: colleague\n")
    else:

        def race(method: str, path: str) -> None:
            if method == "POST" and path.endswith("/repository/commits"):
                fake.before_request = None
                _push_from_clone(project, tmp_path, TARGET, b"tag: colleague\n")

        fake.before_request = race
    moved = project.tip("main") if when == "before the check" else None
    with pytest.raises(PushRejectedError):
        store.push(commit, "main", lease=None, force=False)
    assert _git(project.bare, "show", f"main:{TARGET}") == "tag: colleague\n"
    assert moved is None or project.tip("main") == moved
    statuses = [c.status for c in fake.calls if c.method == "POST"]
    assert statuses == ([] if when == "before the check" else [400])
