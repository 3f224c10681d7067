"""Git's object format, computed in Python: an object's id, a tree's and a commit's bytes
and back. A store names a tree or blob with it before (or instead of) writing it, and the
clone writes loose objects without a git process. Knows nothing of git processes or HTTP.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping

from promoter.tree import CommitInfo, Entry, Identity


def object_id(kind: str, body: bytes, *, algorithm: str = "sha1") -> str:
    """The id git gives an object of `kind` with `body` (sha1 or sha256 repositories)."""
    data = kind.encode() + b" %d\0" % len(body) + body
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def tree_body(entries: Mapping[str, Entry]) -> bytes:
    """A tree object's bytes: entries in git's order (a directory sorts as `name/`)."""

    def order(item: tuple[str, Entry]) -> bytes:
        name, entry = item
        return name.encode("utf-8", "surrogateescape") + (b"/" if entry.is_tree else b"")

    return b"".join(
        f"{e.mode} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0"
        + bytes.fromhex(e.oid)
        for name, e in sorted(entries.items(), key=order)
    )  # fmt: skip


def parse_tree(raw: bytes, oid_bytes: int = 20) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    at = 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        mode = raw[at:space].decode()
        name = raw[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries[name] = Entry(mode, raw[nul + 1 : nul + 1 + oid_bytes].hex())
        at = nul + 1 + oid_bytes
    return entries


def commit_body(
    tree: str, parents: Iterable[str], message: str, identity: Identity, when: float | None = None
) -> bytes:
    """A commit object's bytes, as `git commit-tree` writes it (author = committer, now)."""
    moment = time.time() if when is None else when
    offset = time.localtime(moment).tm_gmtoff
    sign = "-" if offset < 0 else "+"
    zone = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    stamp = f"{identity.name} <{identity.email}> {int(moment)} {zone}"
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {stamp}", f"committer {stamp}"]
    return ("\n".join(lines) + "\n\n" + message).encode("utf-8")


def parse_commit(raw: bytes) -> CommitInfo:
    """The tree, parents and message of a commit object's bytes."""
    header, _, message = raw.decode("utf-8", "replace").partition("\n\n")
    tree = ""
    parents: list[str] = []
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
    return CommitInfo(tree, tuple(parents), message)


def commit_time(raw: bytes) -> float:
    """The committer timestamp of a commit object's bytes (0 when it has none)."""
    header = raw.partition(b"\n\n")[0]
    for line in header.splitlines():
        if line.startswith(b"committer "):
            fields = line.rsplit(b" ", 2)
            try:
                return float(fields[-2])
            except (IndexError, ValueError):
                return 0.0
    return 0.0
