"""What a push sends: the objects a run made, and the remote's objects they replace.

A promotion's commit reaches mostly objects the remote has; only those made here (a blob,
the trees on its path, the commit) are sent, each as a delta against the object at the
same path in the parent commit when the receiver has it (a thin pack, as `git push`
sends): a listing of thousands of apps changes by one entry, so it goes as a few dozen
bytes. Pure: works on an id → object map; knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from promoter.gitformat import parse_commit
from promoter.repo.pack import Object
from promoter.tree import Entry

Listing = Callable[[str], Mapping[str, Entry]]
"""A held tree's entries by id (the store's parsed-tree cache)."""


def unsent(
    objects: Mapping[str, Object], new: set[str], commit: str, listing: Listing
) -> list[Object]:
    """The objects of `new` (made here) that `commit` reaches; all others came from the
    remote, so the walk stops at them."""
    found: list[str] = []
    level = [commit] if commit in new else []
    seen: set[str] = set(level)
    while level:
        found += level
        below: list[str] = []
        for oid in level:
            kind, body = objects[oid]
            if kind == "commit":
                below.append(parse_commit(body).tree)
            elif kind == "tree":
                below += [e.oid for e in listing(oid).values()]
        level = [o for o in dict.fromkeys(below) if o in new and o not in seen]
        seen.update(level)
    return [objects[oid] for oid in found]


def delta_bases(
    objects: Mapping[str, Object], new: set[str], commit: str, listing: Listing
) -> dict[str, Object]:
    """For each object of `new` under `commit`, the held remote object at its path in the
    first parent: its delta base in a thin pack."""
    found: dict[str, Object] = {}
    info = parse_commit(objects[commit][1])
    parent = objects.get(info.parents[0]) if info.parents else None
    if parent is None:
        return found
    pairs = [(info.tree, parse_commit(parent[1]).tree)]
    while pairs:
        below: list[tuple[str, str]] = []
        for made, old in pairs:
            held = objects.get(old)
            if made == old or made not in new or held is None or old in new:
                continue
            found[made] = held
            if held[0] == "tree" and objects[made][0] == "tree":
                before = listing(old)
                for name, entry in listing(made).items():
                    if (was := before.get(name)) is not None:
                        below.append((entry.oid, was.oid))
        pairs = below
    return found
