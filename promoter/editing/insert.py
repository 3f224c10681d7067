"""Insert what an environment lacks: a kustomize `images:` entry, or a values key path.

The counterpart of replacing a tag, for an environment that inherits its image: the way
`kustomize edit set image` adds an entry to an overlay, or a Helm environment values file
gains `image.tag`, but spliced into the file's own text in its own style (indentation,
sequence style, flow or block, quotes, CRLF, BOM, a missing final newline), never
re-serialised. Every insertion is proven: the re-parsed documents must equal the old ones
plus exactly the new entry or key, else `EditRefusedError` and nothing is returned.
Bytes in, bytes out: knows nothing of git, files or environments.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.layout import (
    Style,
    after_last_entry,
    after_node,
    dash_column,
    flow_insert_point,
    keep_last_line,
    null_span,
    refuse,
)
from promoter.editing.model import Edit, FileEdit
from promoter.editing.source import (
    Data,
    YamlFile,
    check_not_encrypted,
    encode,
    key_text,
    node_paths,
    parse_text,
    to_data,
    to_pointer,
)
from promoter.editing.templates import parse_editable
from promoter.errors import EditRefusedError, YamlError
from promoter.yamlfile import MERGE_TAG, NULL_TAG

KIND_IMAGES = "kustomize-insert"
KIND_VALUE = "values-insert"


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One `images:` entry: the image `name` as resources spell it, and its new version."""

    name: str
    new_tag: str | None = None
    digest: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        found = [("name", self.name)]
        if self.new_tag is not None:
            found.append(("newTag", self.new_tag))
        if self.digest is not None:
            found.append(("digest", self.digest))
        return found

    def data(self) -> dict[str, Data]:
        return dict(self.fields())


def insert_image_entries(raw: bytes, name: str, entries: Sequence[ImageEntry]) -> FileEdit:
    """Add `entries` to the kustomization's `images:` (the key too, when it has none)."""
    yaml_file = parse_editable(raw, name)
    check_not_encrypted(yaml_file)
    index, root = _first_mapping(yaml_file)
    text = yaml_file.text
    style = Style(yaml_file)
    fields = [entry.fields() for entry in entries]
    images = _own_entry(root, "images")
    if images is not None and _is_shared(yaml_file, root):
        raise refuse(yaml_file, root, "the kustomization is an anchored mapping; edit it by hand")
    start = len(_list_of(_data_at(yaml_file, index, ("images",))))
    if images is None:
        at, prefix, suffix = after_last_entry(yaml_file, root)
        block = style.sequence_block(style.sequence_indent, fields)
        new_text = keep_last_line(text, at, f"{prefix}images:{style.newline}{block}{suffix}")
        position = (at, at)
        line_offset = len(prefix)
    else:
        key_node, value = images
        if isinstance(value, SequenceNode) and value.flow_style:
            close = value.end_mark.index - 1
            if text[close] != "]":
                raise refuse(yaml_file, value, "unexpected end of the images: flow sequence")
            items = ", ".join(style.flow_mapping(entry.fields()) for entry in entries)
            new_text = (", " if value.value else "") + items
            position = (close, close)
            line_offset = 0
        elif isinstance(value, SequenceNode):
            dash = dash_column(text, value)
            at, prefix, suffix = after_node(yaml_file, value)
            new_text = keep_last_line(
                text, at, f"{prefix}{style.sequence_block(dash, fields)}{suffix}"
            )
            position = (at, at)
            line_offset = len(prefix)
        elif _is_null(value):
            span = null_span(yaml_file, key_node, value)
            indent = key_node.start_mark.column + style.sequence_indent
            block = style.sequence_block(indent, fields).rstrip("\r\n")
            new_text = style.newline + block
            position = span
            line_offset = len(style.newline)
        else:
            raise refuse(yaml_file, value, "images: is not a list")

    def mutate(docs: list[Data]) -> None:
        document = docs[index]
        assert isinstance(document, dict)
        listed = document.get("images")
        if not isinstance(listed, list):
            listed = []
            document["images"] = listed
        listed.extend(entry.data() for entry in entries)

    after_text = text[: position[0]] + new_text + text[position[1] :]
    _prove(yaml_file, after_text, mutate)
    line = yaml_file.line_of(position[0] + line_offset)
    edits = tuple(
        Edit(
            pointer=_pointer(yaml_file, index, ("images", start + offset)),
            line=line,
            old=None,
            new=_describe(entry),
            kind=KIND_IMAGES,
            op="add",
            start=position[0],
            end=position[1],
            text=new_text,
        )
        for offset, entry in enumerate(entries)
    )
    return FileEdit(name, edits, len(entries), raw, encode(after_text, yaml_file.bom))


