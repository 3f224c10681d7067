"""The promoter.yaml model: environments, apps, targets and policies, as validated values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from promoter.config.templates import Templates
from promoter.imageref import ImageRef

CONFIG_NAMES = ("promoter.yaml", ".promoter.yaml", "promoter.yml")
VERSION = 1

TargetKind = Literal["kustomize", "helm", "file", "directory"]
TARGET_KINDS: tuple[TargetKind, ...] = ("kustomize", "helm", "file", "directory")


Mode = Literal["push", "pull-request"]
"""How a promotion lands: a direct push to `base`, or a pull/merge request against it."""
MODES: tuple[Mode, ...] = ("push", "pull-request")
Group = Literal["app", "all"]
GROUPS: tuple[Group, ...] = ("app", "all")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekdays as a window's `days` names them, Monday first (a `WindowRule` day's index)."""


@dataclass(frozen=True, slots=True)
class FreezeWindow:
    """No promotion from `start` (inclusive) to `end` (exclusive); both timezone-aware.

    A date-only `end` covers that whole day (UTC), so `end: 2027-01-03` reads as written.
    """

    start: datetime
    end: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class WindowRule:
    """Weekdays (0 = Monday, as `DAY_NAMES`) and a time of day range in minutes,
    [start, end); an `end` before `start` runs past midnight into the next day."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Windows:
    """When promotions may land: inside an `allow` rule (any time when there are none) and
    outside every `deny` rule (deny wins), read in `timezone`."""

    timezone: str = "UTC"
    allow: tuple[WindowRule, ...] = ()
    deny: tuple[WindowRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Policies:
    """Enforced before anything lands (`promotion.policy`): soak time in the source,
    windows and freezes, no downgrades, and review required."""

    soak: timedelta | None = None
    freeze: tuple[FreezeWindow, ...] = ()
    no_downgrade: bool = False
    windows: Windows | None = None
    require_review: bool = False
    version_order: str = "semver"
    """How tags sort for superseded, no-downgrade and status (`versions.ORDERS`): semver,
    numeric, lexical, or none (never ordered)."""
    tags: str | None = None
    """A pattern (full match) every promoted tag must match, e.g. release tags only."""
    semver: str | None = None
    """A SemVer range every promoted tag must be in (`version_range`): `>=1.0.0` takes
    no pre-release, `^2` only 2.x."""
    verify_image: bool = False
    """Check that each image promoted is in its registry before anything is written
    (`promotion.verification`; `--verify-image` asks it of every environment)."""
    require_source_pipeline: bool = False
    """Promote a version only when the source's commit that put it there passed all the
    forge reports on it (GitLab: its pipeline; GitHub: its statuses and check runs)."""
    require_source_checks: tuple[str, ...] = ()
    """Checks by name (GitHub check runs or status contexts, GitLab jobs) that must have
    succeeded on that commit."""


@dataclass(frozen=True, slots=True)
class Environment:
    """Where and how a promotion lands. `base` None means the remote's default branch."""

    name: str
    mode: Mode = "pull-request"
    base: str | None = None
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    source: str | None = None
    policies: Policies = Policies()
    squash: bool | None = None
    """Squash on merge; None leaves it to the forge project's setting."""
    group: Group = "app"
    """`promote --to` with several apps: one request per app, or one for `all`."""
    templates: Templates = field(default_factory=Templates)
    """The branch, title and subject templates (`config.templates`); unset: promoter's own."""


@dataclass(frozen=True, slots=True)
class Target:
    """A place an app's image lives, `path` relative to the repository root.

    `key` is the Helm values key (`image.tag`) for `helm`, the JSON pointer for `file`.
    `create` asks for the setting to be added when the file lacks it: an `images:` entry
    for `kustomize`, the key path for `helm` (it needs `key`), so every decision that
    zero-config discovery makes can also be written down.
    """

    kind: TargetKind
    path: str
    key: str | None = None
    create: bool = False


@dataclass(frozen=True, slots=True)
class App:
    name: str
    image: ImageRef
    targets: dict[str, tuple[Target, ...]] = field(default_factory=dict)
    """Empty: the app names only its image, and the environment model finds where each
    environment sets it (`discovered`)."""
    watch: tuple[str, ...] = ()
    """Globs: a push changing none of these does not promote this app."""
    ignore: tuple[str, ...] = ()

    @property
    def discovered(self) -> bool:
        return not self.targets

    def runs_in(self, env: str) -> bool | None:
        """Whether promoter.yaml targets the app in `env` (None: the model decides)."""
        return None if self.discovered else env in self.targets


@dataclass(frozen=True, slots=True)
class Guards:
    """The loop guards' settings for every app: accounts and paths that never promote."""

    bot_actors: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    """A validated promoter.yaml; `name` is how errors and reports refer to the file."""

    name: str
    environments: dict[str, Environment]
    apps: dict[str, App] = field(default_factory=dict)
    version: int = VERSION
    guards: Guards = Guards()
