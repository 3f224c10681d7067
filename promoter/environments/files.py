"""The repository as the environment model sees it: every path, and bytes read in batches.

Discovery decides what to read from the path listing alone, then reads a batch at a time,
so a partial clone fetches each batch in one request however large the repository is.
Knows nothing of git: the promotion use case adapts its snapshot to `RepoFiles`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from promoter.filetree import FileTree, as_tree
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
    """A directory on disk (a checkout), or any `FileTree`: listed by walking it."""

    def __init__(self, root: Path | FileTree) -> None:
        self.root = as_tree(root)
        self._paths: list[str] | None = None

    def paths(self) -> list[str]:
        if self._paths is None:
            self._paths = list_files(self.root)
        return self._paths

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        return read_files(self.root, paths)

    def expand(self, paths: Iterable[str]) -> list[str]:
        return []  # the listing is complete


def list_files(root: Path | FileTree) -> list[str]:
    """Files under `root`, relative and sorted; hidden names and links out of it skipped."""
    tree = as_tree(root)
    found: list[str] = []
    for directory, dirnames, filenames in tree.walk(""):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = f"{directory}/{filename}" if directory else filename
            if tree.is_link(path) and not tree.is_inside(path):
                continue
            found.append(path)
    return sorted(found)


def read_files(root: Path | FileTree, paths: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each of `paths` that is a file inside `root` (links followed) within
    the size limit; the others are left out."""
    tree = as_tree(root)
    found: dict[str, bytes] = {}
    for relative in paths:
        try:
            if not tree.is_inside(relative) or not tree.is_file(relative):
                continue
            if tree.size(relative) > MAX_FILE_BYTES:
                continue
            found[relative] = tree.read(relative)
        except OSError:
            continue
    return found
