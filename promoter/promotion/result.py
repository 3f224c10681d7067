"""What a run did, per environment: the record that feeds the text, JSON, commit and PR.

Like Flux's update result, one `Change` per edited value (file, line, old, new) is the
single source for every rendering; `Result.as_json` is the stable, versioned report.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
from dataclasses import dataclass, field

from promoter.versions import tag_of

SCHEMA_VERSION = 1


class Status(enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SUPERSEDED = "superseded"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Change:
    """One changed value, as the report, the commit message and the PR body show it."""

    file: str
    line: int
    pointer: str
    old: str | None
    new: str
    image: str
    editor: str

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "pointer": self.pointer,
            "old": self.old,
            "new": self.new,
            "image": self.image,
            "editor": self.editor,
        }


@dataclass(frozen=True, slots=True)
class FileDiff:
    file: str
    before: bytes
    after: bytes

    def unified(self) -> str:
        """The file's unified diff, lines split at `\\n` only: a carriage return or a form
        feed inside a line stays in it, for the sink to show (`sinks.log_diff`)."""
        before, after = _lines(self.before), _lines(self.after)
        lines = difflib.unified_diff(before, after, f"a/{self.file}", f"b/{self.file}")
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


def _lines(data: bytes) -> list[str]:
    """The text's lines with their `\\n` (the last one may have none)."""
    lines = [line + "\n" for line in data.decode("utf-8", "replace").split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


@dataclass(frozen=True, slots=True)
class Superseded:
    """A requested value that the target already beats: `current` is newer than `wanted`.

    Where the newer version is, so a run that promotes nothing says what to look at:
    `file` and `line` (None where the environment inherits it and no line is known), and
    `branch` when the promotion branch holds it rather than the base."""

    file: str
    image: str
    current: str
    wanted: str
    line: int | None = None
    branch: str | None = None

    @property
    def label(self) -> str:
        """`web 1.5.0`: the app and the version that beat the request."""
        return f"{self.image.rsplit('/', 1)[-1]} {_short(self.current)}"

    @property
    def where(self) -> str:
        """`overlays/production/kustomization.yaml:8 on promote/production/web`."""
        at = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{at} on {self.branch}" if self.branch else at

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "image": self.image,
            "current": self.current,
            "wanted": self.wanted,
            "line": self.line,
            "branch": self.branch,
        }


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    """The change request a run opened, updated, left alone or closed."""

    number: int
    url: str
    operation: str

    def as_json(self) -> dict[str, object]:
        return {"number": self.number, "url": self.url, "operation": self.operation}


@dataclass(frozen=True, slots=True)
class Landing:
    """Where an environment's change went: what the publish and retire steps return.

    `status` is set when the promotion branch decided it: it already holds this change
    (unchanged) or a newer version (superseded, with `superseded`)."""

    branch: str | None = None
    commit: str | None = None
    pushed: bool = False
    review: str | None = None
    pull_request: PullRequestInfo | None = None
    status: Status | None = None
    superseded: tuple[Superseded, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvironmentResult:
    env: str
    status: Status
    changes: tuple[Change, ...] = ()
    diffs: tuple[FileDiff, ...] = ()
    mode: str | None = None
    base: str | None = None
    branch: str | None = None
    commit: str | None = None
    pushed: bool = False
    superseded: tuple[Superseded, ...] = ()
    review: str | None = None
    pull_request: PullRequestInfo | None = None
    skip_reason: str | None = None
    """Why a guard skipped, or a policy blocked, this environment (`rule: reason`)."""
    blocked_until: str | None = None
    """When the blocking policy passes (ISO 8601), if time alone lifts it."""
    title: str | None = None
    """A request title other than "Promote ...": a rollback, a released hold."""
    overrides: tuple[str, ...] = ()
    """Policies `--force` overrode (`rule: reason`), written into the commit and request."""

    def as_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "status": self.status.value,
            "mode": self.mode,
            "base": self.base,
            "branch": self.branch,
            "commit": self.commit,
            "pushed": self.pushed,
            "changes": [c.as_json() for c in self.changes],
            "pull_request": self.pull_request.as_json() if self.pull_request else None,
            "skip_reason": self.skip_reason,
            "blocked_until": self.blocked_until,
            "overrides": list(self.overrides),
            "superseded": [s.as_json() for s in self.superseded],
        }

    def landed(self, landing: Landing) -> EnvironmentResult:
        """This planned result, with where it went."""
        changes, diffs, superseded = self.changes, self.diffs, self.superseded
        if landing.status is Status.SUPERSEDED:  # the promotion branch holds a newer one
            superseded = tuple(
                dataclasses.replace(s, branch=s.branch or landing.branch)
                for s in landing.superseded
            )
            changes, diffs = (), ()
        return dataclasses.replace(
            self,
            status=landing.status or self.status,
            changes=changes,
            diffs=diffs,
            superseded=superseded,
            branch=landing.branch,
            commit=landing.commit,
            pushed=landing.pushed,
            review=landing.review,
            pull_request=landing.pull_request,
        )

    def summary(self) -> str:
        """`web 1.4.1 → 1.4.2, api 2.4.0 → 2.5.0`: each image's old and new tags."""
        by_image: dict[str, tuple[list[str], str]] = {}
        for change in self.changes:
            olds, new = by_image.setdefault(change.image, ([], ""))
            old = _short(change.old)
            if old not in olds:
                olds.append(old)
            if change.new:  # a removed tag (a digest-only promotion) names no new version
                new = _short(change.new)
            by_image[change.image] = (olds, new or "(removed)")
        return ", ".join(
            f"{image.rsplit('/', 1)[-1]} {'/'.join(olds)} → {new}"
            for image, (olds, new) in by_image.items()
        )


