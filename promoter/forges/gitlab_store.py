"""`--no-clone` on GitLab: the repository tree, files and commits APIs as the `tree.Store`.

GitLab's API names no tree of a commit, so the store lists a commit's root directory and
hashes the listing exactly as git would: that is the commit's tree id, and every listing
read later is checked the same way against the id its parent named (a short page, a mode
rewritten, a blob served differently stops the run instead of writing a wrong tree). Blobs
are read by path and checked against their ids too. A change is one commits-API call
(`create`/`update` actions, content base64 so bytes pass unchanged), made at `push`: onto
the base after checking its tip and with each file's `last_commit_id` (GitLab's per-file
compare-and-swap), or as the promotion branch rebuilt from `start_sha` (the exact tip it
was planned on). A lost race becomes a `PushRejectedError` like a rejected git push, and
is re-planned on the new tip. Bytes only; knows nothing of YAML.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from promoter.errors import ForgeError, InputError, PushRejectedError
from promoter.forges.api_objects import Changed, LocalObjects
from promoter.gitformat import commit_body, object_id, tree_body
from promoter.tree import CommitInfo, Entry, GitStats, Identity, Logged, check_branch_prefix

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


@dataclass(frozen=True, slots=True)
class _Pending:
    """A commit named locally, written by the commits API when it is pushed."""

    tree: str
    parent: str
    message: str
    identity: Identity
    files: Changed


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
        return str(found.commit["id"])

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
        if oid not in self._commits:
            found = self.forge.call(lambda: self.forge.project.commits.get(oid))
            root = self._root(oid)
            self._commits[oid] = CommitInfo(root, tuple(found.parent_ids), str(found.message))
        return self._commits[oid]

    def history(self, tip: str, count: int) -> list[Logged]:
        query = {"ref_name": tip, "first_parent": "true", "per_page": str(max(1, count))}
        found = self.forge.call(
            lambda: self.forge.project.commits.list(query_parameters=query, get_all=False)
        )
        return [Logged(str(c.id), _time(str(c.committed_date)), str(c.message)) for c in found][
            :count
        ]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        for oid in wanted:  # one level per call: GitLab's listing has no depth limit
            if oid not in self._trees:
                commit, path = self._place(oid)
                self._list(oid, commit, path)
        return {oid: self._trees[oid] for oid in wanted}

    def subtrees(self, oids: Iterable[str]) -> None:
        for oid in oids:
            self.subtree(oid)

    def subtree(self, oid: str) -> None:
        """One recursive listing (paginated) fills in every tree below `oid`."""
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
            data = self._new_blobs.get(oid) or self._blobs.get(oid)
            if data is None:
                commit, path = self._place(oid)
                read = functools.partial(self.forge.project.files.raw, file_path=path, ref=commit)
                raw = self.forge.call(read)
                data = bytes(raw) if isinstance(raw, (bytes, bytearray)) else b""
                if object_id("blob", data) != oid:
                    raise ForgeError(f"GitLab served {path} at {commit[:12]} with other bytes")
                self._blobs[oid] = data
            found[oid] = data
        return found

    def is_verified(self, oid: str) -> bool:
        return False

    def close(self) -> None:
        return None

    # -- writes --------------------------------------------------------------------------------

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
        self._commits[oid] = CommitInfo(pending.tree, tuple(created.parent_ids), pending.message)
        if list(created.parent_ids) != [pending.parent]:
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
                get = functools.partial(
                    self.forge.project.files.get, file_path=path, ref=pending.parent
                )
                meta = self.forge.call(get)
                action["last_commit_id"] = str(meta.last_commit_id)
            actions.append(action)
        return actions

    def _root(self, commit: str) -> str:
        """The root tree id of `commit`: its listing, hashed as git does."""
        entries = {str(i["name"]): _entry(i) for i in self._listing(commit, "", recursive=False)}
        oid = object_id("tree", tree_body(entries))
        self._keep(oid, entries, commit, "")
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
