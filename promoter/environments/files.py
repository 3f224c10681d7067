"""The repository as the environment model sees it: every path, and bytes read in batches.

Discovery decides what to read from the path listing alone, then reads a batch at a time,
so a partial clone fetches each batch in one request however large the repository is.
Knows nothing of git: the promotion use case adapts its snapshot to `RepoFiles`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from promoter.yamlfile import MAX_FILE_BYTES


class RepoFiles(Protocol):
    def paths(self) -> list[str]:
        """Every file path of the repository (POSIX, relative, sorted)."""
        ...

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each path that exists and is a readable file; one batch."""
        ...

    def expand(self, paths: Iterable[str]) -> list[str]:
        """Files newly listed because `paths` (references the listing lacked) lie in a
        directory the first listing left out; usually none."""
        ...


class DirectoryFiles:
    """A directory on disk: a checkout, or the files a partial clone materialised."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._paths: list[str] | None = None

    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = list_files(self.root)
        return self._paths

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        return read_files(self.root, paths)

    def expand(self, paths: Iterable[str]) -> list[str]:
        return []  # the listing is complete


def list_files(root: Path) -> list[str]:
    """Files under `root`, relative and sorted; hidden names and links out of it skipped."""
    real_root = root.resolve()
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = Path(directory, filename)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                continue
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def read_files(root: Path, paths: Iterable[str]) -> dict[str, bytes]:
    real_root = root.resolve()
    found: dict[str, bytes] = {}
    for relative in paths:
        path = root / relative
        try:
            if not path.resolve().is_relative_to(real_root) or not path.is_file():
                continue
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            found[relative] = path.read_bytes()
        except OSError:
            continue
    return found
