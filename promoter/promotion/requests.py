"""What each command asks, as one small frozen request: a `RepositoryRef` (how to reach
the config repository, which every command needs) plus the command's own fields.

The cli builds one request per command and the write path (`flow`) takes the four write
requests; the read-only `queries` define theirs beside them. No request carries another
command's fields, so a new option touches one request and one cli module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from promoter import DEFAULT_AUTHOR, ci
from promoter.errors import InputError
from promoter.promotion.gate import GuardOptions
from promoter.tree import Identity


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded, full-jitter exponential backoff for a push that lost a race (or met a
    transient error): after attempt n, wait uniform(0, min(max_wait, multiplier * 2**(n-1))).

    Sized for 100 promotions of different apps racing on one branch from 2 CPU cores
    (benchmarks/concurrency.py, RESULTS.md "Concurrency"): waits start at up to 2 s and
    double to a 30 s cap, so racers spread out instead of re-cloning in lockstep (each
    wasted attempt takes CPU the winners need). The time bound ends a run that a persistent
    server error keeps failing.
    """

    attempts: int = 40
    max_seconds: float = 600.0
    max_wait: float = 30.0
    multiplier: float = 2.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True)
class RepositoryRef:
    """Where the config repository is and how to reach it: what every command shares."""

    url: str
    """An https:// or file:// URL, a local repository, or (promote, explain) a directory."""
    forge: str | None = None
    api_url: str | None = None
    no_clone: bool = False
    base: str | None = None
    config_file: Path | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    """The process environment, read once by the caller: tokens, the CI, its outputs."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a write command lands its change: the mode, the commit, the request."""

    mode: str | None = None
    dry_run: bool = False
    author: str = DEFAULT_AUTHOR
    sign: bool = False
    skip_ci: bool = False
    auto_merge: bool = False
    labels: tuple[str, ...] = ()
    """Added to the environment's labels on every request (`--label`)."""
    verify_image: bool = False
    """Check every image in its registry before anything is written (`--verify-image`;
    promoter.yaml's `policies.verify_image` asks it per environment)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def identity(self) -> Identity:
        return parse_identity(self.author)


@dataclass(frozen=True, slots=True)
class LoopGuards:
    """The loop guards a write command (and `promote guard`) runs before anything else."""

    force: bool = False
    """Promote even when a guard would skip the run (the commit says so)."""
    bot_actors: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def options(self, author: str) -> GuardOptions:
        return GuardOptions(
            email=parse_identity(author).email,
            bot_actors=self.bot_actors,
            watch=self.watch,
            ignore=self.ignore,
        )


@dataclass(frozen=True, slots=True)
class PromoteRequest:
    """`promote --env ENV --image IMAGE:VERSION`: the given images to each environment."""

    repo: RepositoryRef
    envs: tuple[str, ...]
    images: tuple[str, ...]
    app: str | None = None
    allow_downgrade: bool = False
    source: ci.Source = field(default_factory=ci.Source)
    """The build, where the cli was told it; the CI's variables fill in the rest."""
    delivery: Delivery = field(default_factory=Delivery)
    guards: LoopGuards = field(default_factory=LoopGuards)


@dataclass(frozen=True, slots=True)
class PromoteFromRequest:
    """`promote --to ENV [--from ENV]`: what the source environment deploys, per app."""

    repo: RepositoryRef
    to_env: str
    from_env: str | None = None
    apps: tuple[str, ...] = ()
    """`--app`; empty with `images` empty: `--all`, every app the two environments share."""
    images: tuple[str, ...] = ()
    """Apps named by repository (no version: the source environment's is promoted)."""
    allow_downgrade: bool = False
    source: ci.Source = field(default_factory=ci.Source)
    delivery: Delivery = field(default_factory=Delivery)
    guards: LoopGuards = field(default_factory=LoopGuards)


@dataclass(frozen=True, slots=True)
class RollbackRequest:
    """`promote --rollback`: restore the app's previous version (or `to`) and hold it."""

    repo: RepositoryRef
    env: str
    app: str | None = None
    images: tuple[str, ...] = ()
    """The app by repository, without promoter.yaml."""
    to: str | None = None
    delivery: Delivery = field(default_factory=Delivery)
    guards: LoopGuards = field(default_factory=LoopGuards)


@dataclass(frozen=True, slots=True)
class ReleaseHoldRequest:
    """`promote release-hold`: remove the app's hold in the environment."""

    repo: RepositoryRef
    env: str
    app: str | None = None
    images: tuple[str, ...] = ()
    delivery: Delivery = field(default_factory=Delivery)
    guards: LoopGuards = field(default_factory=LoopGuards)


WriteRequest = PromoteRequest | PromoteFromRequest | RollbackRequest | ReleaseHoldRequest


def parse_identity(text: str) -> Identity:
    name, _, rest = text.partition("<")
    email = rest.rstrip().removesuffix(">")
    if not name.strip() or "@" not in email:
        raise InputError(f"expected 'Name <email>', got {text!r}", field="--author")
    return Identity(name.strip(), email.strip())
