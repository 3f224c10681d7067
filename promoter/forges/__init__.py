"""The `Forge` protocol: pull/merge requests on GitHub, GitLab, or none (a local remote).

`promotion` talks to every forge through this protocol alone, and gets a GitHub App's
token (`app_token`) and the API store (`Forge.store`) from here too, so what
differs between forges (App tokens, review hints, signed API commits) stays behind it.
Adapters import their client libraries lazily inside `open_forge`, so `promote --help`
never loads them. Knows nothing of YAML or git processes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from promoter.errors import ConfigError, InputError
from promoter.redact import Secret
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


@dataclass(frozen=True, slots=True)
class Credentials:
    """A token and the user name git's basic auth pairs it with on this forge."""

    token: Secret
    user: str
    variable: str = ""
    """The environment variable it came from (empty: minted from a GitHub App)."""


FORGES = ("github", "gitlab", "local")


def app_token(
    repository_url: str, app_id: str, key: str, api_url: str | None, env: Mapping[str, str]
) -> Credentials:
    """A GitHub App installation token for the repository, minted now."""
    from promoter.forges.github import installation_token

    Secret(key)  # registered: a key echoed in an error is masked too
    token = installation_token(repository_url, app_id, key, api_url, env)
    return Credentials(Secret(token), "x-access-token")


def open_forge(
    kind: str,
    *,
    repository_url: str,
    token: Secret | None = None,
    api_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Forge:
    """The adapter for `kind`; client libraries load only here."""
    if kind == "local":
        from promoter.forges.local import LocalForge

        return LocalForge(repository_url)
    if kind == "github":
        from promoter.forges.github import GitHubForge

        return GitHubForge(repository_url, token=token, api_url=api_url, env=env or {})
    if kind == "gitlab":
        from promoter.forges.gitlab import GitLabForge

        return GitLabForge(repository_url, token=token, api_url=api_url, env=env or {})
    raise ConfigError(f"unknown forge {kind!r} (expected one of {', '.join(FORGES)})")


def no_api_store(forge: str) -> InputError:
    return InputError(f"--no-clone needs the github forge, not {forge}", field="--no-clone")
