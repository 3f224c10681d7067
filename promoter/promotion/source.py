"""`promote --to DST [--from SRC]`: the references to promote are what SRC deploys.

The source environment is `--from`, or the target's own `from:` in promoter.yaml. For each
app the two environments share (`--all`), or each `--app`/`--image` named, the reference
SRC runs is read through the environment model (`deployed`), so an inherited image counts
as much as an owned one. The target's `group:` says whether the apps land together (one
request) or one request per app.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.errors import InputError, TargetNotFoundError
from promoter.imageref import ImageRef
from promoter.promotion import steps
from promoter.promotion.fleet import read_fleet
from promoter.promotion.workspace import Checkout, Workspace

Batch = tuple[str | None, tuple[ImageRef, ...]]
"""(app, references): one promotion of the run; app None when several land together."""


def source_env(ws: Workspace, to_env: str, from_env: str | None) -> str:
    """`--from`, else the target environment's `from:`; a clear error when neither."""
    checkout = steps.check_out(ws, to_env, fresh=False)
    return read_fleet(ws, checkout).source(to_env, from_env)


def resolve(
    ws: Workspace,
    to_env: str,
    from_env: str | None,
    apps: Sequence[str],
    images: Sequence[ImageRef],
) -> list[Batch]:
    """The batches `promote --to` lands: what the source deploys, per app or together."""
    src = source_env(ws, to_env, from_env)
    target = steps.check_out(ws, to_env, fresh=False)
    found = read_sources(ws, src, to_env, apps, images)
    settings = target.settings(to_env)
    if settings is not None and settings.group == "all":
        return [(None, tuple(ref for _, ref in found))]
    return [(app, (ref,)) for app, ref in found]


def read_sources(
    ws: Workspace, src: str, to_env: str, apps: Sequence[str], images: Sequence[ImageRef]
) -> list[tuple[str | None, ImageRef]]:
    """(app, the reference `src` deploys) of each app the run names (all shared ones)."""
    checkout = steps.check_out(ws, src, fresh=False)
    config = checkout.config
    pairs: list[tuple[str | None, ImageRef]] = []
    if config is None:
        pairs = _zero_config(ws, checkout, src, to_env, apps, images)
    else:
        shared = {
            name: app
            for name, app in config.apps.items()
            if app.runs_in(src) is not False and app.runs_in(to_env) is not False
        }
        target = steps.check_out(ws, to_env, fresh=False)
        wanted = list(apps) or [
            name
            for name, app in shared.items()
            if (not images or _named(app.image, images))
            and (
                not app.discovered
                or (
                    _deploys(ws, checkout, src, app.image, name)
                    and _deploys(ws, target, to_env, app.image, name)
                )
            )
        ]
        for name in wanted:
            if name not in shared:
                known = ", ".join(sorted(shared)) or "none"
                raise InputError(
                    f"app {name!r} is not deployed to both {src} and {to_env} by "
                    f"promoter.yaml; apps there: {known}",
                    field="--app",
                )
            pairs.append((name, shared[name].image))
        if not pairs:
            raise InputError(f"no app has targets in both {src} and {to_env}", field="--all")
    ws.prefetch(checkout, src, [(image, app) for app, image in pairs])
    return [
        (app, ws.read_deployed(checkout, src, image.with_version(None, None), app).image)
        for app, image in pairs
    ]


def _zero_config(
    ws: Workspace,
    checkout: Checkout,
    src: str,
    to_env: str,
    apps: Sequence[str],
    images: Sequence[ImageRef],
) -> list[tuple[str | None, ImageRef]]:
    """Without promoter.yaml: the apps named (by image or by the repository's app name),
    or (`--all`) every app both environments deploy, as the environment model reads them.
    An app the target does not deploy is left out; one it cannot decide refuses."""
    fleet = read_fleet(ws, checkout)
    if images or apps:
        named: list[tuple[str | None, ImageRef]] = [(None, image) for image in images]
        return named + [(None, fleet.app(a)) for a in apps]
    target = steps.check_out(ws, to_env, fresh=False)
    found: list[tuple[str | None, ImageRef]] = [
        (None, image)
        for image in fleet.apps.values()
        if _deploys(ws, checkout, src, image, None) and _deploys(ws, target, to_env, image, None)
    ]
    if not found:
        raise InputError(f"no app runs in both {src} and {to_env}", field="--all")
    return found


def _deploys(ws: Workspace, checkout: Checkout, env: str, image: ImageRef, app: str | None) -> bool:
    """Whether the environment model finds `image` in `env` (a refusal is no answer: it
    is raised)."""
    try:
        ws.read_deployed(checkout, env, image, app)
    except TargetNotFoundError:
        return False
    return True


def _named(image: ImageRef, images: Sequence[ImageRef]) -> bool:
    return any(image.same_repository(other) for other in images)
