"""The policies of the environment a promotion lands in, applied to one planned unit.

Gathers the facts the pure rules of `promoter.policies` decide on: the target's settings
and its freeze file (`.promoter/freeze.yaml` on the target's base), the mode, and for a
soak time when the version reached the source environment, read from the config
repository's own history: the first-parent commits of the source's base, newest first,
until the version was not there (a commit whose files the version depends on are unchanged
is skipped without re-planning), bounded to `HISTORY` commits. A blocked unit lands
nothing; `--force` lands it and records each overridden rule.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from promoter import config as configuration
from promoter import policies
from promoter.errors import ConfigError, PromoterError
from promoter.imageref import ImageRef
from promoter.policies import Block
from promoter.promotion.result import Status
from promoter.promotion.steps import Planned, check_out
from promoter.promotion.workspace import Workspace
from promoter.tree import Snapshot

HISTORY = 100
"""Commits of the source's base read at most to date a version's arrival."""


def judge(ws: Workspace, planned: Planned, now: datetime) -> Planned:
    """`planned`, blocked by the first policy that stops it, or (forced) with the
    overridden rules recorded; unchanged when no policy applies."""
    if planned.result.status not in (Status.CHANGED, Status.SUPERSEDED):
        return planned
    blocks = check(ws, planned, now)
    if not blocks:
        return planned
    if ws.options.forced:
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
    settings = planned.checkout.settings(planned.env)
    if settings is None:
        return []
    rules = settings.policies
    found: list[Block | None] = [policies.review(rules, planned.mode, planned.env)]
    freezes = rules.freeze + _freeze_file(planned, planned.env)
    found.append(policies.window(rules, freezes, now))
    if rules.no_downgrade and ws.options.promoting_from and planned.plan.superseded:
        first = planned.plan.superseded[0]
        app = first.image.rsplit("/", 1)[-1]
        found.append(policies.downgrade(app, first.current, first.wanted, planned.env))
    if rules.soak is not None and planned.result.status is Status.CHANGED:
        source = settings.source
        if source is None:
            raise ConfigError(
                f"environments.{planned.env}.policies.soak needs environments."
                f"{planned.env}.from: the environment the version must have run in"
            )
        for image in ws.options.images:
            reached = reached_at(ws, source, image, ws.options.app)
            found.append(policies.soak(_label(image), source, reached, rules.soak, now))
    return [b for b in found if b is not None]


def reached_at(ws: Workspace, source: str, image: ImageRef, app: str | None) -> datetime | None:
    """When `image`'s version reached `source`'s base and stayed (None: not there now)."""
    checkout = check_out(ws, source, fresh=False)
    repository = image.with_version(None, None)
    try:
        current = ws.read_deployed(checkout, source, repository, app)
    except PromoterError:
        return None
    if not _same(current.image, image):
        return None
    history = ws.store.history(checkout.tip, HISTORY)
    reached = history[0][1]
    paths = list(current.files)
    at_tip = checkout.snapshot.entries(paths) if paths else None
    for oid, when, _ in history[1:]:
        if at_tip is not None and Snapshot(ws.store, oid).entries(paths) == at_tip:
            reached = when
            continue
        try:
            older = ws.read_deployed(ws.check_out_commit(checkout, oid), source, repository, app)
        except PromoterError:
            break
        if not _same(older.image, image):
            break
        reached = when
    return datetime.fromtimestamp(reached, timezone.utc)


def _same(found: ImageRef, wanted: ImageRef) -> bool:
    if wanted.digest is not None and found.digest is not None:
        return found.digest == wanted.digest
    return found.tag == wanted.tag


def _label(image: ImageRef) -> str:
    return f"{image.app_name} {image.version}"


def _freeze_file(planned: Planned, env: str) -> tuple[configuration.FreezeWindow, ...]:
    checkout = planned.checkout
    path = checkout.root / configuration.FREEZE_FILE
    if not path.exists():
        checkout.snapshot.materialise([configuration.FREEZE_FILE], checkout.root)
    if not path.is_file():
        return ()
    text = path.read_text(encoding="utf-8", errors="replace")
    return configuration.parse_freezes(text, configuration.FREEZE_FILE, env)
