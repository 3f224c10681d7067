"""The local transport: the git that serves a path remote runs in the user's repository.

Over `file://` or a path, git starts the remote side itself, with that repository's config;
these are the options that keep its code (hooks, fsmonitor) from running.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from promoter.repo.remote import Remote

_WORK_TREE_SIDE = "git -c core.hooksPath=/dev/null -c core.fsmonitor=false"
"""The git that serves a local working tree runs in the user's repository, with its config:
none of its hooks (pre-receive, post-receive, push-to-checkout, reference-transaction, ...)
nor its fsmonitor command may run. A bare local remote keeps its receive hooks: they are
its policy, as a server's are. It must be argv: git drops GIT_CONFIG_* from a local
transport's environment."""
_BARE_SIDE = "git -c core.fsmonitor=false"


def local_transport(remote: Remote) -> dict[str, str]:
    """The options that start the remote side of a local transport, per command (none for a
    remote over http). A push into a local working tree's checked-out branch also updates
    its files (if clean)."""
    if not remote.is_local:
        return {}
    side = _WORK_TREE_SIDE if is_work_tree(remote) else _BARE_SIDE
    upload = f"--upload-pack={side} upload-pack"
    receive = f"--receive-pack={side} -c receive.denyCurrentBranch=updateInstead receive-pack"
    return {"clone": upload, "fetch": upload, "ls-remote": upload, "push": receive}


def is_work_tree(remote: Remote) -> bool:
    """A local remote that is a working tree (its top, or its `.git`), not a bare repository."""
    if not remote.is_local:
        return False
    path = Path(unquote(urlsplit(remote.url).path))
    return path.name == ".git" or (path / ".git").exists()
