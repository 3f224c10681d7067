"""Pure decisions that stop a promotion: the loop guards (a build promoter caused, a skip
marker, a push that changed no watched path, a run of promoter commits that looks like a
loop), and the trailers a commit message carries (`parse_trailers`: only its final trailer
block, as git reads it). Version order (the no-downgrade rule) is `versions`. Owns no I/O.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from promoter.pathglobs import PathGlobs

# A config change promoter made must never make promoter run again: in a repository that
# holds app and config (or a pipeline that reacts to config pushes), every round would
# otherwise add a bot commit. Each guard is a pure decision over what the triggering
# build was; the caller gathers the facts and reports the verdict (status `skipped`).


class Guard(enum.Enum):
    BOT_AUTHOR = "bot-author"
    SKIP_MARKER = "skip-marker"
    PATHS = "paths"
    ALREADY_PROMOTED = "already-promoted"
    BREAKER = "circuit-breaker"


@dataclass(frozen=True, slots=True)
class Facts:
    """The triggering build, reduced to what the guards decide on (all optional)."""

    message: str | None = None
    people: tuple[tuple[str, str], ...] = ()
    """(name, email) of the triggering commit's author and committer."""
    actors: tuple[str, ...] = ()
    changed: tuple[str, ...] | None = None
    """Files the triggering push changed; None when unknown (then paths never skip)."""


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    email: str
    """promoter's own commit email (`--author`): a commit with it is promoter's."""
    trailer: str
    bot_actors: tuple[str, ...] = ()
    """Globs of accounts whose pushes never promote (`*[bot]`, `renovate*`)."""
    skip_markers: tuple[str, ...] = ("[skip promote]", "[promote skip]")
    watch: tuple[str, ...] = ()
    """gitignore patterns (`pathglobs`, read in order as one list): only a push changing
    a file they match promotes (empty: any file)."""
    ignore: tuple[str, ...] = ()
    """gitignore patterns: changes to files they match never promote (the config paths
    themselves, docs)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    guard: Guard | None
    reason: str

    @property
    def go(self) -> bool:
        return self.guard is None


GO = Verdict(None, "no guard applies")


def check(facts: Facts, policy: GuardPolicy) -> Verdict:
    """The first guard that stops this trigger, in order: bot author, skip marker, paths."""
    for verdict in (_bot_author(facts, policy), _skip_marker(facts, policy)):
        if not verdict.go:
            return verdict
    return _paths(facts, policy)


def _bot_author(facts: Facts, policy: GuardPolicy) -> Verdict:
    for who, address in facts.people:
        if address and address.lower() == policy.email.lower():
            return Verdict(Guard.BOT_AUTHOR, f"the triggering commit is by {who} <{address}>")
    key, _, value = policy.trailer.partition(": ")
    carried = parse_trailers(facts.message or "")
    if any(k.lower() == key.lower() and v == value for k, v in carried):
        return Verdict(
            Guard.BOT_AUTHOR, f"the triggering commit carries the `{policy.trailer}` trailer"
        )
    for actor in facts.actors:
        for pattern in policy.bot_actors:
            if fnmatch.fnmatchcase(actor.lower(), pattern.lower()):
                return Verdict(
                    Guard.BOT_AUTHOR, f"the run was triggered by {actor} (bot actor {pattern})"
                )
    return GO


_TRAILER_LINE = re.compile(r"([A-Za-z0-9-]+): (.*)")


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """The (key, value) trailers of a commit message, by git's rules in their strict form.

    Only the final paragraph can hold trailers, never the first (the subject), and only
    when every line of it is `Key: value` or continues the trailer above it (a line that
    starts with whitespace; git unfolds it into the value). A paragraph with any other
    line holds none, so a trailer quoted, indented or listed above the end of a message
    (a squash merge listing promoter's commits, a revert quoting one) is text, not a
    trailer. git also takes a last paragraph that is only partly trailers when one is
    git-generated; promoter does not, because a trailer here decides a guard. Pure."""
    lines = message.replace("\r\n", "\n").split("\n")
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    paragraphs = [p for p in paragraphs if p]
    if len(paragraphs) < 2:
        return []
    found: list[tuple[str, str]] = []
    for line in paragraphs[-1]:
        if line[0] in " \t":
            if not found:
                return []
            key, value = found[-1]
            found[-1] = (key, f"{value} {line.strip()}".strip())
            continue
        match = _TRAILER_LINE.fullmatch(line)
        if match is None:
            return []
        found.append((match[1], match[2].strip()))
    return found


def _skip_marker(facts: Facts, policy: GuardPolicy) -> Verdict:
    message = (facts.message or "").lower()
    for marker in policy.skip_markers:
        if marker.lower() in message:
            return Verdict(Guard.SKIP_MARKER, f"the triggering commit message says {marker}")
    return GO


def _paths(facts: Facts, policy: GuardPolicy) -> Verdict:
    if facts.changed is None or not (policy.watch or policy.ignore):
        return GO
    ignored, watched = PathGlobs(policy.ignore), PathGlobs(policy.watch)
    relevant = [p for p in facts.changed if not ignored.matches(p)]
    if watched:
        relevant = [p for p in relevant if watched.matches(p)]
    if relevant:
        return GO
    shown = ", ".join(facts.changed[:3]) + (" ..." if len(facts.changed) > 3 else "")
    return Verdict(
        Guard.PATHS, f"the triggering push changed no watched path ({shown or 'no files'})"
    )


def breaker(
    commits: Sequence[tuple[float, bool]], now: float, *, limit: int = 5, minutes: float = 10
) -> Verdict:
    """Stop a loop the other guards missed: `limit` consecutive promoter commits (newest
    first: (commit time, made by promoter)) on the branch within `minutes` are enough."""
    recent = 0
    for when, by_promoter in commits:
        if not by_promoter or now - when > minutes * 60:
            break
        recent += 1
    if recent >= limit:
        return Verdict(
            Guard.BREAKER,
            f"{recent} consecutive promoter commits in the last {minutes:g} minutes: this looks "
            "like a commit loop (promoter reacting to its own commits); check the workflow's "
            "triggers and the guards, or wait",
        )
    return GO
