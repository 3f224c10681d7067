"""The `Forge` protocol: pull/merge requests on GitHub, GitLab, or none (a local remote).

`promotion` talks to every forge through this protocol alone, and asks the registry of
forge kinds (`kinds`: `KINDS`, `kind`, `infer`, `register`) what differs between them
(hosts, token variables, basic-auth user, compare page, skip-CI push options, credential
lookup, how each opens); App tokens, review hints and signed API commits stay behind
`Forge`. Adapters import their client libraries lazily when a kind opens its forge, so
`promote --help` never loads them. Knows nothing of YAML or git processes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from promoter.errors import InputError
from promoter.redact import Secret

if TYPE_CHECKING:  # annotations only: `promote --help` lists the kinds without the tree
    from promoter.tree import GitStats, Store

MARKER = "<!-- promoter -->"
"""Ends every body promoter writes, so it can recognise its own change requests."""


class Outcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ChangeRequestSpec:
    head: str
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    draft: bool = False
    squash: bool | None = None
    """Squash on merge; None: the forge's default for the project."""


class CheckState(enum.Enum):
    """Where a reported check stands, whatever the forge calls it."""

    SUCCESS = "success"
    WAITING = "waiting"
    """Not finished (queued, pending, running, in progress)."""
    FAILED = "failed"
    """Finished without succeeding (failed, cancelled, timed out, skipped, manual...)."""


@dataclass(frozen=True, slots=True)
class CommitCheck:
    """One verdict a forge reports on a commit. `kind` and `name` say what it is
    (`pipeline`; `check 'e2e'`), `word` is the forge's own status word, checked to be a
    plain word (`unknown` otherwise): both reach log lines and trailers."""

    kind: str
    name: str
    word: str
    state: CheckState

    @property
    def label(self) -> str:
        return self.kind if not self.name else f"{self.kind} {self.name!r}"


_WORD = re.compile(r"[a-z_]{1,40}")
"""A status word as forges spell them (`success`, `in_progress`, `waiting_for_resource`)."""
MAX_CHECK_NAME = 100
"""Characters of a check's name kept for messages (names are the forge's data)."""


def commit_check(
    kind: str, name: str, word: object, success: frozenset[str], waiting: frozenset[str]
) -> CommitCheck:
    """One reported verdict, its word checked: a word that is not a plain word becomes
    `unknown`, and anything neither a success nor unfinished counts as failed, so a new
    or odd status never passes."""
    text = word if isinstance(word, str) and _WORD.fullmatch(word) else "unknown"
    state = (
        CheckState.SUCCESS
        if text in success
        else CheckState.WAITING
        if text in waiting
        else CheckState.FAILED
    )
    return CommitCheck(kind, name[:MAX_CHECK_NAME], text, state)


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    number: int
    url: str
    spec: ChangeRequestSpec


class Forge(Protocol):
    name: str
    calls: int
    """API requests made so far (for the run's statistics)."""
    has_requests: bool
    """False for a remote without reviews: the pushed branch is the request."""

    def find_open(self, head: str, base: str) -> ChangeRequest | None: ...

    def open_or_update(self, spec: ChangeRequestSpec) -> tuple[Outcome, ChangeRequest]: ...

    def open_requests(self, prefix: str) -> dict[str, ChangeRequest]:
        """The open requests whose head branch (of this repository) starts with `prefix`,
        by head branch: one listing (plus pages), for the promotions in flight."""
        ...

    def enable_auto_merge(self, cr: ChangeRequest) -> None: ...

    def close(self, cr: ChangeRequest, reason: str) -> None: ...

    def signature_required(self, base: str) -> bool:
        """Whether `base` only accepts signed commits (False when it cannot be read)."""
        ...

    def review_hint(self, base: str, head: str) -> str | None:
        """How to review a pushed branch when there is no request to open."""
        ...

    def store(self, stats: GitStats) -> Store:
        """The repository through the forge's API (`--no-clone`)."""
        ...

    def changed_files(self, before: str, after: str) -> tuple[str, ...] | None:
        """Paths changed between two commits (the compare API); None when unknown."""
        ...

    def commit_checks(self, sha: str, names: tuple[str, ...] = ()) -> tuple[CommitCheck, ...]:
        """What the forge reports on commit `sha`: with no `names`, every verdict it has
        (GitLab: the latest pipeline; GitHub: each commit status and check run), else only
        the checks of those names that exist (GitLab: jobs; GitHub: check runs and status
        contexts). An empty answer: nothing reported. A forge that reports nothing on
        commits raises `UnsupportedByForgeError`."""
        ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """A token and the user name git's basic auth pairs it with on this forge."""

    token: Secret
    user: str
    variable: str = ""
    """The environment variable it came from (empty: minted from a GitHub App)."""


def app_token(
    repository_url: str, app_id: str, key: str, api_url: str | None, environ: Mapping[str, str]
) -> Credentials:
    """A GitHub App installation token for the repository, minted now."""
    from promoter.forges.github import installation_token

    Secret(key)  # registered: a key echoed in an error is masked too
    token = installation_token(repository_url, app_id, key, api_url, environ)
    return Credentials(Secret(token), "x-access-token")


def no_api_store(forge: str) -> InputError:
    return InputError(f"--no-clone needs the github forge, not {forge}", field="--no-clone")


# The registry of forge kinds (its module needs the names above, so it loads last).
from promoter.forges.kinds import (  # noqa: E402
    KINDS,
    ForgeKind,
    infer,
    kind,
    names,
    register,
    token_variables,
)
from promoter.forges.kinds import compare_url as compare_url  # noqa: E402

__all__ = [
    "KINDS",
    "MARKER",
    "ChangeRequest",
    "ChangeRequestSpec",
    "Credentials",
    "Forge",
    "ForgeKind",
    "Outcome",
    "app_token",
    "compare_url",
    "infer",
    "kind",
    "names",
    "no_api_store",
    "register",
    "token_variables",
]
