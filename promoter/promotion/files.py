"""A commit's files as the environment model reads them (`environments.RepoFiles`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from promoter.environments.files import read_files
from promoter.repo import Snapshot


class SnapshotFiles:
    """A commit's files for the environment model: the listing in one fetch (trees, no
    blobs), then each batch of files in one more, written under `root` for the editors.

    In a wide directory holding the app's own (`apps/web` among thousands of apps), the
    siblings are not listed up front; `expand` lists one when a kustomization reaches it.
    """

    def __init__(self, snapshot: Snapshot, root: Path, apps: Iterable[str] = ()) -> None:
        self.snapshot = snapshot
        self.root = root
        self.apps = frozenset(apps)
        self._paths: list[str] | None = None
        self._skipped: list[str] = []

    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths, self._skipped = self.snapshot.listing(self.apps)
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
        wanted = list(paths)
        self.snapshot.materialise(wanted, self.root)
        return read_files(self.root, wanted)
