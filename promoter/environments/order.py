"""The order environments promote in, from their names, where promoter.yaml gives none.

`promote --to production` promotes what production's source environment runs; without a
`from:` that source comes from the common names' stages: dev → test/qa → staging/stage/uat
→ prod/production. Each environment's source is the one environment of the nearest
earlier stage; an environment whose name is not a known stage, or a stage that two
environments share (`prod-eu`, `prod-us` are no known name; `stage` and `staging` in one
repository are), has no inferred source, and a run that needs one refuses and says to
configure `from:`. Knows nothing of files.
"""

from __future__ import annotations

from collections.abc import Iterable

STAGES: tuple[frozenset[str], ...] = (
    frozenset({"dev", "develop", "development", "sandbox"}),
    frozenset({"test", "testing", "qa", "integration"}),
    frozenset({"staging", "stage", "uat", "preprod", "pre-prod"}),
    frozenset({"prod", "production"}),
)
"""Common environment names by stage, earliest first."""


def stage(env: str) -> int | None:
    """The stage of a known name (0 for dev …), None for any other name."""
    lowered = env.lower()
    return next((i for i, names in enumerate(STAGES) if lowered in names), None)


def infer_sources(envs: Iterable[str]) -> dict[str, str | None]:
    """Each environment's source environment by the stages of the names (None: no source
    can be inferred, or it is the first stage)."""
    names = sorted(set(envs))
    by_stage: dict[int, list[str]] = {}
    for env in names:
        found = stage(env)
        if found is not None:
            by_stage.setdefault(found, []).append(env)
    sources: dict[str, str | None] = dict.fromkeys(names)
    for env in names:
        found = stage(env)
        if found is None or len(by_stage[found]) > 1:
            continue
        earlier = [s for s in by_stage if s < found]
        if earlier and len(by_stage[max(earlier)]) == 1:
            sources[env] = by_stage[max(earlier)][0]
    return sources


def ordered(envs: Iterable[str], sources: dict[str, str | None]) -> list[str]:
    """`envs` in promotion order: by how many sources lie before them, then known stages
    by stage, then the rest by name."""
    names = sorted(set(envs))

    def key(env: str) -> tuple[int, int, str]:
        depth, seen, current = 0, {env}, sources.get(env)
        while current is not None and current not in seen:
            depth, current = depth + 1, sources.get(current)
            seen.add(current or "")
        found = stage(env)
        return (depth, found if found is not None else len(STAGES), env)

    return sorted(names, key=key)
