"""`history.first_changes`: one tree-difference walk answers, for every path at once, the
first commit (newest first) at which it changed, exactly as looking each path up in every
commit would; checked against git's own `rev-parse <commit>:<path>` on a real clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from promoter.history import first_changes, unchanged_for, unchanged_prefix
from promoter.repo import GitStats, parse_remote
from promoter.repo.clone import Clone

PATHS = [
    "apps/web/staging/kustomization.yaml",
    "apps/api/values.yaml",
    "apps/api/values-prod.yaml",
    "shared/base.yaml",
    "kind",  # a file that becomes a directory
    "kind/inner.yaml",
    "never/there.yaml",
]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _commit(work: Path, files: dict[str, bytes | None], message: str) -> None:
    for path, data in files.items():
        target = work / path
        if data is None:
            if target.is_dir():
                for child in sorted(target.rglob("*"), reverse=True):
                    child.unlink() if child.is_file() else child.rmdir()
                target.rmdir()
            else:
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "--allow-empty", "-m", message, cwd=work)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven commits, each touching a different kind of change (oldest first)."""
    tmp = tmp_path_factory.mktemp("history")
    work = tmp / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    _commit(work, {
        "apps/web/staging/kustomization.yaml": b"newTag: 1.0.0\n",
        "apps/api/values.yaml": b"tag: 1.0.0\n",
        "shared/base.yaml": b"a: 1\n",
        "kind": b"a file\n",
    }, "c0")  # fmt: skip
    _commit(work, {"apps/api/values.yaml": b"tag: 1.1.0\n"}, "c1")
    _commit(work, {"kind": None, "kind/inner.yaml": b"now a directory\n"}, "c2")
    _commit(work, {"apps/web/staging/kustomization.yaml": b"newTag: 1.2.0\n"}, "c3")
    _commit(work, {"apps/api/values-prod.yaml": b"tag: 1.1.0\n"}, "c4")  # added
    _commit(work, {"unrelated.txt": b"x\n"}, "c5")
    _commit(work, {}, "c6 (empty: the same tree)")
    bare = tmp / "remote.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare


def _oracle(bare: Path, commits: list[str], path: str) -> int | None:
    """The first index whose `<commit>:<path>` differs from its newer neighbour's, by git."""

    def object_at(commit: str) -> str | None:
        done = subprocess.run(["git", "rev-parse", "-q", "--verify", f"{commit}:{path}"],
                              cwd=bare, capture_output=True, text=True, check=False)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else None

    seen = [object_at(c) for c in commits]
    return next((i for i in range(1, len(seen)) if seen[i] != seen[i - 1]), None)


def test_first_changes_matches_git_for_every_path(remote: Path, tmp_path: Path) -> None:
    clone = Clone.create(parse_remote(remote.as_uri()), tmp_path / "c.git", branch=None,
                         auth=None, stats=GitStats())  # fmt: skip
    try:
        commits = [c.id for c in clone.history(clone.ref("main"), 20)]
        assert len(commits) == 7
        roots = [clone.commit_info(c).tree for c in commits]
        found = first_changes(clone, roots, PATHS)
        expected = {p: _oracle(remote, commits, p) for p in PATHS}
        assert found == {p: i for p, i in expected.items() if i is not None}
        # Newest first: c6 c5 c4 c3 c2 c1 c0.
        assert found == {
            "apps/api/values-prod.yaml": 3,  # added by c4: differs between c4 and c3
            "apps/web/staging/kustomization.yaml": 4,
            "kind/inner.yaml": 5,
            "kind": 5,  # a directory at c2, a file before
            "apps/api/values.yaml": 6,
        }
        assert unchanged_for(found, ["shared/base.yaml"], len(commits)) == 7
        assert unchanged_for(found, ["apps/api/values.yaml", "kind"], len(commits)) == 5
        for chunk in (1, 2, 10):  # walked a few commits at a time, the same answer
            assert unchanged_prefix(clone, roots, ["apps/api/values.yaml"], chunk) == 6
            assert unchanged_prefix(clone, roots, ["shared/base.yaml"], chunk) == 7
        assert unchanged_prefix(clone, roots, [], 10) == 1  # nothing to compare: plan each
    finally:
        clone.close()
