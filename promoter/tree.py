"""The repository as promotion sees it: entries, snapshots of a commit, and the `Store`.

A `Store` is where a promotion reads a branch and lands its commit: the partial clone
(`repo.Clone`) or a forge's API (`forges.github_store.GitHubStore`); `promotion` knows only
this protocol. `Snapshot` reads one commit's files by path through any store and builds
the tree of a change (git's object format is `gitformat`'s). A store that reads by path
(`PathStore`: GitLab's files API) takes over that walk and that build, so a directory it
never lists costs nothing. A leaf: knows nothing of git processes, HTTP, YAML or forges.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

from promoter import BOT_EMAIL, BOT_NAME
from promoter.errors import GitError, InputError

TREE_MODE = "40000"
LINK_MODE = "120000"
GITLINK_MODE = "160000"
WIDE_DIRECTORY = 32
"""Entries above which a directory's children are taken to be small, many siblings (a
monorepo's app list): for the partial clone's listing and for discovery's scope."""


@dataclass(slots=True)
class GitStats:
    """What reaching the repository cost: git calls, fetches, pack bytes received and sent."""

    calls: int = 0
    bytes_fetched: int = 0
    bytes_sent: int = 0
    fetches: int = 0
    notes: list[str] = field(default_factory=list)
    transport: str = ""
    """`direct` (smart HTTP spoken by promoter), else `git (<why>)`: git's own transport."""


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    email: str


DEFAULT_IDENTITY = Identity(BOT_NAME, BOT_EMAIL)
"""Who promoter commits as unless `--author` says otherwise."""


_NAME = r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*"
_BRANCH_PREFIX = re.compile(rf"{_NAME}(?:/{_NAME})*/?")
"""What `Store.branches` accepts: names of promoter's alphabet (`promote/<env>/<app>`, apps
joined by `+`) between slashes, none starting with a dot. So none of the characters that a
listing reads as a pattern: git's globs (`*?[\\`), GitLab's search anchors (`^$`)."""


def check_branch_prefix(prefix: str) -> str:
    """`prefix` when it can begin a branch name and means only itself in every listing (git
    matches it as a glob, GitLab's search as a pattern); else `InputError`."""
    if not _BRANCH_PREFIX.fullmatch(prefix) or ".." in prefix:
        raise InputError(
            f"{prefix!r} is not a branch-name prefix (letters, digits and '._+-' between slashes)",
            field="branch prefix",
        )
    return prefix


@dataclass(frozen=True, slots=True)
class Entry:
    mode: str
    oid: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE

    @property
    def is_link(self) -> bool:
        return self.mode == LINK_MODE


class Store(Protocol):
    """Reads and writes of one remote repository, the seam between promotion and transport.

    Reads: commits, trees (fetched on demand; `subtrees` makes whole listings present in
    one request) and blobs. Writes: objects named locally (`hash_blob`, `make_tree`), one
    commit, and a compare-and-swap branch move (`push`: a fast-forward, or forced from the
    `lease` read before) that raises `PushRejectedError` when the branch moved.
    """

    stats: GitStats
    signs_commits: bool
    """Whether its commits are signed without `--sign` (the forge signs API commits)."""

    def head_branch(self) -> str: ...

    def ref(self, branch: str) -> str:
        """The tip of `branch` as the store last saw it."""
        ...

    def update(self, branch: str) -> str:
        """The remote's current tip of `branch`, read again (after a lost race)."""
        ...

    def remote_branch(self, branch: str) -> str | None: ...

    def branches(self, prefix: str) -> dict[str, str]:
        """Every branch of the remote whose name starts with `prefix` (`promote/`), name →
        tip commit, read now in one request (plus pages): the promotions in flight. A prefix
        that is no branch-name prefix raises `InputError` (`check_branch_prefix`)."""
        ...

    def fetch_commit(self, oid: str) -> None: ...

    def commit_info(self, oid: str) -> CommitInfo: ...

    def history(self, tip: str, count: int) -> list[Logged]:
        """`tip` and its first-parent ancestors, newest first, at most `count` (fewer when
        the history is shorter)."""
        ...

    def tree(self, oid: str) -> dict[str, Entry]: ...

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        """Listings of trees, fetched with the given number of levels below when missing."""
        ...

    def subtree(self, oid: str) -> None: ...

    def subtrees(self, oids: Iterable[str]) -> None: ...

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]: ...

    def hash_blob(self, data: bytes) -> str: ...

    def make_tree(self, entries: Mapping[str, Entry]) -> str: ...

    def write_commit(
        self, tree: str, parent: str, message: str, *, identity: Identity, sign: bool = False
    ) -> str: ...

    def is_verified(self, oid: str) -> bool:
        """Whether the commit carries a signature its forge would accept."""
        ...

    def push(
        self,
        commit: str,
        branch: str,
        *,
        lease: str | None,
        force: bool,
        options: Sequence[str] = (),
    ) -> str:
        """Move `branch` to `commit` and return the id the branch now points at (a store
        whose server writes the commit, GitLab's commits API, returns the server's id).
        `options` are git push options (`ci.skip`)."""
        ...

    def delete_branch(self, branch: str, *, lease: str) -> None: ...

    def close(self) -> None:
        """Release what the store holds open (its reader process)."""
        ...


