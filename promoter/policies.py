"""Promotion policies as pure decisions: windows and freezes, soak time, no downgrade,
review required, the tags an environment takes, the source commit's pipeline. The caller
gathers the facts (the clock, when a version reached the source environment and by which
commit, that commit's pipeline status, the mode); each rule answers with a `Block`
naming itself and, where it can, when it will pass, or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from promoter.config import DAY_NAMES, FreezeWindow, Policies, WindowRule, Windows
from promoter.version_range import parse_tag, satisfies
from promoter.versions import compare_versions, tag_of

_SCAN = timedelta(days=14)
"""How far ahead the next open moment is searched (a window closed longer says so)."""


@dataclass(frozen=True, slots=True)
class Block:
    """A policy stopping a promotion: which, why, and when it passes (None: not by time)."""

    rule: str
    message: str
    until: datetime | None = None

    def line(self) -> str:
        when = f"; passes at {stamp(self.until)}" if self.until is not None else ""
        return f"{self.rule}: {self.message}{when}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def window(policies: Policies, freezes: Sequence[FreezeWindow], now: datetime) -> Block | None:
    """Closed by a freeze, a deny rule, or outside every allow rule: when it opens next."""
    frozen = _frozen(freezes, now)
    closed = _closed(policies.windows, now)
    if frozen is None and closed is None:
        return None
    opens = next_open(policies.windows, freezes, now)
    if frozen is not None:
        reason = f" ({frozen.reason})" if frozen.reason else ""
        if frozen.end.year >= 9999:
            return Block("freeze", f"frozen until the freeze is lifted{reason}")
        return Block("freeze", f"frozen until {stamp(frozen.end)}{reason}", opens)
    return Block("window", closed or "", opens)


def next_open(
    windows: Windows | None, freezes: Sequence[FreezeWindow], now: datetime
) -> datetime | None:
    """The first moment from `now` at which no freeze holds and the windows are open
    (minute steps, and each freeze's end), within two weeks; None beyond."""
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    candidates = sorted(f.end for f in freezes if f.end > now)
    end = now + _SCAN
    while moment <= end:
        while candidates and candidates[0] <= moment:
            exact = candidates.pop(0)
            if _frozen(freezes, exact) is None and _closed(windows, exact) is None:
                return exact
        if _frozen(freezes, moment) is None and _closed(windows, moment) is None:
            return moment
        moment += timedelta(minutes=1)
    return None


def _frozen(freezes: Sequence[FreezeWindow], now: datetime) -> FreezeWindow | None:
    active = [f for f in freezes if f.start <= now < f.end]
    return max(active, key=lambda f: f.end) if active else None


def _closed(windows: Windows | None, now: datetime) -> str | None:
    """Why the windows are closed at `now`, or None when open."""
    if windows is None:
        return None
    local = now.astimezone(ZoneInfo(windows.timezone))
    for rule in windows.deny:
        if _inside(rule, local):
            return f"inside a deny window ({_describe(rule)}, {windows.timezone})"
    if windows.allow and not any(_inside(rule, local) for rule in windows.allow):
        allowed = "; ".join(_describe(r) for r in windows.allow)
        return f"outside the allow windows ({allowed}, {windows.timezone})"
    return None


def _inside(rule: WindowRule, local: datetime) -> bool:
    minute = local.hour * 60 + local.minute
    day = local.weekday()
    if rule.start < rule.end:
        return day in rule.days and rule.start <= minute < rule.end
    # past midnight: the evening part on a listed day, the morning part on the day after
    evening = day in rule.days and minute >= rule.start
    morning = (day - 1) % 7 in rule.days and minute < rule.end
    return evening or morning


def _describe(rule: WindowRule) -> str:
    days = ",".join(DAY_NAMES[d] for d in sorted(rule.days)) if len(rule.days) < 7 else "daily"
    return f"{days} {_clock(rule.start)}-{_clock(rule.end)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of promoter's clock a commit may be dated (clocks drift) before its date
is refused rather than believed."""


def arrival_times(dates: Sequence[float]) -> list[float]:
    """When each commit of a first-parent history (newest first, committer dates) can have
    arrived at the earliest: the latest date of it and of every commit before it.

    A committer date is whatever the committer's clock or `GIT_COMMITTER_DATE` said; the
    order of a branch's first-parent history is not (a commit cannot land before its
    parent). So a commit dated older than its parent counts as no older than the parent,
    and a backdated commit cannot make a new version look soaked."""
    found = list(dates)
    for index in range(len(found) - 2, -1, -1):
        found[index] = max(found[index], found[index + 1])
    return found


def soak(
    version: str,
    source: str,
    reached: datetime | None,
    wanted: timedelta,
    now: datetime,
    *,
    dated_by: str | None = None,
) -> Block | None:
    """`version` must have run in `source` for `wanted` since it `reached` it (None: the
    source does not run it now, so it has not soaked at all).

    `reached` more than `CLOCK_SKEW` after `now` comes from a commit dated in the future
    (`dated_by`, when known): a date nobody can trust, so the version has not soaked, and
    the block says which commit, not when it passes."""
    if reached is None:
        return Block(
            "soak",
            f"{version} is not what {source} runs now, so it has not soaked there "
            f"(needs {_human(wanted)})",
        )
    if reached - now > CLOCK_SKEW:
        which = f"commit {dated_by[:12]}" if dated_by else "a commit"
        return Block(
            "soak",
            f"{version} has not soaked in {source}: {which} of its history is dated "
            f"{stamp(reached)}, in the future, and promoter does not date an arrival by it "
            "(fix the clock that made it; --force overrides)",
        )
    ran = now - reached
    if ran >= wanted:
        return None
    return Block(
        "soak",
        f"{version} has run in {source} for {_human(ran)} of {_human(wanted)} "
        f"(since {stamp(reached)})",
        reached + wanted,
    )


def downgrade(
    app: str,
    current: str | None,
    wanted: str,
    env: str,
    order: str = "semver",
    *,
    where: str | None = None,
) -> Block | None:
    """A version certainly older than what `env` runs (`current`, at `where`) is not
    promoted (`--allow-downgrade`); an unordered pair never blocks."""
    old, new = tag_of(current), tag_of(wanted)
    if old is None or new is None or compare_versions(old, new, order) != 1:
        return None
    at = f" (set at {where})" if where else ""
    return Block(
        "no-downgrade",
        f"{env} runs {app} {old}, newer than {new}{at}; pass --allow-downgrade to roll back",
    )


def tags(policies: Policies, app: str, tag: str | None, env: str) -> Block | None:
    """`env` takes only tags that match its `tags` pattern in full (release tags only to
    production, say); a digest without a tag cannot show that it does."""
    if policies.tags is None or (tag is not None and re.fullmatch(policies.tags, tag)):
        return None
    what = f"{app} {tag}" if tag is not None else f"{app} (a digest without a tag)"
    return Block(
        "tags",
        f"{env} takes only tags matching {policies.tags} (environments.{env}.policies.tags); "
        f"{what} does not match",
    )


def semver(policies: Policies, app: str, tag: str | None, env: str) -> Block | None:
    """`env` takes only versions in its SemVer range (`>=1.0.0`: no pre-release past
    staging; `^2`: the 2.x line); a tag that is no SemVer version, or a digest without a
    tag, cannot show that it is in it."""
    if policies.semver is None or (tag is not None and satisfies(tag, policies.semver)):
        return None
    version = parse_tag(tag) if tag is not None else None
    if tag is None:
        what = f"{app} (a digest without a tag) is no version"
    elif version is None:
        what = f"{app} {tag} is not a SemVer version"
    elif version[3]:
        what = f"{app} {tag} is a pre-release outside it"
    else:
        what = f"{app} {tag} is outside it"
    return Block(
        "semver",
        f"{env} takes only versions in {policies.semver!r} "
        f"(environments.{env}.policies.semver); {what}",
    )


@dataclass(frozen=True, slots=True)
class SourceChecks:
    """What the forge reported on the source commit, sorted by the caller: `failed` and
    `waiting` hold (label, word) pairs (`("check 'e2e'", "in_progress")`), `missing`
    the required names nothing reported, `reported` how many verdicts there were."""

    reported: int
    failed: Sequence[tuple[str, str]] = ()
    waiting: Sequence[tuple[str, str]] = ()
    missing: Sequence[str] = ()


def source_checks(
    version: str,
    source: str,
    env: str,
    commit: str | None,
    found: SourceChecks,
    *,
    named: bool,
) -> Block | None:
    """`env` takes `version` only when `commit`, the commit of `source`'s base that put it
    there (None: `source` does not run it now), passed its checks: every one reported
    (`named` False: `require_source_pipeline`, at least one), or each required name
    (`require_source_checks`). Unfinished or missing waits; anything else that did not
    succeed blocks until it does."""
    rule = "source-checks" if named else "source-pipeline"
    if commit is None:
        return Block(
            rule, f"{version} is not what {source} runs now, so no commit of {source} carries it"
        )
    short = commit[:7]
    if found.failed:
        label, word = found.failed[0]
        what = "a pipeline" if label == "pipeline" else label
        return Block(
            rule,
            f"{source}'s commit {short} has {label} status {word}{_more(found.failed)}; {env} "
            f"takes {version} only once {what} of that commit succeeds (rerun it, or --force)",
        )
    if found.missing:
        return Block(
            rule,
            f"{source}'s commit {short} has no check {found.missing[0]!r}{_more(found.missing)} "
            f"yet; {env} waits for it to succeed",
        )
    if not named and not found.reported:
        return Block(
            rule,
            f"{source}'s commit {short} has no pipeline or checks; {env} waits for one that "
            "succeeds",
        )
    if found.waiting:
        label, word = found.waiting[0]
        return Block(
            rule,
            f"{source}'s commit {short} has {label} status {word}{_more(found.waiting)}; {env} "
            "waits for success",
        )
    return None


def _more(items: Sequence[object]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def review(policies: Policies, mode: str, env: str) -> Block | None:
    if not policies.require_review or mode != "push":
        return None
    return Block(
        "require-review",
        f"{env} requires review: push mode is refused; promote with --mode pull-request",
    )


def _human(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or not parts else []
    return "".join(parts)
