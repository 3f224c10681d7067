"""What a refusal names when no file references the image the way promoter reads one.

The image may still be there, spelled in a way no editor claims: split keys
(`image_registry`/`image_namespace`/`image_name`/`image_version`), or a values file an Argo
CD Application or ApplicationSet layers (`valueFiles`) over a chart that is not in the
repository. Each clue says where, and the promoter.yaml target that makes the choice
explicit, so the user is sent to the right file. Reads composed YAML; knows nothing of git.
"""

from __future__ import annotations

import re
from collections.abc import Set

from ruamel.yaml.nodes import MappingNode, ScalarNode

from promoter.editing.source import (
    YamlFile,
    iter_documents,
    key_text,
    mapping_get,
    scalar_text,
    walk,
)
from promoter.editing.templates import CHART_FILE
from promoter.environments.layering import helm_sources, holes_pattern, values_path
from promoter.imageref import ImageRef

_VERSION = re.compile(r"(version|tag)$", re.IGNORECASE)


def split_references(
    path: str, yaml_file: YamlFile, image: ImageRef, app: str, env: str
) -> list[str]:
    """Mappings that name the image by parts: a key holding "image" whose value is the
    repository's last component (or its path), beside an image version or tag key."""
    tail = image.repository.rsplit("/", 1)[-1]
    spelled = {tail, image.repository, image.repository.split("/", 1)[-1]}
    clues: list[str] = []
    for doc_index, doc in iter_documents(yaml_file):
        for keys, mapping, _ in walk(doc):
            if not isinstance(mapping, MappingNode):
                continue
            fields = [(key_text(k), v) for k, v in mapping.value]
            image_keys = [k for k, _ in fields if "image" in k.lower()]
            named = any(
                "image" in k.lower() and isinstance(v, ScalarNode) and scalar_text(v) in spelled
                for k, v in fields
            )
            versions = [k for k in image_keys if _VERSION.search(k)]
            if not named or not versions:
                continue
            pointer = yaml_file.pointer(doc_index, (*keys, versions[0]))
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
    listing: Set[str],
    where: tuple[str, str],
) -> list[str]:
    """The environment's values files that an Application or ApplicationSet in `path` layers
    (`helm.valueFiles`, templated or not) over a chart this repository does not hold (a
    source with no local `path`: a chart from a Helm repository or another git repository).
    `where` is (app, env), for the target to suggest."""
    app, env = where
    clues: list[str] = []
    for _, doc in iter_documents(yaml_file):
        kind = scalar_text(mapping_get(doc, "kind"))
        if kind not in ("Application", "ApplicationSet"):
            continue
        for chart, entries in helm_sources(doc):
            if chart and "{{" not in chart and f"{chart.strip('/')}/{CHART_FILE}" in listing:
                continue  # a chart of this repository: its values layering is promoter's own
            for listed in entries:
                resolved = values_path(listed, chart, {})
                pattern = holes_pattern(resolved) if resolved else None
                for values in values_files:
                    if pattern is not None and pattern.match(values):
                        clues.append(
                            f"{values} is layered by the {kind} in {path} (valueFiles: "
                            f"{listed}) over a chart this repository does not hold; to insert "
                            f"the image's key there, add to promoter.yaml apps.{app}.targets."
                            f"{env}: [{{helm: {values}, key: image.tag, create: true}}]"
                        )
    return list(dict.fromkeys(clues))[:2]
