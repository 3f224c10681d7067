"""The direct store: a `tree.Store` over git's smart-HTTP protocol, objects held in memory.

The same reads and writes as `Clone`, without a git process or a file: discovery
(upload-pack's v2 `info/refs` and `ls-refs`, in parallel), the tip with `deepen 1` and
`filter tree:2` (the commit, its root tree, root files such as promoter.yaml and the top
listings), the trees and files a run reads fetched by id with `tree:<n>`/`blob:none`
filters, and for a push receive-pack's `info/refs` then one receive-pack request whose old
id is the lease (a compare-and-swap, as `--force-with-lease` gives) with a thin pack. A
run that may push asks that advertisement ahead (`prepare_push`, alongside its reads), so a
push-mode promotion of an app below a wide `apps/` is four sequential round trips (five
unprepared), a read three; a dry run never contacts receive-pack. Every object is known
by the id recomputed from its bytes (`pack.parse_pack`).

Only a signed commit needs git (`commit-tree -S`, in a scratch repository): the push
stays direct. Knows nothing of YAML, forges or promoter.yaml.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from promoter.errors import GitError
from promoter.gitformat import (
    commit_body,
    commit_time,
    object_id,
    parse_commit,
    parse_tree,
    tree_body,
)
from promoter.repo import protocol
from promoter.repo.auth import Auth
from promoter.repo.background import Background
from promoter.repo.connection import DirectUnsupportedError, HttpClient
from promoter.repo.git import run_git
from promoter.repo.objects import write_object
from promoter.repo.outcome import is_filter_refusal
from promoter.repo.pack import Object, parse_pack, write_pack
from promoter.repo.protocol import ZERO_ID, PushReport, check_report
from promoter.repo.remote import Remote
from promoter.repo.thin import delta_bases, unsent
from promoter.tree import CommitInfo, Entry, GitStats, Identity, Logged, check_branch_prefix

_CLONE_DEPTH = 2
"""`tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and listings."""


class DirectStore:
    """One branch of a remote read on demand and written with compare-and-swap pushes."""

    signs_commits = False
    """Commits are signed only with `--sign` (the user's key)."""

    def __init__(
        self,
        client: HttpClient,
        discovery: protocol.Discovery,
        directory: Path,
        stats: GitStats,
    ) -> None:
        self.client = client
        self.discovery = discovery
        self.directory = directory
        self.stats = stats
        self._objects: dict[str, Object] = {}
        self._trees: dict[str, dict[str, Entry]] = {}
        self._new: set[str] = set()
        """Objects made here, not (yet) on the remote: what a push sends."""
        self._complete: set[str] = set()
        self._branches: dict[str, str] = {}
        self._head = ""
        self._deep = True
        self._scratch = False
        self._advertised: Background[tuple[dict[str, str], set[str]]] | None = None
        """receive-pack's advertisement asked ahead (`prepare_push`), used by one push."""

    @classmethod
    def open(
        cls,
        remote: Remote,
        directory: Path,
        *,
        branch: str | None,
        auth: Auth | None,
        stats: GitStats,
        cafile: str | None = None,
        capath: str | None = None,
        push: bool = False,
    ) -> DirectStore:
        """Discover the remote and fetch the tip of `branch` (None: the default branch):
        two round trips. `DirectUnsupportedError` when git must do it instead. `push`: the
        run may push, so receive-pack's advertisement is asked alongside the discovery
        (`prepare_push`), the third of git's discovery requests, in the same round trip."""
        client = HttpClient(remote, auth, cafile=cafile, capath=capath)
        advertised = _advertise(client) if push else None
        try:
            prefixes = ["HEAD"] + ([f"refs/heads/{branch}"] if branch else [])
            discovery = protocol.discover(client, prefixes)
            store = cls(client, discovery, directory, stats)
            store._advertised = advertised
            store._start(branch)
        except BaseException:
            if advertised is not None:  # never close the client under a request
                with contextlib.suppress(Exception):
                    advertised.result()
            stats.calls += client.calls
            client.close()
            raise
        return store

    def _start(self, branch: str | None) -> None:
        found = self.discovery
        if branch is None:
            target = found.symrefs.get("HEAD", "")
            if not target.startswith("refs/heads/") or "HEAD" not in found.refs:
                raise DirectUnsupportedError("the remote has no default branch")
            branch = target.removeprefix("refs/heads/")
            found.refs.setdefault(target, found.refs["HEAD"])
        tip = found.refs.get(f"refs/heads/{branch}")
        if tip is None:
            raise DirectUnsupportedError(f"branch {branch} not found")
        self._head = branch
        self._branches[branch] = tip
        self._fetch_tip(tip)

    def _fetch_tip(self, tip: str) -> None:
        """The commit, its root tree, root files and top-level listings (`tree:2`)."""
        try:
            self._fetch([tip], f"tree:{_CLONE_DEPTH}", deepen=1)
        except GitError as exc:
            if not is_filter_refusal(str(exc)):
                raise
            raise DirectUnsupportedError("the server refuses tree:2 filters") from exc

    # -- requests ---------------------------------------------------------------------------

    def _counted(self) -> None:
        self.stats.calls += self.client.calls
        self.client.calls = 0

    def _fetch(self, wants: Sequence[str], spec: str | None, *, deepen: int | None = None) -> None:
        """Fetch `wants` (and what `spec` keeps below them) in one request; each wanted
        object must arrive, under its own id."""
        try:
            pack = protocol.fetch(
                self.client, wants, self.discovery.capabilities, filter_spec=spec, deepen=deepen
            )
        finally:
            self._counted()
        self.stats.fetches += 1
        self.stats.bytes_fetched += len(pack)
        objects = parse_pack(pack, known=self._objects.get)
        self._objects.update(objects)
        missing = [oid for oid in wants if oid not in self._objects]
        if missing:
            raise GitError(f"the server did not send object {missing[0]} (or sent it damaged)")

    def _ls_refs(self, prefixes: Sequence[str]) -> dict[str, str]:
        try:
            return protocol.ls_refs(self.client, prefixes, self.discovery.capabilities)
        finally:
            self._counted()

    def _read(self, oid: str, kind: str) -> bytes:
        found = self._objects.get(oid)
        if found is None or found[0] != kind:
            raise GitError(f"{kind} {oid} is missing from the store")
        return found[1]

    # -- refs -------------------------------------------------------------------------------

    def head_branch(self) -> str:
        return self._head

    def ref(self, branch: str) -> str:
        """The tip of `branch` as this run last saw (read, fetched or pushed) it."""
        if branch not in self._branches:
            name = f"refs/heads/{branch}"
            tip = self.discovery.refs.get(name)
            if tip is None:
                tip = self.remote_branch(branch)
            if tip is None:
                raise GitError(f"branch {branch} not found in the config repository")
            self._branches[branch] = tip
        return self._branches[branch]

    def update(self, branch: str) -> str:
        """The branch's current tip, read again (after a lost race), with its top listings."""
        tip = self.remote_branch(branch)
        if tip is None:
            raise GitError(f"branch {branch} not found in the config repository")
        commit = self._objects.get(tip)
        if commit is None or parse_commit(commit[1]).tree not in self._objects:
            self._fetch_tip(tip)
        self._branches[branch] = tip
        return tip

    def remote_branch(self, branch: str) -> str | None:
        name = f"refs/heads/{branch}"
        return self._ls_refs([name]).get(name)

    def branches(self, prefix: str) -> dict[str, str]:
        """Branches under `prefix`, name → tip: one `ls-refs` (a prefix, not a pattern)."""
        wanted = f"refs/heads/{check_branch_prefix(prefix)}"
        found = self._ls_refs([wanted])
        return {
            name.removeprefix("refs/heads/"): oid
            for name, oid in found.items()
            if name.startswith(wanted)
        }

    # -- reads ------------------------------------------------------------------------------

    def fetch_commit(self, oid: str) -> None:
        if oid not in self._objects:
            self._fetch([oid], "tree:0", deepen=1)

    def commit_info(self, oid: str) -> CommitInfo:
        return parse_commit(self._read(oid, "commit"))

    def history(self, tip: str, count: int) -> list[Logged]:
        """The first-parent chain from `tip`: held commits, else one request for `count`
        commits (`deepen`, `tree:0`: commits only)."""
        found, whole = self._chain(tip, count)
        if not whole:
            self._fetch([tip], "tree:0", deepen=count)
            found, _ = self._chain(tip, count)
        return found

    def _chain(self, tip: str, count: int) -> tuple[list[Logged], bool]:
        """(the held part of the chain, whether it is all there: `count` commits or the
        root)."""
        found: list[Logged] = []
        oid: str | None = tip
        while oid is not None and len(found) < count:
            held = self._objects.get(oid)
            if held is None:
                return found, False
            commit = parse_commit(held[1])
            found.append(Logged(oid, commit_time(held[1]), commit.message))
            oid = commit.parents[0] if commit.parents else None
        return found, True

    def tree(self, oid: str) -> dict[str, Entry]:
        return self.trees({oid: 0})[oid]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        """Entries of each tree; missing ones fetched with the levels below them that the
        caller will read next (`tree:<n+1>`), one request per depth."""
        missing = [o for o in wanted if o not in self._objects]
        if fetch and missing:
            by_depth: dict[int, list[str]] = {}
            for oid in missing:
                by_depth.setdefault(wanted[oid] if self._deep else 0, []).append(oid)
            for depth, oids in sorted(by_depth.items()):
                self._fetch_trees(oids, depth)
        return {o: self._listing(o) for o in wanted}

    def _fetch_trees(self, oids: list[str], depth: int) -> None:
        try:
            self._fetch(oids, f"tree:{depth + 1}" if depth else "tree:0")
        except GitError as exc:
            if depth == 0 or not is_filter_refusal(str(exc)):
                raise
            self._deep = False
            self.stats.notes.append("server refuses deep tree filters; walking level by level")
            self._fetch(oids, "tree:0")

    def _listing(self, oid: str) -> dict[str, Entry]:
        if oid not in self._trees:
            self._trees[oid] = parse_tree(self._read(oid, "tree"))
        return self._trees[oid]

    def subtrees(self, oids: Iterable[str]) -> None:
        """Every tree under each of `oids` present: the held ones are walked down to the
        first missing ones, which are fetched together with all below them (`blob:none`)."""
        level = [o for o in dict.fromkeys(oids) if o not in self._complete]
        walked: list[str] = []
        missing: list[str] = []
        while level:
            held = [o for o in level if o in self._objects]
            missing += [o for o in level if o not in self._objects]
            walked += held
            below = (e.oid for o in held for e in self._listing(o).values() if e.is_tree)
            level = [o for o in dict.fromkeys(below) if o not in self._complete]
        if missing:
            self._fetch(missing, "blob:none")  # every tree below them comes along
        self._complete.update(walked + missing)

    def subtree(self, oid: str) -> None:
        self.subtrees([oid])

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(oids))
        missing = [o for o in wanted if o not in self._objects]
        if missing:
            self._fetch(missing, "blob:none")
        return {o: self._read(o, "blob") for o in wanted}

    # -- writes -----------------------------------------------------------------------------

    def _add(self, kind: str, body: bytes) -> str:
        oid = object_id(kind, body)
        if oid not in self._objects:
            self._objects[oid] = (kind, body)
            self._new.add(oid)
        return oid

    def hash_blob(self, data: bytes) -> str:
        return self._add("blob", data)

    def make_tree(self, entries: Mapping[str, Entry]) -> str:
        oid = self._add("tree", tree_body(entries))
        self._trees[oid] = dict(entries)
        return oid

    def write_commit(
        self, tree: str, parent: str, message: str, *, identity: Identity, sign: bool = False
    ) -> str:
        if sign:
            return self._signed_commit(tree, parent, message, identity)
        return self._add("commit", commit_body(tree, [parent], message, identity))

    def _signed_commit(self, tree: str, parent: str, message: str, identity: Identity) -> str:
        """`git commit-tree -S` (the user's signing setup) in a scratch repository holding
        just the tree and the parent it names; the commit is read back into memory."""
        git_dir = self.directory
        if not self._scratch:
            git_dir.mkdir(parents=True, exist_ok=True)
            run_git(["init", "-q", "--bare", str(git_dir)], cwd=git_dir, stats=self.stats)
            self._scratch = True
        for oid in (tree, parent):
            kind, body = self._objects[oid]
            write_object(git_dir, kind, body)
        environ = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
        args = ("commit-tree", "-S", tree, "-p", parent, "-F", "-")
        out = run_git(args, cwd=git_dir, input=message.encode(), environ=environ, stats=self.stats)
        oid = out.stdout.decode().strip()
        raw = zlib.decompress((git_dir / "objects" / oid[:2] / oid[2:]).read_bytes())
        return self._add("commit", raw.partition(b"\0")[2])

    def is_verified(self, oid: str) -> bool:
        header = self._read(oid, "commit").partition(b"\n\n")[0]
        return any(line.startswith(b"gpgsig") for line in header.splitlines())

    # -- pushes -----------------------------------------------------------------------------

    def push(
        self,
        commit: str,
        branch: str,
        *,
        lease: str | None,
        force: bool,
        options: Sequence[str] = (),
    ) -> str:
        """Move `branch` from the tip read before (`lease` when forced; None: it must not
        exist) to `commit`: a compare-and-swap, so a branch that moved is never overwritten."""
        old = (lease or ZERO_ID) if force else self.ref(branch)
        objects = unsent(self._objects, self._new, commit, self._listing)
        pack = write_pack(
            objects, bases=delta_bases(self._objects, self._new, commit, self._listing)
        )
        report = self._receive([(old, commit, f"refs/heads/{branch}")], options, pack)
        check_report(report, branch, deleting=False)
        self._new.difference_update(object_id(kind, body) for kind, body in objects)
        self._branches[branch] = commit
        return commit

    def delete_branch(self, branch: str, *, lease: str) -> None:
        """Delete a remote branch, unless it moved since `lease` was read."""
        report = self._receive([(lease, ZERO_ID, f"refs/heads/{branch}")], (), None)
        check_report(report, branch, deleting=True)
        self._branches.pop(branch, None)

    def prepare_push(self) -> None:
        """Ask for receive-pack's advertisement now, in the background, so the push that
        may follow is one round trip (the discovery git's HTTP protocol makes before a
        push overlaps the reads). Nothing is sent; a failure here is asked again at the
        push, which reports it."""
        if self._advertised is None:
            self._advertised = _advertise(self.client)

    def _advertisement(self) -> tuple[dict[str, str], set[str]]:
        """The advertisement asked ahead (once: a retry after a lost race asks again), or
        asked now."""
        ahead, self._advertised = self._advertised, None
        if ahead is not None:
            try:
                return ahead.result()
            except GitError:
                pass  # asked again below, where its error belongs
        return protocol.receive_advertisement(self.client)

    def _receive(
        self, commands: Sequence[tuple[str, str, str]], options: Sequence[str], pack: bytes | None
    ) -> PushReport:
        """receive-pack's advertisement, then the push: a ref already moved from its old id
        is a lost race found before the pack is sent."""
        try:
            tips, capabilities = self._advertisement()
            for old, _, ref in commands:
                if tips.get(ref, ZERO_ID) != old:
                    return PushReport("ok", {ref: "stale info"}, [])
            report = protocol.push(self.client, commands, capabilities, options=options, pack=pack)
            self.stats.bytes_sent += len(pack or b"")
            return report
        finally:
            self._counted()

    def close(self) -> None:
        if self._advertised is not None:
            with contextlib.suppress(Exception):
                self._advertised.result()  # never close the client under a request
        self._counted()
        self.client.close()


def _advertise(client: HttpClient) -> Background[tuple[dict[str, str], set[str]]]:
    """receive-pack's advertisement, asked in the background."""
    return Background(lambda: protocol.receive_advertisement(client), name="promoter-advertise")
