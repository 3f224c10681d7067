"""Every git call: the one subprocess entry point, env-scoped auth, and the partial clone.

A promotion reads a handful of files and writes one commit, so the config repository is
never checked out. `Clone` is a bare, shallow (depth 1), single-branch clone made with
`--filter=tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and the
top-level listings, nothing else. The trees on the paths the run reads are then fetched
on demand with `fetch --refetch --filter=tree:<n> <oids>` (exactly those objects and n-1
levels below; without `--refetch`, git's lazy fetch would first pull every tree below with
`blob:none`): one level at a time, except below a wide directory, where the rest of the
path and its file come in one request. The commit is built with plumbing (`hash-object`,
`mktree --missing`, `commit-tree`) and pushed as a thin pack. The cost is the wide listing
plus the files, not the repository. Servers that cap the tree depth get `tree:0` and a
level-by-level walk; servers without filters get a plain depth-1 clone.

Knows nothing of YAML, forges or promoter.yaml.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from promoter.errors import GitAuthError, GitError, InputError, PushRejectedError
from promoter.redact import Secret, redact

GIT_TIMEOUT = 300.0
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
)
_SETTINGS = (
    ("maintenance.auto", "false"),
    ("gc.auto", "0"),
    ("fetch.unpackLimit", "1"),
    ("transfer.unpackLimit", "1"),
    ("protocol.version", "2"),
    ("advice.detachedHead", "false"),
)
"""Packs are kept (so their size is the bytes fetched) and no background work outlives us."""
_LOCAL_RECEIVE_PACK = "--receive-pack=git -c receive.denyCurrentBranch=updateInstead receive-pack"
"""A push into a local working tree's checked-out branch also updates its files (if they
are clean). It must be argv: git drops GIT_CONFIG_* from a local transport's env."""

_REJECTED = re.compile(
    r"non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|"
    r"incorrect old value|reference already exists|failed to lock",
    re.IGNORECASE,
)
_AUTH_FAILED = re.compile(
    r"Authentication failed|HTTP Basic: Access denied|returned error: 40[13]|"
    r"could not read Username|terminal prompts disabled|Invalid username or password",
    re.IGNORECASE,
)
_WRITTEN = re.compile(r"Writing objects: 100% \(\d+/\d+\), ([\d.]+) (bytes|KiB|MiB|GiB)")
_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_NO_FILTER = "filtering not recognized by server"
_CLONE_DEPTH = 2
"""`tree:2`: the tip commit, its root tree, root-level files (promoter.yaml) and listings."""
WIDE_DIRECTORY = 32
"""Entries above which a directory's children are taken to be small, many siblings."""
_TREE_MODE = "40000"
_LINK_MODE = "120000"


@dataclass(slots=True)
class GitStats:
    """What the run cost in git: calls, seconds, pack bytes received and sent.

    `network_ops` counts the calls that talk to the remote (clone, fetch, ls-remote, push):
    on a CI link each costs round trips, so it is what a repository's size must not drive.
    """

    calls: int = 0
    seconds: float = 0.0
    bytes_fetched: int = 0
    bytes_sent: int = 0
    fetches: int = 0
    network_ops: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GitResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Remote:
    """Where the config repository lives; `url` never carries credentials."""

    url: str
    origin: str | None
    """`scheme://host[:port]/` for http(s) remotes: the scope of the auth header."""

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.origin else None

    @property
    def is_local(self) -> bool:
        return self.origin is None


def parse_remote(text: str) -> Remote:
    """A local path, `file://` URL or `http(s)://` URL; credentials in a URL are refused."""
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if parts.username or parts.password:
            raise InputError(
                "the config repository URL must not contain credentials; "
                "put the token in PROMOTER_TOKEN",
                field="--config-repo",
            )
        if not parts.hostname:
            raise InputError(f"not a repository URL: {text!r}", field="--config-repo")
        port = f":{parts.port}" if parts.port else ""
        return Remote(text, f"{parts.scheme}://{parts.hostname}{port}/")
    if parts.scheme == "file":
        return Remote(text, None)
    if re.match(r"^[\w.-]+@[\w.-]+:", text) or (parts.scheme and len(parts.scheme) > 1):
        raise InputError(
            f"unsupported repository URL {text!r}: use https://, file:// or a path "
            "(promoter authenticates with a token, not SSH keys)",
            field="--config-repo",
        )
    return Remote(Path(text).resolve().as_uri(), None)


