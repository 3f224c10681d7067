"""Helm value layers: which chart values file an environment values file layers over.

The one rule, for every reader: discovery (`environments`, with the repository's listing),
the engine's `load_context` (with the files that exist on disk) and the fetch plan
(`candidates`, before the tree is known). An environment values file
(`values-staging.yaml`, `envs/staging/values.yaml`) layers over the nearest chart
`values.yaml` in its directory or the two above it; with a listing, a directory holding
one chart (a `Chart.yaml` one level down; several: the one named after the app) answers
with that chart's values, and so does the one chart named after the app anywhere. Paths
in, paths out: knows nothing of git, the disk or YAML contents.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable

from promoter.editing.templates import CHART_FILE
from promoter.yamlfile import KUSTOMIZATION_NAMES, VALUES_NAMES, YAML_SUFFIXES, stem

DEPTH = 3
"""Directories searched for the chart's values: the file's own and the two above it."""


def candidates(path: str) -> list[str]:
    """Every values file `chart_values` may name for `path` without a listing, nearest first.

    What a fetch plan brings before the tree is known; `chart_values` keeps those that exist.
    """
    if not _is_layered(path):
        return []
    return [
        candidate
        for directory in _directories(path)
        for candidate in _values_in(directory)
        if candidate != path
    ]


def chart_values(
    path: str, paths: Collection[str], listing: Iterable[str] = (), app: str | None = None
) -> list[str]:
    """The chart values `path` layers over (at most one), among `paths` (the files that exist).

    `listing` is the repository's paths when known, searched for charts (`Chart.yaml`);
    without one, the answer is the nearest of `candidates(path)` in `paths`.
    """
    if not _is_layered(path):
        return []
    every_chart, charts_listed = _charts(listing)
    if any(path.startswith(f"{c}/") for c in every_chart if c not in charts_listed):
        return []  # a vendored chart's own files layer over nothing of the repository's
    for directory in _directories(path):
        for candidate in _values_in(directory):
            if candidate != path and candidate in paths:
                return [candidate]
        charts = sorted({c for c in charts_listed if _directory(c) == directory})
        if len(charts) > 1:  # several charts side by side: the one named after the app
            charts = [c for c in charts if posixpath.basename(c) == app]
        if len(charts) == 1:
            return _chart_values_in(charts[0], path, paths)
    # `values/web/dev.yaml`, `envs/staging/api.yaml`: the one chart the path names; then
    # (`envs/staging/values.yaml` for `charts/web`) the one chart named after the app,
    # unless the path names another chart; then the repository's only chart, for a file
    # named as values (`deploy/values-staging.yaml`, not `envs/prod/redis.yaml`).
    name = stem(posixpath.basename(path))
    words = {*path.split("/")[:-1], name, *re.split(r"[-._]", name)}
    generic = "values" in re.split(r"[-._]", name) or name == app
    for named in (
        {c for c in charts_listed if posixpath.basename(c) in words},
        {c for c in charts_listed if posixpath.basename(c) == app},
        set(charts_listed) if generic else set(),
    ):
        if len(named) == 1:
            return _chart_values_in(named.pop(), path, paths)
        if named:
            return []
    return []


_CHARTS: list[tuple[Iterable[str], list[str], list[str]]] = []


def _charts(listing: Iterable[str]) -> tuple[list[str], list[str]]:
    """(every chart directory of `listing`, those not vendored): kept for the last listing
    (by identity), which every file of a discovery, and every discovery of a run, asks
    about; a repository of thousands of files is not scanned again per file."""
    held = _CHARTS[0] if _CHARTS else None
    if held is not None and held[0] is listing:
        return held[1], held[2]
    every_chart = [_directory(p) for p in listing if posixpath.basename(p) == CHART_FILE]
    charts_listed = [c for c in every_chart if not is_vendored(c, every_chart)]
    if isinstance(listing, (list, tuple)):  # an iterator is spent: nothing to compare
        _CHARTS[:] = [(listing, every_chart, charts_listed)]
    return every_chart, charts_listed


VENDOR_DIRECTORIES = frozenset({"vendor", "vendored", "third_party", "third-party", "upstream"})
"""Directories whose charts are copies of someone else's: never deployed on their own."""


def is_vendored(chart: str, charts: Collection[str]) -> bool:
    """A chart directory that is another chart's dependency (under its directory) or a
    vendored copy: its values and variants (`values-production.yaml`) are its author's
    examples, not the repository's environments."""
    parts = chart.split("/")
    above = ("/".join(parts[:index]) for index in range(1, len(parts)))
    return bool(VENDOR_DIRECTORIES & set(parts[:-1])) or any(a in charts for a in above)


CHART_METADATA = frozenset({CHART_FILE, "Chart.lock", "requirements.yaml", "requirements.lock"})
"""A chart's own description and dependencies: YAML, never values layered over the chart."""


def _is_layered(path: str) -> bool:
    """A YAML file that is not a kustomization or a chart's metadata may be an environment
    values file."""
    name = posixpath.basename(path)
    return (
        path.endswith(YAML_SUFFIXES)
        and name not in KUSTOMIZATION_NAMES
        and name not in CHART_METADATA
    )


def _directories(path: str) -> list[str]:
    """The directory of `path` and up to `DEPTH - 1` above it, nearest first."""
    found = [_directory(path)]
    while len(found) < DEPTH and found[-1] != ".":
        found.append(_directory(found[-1]))
    return found


def _chart_values_in(chart: str, path: str, paths: Collection[str]) -> list[str]:
    return [v for v in _values_in(chart) if v != path and v in paths][:1]


def _values_in(directory: str) -> list[str]:
    return [name if directory == "." else f"{directory}/{name}" for name in VALUES_NAMES]


def _directory(path: str) -> str:
    return posixpath.dirname(path) or "."
