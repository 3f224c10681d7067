"""Promotions in flight: what the open promotion branches of an environment would deploy,
and their pull or merge requests, read from git and the forge alone.

A promotion waiting for review is a branch `promote/<env>/<app>` (several apps joined by
`+`; or what the environment's branch template names, read back through it) with, on a
forge with reviews, an open request. What it would deploy is read from its tip through
the environment model, as the base is; it is in flight where that differs from what the
base deploys. On a forge with requests a branch without an open one is a
leftover, not a promotion in flight. Two reads per environment (its branches, and once
per run the open requests), then one plan per branch found.
"""

from __future__ import annotations

from dataclasses import dataclass

from promoter.config import BRANCH_PREFIX
from promoter.errors import NotAVersionError, PromoterError
from promoter.forges import ChangeRequest
from promoter.imageref import ImageRef
from promoter.promotion.naming import apps_on_branch
from promoter.promotion.workspace import Checkout, Workspace


@dataclass(frozen=True, slots=True)
class InFlight:
    """A promotion of `app` to `env` waiting on its branch (and request)."""

    app: str
    env: str
    branch: str
    reference: ImageRef
    """What the branch would deploy."""
    request: int | None = None
    url: str | None = None

    def describe(self) -> str:
        """`1.5.1 in #42`, or `1.5.1 on promote/production/web` without a request."""
        where = f"#{self.request}" if self.request else self.branch
        return f"{self.reference.version} {'in' if self.request else 'on'} {where}"

    def as_json(self) -> dict[str, object]:
        return {
            "version": self.reference.version,
            "reference": str(self.reference),
            "branch": self.branch,
            "request": self.request,
            "url": self.url,
        }


class Requests:
    """The promotion branches, listed once per run, and their open requests, asked of the
    forge once and only when a promotion branch exists (a repository with none opens no
    forge client)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._found: dict[str, ChangeRequest] | None = None
        self._branches: dict[str, str] | None = None

    def branches(self, prefix: str) -> dict[str, str]:
        """The promotion branches under `prefix`, with their tips."""
        if self._branches is None:
            self._branches = self.ws.store.branches(BRANCH_PREFIX)
            self.ws.note_branches(BRANCH_PREFIX, self._branches)
        return {b: tip for b, tip in self._branches.items() if b.startswith(prefix)}

    def get(self) -> dict[str, ChangeRequest] | None:
        """By branch; None where the forge has no requests (the branch is the request)."""
        forge = self.ws.forge
        if not forge.has_requests:
            return None
        if self._found is None:
            self._found = forge.open_requests(BRANCH_PREFIX)
        return self._found


def in_flight(
    ws: Workspace,
    checkout: Checkout,
    env: str,
    apps: dict[str, ImageRef],
    waiting: Requests,
    configured: bool,
) -> dict[str, InFlight]:
    """The promotions of `apps` (name → repository) waiting for `env`, by app."""
    found: dict[str, InFlight] = {}
    prefix = f"{BRANCH_PREFIX}{env}/"
    settings = checkout.config.environments.get(env) if checkout.config else None
    template = settings.templates.branch if settings is not None else None
    for branch, tip in sorted(waiting.branches(prefix).items()):
        open_requests = waiting.get()
        request = open_requests.get(branch) if open_requests is not None else None
        if open_requests is not None and request is None:
            continue
        names = [n for n in apps_on_branch(template, env, branch) if n in apps]
        if not names:
            continue
        ws.store.fetch_commit(tip)
        on_branch = ws.check_out_commit(checkout, tip)
        for name in names:
            image = apps[name].with_version(None, None)
            try:
                reference = ws.read_deployed(on_branch, env, image, name if configured else None)
            except NotAVersionError:
                raise
            except PromoterError:
                continue  # a branch the model cannot read is no promotion it can show
            found[name] = InFlight(
                name,
                env,
                branch,
                reference.image,
                request.number if request else None,
                request.url if request else None,
            )
    return found
