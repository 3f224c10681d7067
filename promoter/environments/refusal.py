"""The refusal an environment gets when promoter cannot tell where it sets the image.

A false success is the worst bug promoter can have, so an environment with no place of
its own says which it is (unknown, ambiguous, a Component, or one that only inherits the
image), where the image is set, and what to write in promoter.yaml to choose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from promoter.discovery import did_you_mean
from promoter.environments import naming
from promoter.environments.view import Setting


def refusal(
    env: str,
    image: str,
    known: Sequence[str],
    named: list[str],
    entries: list[str],
    examined: list[str],
    where: Callable[[], list[Setting]],
    components: list[str],
    clues: Callable[[], list[str]] = list,
) -> str:
    """Why `env` has no place of its own for `image`, and what to configure instead.

    `where` lists the settings of the image (called only when the message needs them: a
    survey may read thousands of files)."""
    if not named and not entries:
        others = [e for e in known if e != env]
        qualified = naming.qualified(env, others)
        if qualified:
            return (
                f"environment {env!r} is ambiguous: the repository has "
                f"{', '.join(qualified)}; name one of them"
            )
        return (
            f"no files for environment {env!r}; environments found: "
            f"{', '.join(others) or 'none'}{did_you_mean(env, others, cutoff=0.5)}"
        )
    found = where()
    if not found:
        seen = clues()
        if seen:
            return (
                f"environment {env!r}: no file of the repository references {image} as an "
                f"image reference (looked at {summary(examined or named)}); " + "; ".join(seen)
            )
        return (
            f"environment {env!r}: no file of the repository references {image} "
            f"(looked at {summary(examined or named)}); if the environment deploys it from "
            "elsewhere (a remote chart's defaults), add a target with create: true to "
            f"promoter.yaml (apps.<app>.targets.{env})"
        )
    set_in = "; it is set in " + ", ".join(s.describe() for s in found[:4])
    looked = summary(examined or named)
    if not entries and components:
        return (
            f"{env!r} is not an environment: {', '.join(components[:3])} is a kustomize "
            f"Component that other environments include{set_in}"
        )
    return (
        f"environment {env!r} has no place of its own that sets or can override "
        f"{image} (looked at {looked}){set_in}; to choose, add a target to promoter.yaml "
        f"(apps.<app>.targets.{env}: [{{kind, path, key, create: true}}])"
    )


def summary(paths: Sequence[str], limit: int = 5) -> str:
    shown = list(paths[:limit])
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(shown) + more if shown else "no files"
