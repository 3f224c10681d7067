"""The fake GitHub's state: what a GitHub repository *is*, as plain data.

Pull requests, comments, labels, branch protection and the repository record, plus the git
values the store reads and writes (identities, commits, tree entries and edits, file changes)
and `ApiError`, GitHub's error answer that the rules raise and `api.py` renders. Nothing here
speaks HTTP or JSON, and nothing here runs git: the bare repository is `store.py`'s, the rules
GitHub applies are `hub.py`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import GitStore

ZERO_SHA = "0" * 40
_SHA = re.compile(r"[0-9a-f]{40}")


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


# -- git values -------------------------------------------------------------------------------


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
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha → oldest first
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha → oldest first
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
