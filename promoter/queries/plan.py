"""`promote plan`: what `promote --to DST [--from SRC]` would change, app by app, read
through the same source environment and references the promotion itself resolves
(`promotion.source`); nothing is written. `fanout` turns the value into CI jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from promoter import ci
from promoter.errors import NotAVersionError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import source, steps
from promoter.promotion.fleet import read_fleet
from promoter.promotion.flow import predict, repositories
from promoter.promotion.requests import PromoteFromRequest
from promoter.promotion.result import Status
from promoter.promotion.units import from_units
from promoter.promotion.workspace import Checkout, Options, Workspace, open_workspace
from promoter.queries import inflight
from promoter.queries.fanout import Fanout, Pending
from promoter.queries.requests import PlanRequest


def plan_fanout(request: PlanRequest) -> Fanout:
    """What `promote --to` would change, app by app; nothing is written."""
    images = repositories(request.images)
    with open_workspace(request.repo, Options(prove=False)) as ws:
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
    only, for fanning the promotions out over CI jobs. Each unit is decided as the run
    decides it (`flow.predict`): an app the target already runs (or a newer version of,
    on the base or its promotion branch) is not pending, and one a policy blocks (a hold,
    a freeze, a window, soak, review) is listed with the rule, but gets no job."""
    src = source.source_env(ws, to_env, from_env)
    request = PromoteFromRequest(ws.repo, to_env, from_env, tuple(apps))
    units = from_units(request, list(images), ws, ci.Source(), traced=False)
    target = steps.check_out(ws, to_env, fresh=False)
    fleet = read_fleet(ws, target)
    now = datetime.now(timezone.utc)
    named = {unit.app or fleet.name_of(ref): ref for unit in units for ref in unit.images}
    waiting = inflight.in_flight(ws, target, to_env, named, inflight.Requests(ws), fleet.configured)
    found: list[Pending] = []
    for unit in units:
        _, result = predict(ws, unit, now)
        if result.status not in (Status.CHANGED, Status.BLOCKED):
            continue
        block = result.skip_reason if result.status is Status.BLOCKED else None
        for ref in unit.images:
            name = unit.app or fleet.name_of(ref)
            current = _current(ws, target, to_env, ref, unit.app)
            if current is not None and (current.tag, current.digest) == (ref.tag, ref.digest):
                continue  # this app of a group already runs it
            pending = waiting.get(name)
            found.append(Pending(name, ref, current, block, result.blocked_until, pending))
    return src, sorted(found, key=lambda p: p.app)


def _current(
    ws: Workspace, target: Checkout, env: str, ref: ImageRef, app: str | None
) -> ImageRef | None:
    """What the target runs of `ref`'s repository now (None: nothing readable)."""
    try:
        return ws.read_deployed(target, env, ref.with_version(None, None), app).image
    except NotAVersionError:
        raise
    except PromoterError:
        return None
