"""One tree's files, read only, by repository-relative POSIX path (issue 23).

Planning reads a repository through `FileTree`, not through `Path`s, so that a run against
a remote repository holds the bytes it reads in memory and writes no working files: a
directory on disk is a `DiskTree` (a user's checkout, the files `bump` is given), a commit
is `promotion.files.SnapshotTree`. Each question is the one the disk answers (`is_file`
follows links, `kind` does not, `walk` enters no linked directory), so the checks built on
them (`discovery.resolve_in_repo`, the control files' no-follow reads) mean the same on
both. `root` is where the files are, or for a tree in memory a directory that is never
created: plans key their files by `root / path`. A leaf: knows nothing of git, stores,
YAML or the model.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["file", "directory", "link", "other"]
"""What is at a path, its last component's link not followed (`lstat`)."""


class FileTree(Protocol):
    """The files of one tree. A path is relative and POSIX ('' is the root); a failed read
    raises the `OSError` the disk would (`FileNotFoundError`, `IsADirectoryError`, …)."""

    @property
    def root(self) -> Path: ...

    def kind(self, path: str) -> Kind | None:
        """What is at `path`, not following a link there; None when nothing is."""
        ...

    def is_file(self, path: str) -> bool:
        """A regular file, through links (`Path.is_file`)."""
        ...

    def is_dir(self, path: str) -> bool: ...

    def is_link(self, path: str) -> bool: ...

    def is_inside(self, path: str) -> bool:
        """Whether `path`, its links followed, stays inside the tree (it need not exist)."""
        ...

    def size(self, path: str) -> int: ...

    def read(self, path: str, *, follow: bool = True, limit: int = -1) -> bytes:
        """The bytes at `path` (at most `limit`); `follow=False` refuses a link there."""
        ...

    def walk(self, directory: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """`os.walk(directory, followlinks=False)` with relative paths: prune by editing
        the directory names yielded."""
        ...


def path_parts(path: str) -> list[str]:
    """The components of a repository-relative POSIX path as `PurePosixPath(path).parts`
    gives them (empty and `.` components dropped), without building one: asked for every
    path of every cell of a large read."""
    return [part for part in path.split("/") if part not in ("", ".")]


def as_tree(root: Path | FileTree) -> FileTree:
    """A caller's directory as a tree; a tree as it is."""
    return DiskTree(root) if isinstance(root, Path) else root


def relative(tree: FileTree, path: Path) -> str:
    """`path` (`tree.root / something`) as the tree names it."""
    inside = path.relative_to(tree.root).as_posix()
    return "" if inside == "." else inside


class DiskTree:
    """A directory on disk, asked exactly as `pathlib` and `os` answer."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def kind(self, path: str) -> Kind | None:
        try:
            mode = (self._root / path).lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "directory"
        return "file" if stat.S_ISREG(mode) else "other"

    def is_file(self, path: str) -> bool:
        return (self._root / path).is_file()

    def is_dir(self, path: str) -> bool:
        return (self._root / path).is_dir()

    def is_link(self, path: str) -> bool:
        return (self._root / path).is_symlink()

    def is_inside(self, path: str) -> bool:
        real_root = self._root.resolve()
        real = (real_root / path).resolve()
        return real == real_root or real.is_relative_to(real_root)

    def size(self, path: str) -> int:
        return (self._root / path).stat().st_size

    def read(self, path: str, *, follow: bool = True, limit: int = -1) -> bytes:
        flags = os.O_RDONLY | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
        descriptor = os.open(self._root / path, flags)
        with os.fdopen(descriptor, "rb") as handle:
            return handle.read(limit)

    def walk(self, directory: str) -> Iterator[tuple[str, list[str], list[str]]]:
        for found, dirnames, filenames in os.walk(self._root / directory, followlinks=False):
            yield relative(self, Path(found)), dirnames, filenames
