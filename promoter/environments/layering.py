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

from promoter.editing.source import mapping_get, scalar_text
from promoter.editing.templates import CHART_FILE

_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_HOLE = "\x00"


def declared_layers(doc: Node | None, listing: Collection[str]) -> dict[str, str]:
    """Values file → the chart values it layers over, as the pointer `doc` declares."""
    kind = scalar_text(mapping_get(doc, "kind")) if isinstance(doc, MappingNode) else None
    found: dict[str, str] = {}
    if kind in ("Application", "ApplicationSet"):
        for source, chart_path, entries in _argo_sources(doc):
            for chart, bindings in _charts(chart_path, listing):
                for entry in entries:
                    _add(found, _argo_path(entry, chart, bindings, source), chart, listing)
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


def _argo_sources(doc: Node | None) -> Iterator[tuple[MappingNode, str, list[str]]]:
    """(source, its chart path, its valueFiles) of every Helm source under `doc`."""
    stack: list[Node | None] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        if not isinstance(node, MappingNode):
            continue
        stack.extend(value for _, value in node.value)
        helm = mapping_get(node, "helm")
        files = mapping_get(helm, "valueFiles") if isinstance(helm, MappingNode) else None
        chart = scalar_text(mapping_get(node, "path"))
        if chart and isinstance(files, SequenceNode):
            entries = [t for t in (scalar_text(i) for i in files.value) if t]
            yield node, chart, entries


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


def _argo_path(entry: str, chart: str, bindings: dict[str, str], source: MappingNode) -> str:
    """A valueFiles entry as a repository path, bound placeholders filled, others holes."""
    del source  # `$ref/` entries name the root of the ref'd source: this repository's
    text = _PLACEHOLDER.sub(lambda m: bindings.get(_key(m.group()), _HOLE), entry.strip())
    if text.startswith("$"):
        return posixpath.normpath(text.split("/", 1)[1]) if "/" in text else ""
    return posixpath.normpath(posixpath.join(chart, text))


def _add(found: dict[str, str], path: str, chart: str, listing: Collection[str]) -> None:
    values = f"{chart}/values.yaml"
    if not path or path.startswith("..") or values not in listing:
        return
    if _HOLE not in path:
        if path in listing and path != values:
            found.setdefault(path, values)
        return
    pattern = re.compile("^" + "[^/]+".join(re.escape(p) for p in path.split(_HOLE)) + "$")
    for candidate in listing:
        if candidate != values and pattern.match(candidate):
            found.setdefault(candidate, values)


def _at(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = mapping_get(node, key) if node is not None else None
    return node


def _key(placeholder: str) -> str:
    return re.sub(r"\s+", "", placeholder)
