"""The `Forge` protocol: pull/merge requests on GitHub, GitLab, or none (a local remote).

`promotion` talks to every forge through this protocol alone; adapters import their
client libraries lazily inside `open_forge`, so `promote --help` never loads them.
Knows nothing of YAML or git.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from promoter.errors import ConfigError
from promoter.redact import Secret

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


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    number: int
    url: str
    spec: ChangeRequestSpec


class Forge(Protocol):
    name: str

    def find_open(self, head: str, base: str) -> ChangeRequest | None: ...

    def open_or_update(self, spec: ChangeRequestSpec) -> tuple[Outcome, ChangeRequest]: ...

    def enable_auto_merge(self, cr: ChangeRequest) -> None: ...

    def close(self, cr: ChangeRequest, reason: str) -> None: ...

    def signature_required(self, base: str) -> bool:
        """Whether `base` only accepts signed commits (False when it cannot be read)."""
        ...


FORGES = ("github", "gitlab", "local")


def open_forge(
    kind: str,
    *,
    repository_url: str,
    token: Secret | None = None,
    api_url: str | None = None,
) -> Forge:
    """The adapter for `kind`; client libraries load only here."""
    if kind == "local":
        from promoter.forges.local import LocalForge

        return LocalForge(repository_url)
    if kind == "github":
        from promoter.forges.github import GitHubForge

        return GitHubForge(repository_url, token=token, api_url=api_url)
    if kind == "gitlab":
        raise ConfigError(
            "merge requests on gitlab are not supported yet; use --mode push, or "
            "--forge local to push the promotion branch without opening a request",
            field="--forge",
        )
    raise ConfigError(f"unknown forge {kind!r} (expected one of {', '.join(FORGES)})")
