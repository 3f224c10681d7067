"""When files last changed along a first-parent history: one tree-difference walk.

`status` dates every cell ("since 30h") and a soak check asks when a version arrived. Both
need, for each file that sets a version, the first commit (newest first) at which the file
differs from its newer neighbour. Looking each path up in every commit's tree costs
commits × paths × depth; comparing consecutive commits' trees instead descends only where
their ids differ, so a history in which each commit touched one app costs one listing per
level per commit, whatever the number of paths. Every pair is walked in the same pass,
level by level: one `Store.trees` request per depth for the whole history. A leaf: knows
only the `tree.Store` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from promoter.tree import PathStore, Store, entries_at

_Node = dict[str, "_Node | None"]
"""A trie of the paths asked about: a name maps to the names below it, or None for a file.
A name asked both as a file and as a directory holds `_ITSELF` among its names."""
_ITSELF = ""
"""No git tree entry has an empty name."""


def first_changes(store: Store, roots: Sequence[str], paths: Iterable[str]) -> dict[str, int]:
    """For each path, the smallest index `i` ≥ 1 such that its entry below `roots[i]`
    differs from the one below `roots[i - 1]` (`roots` newest first); a path the whole
    history leaves unchanged is absent. Present, missing and a type change all count (a
    directory's entry is its tree, as `git rev-parse <commit>:<path>` answers)."""
    trie: _Node = {}
    for path in dict.fromkeys(paths):
        parts = PurePosixPath(path).parts
        node = trie
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = {_ITSELF: None} if part in node else {}
                node[part] = child
            node = child
        if parts:
            directory = node.get(parts[-1])
            if directory is not None:  # already a directory of other paths
                directory[_ITSELF] = None
            else:
                node[parts[-1]] = None
    if isinstance(store, PathStore):  # it reads by path: ask it for each path at each commit
        return _by_path(store, roots, list(dict.fromkeys(paths)))
    found: dict[str, int] = {}
    level: list[tuple[int, _Node, str, str | None, str | None]] = [
        (index, trie, "", roots[index - 1], roots[index])
        for index in range(1, len(roots))
        if roots[index - 1] != roots[index]
    ]
    while level:
        wanted = {oid: 0 for item in level for oid in item[3:] if oid is not None}
        listings = store.trees(wanted)
        below: list[tuple[int, _Node, str, str | None, str | None]] = []
        for index, node, prefix, newer, older in level:
            ours = listings[newer] if newer is not None else {}
            theirs = listings[older] if older is not None else {}
            for name, child in node.items():
                if name == _ITSELF:
                    continue
                a, b = ours.get(name), theirs.get(name)
                if a == b:
                    continue
                path = f"{prefix}{name}"
                if child is None or _ITSELF in child:
                    _mark(found, path, index)
                if child is not None:  # what lies below, compared with an empty tree
                    tree_a = a.oid if a is not None and a.is_tree else None
                    tree_b = b.oid if b is not None and b.is_tree else None
                    if tree_a is not None or tree_b is not None:
                        below.append((index, child, f"{path}/", tree_a, tree_b))
        level = below
    return found


def _by_path(store: Store, roots: Sequence[str], paths: list[str]) -> dict[str, int]:
    """`first_changes` through `entries_at`, for a store that lists no wide directory."""
    at = entries_at(store, roots, paths)
    found: dict[str, int] = {}
    for path in paths:
        for index in range(1, len(roots)):
            if at[index].get(path) != at[index - 1].get(path):
                found[path] = index
                break
    return found


def _mark(found: dict[str, int], path: str, index: int) -> None:
    if index < found.get(path, index + 1):
        found[path] = index


def unchanged_for(changes: dict[str, int], paths: Iterable[str], commits: int) -> int:
    """How many commits from the newest the files at `paths` stay as they are at the
    newest (all `commits` when none changed)."""
    return min((changes[p] for p in paths if p in changes), default=commits)


def unchanged_prefix(store: Store, roots: Sequence[str], paths: Sequence[str], chunk: int) -> int:
    """How many of `roots` (newest first) hold `paths` as the newest does: walked `chunk`
    commits at a time, stopping at the first change (a soak check usually finds it among
    the newest few, and a wide listing per commit is not read further back than needed)."""
    start = 0
    while paths and start + 1 < len(roots):
        end = min(len(roots), start + chunk + 1)
        changes = first_changes(store, roots[start:end], paths)
        if changes:
            return start + min(changes.values())
        start = end - 1
    return len(roots) if paths else min(1, len(roots))
