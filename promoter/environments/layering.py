"""Values layering that the repository's own deploy pointers declare.

An Argo CD Application or ApplicationSet deploys a chart of the repository (`source.path`)
with `helm.valueFiles` (relative to the chart, or `$ref/` from the root); a Flux
HelmRelease deploys one (`spec.chart.spec.chart`) with `valuesFiles` (from the root). Each
such values file layers over that chart's `values.yaml`, whatever the file is called: the
pointer says so. Templated entries (`{{ .env }}`, `{{ .path.basename }}`) are matched
against the listing; a placeholder the chart path shares is bound by the chart directory.
Reads composed YAML and paths; knows nothing of git.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterator

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from promoter.editing.source import mapping_get, scalar_text, walk
from promoter.editing.templates import CHART_FILE

_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_HOLE = "\x00"


def declared_layers(doc: Node | None, listing: Collection[str]) -> dict[str, str]:
    """Values file → the chart values it layers over, as the pointer `doc` declares."""
    kind = scalar_text(mapping_get(doc, "kind")) if isinstance(doc, MappingNode) else None
    found: dict[str, str] = {}
    if kind in ("Application", "ApplicationSet") and doc is not None:
        for chart_path, entries in helm_sources(doc):
            if chart_path is None:
                continue
            for chart, bindings in _charts(chart_path, listing):
                for entry in entries:
                    _add(found, values_path(entry, chart, bindings) or "", chart, listing)
    elif kind == "HelmRelease":
        spec = _at(doc, "spec", "chart", "spec")
        release_chart = scalar_text(_at(spec, "chart"))
        files = _at(spec, "valuesFiles")
        if release_chart and isinstance(files, SequenceNode):
            for chart, _ in _charts(release_chart, listing):
                for item in files.value:
                    text = scalar_text(item)
                    if text:
                        _add(found, posixpath.normpath(text.removeprefix("./")), chart, listing)
    return found


def helm_sources(doc: Node) -> Iterator[tuple[str | None, list[str]]]:
    """(the source's `path`, None for a chart held elsewhere; its valueFiles) of every Argo
    CD Helm source under `doc`."""
    for _, node, _ in walk(doc):
        helm = mapping_get(node, "helm") if isinstance(node, MappingNode) else None
        files = mapping_get(helm, "valueFiles") if helm is not None else None
        if isinstance(files, SequenceNode):
            entries = [t for t in (scalar_text(i) for i in files.value) if t]
            yield scalar_text(mapping_get(node, "path")), entries


def _charts(chart_path: str, listing: Collection[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Chart directories of the repository `chart_path` names, with the placeholders it binds."""
    text = posixpath.normpath(chart_path.strip().removeprefix("./")).strip("/")
    holes = _PLACEHOLDER.findall(text)
    pattern = (
        "^"
        + "".join(
            re.escape(part) + (f"(?P<h{index}>[^/]+)" if index < len(holes) else "")
            for index, part in enumerate(_PLACEHOLDER.split(text))
        )
        + "$"
    )
    charts = {posixpath.dirname(p) for p in listing if posixpath.basename(p) == CHART_FILE}
    for chart in sorted(charts):
        match = re.match(pattern, chart)
        if match:
            yield chart, {_key(h): match.group(f"h{i}") for i, h in enumerate(holes)}


def values_path(entry: str, chart: str | None, bindings: dict[str, str]) -> str | None:
    """A valueFiles entry as a repository path: `$ref/x` from the root (the ref'd source is
    this repository), else relative to the source's `chart` path (None: a chart held
    elsewhere, so not a path of ours). Bound placeholders are filled, the others `_HOLE`s."""
    text = entry.strip()
    if text.startswith("$"):
        if "/" not in text:
            return None
        text = text.split("/", 1)[1]
    elif chart is None:
        return None
    else:
        text = posixpath.join(chart.strip("/"), text)
    filled = _PLACEHOLDER.sub(lambda m: bindings.get(_key(m.group()), _HOLE), text)
    return posixpath.normpath(filled)


def holes_pattern(path: str) -> re.Pattern[str]:
    """`path` with each `_HOLE` standing for one path segment's text."""
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in path.split(_HOLE)) + "$")


def _add(found: dict[str, str], path: str, chart: str, listing: Collection[str]) -> None:
    values = f"{chart}/values.yaml"
    if not path or path.startswith("..") or values not in listing:
        return
    if _HOLE not in path:
        if path in listing and path != values:
            found.setdefault(path, values)
        return
    pattern = holes_pattern(path)
    for candidate in listing:
        if candidate != values and pattern.match(candidate):
            found.setdefault(candidate, values)


def _at(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = mapping_get(node, key) if node is not None else None
    return node


def _key(placeholder: str) -> str:
    return re.sub(r"\s+", "", placeholder)
