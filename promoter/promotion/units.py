"""What one run promotes, unit by unit: the given images to each `--env`, what a `--to`
source environment deploys, or a rollback's (or release's) one held version; and pointing
the workspace at one unit, with the build provenance a `--to` unit carries."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone

from promoter import ci
from promoter import config as configuration
from promoter.errors import InputError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import policy, provenance, source, steps
from promoter.promotion.command import PromoteCommand
from promoter.promotion.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Unit:
    """One promotion the run makes: an environment, the app(s) and their references."""

    env: str
    app: str | None
    images: tuple[ImageRef, ...]


def build_units(command: PromoteCommand, images: list[ImageRef], ws: Workspace) -> list[Unit]:
    """What the run promotes: the given images to each `--env`, or (`--to`) what the
    source environment deploys, per app or all in one, as the target environment says."""
    if command.rollback or command.release_hold:
        return [_hold_unit(command, images, ws)]
    if command.to_env is None:
        return [Unit(env, command.app, tuple(images)) for env in command.envs]
    found = source.resolve(ws, command.to_env, command.from_env, command.apps, images)
    return [Unit(command.to_env, app, refs) for app, refs in found]


def _hold_unit(command: PromoteCommand, images: list[ImageRef], ws: Workspace) -> Unit:
    """A rollback restores the previous (or named) version the environment's history holds
    and records a hold; a release re-promotes what runs and removes the hold."""
    env, app = command.envs[0], command.app
    checkout = steps.check_out(ws, env, fresh=False)
    if checkout.config is not None and app is not None:
        found = checkout.config.apps.get(app)
        if found is None:
            known = ", ".join(sorted(checkout.config.apps)) or "none"
            raise InputError(f"no app {app!r} in promoter.yaml; apps: {known}", field="--app")
        repository = found.image
    else:
        repository = images[0]
    name = app or repository.app_name
    history = list(policy.versions(ws, env, repository.with_version(None, None), app))
    current = history[0][2]
    if current is None:
        raise InputError(f"{env} sets no version of {name} to roll back", field="--env")
    if command.release_hold:
        ws.options = dataclasses.replace(ws.options, release=True)
        return Unit(env, app, (current,))
    earlier = [found for _, _, found in history[1:] if found is not None]
    if command.rollback_to is not None:
        wanted = _version_of(command.rollback_to)
        match = [f for f in earlier if wanted in (f.tag, f.digest)]
        if not match:
            seen = ", ".join(dict.fromkeys(f.version for f in earlier)) or "none"
            raise InputError(
                f"{name} {wanted} did not run in {env} within its last {policy.HISTORY} "
                f"commits; versions found: {seen}",
                field="--to",
            )
        target = match[0]
    else:
        older = [f for f in earlier if (f.tag, f.digest) != (current.tag, current.digest)]
        if not older:
            raise InputError(
                f"no earlier version of {name} in {env}'s last {policy.HISTORY} commits",
                field="--rollback",
            )
        target = older[0]
    moment = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    hold = configuration.Hold(env, name, target.version, f"rollback from {current.version}", moment)
    ws.options = dataclasses.replace(ws.options, hold=hold, allow_downgrade=True)
    return Unit(env, app, (target,))


def _version_of(text: str) -> str:
    """The tag or digest a `--rollback --to` names: `1.4.1`, `sha256:…`, or a whole
    reference (`ghcr.io/acme/web:1.4.1`, `…@sha256:…`)."""
    if "@" in text:
        return text.split("@", 1)[1]
    if text.startswith("sha256:") or ("/" not in text and ":" not in text):
        return text
    return text.rsplit(":", 1)[-1]


def select_unit(ws: Workspace, unit: Unit, origin: str | None = None) -> None:
    """Point the workspace's options at one unit (its images and app); a `--to` unit of
    one app carries the source environment's build provenance into its commit and PR."""
    ws.options = dataclasses.replace(
        ws.options, images=unit.images, app=unit.app, promoting_from=origin
    )
    if origin is None or len(unit.images) != 1:
        return
    image = unit.images[0]
    try:
        (found,) = provenance.trace(ws, origin, image, unit.app, depth=1)
        (running,) = provenance.trace(ws, unit.env, image, unit.app, depth=1)
    except PromoterError:
        return
    built = ci.Source(found.source_repository, found.source_commit, found.pipeline_url)
    compare = dataclasses.replace(found, replaced_source_commit=running.source_commit)
    ws.options = dataclasses.replace(
        ws.options,
        source=built if built.commit else ws.options.source,
        compare_url=provenance.compare_url(compare),
    )
