"""Fetching by id into a partial clone, and knowing what it already holds.

A partial clone holds some objects and fetches the rest on demand; fetching one already
present would cost a round trip, and letting git's lazy fetch find a missing one costs a
round trip per object. So `Fetcher` tracks what is present (and how many levels below a
tree are), fetches only the rest, all at once, and degrades with the git and the server:
no `--refetch` (git < 2.36), no `fetch --stdin` (git < 2.29), filters capped at `tree:0`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from promoter.errors import GitError
from promoter.repo.outcome import GitResult, is_filter_refusal, is_unknown_option
from promoter.tree import Entry, GitStats

NO_NEGOTIATION = (("fetch.negotiationAlgorithm", "noop"),)
"""Send no `have`s: a fetch by id must not let the server assume the client has them."""


class Runner(Protocol):
    """Runs one git command in the clone (its transport and auth already chosen)."""

    def __call__(
        self, *args: str, input: bytes | None = None, settings: Sequence[tuple[str, str]] = ()
    ) -> GitResult: ...


class Fetcher:
    """What a partial clone holds, and the fetches that bring the rest."""

    def __init__(self, git: Runner, git_dir: Path, stats: GitStats) -> None:
        self.git = git
        self.git_dir = git_dir
        self.stats = stats
        self.partial = True
        """Whether the server filters (else the clone holds the whole tip)."""
        self.refetch = True
        """Whether git has `fetch --refetch` (2.36); older ones fetch without negotiating."""
        self.lazy = False
        """Whether git is too old for either: it then fetches each missing object as read."""
        self.deep = True
        """Whether the server takes `tree:<n>` filters with n > 0 (some cap the depth at 0)."""
        self.present: set[str] = set()
        self.complete: set[str] = set()
        """Trees whose every subtree is present (`Clone.subtrees`), blobs aside."""
        self.depth: dict[str, int] = {}
        """Levels below a present tree that are present too (its subtrees and their blobs)."""

    @property
    def by_id(self) -> bool:
        """Whether missing objects are fetched here (else git has them all, or fetches each
        lazily as it is read)."""
        return self.partial and not self.lazy

    def measure(self) -> _Measure:
        """Counts a fetch and the pack bytes it brought (git keeps packs: `fetch.unpackLimit`)."""
        return _Measure(self.git_dir, self.stats)

    def arrived(self, root: str, filter_depth: int) -> None:
        """Record what a `--filter=tree:<filter_depth>` fetch (n > 0) of a commit with tree
        `root` brought."""
        self.present.add(root)
        self.depth[root] = max(self.depth.get(root, 0), filter_depth - 1)

    def commit(self, oid: str) -> None:
        """Make one commit present (without its trees)."""
        if oid in self.present:
            return
        if self.partial:
            self.fetch([oid], "tree:0", depth=True)
            return
        with self.measure():
            self.git("fetch", "--depth=1", "--no-tags", "origin", oid)
        self.present.add(oid)

    def fetch(self, oids: Sequence[str], spec: str, *, depth: bool = False) -> None:
        """Fetch the objects `oids` not yet present, however many, in one request.

        Ids go on stdin (thousands of blobs would overflow argv). Only missing objects are
        asked for, so git < 2.36 (no `--refetch`) gets the same single request by not
        negotiating, as git's own lazy fetch does: a `have` would make the server leave
        out every object reachable from the tip, i.e. all of them.
        """
        wanted = [o for o in dict.fromkeys(oids) if o not in self.present]
        if not wanted or not self.by_id:
            self.present.update(wanted)
            return
        args = ["fetch", f"--filter={spec}", "--no-tags", "--no-write-fetch-head"]
        args += ["--recurse-submodules=no", "--stdin"]
        if depth:
            args.append("--depth=1")
        ids = "".join(f"{o}\n" for o in wanted).encode()
        try:
            with self.measure():
                if self.refetch:
                    self.git(*args, "--refetch", "origin", input=ids)
                else:
                    self.git(*args, "origin", input=ids, settings=NO_NEGOTIATION)
        except GitError as exc:
            if not is_unknown_option(exc.stderr):
                raise
            if self.refetch:
                self.refetch = False
                self.stats.notes.append("git < 2.36: objects are fetched without negotiation")
                self.fetch(wanted, spec, depth=depth)
                return
            # git < 2.29 (no `fetch --stdin`): leave it to git's lazy fetch on each read.
            self.lazy = True
            self.stats.notes.append("git < 2.29: objects are fetched lazily, one at a time")
        self.present.update(wanted)

    def trees(self, wanted: Mapping[str, int]) -> None:
        """Fetch the missing trees of `wanted`, each with as many levels below it as it maps
        to (`tree:<n+1>`), one request per depth."""
        if not self.by_id:
            return
        by_depth: dict[int, list[str]] = {}
        for oid, levels in wanted.items():
            if oid not in self.present:
                by_depth.setdefault(levels if self.deep else 0, []).append(oid)
        for depth, oids in sorted(by_depth.items()):
            self._trees_at(oids, depth)

    def _trees_at(self, oids: list[str], depth: int) -> None:
        try:
            self.fetch(oids, f"tree:{depth + 1}" if depth else "tree:0")
        except GitError as exc:
            if depth == 0 or not is_filter_refusal(exc.stderr):
                raise
            self.deep = False
            self.stats.notes.append("server refuses deep tree filters; walking level by level")
            self.fetch(oids, "tree:0")
            return
        for oid in oids:
            self.depth[oid] = max(self.depth.get(oid, 0), depth)

    def propagate(self, oid: str, entries: Mapping[str, Entry]) -> None:
        """A tree present with n levels below it makes its children present with n-1; a
        complete tree makes its subtrees present and complete (not its blobs)."""
        depth = self.depth.get(oid, 0)
        complete = oid in self.complete
        if depth < 1 and not complete:
            return
        for entry in entries.values():
            if entry.is_tree:
                self.present.add(entry.oid)
                if complete:
                    self.complete.add(entry.oid)
                if depth >= 1:
                    self.depth[entry.oid] = max(self.depth.get(entry.oid, 0), depth - 1)
            elif depth >= 1:
                self.present.add(entry.oid)


class _Measure:
    def __init__(self, git_dir: Path, stats: GitStats) -> None:
        self.git_dir = git_dir
        self.stats = stats
        self.before = 0

    def __enter__(self) -> None:
        self.before = self._pack_bytes()

    def __exit__(self, *exc: object) -> None:
        self.stats.bytes_fetched += max(0, self._pack_bytes() - self.before)
        self.stats.fetches += 1

    def _pack_bytes(self) -> int:
        pack = self.git_dir / "objects" / "pack"
        if not pack.is_dir():
            return 0
        return sum(p.stat().st_size for p in pack.glob("*.pack"))
