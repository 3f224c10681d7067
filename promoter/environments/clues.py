"""What a refusal names when no file references the image the way promoter reads one.

The image may still be there, spelled in a way no editor claims: split keys
(`image_registry`/`image_namespace`/`image_name`/`image_version`), or a values file an Argo
CD Application or ApplicationSet layers (`valueFiles`) over a chart that is not in the
repository. Each clue says where, and the promoter.yaml target that makes the choice
explicit, so the user is sent to the right file. Reads composed YAML; knows nothing of git.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import YamlFile, iter_documents, key_text, scalar_text
from promoter.imageref import ImageRef

MAX_NODES = 20000
"""Mappings visited per file at most: clues are for a message, not a full read."""
_VERSION = re.compile(r"(version|tag)$", re.IGNORECASE)


def split_references(
    path: str, yaml_file: YamlFile, image: ImageRef, app: str, env: str
) -> list[str]:
    """Mappings that name the image by parts: a key holding "image" whose value is the
    repository's last component (or its path), beside an image version or tag key."""
    tail = image.repository.rsplit("/", 1)[-1]
    spelled = {tail, image.repository, image.repository.split("/", 1)[-1]}
    clues: list[str] = []
    for mapping in _mappings(yaml_file):
        fields = [(key_text(k), v) for k, v in mapping.value]
        image_keys = [k for k, _ in fields if "image" in k.lower()]
        names = [
            k
            for k, v in fields
            if "image" in k.lower() and isinstance(v, ScalarNode) and scalar_text(v) in spelled
        ]
        versions = [k for k in image_keys if _VERSION.search(k)]
        if not names or not versions:
            continue
        pointer = (
            _pointer(yaml_file, mapping) + "/" + versions[0].replace("~", "~0").replace("/", "~1")
        )
        line = int(mapping.start_mark.line) + 1
        clues.append(
            f"{path}:{line} spells the image as split keys ({', '.join(image_keys)}); "
            f"to promote {versions[0]} there, add to promoter.yaml "
            f"apps.{app}.targets.{env}: [{{file: {path}, pointer: {pointer}}}]"
        )
    return clues[:2]


def layered_values(
    path: str,
    yaml_file: YamlFile,
    values_files: list[str],
    listing: set[str],
    where: tuple[str, str],
) -> list[str]:
    """The environment's values files that an Application or ApplicationSet in `path` layers
    (`helm.valueFiles`, templated or not) over a chart this repository does not hold (a
    source with no local `path`: a chart from a Helm repository or another git repository).
    `where` is (app, env), for the target to suggest."""
    app, env = where
    clues: list[str] = []
    for _, doc in iter_documents(yaml_file):
        kind = _field(doc, "kind")
        if kind not in ("Application", "ApplicationSet"):
            continue
        for source, listed in _value_files(doc):
            chart = _field(source, "path")
            if chart and "{{" not in chart and f"{chart.strip('/')}/Chart.yaml" in listing:
                continue  # a chart of this repository: its values layering is promoter's own
            pattern = _as_pattern(listed, chart)
            for values in values_files:
                if pattern.search(values):
                    clues.append(
                        f"{values} is layered by the {kind} in {path} (valueFiles: {listed}) "
                        "over a chart this repository does not hold; to insert the image's "
                        f"key there, add to promoter.yaml apps.{app}.targets.{env}: "
                        f"[{{helm: {values}, key: image.tag, create: true}}]"
                    )
    return list(dict.fromkeys(clues))[:2]


def _as_pattern(listed: str, chart: str | None) -> re.Pattern[str]:
    """A valueFiles entry as a repository path: `$values/x` from the root, else relative
    to the source's `path`; `{{ ... }}` stands for any one path segment's text."""
    text = listed.strip()
    if text.startswith("$"):
        text = text.split("/", 1)[1] if "/" in text else ""
    elif chart:
        text = posixpath.normpath(posixpath.join(chart.strip("/"), text))
    else:
        return re.compile(r"(?!)")  # relative to a chart held elsewhere: not ours
    parts = re.split(r"\{\{[^}]*\}\}", text)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def _value_files(doc: Node) -> Iterator[tuple[MappingNode, str]]:
    """(source, valueFiles entry) of every Helm source under `doc`."""
    for mapping in _walk(doc):
        helm = next((v for k, v in mapping.value if key_text(k) == "helm"), None)
        if not isinstance(helm, MappingNode):
            continue
        for key, value in helm.value:
            if key_text(key) == "valueFiles" and isinstance(value, SequenceNode):
                for item in value.value:
                    text = scalar_text(item)
                    if text:
                        yield mapping, text


def _field(doc: Node | None, name: str) -> str | None:
    if not isinstance(doc, MappingNode):
        return None
    for key, value in doc.value:
        if key_text(key) == name:
            return scalar_text(value)
    return None


def _mappings(yaml_file: YamlFile) -> Iterator[MappingNode]:
    for _, doc in iter_documents(yaml_file):
        yield from _walk(doc)


def _walk(node: Node | None) -> Iterator[MappingNode]:
    stack: list[Node | None] = [node]
    seen = 0
    while stack and seen < MAX_NODES:
        current = stack.pop()
        seen += 1
        if isinstance(current, MappingNode):
            yield current
            stack.extend(v for _, v in current.value)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def _pointer(yaml_file: YamlFile, mapping: MappingNode) -> str:
    """The JSON pointer of `mapping` in its document ("" at the top)."""
    for _, doc in iter_documents(yaml_file):
        found = _path_to(doc, mapping, "")
        if found is not None:
            return found
    return ""


def _path_to(node: Node | None, target: MappingNode, prefix: str) -> str | None:
    if node is target:
        return prefix
    if isinstance(node, MappingNode):
        for key, value in node.value:
            escaped = key_text(key).replace("~", "~0").replace("/", "~1")
            found = _path_to(value, target, f"{prefix}/{escaped}")
            if found is not None:
                return found
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found = _path_to(item, target, f"{prefix}/{index}")
            if found is not None:
                return found
    return None
