"""`--no-clone`: GitHub's Git Data API as the `tree.Store`, with no clone at all.

Reads a config repository one tree and one blob at a time (a whole listing in one
recursive tree call) and writes one commit: a tree with `base_tree`, a commit, a ref
update. New blobs and trees are hashed locally exactly as git would, so an unchanged
result is recognised by its tree id without a single write; GitHub must produce the same
tree id or the run stops. A ref update without `force` is GitHub's compare-and-swap: it
fails with 422 "Update is not a fast forward" when the branch moved, which becomes a
`PushRejectedError` like a rejected git push. Commits made with a GitHub App token are
signed by GitHub. The API lists no refs by prefix, so the promotion branches in flight are
read off the open pull requests (`open_pulls`, shared with the forge). Bytes only; knows
nothing of YAML.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from promoter.errors import ForgeError, InputError, PushRejectedError
from promoter.forges.api_objects import LocalObjects
from promoter.tree import CommitInfo, Entry, GitStats, Identity, Logged, check_branch_prefix

if TYPE_CHECKING:
    from github.GitRef import GitRef
    from github.InputGitTreeElement import InputGitTreeElement
    from github.PullRequest import PullRequest
    from github.Repository import Repository

T = TypeVar("T")


class GitHubClient(Protocol):
    """What the store needs of a GitHub connection (`GitHubForge` is one): the repository
    and the one retry layer that turns failures into `ForgeError`s."""

    @property
    def repo(self) -> Repository: ...

    def call(self, action: Callable[[], T]) -> T: ...


class GitHubStore(LocalObjects):
    """Trees, blobs, commits and branch refs of one repository, through the REST API."""

    signs_commits = True

    def __init__(self, forge: GitHubClient, stats: GitStats) -> None:
        super().__init__()
        self.forge = forge
        self.stats = stats
        self._commits: dict[str, CommitInfo] = {}

    # -- what Snapshot reads ---------------------------------------------------------

    def commit_info(self, oid: str) -> CommitInfo:
        if oid not in self._commits:
            self._commits[oid] = self._commit(oid)
        return self._commits[oid]

    def trees(
        self, wanted: Mapping[str, int], *, fetch: bool = True
    ) -> dict[str, dict[str, Entry]]:
        for oid in wanted:
            if oid not in self._trees:
                self._trees[oid] = self._tree(oid)
        return {oid: self._trees[oid] for oid in wanted}

    def subtrees(self, oids: Iterable[str]) -> None:
        for oid in oids:
            self.subtree(oid)

    def subtree(self, oid: str) -> None:
        """One recursive listing fills in every tree below `oid`."""
        listing = self._tree(oid, recursive=True)
        trees = {"": oid} | {p: e.oid for p, e in listing.items() if e.is_tree}
        for tree in trees.values():
            self._trees.setdefault(tree, {})
        for path, entry in listing.items():
            parent, _, name = path.rpartition("/")
            self._trees[trees[parent]][name] = entry

    def blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        return {o: self._new_blobs.get(o) or self._blob(o) for o in dict.fromkeys(oids)}

    def history(self, tip: str, count: int) -> list[Logged]:
        found: list[Logged] = []
        oid: str | None = tip
        while oid is not None and len(found) < count:
            commit = self.forge.call(functools.partial(self.forge.repo.get_git_commit, oid))
            found.append(Logged(oid, commit.committer.date.timestamp(), commit.message))
            oid = commit.parents[0].sha if commit.parents else None
        return found

    def is_verified(self, oid: str) -> bool:
        found = self.forge.call(lambda: self.forge.repo.get_commit(oid))
        verification = found.raw_data.get("commit", {}).get("verification") or {}
        return bool(verification.get("verified"))

    def close(self) -> None:
        return None

    # -- refs and commits --------------------------------------------------------------

    def head_branch(self) -> str:
        return self._default_branch()

    def ref(self, branch: str) -> str:
        tip = self._branch_tip(branch)
        if tip is None:
            raise ForgeError(f"branch {branch!r} not found")
        return tip

    def update(self, branch: str) -> str:
        return self.ref(branch)

    def remote_branch(self, branch: str) -> str | None:
        return self._branch_tip(branch)

    def branches(self, prefix: str) -> dict[str, str]:
        """The branches under `prefix` that have an open pull request, name → tip.

        The API subset promoter keeps to (forge-api) lists no refs by prefix (no
        `git/matching-refs`) and no branches; the open pull requests are one listing
        (paginated) and carry each head's name and sha. On GitHub a promotion branch
        without an open pull request is a leftover, not a promotion in flight, so these
        are the branches that matter.
        """
        pulls = open_pulls(self.forge, check_branch_prefix(prefix))
        return {branch: str(pull.head.sha) for branch, pull in pulls.items()}

    def fetch_commit(self, oid: str) -> None:
        return None

    def write_commit(
        self, tree: str, parent: str, message: str, *, identity: Identity, sign: bool = False
    ) -> str:
        if sign:
            raise InputError(
                "--sign does not apply to --no-clone: GitHub signs API commits made with a "
                "GitHub App token",
                field="--sign",
            )
        base = self.commit_info(parent).tree
        files = {p: (mode, data) for p, (mode, data, _) in self.changed(base, tree).items()}
        created = self._create_tree(base, files)
        if created != tree:
            raise ForgeError(f"GitHub built tree {created[:12]}, expected {tree[:12]}")
        return self._create_commit(message, tree, parent, identity)

    def push(
        self,
        commit: str,
        branch: str,
        *,
        lease: str | None,
        force: bool,
        options: Sequence[str] = (),
    ) -> str:
        if not force:
            self._update_branch(branch, commit, force=False)
        elif lease is None:
            self._create_branch(branch, commit)
        else:
            self._update_branch(branch, commit, force=True, expected=lease)
        return commit

    def delete_branch(self, branch: str, *, lease: str) -> None:
        self._delete_branch(branch)

    # -- REST calls ----------------------------------------------------------------------

    def _default_branch(self) -> str:
        repo = self.forge.repo
        return str(self.forge.call(lambda: repo.default_branch))

    def _branch_tip(self, branch: str) -> str | None:
        try:
            return str(self.forge.call(lambda: self._ref(branch).object.sha))
        except ForgeError as error:
            if "not found" in str(error).lower():
                return None
            raise

    def _ref(self, branch: str) -> GitRef:
        """A loaded ref: PyGithub's `get_git_ref` is lazy, and its URL until loaded is the
        singular `git/ref/...` of the GET endpoint, which PATCH and DELETE do not accept."""
        ref = self.forge.repo.get_git_ref(f"heads/{branch}")
        ref.object  # noqa: B018  (loads it, and with it the `git/refs/...` URL)
        return ref

    def _commit(self, oid: str) -> CommitInfo:
        found = self.forge.call(lambda: self.forge.repo.get_git_commit(oid))
        return CommitInfo(found.tree.sha, tuple(p.sha for p in found.parents), found.message)

    def _tree(self, oid: str, *, recursive: bool = False) -> dict[str, Entry]:
        found = self.forge.call(lambda: self.forge.repo.get_git_tree(oid, recursive=recursive))
        if getattr(found, "raw_data", {}).get("truncated"):
            raise ForgeError(f"tree {oid[:12]} is too large for the API; use a clone")
        return {e.path: Entry(e.mode.lstrip("0") or "0", e.sha) for e in found.tree}

    def _blob(self, oid: str) -> bytes:
        found = self.forge.call(lambda: self.forge.repo.get_git_blob(oid))
        if found.encoding == "base64":
            return base64.b64decode(found.content)
        return str(found.content).encode()

    def _create_tree(self, base_tree: str, files: dict[str, tuple[str, bytes]]) -> str:
        """A tree: `base_tree` with each path (mode, content) written over it."""
        from github.InputGitTreeElement import InputGitTreeElement

        elements: list[InputGitTreeElement] = []
        for path, (mode, data) in sorted(files.items()):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                encoded = base64.b64encode(data).decode()
                create = functools.partial(self.forge.repo.create_git_blob, encoded, "base64")
                blob = self.forge.call(create)
                elements.append(InputGitTreeElement(path, mode, "blob", sha=blob.sha))
                continue
            elements.append(InputGitTreeElement(path, mode, "blob", content=text))
        base = self.forge.call(lambda: self.forge.repo.get_git_tree(base_tree))
        created = self.forge.call(lambda: self.forge.repo.create_git_tree(elements, base))
        return str(created.sha)

    def _create_commit(self, message: str, tree: str, parent: str, identity: Identity) -> str:
        from github.InputGitAuthor import InputGitAuthor

        repo = self.forge.repo
        git_tree = self.forge.call(lambda: repo.get_git_tree(tree))
        parent_commit = self.forge.call(lambda: repo.get_git_commit(parent))
        author = InputGitAuthor(identity.name, identity.email)
        created = self.forge.call(
            lambda: repo.create_git_commit(message, git_tree, [parent_commit], author, author)
        )
        return str(created.sha)

    def _create_branch(self, branch: str, oid: str) -> None:
        try:
            self.forge.call(lambda: self.forge.repo.create_git_ref(f"refs/heads/{branch}", oid))
        except ForgeError as error:
            raise _moved(branch, error) from error

    def _update_branch(
        self, branch: str, oid: str, *, force: bool, expected: str | None = None
    ) -> None:
        """Move `branch`: a fast-forward (GitHub's compare-and-swap), or forced from `expected`."""
        try:
            ref = self.forge.call(lambda: self._ref(branch))
            if expected is not None and ref.object.sha != expected:
                raise PushRejectedError(f"{branch} moved since it was read; retrying")
            self.forge.call(lambda: ref.edit(oid, force=force))
        except ForgeError as error:
            raise _moved(branch, error) from error

    def _delete_branch(self, branch: str) -> None:
        ref = self.forge.call(lambda: self._ref(branch))
        self.forge.call(ref.delete)


def open_pulls(client: GitHubClient, prefix: str) -> dict[str, PullRequest]:
    """The open pull requests from this repository's branches under `prefix`, by branch:
    one listing (`GET pulls?state=open`, paginated), filtered here because GitHub's `head`
    filter takes one exact branch. A fork's pull request is not promoter's; of two on one
    branch (against two bases) the newest is kept."""
    listed = client.call(lambda: list(client.repo.get_pulls(state="open")))
    found: dict[str, PullRequest] = {}
    for pull in listed:
        head = pull.head
        if not head.ref.startswith(prefix) or head.repo is None:
            continue
        if head.repo.full_name == pull.base.repo.full_name:
            found.setdefault(head.ref, pull)  # the list is newest first
    return found


def _moved(branch: str, error: ForgeError) -> Exception:
    text = str(error).lower()
    if "fast forward" in text or "already exists" in text:
        return PushRejectedError(f"{branch} moved since it was read; retrying on the new tip")
    return error