@dataclass(frozen=True, slots=True)
class Auth:
    """A token for one origin, handed to git as an HTTP header through the environment."""

    token: Secret
    origin: str
    user: str = "x-access-token"

    def config(self) -> list[tuple[str, str]]:
        import base64

        basic = base64.b64encode(f"{self.user}:{self.token.reveal()}".encode()).decode()
        return [
            ("credential.helper", ""),
            (f"http.{self.origin}.extraHeader", f"Authorization: Basic {basic}"),
        ]


def git_environment(
    auth: Auth | None = None,
    extra: Mapping[str, str] | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """A fresh env per call: no inherited repository, no prompts, our settings appended.

    `settings` are per-call config (never secrets), passed like the rest: not argv.
    """
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TRACE_REDACT="1",
        GIT_HTTP_LOW_SPEED_LIMIT="1000",
        GIT_HTTP_LOW_SPEED_TIME="60",
    )
    settings = list(_SETTINGS) + list(settings) + (auth.config() if auth else [])
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for key, value in settings:
        env[f"GIT_CONFIG_KEY_{count}"] = key
        env[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
    input: bytes | None = None,
    auth: Auth | None = None,
    env: Mapping[str, str] | None = None,
    stats: GitStats | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> GitResult:
    """The only subprocess call in promoter: argv list, scrubbed env, timeout, redaction."""
    argv = ("git", *args)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            input=input,
            capture_output=True,
            timeout=timeout,
            env=git_environment(auth, env, settings),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"git {args[0]} timed out after {timeout:.0f}s",
            argv=_shown(argv),
            transient=True,
        ) from exc
    except FileNotFoundError as exc:
        raise GitError("git is not installed (or not on PATH)") from exc
    finally:
        if stats is not None:
            stats.calls += 1
            stats.seconds += time.monotonic() - started
    result = GitResult(
        _shown(argv), done.returncode, done.stdout, redact(done.stderr.decode("utf-8", "replace"))
    )
    if check and done.returncode != 0:
        raise _error(result)
    return result


def _shown(argv: Sequence[str]) -> tuple[str, ...]:
    return tuple(redact(a) for a in argv)


def _error(result: GitResult) -> GitError:
    tail = "\n".join(result.stderr.strip().splitlines()[-3:])
    command = " ".join(result.argv[:2])
    if _AUTH_FAILED.search(result.stderr):
        return GitAuthError(
            f"{command}: the remote refused the credentials; set PROMOTER_TOKEN to a token "
            f"that can read and push to the config repository ({_last_line(tail)})",
            argv=result.argv,
            returncode=result.returncode,
            stderr=tail,
        )
    transient = bool(re.search(r"HTTP 5\d\d|returned error: 5\d\d|Connection|timed out", tail))
    return GitError(
        f"{command} failed (exit {result.returncode}): {_last_line(tail) or 'no output'}",
        argv=result.argv,
        returncode=result.returncode,
        stderr=tail,
        transient=transient,
    )


_NO_NEGOTIATION = (("fetch.negotiationAlgorithm", "noop"),)
"""Send no `have`s: a fetch by id must not let the server assume the client has them."""


def _is_unknown_option(stderr: str) -> bool:
    """An older git than the option needs (it prints usage), not a failed fetch."""
    return bool(re.search(r"unknown option|usage: git fetch", stderr))


