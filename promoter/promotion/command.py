"""The request a promotion run carries: what to promote where, and how (`PromoteCommand`),
with its retry bounds and commit author."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from promoter.errors import InputError
from promoter.promotion.gate import GuardOptions
from promoter.tree import DEFAULT_AUTHOR, Identity


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
class PromoteCommand:
    config_repo: str
    envs: tuple[str, ...]
    images: tuple[str, ...]
    app: str | None = None
    config_file: Path | None = None
    dry_run: bool = False
    mode: str | None = None
    forge: str | None = None
    base: str | None = None
    author: str = DEFAULT_AUTHOR
    skip_ci: bool = False
    sign: bool = False
    allow_downgrade: bool = False
    auto_merge: bool = False
    labels: tuple[str, ...] = ()
    api_url: str | None = None
    no_clone: bool = False
    source_repo: str | None = None
    source_commit: str | None = None
    pipeline_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    environ: Mapping[str, str] = field(default_factory=dict)
    """The CI environment, read once by the caller: tokens, source build, outputs."""
    force: bool = False
    """Promote even when a loop guard would skip the run (the commit says so)."""
    bot_actors: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    to_env: str | None = None
    """`--to`: promote what the source environment deploys (`from_env`, or its `from:`)."""
    from_env: str | None = None
    apps: tuple[str, ...] = ()
    """`--app` with `--to` (empty: `--all`, every app the two environments share)."""
    rollback: bool = False
    """`--rollback`: restore the app's previous version (or `rollback_to`) and hold it."""
    rollback_to: str | None = None
    release_hold: bool = False
    """`promote release-hold`: remove the app's hold in the environment."""

    def guard_options(self) -> GuardOptions:
        return GuardOptions(
            email=parse_identity(self.author).email,
            bot_actors=self.bot_actors,
            watch=self.watch,
            ignore=self.ignore,
        )


def parse_identity(text: str) -> Identity:
    name, _, rest = text.partition("<")
    email = rest.rstrip().removesuffix(">")
    if not name.strip() or "@" not in email:
        raise InputError(f"expected 'Name <email>', got {text!r}", field="--author")
    return Identity(name.strip(), email.strip())
