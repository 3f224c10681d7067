"""What each read-only command asks: a `RepositoryRef` plus the command's own fields."""

from __future__ import annotations

from dataclasses import dataclass

from promoter.promotion.requests import RepositoryRef


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """`promote status`: every app in every environment (`apps`: only these)."""

    repo: RepositoryRef
    apps: tuple[str, ...] = ()
    history: int = 30
    """Commits of each base read to date the settings."""


@dataclass(frozen=True, slots=True)
class WhyRequest:
    """`promote why`: the chain behind the version `env` runs of one app."""

    repo: RepositoryRef
    env: str
    app: str | None = None
    images: tuple[str, ...] = ()
    """The app by repository, without promoter.yaml."""


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """`promote plan`: what `promote --to` would change, app by app."""

    repo: RepositoryRef
    to_env: str
    from_env: str | None = None
    apps: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    """`promote explain`: where each environment sets each image, and what would change."""

    repo: RepositoryRef
    envs: tuple[str, ...]
    images: tuple[str, ...]
    app: str | None = None


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    """`promote validate`: promoter.yaml and the control files, or the repository's own
    environments without it."""

    repo: RepositoryRef
