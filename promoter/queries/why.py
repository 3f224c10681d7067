"""`promote why`: the chain that put an environment's running version there.

The chain itself is traced by `promotion.provenance`, which the write path shares: a
`promote --to` commit carries the source environment's build and compare range from it.
"""

from __future__ import annotations

from promoter.errors import InputError
from promoter.promotion import provenance, steps
from promoter.promotion.command import PromoteCommand
from promoter.promotion.flow import open_workspace_for, repositories


def why(command: PromoteCommand) -> list[provenance.Link]:
    """The chain that put the running version of `command.app` in its environment."""
    images = repositories(command.images)
    if len(command.envs) != 1 or not (command.app or images):
        raise InputError("promote why takes one --env and the app (--app or --image)")
    env = command.envs[0]
    with open_workspace_for(command, images) as ws:
        checkout = steps.check_out(ws, env, fresh=False)
        image = images[0] if images else None
        if checkout.config is not None and command.app is not None:
            found = checkout.config.apps.get(command.app)
            if found is None:
                known = ", ".join(sorted(checkout.config.apps)) or "none"
                raise InputError(f"no app {command.app!r} in promoter.yaml; apps: {known}")
            image = found.image
        assert image is not None
        return provenance.trace(ws, env, image, command.app)