def shown(value: str | None, *, added: str = "(added)") -> str:
    """A change's old or new value as the report, the message and the PR show it."""
    if value is None:
        return added
    return value or "(removed)"


def _short(value: str | None) -> str:
    if value is None:  # a key or entry added: the version was inherited from elsewhere
        return "(inherited)"
    return tag_of(value) or value


@dataclass(slots=True)
class Stats:
    """What the run cost, so performance claims can be checked on any run."""

    bytes_fetched: int = 0
    bytes_sent: int = 0
    git_calls: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    attempts: int = 0
    notes: list[str] = field(default_factory=list)
    transport: str = ""
    """`direct`, or `git (<why not direct>)`; empty when no git remote was reached."""

    def as_json(self) -> dict[str, object]:
        return {
            "bytes_fetched": self.bytes_fetched,
            "bytes_sent": self.bytes_sent,
            "git_calls": self.git_calls,
            "api_calls": self.api_calls,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
            "notes": list(self.notes),
            "transport": self.transport,
        }


@dataclass(frozen=True, slots=True)
class Result:
    status: Status
    environments: tuple[EnvironmentResult, ...] = ()
    dry_run: bool = False
    stats: Stats | None = None
    skip: tuple[str, str] | None = None
    """(guard, reason) when a loop guard skipped the run."""
    warnings: tuple[str, ...] = ()
    """What went through but will not work as expected (a PR whose checks cannot start)."""

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(c for env in self.environments for c in env.changes)

    @property
    def diffs(self) -> tuple[FileDiff, ...]:
        return tuple(d for env in self.environments for d in env.diffs)

    @property
    def shown_diffs(self) -> tuple[FileDiff, ...]:
        """The diffs the log and the step summary show: all of a dry run's (what it would
        change), else those of the environments it changed (a blocked one, or one whose
        branch already held the change, changed nothing)."""
        if self.dry_run:
            return self.diffs
        changed = (e for e in self.environments if e.status is Status.CHANGED)
        return tuple(d for env in changed for d in env.diffs)

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status.value,
            "dry_run": self.dry_run,
            "changes": [c.as_json() for c in self.changes],
            "environments": [e.as_json() for e in self.environments if e.env],
            "stats": self.stats.as_json() if self.stats else None,
            "skipped": {"guard": self.skip[0], "reason": self.skip[1]} if self.skip else None,
            "warnings": list(self.warnings),
            "error": None,
        }


def overall(statuses: list[Status]) -> Status:
    """The run's status: the most significant of its environments'."""
    for status in (Status.BLOCKED, Status.CHANGED, Status.SUPERSEDED, Status.SKIPPED):
        if status in statuses:
            return status
    return Status.UNCHANGED
