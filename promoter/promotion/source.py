"""`promote --to DST [--from SRC]`: the references to promote are what SRC deploys.

The source environment is `--from`, or the target's own `from:` in promoter.yaml. For each
app the two environments share (`--all`), or each `--app`/`--image` named, the reference
SRC runs is read through the environment model (`deployed`), so an inherited image counts
as much as an owned one. The target's `group:` says whether the apps land together (one
request) or one request per app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promoter.errors import InputError, NotAVersionError, PromoterError
from promoter.imageref import ImageRef
from promoter.promotion import policy, steps
from promoter.promotion.workspace import Workspace

Batch = tuple[str | None, tuple[ImageRef, ...]]
"""(app, references): one promotion of the run; app None when several land together."""


def source_env(ws: Workspace, to_env: str, from_env: str | None) -> str:
    """`--from`, else the target environment's `from:`; a clear error when neither."""
    checkout = steps.check_out(ws, to_env, fresh=False)
    settings = checkout.settings(to_env)
    found = from_env or (settings.source if settings else None)
    if found is None:
        raise InputError(
            f"{to_env} names no environment to promote from: pass --from ENV, or set "
            f"environments.{to_env}.from in promoter.yaml",
            field="--from",
        )
    if found == to_env:
        raise InputError(f"--from and --to are both {to_env!r}", field="--from")
    return found


@dataclass(frozen=True, slots=True)
class Pending:
    """An app whose target environment runs something else than its source."""

    app: str
    source: ImageRef
    current: ImageRef | None
    """What the target runs now (None: it sets no version yet, or not readably)."""
    held: str | None = None
    """The hold that keeps the app where it is in the target (its block line): a held app
    is listed, but no job is planned for it."""


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
    src = source_env(ws, to_env, from_env)
    target = steps.check_out(ws, to_env, fresh=False)
    holds = policy.read_holds(target, to_env)
    found: list[Pending] = []
    read = _read(ws, src, to_env, apps, images)
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
    found = _read(ws, src, to_env, apps, images)
    settings = target.settings(to_env)
    if settings is not None and settings.group == "all":
        return [(None, tuple(ref for _, ref in found))]
    return [(app, (ref,)) for app, ref in found]


def _read(
    ws: Workspace, src: str, to_env: str, apps: Sequence[str], images: Sequence[ImageRef]
) -> list[tuple[str | None, ImageRef]]:
    """(app, the reference `src` deploys) of each app the run names (all shared ones)."""
    checkout = steps.check_out(ws, src, fresh=False)
    config = checkout.config
    pairs: list[tuple[str | None, ImageRef]] = []
    if config is None:
        if not images:
            raise InputError(
                "without promoter.yaml, name each app by its image: --image ghcr.io/acme/web",
                field="--image",
            )
        pairs = [(None, image) for image in images]
    else:
        shared = {
            name: app
            for name, app in config.apps.items()
            if src in app.targets and to_env in app.targets
        }
        wanted = list(apps) or [
            name for name, app in shared.items() if not images or _named(app.image, images)
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


def _named(image: ImageRef, images: Sequence[ImageRef]) -> bool:
    return any(image.same_repository(other) for other in images)
