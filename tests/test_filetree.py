"""A remote run's files held in memory (issue 23): `SnapshotTree` answers every question
as the directory `Snapshot.materialise` wrote used to, and `status` and `plan` against a
remote repository write no file under the workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from promoter.filetree import DiskTree, FileTree
from promoter.imageref import parse_image_ref
from promoter.promotion.files import FilesRead, SnapshotTree
from promoter.promotion.requests import RepositoryRef
from promoter.promotion.workspace import Options, open_workspace
from promoter.queries.plan import pending
from promoter.queries.status import collect
from promoter.repo import Snapshot, open_clone, parse_remote
from promoter.tree import GitStats

FILES = {
    "apps/web/kustomization.yaml": b"images:\n- name: web\n  newTag: 1.0.0\n",
    "apps/web/values.yaml": b"tag: 2.0.0\n",
    "apps/web/.hidden.yaml": b"a: 1\n",
    ".promoter/holds.yaml": b"holds: []\n",
    "charts/c/Chart.yaml": b"name: c\n",
    "charts/c/templates/d.yaml": b"image: {{ .Values.image }}\n",
}
LINKS = {
    "apps/alias.yaml": "web/values.yaml",
    "apps/shared": "web",
    "apps/web/escape.yaml": "../../../outside.yaml",
    "apps/web/absolute.yaml": "/etc/hostname",
    "apps/web/dangling.yaml": "missing.yaml",
    "apps/up": "..",
    "promoter.yaml": "apps/web/values.yaml",
}
LOOPS = {"apps/loop-a": "loop-b", "apps/loop-b": "loop-a"}
LEADS_OUT = {"apps/web/escape.yaml", "apps/web/absolute.yaml"}
"""Links whose target is outside the repository: the disk would read the runner's own
file there, the tree in memory reads nothing (`SnapshotTree`)."""


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _bare(tmp_path: Path, work: Path) -> Path:
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    bare = tmp_path / "remote.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare


@pytest.fixture
def snapshot(tmp_path: Path) -> Snapshot:
    work = tmp_path / "work"
    for path, data in FILES.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    for path, target in {**LINKS, **LOOPS}.items():
        os.symlink(target, work / path)
    bare = _bare(tmp_path, work)
    store = open_clone(
        parse_remote(bare.as_uri()), tmp_path / "clone.git", branch=None, auth=None,
        stats=GitStats(),
    )  # fmt: skip
    return Snapshot(store, store.ref(store.head_branch()))


FETCHED = [*FILES, *LINKS, *LOOPS, "apps/shared/values.yaml", "apps/nothing.yaml"]
"""What both trees are given: every entry, a path through a linked directory (not a tree
in git: fetched as absent) and a missing one."""
ASKED = [
    *FETCHED,
    "",
    ".",
    "apps",
    "apps/web",
    "apps/shared/kustomization.yaml",
    "apps/up/apps/web/values.yaml",
    "apps/web/values.yaml/below",
    ".promoter",
    "charts/c/templates",
    "not/fetched.yaml",
]


def _answers(tree: FileTree, path: str) -> dict[str, object]:
    found: dict[str, object] = {"kind": tree.kind(path), "is_link": tree.is_link(path)}
    if path not in LEADS_OUT:
        found.update(is_file=tree.is_file(path), is_dir=tree.is_dir(path))
    for follow in (True, False):
        if follow and path in LEADS_OUT:
            continue
        try:
            found[f"read {follow}"] = tree.read(path, follow=follow, limit=5)
        except OSError as exc:
            found[f"read {follow}"] = (type(exc).__name__, exc.errno, exc.strerror)
    if path not in LOOPS:  # the disk's `Path.resolve` raises `RuntimeError` on a loop
        found["is_inside"] = tree.is_inside(path)
    return found


def _walked(tree: FileTree, directory: str) -> list[tuple[str, list[str], list[str]]]:
    return sorted((d, sorted(dirs), sorted(files)) for d, dirs, files in tree.walk(directory))


def test_snapshot_tree_answers_as_the_materialised_directory(
    snapshot: Snapshot, tmp_path: Path
) -> None:
    directory = tmp_path / "materialised"
    directory.mkdir()
    snapshot.materialise(FETCHED, directory)
    disk = DiskTree(directory)
    memory = SnapshotTree(snapshot, tmp_path / "never", FilesRead())
    memory.fetch(FETCHED)

    for path in ASKED:
        assert _answers(memory, path) == _answers(disk, path), path
    for start in ("", "apps", "apps/shared", "apps/web", "missing"):
        assert _walked(memory, start) == _walked(disk, start), start
    assert not (tmp_path / "never").exists()


def test_snapshot_tree_link_out_of_the_repository_reads_nothing(
    snapshot: Snapshot, tmp_path: Path
) -> None:
    memory = SnapshotTree(snapshot, tmp_path / "never", FilesRead())
    memory.fetch(FETCHED)
    for path in sorted(LEADS_OUT):
        assert memory.is_link(path)
        assert not memory.is_inside(path)
        assert not memory.is_file(path)
        with pytest.raises(FileNotFoundError):
            memory.read(path)


def test_snapshot_tree_unfetched_path_is_absent(snapshot: Snapshot, tmp_path: Path) -> None:
    memory = SnapshotTree(snapshot, tmp_path / "never", FilesRead())
    assert memory.kind("apps/web/values.yaml") is None
    memory.fetch(["apps/web/values.yaml"])
    assert memory.read("apps/web/values.yaml") == FILES["apps/web/values.yaml"]
    assert memory.kind("apps/web") == "directory"
    assert memory.kind("apps/web/kustomization.yaml") is None


# --- no working files ------------------------------------------------------------------


def _working_files(workdir: Path) -> list[str]:
    """Files under the workspace besides the store's own git directory."""
    return sorted(
        p.relative_to(workdir).as_posix()
        for p in workdir.rglob("*")
        if not p.is_dir() and p.relative_to(workdir).parts[0] != "repo.git"
    )


@pytest.fixture(params=["configured", "zero-config"])
def config_remote(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    demo_repo = Path(__file__).resolve().parents[1] / "promoter" / "demo_repo"
    shutil.copytree(demo_repo, work, symlinks=True)
    if request.param == "zero-config":
        (work / "promoter.yaml").unlink()
    return _bare(tmp_path, work)


def test_status_and_plan_write_no_working_files(config_remote: Path) -> None:
    repo = RepositoryRef(config_remote.as_uri())
    with open_workspace(repo, Options(prove=False)) as ws:
        board = collect(ws, (), 5, datetime.now(timezone.utc))
        assert board.apps
        assert any(c.reference for c in board.cells.values()), "status read the versions"
        pending(ws, "production", None, (), [])
        checkout = ws.check_out(ws.default_branch, fetch=False)
        assert checkout.read.files, "the files read are held in memory"
        assert (ws.workdir / "repo.git").is_dir()
        assert _working_files(ws.workdir) == []

        # The check sees a working file when one is written, as reads did before.
        checkout.snapshot.materialise(["charts/api/values.yaml"], checkout.root)
        assert _working_files(ws.workdir) == [f"{checkout.root.name}/charts/api/values.yaml"]


def test_plan_of_an_image_reads_in_memory(config_remote: Path) -> None:
    repo = RepositoryRef(config_remote.as_uri())
    with open_workspace(repo, Options(prove=False)) as ws:
        pending(ws, "staging", None, (), [parse_image_ref("ghcr.io/acme/web")])
        assert _working_files(ws.workdir) == []
