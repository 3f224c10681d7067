"""What one run promotes, unit by unit: the given images to each `--env`, what a `--to`
source environment deploys, or a rollback's (or release's) one held version. Each unit is
built whole here, the build provenance a `--to` unit carries included, and never changed
afterwards."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from promoter import ci
from promoter import config as configuration
from promoter.errors import InputError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import policy, provenance, source, steps
from promoter.promotion.fleet import read_fleet
from promoter.promotion.requests import (
    PromoteFromRequest,
    PromoteRequest,
    ReleaseHoldRequest,
    RollbackRequest,
    WriteRequest,
)
from promoter.promotion.unit import Unit
from promoter.promotion.workspace import Workspace


def build_units(
    request: WriteRequest, images: list[ImageRef], ws: Workspace, build: ci.Source
) -> list[Unit]:
    """What the run promotes: the given images to each `--env`, or (`--to`) what the
    source environment deploys, per app or all in one, as the target environment says.
    `build` is the source build the command line and the CI name."""
    if isinstance(request, PromoteRequest):
        downgrade = request.allow_downgrade
        return [Unit(env, request.app, tuple(images), build, downgrade) for env in request.envs]
    if isinstance(request, PromoteFromRequest):
        return from_units(request, images, ws, build)
    return [_hold_unit(request, images, ws, build)]


def from_units(
    request: PromoteFromRequest,
    images: list[ImageRef],
    ws: Workspace,
    build: ci.Source,
    *,
    traced: bool = True,
) -> list[Unit]:
    """The `--to` units; `traced`: each with the source build's provenance, which only
    the commit and the request show (`promote plan` leaves it)."""
    origin = source.source_env(ws, request.to_env, request.from_env)
    found = source.resolve(ws, request.to_env, request.from_env, request.apps, images)
    units = [
        Unit(request.to_env, app, refs, build, request.allow_downgrade, promoting_from=origin)
        for app, refs in found
    ]
    return [_traced(ws, unit) for unit in units] if traced else units


def _traced(ws: Workspace, unit: Unit) -> Unit:
    """A `--to` unit of one app carries the source environment's build provenance into
    its commit and request, and the source range between the build running and this one."""
    if unit.promoting_from is None or len(unit.images) != 1:
        return unit
    image = unit.images[0]
    try:
        (found,) = provenance.trace(ws, unit.promoting_from, image, unit.app, depth=1)
        (running,) = provenance.trace(ws, unit.env, image, unit.app, depth=1)
    except PromoterError:
        return unit
    built = ci.Source(found.source_repository, found.source_commit, found.pipeline_url)
    compare = dataclasses.replace(found, replaced_source_commit=running.source_commit)
    return dataclasses.replace(
        unit,
        source=built if built.commit else unit.source,
        compare_url=provenance.compare_url(compare),
    )


def _hold_unit(
    request: RollbackRequest | ReleaseHoldRequest,
    images: list[ImageRef],
    ws: Workspace,
    build: ci.Source,
) -> Unit:
    """A rollback restores the previous (or named) version the environment's history holds
    and records a hold; a release re-promotes what runs and removes the hold."""
    env, app = request.env, request.app
    checkout = steps.check_out(ws, env, fresh=False)
    fleet = read_fleet(ws, checkout)
    repository = fleet.app(app) if app is not None else images[0]
    name = app or fleet.name_of(repository)
    if not fleet.configured:
        app = None  # without promoter.yaml the environment model reads the app by its image
    history = list(policy.versions(ws, env, repository.with_version(None, None), app))
    current = history[0].image
    if current is None:
        raise InputError(f"{env} sets no version of {name} to roll back", field="--env")
    if isinstance(request, ReleaseHoldRequest):
        return Unit(env, app, (current,), build, release=True)
    earlier = [v.image for v in history[1:] if v.image is not None]
    target = _rollback_target(request, name, current, earlier)
    moment = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    hold = configuration.Hold(env, name, target.version, f"rollback from {current.version}", moment)
    return Unit(env, app, (target,), build, allow_downgrade=True, hold=hold)


def _rollback_target(
    request: RollbackRequest, name: str, current: ImageRef, earlier: list[ImageRef]
) -> ImageRef:
    """The version `--rollback` restores: `--to`'s, else the last one before `current`."""
    env = request.env
    if request.to is not None:
        wanted = _version_of(request.to)
        match = [f for f in earlier if wanted in (f.tag, f.digest)]
        if not match:
            seen = ", ".join(dict.fromkeys(f.version for f in earlier)) or "none"
            raise InputError(
                f"{name} {wanted} did not run in {env} within its last {policy.HISTORY} "
                f"commits; versions found: {seen}",
                field="--to",
            )
        return match[0]
    older = [f for f in earlier if (f.tag, f.digest) != (current.tag, current.digest)]
    if not older:
        raise InputError(
            f"no earlier version of {name} in {env}'s last {policy.HISTORY} commits",
            field="--rollback",
        )
    return older[0]


def _version_of(text: str) -> str:
    """The tag or digest a `--rollback --to` names: `1.4.1`, `sha256:…`, or a whole
    reference (`ghcr.io/acme/web:1.4.1`, `…@sha256:…`)."""
    if "@" in text:
        return text.split("@", 1)[1]
    if text.startswith("sha256:") or ("/" not in text and ":" not in text):
        return text
    return text.rsplit(":", 1)[-1]
