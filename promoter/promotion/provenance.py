"""`promote why`: the chain that put an environment's running version there.

From the environment's base branch back to the commit that set the version (the oldest of
the newest commits that run it), then, through promoter's trailers, to the build: the
config commit, its pull/merge request (a merge commit's subject, or a squash's `(#N)`),
the source commit and pipeline. A version promoted from another environment
(`Promoted-from:`) links on to that environment's chain, and the source compare range
between the version replaced and the one running is given as a GitHub or GitLab URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from promoter import forges
from promoter.errors import InputError
from promoter.guards import parse_trailers
from promoter.imageref import ImageRef
from promoter.promotion import policy
from promoter.promotion.message import FROM_TRAILER, SOURCE_TRAILER, TRAILER
from promoter.promotion.workspace import Workspace

_PULL = (
    re.compile(r"^Merge pull request #(\d+)"),
    re.compile(r"See merge request \S*!(\d+)"),
    re.compile(r"\(#(\d+)\)\s*$", re.MULTILINE),
)


@dataclass(frozen=True, slots=True)
class Link:
    """One environment's step of the chain."""

    env: str
    version: str
    config_commit: str
    committed: float
    subject: str
    by_promoter: bool
    request: str | None = None
    source_repository: str | None = None
    source_commit: str | None = None
    pipeline_url: str | None = None
    promoted_from: str | None = None
    replaced: str | None = None
    """The version this commit replaced in the environment."""
    replaced_source_commit: str | None = None


def trace(ws: Workspace, env: str, image: ImageRef, app: str | None, depth: int = 3) -> list[Link]:
    """The chain for `image`'s repository in `env`, following `Promoted-from:` up to
    `depth` environments."""
    links: list[Link] = []
    current_env: str | None = env
    while current_env is not None and len(links) < depth:
        link = _link(ws, current_env, image.with_version(None, None), app)
        links.append(link)
        current_env = link.promoted_from
    return links


def compare_url(link: Link) -> str | None:
    """The source range between the replaced version's build and the running one's."""
    repo, old, new = link.source_repository, link.replaced_source_commit, link.source_commit
    if not repo or not old or not new or old == new:
        return None
    return forges.compare_url(repo, old, new)


def _link(ws: Workspace, env: str, repository: ImageRef, app: str | None) -> Link:
    walk = list(policy.versions(ws, env, repository, app))
    current = walk[0].image
    if current is None:
        raise InputError(f"{env} sets no version of {repository.name}", field="--env")
    setter, at = _run_end(walk, 0)
    replaced = walk[at].image if at < len(walk) else None
    replaced_at = _run_end(walk, at)[0].commit if at < len(walk) else None
    trailers, subject, request = _read(ws, setter.commit)
    older = _read(ws, replaced_at)[0] if replaced_at is not None else {}
    return Link(
        env=env,
        version=current.version,
        config_commit=setter.commit,
        committed=setter.time,
        subject=subject,
        by_promoter=_by_promoter(trailers.items()),
        request=request,
        source_repository=trailers.get("Source-repository"),
        source_commit=trailers.get(SOURCE_TRAILER),
        pipeline_url=trailers.get("Pipeline-url"),
        promoted_from=trailers.get(FROM_TRAILER),
        replaced=replaced.version if replaced is not None else None,
        replaced_source_commit=older.get(SOURCE_TRAILER),
    )


def _run_end(walk: list[policy.Version], start: int) -> tuple[policy.Version, int]:
    """The oldest commit from `start` on that runs the same version as `walk[start]` (the
    commit that set it), and the index of the first commit that runs another one."""
    first = walk[start].image
    key = (first.tag, first.digest) if first is not None else None
    index = start
    while index + 1 < len(walk):
        found = walk[index + 1].image
        if ((found.tag, found.digest) if found is not None else None) != key:
            break
        index += 1
    return walk[index], index + 1


def _read(ws: Workspace, commit: str | None) -> tuple[dict[str, str], str, str | None]:
    """(trailers, subject, request number) of a config commit; a merge commit's trailers
    are those of the promoter commit it merged."""
    if commit is None:
        return {}, "", None
    info = ws.store.commit_info(commit)
    parents, message = info.parents, info.message
    subject = message.split("\n", 1)[0]
    request = next((m.group(1) for p in _PULL if (m := p.search(message))), None)
    found = parse_trailers(message)
    if not _by_promoter(found) and len(parents) > 1:
        ws.store.fetch_commit(parents[1])
        found = parse_trailers(ws.store.commit_info(parents[1]).message)
    trailers: dict[str, str] = {}
    for key, value in found:
        trailers.setdefault(key, value)
    return trailers, subject, request


def _by_promoter(trailers: Iterable[tuple[str, str]]) -> bool:
    """Whether promoter's own trailer is among a message's final trailers (only there:
    a line quoted in a body is no trailer)."""
    key, _, value = TRAILER.partition(": ")
    return any(k.lower() == key.lower() and v == value for k, v in trailers)
