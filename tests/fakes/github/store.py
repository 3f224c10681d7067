"""One bare repository of the fake GitHub, read and written only through git plumbing.

Every read and write is a git subprocess on the bare repository, so what the REST API reports
is what a clone sees: commits with their signatures, trees, blobs, diffs with renames and
patches as GitHub shows them, merges and cherry-picks computed by `git merge-tree`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from .state import (
    ZERO_SHA,
    ApiError,
    CommitInfo,
    DiffStats,
    FileChange,
    GitCommandError,
    Person,
    TreeEdit,
    TreeEntry,
    is_sha,
)

_GIT_TIMEOUT = 60.0
_IDENT = re.compile(r"^(?P<name>.*) <(?P<email>[^>]*)> (?P<ts>-?\d+) (?P<tz>[+-]\d{4})$")


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
                FileChange(
                    word,
                    path,
                    previous,
                    sha,
                    additions,
                    deletions,
                    patch_texts.get(path),
                )
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
        self,
        tree: str,
        parents: Iterable[str],
        message: str,
        author: Person,
        committer: Person,
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
        counts[path] = (
            int(added) if added != "-" else 0,
            int(deleted) if deleted != "-" else 0,
        )
    return counts
