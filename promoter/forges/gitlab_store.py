"""`--no-clone` on GitLab: the repository tree, files and commits APIs as the `tree.Store`.

GitLab's API names no tree of a commit, so the store lists a commit's root directory and
hashes the listing exactly as git would: that is the commit's tree id. Below the root it
reads by path (`tree.PathStore`), never listing a directory on the way: a file's own
directory is listed when it fits one page (its modes and blob ids, checked against the id
its parent named when that is known), and a file in a wider one is read through the files
API alone. A file's bytes are always checked against the blob id GitLab gives with them
(and the id its listing named): a short page, a rewritten mode or other bytes stop the
run instead of writing a wrong tree.

A directory the store did not list (`apps/` among 8,000 apps) has no git id once a file
below it changes: the new tree names it by its id and the changed paths below it (a
"delta"), which is all GitLab needs, because a change is one commits-API call
(`create`/`update` actions, content base64 so bytes pass unchanged) carrying only the
changed files; listed whole (`files_under`), a delta is its old listing with the changes.
A commit read back that holds that same tree (the promotion branch promoter pushed
earlier; one direct compare with its parent) gets the same name, so it reads as
unchanged. The commit is made at `push`: onto the base after checking its tip and with
each file's `last_commit_id` (GitLab's per-file compare-and-swap, read with the file), or
as the promotion branch rebuilt from `start_sha` (the exact tip it was planned on). A
lost race becomes a `PushRejectedError` like a rejected git push, and is re-planned on the
new tip. Bytes only; knows nothing of YAML.
"""

from __future__ import annotations

import base64
import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from promoter.errors import ForgeError, InputError, PushRejectedError
from promoter.forges.api_objects import Changed, LocalObjects
from promoter.gitformat import commit_body, object_id, tree_body
from promoter.tree import (
    TREE_MODE,
    CommitInfo,
    Entry,
    GitStats,
    Identity,
    Logged,
    check_branch_prefix,
)

if TYPE_CHECKING:
    from gitlab import Gitlab
    from gitlab.v4.objects import Project

T = TypeVar("T")


class GitLabClient(Protocol):
    """What the store needs of a GitLab connection (`GitLabForge` is one): the project's
    path, the client and the lazy project, and the one retry layer that turns failures
    into `ForgeError`s."""

    @property
    def path(self) -> str: ...

    @property
    def client(self) -> Gitlab: ...

    @property
    def project(self) -> Project: ...

    def call(self, action: Callable[[], T]) -> T: ...


_PAGE = 100
_MOVED = ("has changed since", "already exists", "concurrently", "doesn't exist")
"""GitLab's 400 texts for a file or branch that changed under a commit (forge-api §4)."""
_MISSING, _WIDE = "missing", "wide"
"""A directory below an unlisted one: not there, or more than one page (read by path)."""
_EMPTY = object_id("tree", b"")


@dataclass(frozen=True, slots=True)
class _Pending:
    """A commit named locally, written by the commits API when it is pushed."""

    tree: str
    parent: str
    message: str
    identity: Identity
    files: Changed


@dataclass(frozen=True, slots=True)
class _Built:
    """A tree made by `tree_with`: the root it was made from and the files it changes."""

    base: str
    files: Changed
    entries: dict[str, Entry] = field(default_factory=dict)
    """path → its new entry."""
    exact: bool = True
    """Whether the id is git's (no directory named by a delta)."""


