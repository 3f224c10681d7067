"""Explicit locations: `request.key` as a Helm-style dotted path or a JSON pointer.

Key forms:
  `backend.image.tag`, `images[0].newTag`, `images.0.newTag`   dotted; `a\\.b` is the key `a.b`
  `/backend/image/tag`, `/a~1b/c~0d`                            RFC 6901 (`~1` is `/`, `~0` is `~`)
In a multi-document file a JSON pointer may start with the document index (`/1/spec/...`),
as promoter's own reports write it; without one, and for dotted paths, the key applies to
every document that has it.

What the key lands on decides the new value: a reference of the requested repository gets
the updated reference, a mapping with `tag` gets its `tag` (and `digest`) set, a digest
gets the digest, any other scalar gets the requested tag (an empty one the digest, when
there is no tag). A digest-only request removes a mapping's `tag` beside its `digest` and
refuses a scalar holding a tag (docs/configuration.md, "Digests"). Knows nothing of
markers or file kinds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Shape,
    Target,
    line_of,
    quoted,
    refuse_pinned,
    refuse_stale_tag,
    template_reference,
    updated_reference,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    key_text,
    mapping_get,
    node_paths,
    scalar_text,
    scalar_value,
    to_pointer,
)
from promoter.errors import EditRefusedError, InputError, TargetNotFoundError
from promoter.imageref import ImageRef, find_image_ref, is_valid_tag, parse_digest
from promoter.yamlfile import MERGE_TAG, tag_of

KIND = "pointer"
Segment = str | int


@dataclass(frozen=True, slots=True)
class Location:
    """A node the key reached: document index, path from its root, and the node."""

    doc: int
    path: Path
    node: Node


@dataclass(frozen=True, slots=True)
class _Miss:
    """How far a failed lookup got, for the error message."""

    depth: int
    where: str
    line: int


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    if not request.key:
        return []
    found: list[Found] = []
    for location in locate(yaml_file, request.key):
        found.extend(_targets(yaml_file, location, request))
    return found


def parse_key(key: str) -> tuple[bool, list[Segment]]:
    """(is a JSON pointer, segments). Dotted `[n]` gives an int; every other segment a str."""
    if key == "" or key.startswith("/"):
        return True, [s.replace("~1", "/").replace("~0", "~") for s in key.split("/")[1:]]
    segments: list[Segment] = []
    current: list[str] = []
    after_index = False
    position = 0
    while position < len(key):
        char = key[position]
        if char == "\\" and position + 1 < len(key):
            current.append(key[position + 1])
            position += 2
            continue
        if char in ".[" and current:
            segments.append("".join(current))
            current, after_index = [], False
        elif char == "." and not after_index:
            raise InputError(f"key {key!r}: empty segment at character {position + 1}")
        if char == ".":
            after_index = False
        elif char == "[":
            close = key.find("]", position)
            number = key[position + 1 : close] if close != -1 else ""
            if not number.isdigit():
                raise InputError(f"key {key!r}: expected [<index>] at character {position + 1}")
            segments.append(int(number))
            after_index = True
            position = close
        elif char == "]":
            raise InputError(f"key {key!r}: unexpected ']' at character {position + 1}")
        else:
            current.append(char)
        position += 1
    if current:
        segments.append("".join(current))
    elif not after_index:
        raise InputError(f"key {key!r}: empty segment at the end")
    return False, segments


def locate(yaml_file: YamlFile, key: str) -> list[Location]:
    """Every node `key` names; raises `TargetNotFoundError` (with the line) when none."""
    is_pointer, segments = parse_key(key)
    documents = [(i, doc) for i, doc in enumerate(yaml_file.docs) if doc is not None]
    if (
        is_pointer
        and yaml_file.multi_document
        and segments
        and isinstance(segments[0], str)
        and segments[0].isdigit()
    ):
        index = int(segments[0])
        chosen = yaml_file.docs[index] if index < len(yaml_file.docs) else None
        if chosen is None:
            raise TargetNotFoundError(
                f"{key}: the file has no document {index} (documents are numbered from 0)",
                path=yaml_file.name,
            )
        documents = [(index, chosen)]
        segments = segments[1:]
    found: list[Location] = []
    best: _Miss | None = None
    for doc_index, doc in documents:
        result = _walk(doc, segments)
        if isinstance(result, _Miss):
            if best is None or result.depth > best.depth:
                best = result
        else:
            found.append(Location(doc_index, result[0], result[1]))
    if not found:
        where = f" ({best.where})" if best else " (the file has no document)"
        raise TargetNotFoundError(
            f"key {key} not found{where}",
            path=yaml_file.name,
            line=best.line if best else None,
        )
    return found


def _walk(root: Node, segments: Sequence[Segment]) -> tuple[Path, Node] | _Miss:
    node = root
    path: Path = ()
    for depth, segment in enumerate(segments):
        child: Node | None = None
        step: Segment = segment
        if isinstance(node, MappingNode):
            step = str(segment)
            child = _mapping_lookup(node, step)
        elif isinstance(node, SequenceNode):
            number = segment if isinstance(segment, int) else _index(segment)
            if number is not None and number < len(node.value):
                step, child = number, node.value[number]
        if child is None:
            return _Miss(depth, _miss_reason(node, path, segment), line_of(node))
        node, path = child, (*path, step)
    return path, node


def _index(segment: str) -> int | None:
    return int(segment) if segment.isdigit() else None


def _mapping_lookup(node: MappingNode, key: str) -> Node | None:
    """A key's value, own keys first, then `<<` merge sources in order (as YAML resolves)."""
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if tag_of(key_node) == MERGE_TAG:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            merges.extend(sources)
        elif key_text(key_node) == key:
            return value_node  # type: ignore[no-any-return]
    for source in merges:
        if isinstance(source, MappingNode):
            found = _mapping_lookup(source, key)
            if found is not None:
                return found
    return None


