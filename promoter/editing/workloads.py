"""Kubernetes workloads: the `image:` string of each entry of a container list.

Owns every sequence under a container-list key (`CONTAINER_LISTS`), anywhere in any document:
the pod specs of Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods, ReplicaSets and
Argo Rollouts, and values files' sidecar lists. `helm.py` owns every other image-like key and
leaves the entries of these lists alone. A manifest held in a literal block scalar (a Kustomize
inline `patch: |`) is searched too; its one changed line is spliced inside the block.

References under a top-level `status:` (or the `status:` of any object with `apiVersion` and
`kind`, such as the items of a `List`) are copies of a live object, not configuration, and are
left alone. Knows nothing of kinds: a container list is recognised by its key.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.embedded import rewrite_embedded
from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Shape,
    Target,
    template_reference,
    updated_reference,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    iter_documents,
    key_text,
    mapping_get,
    scalar_text,
    walk,
)
from promoter.imageref import find_image_ref
from promoter.yamlfile import STR_TAG, tag_of

CONTAINER_LISTS = frozenset(
    {
        "containers",
        "initContainers",
        "ephemeralContainers",
        "extraContainers",
        "extraInitContainers",
        "sidecars",
        "sidecarContainers",
    }
)
"""Keys whose sequence holds Kubernetes container specs (`name`, `image`, ...)."""

KIND = "container-image"


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    found: list[Found] = []
    for doc_index, doc in iter_documents(yaml_file):
        found.extend(_find_in_document(yaml_file, doc_index, doc, request, embedded=False))
    return found


def bumped_reference(
    text: str, request: BumpRequest, yaml_file: YamlFile, node: Node
) -> str | None:
    """`text` (a whole `repo[:tag][@digest]`) with the requested version, else None.

    None when `text` is not a reference or is another repository. A templated version of
    the image (`web:{{ .Values.tag }}`) gets one too, for the engine to refuse by name.
    Whitespace a folded block scalar keeps around the reference (`image: >` ends with a
    newline) stays. Raises `EditRefusedError` for a digest-pinned reference and a tag-only
    request.
    """
    core = text.strip()
    ref = find_image_ref(core) or template_reference(core)
    if ref is None or not ref.same_repository(request.image):
        return None
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return lead + str(updated_reference(ref, request.image, yaml_file, node)) + trail


def _find_in_document(
    yaml_file: YamlFile, doc_index: int, doc: Node, request: BumpRequest, *, embedded: bool
) -> list[Target]:
    found: list[Target] = []
    seen: set[int] = set()
    live: list[Path] = [("status",)]
    for path, node, _key in walk(doc):
        if any(path[: len(prefix)] == prefix for prefix in live):
            continue
        if isinstance(node, MappingNode):
            if _is_object(node):
                live.append((*path, "status"))
            targets = _container_images(yaml_file, doc_index, path, node, request)
            targets += _json6902_image(yaml_file, doc_index, path, node, request)
            for target in targets:
                if id(target.node) not in seen:
                    seen.add(id(target.node))
                    found.append(target)
        elif not embedded and isinstance(node, ScalarNode) and _may_hold_manifest(node):
            block = _embedded(yaml_file, doc_index, path, node, request)
            if block is not None:
                found.append(block)
    return found


def _is_object(mapping: MappingNode) -> bool:
    """A Kubernetes object, whose `status` a controller writes."""
    return all(mapping_get(mapping, key) is not None for key in ("apiVersion", "kind"))


def _container_images(
    yaml_file: YamlFile, doc: int, path: Path, mapping: MappingNode, request: BumpRequest
) -> list[Target]:
    """Aliased lists and images are returned at the alias: the engine dedupes them by node
    or, for an image defined outside any container list, refuses and names the anchor."""
    targets: list[Target] = []
    for key_node, value_node in mapping.value:
        name = key_text(key_node)
        if name not in CONTAINER_LISTS or not isinstance(value_node, SequenceNode):
            continue
        for index, entry in enumerate(value_node.value):
            image = mapping_get(entry, "image")
            text = scalar_text(image)
            if not isinstance(image, ScalarNode) or text is None:
                continue
            new = bumped_reference(text, request, yaml_file, image)
            if new is not None:
                path_to = (*path, name, index, "image")
                targets.append(Target(doc, path_to, image, new, KIND, Shape.REFERENCE))
    return targets


def _json6902_image(
    yaml_file: YamlFile, doc: int, path: Path, mapping: MappingNode, request: BumpRequest
) -> list[Target]:
    """A JSON 6902 operation that sets a container's image (`op: replace`, `path:
    /spec/template/spec/containers/0/image`, `value: repo:tag`), in a patch file or an
    inline `patch:` of a kustomization: kustomize applies it, so it is where the image is
    set."""
    op = scalar_text(mapping_get(mapping, "op"))
    where = scalar_text(mapping_get(mapping, "path")) or ""
    value = mapping_get(mapping, "value")
    text = scalar_text(value)
    if op not in ("add", "replace") or not where.endswith("/image") or text is None:
        return []
    if not isinstance(value, ScalarNode) or not any(f"/{k}/" in where for k in CONTAINER_LISTS):
        return []
    new = bumped_reference(text, request, yaml_file, value)
    if new is None:
        return []
    return [Target(doc, (*path, "value"), value, new, KIND, Shape.REFERENCE)]


def _may_hold_manifest(node: ScalarNode) -> bool:
    """A cheap screen before parsing a literal block scalar as YAML."""
    if node.style != "|" or tag_of(node) != STR_TAG:
        return False
    text = str(node.value)
    if "op:" in text and "/image" in text and "value:" in text:
        return True  # JSON 6902 operations
    return "image:" in text and any(f"{key}:" in text for key in CONTAINER_LISTS)


def _embedded(
    yaml_file: YamlFile, doc: int, path: Path, node: ScalarNode, request: BumpRequest
) -> Target | None:
    """The whole block's new text, with each matching image replaced inside it."""

    def find(inner: YamlFile) -> list[Target]:
        return [
            target
            for inner_doc, inner_root in iter_documents(inner)
            for target in _find_in_document(inner, inner_doc, inner_root, request, embedded=True)
        ]

    return rewrite_embedded(yaml_file, doc, path, node, find, KIND)