class GitLabStore(LocalObjects):
    """Trees, blobs, commits and branches of one project, through GitLab's REST API."""

    signs_commits = False

    def __init__(self, forge: GitLabClient, stats: GitStats) -> None:
        super().__init__()
        self.forge = forge
        self.stats = stats
        self._where: dict[str, tuple[str, str]] = {}
        """object id → (commit, path) it was seen at: GitLab reads trees and files by path."""
        self._commits: dict[str, CommitInfo] = {}
        self._pending: dict[str, _Pending] = {}
        self._blobs: dict[str, bytes] = {}
        self._tips: dict[str, str] = {}
        self._default: str | None = None
        self._heads: dict[str, tuple[tuple[str, ...], str]] = {}
        """commit → (parents, message), as the branch or commit that named it said."""
        self._below: dict[tuple[str, str], Entry | None] = {}
        """(an unlisted directory's id, a path below it) → the entry there."""
        self._folders: dict[tuple[str, str], str] = {}
        """(an unlisted directory's id, a folder below it) → its listing's id, or why none."""
        self._last: dict[tuple[str, str], str] = {}
        """(commit, path) → `last_commit_id` of the file, read with its bytes."""
        self._deltas: dict[str, tuple[str, dict[str, Entry]]] = {}
        """A changed unlisted directory's name → (its old id, the new entries below it)."""
        self._built: dict[str, _Built] = {}
        self._matched: set[tuple[str, str]] = set()
        self._diffs: dict[tuple[str, str], set[str] | None] = {}
        """(parent, commit) → the paths a direct compare says differ."""
        self._named = 0
        """Directories named by a delta so far."""
        self._roots: dict[str, str] = {}
        """commit → the id of its root listing (`commit_info` may name a built tree)."""
        self._trees[_EMPTY] = {}

    # -- reads ---------------------------------------------------------------------------------

    def head_branch(self) -> str:
        if self._default is None:
            project = self.forge.call(lambda: self.forge.client.projects.get(self.forge.path))
            branch = getattr(project, "default_branch", None)
            if not branch:
                raise ForgeError(f"{self.forge.path} has no default branch (an empty repository?)")
            self._default = str(branch)
        return self._default

    def ref(self, branch: str) -> str:
        return self._tips.get(branch) or self.update(branch)

    def update(self, branch: str) -> str:
        tip = self.remote_branch(branch)
        if tip is None:
            raise ForgeError(f"branch {branch!r} not found in {self.forge.path}")
        self._tips[branch] = tip
        return tip

    def remote_branch(self, branch: str) -> str | None:
        try:
            found = self.forge.call(lambda: self.forge.project.branches.get(branch))
        except ForgeError as error:
            if "404 Branch Not Found" in str(error):
                return None
            raise
        commit = found.commit
        self._heads[str(commit["id"])] = (tuple(commit["parent_ids"]), str(commit["message"]))
        return str(commit["id"])

    def branches(self, prefix: str) -> dict[str, str]:
        """The branches under `prefix`, name → tip: one listing (paginated, 100 a page)
        searched with `^<prefix>`. GitLab's search ignores case (and reads `*` as a
        wildcard, which a checked prefix never holds), so the names are filtered exactly."""
        search = f"^{check_branch_prefix(prefix)}"
        found = self.forge.call(
            lambda: self.forge.project.branches.list(search=search, per_page=_PAGE, get_all=True)
        )
        return {str(b.name): str(b.commit["id"]) for b in found if str(b.name).startswith(prefix)}

    def fetch_commit(self, oid: str) -> None:
        return None

    def commit_info(self, oid: str) -> CommitInfo:
        """The commit's parents and message (from the branch that named it, else one call)
        and its root listing; a commit holding a tree `tree_with` made gets that tree's id."""
        if oid not in self._commits:
            if oid not in self._heads:
                found = self.forge.call(lambda: self.forge.project.commits.get(oid))
                self._heads[oid] = (tuple(found.parent_ids), str(found.message))
            parents, message = self._heads[oid]
            self._roots[oid] = self._root(oid)
            self._commits[oid] = CommitInfo(self._roots[oid], parents, message)
        return self._as_built(oid)

    def history(self, tip: str, count: int) -> list[Logged]:
        query = {"ref_name": tip, "first_parent": "true", "per_page": str(max(1, count))}
        found = self.forge.call(
            lambda: self.forge.project.commits.list(query_parameters=query, get_all=False)
        )
        for c in found:  # what `commit_info` would ask for again, commit by commit
            self._heads.setdefault(str(c.id), (tuple(c.parent_ids), str(c.message)))
        return [Logged(str(c.id), _time(str(c.committed_date)), str(c.message)) for c in found][
            :count
        ]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        for oid in wanted:  # one level per call: GitLab's listing has no depth limit
            if oid in self._deltas:
                self._open(oid)
            elif oid not in self._trees:
                commit, path = self._place(oid)
                self._list(oid, commit, path)
        return {oid: self._trees[oid] for oid in wanted}

    def subtrees(self, oids: Iterable[str]) -> None:
        for oid in oids:
            self.subtree(oid)

    def subtree(self, oid: str) -> None:
        """One recursive listing (paginated) fills in every tree below `oid`."""
        if oid in self._deltas:  # its old directory's listing, and the changes below
            self.subtree(self._deltas[oid][0])
            self._open(oid)
            for entry in self._trees[oid].values():
                if entry.oid in self._deltas:
                    self.subtree(entry.oid)
            return
        if oid in self._trees and all(
            e.oid in self._trees for e in self._trees[oid].values() if e.is_tree
        ):
            return
        commit, path = self._place(oid)
        items = self._listing(commit, path, recursive=True)
        prefix = f"{path}/" if path else ""
        found: dict[str, dict[str, Entry]] = {"": {}}
        for item in items:
            relative = str(item["path"]).removeprefix(prefix)
            parent, _, name = relative.rpartition("/")
            entry = _entry(item)
            found.setdefault(parent, {})[name] = entry
            if entry.is_tree:
                found.setdefault(relative, {})
        names = {"": oid}
        for relative, entries in found.items():
            for name, entry in entries.items():
                if entry.is_tree:
                    names[f"{relative}/{name}" if relative else name] = entry.oid
        for relative, entries in found.items():
            self._keep(names[relative], entries, commit, f"{prefix}{relative}".rstrip("/"))

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for oid in dict.fromkeys(oids):
            data = self._new_blobs.get(oid)
            data = self._blobs.get(oid) if data is None else data
            if data is None:
                commit, path = self._place(oid)
                read = self._read_file(commit, path, oid)
                if read is None:
                    raise ForgeError(f"GitLab lost {path} at {commit[:12]} (404 File Not Found)")
                data = read[1]
            found[oid] = data
        return found

    # -- reads by path (tree.PathStore) ----------------------------------------------------------

    def entries_by_path(
        self, roots: Sequence[str], paths: Sequence[str]
    ) -> list[dict[str, Entry | None]]:
        """The entry at each path below each root: listed directories are walked, and below
        the first one not listed the rest of the path is read by path."""
        return [{path: self._entry_at(root, path) for path in paths} for root in roots]

    def _entry_at(self, tree: str, path: str) -> Entry | None:
        parts = PurePosixPath(path).parts
        for index, name in enumerate(parts):
            listing = self._trees.get(tree)
            if listing is None:
                return self._find_below(tree, "/".join(parts[index:]))
            entry = listing.get(name)
            if entry is None or index == len(parts) - 1:
                return entry
            if not entry.is_tree:
                return None
            tree = entry.oid
        return None

    def _find_below(self, tree: str, relative: str) -> Entry | None:
        key = (tree, relative)
        if key not in self._below:
            delta = self._deltas.get(tree)
            if delta is not None:
                found = self._in_delta(*delta, relative)
            else:
                folder, _, name = relative.rpartition("/")
                listing = self._folder(tree, folder)
                if listing == _MISSING:
                    found = None
                elif listing == _WIDE:
                    commit, path = self._place(tree)
                    found = self._by_path(commit, f"{path}/{relative}".lstrip("/"))
                else:
                    found = self._trees[listing].get(name)
            self._below[key] = found
        return self._below[key]

    def _folder(self, tree: str, folder: str) -> str:
        """The id of `folder`'s listing below the unlisted `tree` ('': `tree` itself), listed
        now when it fits one page; else `_MISSING` or `_WIDE`."""
        key = (tree, folder)
        if key not in self._folders:
            commit, path = self._place(tree)
            full = "/".join(p for p in (path, folder) if p)
            page = self._page(commit, full)
            if page is None:
                self._folders[key] = _MISSING
            elif not page[1]:
                self._folders[key] = _WIDE
            else:
                entries = {str(i["name"]): _entry(i) for i in page[0]}
                oid = object_id("tree", tree_body(entries)) if folder else tree
                self._keep(oid, entries, commit, full)  # `tree` itself: checked against its id
                self._where.setdefault(oid, (commit, full))
                self._folders[key] = oid
        return self._folders[key]

    def _by_path(self, commit: str, path: str) -> Entry | None:
        """A path in a directory too wide to list: a file through the files API (its mode
        from `execute_filemode`: a link there reads as the file of its target), else a
        directory listed whole."""
        read = self._read_file(commit, path, None)
        if read is not None:
            return read[0]
        page = self._page(commit, path)
        if page is None:
            return None
        items = page[0] if page[1] else self._listing(commit, path, recursive=False)
        entries = {str(i["name"]): _entry(i) for i in items}
        oid = object_id("tree", tree_body(entries))
        self._keep(oid, entries, commit, path)
        self._where.setdefault(oid, (commit, path))
        return Entry(TREE_MODE, oid)

    def _read_file(self, commit: str, path: str, oid: str | None) -> tuple[Entry, bytes] | None:
        """One file through the files API (None: not a file there), its bytes checked against
        the blob id GitLab gives and the id the store expects; its `last_commit_id` kept."""
        read = functools.partial(self.forge.project.files.get, file_path=path, ref=commit)
        try:
            found = self.forge.call(read)
        except ForgeError as error:
            if "404 File Not Found" in str(error):
                return None
            raise
        data = base64.b64decode(str(found.content))
        blob = str(found.blob_id)
        if object_id("blob", data) != blob or oid not in (None, blob):
            raise ForgeError(f"GitLab served {path} at {commit[:12]} with other bytes")
        self._blobs[blob] = data
        self._where.setdefault(blob, (commit, path))
        self._last[(commit, path)] = str(found.last_commit_id)
        executable = getattr(found, "execute_filemode", False) is True
        return Entry("100755" if executable else "100644", blob), data

    def _page(self, commit: str, path: str) -> tuple[list[dict[str, Any]], bool] | None:
        """The first page of a directory's listing and whether it is the whole listing;
        None when no directory is there."""
        query: dict[str, Any] = {"ref": commit, "per_page": _PAGE, "recursive": False}
        if path:
            query["path"] = path
        try:
            found = self.forge.call(
                lambda: self.forge.project.repository_tree(iterator=True, **query)
            )
        except ForgeError as error:
            if "404 Tree Not Found" in str(error):
                return None
            raise
        items = [dict(item) for item in itertools.islice(found, _PAGE)]
        more = getattr(found, "next_page", None) is not None or len(items) >= _PAGE
        return (items, not more) if items else None

    def _in_delta(self, base: str, changed: Mapping[str, Entry], relative: str) -> Entry | None:
        """The entry at `relative` in the directory `base` with `changed` written below it."""
        if relative in changed:
            return changed[relative]
        if any(relative.startswith(f"{p}/") for p in changed):
            return None
        inner = {
            p[len(relative) + 1 :]: e for p, e in changed.items() if p.startswith(f"{relative}/")
        }
        old = self._entry_at(base, relative)
        if not inner:
            return old
        if old is not None and not old.is_tree:
            raise ForgeError(f"cannot write below {relative!r}: not a directory in the repository")
        return Entry(TREE_MODE, self._delta(old.oid if old is not None else _EMPTY, inner))

    # -- writes --------------------------------------------------------------------------------

    def tree_with(self, root: str, changes: Mapping[str, bytes]) -> str:
        """`root` with `changes` written. Listed directories are rebuilt as git would; one
        the store did not list is named by its old id and the new entries below it."""
        paths = sorted(changes)
        old = self.entries_by_path([root], paths)[0]
        files: Changed = {}
        new: dict[str, Entry] = {}
        for path in paths:
            before = old[path]
            if before is not None and before.is_tree:
                raise ForgeError(f"cannot write {path}: a directory in the repository")
            mode = before.mode if before is not None else "100644"
            entry = Entry(mode, self.hash_blob(changes[path]))
            if entry != before:
                files[path] = (mode, changes[path], before is not None)
                new[path] = entry
        if not new:
            return root
        named = self._named
        tree = self._rewrite(root, {PurePosixPath(p).parts: e for p, e in new.items()})
        self._built[tree] = _Built(root, files, new, exact=self._named == named)
        return tree

    def _rewrite(self, tree: str | None, changes: Mapping[tuple[str, ...], Entry]) -> str:
        if tree is not None and tree not in self._trees:
            return self._delta(tree, {"/".join(parts): e for parts, e in changes.items()})
        entries = dict(self._trees[tree]) if tree is not None else {}
        below: dict[str, dict[tuple[str, ...], Entry]] = {}
        for parts, entry in changes.items():
            if len(parts) == 1:
                entries[parts[0]] = entry
            else:
                below.setdefault(parts[0], {})[parts[1:]] = entry
        for name, sub in below.items():
            old = entries.get(name)
            if old is not None and not old.is_tree:
                raise ForgeError(f"cannot write below {name!r}: not a directory in the repository")
            entries[name] = Entry(TREE_MODE, self._rewrite(old.oid if old else None, sub))
        return self.make_tree(entries)

    def _delta(self, base: str, changed: Mapping[str, Entry]) -> str:
        """The name of directory `base` with `changed` written below it: `base` itself when
        nothing differs, else a hash of both (only this store reads it)."""
        if base in self._deltas:
            base, earlier = self._deltas[base]
            changed = {**earlier, **changed}
        kept = {p: e for p, e in sorted(changed.items()) if self._entry_at(base, p) != e}
        if not kept:
            return base
        body = "".join(f"{e.mode} {e.oid} {p}\n" for p, e in kept.items()).encode()
        oid = object_id("tree", f"promoter delta of {base}\n".encode() + body)
        self._deltas[oid] = (base, kept)
        self._named += 1
        return oid

    def _open(self, oid: str) -> None:
        """The listing of directory `oid`, named by a delta: its old listing with the
        changes below it written (a subdirectory holding some named by a delta too)."""
        if oid in self._trees:
            return
        base, changed = self._deltas[oid]
        entries = dict(self.trees({base: 0})[base])
        below: dict[str, dict[str, Entry]] = {}
        for path, entry in changed.items():
            name, _, rest = path.partition("/")
            if rest:
                below.setdefault(name, {})[rest] = entry
            else:
                entries[name] = entry
        for name, sub in below.items():
            old = entries.get(name)
            inner = old.oid if old is not None and old.is_tree else _EMPTY
            entries[name] = Entry(TREE_MODE, self._delta(inner, sub))
        self._trees[oid] = entries

    def _as_built(self, oid: str) -> CommitInfo:
        """`oid`'s commit info, its tree renamed to a tree `tree_with` made on its parent
        when it holds exactly that tree (a direct compare: the same paths changed, to the
        same entries), so a promotion branch pushed earlier reads as unchanged."""
        info = self._commits[oid]
        parent = self._commits.get(info.parents[0]) if info.parents else None
        if parent is None:
            return info
        for tree, built in list(self._built.items()):
            if built.exact or built.base != parent.tree or tree == info.tree:
                continue
            if (oid, tree) in self._matched:
                continue
            self._matched.add((oid, tree))
            if self._holds(info.parents[0], oid, info.tree, built):
                info = CommitInfo(tree, info.parents, info.message)
                self._commits[oid] = info
                break
        return info

    def _holds(self, parent: str, oid: str, root: str, built: _Built) -> bool:
        """Whether commit `oid` (tree `root`) is its `parent` with exactly `built`'s files."""
        if (parent, oid) not in self._diffs:
            compare = functools.partial(
                self.forge.project.repository_compare, parent, oid, straight=True
            )
            found = self.forge.call(compare)
            answer = found if isinstance(found, dict) else {}
            diffs = answer.get("diffs")
            if not isinstance(diffs, list) or answer.get("compare_timeout"):
                self._diffs[(parent, oid)] = None  # cut short: never taken as the same
            else:
                keys = ("old_path", "new_path")
                self._diffs[(parent, oid)] = {str(d[k]) for d in diffs for k in keys}
        paths = self._diffs[(parent, oid)]
        if paths is None or paths != set(built.entries):
            return False
        entries = self.entries_by_path([root], sorted(paths))[0]
        return all(entries[p] == e for p, e in built.entries.items())

    def is_verified(self, oid: str) -> bool:
        return False

    def close(self) -> None:
        return None

    def write_commit(
        self, tree: str, parent: str, message: str, *, identity: Identity, sign: bool = False
    ) -> str:
        """Names the commit locally; the commits API writes it when it is pushed."""
        if sign:
            raise InputError(
                "--sign does not apply to --no-clone on GitLab: the commits API writes the "
                "commit on the server",
                field="--sign",
            )
        base = self.commit_info(parent).tree
        built = self._built.get(tree)
        if built is not None and built.base in (base, self._roots.get(parent)):
            files = built.files  # the same content either way: `_as_built` only renames
        else:
            files = self.changed(base, tree)
        oid = object_id("commit", commit_body(tree, [parent], message, identity))
        self._pending[oid] = _Pending(tree, parent, message, identity, files)
        return oid

    def push(
        self,
        commit: str,
        branch: str,
        *,
        lease: str | None,
        force: bool,
        options: Sequence[str] = (),
    ) -> str:
        """One commits-API call; returns the id GitLab gave the commit."""
        if options:
            raise InputError(
                "--skip-ci needs a git push on GitLab (the ci.skip push option): the "
                "commits API used by --no-clone has none; drop one of the two",
                field="--skip-ci",
            )
        pending = self._pending.get(commit)
        if pending is None:
            raise ForgeError(f"commit {commit[:12]} was not made by this run")
        data = self._commit_request(pending, branch, lease=lease, force=force)
        try:
            created = self.forge.call(lambda: self.forge.project.commits.create(data))
        except ForgeError as error:
            if any(text in str(error) for text in _MOVED):
                raise PushRejectedError(f"{branch} moved since it was read; retrying") from error
            raise
        oid = str(created.id)
        self._heads[oid] = (tuple(created.parent_ids), str(created.message))
        if list(created.parent_ids) == [pending.parent]:
            self._commits[oid] = CommitInfo(pending.tree, (pending.parent,), pending.message)
        else:
            self.stats.notes.append(
                f"GitLab applied the commit on {created.parent_ids[0][:12]}: another commit "
                f"landed on {branch} between the check and the write, on other files"
            )
        return oid

    def _commit_request(
        self, pending: _Pending, branch: str, *, lease: str | None, force: bool
    ) -> dict[str, Any]:
        """The commits-API request for `pending`: onto the base only while it is where the
        commit was planned; a promotion branch rebuilt from that exact tip."""
        data: dict[str, Any] = {
            "branch": branch,
            "commit_message": pending.message,
            "author_name": pending.identity.name,
            "author_email": pending.identity.email,
        }
        current = self.remote_branch(branch)
        if current != (lease if force else pending.parent):
            raise PushRejectedError(f"{branch} moved since it was read; retrying")
        data["actions"] = self._actions(pending, guard=not force)
        if force:
            data["start_sha"] = pending.parent
            if current is not None:
                data["force"] = True
        return data

    def delete_branch(self, branch: str, *, lease: str) -> None:
        if self.remote_branch(branch) != lease:
            raise PushRejectedError(f"{branch} moved since it was read; not deleting it")
        self.forge.call(lambda: self.forge.project.branches.delete(branch))

    # -- helpers -------------------------------------------------------------------------------

    def _actions(self, pending: _Pending, *, guard: bool) -> list[dict[str, str]]:
        """One action per file; `guard` adds each updated file's `last_commit_id` (read for
        the planned parent), so a file changed since makes GitLab refuse the commit."""
        actions: list[dict[str, str]] = []
        for path, (mode, data, existed) in sorted(pending.files.items()):
            if mode not in ("100644", "100755"):
                raise ForgeError(f"--no-clone on GitLab cannot write {path} (mode {mode})")
            action = {
                "action": "update" if existed else "create",
                "file_path": path,
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
            if existed and guard:
                action["last_commit_id"] = self._last_commit(pending.parent, path)
            actions.append(action)
        return actions

    def _last_commit(self, commit: str, path: str) -> str:
        """The file's `last_commit_id` at `commit`: read with its bytes, else asked for."""
        if (commit, path) not in self._last:
            get = functools.partial(self.forge.project.files.get, file_path=path, ref=commit)
            self._last[(commit, path)] = str(self.forge.call(get).last_commit_id)
        return self._last[(commit, path)]

    def _root(self, commit: str) -> str:
        """The root tree id of `commit`: its listing, hashed as git does."""
        entries = {str(i["name"]): _entry(i) for i in self._listing(commit, "", recursive=False)}
        oid = object_id("tree", tree_body(entries))
        self._keep(oid, entries, commit, "")
        self._where.setdefault(oid, (commit, ""))
        return oid

    def _list(self, oid: str, commit: str, path: str) -> None:
        items = self._listing(commit, path, recursive=False)
        self._keep(oid, {str(i["name"]): _entry(i) for i in items}, commit, path)

    def _keep(self, oid: str, entries: dict[str, Entry], commit: str, path: str) -> None:
        if object_id("tree", tree_body(entries)) != oid:
            raise ForgeError(f"GitLab listed {path or '/'} at {commit[:12]} differently from git")
        self._trees[oid] = entries
        prefix = f"{path}/" if path else ""
        for name, entry in entries.items():
            self._where.setdefault(entry.oid, (commit, prefix + name))

    def _place(self, oid: str) -> tuple[str, str]:
        try:
            return self._where[oid]
        except KeyError:
            raise ForgeError(f"object {oid[:12]} was not read through a listing") from None

    def _listing(self, commit: str, path: str, *, recursive: bool) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"ref": commit, "per_page": _PAGE, "recursive": recursive}
        if path:
            query["path"] = path
        found = self.forge.call(lambda: self.forge.project.repository_tree(get_all=True, **query))
        return [dict(item) for item in found]


def _time(text: str) -> float:
    """An ISO 8601 time as GitLab writes it (`...Z` included, which Python 3.10 rejects)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _entry(item: Mapping[str, Any]) -> Entry:
    return Entry(str(item["mode"]).lstrip("0") or "0", str(item["id"]))
