"""How a promotion names itself: the commit message with its trailers, and the branch.

The subject reads like the PR title (`Promote web to staging: 1.4.1 → 1.4.2`); the trailers
(`Promoted-by: promoter`, source repository, commit, pipeline) are what the loop guards and
humans use to trace a config change back to the build that caused it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from promoter import sinks
from promoter.ci import Source
from promoter.config import BRANCH_PREFIX
from promoter.forges import MARKER
from promoter.imageref import ImageRef
from promoter.promotion.result import EnvironmentResult, shown

TRAILER = "Promoted-by: promoter"
FORCED = "Promoter-guards: bypassed (--force)"
OVERRIDE_TRAILER = "Promoter-policy-override"
"""One per policy `--force` overrode: `Promoter-policy-override: soak: ...`."""
ENV_TRAILER = "Promoted-env"
FROM_TRAILER = "Promoted-from"
"""`promote --to`: the environment whose version this is (`promote why` follows it)."""
SOURCE_TRAILER = "Source-commit"
SKIP_CI = "[skip ci]"
_MAX_BRANCH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def branch_name(env: str, apps: Sequence[str]) -> str:
    """`promote/<env>/<app>` (`BRANCH_PREFIX`, every promotion branch's); a multi-app run
    joins the sorted names with `+`."""
    return f"{BRANCH_PREFIX}{_UNSAFE.sub('-', env)}/{apps_segment(env, apps)}"


def branch_apps(apps: Sequence[str]) -> list[str]:
    """The apps as a branch names them: sorted, once each, in branch-safe characters."""
    return [_UNSAFE.sub("-", a).strip(".-") or "app" for a in sorted(set(apps))]


def apps_segment(env: str, apps: Sequence[str]) -> str:
    """The apps' part of `branch_name` (a template's `{apps}`): the names joined with `+`,
    or, when the branch would pass 120 characters, their count and a digest of them."""
    names = branch_apps(apps)
    joined = "+".join(names)
    if len(f"{BRANCH_PREFIX}{_UNSAFE.sub('-', env)}/{joined}") > _MAX_BRANCH:
        digest = hashlib.sha256(joined.encode()).hexdigest()[:12]
        return f"{len(names)}-apps-{digest}"
    return joined


def title(env: str, result: EnvironmentResult) -> str:
    """The commit subject and PR title: always one line, whatever the values hold."""
    return sinks.trailer_value(_title(env, result))


def _title(env: str, result: EnvironmentResult) -> str:
    if result.title:
        return result.title
    summary = result.summary()
    images = {c.image for c in result.changes}
    if len(images) == 1:
        app, _, versions = summary.partition(" ")
        return f"Promote {app} to {env}: {versions}"
    return f"Promote to {env}: {summary}"


def commit_message(
    env: str,
    result: EnvironmentResult,
    images: Sequence[ImageRef],
    source: Source,
    *,
    skip_ci: bool = False,
    forced: bool = False,
    promoted_from: str | None = None,
    subject: str | None = None,
) -> str:
    """`subject` (a template's, one line already), else the title; then the changes and
    promoter's trailers, which the loop guards read."""
    subject = (subject or title(env, result)) + (f" {SKIP_CI}" if skip_ci else "")
    lines = [
        sinks.one_line(f"{c.file}:{c.line} {c.pointer}: {shown(c.old)} → {shown(c.new)}")
        for c in result.changes
        if c.old != c.new
    ]
    pairs = [_pair(TRAILER), (ENV_TRAILER, env), *([_pair(FORCED)] if forced else [])]
    pairs += [(OVERRIDE_TRAILER, line) for line in result.overrides]
    if promoted_from:
        pairs.append((FROM_TRAILER, promoted_from))
    pairs += [("Promoted-image", str(image)) for image in images]
    if source.repository:
        pairs.append(("Source-repository", source.repository))
    if source.commit:
        pairs.append((SOURCE_TRAILER, source.commit))
    if source.pipeline_url:
        pairs.append(("Pipeline-url", source.pipeline_url))
    trailers = [f"{key}: {sinks.trailer_value(value)}" for key, value in pairs]
    return "\n\n".join([subject, "\n".join(lines), "\n".join(trailers)]) + "\n"


def _pair(trailer: str) -> tuple[str, str]:
    key, _, value = trailer.partition(": ")
    return key, value


def pull_request_body(
    env: str,
    result: EnvironmentResult,
    images: Sequence[ImageRef],
    source: Source,
    *,
    promoted_from: str | None = None,
    compare_url: str | None = None,
) -> str:
    """A table of what changes, where the build came from, and promoter's hidden marker."""
    md = sinks.markdown_text
    code = sinks.markdown_code
    rows = [
        f"| {md(c.image.rsplit('/', 1)[-1])} | {md(env)} | {code(c.file)}:{c.line} | "
        f"{_cell(c.old)} → {_cell(c.new)} |"
        for c in result.changes
        if c.old != c.new
    ]
    lines = [
        f"Promotes {', '.join(code(str(image)) for image in images)} to **{md(env)}**.",
        "",
        "| app | environment | file | change |",
        "|---|---|---|---|",
        *rows,
    ]
    origin = _origin(source)
    if origin:
        lines += ["", "Built from " + ", ".join(origin) + "."]
    if promoted_from:
        line = f"What **{md(promoted_from)}** runs now."
        if compare_url and sinks.is_web_url(compare_url):
            label = compare_url.rsplit("/", 1)[-1]
            line += f" Source changes: {sinks.markdown_link(label, compare_url)}."
        lines += ["", line]
    if result.overrides:
        lines += ["", "**Policies overridden with `--force`:**", ""]
        lines += [f"- {md(line)}" for line in result.overrides]
    lines += [
        "",
        "This pull request is kept up to date by promoter: a newer build updates it in place.",
        MARKER,
    ]
    return "\n".join(lines) + "\n"


def _origin(source: Source) -> list[str]:
    """The build's commit and CI run, as links where they are web URLs."""
    origin = []
    if source.commit:
        short = sinks.markdown_code(source.commit[:12])
        link = f"{source.repository}/commit/{source.commit}" if source.repository else None
        origin.append(
            f"source commit {sinks.markdown_link(source.commit[:12], link)}"
            if link and sinks.is_web_url(link)
            else f"source commit {short}"
        )
    if source.pipeline_url and sinks.is_web_url(source.pipeline_url):
        origin.append(sinks.markdown_link("CI run", source.pipeline_url))
    return origin


def _cell(value: str | None) -> str:
    return shown(value) if not value else sinks.markdown_code(value)
