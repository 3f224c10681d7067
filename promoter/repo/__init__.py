"""Every git call, and the partial clone that stores a promotion's reads and writes.

`git` owns the processes (env, auth, errors); `clone` the `tree.Store` built on them.
"""

from __future__ import annotations

from pathlib import Path

from promoter.repo.clone import Clone
from promoter.repo.git import (
    GIT_TIMEOUT,
    Auth,
    GitResult,
    ObjectReader,
    Remote,
    changed_files,
    git_environment,
    parse_remote,
    run_git,
)
from promoter.tree import Entry, GitStats, Identity, Snapshot, Store


def open_clone(
    remote: Remote, directory: Path, *, branch: str | None, auth: Auth | None, stats: GitStats
) -> Store:
    """The partial clone of `remote` in `directory`, as the store a promotion uses."""
    return Clone.create(remote, directory, branch=branch, auth=auth, stats=stats)


__all__ = [
    "GIT_TIMEOUT",
    "Auth",
    "Clone",
    "Entry",
    "GitResult",
    "GitStats",
    "Identity",
    "ObjectReader",
    "Remote",
    "Snapshot",
    "Store",
    "changed_files",
    "git_environment",
    "open_clone",
    "parse_remote",
    "run_git",
]
