"""The GitOps agents' own pointers: which directory an Argo CD Application, ApplicationSet
element or Flux Kustomization deploys, and which object a patch is of. Reads composed YAML
nodes; knows nothing of files or git."""

from __future__ import annotations

import posixpath
import re

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

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
    mine: list[str] = []
    others: list[str] = []
    for generator in getattr(generators, "value", None) or ():
        listed = mapping_get(generator, "list") if isinstance(generator, MappingNode) else None
        elements = mapping_get(listed, "elements") if listed is not None else None
        for element in getattr(elements, "value", None) or ():
            if not isinstance(element, MappingNode):
                continue
            fields = {
                str(k.value): str(v.value)
                for k, v in element.value
                if isinstance(k, ScalarNode) and isinstance(v, ScalarNode)
            }
            ours = any(naming.stem_names(value, env, app) for value in fields.values())
            spec_node = mapping_get(template, "spec") if template is not None else None
            for template_path in _source_paths(spec_node):
                text = template_path
                for key, value in fields.items():
                    text = re.sub(r"\{\{\s*\.?" + re.escape(key) + r"\s*\}\}", value, text)
                if "{{" not in text:
                    (mine if ours else others).append(posixpath.normpath(text))
    return mine, others
