"""What the API stores (GitHub's Git Data API, GitLab's repository API) share: objects
named locally exactly as git names them, and the files one tree changes against another.

A forge API store never writes a tree or blob before it knows the change is real: new
blobs and trees are hashed here, so an unchanged result is recognised by its tree id with
no write call, and the files to send are read off the difference of two trees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from promoter.errors import ForgeError
from promoter.gitformat import object_id, tree_body
from promoter.tree import Entry

Changed = dict[str, tuple[str, bytes, bool]]
"""path → (mode, content, whether the old tree had the path)."""


class LocalObjects:
    """Trees read or made so far, and blobs made locally; subclasses read the rest."""

    def __init__(self) -> None:
        self._trees: dict[str, dict[str, Entry]] = {}
        self._new_blobs: dict[str, bytes] = {}

    def tree(self, oid: str) -> dict[str, Entry]:
        return self.trees({oid: 0})[oid]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        raise NotImplementedError

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def hash_blob(self, data: bytes) -> str:
        oid = object_id("blob", data)
        self._new_blobs[oid] = data
        return oid

    def make_tree(self, entries: Mapping[str, Entry]) -> str:
        oid = object_id("tree", tree_body(entries))
        self._trees[oid] = dict(entries)
        return oid

    def changed(self, old: str, new: str, prefix: str = "") -> Changed:
        """Blobs that differ between two trees (a removed path is refused: promotions
        only write files)."""
        before = self.tree(old) if old else {}
        found: Changed = {}
        for name, entry in self._trees[new].items():
            previous = before.get(name)
            if previous is not None and previous.oid == entry.oid:
                continue
            if entry.is_tree:
                earlier = previous.oid if previous is not None and previous.is_tree else ""
                found |= self.changed(earlier, entry.oid, f"{prefix}{name}/")
            else:
                data = self.blobs([entry.oid])[entry.oid]
                found[prefix + name] = (entry.mode, data, previous is not None)
        missing = [n for n in before if n not in self._trees[new]]
        if missing:
            raise ForgeError(f"a promotion does not delete files ({prefix}{missing[0]})")
        return found
