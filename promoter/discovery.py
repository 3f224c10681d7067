"""Repository paths: the path-escape check every module uses, and `directory:` targets.

A `directory:` target of promoter.yaml is screened cheaply on raw bytes for the image's
name (its last path component, as a word); the editing engine does the real match, and a
run where it matches nothing is refused, never reported as up to date. Zero-config
discovery lives in `environments`. Knows nothing of YAML parsing, git or forges.
"""

from __future__ import annotations

import difflib
import functools
import posixpath
import re
from pathlib import Path, PurePosixPath

from promoter.errors import PathEscapeError, TargetNotFoundError
from promoter.filetree import FileTree, as_tree, path_parts
from promoter.imageref import ImageRef
from promoter.yamlfile import KUSTOMIZATION_NAMES, MAX_FILE_BYTES, VALUES_NAMES, YAML_SUFFIXES, stem

SKIPPED_FILES = frozenset({"Chart.yaml", "Chart.lock"})
"""Helm chart metadata names the app but never holds an image."""

_VALUES_NAME = re.compile(r"^values[-._](?P<a>.+)$|^(?P<b>.+)[-._]values$")


def resolve_in_repo(root: Path | FileTree, relative: str, *, field: str | None = None) -> Path:
    """`root / relative`, once it is known to stay inside `root` (a directory, or a tree's
    root); else `PathEscapeError`.

    Refuses absolute paths, any `..` segment, and paths that a symlink leads outside the
    root. The result keeps `root`'s spelling (so `relative_to(root)` works); a writer that
    must replace a link's target rather than the link resolves it itself. The path need
    not exist.
    """
    tree = as_tree(root)
    normal = normalize_relative(relative, field=field)
    if not tree.is_inside(normal):
        raise PathEscapeError(
            f"{relative!r} resolves outside the repository through a symlink", field=field
        )
    return tree.root if normal == "." else tree.root / normal


@functools.lru_cache(maxsize=65536)  # every target is asked about per app and cell
def normalize_relative(relative: str, *, field: str | None = None) -> str:
    """`relative` as a clean POSIX path (`./a//b/` → `a/b`), or `PathEscapeError`."""
    if not relative:
        raise PathEscapeError("expected a relative path, got an empty string", field=field)
    if "\\" in relative:
        raise PathEscapeError(f"use '/' to separate directories in {relative!r}", field=field)
    if relative.startswith("/") or re.match(r"[A-Za-z]:", relative):
        raise PathEscapeError(
            f"expected a path relative to the repository root, got absolute {relative!r}",
            field=field,
        )
    if ".." in relative.split("/"):
        raise PathEscapeError(
            f"{relative!r} must stay inside the repository ('..' is not allowed)", field=field
        )
    return "/".join(path_parts(relative)) or "."


def search_directory(root: Path | FileTree, directory: str, repository: ImageRef) -> list[Path]:
    """YAML files under `directory` (relative to `root`) that may reference `repository`.

    This is a `directory:` target of promoter.yaml; raises `TargetNotFoundError` when the
    directory is missing or no file in it mentions the image.
    """
    tree = as_tree(root)
    resolve_in_repo(tree, directory)
    start = normalize_relative(directory)
    start = "" if start == "." else start
    if not tree.is_dir(start):
        raise TargetNotFoundError(f"directory {directory!r} not found in the repository")
    candidates = _yaml_files(tree, start)
    found = [tree.root / r for r in candidates if _mentions(tree, r, repository)]
    if not found:
        looked = _summary(candidates) if candidates else "no YAML files"
        raise TargetNotFoundError(
            f"no file under {directory!r} mentions {repository.app_name!r} (looked at {looked})"
        )
    return found


def did_you_mean(name: str, known: list[str], *, cutoff: float = 0.6) -> str:
    """A hint, never a substitute: `production` suggests `prod`, it does not become it."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _yaml_files(tree: FileTree, start: str) -> list[PurePosixPath]:
    """YAML files under `start`, relative to the root, sorted; hidden names and links out
    skipped.

    Symlinked directories are not entered (no loops); a symlinked file counts only if it
    resolves inside the root.
    """
    found: list[PurePosixPath] = []
    for directory, dirnames, filenames in tree.walk(start):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not _is_yaml_name(filename):
                continue
            path = posixpath.join(directory, filename)
            if tree.is_link(path) and not tree.is_inside(path):
                continue
            found.append(PurePosixPath(path))
    return sorted(found)


def _is_yaml_name(filename: str) -> bool:
    if filename.startswith(".") or filename in SKIPPED_FILES:
        return False
    return filename in KUSTOMIZATION_NAMES or filename.endswith(YAML_SUFFIXES)


def _mentions(tree: FileTree, relative: PurePosixPath, repository: ImageRef) -> bool:
    """Token screen on the file, or for a Helm values override on its chart's `values.yaml`.

    The image's last path component must appear as a word of its own: `api` does not
    match `apiVersion` or `acme/api-gateway`, so every manifest is not a candidate for `api`.
    """
    token = re.compile(rb"(?<![\w.-])" + re.escape(repository.app_name.encode()) + rb"(?![\w-])")
    if _contains(tree, relative.as_posix(), token):
        return True
    if _VALUES_NAME.fullmatch(stem(relative.name)):
        return any(_contains(tree, relative.with_name(n).as_posix(), token) for n in VALUES_NAMES)
    return False


def _contains(tree: FileTree, path: str, token: re.Pattern[bytes]) -> bool:
    try:
        if tree.size(path) > MAX_FILE_BYTES:
            return False
        return token.search(tree.read(path)) is not None
    except OSError:
        return False


def _summary(paths: list[PurePosixPath], limit: int = 5) -> str:
    names = [p.as_posix() for p in paths[:limit]]
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(names) + more
