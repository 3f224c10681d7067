"""`promote plan`: what `promote --to DST [--from SRC]` would change, app by app, read
through the same source environment and references the promotion itself resolves
(`promotion.source`); nothing is written. `fanout` turns the value into CI jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.errors import InputError, NotAVersionError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import policy, source, steps
from promoter.promotion.command import PromoteCommand
from promoter.promotion.flow import open_workspace_for, repositories
from promoter.promotion.workspace import Workspace
from promoter.queries.fanout import Fanout, Pending


def plan_fanout(command: PromoteCommand) -> Fanout:
    """What `promote --to` would change, app by app; nothing is written."""
    if command.to_env is None:
        raise InputError("missing --to", field="--to")
    images = repositories(command.images)
    with open_workspace_for(command, images) as ws:
        src, found = pending(ws, command.to_env, command.from_env, command.apps, images)
    return Fanout(src, command.to_env, tuple(found))


def pending(
    ws: Workspace,
    to_env: str,
    from_env: str | None,
    apps: Sequence[str],
    images: Sequence[ImageRef],
) -> tuple[str, list[Pending]]:
    """(source environment, the apps `promote --to` would change), sorted by app; read
    only, for fanning the promotions out over CI jobs. An app held in the target is marked
    `held` (its hold, keyed as every promotion keys it: by the app owning the image)."""
    src = source.source_env(ws, to_env, from_env)
    target = steps.check_out(ws, to_env, fresh=False)
    holds = policy.read_holds(target, to_env)
    found: list[Pending] = []
    read = source.read_sources(ws, src, to_env, apps, images)
    ws.prefetch(target, to_env, [(ref, app) for app, ref in read])
    for app, ref in read:
        name = app or ref.app_name
        try:
            current: ImageRef | None = ws.read_deployed(
                target, to_env, ref.with_version(None, None), app
            ).image
        except NotAVersionError:
            raise
        except PromoterError:
            current = None
        if current is None or (current.tag, current.digest) != (ref.tag, ref.digest):
            hold = policy.hold_block(holds, target.config, to_env, ref)
            found.append(Pending(name, ref, current, hold.line() if hold else None))
    return src, sorted(found, key=lambda p: p.app)
