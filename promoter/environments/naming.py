"""Which paths name an environment: whole path segments and whole stem parts, nothing looser.

A wrong-environment edit is the worst failure promoter can have, so a name matches only
as a whole: a directory segment equal to it (`overlays/prod/`), or a file stem that is the
name once a `values` or app-name word is taken off (`values-prod.yaml`, `prod-values.yaml`,
`values.prod.yaml`, `web-prod.yaml`, `prod.yaml`). A hyphenated qualifier is part of the
name it qualifies: `pre-prod`, `non-prod`, `prod-eu` and `smoke-test-staging` are not
`prod`/`staging`. A path that two environments' names both claim is ambiguous and never
assigned to either. Knows nothing of YAML, git or forges.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from promoter.editing.helm_layers import is_vendored
from promoter.editing.templates import CHART_FILE
from promoter.filetree import path_parts
from promoter.yamlfile import KUSTOMIZATION_NAMES as KUSTOMIZATIONS
from promoter.yamlfile import YAML_SUFFIXES, stem

ENV_CONTAINERS = frozenset({"overlays", "envs", "env", "environments", "clusters", "stages"})
"""Directories whose children are environments (`overlays/<env>/`)."""
KNOWN_ENVIRONMENTS = frozenset({
    "dev", "develop", "development", "test", "testing", "qa", "uat", "integration", "stage",
    "staging", "preprod", "pre-prod", "prod", "production", "sandbox", "preview",
})  # fmt: skip
"""Names recognised as environments wherever they appear as a directory or file name."""
NOT_ENVIRONMENTS = frozenset({
    "base", "bases", "common", "shared", "default", "defaults", "components", "templates",
    "values", "kustomization", "flux-system", "apps", "infrastructure", "infra", "manifests",
    "charts", "crds", "schema", "secrets", "patches", "resources",
    *ENV_CONTAINERS,
})  # fmt: skip
_STRONG = re.compile(r"[._]")


def stem_names(name: str, env: str, app: str | None = None) -> bool:
    """The file name `name` names `env`: as the whole stem, once a word is taken off."""
    text = stem(name)
    if text == env:
        return True
    if env in _STRONG.split(text):
        return True
    words = ["values", *([app] if app else [])]
    for word in words:
        for separator in "-._":
            if text in (f"{word}{separator}{env}", f"{env}{separator}{word}"):
                return True
    return False


@functools.lru_cache(maxsize=65536)
def names(path: str, env: str, app: str | None = None) -> bool:
    """A directory segment of `path` is `env`, or its file name names `env` (see module)."""
    parts = path_parts(path)
    return env in parts[:-1] or stem_names(parts[-1] if parts else "", env, app)


def claims(path: str, known: Iterable[str], app: str | None = None) -> set[str]:
    """The known environments that `path` names."""
    return {env for env in known if names(path, env, app)}


def is_ambiguous(path: str, env: str, known: Iterable[str], app: str | None = None) -> bool:
    """`path` names `env` and another known environment too (`staging/values-prod.yaml`)."""
    return _ambiguous(path, env, tuple(known), app)


@functools.lru_cache(maxsize=65536)
def _ambiguous(path: str, env: str, known: tuple[str, ...], app: str | None) -> bool:
    """Asked for every path of every discovery: the answer is the same each time."""
    return bool(claims(path, known, app) - {env})


def deployment_paths(paths: Iterable[str]) -> list[str]:
    """The YAML paths that may say how something is deployed: not a chart's templates (Go
    templates), not a vendored chart's files (its author's variants), nothing but YAML."""
    listed = list(paths)
    charts = {p.rsplit("/", 1)[0] if "/" in p else "." for p in listed if _named(p, CHART_FILE)}
    left_out = {c for c in charts if is_vendored(c, charts)}
    left_out |= {f"{c}/templates" if c != "." else "templates" for c in charts}
    return [
        p
        for p in listed
        if (p.endswith(YAML_SUFFIXES) or p.rsplit("/", 1)[-1] in KUSTOMIZATIONS)
        and not _under(p, left_out)
    ]


def _named(path: str, name: str) -> bool:
    return path == name or path.endswith(f"/{name}")


def _under(path: str, directories: set[str]) -> bool:
    """`path` lies in one of `directories` (its ancestors looked up, not the set scanned)."""
    parts = path.split("/")
    return any("/".join(parts[:index]) in directories for index in range(1, len(parts)))


def infer_environments(paths: Iterable[str], declared: Iterable[str] = ()) -> list[str]:
    """Environment names the repository's layout suggests (and `declared`: helmfile's
    `environments:`), sorted. Only YAML paths count (`deployment_paths`); a directory in
    the same place as a known environment's names one too (`_siblings`)."""
    found: set[str] = set(declared)
    suffixed: set[str] = set()
    kept = deployment_paths(paths)
    for path in kept:
        parts = PurePosixPath(path).parts
        directories = parts[:-1]
        for index, part in enumerate(directories):
            after_container = index > 0 and directories[index - 1] in ENV_CONTAINERS
            if part in KNOWN_ENVIRONMENTS or after_container:
                found.add(part)
        if directories and directories[-1] in ENV_CONTAINERS:  # `environments/live.yaml`
            found.add(stem(parts[-1]).split(".")[0])
        text = stem(parts[-1])
        match = re.fullmatch(r"^values[-.](?P<a>.+)$|^(?P<b>.+)[-.]values$", text)
        if match and match.group("a"):
            found.add(match.group("a"))
        elif match:
            suffixed.add(match.group("b"))
        elif text in KNOWN_ENVIRONMENTS:
            found.add(text)
    # `<x>-values.yaml` names an environment only when x is one already (`staging-values`);
    # `podinfo-values.yaml` is an app's values.
    found.update(x for x in suffixed if x in found or x in KNOWN_ENVIRONMENTS)
    found.update(_siblings(kept, found))
    return sorted(found - NOT_ENVIRONMENTS)


def _siblings(paths: list[str], found: set[str]) -> set[str]:
    """Directories in the same place of the layout as a found environment's and holding the
    same file below them (`apps/perf/kustomization.yaml` beside `apps/staging/...`,
    `hub/apps/release.yaml` beside `staging/apps/release.yaml`): the same place in the
    layout names the same kind of thing."""
    split = [PurePosixPath(p).parts for p in paths]
    places = {
        (parts[:index], parts[index + 1 :])
        for parts in split
        for index, part in enumerate(parts[:-1])
        if part in found
    }
    return {
        part
        for parts in split
        for index, part in enumerate(parts[:-1])
        if part not in found and (parts[:index], parts[index + 1 :]) in places
    }


def qualified(name: str, known: Iterable[str]) -> list[str]:
    """Known environments that qualify `name` with a hyphenated word (`production-east`)."""
    return sorted(
        env for env in known if env != name and name in env.split("-") and env.startswith(name)
    )
