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
from promoter import sinks
from promoter.environments import RepoFiles
from promoter.errors import ImageRefError, NotAVersionError, TargetNotFoundError
from promoter.filetree import FileTree
from promoter.imageref import ImageRef, find_image_ref, is_valid_tag, parse_digest, parse_image_ref
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
    root: Path | FileTree,
    config: configuration.Config | None,
    env: str,
    image: ImageRef,
    app: str | None,
    *,
    repo_files: RepoFiles | None = None,
) -> Deployed:
    """The reference of `image`'s repository that `env` deploys (tag and/or digest).

    Every value read is checked to be a tag, a digest or an image reference by the OCI
    grammar before it is believed: it is about to become another environment's version,
    a commit subject, a PR row and a CI job, so anything else (a newline, a template, a
    shell word) is refused naming the file and line it came from."""
    plan = plan_environment(
        root, config, env, [probe(image)], app, allow_downgrade=True, repo_files=repo_files,
        prove=False, splice=False,  # a read: the probe's bytes are never written
    )  # fmt: skip
    values = [
        Value(c.old, c.new, f"{c.file}:{c.line}" if c.file else None, c.pointer)
        for c in plan.changes
        if c.old is not None
    ]
    found = reference(image, values)
    if found is None and plan.inherited:
        found = inherited(image, plan.inherited, env)
    name = app or image.app_name
    if found is None:
        raise TargetNotFoundError(
            f"environment {env!r}: no version of {image.name} set for app {name}"
        )
    files = tuple(dict.fromkeys(v.where.rsplit(":", 1)[0] for v in values if v.where))
    return Deployed(name, env, found, files)


@dataclass(frozen=True, slots=True)
class Value:
    """A value the plan would replace with the probe `new`, and where it was read."""

    old: str
    new: str
    where: str | None = None
    pointer: str = ""


def reference(image: ImageRef, values: Iterable[Value]) -> ImageRef | None:
    """The one reference that the values describe; None when there are none, a
    `TargetNotFoundError` when they disagree, an `InputError` when one is no version."""
    tags: dict[str, None] = {}
    digests: dict[str, None] = {}
    for value in values:
        text = value.old.strip()
        if value.new == PROBE_TAG or (value.new != PROBE_DIGEST and _is_tag(text)):
            tags[_checked_tag(text, value)] = None
        elif value.new == PROBE_DIGEST or text.startswith("sha256:"):
            digests[_checked_digest(text, value)] = None
        else:
            ref = find_image_ref(text) or _parse(text)
            if ref is None:
                raise _not_a_version(text, value, "an image reference")
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


def inherited(image: ImageRef, values: Iterable[str], env: str = "") -> ImageRef | None:
    """What an environment that inherits the image runs: the values an override would
    override. A bare tag or digest there is an override mechanism's own (a base's
    Kustomize `images:` entry, a chart value) and wins over the whole references in the
    manifests it rewrites, as `kustomize build` and Helm apply them."""
    where = f"environment {env!r}" if env else None
    values = list(values)
    bare = [v for v in values if _is_tag(v.strip()) or v.strip().startswith("sha256:")]
    whole = [v for v in values if v not in bare]
    from_bare = reference(image, (Value(v, "", where) for v in bare))
    from_whole = reference(image, (Value(v, "", where) for v in whole))
    return from_whole if from_bare is None else from_bare


def _checked_tag(text: str, value: Value) -> str:
    if is_valid_tag(text):
        return text
    if ":" in text or "@" in text:  # the whole reference in a field the plan tags
        ref = _parse(text)
        if ref is not None and ref.tag:
            return ref.tag
    raise _not_a_version(text, value, "a tag")


def _checked_digest(text: str, value: Value) -> str:
    try:
        return parse_digest(text)
    except ImageRefError:
        ref = _parse(text)
        if ref is not None and ref.digest:
            return ref.digest
        raise _not_a_version(text, value, "a digest") from None


def _not_a_version(text: str, value: Value, what: str) -> NotAVersionError:
    where = f"{value.where}: " if value.where else ""
    pointer = f"{value.pointer}: " if value.pointer else ""
    return NotAVersionError(
        f"{where}{pointer}{sinks.excerpt(text)} is not {what} (the OCI grammar); "
        "promoter reads no version from it",
        field=value.pointer or None,
    )


def _is_tag(text: str) -> bool:
    return bool(text) and ":" not in text and "/" not in text and "@" not in text


def _parse(text: str) -> ImageRef | None:
    try:
        return parse_image_ref(text)
    except ImageRefError:
        return None