def _is_filter_refusal(stderr: str) -> bool:
    return "filter" in stderr and bool(
        re.search(r"max depth|not supported|unsupported|invalid|disallowed|not allowed", stderr)
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@dataclass(frozen=True, slots=True)
class Entry:
    mode: str
    oid: str

    @property
    def is_tree(self) -> bool:
        return self.mode == _TREE_MODE

    @property
    def is_link(self) -> bool:
        return self.mode == _LINK_MODE


class Clone:
    """A bare, depth-1, partial clone of one branch that fetches only what is read."""

    def __init__(self, git_dir: Path, remote: Remote, auth: Auth | None, stats: GitStats) -> None:
        self.git_dir = git_dir
        self.remote = remote
        self.auth = auth
        self.stats = stats
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
                if depth == 0 or not _is_filter_refusal(exc.stderr):
                    raise
                shutil.rmtree(directory, ignore_errors=True)
                clone.deep = False
                stats.notes.append(f"server refuses tree:{depth} filters; walking level by level")
        if _NO_FILTER in result.stderr:
            clone.partial = False
            if not remote.is_local:
                stats.notes.append("server does not support partial clone; fetched the full tip")
        if clone._git("rev-parse", "--show-object-format").stdout.strip() == b"sha256":
            clone._oid_bytes = 32
        clone._arrived(clone.ref(clone.head_branch()), depth)
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
            self.clone.stats.network_ops += 1

    def _measure(self) -> Clone._Measure:
        return Clone._Measure(self)

    def _pack_bytes(self) -> int:
        pack = self.git_dir / "objects" / "pack"
        if not pack.is_dir():
            return 0
        return sum(p.stat().st_size for p in pack.glob("*.pack"))

    def head_branch(self) -> str:
        ref = self._git("symbolic-ref", "HEAD").stdout.decode().strip()
        return ref.removeprefix("refs/heads/")

    def ref(self, branch: str) -> str:
        out = self._git("rev-parse", "--verify", "--end-of-options", f"refs/heads/{branch}")
        return out.stdout.decode().strip()

    def update(self, branch: str) -> str:
        """Fetch the branch's current tip (after a rejected push); returns its commit."""
        refspec = f"+refs/heads/{branch}:refs/heads/{branch}"
        depth = _CLONE_DEPTH if self.deep else 0
        filters = [f"--filter=tree:{depth}"] if self.partial else []
        with self._measure():
            self._git("fetch", "--depth=1", "--no-tags", *filters, "origin", refspec)
        tip = self.ref(branch)
        self._arrived(tip, depth)
        return tip

    def remote_branch(self, branch: str) -> str | None:
        self.stats.network_ops += 1
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

    def commit_info(self, oid: str) -> tuple[str, tuple[str, ...], str]:
        """(tree, parents, message) of a present commit."""
        raw = self._git("cat-file", "commit", oid).stdout.decode("utf-8", "replace")
        header, _, message = raw.partition("\n\n")
        tree = ""
        parents: list[str] = []
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
        return tree, tuple(parents), message

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
                    self._git(*args, "origin", input=ids, settings=_NO_NEGOTIATION)
        except GitError as exc:
            if not _is_unknown_option(exc.stderr):
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
            self._trees[oid] = self._parse_tree(raw)
        for oid in wanted:
            self._propagate(oid)
        return {o: self._trees[o] for o in wanted}

    def _fetch_trees(self, oids: list[str], depth: int) -> None:
        try:
            self._fetch(oids, f"tree:{depth + 1}" if depth else "tree:0")
        except GitError as exc:
            if depth == 0 or not _is_filter_refusal(exc.stderr):
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
        if not oids:
            return {}
        out = self._git("cat-file", "--batch", input="".join(f"{o}\n" for o in oids).encode())
        data = out.stdout
        found: dict[str, bytes] = {}
        at = 0
        for oid in oids:
            end = data.index(b"\n", at)
            header = data[at:end].decode().split()
            if len(header) != 3:
                raise GitError(f"object {oid} is missing from the clone")
            size = int(header[2])
            found[oid] = data[end + 1 : end + 1 + size]
            at = end + 1 + size + 1
        return found

    def _parse_tree(self, raw: bytes) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        at = 0
        while at < len(raw):
            space = raw.index(b" ", at)
            nul = raw.index(b"\0", space)
            mode = raw[at:space].decode()
            name = raw[space + 1 : nul].decode("utf-8", "surrogateescape")
            oid = raw[nul + 1 : nul + 1 + self._oid_bytes].hex()
            entries[name] = Entry(mode, oid)
            at = nul + 1 + self._oid_bytes
        return entries

    def hash_blob(self, data: bytes) -> str:
        return self._git("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()

    def make_tree(self, entries: Mapping[str, Entry]) -> str:
        kind = {_TREE_MODE: "tree", "160000": "commit"}
        lines = b"".join(
            f"{e.mode} {kind.get(e.mode, 'blob')} {e.oid}\t".encode()
            + name.encode("utf-8", "surrogateescape")
            + b"\0"
            for name, e in sorted(entries.items())
        )
        oid = self._git("mktree", "-z", "--missing", input=lines).stdout.decode().strip()
        self._trees[oid] = dict(entries)
        self._present.add(oid)
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
        env = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
        args = ["commit-tree", tree, "-p", parent, "-F", "-"]
        if sign:
            args.insert(1, "-S")
        out = self._git(*args, input=message.encode(), env=env)
        oid = out.stdout.decode().strip()
        self._present.add(oid)
        return oid

    def push(self, commit: str, branch: str, *, lease: str | None, force: bool) -> None:
        """Push `commit` to `branch`. `force` uses a lease on `lease` (None: must not exist)."""
        args = ["push", "--porcelain", "--progress", "--no-verify"]
        if self.remote.is_local:
            args.append(_LOCAL_RECEIVE_PACK)
        if force:
            args.append(f"--force-with-lease=refs/heads/{branch}:{lease or ''}")
        args += ["origin", f"{commit}:refs/heads/{branch}"]
        self.stats.network_ops += 1
        result = self._git(*args, check=False)
        sent = _WRITTEN.search(result.stderr)
        if sent:
            self.stats.bytes_sent += int(float(sent.group(1)) * _UNITS[sent.group(2)])
        if result.returncode == 0:
            self._git("update-ref", f"refs/heads/{branch}", commit)
            return
        report = result.stdout.decode("utf-8", "replace") + "\n" + result.stderr
        if _REJECTED.search(report) and not _AUTH_FAILED.search(report):
            raise PushRejectedError(
                f"push to {branch} was rejected because the branch moved; retrying on the new tip",
                argv=result.argv,
                stderr=_last_line(report),
            )
        reason = _refusal(report)
        if reason and not _AUTH_FAILED.search(report):
            raise GitError(
                f"the remote refused the push to {branch}: {reason}",
                argv=result.argv,
                returncode=result.returncode,
                stderr=report,
            )
        raise _error(GitResult(result.argv, result.returncode, result.stdout, report))

    def delete_branch(self, branch: str, *, lease: str) -> None:
        """Delete a remote branch, unless it moved since `lease` was read."""
        args = ["push", "--porcelain", f"--force-with-lease=refs/heads/{branch}:{lease}"]
        self.stats.network_ops += 1
        result = self._git(*args, "origin", f":refs/heads/{branch}", check=False)
        if result.returncode != 0:
            report = result.stdout.decode("utf-8", "replace") + "\n" + result.stderr
            if _REJECTED.search(report):
                raise PushRejectedError(
                    f"{branch} moved while it was being deleted; retrying",
                    argv=result.argv,
                    stderr=_last_line(report),
                )
            raise _error(GitResult(result.argv, result.returncode, result.stdout, report))


def _refusal(report: str) -> str:
    """Why a push was refused: the porcelain status and the server's own `remote:` lines."""
    status = ""
    remote: list[str] = []
    for line in report.splitlines():
        if line.startswith("!\t"):
            status = line.rsplit("\t", 1)[-1].strip()
        elif line.startswith("remote:"):
            text = line.removeprefix("remote:").strip()
            if text and not text.startswith(("error: failed", "To ")):
                remote.append(text)
    return "; ".join(part for part in [status, *remote[-3:]] if part)


class ObjectStore(Protocol):
    """What a `Snapshot` reads and writes: a `Clone`, or the forge API under `--no-clone`."""

    def commit_info(self, oid: str) -> tuple[str, tuple[str, ...], str]: ...

    def tree(self, oid: str) -> dict[str, Entry]: ...

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]: ...

    def subtree(self, oid: str) -> None: ...

    def subtrees(self, oids: Iterable[str]) -> None: ...

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]: ...

    def hash_blob(self, data: bytes) -> str: ...

    def make_tree(self, entries: Mapping[str, Entry]) -> str: ...


