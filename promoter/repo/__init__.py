"""Every git call, and the partial clone that stores a promotion's reads and writes.

`git` owns the processes (their environment, the object reader); `remote` and `auth` what
they connect to and with; `outcome` what their output means; `clone` the `tree.Store`
built on them, with `fetch` (what it holds, fetching the rest) and `transport` (a local
remote's side).
"""

from __future__ import annotations

from pathlib import Path

from promoter.repo.auth import Auth
from promoter.repo.clone import Clone
from promoter.repo.git import GIT_TIMEOUT, ObjectReader, changed_files, git_environment, run_git
from promoter.repo.outcome import GitResult
from promoter.repo.remote import Remote, parse_remote
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
