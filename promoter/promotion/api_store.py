"""`--no-clone`: the forge's Git Data API standing in for the partial clone.

Implements what `repo.Snapshot` and the promotion loop need from a `Clone` (trees, blobs,
commits, branch moves) over `GitHubRepository`. New blobs and trees are hashed locally
exactly as git would, so an unchanged result is recognised by its tree id without a
single write; only a real change uploads one tree (with `base_tree`) and one commit, and
GitHub must produce the same tree id or the run stops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from promoter.errors import ForgeError, InputError
from promoter.forges.github_repo import GitHubRepository
from promoter.repo import Entry, GitStats, Identity

_TREE = "40000"


class ApiClone:
    def __init__(self, store: GitHubRepository, stats: GitStats) -> None:
        self.store = store
        self.stats = stats
        self._trees: dict[str, dict[str, Entry]] = {}
        self._commits: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self._new_blobs: dict[str, bytes] = {}

    # -- what Snapshot reads ---------------------------------------------------------

    def commit_info(self, oid: str) -> tuple[str, tuple[str, ...], str]:
        if oid not in self._commits:
            self._commits[oid] = self.store.commit(oid)
        return self._commits[oid]

    def tree(self, oid: str) -> dict[str, Entry]:
        return self.trees({oid: 0})[oid]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        for oid in wanted:
            if oid not in self._trees:
                listing = self.store.tree(oid)
                self._trees[oid] = {n: Entry(e.mode, e.oid) for n, e in listing.items()}
        return {oid: self._trees[oid] for oid in wanted}

    def subtrees(self, oids: Iterable[str]) -> None:
        for oid in oids:
            self.subtree(oid)

    def subtree(self, oid: str) -> None:
        """One recursive listing fills in every tree below `oid`."""
        listing = self.store.tree(oid, recursive=True)
        trees = {"": oid} | {p: e.oid for p, e in listing.items() if e.mode == _TREE}
        for tree in trees.values():
            self._trees.setdefault(tree, {})
        for path, entry in listing.items():
            parent, _, name = path.rpartition("/")
            self._trees[trees[parent]][name] = Entry(entry.mode, entry.oid)

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        return {o: self._new_blobs.get(o) or self.store.blob(o) for o in dict.fromkeys(oids)}

    def hash_blob(self, data: bytes) -> str:
        oid = _object_id(b"blob", data)
        self._new_blobs[oid] = data
        return oid

    def make_tree(self, entries: Mapping[str, Entry]) -> str:
        body = b"".join(
            f"{e.mode} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0"
            + bytes.fromhex(e.oid)
            for name, e in sorted(entries.items(), key=_git_order)
        )  # fmt: skip
        oid = _object_id(b"tree", body)
        self._trees[oid] = dict(entries)
        return oid

    # -- what the promotion loop does -----------------------------------------------

    def head_branch(self) -> str:
        return self.store.default_branch()

    def ref(self, branch: str) -> str:
        tip = self.store.branch_tip(branch)
        if tip is None:
            raise ForgeError(f"branch {branch!r} not found")
        return tip

    def update(self, branch: str) -> str:
        return self.ref(branch)

    def remote_branch(self, branch: str) -> str | None:
        return self.store.branch_tip(branch)

    def fetch_commit(self, oid: str) -> None:
        return None

    def write_commit(
        self, tree: str, parent: str, message: str, *, identity: Identity, sign: bool = False
    ) -> str:
        if sign:
            raise InputError(
                "--sign does not apply to --no-clone: GitHub signs API commits made with a "
                "GitHub App token",
                field="--sign",
            )
        base = self.commit_info(parent)[0]
        files = self._changed(base, tree, "")
        created = self.store.create_tree(base, files)
        if created != tree:
            raise ForgeError(f"GitHub built tree {created[:12]}, expected {tree[:12]}")
        return self.store.create_commit(message, tree, parent, identity.name, identity.email)

    def push(self, commit: str, branch: str, *, lease: str | None, force: bool) -> None:
        if not force:
            self.store.update_branch(branch, commit, force=False)
        elif lease is None:
            self.store.create_branch(branch, commit)
        else:
            self.store.update_branch(branch, commit, force=True, expected=lease)

    def delete_branch(self, branch: str, *, lease: str) -> None:
        self.store.delete_branch(branch)

    def _changed(self, old: str, new: str, prefix: str) -> dict[str, tuple[str, bytes]]:
        """Blobs that differ between two trees: path → (mode, content)."""
        before = self.tree(old) if old else {}
        found: dict[str, tuple[str, bytes]] = {}
        for name, entry in self._trees[new].items():
            previous = before.get(name)
            if previous is not None and previous.oid == entry.oid:
                continue
            if entry.mode == _TREE:
                earlier = previous.oid if previous is not None and previous.mode == _TREE else ""
                found |= self._changed(earlier, entry.oid, f"{prefix}{name}/")
            else:
                found[prefix + name] = (entry.mode, self.blobs([entry.oid])[entry.oid])
        return found


def _object_id(kind: bytes, body: bytes) -> str:
    return hashlib.sha1(kind + b" %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def _git_order(item: tuple[str, Entry]) -> bytes:
    """git sorts tree entries by name, a directory as if its name ended in '/'."""
    name, entry = item
    return name.encode("utf-8", "surrogateescape") + (b"/" if entry.mode == _TREE else b"")
