"""Helm value layers: which chart `values.yaml` an environment's values file layers over.

An environment values file (`values-staging.yaml`, `envs/staging/values.yaml`) overrides
the chart's defaults; promoter edits it where it sets the image and otherwise inserts the
chart's key path into it, so it must know which chart's values it layers over. Paths in,
paths out: knows nothing of git or of reading files.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode

from promoter.editing.source import YamlFile, mapping_get
from promoter.environments.kustomize import directory_of, is_kustomization_path
from promoter.yamlfile import VALUES_NAMES, YAML_SUFFIXES


def chart_values(path: str, paths: set[str], all_paths: Sequence[str], app: str) -> list[str]:
    """The chart values a values file of the environment layers over."""
    if is_kustomization_path(path) or not path.endswith(YAML_SUFFIXES):
        return []
    directory = directory_of(path)
    for _ in range(3):
        for name in VALUES_NAMES:
            candidate = name if directory == "." else f"{directory}/{name}"
            if candidate != path and candidate in paths:
                return [candidate]
        charts = sorted(
            {
                directory_of(p)
                for p in all_paths
                if posixpath.basename(p) == "Chart.yaml"
                and directory_of(directory_of(p)) == directory
            }
        )
        if len(charts) > 1:  # several charts side by side: the one named after the app
            charts = [c for c in charts if posixpath.basename(c) == app]
        if len(charts) == 1:
            return [
                f"{charts[0]}/{name}" for name in VALUES_NAMES if f"{charts[0]}/{name}" in paths
            ][:1]
        if directory == ".":
            break
        directory = directory_of(directory)
    # `envs/staging/values.yaml` for `charts/web`: the one chart named after the app.
    named_charts = {
        directory_of(p)
        for p in all_paths
        if posixpath.basename(p) == "Chart.yaml" and posixpath.basename(directory_of(p)) == app
    }
    if len(named_charts) == 1:
        chart = named_charts.pop()
        return [f"{chart}/{n}" for n in VALUES_NAMES if f"{chart}/{n}" in paths][:1]
    return []


def is_object_file(yaml_file: YamlFile) -> bool:
    """Kubernetes objects, not Helm values: a new top-level key would break them."""
    for doc in yaml_file.docs:
        if isinstance(doc, MappingNode) and None not in (
            mapping_get(doc, "kind"),
            mapping_get(doc, "apiVersion"),
        ):
            return True
    return False
