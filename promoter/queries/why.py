"""`promote why`: the chain that put an environment's running version there.

The chain itself is traced by `promotion.provenance`, which the write path shares: a
`promote --to` commit carries the source environment's build and compare range from it.
"""

from __future__ import annotations

from promoter.errors import InputError
from promoter.promotion import provenance, steps
from promoter.promotion.fleet import read_fleet
from promoter.promotion.flow import repositories
from promoter.promotion.workspace import open_workspace
from promoter.queries.requests import WhyRequest


def why(request: WhyRequest) -> list[provenance.Link]:
    """The chain that put the running version of `request.app` in its environment."""
    images, app, env = repositories(request.images), request.app, request.env
    if not (app or images):
        raise InputError("promote why takes the app (--app or --image)", field="--app")
    with open_workspace(request.repo) as ws:
        fleet = read_fleet(ws, steps.check_out(ws, env, fresh=False))
        image = fleet.app(app) if app is not None else images[0]
        return provenance.trace(ws, env, image, app if fleet.configured else None)
