"""A commit's files as the environment model reads them (`environments.RepoFiles`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promoter.environments.files import read_files
from promoter.repo import Snapshot


@dataclass
class FilesRead:
    """What one checkout's files were read as, shared by every view of them in a run: a
    status or `--all` run discovers each app in each environment, and each discovery
    would list the tree and read the same bases again. A checkout's files never change
    (a run writes its edits into new trees, not into the checkout)."""

    listings: dict[frozenset[str], tuple[list[str], list[str]]] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)


class SnapshotFiles:
    """A commit's files for the environment model: the listing in one fetch (trees, no
    blobs), then each batch of files in one more, written under `root` for the editors.

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
        self.root = root
        self.apps = frozenset(apps)
        self.shared = shared if shared is not None else FilesRead()
        self._paths: list[str] | None = None
        self._skipped: list[str] = []

    def paths(self) -> list[str]:
        if self._paths is None:
            known = self.shared.listings.get(self.apps)
            if known is None:
                known = self.shared.listings[self.apps] = self.snapshot.listing(self.apps)
            self._paths, self._skipped = list(known[0]), list(known[1])
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
        shared = self.shared
        new = [p for p in wanted if p not in shared.data and p not in shared.unreadable]
        if new:
            self.snapshot.materialise(new, self.root)
            found = read_files(self.root, new)
            shared.data.update(found)
            shared.unreadable.update(p for p in new if p not in found)
        return {p: shared.data[p] for p in wanted if p in shared.data}
