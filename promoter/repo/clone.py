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

from promoter.errors import GitError
from promoter.gitformat import commit_body, commit_time, parse_commit, parse_tree, tree_body
from promoter.repo.auth import Auth
from promoter.repo.fetch import Fetcher
from promoter.repo.git import ObjectReader, run_git
from promoter.repo.objects import read_ref, write_object
from promoter.repo.outcome import GitResult, is_filter_refusal, push_error, sent_bytes
from promoter.repo.remote import Remote
from promoter.repo.transport import local_transport
from promoter.tree import CommitInfo, Entry, GitStats, Identity, Logged, check_branch_prefix

_NO_FILTER = "filtering not recognized by server"
_CLONE_DEPTH = 2
"""`tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and listings."""


class Clone:
    """A bare, depth-1, partial clone of one branch that fetches only what is read."""

    def __init__(self, git_dir: Path, remote: Remote, auth: Auth | None, stats: GitStats) -> None:
        self.git_dir = git_dir
        self.remote = remote
        self.auth = auth
        self.stats = stats
        self._transport = local_transport(remote)
        self._fetcher = Fetcher(self._git, git_dir, stats)
        self._trees: dict[str, dict[str, Entry]] = {}
        self._oid_bytes = 20
        self._reader = ObjectReader(git_dir, auth, stats)
        self._branches: dict[str, str] = {}
        self._head: str | None = None

    signs_commits = False
    """git-made commits are signed only with `--sign` (the user's key)."""

    @property
    def partial(self) -> bool:
        """Whether the server filters (else the clone holds the whole tip)."""
        return self._fetcher.partial

    @property
    def deep(self) -> bool:
        """Whether the server takes `tree:<n>` filters with n > 0 (some cap the depth at 0)."""
        return self._fetcher.deep

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
                with clone._fetcher.measure():
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
                clone._fetcher.deep = False
                stats.notes.append(f"server refuses tree:{depth} filters; walking level by level")
        if _NO_FILTER in result.stderr:
            clone._fetcher.partial = False
            if not remote.is_local:
                stats.notes.append("server does not support partial clone; fetched the full tip")
        tip = clone.ref(clone.head_branch())
        clone._oid_bytes = len(tip) // 2  # 20 (sha1) or 32 (sha256)
        clone._arrived(tip, depth)
        return clone

    def _arrived(self, commit: str, filter_depth: int) -> None:
        """Record what a `--filter=tree:<filter_depth>` fetch of `commit` brought."""
        if filter_depth > 0:
            self._fetcher.arrived(self.commit_info(commit).tree, filter_depth)

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        input: bytes | None = None,
        environ: Mapping[str, str] | None = None,
        check: bool = True,
        settings: Sequence[tuple[str, str]] = (),
    ) -> GitResult:
        if self._transport and args[0] in self._transport:
            args = (args[0], self._transport[args[0]], *args[1:])
        return run_git(
            args,
            cwd=cwd or self.git_dir,
            input=input,
            environ=environ,
            check=check,
            auth=self.auth,
            stats=self.stats,
            settings=settings,
        )

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
        with self._fetcher.measure():
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

    def branches(self, prefix: str) -> dict[str, str]:
        """The remote's branches under `prefix`, name → tip: one `ls-remote`, nothing fetched.

        `--heads` lets a protocol-v2 server send only `refs/heads/` (not every pull ref); the
        pattern narrows that further, but git matches it against any tail of a ref name
        (`refs/x/refs/heads/promote/...` too), so the names are filtered exactly here.
        """
        wanted = f"refs/heads/{check_branch_prefix(prefix)}"
        out = self._git("ls-remote", "--heads", "origin", f"{wanted}*").stdout.decode()
        found: dict[str, str] = {}
        for line in out.splitlines():
            oid, _, name = line.partition("\t")
            if name.startswith(wanted):
                found[name.removeprefix("refs/heads/")] = oid
        return found

    def fetch_commit(self, oid: str) -> None:
        """Make one commit present (without its trees), e.g. a promotion branch's tip."""
        self._fetcher.commit(oid)

    def history(self, tip: str, count: int) -> list[Logged]:
        """The last `count` commits up to `tip`: one request for commits only (`tree:0`,
        depth `count`); the walk stops at that depth, so nothing is fetched lazily."""
        args = [f"--depth={count}", "--no-tags", "--no-write-fetch-head", "origin", tip]
        if self.partial:
            args.insert(0, "--filter=tree:0")
        with self._fetcher.measure():
            self._git("fetch", *args)
        found: list[Logged] = []
        oid: str | None = tip
        while oid is not None and len(found) < count:
            raw = self._cat([oid])[oid]
            commit = parse_commit(raw)
            found.append(Logged(oid, commit_time(raw), commit.message))
            oid = commit.parents[0] if commit.parents else None
        return found

    def commit_info(self, oid: str) -> CommitInfo:
        """A present commit's tree, parents and message."""
        return parse_commit(self._cat([oid])[oid])

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
        if fetch:
            self._fetcher.trees({o: wanted[o] for o in missing})
        for oid, raw in self._cat(missing).items():
            self._trees[oid] = parse_tree(raw, self._oid_bytes)
        for oid in wanted:
            self._fetcher.propagate(oid, self._trees[oid])
        return {o: self._trees[o] for o in wanted}

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(oids))
        self._fetcher.fetch([o for o in wanted if o not in self._fetcher.present], "blob:none")
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
        have = self._fetcher
        level = [o for o in dict.fromkeys(oids) if o not in have.complete]
        if not have.by_id:
            have.complete.update(level)
            return
        walked: list[str] = []
        missing: list[str] = []
        while level:
            present = [o for o in level if o in have.present or o in self._trees]
            missing += [o for o in level if o not in have.present and o not in self._trees]
            listings = self.trees(dict.fromkeys(present, 0), fetch=False)
            walked += present
            below = (e.oid for o in present for e in listings[o].values() if e.is_tree)
            level = [o for o in dict.fromkeys(below) if o not in have.complete]
        have.fetch(missing, "blob:none")
        have.complete.update(walked + missing)

    def subtree(self, oid: str) -> None:
        """Fetch every tree under `oid` (for directory listings); see `subtrees`."""
        self.subtrees([oid])

    def _cat(self, oids: Sequence[str]) -> dict[str, bytes]:
        return {oid: data for oid, (_, data) in self._reader.read(oids).items()}

    def _write(self, kind: str, body: bytes) -> str:
        algorithm = "sha256" if self._oid_bytes == 32 else "sha1"
        oid = write_object(self.git_dir, kind, body, algorithm)
        self._fetcher.present.add(oid)
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
        environ = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
        args = ("commit-tree", "-S", tree, "-p", parent, "-F", "-")
        out = self._git(*args, input=message.encode(), environ=environ)
        oid = out.stdout.decode().strip()
        self._fetcher.present.add(oid)
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
