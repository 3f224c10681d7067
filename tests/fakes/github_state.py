"""The git-backed state behind the fake GitHub: bare repositories, pull requests, protection.

It owns everything a GitHub repository *is* (refs, objects, PRs, labels, branch protection) and
the rules GitHub applies to them (duplicate PRs, fast-forward-only ref updates, merges, closing a
PR whose branch vanished). All objects are real: every read and write goes through git plumbing
subprocesses on the bare repository, so what the REST API reports is what a clone sees.
It knows nothing about HTTP or JSON: the server in `github.py` renders this state and turns
`ApiError` into GitHub's error bodies.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ZERO_SHA = "0" * 40
_SHA = re.compile(r"[0-9a-f]{40}")
_GIT_TIMEOUT = 60.0
_IDENT = re.compile(r"^(?P<name>.*) <(?P<email>[^>]*)> (?P<ts>-?\d+) (?P<tz>[+-]\d{4})$")


def now_iso() -> str:
    """The current time as GitHub writes it: UTC, seconds, `Z`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_sha(text: str) -> bool:
    return bool(_SHA.fullmatch(text))


class ApiError(Exception):
    """A GitHub error answer: status, `message`, and for 422 validation failures `errors[]`."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors


class GitCommandError(Exception):
    """A plumbing command failed where the fake expected success (a fake bug, not a 4xx)."""


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    date: str  # ISO 8601 UTC with Z, as GitHub renders git identities


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str
    signature: str | None  # the gpgsig header, if the commit object carries one
    payload: str  # the commit object without its signature (what a signature covers)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True, slots=True)
class TreeEdit:
    """One `POST git/trees` entry: `sha=None` deletes `path`."""

    path: str
    mode: str
    type: str
    sha: str | None


@dataclass(frozen=True, slots=True)
class FileChange:
    status: str  # added removed modified renamed (GitHub's diff-entry words)
    path: str
    previous_path: str | None
    sha: str
    additions: int
    deletions: int
    patch: str | None


@dataclass(frozen=True, slots=True)
class DiffStats:
    commits: int
    additions: int
    deletions: int
    changed_files: int


class GitStore:
    """One bare repository, read and written only through git plumbing subprocesses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            {
                "GIT_DIR": str(path),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "LC_ALL": "C",
                "GIT_TERMINAL_PROMPT": "0",
            }
        )
        self._env = env
        self._stats: dict[tuple[str, str], DiffStats] = {}

    def run(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git on this repository; the caller inspects the exit code."""
        return subprocess.run(
            ["git", "--literal-pathspecs", "-c", "core.quotePath=false", *args],
            input=stdin,
            capture_output=True,
            env={**self._env, **(env or {})},
            cwd=self.path,
            timeout=_GIT_TIMEOUT,
            check=False,
        )

    def out(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """stdout of a command that must succeed, stripped."""
        result = self.run(*args, stdin=stdin, env=env)
        if result.returncode != 0:
            raise GitCommandError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode("utf-8", "replace").strip()

    # -- reading ---------------------------------------------------------------------------

    def resolve(self, rev: str, kind: str = "commit") -> str | None:
        """The sha `rev` (sha, branch, tag, full ref) peels to as `kind`, or None."""
        if not rev or rev.startswith("-"):
            return None
        result = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{{kind}}}"
        )
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def ref_sha(self, ref: str) -> str | None:
        """The sha a fully qualified ref points at, or None."""
        result = self.run("show-ref", "--verify", "--hash", ref)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def object_type(self, sha: str) -> str | None:
        if not is_sha(sha):
            return None
        result = self.run("cat-file", "-t", sha)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def is_empty(self) -> bool:
        return not self.out("for-each-ref", "--count=1", "refs/heads/")

    def read_commit(self, sha: str) -> CommitInfo:
        raw = self.out_raw("cat-file", "commit", sha)
        head, _, message = raw.partition("\n\n")
        tree, parents, author, committer = "", [], None, None
        signature_lines: list[str] = []
        payload_lines: list[str] = []
        in_signature = False
        for line in head.split("\n"):
            if in_signature and line.startswith(" "):
                signature_lines.append(line[1:])
                continue
            in_signature = False
            key, _, value = line.partition(" ")
            if key == "gpgsig":
                in_signature = True
                signature_lines.append(value)
                continue
            payload_lines.append(line)
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "author":
                author = _parse_ident(value)
            elif key == "committer":
                committer = _parse_ident(value)
        if author is None or committer is None:
            raise GitCommandError(f"commit {sha} lacks author or committer")
        signature = "\n".join(signature_lines) + "\n" if signature_lines else None
        payload = "\n".join(payload_lines) + "\n\n" + message
        return CommitInfo(sha, tree, tuple(parents), author, committer, message, signature, payload)

    def out_raw(self, *args: str, env: dict[str, str] | None = None) -> str:
        """stdout of a command that must succeed, unstripped (for `-z` output)."""
        result = self.run(*args, env=env)
        if result.returncode != 0:
            raise GitCommandError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode("utf-8", "replace")

    def read_blob(self, sha: str) -> bytes:
        result = self.run("cat-file", "blob", sha)
        if result.returncode != 0:
            raise GitCommandError(f"no blob {sha}")
        return result.stdout

    def ls_tree(
        self, treeish: str, *, recursive: bool = False, path: str | None = None
    ) -> list[TreeEntry]:
        """Entries of a tree (`-r -t` when recursive, as GitHub lists subtrees too)."""
        args = ["ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), treeish]
        if path is not None:
            args += ["--", path]
        entries = []
        for record in self.out_raw(*args).split("\0"):
            if not record:
                continue
            meta, _, entry_path = record.partition("\t")
            mode, kind, sha, size = meta.split()
            entries.append(
                TreeEntry(mode, kind, sha, entry_path, None if size == "-" else int(size))
            )
        return entries

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` in `commit` (a file, a directory, ...), or None."""
        path = path.strip("/")
        if not path:
            tree = self.resolve(commit, "tree")
            return TreeEntry("040000", "tree", tree, "", None) if tree else None
        found = [e for e in self.ls_tree(commit, path=path) if e.path == path]
        return found[0] if found else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.run("merge-base", "--is-ancestor", ancestor, descendant).returncode == 0

    def merge_base(self, one: str, two: str) -> str | None:
        result = self.run("merge-base", one, two)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from `head` but not `base`, oldest first (GitHub's order)."""
        return self.out("rev-list", "--reverse", head, f"^{base}").split()

    def stats(self, base: str, head: str) -> DiffStats:
        """A PR's counters (commits, additions, deletions, changed files); cached per sha pair."""
        key = (base, head)
        if key not in self._stats:
            merge_base = self.merge_base(base, head) or base
            changes = self.diff(merge_base, head, patches=False)
            self._stats[key] = DiffStats(
                len(self.commits_between(base, head)),
                sum(c.additions for c in changes),
                sum(c.deletions for c in changes),
                len(changes),
            )
        return self._stats[key]

    def diff(self, old: str | None, new: str, *, patches: bool = True) -> list[FileChange]:
        """File changes from `old` (None: the empty tree) to `new`, with renames, like GitHub."""
        old = old or self.out("hash-object", "-t", "tree", "--stdin", stdin=b"")
        raw = self.out_raw("diff-tree", "-r", "-z", "-M", "--raw", "--no-abbrev", old, new)
        numstat = self.out_raw("diff-tree", "-r", "-z", "-M", "--numstat", old, new)
        counts = _parse_numstat(numstat)
        patch_texts = self._patches(old, new) if patches else {}
        changes = []
        fields = raw.split("\0")
        index = 0
        while index < len(fields) - 1:
            meta = fields[index]
            if not meta.startswith(":"):
                index += 1
                continue
            _, _, _, new_sha, status = meta[1:].split(" ")
            letter = status[0]
            if letter in "RC":
                previous, path = fields[index + 1], fields[index + 2]
                index += 3
            else:
                previous, path = None, fields[index + 1]
                index += 2
            word = {"A": "added", "D": "removed", "R": "renamed", "C": "copied"}.get(
                letter, "modified"
            )
            sha = new_sha if letter != "D" else meta[1:].split(" ")[2]
            additions, deletions = counts.get(path, (0, 0))
            changes.append(
                FileChange(word, path, previous, sha, additions, deletions, patch_texts.get(path))
            )
        return changes

    def _patches(self, old: str, new: str) -> dict[str, str]:
        """Per-file unified diff hunks (from the first `@@`), keyed by the new path."""
        text = self.out_raw("diff-tree", "-r", "-p", "-M", "--no-color", "--no-ext-diff", old, new)
        patches: dict[str, str] = {}
        for section in re.split(r"^diff --git ", text, flags=re.MULTILINE)[1:]:
            lines = section.split("\n")
            path = None
            for line in lines:
                if line.startswith("+++ b/"):
                    path = line[6:]
                elif line.startswith("+++ /dev/null"):
                    path = None
                elif line.startswith("--- a/") and path is None:
                    path = line[6:]
                if line.startswith("@@"):
                    break
            rename = re.search(r"^rename to (.*)$", section, flags=re.MULTILINE)
            if rename:
                path = rename.group(1)
            start = section.find("\n@@")
            if path is not None and start >= 0:
                patches[path] = section[start + 1 :].rstrip("\n")
        return patches

    # -- writing ---------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self.out("hash-object", "-w", "--stdin", stdin=data)

    def write_tree(self, base_tree: str | None, edits: Sequence[TreeEdit]) -> str:
        """Apply `edits` to `base_tree` (None: start empty) through a throwaway index.

        Nested paths rebuild their parent trees; a file replaces a directory and vice versa;
        deleting a path that does not exist raises `ApiError(422)` as GitHub does.
        """
        with tempfile.TemporaryDirectory(prefix="fake-github-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base_tree:
                self.out("read-tree", base_tree, env=env)
            else:
                self.out("read-tree", "--empty", env=env)
            files = set(filter(None, self.out_raw("ls-files", "-z", env=env).split("\0")))
            for edit in edits:
                lines: list[str] = []
                path = edit.path.strip("/")
                under = {f for f in files if f.startswith(path + "/")}
                if edit.sha is None:
                    if path not in files and not under:
                        raise ApiError(422, f"tree.path {path!r} does not exist in base_tree")
                    gone = under | ({path} & files)
                else:
                    parents = {p for p in _parent_paths(path) if p in files}
                    gone = under | parents | ({path} & files)
                lines += [f"0 {ZERO_SHA}\t{p}" for p in sorted(gone)]
                files -= gone
                if edit.sha is not None and edit.type != "tree":
                    lines.append(f"{edit.mode} {edit.sha}\t{path}")
                    files.add(path)
                if lines:
                    stdin = "".join(line + "\0" for line in lines).encode()
                    self.out("update-index", "-z", "--index-info", stdin=stdin, env=env)
                if edit.sha is not None and edit.type == "tree":
                    self.out("read-tree", f"--prefix={path}/", edit.sha, env=env)
                    files |= {f"{path}/{e.path}" for e in self.ls_tree(edit.sha, recursive=True)}
            return self.out("write-tree", env=env)

    def write_commit(
        self, tree: str, parents: Iterable[str], message: str, author: Person, committer: Person
    ) -> str:
        """`git commit-tree` with explicit identities and dates; the message is kept verbatim."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": _git_date(author.date),
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": _git_date(committer.date),
        }
        return self.out(*args, stdin=message.encode(), env=env)

    def update_ref(self, ref: str, new: str, old: str) -> bool:
        """Compare-and-swap `ref` from `old` (ZERO_SHA: must not exist) to `new`."""
        return self.run("update-ref", ref, new, old).returncode == 0

    def delete_ref(self, ref: str, old: str) -> bool:
        return self.run("update-ref", "-d", ref, old).returncode == 0

    def merge_tree(self, base: str, head: str) -> str | None:
        """The tree of merging `head` into `base`, or None on conflicts (git >= 2.38)."""
        result = self.run("merge-tree", "--write-tree", "--no-messages", base, head)
        if result.returncode == 1:
            return None
        if result.returncode != 0:
            raise GitCommandError(f"merge-tree: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode().split("\n", 1)[0].strip()

    def cherry_pick_tree(self, commit: CommitInfo, onto: str, identity: Person) -> str | None:
        """The tree of replaying `commit` on `onto`, or None on conflicts.

        git 2.39's merge-tree has no `--merge-base`, so a throwaway commit with `onto`'s tree
        and `commit`'s parent makes that parent the merge base of a normal 3-way merge.
        """
        onto_tree = self.resolve(onto, "tree")
        if onto_tree is None:
            raise GitCommandError(f"no tree for {onto}")
        probe = self.write_commit(onto_tree, commit.parents[:1], "probe\n", identity, identity)
        return self.merge_tree(probe, commit.sha)


def _parse_ident(value: str) -> Person:
    match = _IDENT.match(value)
    if match is None:
        return Person(value, "", "1970-01-01T00:00:00Z")
    stamp = datetime.fromtimestamp(int(match["ts"]), timezone.utc)
    return Person(match["name"], match["email"], stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _git_date(iso: str) -> str:
    """ISO 8601 (`Z` or offset) to git's `<epoch> <tz>`; unparsable dates become now."""
    try:
        stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        stamp = datetime.now(timezone.utc)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return f"{int(stamp.timestamp())} +0000"


def _parent_paths(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _parse_numstat(text: str) -> dict[str, tuple[int, int]]:
    """Parse `diff-tree --numstat -z`; a rename is an empty path followed by old and new."""
    counts: dict[str, tuple[int, int]] = {}
    fields = text.split("\0")
    index = 0
    while index < len(fields):
        record = fields[index]
        if not record or "\t" not in record:
            index += 1
            continue
        added, deleted, path = record.split("\t", 2)
        if path == "":  # rename: the next two fields are old and new paths
            path = fields[index + 2]
            index += 3
        else:
            index += 1
        counts[path] = (int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0)
    return counts


# -- GitHub objects ---------------------------------------------------------------------------


@dataclass
class Comment:
    id: int
    body: str
    user: str
    created_at: str


@dataclass
class PullState:
    """One pull request as GitHub stores it; the head/base shas follow the branches while open."""

    number: int
    head: str
    base: str
    title: str
    body: str | None
    user: str
    head_sha: str
    base_sha: str
    state: str = "open"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    auto_merge: dict[str, object] | None = None
    comments: list[Comment] = field(default_factory=list)
    maintainer_can_modify: bool = False
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    id: int = 0
    node_id: str = ""

    def touch(self) -> None:
        self.updated_at = now_iso()

    def close(self) -> None:
        self.state = "closed"
        self.closed_at = self.updated_at = now_iso()
        self.auto_merge = None


@dataclass
class Protection:
    required_signatures: bool
    required_status_checks: tuple[str, ...] = ()


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None  # GitHub leaves labels created on the fly undescribed


@dataclass
class RepoState:
    owner: str
    name: str
    store: GitStore
    id: int
    default_branch: str
    allow_auto_merge: bool
    collaborators: frozenset[str] | None  # None: anyone can be assigned or asked to review
    pulls: list[PullState]
    created_at: str = field(default_factory=now_iso)
    protections: dict[str, Protection] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)  # commits GitHub signed (API, web-flow)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def branch_sha(self, branch: str) -> str | None:
        return self.store.ref_sha(f"refs/heads/{branch}")

    def is_collaborator(self, login: str) -> bool:
        return self.collaborators is None or login in self.collaborators

    def label(self, name: str, next_id: int) -> Label:
        """The repository label `name`, created as GitHub does when an issue first uses it."""
        for existing in self.labels.values():
            if existing.name.lower() == name.lower():
                return existing
        self.labels[name] = Label(next_id, name)
        return self.labels[name]

    def mark_verified(self, sha: str) -> None:
        """Record a commit GitHub signed; the pre-receive hook accepts pushes of it."""
        self.verified.add(sha)
        with (self.store.path / "fake-github" / "verified").open("a") as handle:
            handle.write(sha + "\n")

    def write_protection(self) -> None:
        lines = [
            f"refs/heads/{b} {int(p.required_signatures)}\n" for b, p in self.protections.items()
        ]
        (self.store.path / "fake-github" / "protected").write_text("".join(lines))


_PRE_RECEIVE = r"""#!/bin/sh
# FakeGitHub branch protection for git pushes (written by tests/fakes/github_state.py):
# protected branches refuse deletion and force-push; with required signatures, every new commit
# must be one GitHub itself signed (listed in fake-github/verified).
conf="$GIT_DIR/fake-github"
[ -s "$conf/protected" ] || exit 0
zero=0000000000000000000000000000000000000000
status=0
while read -r old new ref; do
  rule=$(awk -v r="$ref" '$1 == r { print $2 }' "$conf/protected")
  [ -n "$rule" ] || continue
  reason=""
  if [ "$new" = "$zero" ]; then
    reason="Cannot delete this branch"
  elif [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
    reason="Cannot force-push to this branch"
  elif [ "$rule" = 1 ]; then
    for commit in $(git rev-list "$new" --not --all); do
      grep -qxF "$commit" "$conf/verified" 2>/dev/null && continue
      reason="Commits must have verified signatures."
      break
    done
  fi
  if [ -n "$reason" ]; then
    echo "error: GH006: Protected branch update failed for $ref." >&2
    echo "error: $reason" >&2
    status=1
  fi
done
exit $status
"""


def install_hooks(bare: Path) -> None:
    """Give a bare repository the protection hook and its (empty) policy files."""
    (bare / "fake-github").mkdir(exist_ok=True)
    (bare / "fake-github" / "verified").touch()
    (bare / "fake-github" / "protected").touch()
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(_PRE_RECEIVE)
    hook.chmod(0o755)


class Hub:
    """All repositories of one fake GitHub, under one lock (requests are handled one at a time)."""

    def __init__(self, login: str) -> None:
        self.login = login
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], RepoState] = {}
        self.pulls: dict[tuple[str, str], list[PullState]] = {}
        self._ids = 1000

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def repo(self, owner: str, name: str) -> RepoState | None:
        return self.repos.get((owner.lower(), name.lower()))

    def add_repo(
        self,
        owner: str,
        name: str,
        bare: Path,
        *,
        branch: str,
        allow_auto_merge: bool,
        collaborators: Iterable[str] | None,
    ) -> RepoState:
        install_hooks(bare)
        pulls: list[PullState] = []
        self.pulls[(owner, name)] = pulls
        repo = RepoState(
            owner,
            name,
            GitStore(bare),
            self.next_id() * 1000 + 269,
            branch,
            allow_auto_merge,
            None if collaborators is None else frozenset(collaborators),
            pulls,
        )
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def find_pull_by_node(self, node_id: str) -> tuple[RepoState, PullState] | None:
        for repo in self.repos.values():
            for pull in repo.pulls:
                if pull.node_id == node_id:
                    return repo, pull
        return None

    # -- pull request rules ------------------------------------------------------------------

    def sync(self, repo: RepoState, pull: PullState) -> None:
        """Follow the branches like GitHub: a vanished head or base closes the PR, a head that
        landed in the base (pushed there) marks it merged, otherwise the shas track the tips."""
        if pull.state != "open":
            return
        head = repo.branch_sha(pull.head)
        base = repo.branch_sha(pull.base)
        if head is None or base is None:
            pull.close()
            return
        pull.head_sha, pull.base_sha = head, base
        if repo.store.is_ancestor(head, base):
            pull.merged, pull.merged_at, pull.merge_commit_sha = True, now_iso(), head
            pull.close()
            pull.closed_at = pull.merged_at

    def create_pull(
        self, repo: RepoState, *, head: str, base: str, title: str, body: str | None, draft: bool
    ) -> PullState:
        owner_prefix, sep, branch = head.rpartition(":")
        if sep and owner_prefix.lower() != repo.owner.lower():
            raise _invalid("head")
        head_sha = repo.branch_sha(branch)
        base_sha = repo.branch_sha(base)
        if base_sha is None:
            raise _invalid("base")
        if head_sha is None:
            raise _invalid("head")
        for other in repo.pulls:
            self.sync(repo, other)
            if other.state == "open" and other.head == branch and other.base == base:
                raise _custom(f"A pull request already exists for {repo.owner}:{branch}.")
        if repo.store.is_ancestor(head_sha, base_sha):
            raise _custom(f"No commits between {base} and {branch}")
        number = repo.next_number
        repo.next_number += 1
        pull = PullState(
            number, branch, base, title, body, self.login, head_sha, base_sha, draft=draft
        )
        pull.id = repo.id * 10 + number
        pull.node_id = f"PR_kwDOFake{repo.id}n{number}"
        repo.pulls.append(pull)
        return pull

    def mergeable(self, repo: RepoState, pull: PullState) -> tuple[bool | None, str]:
        """(`mergeable`, `mergeable_state`) as GitHub reports them once computed."""
        if pull.state != "open":
            return None, "unknown"
        clean = repo.store.merge_tree(pull.base_sha, pull.head_sha) is not None
        if not clean:
            return False, "dirty"
        if pull.draft:
            return True, "draft"
        protection = repo.protections.get(pull.base)
        if protection is not None and protection.required_status_checks:
            return True, "blocked"
        return True, "clean"

    def merge_pull(
        self,
        repo: RepoState,
        pull: PullState,
        *,
        method: str,
        sha: str | None,
        title: str | None,
        message: str | None,
        enforce_checks: bool,
    ) -> str:
        """Merge for real: move the base branch and mark the PR merged; returns the new base sha.

        `merge` fast-forwards when the base has not moved (the lead's contract; GitHub itself
        always writes a merge commit), otherwise writes one; `squash` writes one commit on
        the base; `rebase` replays the head's commits. Merges GitHub writes are signed by it.
        """
        self.sync(repo, pull)
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha is not None and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        protection = repo.protections.get(pull.base)
        if enforce_checks and protection is not None and protection.required_status_checks:
            raise ApiError(
                405, f'Required status check "{protection.required_status_checks[0]}" is expected.'
            )
        store = repo.store
        merged_tree = store.merge_tree(pull.base_sha, pull.head_sha)
        if merged_tree is None:
            raise ApiError(405, "Pull Request is not mergeable")
        stamp = now_iso()
        merger = Person(self.login, f"{self.login}@users.noreply.github.com", stamp)
        web_flow = Person("GitHub", "noreply@github.com", stamp)
        signed = True
        if method == "squash":
            commits = [
                store.read_commit(c) for c in store.commits_between(pull.base_sha, pull.head_sha)
            ]
            headline = title or f"{pull.title} (#{pull.number})"
            body = (
                message
                if message is not None
                else "\n".join(f"* {c.message.strip()}" for c in commits)
            )
            new = store.write_commit(
                merged_tree, [pull.base_sha], f"{headline}\n\n{body}", merger, web_flow
            )
        elif method == "rebase":
            new = pull.base_sha
            for commit_sha in store.commits_between(pull.base_sha, pull.head_sha):
                commit = store.read_commit(commit_sha)
                tree = store.cherry_pick_tree(commit, new, web_flow)
                if tree is None:
                    raise ApiError(405, "This branch can't be rebased")
                new = store.write_commit(tree, [new], commit.message, commit.author, web_flow)
        elif store.is_ancestor(pull.base_sha, pull.head_sha):
            new, signed = pull.head_sha, False
        else:
            headline = title or f"Merge pull request #{pull.number} from {repo.owner}/{pull.head}"
            text = f"{headline}\n\n{message if message is not None else pull.title}"
            new = store.write_commit(
                merged_tree, [pull.base_sha, pull.head_sha], text, merger, web_flow
            )
        if not store.update_ref(f"refs/heads/{pull.base}", new, pull.base_sha):
            raise ApiError(405, "Base branch was modified. Review and try the merge again.")
        if signed:
            repo.mark_verified(new)
        pull.merged, pull.merged_at, pull.merged_by, pull.merge_commit_sha = (
            True,
            stamp,
            self.login,
            new,
        )
        pull.close()
        pull.closed_at = stamp
        pull.base_sha = new
        return new


def _invalid(field_name: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
    )


def _custom(message: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": "PullRequest", "code": "custom", "message": message}],
    )
