"""The partial clone: a `tree.Store` that fetches only what a promotion reads.

A promotion reads a handful of files and writes one commit, so the config repository is
never checked out. `Clone` is a bare, shallow (depth 1), single-branch clone made with
`--filter=tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and the
top-level listings, nothing else. The trees on the paths the run reads are then fetched
on demand with `fetch --refetch --filter=tree:<n> --stdin` (exactly those objects and n-1
levels below; without `--refetch`, git's lazy fetch would first pull every tree below with
`blob:none`): one level at a time, except below a wide directory, where the rest of the
path and its file come in one request. Objects are read through one `cat-file --batch`;
new blobs, trees and the commit are hashed and written in Python (loose objects), and the
commit is pushed as a thin pack. The cost is the wide listing plus the files, not the
repository. Servers that cap the tree depth get `tree:0` and a level-by-level walk;
servers without filters get a plain depth-1 clone.

Knows nothing of YAML, forges or promoter.yaml.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from promoter.errors import GitError
from promoter.repo.git import (
    NO_NEGOTIATION,
    Auth,
    GitResult,
    ObjectReader,
    Remote,
    is_filter_refusal,
    is_unknown_option,
    push_error,
    run_git,
    sent_bytes,
)
from promoter.repo.objects import read_ref, write_object
from promoter.tree import (
    Entry,
    GitStats,
    Identity,
    commit_body,
    commit_time,
    parse_commit,
    parse_tree,
    tree_body,
)

_NO_FILTER = "filtering not recognized by server"
_CLONE_DEPTH = 2
"""`tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and listings."""
_WORK_TREE_SIDE = "git -c core.hooksPath=/dev/null -c core.fsmonitor=false"
"""The git that serves a local working tree runs in the user's repository, with its config:
none of its hooks (pre-receive, post-receive, push-to-checkout, reference-transaction, ...)
nor its fsmonitor command may run. A bare local remote keeps its receive hooks: they are
its policy, as a server's are. It must be argv: git drops GIT_CONFIG_* from a local
transport's env."""
_BARE_SIDE = "git -c core.fsmonitor=false"


def _local_transport(side: str) -> dict[str, str]:
    """The options that start the remote side of a local transport, per command. A push
    into a local working tree's checked-out branch also updates its files (if clean)."""
    upload = f"--upload-pack={side} upload-pack"
    receive = f"--receive-pack={side} -c receive.denyCurrentBranch=updateInstead receive-pack"
    return {"clone": upload, "fetch": upload, "ls-remote": upload, "push": receive}


def is_work_tree(remote: Remote) -> bool:
    """A local remote that is a working tree (its top, or its `.git`), not a bare repository."""
    if not remote.is_local:
        return False
    path = Path(unquote(urlsplit(remote.url).path))
    return path.name == ".git" or (path / ".git").exists()


class Clone:
    """A bare, depth-1, partial clone of one branch that fetches only what is read."""

    def __init__(self, git_dir: Path, remote: Remote, auth: Auth | None, stats: GitStats) -> None:
        self.git_dir = git_dir
        self.remote = remote
        self.auth = auth
        self.stats = stats
        self._transport: dict[str, str] = {}
        if remote.is_local:
            self._transport = _local_transport(
                _WORK_TREE_SIDE if is_work_tree(remote) else _BARE_SIDE
            )
        self.partial = True
        self.refetch = True
        """Whether git has `fetch --refetch` (2.36); older ones fetch without negotiating."""
        self.lazy = False
        """Whether git is too old for either: it then fetches each missing object as read."""
        self.deep = True
        """Whether the server takes `tree:<n>` filters with n > 0 (some cap the depth at 0)."""
        self._trees: dict[str, dict[str, Entry]] = {}
        self._present: set[str] = set()
        self._complete: set[str] = set()
        """Trees whose every subtree is present (`subtrees`), blobs aside."""
        self._depth: dict[str, int] = {}
        """Levels below a present tree that are present too (its subtrees and their blobs)."""
        self._oid_bytes = 20
        self._reader = ObjectReader(git_dir, auth, stats)
        self._branches: dict[str, str] = {}
        self._head: str | None = None

    signs_commits = False
    """git-made commits are signed only with `--sign` (the user's key)."""

    @classmethod
    def create(
        cls,
        remote: Remote,
        directory: Path,
        *,
        branch: str | None,
        auth: Auth | None,
        stats: GitStats,
    ) -> Clone:
        clone = cls(directory, remote, auth, stats)
        args = ["clone", "--bare", "--depth=1", "--single-branch", "--no-tags"]
        if branch:
            args += ["--branch", branch]
        for depth in (_CLONE_DEPTH, 0):
            try:
                with clone._measure():
                    result = clone._git(
                        *args,
                        f"--filter=tree:{depth}",
                        "--",
                        remote.url,
                        str(directory),
                        cwd=directory.parent,
                    )
                break
            except GitError as exc:
                if depth == 0 or not is_filter_refusal(exc.stderr):
                    raise
                shutil.rmtree(directory, ignore_errors=True)
                clone.deep = False
                stats.notes.append(f"server refuses tree:{depth} filters; walking level by level")
        if _NO_FILTER in result.stderr:
            clone.partial = False
            if not remote.is_local:
                stats.notes.append("server does not support partial clone; fetched the full tip")
        tip = clone.ref(clone.head_branch())
        clone._oid_bytes = len(tip) // 2  # 20 (sha1) or 32 (sha256)
        clone._arrived(tip, depth)
        return clone

    def _arrived(self, commit: str, filter_depth: int) -> None:
        """Record what a `--filter=tree:<filter_depth>` fetch of `commit` brought."""
        if filter_depth > 0:
            root = self.commit_info(commit)[0]
            self._present.add(root)
            self._depth[root] = max(self._depth.get(root, 0), filter_depth - 1)

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        settings: Sequence[tuple[str, str]] = (),
    ) -> GitResult:
        if self._transport and args[0] in self._transport:
            args = (args[0], self._transport[args[0]], *args[1:])
        return run_git(
            args,
            cwd=cwd or self.git_dir,
            input=input,
            env=env,
            check=check,
            auth=self.auth,
            stats=self.stats,
            settings=settings,
        )

    class _Measure:
        def __init__(self, clone: Clone) -> None:
            self.clone = clone
            self.before = 0

        def __enter__(self) -> None:
            self.before = self.clone._pack_bytes()

        def __exit__(self, *exc: object) -> None:
            self.clone.stats.bytes_fetched += max(0, self.clone._pack_bytes() - self.before)
            self.clone.stats.fetches += 1

    def _measure(self) -> Clone._Measure:
        return Clone._Measure(self)

    def _pack_bytes(self) -> int:
        pack = self.git_dir / "objects" / "pack"
        if not pack.is_dir():
            return 0
        return sum(p.stat().st_size for p in pack.glob("*.pack"))

    def head_branch(self) -> str:
        if self._head is None:
            head = read_ref(self.git_dir, "HEAD")
            if head is None or not head.startswith("ref: refs/heads/"):
                head = self._git("symbolic-ref", "HEAD").stdout.decode().strip()
            self._head = head.removeprefix("ref: ").removeprefix("refs/heads/")
        return self._head

    def ref(self, branch: str) -> str:
        """The local tip of `branch` (as cloned, fetched or pushed by this run)."""
        if branch not in self._branches:
            found = read_ref(self.git_dir, f"refs/heads/{branch}")
            if found is None:
                args = ("rev-parse", "--verify", "--end-of-options", f"refs/heads/{branch}")
                found = self._git(*args).stdout.decode().strip()
            self._branches[branch] = found
        return self._branches[branch]

    def update(self, branch: str) -> str:
        """Fetch the branch's current tip (after a rejected push); returns its commit."""
        refspec = f"+refs/heads/{branch}:refs/heads/{branch}"
        depth = _CLONE_DEPTH if self.deep else 0
        filters = [f"--filter=tree:{depth}"] if self.partial else []
        with self._measure():
            self._git("fetch", "--depth=1", "--no-tags", *filters, "origin", refspec)
        self._branches.pop(branch, None)
        tip = self.ref(branch)
        self._arrived(tip, depth)
        return tip

    def remote_branch(self, branch: str) -> str | None:
        out = self._git("ls-remote", "origin", f"refs/heads/{branch}").stdout.decode()
        for line in out.splitlines():
            oid, _, name = line.partition("\t")
            if name == f"refs/heads/{branch}":
                return oid
        return None

    def fetch_commit(self, oid: str) -> None:
        """Make one commit present (without its trees), e.g. a promotion branch's tip."""
        if oid in self._present:
            return
        if self.partial:
            self._fetch([oid], "tree:0", depth=True)
            return
        with self._measure():
            self._git("fetch", "--depth=1", "--no-tags", "origin", oid)
        self._present.add(oid)

    def history(self, tip: str, count: int) -> list[tuple[str, float, str]]:
        """The last `count` commits up to `tip`: one request for commits only (`tree:0`,
        depth `count`); the walk stops at that depth, so nothing is fetched lazily."""
        args = [f"--depth={count}", "--no-tags", "--no-write-fetch-head", "origin", tip]
        if self.partial:
            args.insert(0, "--filter=tree:0")
        with self._measure():
            self._git("fetch", *args)
        found: list[tuple[str, float, str]] = []
        oid: str | None = tip
        while oid is not None and len(found) < count:
            raw = self._cat([oid])[oid]
            _, parents, message = parse_commit(raw)
            found.append((oid, commit_time(raw), message))
            oid = parents[0] if parents else None
        return found

    def commit_info(self, oid: str) -> tuple[str, tuple[str, ...], str]:
        """(tree, parents, message) of a present commit."""
        return parse_commit(self._cat([oid])[oid])

    def _fetch(self, oids: Sequence[str], spec: str, *, depth: bool = False) -> None:
        """Fetch the objects `oids` not yet present, however many, in one request.

        Ids go on stdin (thousands of blobs would overflow argv). Only missing objects are
        asked for, so git < 2.36 (no `--refetch`) gets the same single request by not
        negotiating, as git's own lazy fetch does: a `have` would make the server leave
        out every object reachable from the tip, i.e. all of them.
        """
        wanted = [o for o in dict.fromkeys(oids) if o not in self._present]
        if not wanted or not self.partial or self.lazy:
            self._present.update(wanted)
            return
        args = ["fetch", f"--filter={spec}", "--no-tags", "--no-write-fetch-head"]
        args += ["--recurse-submodules=no", "--stdin"]
        if depth:
            args.append("--depth=1")
        ids = "".join(f"{o}\n" for o in wanted).encode()
        try:
            with self._measure():
                if self.refetch:
                    self._git(*args, "--refetch", "origin", input=ids)
                else:
                    self._git(*args, "origin", input=ids, settings=NO_NEGOTIATION)
        except GitError as exc:
            if not is_unknown_option(exc.stderr):
                raise
            if self.refetch:
                self.refetch = False
                self.stats.notes.append("git < 2.36: objects are fetched without negotiation")
                self._fetch(wanted, spec, depth=depth)
                return
            # git < 2.29 (no `fetch --stdin`): leave it to git's lazy fetch on each read.
            self.lazy = True
            self.stats.notes.append("git < 2.29: objects are fetched lazily, one at a time")
        self._present.update(wanted)

    def tree(self, oid: str) -> dict[str, Entry]:
        return self.trees({oid: 0})[oid]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        """Entries of each tree, fetching the missing ones, one request per depth.

        `wanted` maps a tree to how many levels below it the caller will read next; a
        missing tree is fetched with that many levels (`tree:<n+1>`), so the rest of a path
        arrives in one round trip. `fetch=False` is for trees known to be present.
        """
        missing = [o for o in wanted if o not in self._trees]
        if fetch and self.partial and not self.lazy:
            by_depth: dict[int, list[str]] = {}
            for oid in missing:
                if oid not in self._present:
                    depth = wanted[oid] if self.deep else 0
                    by_depth.setdefault(depth, []).append(oid)
            for depth, oids in sorted(by_depth.items()):
                self._fetch_trees(oids, depth)
        for oid, raw in self._cat(missing).items():
            self._trees[oid] = parse_tree(raw, self._oid_bytes)
        for oid in wanted:
            self._propagate(oid)
        return {o: self._trees[o] for o in wanted}

    def _fetch_trees(self, oids: list[str], depth: int) -> None:
        try:
            self._fetch(oids, f"tree:{depth + 1}" if depth else "tree:0")
        except GitError as exc:
            if depth == 0 or not is_filter_refusal(exc.stderr):
                raise
            self.deep = False
            self.stats.notes.append("server refuses deep tree filters; walking level by level")
            self._fetch(oids, "tree:0")
            return
        for oid in oids:
            self._depth[oid] = max(self._depth.get(oid, 0), depth)

    def _propagate(self, oid: str) -> None:
        """A tree present with n levels below it makes its children present with n-1; a
        complete tree makes its subtrees present and complete (not its blobs)."""
        depth = self._depth.get(oid, 0)
        complete = oid in self._complete
        if depth < 1 and not complete:
            return
        for entry in self._trees[oid].values():
            if entry.is_tree:
                self._present.add(entry.oid)
                if complete:
                    self._complete.add(entry.oid)
                if depth >= 1:
                    self._depth[entry.oid] = max(self._depth.get(entry.oid, 0), depth - 1)
            elif depth >= 1:
                self._present.add(entry.oid)

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(oids))
        self._fetch([o for o in wanted if o not in self._present], "blob:none")
        return self._cat(wanted)

    def subtrees(self, oids: Iterable[str]) -> None:
        """Make every tree under each of `oids` present: one request at most, for all.

        A present tree says nothing of the trees below it (the clone brings the root with
        two levels): reading them unfetched would make git fetch each lazily, one round
        trip per directory. So the present trees are read down to the first missing ones,
        and those are fetched together with everything below them (`blob:none`); trees
        already complete, e.g. listed before a push race moved the tip, are not fetched
        again.
        """
        level = [o for o in dict.fromkeys(oids) if o not in self._complete]
        if not self.partial or self.lazy:
            self._complete.update(level)
            return
        walked: list[str] = []
        missing: list[str] = []
        while level:
            present = [o for o in level if o in self._present or o in self._trees]
            missing += [o for o in level if o not in self._present and o not in self._trees]
            listings = self.trees(dict.fromkeys(present, 0), fetch=False)
            walked += present
            below = (e.oid for o in present for e in listings[o].values() if e.is_tree)
            level = [o for o in dict.fromkeys(below) if o not in self._complete]
        self._fetch(missing, "blob:none")
        self._complete.update(walked + missing)

    def subtree(self, oid: str) -> None:
        """Fetch every tree under `oid` (for directory listings); see `subtrees`."""
        self.subtrees([oid])

    def _cat(self, oids: Sequence[str]) -> dict[str, bytes]:
        return {oid: data for oid, (_, data) in self._reader.read(oids).items()}

    def _write(self, kind: str, body: bytes) -> str:
        algorithm = "sha256" if self._oid_bytes == 32 else "sha1"
        oid = write_object(self.git_dir, kind, body, algorithm)
        self._present.add(oid)
        return oid

    def hash_blob(self, data: bytes) -> str:
        return self._write("blob", data)

    def make_tree(self, entries: Mapping[str, Entry]) -> str:
        oid = self._write("tree", tree_body(entries))
        self._trees[oid] = dict(entries)
        return oid

    def write_commit(
        self,
        tree: str,
        parent: str,
        message: str,
        *,
        identity: Identity,
        sign: bool = False,
    ) -> str:
        if not sign:
            return self._write("commit", commit_body(tree, [parent], message, identity))
        env = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
        out = self._git(
            "commit-tree", "-S", tree, "-p", parent, "-F", "-", input=message.encode(), env=env
        )
        oid = out.stdout.decode().strip()
        self._present.add(oid)
        return oid

    def is_verified(self, oid: str) -> bool:
        """Whether the commit carries a signature (the forge checks it is a known key)."""
        raw = self._cat([oid])[oid]
        header = raw.partition(b"\n\n")[0]
        return any(line.startswith(b"gpgsig") for line in header.splitlines())

    def push(
        self,
        commit: str,
        branch: str,
        *,
        lease: str | None,
        force: bool,
        options: Sequence[str] = (),
    ) -> str:
        """Push `commit` to `branch`. `force` uses a lease on `lease` (None: must not exist)."""
        args = ["push", "--porcelain", "--progress", "--no-verify"]
        if force:
            args.append(f"--force-with-lease=refs/heads/{branch}:{lease or ''}")
        args += [f"--push-option={option}" for option in options]
        args += ["origin", f"{commit}:refs/heads/{branch}"]
        result = self._git(*args, check=False)
        self.stats.bytes_sent += sent_bytes(result.stderr)
        if result.returncode != 0:
            raise push_error(result, branch)
        self._branches[branch] = commit  # the local ref is not read again: no update-ref
        return commit

    def delete_branch(self, branch: str, *, lease: str) -> None:
        """Delete a remote branch, unless it moved since `lease` was read."""
        args = ["push", "--porcelain", f"--force-with-lease=refs/heads/{branch}:{lease}"]
        result = self._git(*args, "origin", f":refs/heads/{branch}", check=False)
        if result.returncode != 0:
            raise push_error(result, branch, deleting=True)

    def close(self) -> None:
        """Stop the object reader (the directory itself is the caller's)."""
        self._reader.close()
