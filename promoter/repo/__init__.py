"""Every git call, and the partial clone that stores a promotion's reads and writes.

`git` owns the processes (their environment, the object reader); `remote` and `auth` what
they connect to and with; `outcome` what their output means; `clone` the `tree.Store`
built on them, with `fetch` (what it holds, fetching the rest) and `transport` (a local
remote's side). `direct` is the other store: git's smart-HTTP protocol spoken by promoter
(`connection`, `protocol`, `pktline`, `pack`, `thin`), objects in memory; `choice` says
when it may be used, and `open_clone` falls back to `Clone` for everything else.
"""

from __future__ import annotations

from pathlib import Path

from promoter.errors import GitError
from promoter.repo.auth import Auth
from promoter.repo.choice import choose_transport
from promoter.repo.clone import Clone
from promoter.repo.git import GIT_TIMEOUT, ObjectReader, changed_files, git_environment, run_git
from promoter.repo.outcome import GitResult
from promoter.repo.remote import Remote, parse_remote
from promoter.tree import Entry, GitStats, Identity, Snapshot, Store


def open_clone(
    remote: Remote,
    directory: Path,
    *,
    branch: str | None,
    auth: Auth | None,
    stats: GitStats,
    push: bool = False,
) -> Store:
    """The store a promotion uses for `remote`: the direct smart-HTTP store when the remote
    and the settings allow it (`choice`), else git's partial clone in `directory`. Which one
    was used, and why not the direct one, is `stats.transport`."""
    choice = choose_transport(remote, directory.parent)
    reason = choice.refusal
    if reason is None:
        from promoter.repo.connection import DirectUnsupportedError
        from promoter.repo.direct import DirectStore

        try:
            store = DirectStore.open(
                remote,
                directory,
                branch=branch,
                auth=auth,
                stats=stats,
                cafile=choice.cafile,
                capath=choice.capath,
                push=push,
            )
        except DirectUnsupportedError as exc:
            if choice.mode == "direct":
                raise
            reason = exc.message
        else:
            stats.transport = "direct"
            return store
    elif choice.mode == "direct":
        raise GitError(f"the direct transport cannot reach this remote: {reason}")
    stats.transport = f"git ({reason})"
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
