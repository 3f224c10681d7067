"""One promotion a run makes, with everything about it resolved once: the environment,
the app and its references, the build it carries, and how a rollback or release changes
the holds. The steps read it; nothing rewrites it while the run goes on."""

from __future__ import annotations

from dataclasses import dataclass, field

from promoter import ci
from promoter import config as configuration
from promoter.imageref import ImageRef


@dataclass(frozen=True, slots=True)
class Unit:
    env: str
    app: str | None
    images: tuple[ImageRef, ...]
    source: ci.Source = field(default_factory=ci.Source)
    """The build promoted, for trailers and the request body."""
    allow_downgrade: bool = False
    hold: configuration.Hold | None = None
    """A rollback: the hold it records for the environment and app."""
    release: bool = False
    """`promote release-hold`: the run removes the app's hold and changes nothing else."""
    promoting_from: str | None = None
    """The source environment of a `--to` run (its downgrades are blocked, not skipped)."""
    compare_url: str | None = None
    """For a `--to` run: the source range between the build running and the one promoted."""