class Snapshot:
    """The files of one commit of a `Clone`, read by path, fetched on demand."""

    def __init__(self, clone: ObjectStore, commit: str) -> None:
        self.clone = clone
        self.commit = commit
        self.root = clone.commit_info(commit)[0]

    def entries(self, paths: Iterable[str]) -> dict[str, Entry | None]:
        """The entry at each path (None when missing), walking all paths level by level.

        Below a wide directory (an `apps/` listing with hundreds of entries) each entry is
        one of many small siblings, so the rest of the path is fetched in one request;
        elsewhere one level at a time, so a wide subtree is never pulled in whole.
        """
        pending = {p: (self.root, list(PurePosixPath(p).parts), 0) for p in dict.fromkeys(paths)}
        found: dict[str, Entry | None] = {}
        while pending:
            wanted: dict[str, int] = {}
            for tree, _, depth in pending.values():
                wanted[tree] = max(wanted.get(tree, 0), depth)
            listing = self.clone.trees(wanted)
            advanced: dict[str, tuple[str, list[str], int]] = {}
            for path, (tree, parts, _) in pending.items():
                entry = listing[tree].get(parts[0])
                if entry is None or len(parts) == 1:
                    found[path] = entry
                elif entry.is_tree:
                    wide = len(listing[tree]) > WIDE_DIRECTORY
                    advanced[path] = (entry.oid, parts[1:], len(parts) - 1 if wide else 0)
                else:
                    found[path] = None
            pending = advanced
        return found

    def files_under(self, directory: str) -> list[str]:
        """Every blob path under `directory` ('' for the whole tree), fetched in one go."""
        if directory in ("", "."):
            tree = self.root
        else:
            entry = self.entries([directory])[directory]
            if entry is None or not entry.is_tree:
                return []
            tree = entry.oid
        self.clone.subtree(tree)
        prefix = "" if directory in ("", ".") else directory.rstrip("/") + "/"
        return sorted(self._walk([(tree, prefix)]))

    def listing(self, focus: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
        """(file paths, directories left out): the whole tree in one request, except that in
        a wide directory holding a child named in `focus` (`apps/web` among 8,000 apps) the
        other children are left out and returned, to be listed with `files_under` if read.

        The clone brought the root and its children's listings, so this is decided before
        anything is fetched.
        """
        root = self.clone.trees({self.root: 1})[self.root]
        wanted: list[tuple[str, str]] = []
        files: list[str] = []
        skipped: list[str] = []
        tops = {n: e for n, e in root.items() if e.is_tree}
        listings = self.clone.trees({e.oid: 0 for e in tops.values()}) if tops else {}
        for name, entry in sorted(root.items()):
            if not entry.is_tree:
                if entry.mode != "160000":
                    files.append(name)
                continue
            children = listings[entry.oid]
            kept = [c for c in children if c in focus and children[c].is_tree]
            if len(children) <= WIDE_DIRECTORY or not kept:
                wanted.append((entry.oid, f"{name}/"))
                continue
            for child, sub in sorted(children.items()):
                if child in kept:
                    wanted.append((sub.oid, f"{name}/{child}/"))
                elif sub.is_tree:
                    skipped.append(f"{name}/{child}")
                elif sub.mode != "160000":
                    files.append(f"{name}/{child}")
        self.clone.subtrees(oid for oid, _ in wanted)
        files.extend(self._walk(wanted))
        return sorted(files), skipped

    def _walk(self, level: list[tuple[str, str]]) -> list[str]:
        """Blob paths below present trees: one `cat-file --batch` per depth."""
        files: list[str] = []
        while level:
            listings = self.clone.trees({oid: 0 for oid, _ in level}, fetch=False)
            below: list[tuple[str, str]] = []
            for oid, prefix in level:
                for name, entry in listings[oid].items():
                    if entry.is_tree:
                        below.append((entry.oid, f"{prefix}{name}/"))
                    elif entry.mode != "160000":
                        files.append(prefix + name)
            level = below
        return files

    def materialise(self, paths: Iterable[str], dest: Path) -> list[str]:
        """Write the files at `paths` (if present) under `dest`; returns those written.

        Symbolic links are written as links, so path checks see what a checkout would.
        """
        entries = {p: e for p, e in self.entries(paths).items() if e is not None}
        blobs = self.clone.blobs(e.oid for e in entries.values() if not e.is_tree)
        written = []
        for path, entry in sorted(entries.items()):
            if entry.is_tree:
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                continue
            if entry.is_link:
                os.symlink(blobs[entry.oid].decode("utf-8", "surrogateescape"), target)
            else:
                target.write_bytes(blobs[entry.oid])
                if entry.mode == "100755":
                    target.chmod(0o755)
            written.append(path)
        return written

    def write_tree(self, changes: Mapping[str, bytes]) -> str:
        """The root tree of this commit with `changes` (path → new content) applied."""
        self.entries(changes)
        by_parts = {tuple(PurePosixPath(p).parts): data for p, data in changes.items()}
        return self._rewrite(self.root, by_parts)

    def _rewrite(self, tree: str, changes: Mapping[tuple[str, ...], bytes]) -> str:
        entries = dict(self.clone.tree(tree))
        below: dict[str, dict[tuple[str, ...], bytes]] = {}
        for parts, data in changes.items():
            if len(parts) == 1:
                old = entries.get(parts[0])
                mode = old.mode if old is not None and not old.is_tree else "100644"
                entries[parts[0]] = Entry(mode, self.clone.hash_blob(data))
            else:
                below.setdefault(parts[0], {})[parts[1:]] = data
        for name, sub in below.items():
            old = entries.get(name)
            if old is None or not old.is_tree:
                raise GitError(f"cannot write below {name!r}: not a directory in the repository")
            entries[name] = Entry(_TREE_MODE, self._rewrite(old.oid, sub))
        return self.clone.make_tree(entries)