def _miss_reason(node: Node, path: Path, segment: Segment) -> str:
    where = to_pointer(path) or "the document root"
    if isinstance(node, MappingNode):
        return f"no key {str(segment)!r} under {where}"
    if isinstance(node, SequenceNode):
        return f"{where} is a list of {len(node.value)}, no item {segment!r}"
    return f"{where} is a scalar, cannot descend to {segment!r}"


def _targets(yaml_file: YamlFile, location: Location, request: BumpRequest) -> list[Found]:
    node = location.node
    image = request.image
    if isinstance(node, ScalarNode):
        _check_editable(yaml_file, location)
        new, shape = _scalar_value(yaml_file, node, image)
        return [Target(location.doc, location.path, node, new, KIND, shape)]
    if isinstance(node, MappingNode) and isinstance(mapping_get(node, "tag"), ScalarNode):
        return _image_mapping(yaml_file, location, node, image)
    what = "a list" if isinstance(node, SequenceNode) else "a mapping without a `tag` key"
    raise EditRefusedError(
        f"points to {what}; give the key of the value to set",
        path=yaml_file.name,
        line=line_of(node),
        field=yaml_file.pointer(location.doc, location.path),
    )


def _check_editable(yaml_file: YamlFile, location: Location) -> None:
    """Refuse aliases: the bytes to change are not at this location. (A template is refused
    by the engine, as every editor's: `model.check_replaceable`.)"""
    node = location.node
    field = yaml_file.pointer(location.doc, location.path)
    occurrences = node_paths(yaml_file).get(id(node), [])
    if occurrences and occurrences[0] != (location.doc, location.path):
        anchor_doc, anchor_path = occurrences[0]
        raise EditRefusedError(
            "value comes from an alias (*name) or a merge (<<); edit the anchored value at "
            f"{yaml_file.pointer(anchor_doc, anchor_path)} (line {line_of(node)}) instead",
            path=yaml_file.name,
            line=_alias_line(yaml_file, location),
            field=field,
        )