def insert_value(raw: bytes, name: str, doc: int, path: Sequence[str], value: str) -> FileEdit:
    """Make the key path `path` of document `doc` hold the string `value`, creating the
    missing mappings in the file's style. An existing leaf is not this function's job:
    the same value is a no-op, another one is refused."""
    if not path:
        raise EditRefusedError("empty key path", path=name)
    yaml_file = parse_editable(raw, name)
    check_not_encrypted(yaml_file)
    text = yaml_file.text
    style = Style(yaml_file)
    if doc >= max(len(yaml_file.docs), 1):
        raise EditRefusedError(f"no document {doc}", path=name)
    root = yaml_file.docs[doc] if yaml_file.docs else None
    pointer = _pointer(yaml_file, doc, tuple(path))
    if root is None:
        if len(yaml_file.docs) > 1:
            raise EditRefusedError("cannot add a key to an empty document", path=name)
        block = style.nested_block(0, list(path), value)
        at = len(text)
        prefix = "" if not text or text.endswith(("\n", "\r")) else style.newline
        new_text = prefix + block
        position, missing_from = (at, at), 0
        line_offset = len(prefix)
    else:
        mapping: Node = root
        depth = 0
        parent_column: int | None = None
        while depth < len(path):
            if not isinstance(mapping, MappingNode):
                raise refuse(yaml_file, mapping, f"{'.'.join(path[:depth])} is not a mapping")
            entry = _own_entry(mapping, path[depth])
            if entry is None:
                break
            key_node, child = entry
            if _is_null(child):
                break
            if depth == len(path) - 1:
                if isinstance(child, ScalarNode) and str(child.value) == value:
                    return FileEdit(name, (), 1, raw, raw)
                raise refuse(yaml_file, child, f"{pointer} is already set; edit it instead")
            if not isinstance(child, MappingNode):
                raise refuse(yaml_file, child, f"{'.'.join(path[: depth + 1])} is not a mapping")
            parent_column = int(key_node.start_mark.column)
            mapping = child
            depth += 1
        assert isinstance(mapping, MappingNode)
        if _is_shared(yaml_file, mapping):
            raise refuse(
                yaml_file, mapping, "the mapping is anchored and used elsewhere; edit it by hand"
            )
        missing_from = depth
        remainder = list(path[depth:])
        entry = _own_entry(mapping, path[depth])
        if entry is not None:  # a key holding null: it becomes the parent of the rest
            key_node, child = entry
            position = null_span(yaml_file, key_node, child)
            indent = key_node.start_mark.column + style.mapping_indent
            block = style.nested_block(indent, remainder[1:], value).rstrip("\r\n")
            new_text = style.newline + block
            line_offset = len(style.newline)
            missing_from = depth + 1
        elif mapping.flow_style:
            close = mapping.end_mark.index - 1
            if text[close] != "}":
                raise refuse(yaml_file, mapping, "unexpected end of a flow mapping")
            item = style.flow_nested(remainder, value)
            at = flow_insert_point(text, mapping, close)
            new_text = (", " if mapping.value else "") + item
            position = (at, at)
            line_offset = 0
        elif not mapping.value:
            raise refuse(yaml_file, mapping, "cannot add a key to an empty mapping")
        else:
            column = mapping.value[0][0].start_mark.column
            if parent_column is not None and column > parent_column:
                style.mapping_indent = column - parent_column  # this block's own step
            at, prefix, suffix = after_last_entry(yaml_file, mapping)
            new_text = keep_last_line(
                text, at, prefix + style.nested_block(column, remainder, value) + suffix
            )
            position = (at, at)
            line_offset = len(prefix)

    def mutate(docs: list[Data]) -> None:
        if not docs:
            docs.append(None)
        if docs[doc] is None:
            docs[doc] = {}
        node = docs[doc]
        for key in path[:-1]:
            assert isinstance(node, dict)
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        assert isinstance(node, dict)
        node[path[-1]] = value

    after_text = text[: position[0]] + new_text + text[position[1] :]
    _prove(yaml_file, after_text, mutate)
    edit = Edit(
        pointer=pointer,
        line=yaml_file.line_of(position[0] + line_offset) if text else 1,
        old=None,
        new=value,
        kind=KIND_VALUE,
        op="add",
        start=position[0],
        end=position[1],
        text=new_text,
    )
    del missing_from
    return FileEdit(name, (edit,), 1, raw, encode(after_text, yaml_file.bom))


def _first_mapping(yaml_file: YamlFile) -> tuple[int, MappingNode]:
    for index, doc in enumerate(yaml_file.docs):
        if isinstance(doc, MappingNode):
            if doc.flow_style:
                raise refuse(yaml_file, doc, "a flow-style kustomization; edit it by hand")
            return index, doc
    raise EditRefusedError("no kustomization mapping in the file", path=yaml_file.name)


def _own_entry(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for key_node, value in mapping.value:
        if key_node.tag != MERGE_TAG and key_text(key_node) == key:
            return key_node, value
    return None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def _is_shared(yaml_file: YamlFile, node: Node) -> bool:
    return len(node_paths(yaml_file).get(id(node), [])) > 1


def _list_of(data: object) -> list[object]:
    return data if isinstance(data, list) else []


def _data_at(yaml_file: YamlFile, doc: int, path: tuple[str, ...]) -> object:
    data: object = to_data(yaml_file)[doc]
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _prove(yaml_file: YamlFile, after_text: str, mutate: Callable[[list[Data]], None]) -> None:
    try:
        after = parse_text(after_text, yaml_file.name, bom=yaml_file.bom)
    except YamlError as exc:
        raise EditRefusedError(
            f"insertion would break the YAML ({exc.message}); file left untouched",
            path=yaml_file.name,
        ) from exc
    expected = copy.deepcopy(to_data(yaml_file))
    mutate(expected)
    if to_data(after) != expected:
        raise EditRefusedError(
            "insertion would change more than the new key; file left untouched",
            path=yaml_file.name,
        )


def _pointer(yaml_file: YamlFile, doc: int, path: tuple[str | int, ...]) -> str:
    return yaml_file.pointer(doc, path) if yaml_file.multi_document else to_pointer(path)


def _describe(entry: ImageEntry) -> str:
    text = entry.name
    if entry.new_tag is not None:
        text += f":{entry.new_tag}"
    if entry.digest is not None:
        text += f"@{entry.digest}"
    return text
