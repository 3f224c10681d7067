"""`promote why`: the chain that put an environment's running version there.

The chain itself is traced by `promotion.provenance`, which the write path shares: a
`promote --to` commit carries the source environment's build and compare range from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from promoter.errors import InputError
from promoter.promotion import provenance, steps
from promoter.promotion.fleet import read_fleet
from promoter.promotion.flow import repositories
from promoter.promotion.workspace import open_workspace
from promoter.queries import inflight
from promoter.queries.inflight import InFlight
from promoter.queries.requests import WhyRequest


@dataclass(frozen=True, slots=True)
class Why:
    """The chain behind what runs, and a promotion waiting to replace it, if any."""

    links: list[provenance.Link]
    in_flight: InFlight | None = None


def why(request: WhyRequest) -> Why:
    """The chain that put the running version of `request.app` in its environment, and
    the promotion in flight for it there (its branch and request)."""
    images, app, env = repositories(request.images), request.app, request.env
    if not (app or images):
        raise InputError("promote why takes the app (--app or --image)", field="--app")
    with open_workspace(request.repo) as ws:
        checkout = steps.check_out(ws, env, fresh=False)
        fleet = read_fleet(ws, checkout)
        image = fleet.app(app) if app is not None else images[0]
        name = app or fleet.name_of(image)
        links = provenance.trace(ws, env, image, app if fleet.configured else None)
        waiting = inflight.in_flight(
            ws, checkout, env, {name: image}, inflight.Requests(ws), fleet.configured
        ).get(name)
        if waiting is not None and links and waiting.reference.version == links[0].version:
            waiting = None
        return Why(links, waiting)