def _alias_line(yaml_file: YamlFile, location: Location) -> int | None:
    """Line of the first alias or merge on the way to `location` (the node's own marks point
    at the anchor, which is not where the user looked)."""
    node = yaml_file.docs[location.doc]
    for step in location.path:
        if isinstance(node, MappingNode):
            own = [(k, v) for k, v in node.value if tag_of(k) != MERGE_TAG and key_text(k) == step]
            if not own:
                merge = next((k for k, _ in node.value if tag_of(k) == MERGE_TAG), None)
                return line_of(merge) if merge is not None else None
            key_node, child = own[0]
            if child.start_mark.index < key_node.start_mark.index:
                return line_of(key_node)
            node = child
        elif isinstance(node, SequenceNode) and isinstance(step, int):
            child = node.value[step]
            previous = node.value[step - 1].end_mark.index if step else node.start_mark.index
            if child.start_mark.index < previous:
                return line_of(node)
            node = child
    return None


def _scalar_value(yaml_file: YamlFile, node: ScalarNode, image: ImageRef) -> tuple[str, Shape]:
    """What the scalar becomes: a digest for a digest, the updated reference for a reference
    of the image, else the tag (the digest when the scalar is empty and there is no tag)."""
    old = scalar_value(node) or ""
    if _is_digest(old):
        if image.digest is None:
            raise refuse_pinned(yaml_file, node, old, image)
        return image.digest, Shape.VERSION
    ref = find_image_ref(old) if scalar_text(node) is not None else None
    ref = ref or template_reference(old)
    if ref is not None and ref.same_repository(image):
        return str(updated_reference(ref, image, yaml_file, node)), Shape.REFERENCE
    if ref is not None and (ref.tag or ref.digest or "/" in old):
        raise EditRefusedError(
            f"holds {quoted(old)}, a reference to another repository than {image.name}",
            path=yaml_file.name,
            line=line_of(node),
        )
    if image.tag is None and old and is_valid_tag(old):
        raise refuse_stale_tag(yaml_file, node, image, "the key holds a tag, not a digest")
    return image.tag or image.digest or "", Shape.VERSION


def _image_mapping(
    yaml_file: YamlFile, location: Location, node: MappingNode, image: ImageRef
) -> list[Found]:
    """`{repository, tag, digest}` as Helm charts write it: set the version keys."""
    repository = scalar_text(mapping_get(node, "repository"))
    if repository:
        registry = scalar_text(mapping_get(node, "registry"))
        ref = find_image_ref(f"{registry}/{repository}" if registry else repository)
        if ref is not None and not ref.same_repository(image):
            raise EditRefusedError(
                f"is the image {ref.name}, not {image.name}",
                path=yaml_file.name,
                line=line_of(node),
                field=yaml_file.pointer(location.doc, location.path),
            )
    digest_node = mapping_get(node, "digest")
    old_digest = scalar_value(digest_node)
    if image.digest is None and old_digest and "{{" not in old_digest:
        raise refuse_pinned(yaml_file, digest_node or node, old_digest, image)
    if image.tag is None and not isinstance(digest_node, ScalarNode):
        raise EditRefusedError(
            f"has no `digest` key to hold {image.digest}; promote a tag instead",
            path=yaml_file.name,
            line=line_of(node),
            field=yaml_file.pointer(location.doc, location.path),
        )
    templated = old_digest if old_digest and "{{" in old_digest else None  # engine refuses
    found: list[Found] = []
    for key, value in (("tag", image.tag), ("digest", image.digest or templated)):
        child = mapping_get(node, key)
        remove = key == "tag" and value is None and bool(scalar_value(child))
        if (value is None and not remove) or not isinstance(child, ScalarNode):
            continue
        child_location = Location(location.doc, (*location.path, key), child)
        _check_editable(yaml_file, child_location)
        # A digest-only request removes the tag beside the digest (docs: "Digests").
        target = Target(location.doc, child_location.path, child, value or "", KIND, Shape.VERSION)
        found.append(dataclasses.replace(target, remove=True) if remove else target)
    return found


def _is_digest(text: str) -> bool:
    try:
        parse_digest(text)
    except InputError:
        return False
    return True
