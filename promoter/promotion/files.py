"""A commit's files as the environment model reads them (`environments.RepoFiles`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from promoter.environments.files import read_files
from promoter.repo import Snapshot


class SnapshotFiles:
    """A commit's files for the environment model: the listing in one fetch (all trees, no
    blobs), then each batch of files in one more, written under `root` for the editors."""

    def __init__(self, snapshot: Snapshot, root: Path) -> None:
        self.snapshot = snapshot
        self.root = root
        self._paths: list[str] | None = None

    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = self.snapshot.files_under("")
        return self._paths

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = list(paths)
        self.snapshot.materialise(wanted, self.root)
        return read_files(self.root, wanted)
