"""A commit's files held in memory: as a `FileTree` (`SnapshotTree`) for planning, and as
`environments.RepoFiles` (`SnapshotFiles`) for the environment model.

A remote run reads each file once, in batches, and never writes it out (issue 23: writing
and removing thousands of working files was most of `status`'s wall time).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from promoter.environments.files import read_files
from promoter.filetree import Kind, path_parts
from promoter.repo import Snapshot
from promoter.tree import GITLINK_MODE, Entry

_MAX_HOPS = 40
"""Links followed in one path before it counts as a loop (Linux's `MAXSYMLINKS`)."""


@dataclass
class FilesRead:
    """What one checkout's files were read as, shared by every view of them in a run: a
    status or `--all` run discovers each app in each environment, and each discovery
    would list the tree and read the same bases again. A checkout's files never change
    (a run writes its edits into new trees, not into the checkout)."""

    listings: dict[frozenset[str], tuple[list[str], list[str]]] = field(default_factory=dict)
    fetched: set[str] = field(default_factory=set)
    """Paths asked of the store (`SnapshotTree.fetch`), present or not."""
    files: dict[str, tuple[Entry, bytes]] = field(default_factory=dict)
    """Each fetched blob or link by path, with its bytes (a link's: its target)."""
    children: dict[str, set[str]] = field(default_factory=lambda: {"": set()})
    """The names in each directory that holds a fetched file ('' is the root)."""
    links: int = 0
    """Links among `files`: with none, a fetched file's path leads to itself."""


@dataclass(frozen=True, slots=True)
class _Located:
    path: str | None
    """The real path (links followed), None when a link leads out of the tree."""
    kind: Kind | None
    below_file: bool = False
    """A component other than the last is a file: the disk's `ENOTDIR`."""
    loop: bool = False
    """Links lead to links past `_MAX_HOPS`: the disk's `ELOOP` (and leads nowhere)."""


class SnapshotTree:
    """A commit's files as far as they were fetched: exactly what the directory that
    `Snapshot.materialise` wrote held before (a path never fetched is absent, links are
    links), so every check sees what it saw, but held in memory. A link leading out of
    the repository is taken as leading nowhere: nothing outside is ever read."""

    def __init__(self, snapshot: Snapshot, root: Path, shared: FilesRead) -> None:
        self.snapshot = snapshot
        self._root = root
        self.shared = shared

    @property
    def root(self) -> Path:
        return self._root

    def fetch(self, paths: Iterable[str]) -> None:
        """Bring the files at `paths` (those present), entries and bytes in one request
        each, for every later question."""
        shared = self.shared
        wanted = [
            p
            for p in dict.fromkeys(paths)
            if p not in shared.fetched and p not in shared.files and p not in shared.children
        ]
        if not wanted:
            return
        shared.fetched.update(wanted)
        entries = {
            p: e
            for p, e in self.snapshot.entries(wanted).items()
            if e is not None and not e.is_tree and e.mode != GITLINK_MODE
        }
        blobs = self.snapshot.clone.blobs(e.oid for e in entries.values())
        for spelled, entry in entries.items():
            parts = path_parts(spelled)
            shared.files["/".join(parts)] = (entry, blobs[entry.oid])
            shared.links += entry.is_link
            for end in range(len(parts)):
                shared.children.setdefault("/".join(parts[:end]), set()).add(parts[end])

    def kind(self, path: str) -> Kind | None:
        found = self._locate(path, follow=False)
        return None if found.below_file else found.kind

    def is_file(self, path: str) -> bool:
        return self._locate(path, follow=True).kind == "file"

    def is_dir(self, path: str) -> bool:
        return self._locate(path, follow=True).kind == "directory"

    def is_link(self, path: str) -> bool:
        return self.kind(path) == "link"

    def is_inside(self, path: str) -> bool:
        return self._locate(path, follow=True).path is not None

    def size(self, path: str) -> int:
        return len(self.read(path))

    def read(self, path: str, *, follow: bool = True, limit: int = -1) -> bytes:
        found = self._locate(path, follow=follow)
        if found.below_file:
            raise _error(errno.ENOTDIR, path)
        if found.loop:
            raise _error(errno.ELOOP, path)
        if found.path is None or found.kind is None:
            raise _error(errno.ENOENT, path)
        if found.kind == "directory":
            raise _error(errno.EISDIR, path)
        if found.kind == "link":  # `O_NOFOLLOW`
            raise _error(errno.ELOOP, path)
        data = self.shared.files[found.path][1]
        return data if limit < 0 else data[:limit]

    def walk(self, directory: str) -> Iterator[tuple[str, list[str], list[str]]]:
        top = self._locate(directory, follow=True)
        if top.kind != "directory" or top.path is None:
            return
        dirnames: list[str] = []
        filenames: list[str] = []
        for name in sorted(self.shared.children.get(top.path, ())):
            child = _join(directory, name)
            (dirnames if self.is_dir(child) else filenames).append(name)
        yield directory, dirnames, filenames
        for name in dirnames:
            child = _join(directory, name)
            if not self.is_link(child):
                yield from self.walk(child)

    def _kind(self, path: str) -> Kind | None:
        found = self.shared.files.get(path)
        if found is not None:
            return "link" if found[0].is_link else "file"
        return "directory" if path in self.shared.children else None

    def _locate(self, path: str, *, follow: bool) -> _Located:
        """Where `path` leads, as `realpath` walks it: each link on the way (the last one
        too when `follow`) replaced by its target; a missing part continues by name."""
        if not self.shared.links:  # no link on any way: a known path is what it names
            if path in self.shared.files:
                return _Located(path, "file")
            if ".." not in path:
                normal = "/".join(path_parts(path))
                if normal in self.shared.files:
                    return _Located(normal, "file")
                if normal in self.shared.children:
                    return _Located(normal, "directory")
        todo = path_parts(path)
        done: list[str] = []
        kind: Kind | None = "directory"
        hops = 0
        while todo:
            name = todo.pop(0)
            if kind not in ("directory", None):
                return _Located("/".join([*done, name, *todo]), None, below_file=True)
            if name == "..":
                if not done:
                    return _Located(None, None)
                done.pop()
                kind = self._kind("/".join(done))
                continue
            current = "/".join([*done, name])
            kind = self._kind(current)
            if kind == "link" and (todo or follow):
                hops += 1
                target = self.shared.files[current][1].decode("utf-8", "surrogateescape")
                if hops > _MAX_HOPS or target.startswith("/"):
                    return _Located(None, None, loop=hops > _MAX_HOPS)
                todo = path_parts(target) + todo
                kind = self._kind("/".join(done)) if done else "directory"
                continue
            done.append(name)
        return _Located("/".join(done), kind)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _error(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


class SnapshotFiles:
    """A commit's files for the environment model: the listing in one fetch (trees, no
    blobs), then each batch of files in one more, held in memory (`SnapshotTree`).

    In a wide directory holding the app's own (`apps/web` among thousands of apps), the
    siblings are not listed up front; `expand` lists one when a kustomization reaches it.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        root: Path,
        apps: Iterable[str] = (),
        shared: FilesRead | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.apps = frozenset(apps)
        self.shared = shared if shared is not None else FilesRead()
        self.tree = SnapshotTree(snapshot, root, self.shared)
        self._paths: list[str] | None = None
        self._skipped: list[str] = []

    def paths(self) -> list[str]:
        """The listing, the same list for every view of it (discoveries index it once by
        identity; `expand` makes a new one). A whole listing read already (the fleet's)
        serves any app: what it holds is a superset of an app's."""
        if self._paths is None:
            known = self.shared.listings.get(self.apps) or self.shared.listings.get(frozenset())
            if known is None:
                known = self.shared.listings[self.apps] = self.snapshot.listing(self.apps)
            self._paths, self._skipped = known[0], list(known[1])
        return self._paths

    def expand(self, paths: Iterable[str]) -> list[str]:
        """Files under the left-out directories that hold any of `paths`."""
        self.paths()
        found: list[str] = []
        for directory in sorted(self._skipped):
            if any(p == directory or p.startswith(f"{directory}/") for p in paths):
                found.extend(self.snapshot.files_under(directory))
                self._skipped.remove(directory)
        assert self._paths is not None
        self._paths = sorted({*self._paths, *found})
        return found

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(paths))
        self.tree.fetch(wanted)  # only what is not held yet
        return read_files(self.tree, wanted)
