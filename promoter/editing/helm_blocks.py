"""Helm image blocks: which keys of a values mapping name an image, its registry and its tag.

A block is a mapping whose repository key names an image (`repository`/`tag`, Bitnami's
`registry`/`repository`/`tag`, `image`/`tag`, `imageRepository`/`imageTag`, `<x>Image`/
`<x>ImageTag`, and `name`/`tag` under an `image`-like key). Keys are read through merge
keys (`<<:`), and a chain of mappings lets an environment file's block be named by the
chart's values at the same path. Nodes in, keys and nodes out: what to edit is `helm`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import Path, key_text, mapping_get, scalar_text, scalar_value
from promoter.imageref import ImageRef, find_image_ref
from promoter.yamlfile import MERGE_TAG, tag_of

DIGEST_KEYS = ("digest", "sha")
_NAMED_BY_KEY = frozenset({"repository", "imageRepository", "name"})
"""Repository keys that never hold a tag themselves, so a missing tag key may be added."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Which keys of one image block hold the repository, its registry and its tag."""

    repository: str
    tag: str
    registry: str = "registry"


@dataclass(frozen=True, slots=True)
class Block:
    layout: Layout
    ref: ImageRef
    repository_node: ScalarNode


def is_image_key(key: str) -> bool:
    return key.endswith(("image", "Image")) or key == "imageName"


def find_block(
    chain: list[MappingNode], path: Path, global_registry: str | None = None
) -> Block | None:
    """The first layout whose repository key (in `chain`, earliest mapping wins) names one.

    `global_registry` is Bitnami's `global.imageRegistry`, which overrides every image's
    registry; it applies to a repository written without a registry of its own.
    """
    named = bool(path) and isinstance(path[-1], str) and is_image_key(path[-1])
    if not any(_may_name_repository(mapping, named) for mapping in chain):
        return None
    for layout in _layouts(chain[0], path):
        repository_node = lookup(chain, layout.repository)
        repository = scalar_text(repository_node)
        if repository is None or "{{" in repository or not isinstance(repository_node, ScalarNode):
            continue
        registry = scalar_value(lookup(chain, layout.registry)) or ""
        own = find_image_ref(repository)
        if global_registry and own is not None and own.registry is None:
            registry = global_registry
        if "{{" in registry:
            continue
        ref = find_image_ref(f"{registry}/{repository}" if registry else repository)
        if ref is None:
            continue
        has_tag = lookup(chain, layout.tag) is not None
        written_whole = ref.tag is not None or ref.digest is not None
        if layout.repository in _NAMED_BY_KEY or (has_tag and not written_whole):
            return Block(layout, ref, repository_node)
    return None


def _may_name_repository(mapping: MappingNode, named: bool) -> bool:
    """Whether any layout's repository key could be found in `mapping`: one of its own
    keys is a repository key (`name` under an image-like key when `named`), or it merges
    other mappings. Most mappings of a values file hold neither, and skip the layouts."""
    for key_node, _ in mapping.value:
        key = key_text(key_node)
        if key in _REPOSITORY_KEYS or is_image_key(key) or (named and key == "name"):
            return True
    return any(tag_of(key_node) == MERGE_TAG for key_node, _ in mapping.value)


_REPOSITORY_KEYS = frozenset({"repository", "imageRepository"})
"""With every `is_image_key` key and `name`, the keys `_layouts` looks a repository up by."""


def _layouts(mapping: MappingNode, path: Path) -> list[Layout]:
    layouts = [
        Layout("repository", "tag"),
        Layout("imageRepository", "imageTag", "imageRegistry"),
        Layout("image", "tag"),
        Layout("image", "imageTag"),
    ]
    if path and isinstance(path[-1], str) and is_image_key(path[-1]):
        layouts.append(Layout("name", "tag"))
    for key_node, _ in mapping.value:
        key = key_text(key_node)
        if key != "image" and is_image_key(key):
            layouts.append(Layout(key, f"{key}Tag", f"{key}Registry"))
    return layouts


def find_global_registry(doc: Node) -> str | None:
    registry = scalar_value(mapping_get(mapping_get(doc, "global") or doc, "imageRegistry"))
    if not registry or "{{" in registry or mapping_get(doc, "global") is None:
        return None
    return registry


def find_digest(mapping: MappingNode) -> tuple[str | None, tuple[Node, Node] | None]:
    for key in DIGEST_KEYS:
        entry = find_entry(mapping, key)
        if entry is not None:
            return key, entry
    return None, None


def find_entry(
    mapping: MappingNode, key: str, seen: frozenset[int] = frozenset()
) -> tuple[Node, Node] | None:
    """(key node, value node) of `key`, own keys first, then merged (`<<:`) mappings.

    `seen` stops a mapping that merges itself (`a: &a {<<: *a}` composes as a cycle).
    """
    if id(mapping) in seen:
        return None
    seen = seen | {id(mapping)}
    merged: list[Node] = []
    for key_node, value_node in mapping.value:
        if tag_of(key_node) == MERGE_TAG:
            merged.extend(
                value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            )
        elif isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    for source in merged:
        if isinstance(source, MappingNode):
            entry = find_entry(source, key, seen)
            if entry is not None:
                return entry
    return None


def lookup(chain: list[MappingNode], key: str) -> Node | None:
    for mapping in chain:
        entry = find_entry(mapping, key)
        if entry is not None:
            return entry[1]
    return None


def find_node(root: Node, path: Path) -> Node | None:
    node: Node | None = root
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, SequenceNode) or part >= len(node.value):
                return None
            node = node.value[part]
        elif isinstance(node, MappingNode):
            entry = find_entry(node, part)
            node = entry[1] if entry else None
        else:
            return None
    return node
