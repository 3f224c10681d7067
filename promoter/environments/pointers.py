"""The GitOps agents' own pointers: which directory an Argo CD Application, ApplicationSet
element or Flux Kustomization deploys, and which object a patch is of. Reads composed YAML
nodes; knows nothing of files or git."""

from __future__ import annotations

import posixpath
import re

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import mapping_get, scalar_text
from promoter.environments import naming


def identity(doc: Node | None) -> tuple[str, str] | None:
    if not isinstance(doc, MappingNode):
        return None
    kind = scalar_text(mapping_get(doc, "kind"))
    name = scalar_text(mapping_get(mapping_get(doc, "metadata") or doc, "name"))
    if not kind or not name:
        return None
    return kind, name


def deployed_paths(doc: Node | None) -> list[str]:
    """`spec.source(s).path` of an Argo CD Application, `spec.path` of a Flux Kustomization."""
    if not isinstance(doc, MappingNode):
        return []
    kind = scalar_text(mapping_get(doc, "kind"))
    spec = mapping_get(doc, "spec")
    if kind == "Application":
        return _source_paths(spec)
    if kind == "Kustomization" and spec is not None:
        text = scalar_text(mapping_get(spec, "path"))
        return _cleaned([text] if text else [])
    return []


def _source_paths(spec: Node | None) -> list[str]:
    if spec is None:
        return []
    sources = [mapping_get(spec, "source")]
    listed = mapping_get(spec, "sources")
    sources.extend(getattr(listed, "value", None) or [])
    paths = []
    for source in sources:
        text = scalar_text(mapping_get(source, "path")) if source is not None else None
        if text:
            paths.append(text)
    return _cleaned(paths)


def _cleaned(paths: list[str]) -> list[str]:
    cleaned = []
    for text in paths:
        normal = posixpath.normpath(text.strip().removeprefix("./") or ".")
        if not normal.startswith(("..", "/")):
            cleaned.append(normal)
    return cleaned


def application_paths(doc: Node | None, env: str, app: str) -> tuple[list[str], list[str]]:
    """(directories an Argo CD Application or ApplicationSet deploys for `env`, those it
    deploys for anything else): a directory in both lists is shared, never `env`'s own."""
    kind = scalar_text(mapping_get(doc, "kind")) if isinstance(doc, MappingNode) else None
    if kind == "Application" and doc is not None:
        metadata = mapping_get(doc, "metadata")
        destination = mapping_get(mapping_get(doc, "spec") or doc, "destination")
        labels = [
            scalar_text(mapping_get(metadata, "name")) if metadata is not None else None,
            *(
                scalar_text(mapping_get(destination, key))
                for key in ("namespace", "name")
                if destination is not None
            ),
        ]
        if any(label and naming.stem_names(label, env, app) for label in labels):
            return deployed_paths(doc), []
        return [], deployed_paths(doc)
    if kind != "ApplicationSet" or doc is None:
        return [], []
    spec = mapping_get(doc, "spec")
    template = mapping_get(spec, "template") if spec is not None else None
    generators = mapping_get(spec, "generators") if spec is not None else None
    spec_node = mapping_get(template, "spec") if template is not None else None
    templates = _source_paths(spec_node)
    mine: list[str] = []
    others: list[str] = []
    for fields in _parameters(generators, 0):
        ours = any(naming.stem_names(value, env, app) for value in fields.values())
        for template_path in templates:
            text = template_path
            for key, value in fields.items():
                text = re.sub(r"\{\{\s*\.?" + re.escape(key) + r"\s*\}\}", value, text)
            if "{{" not in text:
                (mine if ours else others).append(posixpath.normpath(text))
    return mine, others


MAX_PARAMETER_SETS = 1000
"""Parameter sets an ApplicationSet's generators yield at most (a matrix multiplies)."""


def _parameters(generators: Node | None, depth: int) -> list[dict[str, str]]:
    """The parameter sets of a `generators` list: each `list` generator's elements, a
    `matrix` generator's combinations (Argo CD's product of its two children), a `merge`
    generator's sets. A generator promoter cannot evaluate (git, clusters, SCM) yields
    nothing on its own and, inside a matrix, one empty set: paths that need its
    parameters stay templated and are skipped."""
    found: list[dict[str, str]] = []
    for generator in getattr(generators, "value", None) or ():
        if not isinstance(generator, MappingNode) or depth > 3:
            continue
        listed = mapping_get(generator, "list")
        matrix = mapping_get(generator, "matrix")
        merge = mapping_get(generator, "merge")
        if listed is not None:
            elements = mapping_get(listed, "elements")
            found += [_fields(e) for e in getattr(elements, "value", None) or ()]
        elif matrix is not None or merge is not None:
            holder = matrix if matrix is not None else merge
            children = mapping_get(holder, "generators") if holder is not None else None
            sets: list[dict[str, str]] = [{}]
            for child in getattr(children, "value", None) or ():
                wrapped = SequenceNode("tag:yaml.org,2002:seq", [child])
                child_sets = _parameters(wrapped, depth + 1) or [{}]
                if matrix is not None:
                    sets = [{**a, **b} for a in sets for b in child_sets][:MAX_PARAMETER_SETS]
                else:
                    sets = [*[s for s in sets if s], *child_sets][:MAX_PARAMETER_SETS]
            found += sets
        elif depth > 0:
            found.append({})  # inside a matrix: its parameters stay templated
    return found[:MAX_PARAMETER_SETS]


def _fields(element: Node) -> dict[str, str]:
    if not isinstance(element, MappingNode):
        return {}
    return {
        str(k.value): str(v.value)
        for k, v in element.value
        if isinstance(k, ScalarNode) and isinstance(v, ScalarNode)
    }
