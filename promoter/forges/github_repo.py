"""The GitHub Git Data API as an object store: trees, blobs, commits and refs, no clone.

`--no-clone` reads a config repository one tree and one blob at a time and writes one
commit (a tree with `base_tree`, a commit, a ref update). A ref update without `force` is
GitHub's compare-and-swap: it fails with 422 "Update is not a fast forward" when the branch
moved, which the caller treats like a rejected push. Bytes only; knows nothing of YAML.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promoter.errors import ForgeError, PushRejectedError
from promoter.forges.github import GitHubForge

if TYPE_CHECKING:
    from github.GitRef import GitRef
    from github.InputGitTreeElement import InputGitTreeElement


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    oid: str


class GitHubRepository:
    """Trees, blobs, commits and branch refs of one repository, through the REST API."""

    def __init__(self, forge: GitHubForge) -> None:
        self.forge = forge

    def default_branch(self) -> str:
        repo = self.forge.repo
        return str(self.forge.call(lambda: repo.default_branch))

    def branch_tip(self, branch: str) -> str | None:
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

    def commit(self, oid: str) -> tuple[str, tuple[str, ...], str]:
        found = self.forge.call(lambda: self.forge.repo.get_git_commit(oid))
        return found.tree.sha, tuple(p.sha for p in found.parents), found.message

    def tree(self, oid: str, *, recursive: bool = False) -> dict[str, TreeEntry]:
        found = self.forge.call(lambda: self.forge.repo.get_git_tree(oid, recursive=recursive))
        if getattr(found, "raw_data", {}).get("truncated"):
            raise ForgeError(f"tree {oid[:12]} is too large for the API; use a clone")
        return {e.path: TreeEntry(e.mode.lstrip("0") or "0", e.sha) for e in found.tree}

    def blob(self, oid: str) -> bytes:
        found = self.forge.call(lambda: self.forge.repo.get_git_blob(oid))
        if found.encoding == "base64":
            return base64.b64decode(found.content)
        return str(found.content).encode()

    def create_tree(self, base_tree: str, files: dict[str, tuple[str, bytes]]) -> str:
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

    def create_commit(self, message: str, tree: str, parent: str, name: str, email: str) -> str:
        from github.InputGitAuthor import InputGitAuthor

        repo = self.forge.repo
        git_tree = self.forge.call(lambda: repo.get_git_tree(tree))
        parent_commit = self.forge.call(lambda: repo.get_git_commit(parent))
        author = InputGitAuthor(name, email)
        created = self.forge.call(
            lambda: repo.create_git_commit(message, git_tree, [parent_commit], author, author)
        )
        return str(created.sha)

    def create_branch(self, branch: str, oid: str) -> None:
        try:
            self.forge.call(lambda: self.forge.repo.create_git_ref(f"refs/heads/{branch}", oid))
        except ForgeError as error:
            raise _moved(branch, error) from error

    def update_branch(
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

    def delete_branch(self, branch: str) -> None:
        ref = self.forge.call(lambda: self._ref(branch))
        self.forge.call(ref.delete)

    def is_verified(self, oid: str) -> bool:
        found = self.forge.call(lambda: self.forge.repo.get_commit(oid))
        verification = found.raw_data.get("commit", {}).get("verification") or {}
        return bool(verification.get("verified"))


def _moved(branch: str, error: ForgeError) -> Exception:
    text = str(error).lower()
    if "fast forward" in text or "already exists" in text:
        return PushRejectedError(f"{branch} moved since it was read; retrying on the new tip")
    return error
