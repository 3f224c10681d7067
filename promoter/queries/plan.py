"""`promote plan`: what `promote --to DST [--from SRC]` would change, app by app, read
through the same source environment and references the promotion itself resolves
(`promotion.source`); nothing is written. `fanout` turns the value into CI jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.errors import NotAVersionError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import policy, source, steps
from promoter.promotion.flow import repositories
from promoter.promotion.workspace import Workspace, open_workspace
from promoter.queries.fanout import Fanout, Pending
from promoter.queries.requests import PlanRequest


def plan_fanout(request: PlanRequest) -> Fanout:
    """What `promote --to` would change, app by app; nothing is written."""
    images = repositories(request.images)
    with open_workspace(request.repo) as ws:
        src, found = pending(ws, request.to_env, request.from_env, request.apps, images)
    return Fanout(src, request.to_env, tuple(found))


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
