"""What an environment deploys for an app: the reference its effective setting holds.

Read through the same planning the promotion uses, so an owned setting, a configured
target and an inherited image (a base the overlay does not override) all count: the
environment is planned with a probe version no repository holds, and every value the plan
would replace (or, where it would insert an override, the value it would override) is
what the environment runs now. Two settings that disagree are a refusal, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from promoter import config as configuration
from promoter.environments import RepoFiles
from promoter.errors import ImageRefError, TargetNotFoundError
from promoter.imageref import ImageRef, find_image_ref, parse_image_ref
from promoter.promotion.plan import plan_environment

PROBE_TAG = "0.0.0-promoter-probe"
PROBE_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True, slots=True)
class Deployed:
    """The reference `env` runs for `app`, and the files that say so."""

    app: str
    env: str
    image: ImageRef
    files: tuple[str, ...]


def probe(image: ImageRef) -> ImageRef:
    return image.with_version(PROBE_TAG, PROBE_DIGEST)


def read(
    root: Path,
    config: configuration.Config | None,
    env: str,
    image: ImageRef,
    app: str | None,
    *,
    repo_files: RepoFiles | None = None,
) -> Deployed:
    """The reference of `image`'s repository that `env` deploys (tag and/or digest)."""
    plan = plan_environment(
        root, config, env, [probe(image)], app, allow_downgrade=True, repo_files=repo_files
    )
    values = [(c.file, c.old, c.new) for c in plan.changes if c.old is not None]
    found = reference(image, ((old, new) for _, old, new in values))
    if found is None and plan.inherited:
        found = inherited(image, plan.inherited)
    name = app or image.app_name
    if found is None:
        raise TargetNotFoundError(
            f"environment {env!r}: no version of {image.name} set for app {name}"
        )
    files = tuple(dict.fromkeys(f for f, _, _ in values if f))
    return Deployed(name, env, found, files)


def reference(image: ImageRef, values: Iterable[tuple[str, str]]) -> ImageRef | None:
    """The one reference that (old, probe-new) value pairs describe; None when there are
    none, a `TargetNotFoundError` when they disagree."""
    tags: dict[str, None] = {}
    digests: dict[str, None] = {}
    for old, new in values:
        text = old.strip()
        if new == PROBE_TAG or (new != PROBE_DIGEST and _is_tag(text)):
            tags[text] = None
        elif new == PROBE_DIGEST or text.startswith("sha256:"):
            digests[text] = None
        else:
            ref = find_image_ref(text) or _parse(text)
            if ref is None:
                continue
            if ref.tag:
                tags[ref.tag] = None
            if ref.digest:
                digests[ref.digest] = None
    if len(tags) > 1 or len(digests) > 1:
        seen = ", ".join([*tags, *digests])
        raise TargetNotFoundError(
            f"{image.name} is set to different versions ({seen}); align them, or name the "
            "target that decides in promoter.yaml"
        )
    if not tags and not digests:
        return None
    return image.with_version(next(iter(tags), None), next(iter(digests), None))


def inherited(image: ImageRef, values: Iterable[str]) -> ImageRef | None:
    """What an environment that inherits the image runs: the values an override would
    override. A bare tag or digest there is an override mechanism's own (a base's
    Kustomize `images:` entry, a chart value) and wins over the whole references in the
    manifests it rewrites, as `kustomize build` and Helm apply them."""
    values = list(values)
    bare = [v for v in values if _is_tag(v.strip()) or v.strip().startswith("sha256:")]
    whole = [v for v in values if v not in bare]
    from_bare = reference(image, ((v, "") for v in bare))
    from_whole = reference(image, ((v, "") for v in whole))
    return from_whole if from_bare is None else from_bare


def _is_tag(text: str) -> bool:
    return bool(text) and ":" not in text and "/" not in text and "@" not in text


def _parse(text: str) -> ImageRef | None:
    try:
        return parse_image_ref(text)
    except ImageRefError:
        return None
