"""The policies of the environment a promotion lands in, applied to one planned unit.

Gathers the facts the pure rules of `promoter.policies` decide on: the target's settings
and its freeze file (`.promoter/freeze.yaml` on the target's base), the mode, and for a
soak time when the version reached the source environment, read from the config
repository's own history: the first-parent commits of the source's base, newest first,
until the version was not there (a commit whose files the version depends on are unchanged
is skipped without re-planning), bounded to `HISTORY` commits. Arrival times follow the
history's order, not its committer dates (`policies.arrival_times`). Holds are keyed by
the app that owns the image (`owner`) and checked on every path that changes an
environment, with or without promoter.yaml. The source gates ask the forge
(`Forge.commit_checks`) what it reports on the commit that put the version into the
source (`placed_by`): its pipeline or every status and check, or the checks named. A
blocked unit lands nothing; `--force` lands it and records each overridden rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from promoter import config as configuration
from promoter import policies
from promoter.errors import ConfigError, PromoterError, UnsupportedByForgeError
from promoter.forges import CheckState
from promoter.history import unchanged_prefix
from promoter.imageref import ImageRef
from promoter.policies import Block
from promoter.promotion.result import Status
from promoter.promotion.steps import Planned, check_out
from promoter.promotion.workspace import Checkout, Workspace

_CHUNK = 10
"""Commits whose listings are read together while walking back."""
HISTORY = 100
"""Commits of the source's base read at most to date a version's arrival."""


def judge(ws: Workspace, planned: Planned, now: datetime) -> Planned:
    """`planned`, blocked by the first policy that stops it, or (forced) with the
    overridden rules recorded and a hold it overrides lifted; a rollback records its hold,
    a release removes one."""
    unit = planned.unit
    if unit.hold is not None or unit.release:
        return _hold_change(planned)
    if planned.result.status not in (Status.CHANGED, Status.SUPERSEDED):
        return planned
    blocks = check(ws, planned, now)
    if not blocks:
        return planned
    if ws.options.forced:
        lifted = [b for b in blocks if b.rule == "hold"]
        if lifted:
            _write_holds(planned, _without_holds(planned))
            planned = _resummarise(planned)
        result = dataclasses.replace(planned.result, overrides=tuple(b.line() for b in blocks))
        return dataclasses.replace(planned, result=result)
    first = blocks[0]
    until = first.until.isoformat() if first.until is not None else None
    result = dataclasses.replace(
        planned.result,
        status=Status.BLOCKED,
        skip_reason=first.line(),
        blocked_until=until,
        pushed=False,
    )
    return dataclasses.replace(planned, result=result)


def check(ws: Workspace, planned: Planned, now: datetime) -> list[Block]:
    """Every rule that stops `planned` now, holds first. Holds apply with or without
    promoter.yaml (a zero-config rollback holds too); the rest come from its policies."""
    checkout, unit, settings = planned.checkout, planned.unit, planned.settings
    holds = configuration.parse_holds(_read(planned, configuration.HOLD_FILE) or "")
    found: list[Block | None] = [
        hold_block(holds, checkout.config, planned.env, image) for image in unit.images
    ]
    if settings is None:  # zero-config: the repository's own freeze file still holds
        freezes = _freeze_file(planned, planned.env)
        found.append(policies.window(configuration.Policies(), freezes, now))
        return [b for b in found if b is not None]
    rules = settings.policies
    found.append(policies.review(rules, planned.mode, planned.env))
    found += [
        rule(rules, owner(checkout.config, image), image.tag, planned.env)
        for image in unit.images
        for rule in (policies.tags, policies.semver)
    ]
    freezes = rules.freeze + _freeze_file(planned, planned.env)
    found.append(policies.window(rules, freezes, now))
    if rules.no_downgrade and unit.promoting_from and planned.plan.superseded:
        first = planned.plan.superseded[0]
        app = first.image.rsplit("/", 1)[-1]
        order, where = rules.version_order, first.where
        found.append(
            policies.downgrade(app, first.current, first.wanted, planned.env, order, where=where)
        )
    if rules.soak is not None and planned.result.status is Status.CHANGED:
        source = _source(settings.source, planned.env, "soak")
        for image in unit.images:
            reached = reached_at(ws, source, image, unit.app)
            culprit = None
            if reached is not None and reached - now > policies.CLOCK_SKEW:
                culprit = _dated_by(ws, source, reached)
            label = _label(checkout.config, image)
            found.append(policies.soak(label, source, reached, rules.soak, now, dated_by=culprit))
    gates: list[tuple[str, tuple[str, ...]]] = []
    if rules.require_source_pipeline:
        gates.append(("require_source_pipeline", ()))
    if rules.require_source_checks:
        gates.append(("require_source_checks", rules.require_source_checks))
    for key, names in gates if planned.result.status is Status.CHANGED else ():
        source = _source(settings.source, planned.env, key)
        for image in unit.images:
            commit = placed_by(ws, source, image, unit.app)
            checks = _checks(ws, planned.env, key, commit, names)
            label = _label(checkout.config, image)
            block = policies.source_checks(
                label, source, planned.env, commit, checks, named=bool(names)
            )
            found.append(block)
    return [b for b in found if b is not None]


def _source(source: str | None, env: str, key: str) -> str:
    """The environment a source-based policy of `env` reads (its `from`)."""
    if source is None:
        raise ConfigError(
            f"environments.{env}.policies.{key} needs environments.{env}.from: the "
            "environment the version must have run in"
        )
    return source


def placed_by(ws: Workspace, source: str, image: ImageRef, app: str | None) -> str | None:
    """The commit of `source`'s base that put `image`'s version there (None: not there
    now): the oldest commit of the newest run of commits that deploy it, the commit whose
    arrival `reached_at` dates."""
    found = _arrival(ws, source, image, app)
    return None if found is None else found[0]


def _checks(
    ws: Workspace, env: str, key: str, commit: str | None, names: tuple[str, ...]
) -> policies.SourceChecks:
    """What the forge reports on `commit` (none asked when there is no commit), sorted
    for the rule; a forge that reports nothing on commits is refused at the setting,
    never taken as a pass."""
    if commit is None:
        return policies.SourceChecks(reported=0)
    try:
        reported = ws.forge.commit_checks(commit, names)
    except UnsupportedByForgeError as exc:
        raise ConfigError(
            f"environments.{env}.policies.{key}: the gate needs a forge that reports "
            f"commit checks (github, gitlab); {exc.message}"
        ) from exc
    return policies.SourceChecks(
        reported=len(reported),
        failed=[(c.label, c.word) for c in reported if c.state is CheckState.FAILED],
        waiting=[(c.label, c.word) for c in reported if c.state is CheckState.WAITING],
        missing=[n for n in names if n not in {c.name for c in reported}],
    )


def owner(config: configuration.Config | None, image: ImageRef) -> str:
    """The app a hold on `image` is keyed by, however the run named it (`--image`,
    `--app`, `--to`, `--all`): the promoter.yaml app whose image repository it is, else
    (zero-config, or an image no app declares) the app discovery names, the repository's
    last path component."""
    found = configuration.find_app(config, image) if config is not None else None
    return found.name if found is not None else image.app_name


def read_holds(checkout: Checkout, env: str) -> tuple[configuration.Hold, ...]:
    """The holds on `checkout`'s branch, for a run into `env` that plans no unit (`promote
    plan`): read and checked as `_read` reads a planned unit's (no symlink followed, no
    unknown name taken)."""
    text = checkout.control_file(configuration.HOLD_FILE, env)
    if text is None:
        return ()
    return configuration.parse_holds(text)


def hold_block(
    holds: tuple[configuration.Hold, ...],
    config: configuration.Config | None,
    env: str,
    image: ImageRef,
) -> Block | None:
    """The hold that keeps `image`'s app where it is in `env`, unless `image` is what it
    holds."""
    app = owner(config, image)
    hold = configuration.find_hold(holds, env, app)
    if hold is None or hold.version == image.version:
        return None
    return Block(
        "hold",
        f"{app} is held at {hold.version} in {env} ({hold.reason}"
        f"{', ' + hold.at if hold.at else ''}); release it with promote release-hold "
        f"--env {env} --app {app}, or promote with --force",
    )


def reached_at(ws: Workspace, source: str, image: ImageRef, app: str | None) -> datetime | None:
    """When `image`'s version reached `source`'s base and stayed (None: not there now):
    the arrival time (`policies.arrival_times`) of the oldest commit of the newest run of
    commits that deploy it."""
    found = _arrival(ws, source, image, app)
    return None if found is None else datetime.fromtimestamp(found[1], timezone.utc)


def _arrival(
    ws: Workspace, source: str, image: ImageRef, app: str | None
) -> tuple[str, float] | None:
    """(commit, arrival time) of the oldest commit of the newest run of `source`'s commits
    that deploy `image`'s version, one history walk per base tip: soak and the pipeline
    gate both ask it."""
    key = (source, str(image), app, check_out(ws, source, fresh=False).tip)
    if key not in ws.arrivals:
        found: tuple[str, float] | None = None
        walk = versions(ws, source, image.with_version(None, None), app, arrivals=True)
        for version in walk:
            if version.image is None or not _same(version.image, image):
                break
            found = (version.commit, version.time)
        ws.arrivals[key] = found
    return ws.arrivals[key]


def _dated_by(ws: Workspace, env: str, moment: datetime) -> str | None:
    """The commit of `env`'s base whose date `moment` is (the oldest so dated): read again
    only when an arrival lies in the future, to name the commit that put it there."""
    history = ws.store.history(check_out(ws, env, fresh=False).tip, HISTORY)
    stamp = moment.timestamp()
    return next((c.id for c in reversed(history) if c.time >= stamp), None)


@dataclass(frozen=True, slots=True)
class Version:
    """What an environment deployed at one commit of its base's history."""

    commit: str
    time: float
    image: ImageRef | None
    """None where the environment set no version of the repository."""


def versions(
    ws: Workspace, env: str, repository: ImageRef, app: str | None, *, arrivals: bool = False
) -> Iterator[Version]:
    """What `env` deploys at each commit along the first-parent history of `env`'s
    base, newest first, at most `HISTORY` commits; a commit that leaves the files the tip's
    version depends on unchanged is not planned again. The time is the committer date, or
    with `arrivals` the commit's arrival time (`policies.arrival_times`: never before its
    parent's), which is what a soak may be measured from."""
    checkout = check_out(ws, env, fresh=False)
    try:
        tip = ws.read_deployed(checkout, env, repository, app)
        current: ImageRef | None = tip.image
        paths = list(tip.files)
    except PromoterError:
        current, paths = None, []
    history = ws.store.history(checkout.tip, HISTORY)
    dates = [c.time for c in history]
    times = policies.arrival_times(dates) if arrivals else dates
    yield Version(history[0].id, times[0], current)
    roots = [ws.store.commit_info(c.id).tree for c in history]
    same = unchanged_prefix(ws.store, roots, paths, _CHUNK)
    for index, logged in enumerate(history[1:], start=1):
        oid, when = logged.id, times[index]
        if index < same:  # the files the tip's version depends on are as at the tip
            yield Version(oid, when, current)
            continue
        older: ImageRef | None  # below the first difference every commit is planned
        try:
            older = ws.read_deployed(ws.check_out_commit(checkout, oid), env, repository, app).image
        except PromoterError:
            older = None
        yield Version(oid, when, older)


def _same(found: ImageRef, wanted: ImageRef) -> bool:
    if wanted.digest is not None and found.digest is not None:
        return found.digest == wanted.digest
    return found.tag == wanted.tag


def _label(config: configuration.Config | None, image: ImageRef) -> str:
    return f"{owner(config, image)} {image.version}"


def _freeze_file(planned: Planned, env: str) -> tuple[configuration.FreezeWindow, ...]:
    text = _read(planned, configuration.FREEZE_FILE)
    if text is None:
        return ()
    return configuration.parse_freezes(text, configuration.FREEZE_FILE, env)


def _read(planned: Planned, name: str) -> str | None:
    return planned.checkout.control_file(name, planned.env)


def _hold_change(planned: Planned) -> Planned:
    """A rollback adds its hold (replacing the app's earlier one); a release removes it."""
    wanted = planned.unit.hold
    current = _read(planned, configuration.HOLD_FILE)
    apps = _owners(planned)
    if wanted is not None:
        hold = dataclasses.replace(wanted, app=apps[0]) if apps else wanted
        _write_holds(planned, configuration.add_hold(current, hold))
        was = hold.reason.removeprefix("rollback from ")
        title = f"Roll back {hold.app} in {planned.env}: {was} → {hold.version}"
    else:
        app = apps[0] if apps else ""
        holds = configuration.parse_holds(current or "")
        if configuration.find_hold(holds, planned.env, app) is None:
            raise ConfigError(f"{app} has no hold in {planned.env}", path=configuration.HOLD_FILE)
        _write_holds(planned, configuration.remove_hold(current or "", planned.env, app))
        title = f"Release the hold on {app} in {planned.env}"
    planned = _resummarise(planned)
    return dataclasses.replace(planned, result=dataclasses.replace(planned.result, title=title))


def _without_holds(planned: Planned) -> str:
    text = _read(planned, configuration.HOLD_FILE) or ""
    for app in _owners(planned):
        text = configuration.remove_hold(text, planned.env, app)
    return text


def _owners(planned: Planned) -> list[str]:
    """The apps the unit's holds are keyed by: each image's owner (`--app` as the run
    named it only when it names no image)."""
    config, unit = planned.checkout.config, planned.unit
    found = [owner(config, image) for image in unit.images]
    if not found and unit.app:
        found.append(unit.app)
    return list(dict.fromkeys(found))


def _write_holds(planned: Planned, text: str) -> None:
    path = planned.checkout.root / configuration.HOLD_FILE
    planned.plan.put(path, configuration.HOLD_FILE, text.encode())


def _resummarise(planned: Planned) -> Planned:
    result = planned.plan.summarise(planned.env, planned.mode, planned.checkout.branch)
    return dataclasses.replace(planned, result=result)