@runtime_checkable
class PathStore(Protocol):
    """What a `Store` may add when it reads files by path, not by listing each directory
    on the way (GitLab: a wide `apps/` costs a request per 100 entries, a file one request
    at any width). `entries_at` hands it the walk and `Snapshot.write_tree` the new tree;
    stores without these methods are walked level by level here."""

    def entries_by_path(
        self, roots: Sequence[str], paths: Sequence[str]
    ) -> list[dict[str, Entry | None]]:
        """`entries_at`, answered by the store."""
        ...

    def tree_with(self, root: str, changes: Mapping[str, bytes]) -> str:
        """`root` with `changes` (path → new content) written: an id only this store needs to
        understand (its commit lists the changed files), equal to the id it gives any
        commit of this same tree that it reads."""
        ...


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What promoter reads of one commit (`Store.commit_info`)."""

    tree: str
    parents: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class Logged:
    """One commit of a first-parent history walk (`Store.history`)."""

    id: str
    time: float
    """The committer date, in seconds since the epoch."""
    message: str


def entries_at(
    store: Store, roots: Sequence[str], paths: Iterable[str]
) -> list[dict[str, Entry | None]]:
    """The entry at each path below each root tree, all roots walked together: one
    request per level for every commit of a history, not one per commit and level.

    Below a wide directory (an `apps/` listing with hundreds of entries) each entry is one
    of many small siblings, so the rest of the path is fetched in one request; elsewhere
    one level at a time, so a wide subtree is never pulled in whole. A `PathStore` answers
    the whole walk itself.
    """
    names = list(dict.fromkeys(paths))
    if isinstance(store, PathStore):
        return store.entries_by_path(roots, names)
    pending = {
        (index, p): (root, list(PurePosixPath(p).parts), 0)
        for index, root in enumerate(roots)
        for p in names
    }
    found: list[dict[str, Entry | None]] = [{} for _ in roots]
    while pending:
        wanted: dict[str, int] = {}
        for tree, _, depth in pending.values():
            wanted[tree] = max(wanted.get(tree, 0), depth)
        listing = store.trees(wanted)
        advanced: dict[tuple[int, str], tuple[str, list[str], int]] = {}
        for (index, path), (tree, parts, _) in pending.items():
            entry = listing[tree].get(parts[0])
            if entry is None or len(parts) == 1:
                found[index][path] = entry
            elif entry.is_tree:
                wide = len(listing[tree]) > WIDE_DIRECTORY
                advanced[(index, path)] = (entry.oid, parts[1:], len(parts) - 1 if wide else 0)
            else:
                found[index][path] = None
        pending = advanced
    return found


class Snapshot:
    """The files of one commit of a store, read by path, fetched on demand."""

    def __init__(self, clone: Store, commit: str) -> None:
        self.clone = clone
        self.commit = commit
        self.root = clone.commit_info(commit).tree

    def entries(self, paths: Iterable[str]) -> dict[str, Entry | None]:
        """The entry at each path (None when missing), walking all paths level by level.

        Below a wide directory (an `apps/` listing with hundreds of entries) each entry is
        one of many small siblings, so the rest of the path is fetched in one request;
        elsewhere one level at a time, so a wide subtree is never pulled in whole.
        """
        return entries_at(self.clone, [self.root], paths)[0]

    def files_under(self, directory: str) -> list[str]:
        """Every blob path under `directory` ('' for the whole tree), fetched in one go."""
        if directory in ("", "."):
            tree = self.root
        else:
            entry = self.entries([directory])[directory]
            if entry is None or not entry.is_tree:
                return []
            tree = entry.oid
        self.clone.subtree(tree)
        prefix = "" if directory in ("", ".") else directory.rstrip("/") + "/"
        return sorted(self._walk([(tree, prefix)]))

    def listing(self, focus: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
        """(file paths, directories left out): the whole tree in one request, except that in
        a wide directory holding a child named in `focus` (`apps/web` among 8,000 apps) the
        other children are left out and returned, to be listed with `files_under` if read.

        The clone brought the root and its children's listings, so this is decided before
        anything is fetched.
        """
        root = self.clone.trees({self.root: 1})[self.root]
        wanted: list[tuple[str, str]] = []
        files: list[str] = []
        skipped: list[str] = []
        tops = {n: e for n, e in root.items() if e.is_tree}
        listings = self.clone.trees({e.oid: 0 for e in tops.values()}) if tops else {}
        for name, entry in sorted(root.items()):
            if not entry.is_tree:
                if entry.mode != GITLINK_MODE:
                    files.append(name)
                continue
            children = listings[entry.oid]
            kept = [c for c in children if c in focus and children[c].is_tree]
            if len(children) <= WIDE_DIRECTORY or not kept:
                wanted.append((entry.oid, f"{name}/"))
                continue
            for child, sub in sorted(children.items()):
                if child in kept:
                    wanted.append((sub.oid, f"{name}/{child}/"))
                elif sub.is_tree:
                    skipped.append(f"{name}/{child}")
                elif sub.mode != GITLINK_MODE:
                    files.append(f"{name}/{child}")
        self.clone.subtrees(oid for oid, _ in wanted)
        files.extend(self._walk(wanted))
        return sorted(files), skipped

    def _walk(self, level: list[tuple[str, str]]) -> list[str]:
        """Blob paths below present trees: one `cat-file --batch` per depth."""
        files: list[str] = []
        while level:
            listings = self.clone.trees({oid: 0 for oid, _ in level}, fetch=False)
            below: list[tuple[str, str]] = []
            for oid, prefix in level:
                for name, entry in listings[oid].items():
                    if entry.is_tree:
                        below.append((entry.oid, f"{prefix}{name}/"))
                    elif entry.mode != GITLINK_MODE:
                        files.append(prefix + name)
            level = below
        return files

    def materialise(self, paths: Iterable[str], dest: Path) -> list[str]:
        """Write the files at `paths` (if present) under `dest`; returns those written.

        Symbolic links are written as links, so path checks see what a checkout would.
        """
        wanted = [p for p in dict.fromkeys(paths) if not os.path.lexists(dest / p)]
        entries = {p: e for p, e in self.entries(wanted).items() if e is not None}
        blobs = self.clone.blobs(e.oid for e in entries.values() if not e.is_tree)
        written = []
        for path, entry in sorted(entries.items()):
            if entry.is_tree:
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(target):
                continue
            if entry.is_link:
                os.symlink(blobs[entry.oid].decode("utf-8", "surrogateescape"), target)
            else:
                target.write_bytes(blobs[entry.oid])
                if entry.mode == "100755":
                    target.chmod(0o755)
            written.append(path)
        return written

    def write_tree(self, changes: Mapping[str, bytes]) -> str:
        """The root tree of this commit with `changes` (path → new content) applied."""
        if isinstance(self.clone, PathStore):
            return self.clone.tree_with(self.root, changes)
        self.entries(changes)
        by_parts = {tuple(PurePosixPath(p).parts): data for p, data in changes.items()}
        return self._rewrite(self.root, by_parts)

    def _rewrite(self, tree: str | None, changes: Mapping[tuple[str, ...], bytes]) -> str:
        """`tree` (None: a new directory) with `changes` written into it."""
        entries = dict(self.clone.tree(tree)) if tree is not None else {}
        below: dict[str, dict[tuple[str, ...], bytes]] = {}
        for parts, data in changes.items():
            if len(parts) == 1:
                old = entries.get(parts[0])
                mode = old.mode if old is not None and not old.is_tree else "100644"
                entries[parts[0]] = Entry(mode, self.clone.hash_blob(data))
            else:
                below.setdefault(parts[0], {})[parts[1:]] = data
        for name, sub in below.items():
            old = entries.get(name)
            if old is not None and not old.is_tree:
                raise GitError(f"cannot write below {name!r}: not a directory in the repository")
            base = old.oid if old is not None else None
            entries[name] = Entry(TREE_MODE, self._rewrite(base, sub))
        return self.clone.make_tree(entries)


@runtime_checkable
class PreparesPush(Protocol):
    """What a `Store` may add when a push costs a discovery request of its own (the
    direct transport: receive-pack's `info/refs`): asked once a run that may push has
    opened the store, so that request overlaps the reads instead of preceding the push.
    A dry run never asks, and a run that ends up pushing nothing has only listened."""

    def prepare_push(self) -> None: ...
