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
from promoter.yamlfile import MERGE_TAG, NULL_TAG, tag_of

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


@dataclass(frozen=True, slots=True)
class _Splice:
    """New `text` for the span `start`..`end` of the old text. The edit's line is the one
    at `start + line_offset`: past the separator that only joins the text to what precedes."""

    start: int
    end: int
    text: str
    line_offset: int = 0

    def applied_to(self, text: str) -> str:
        return text[: self.start] + self.text + text[self.end :]


@dataclass(frozen=True, slots=True)
class _Parent:
    """The deepest mapping a key path already reaches, where its missing keys go: `depth`
    keys of the path exist; `null_entry` is the next key when it is there holding null;
    `column` is that of the key holding the mapping (None for a document's root)."""

    mapping: MappingNode
    depth: int
    column: int | None
    null_entry: tuple[Node, Node] | None


def insert_image_entries(raw: bytes, name: str, entries: Sequence[ImageEntry]) -> FileEdit:
    """Add `entries` to the kustomization's `images:` (the key too, when it has none)."""
    yaml_file = parse_editable(raw, name)
    check_not_encrypted(yaml_file)
    index, root = _first_mapping(yaml_file)
    style = Style(yaml_file)
    images = _own_entry(root, "images")
    if images is not None and _is_shared(yaml_file, root):
        raise refuse(yaml_file, root, "the kustomization is an anchored mapping; edit it by hand")
    start = len(_list_of(_data_at(yaml_file, index, ("images",))))
    splice = _images_splice(yaml_file, style, root, images, entries)
    after_text = splice.applied_to(yaml_file.text)
    _prove(yaml_file, after_text, lambda docs: _append_images(docs, index, entries))
    line = yaml_file.line_of(splice.start + splice.line_offset)
    edits = tuple(
        Edit(
            pointer=_pointer(yaml_file, index, ("images", start + offset)),
            line=line,
            old=None,
            new=_describe(entry),
            kind=KIND_IMAGES,
            op="add",
            start=splice.start,
            end=splice.end,
            text=splice.text,
        )
        for offset, entry in enumerate(entries)
    )
    return FileEdit(name, edits, len(entries), raw, encode(after_text, yaml_file.bom))


def _images_splice(
    yaml_file: YamlFile,
    style: Style,
    root: MappingNode,
    images: tuple[Node, Node] | None,
    entries: Sequence[ImageEntry],
) -> _Splice:
    """Where the entries go, written the way `images:` already is: a new key after the
    kustomization's last entry, items appended to a flow or block list, or a block list
    in place of a null."""
    text = yaml_file.text
    fields = [entry.fields() for entry in entries]
    if images is None:
        at, prefix, suffix = after_last_entry(yaml_file, root)
        block = style.sequence_block(style.sequence_indent, fields)
        new_text = keep_last_line(text, at, f"{prefix}images:{style.newline}{block}{suffix}")
        return _Splice(at, at, new_text, len(prefix))
    key_node, value = images
    if isinstance(value, SequenceNode) and value.flow_style:
        close = value.end_mark.index - 1
        if text[close] != "]":
            raise refuse(yaml_file, value, "unexpected end of the images: flow sequence")
        items = ", ".join(style.flow_mapping(entry.fields()) for entry in entries)
        return _Splice(close, close, (", " if value.value else "") + items)
    if isinstance(value, SequenceNode):
        dash = dash_column(text, value)
        at, prefix, suffix = after_node(yaml_file, value)
        new_text = keep_last_line(text, at, f"{prefix}{style.sequence_block(dash, fields)}{suffix}")
        return _Splice(at, at, new_text, len(prefix))
    if _is_null(value):
        indent = key_node.start_mark.column + style.sequence_indent
        return _under_null_key(yaml_file, style, images, style.sequence_block(indent, fields))
    raise refuse(yaml_file, value, "images: is not a list")


def _under_null_key(
    yaml_file: YamlFile, style: Style, entry: tuple[Node, Node], block: str
) -> _Splice:
    """`block` on the lines below `key:`, in place of the null it holds (`~`, `null` or
    nothing), so the key's value becomes the block's list or mapping."""
    key_node, value = entry
    start, end = null_span(yaml_file, key_node, value)
    return _Splice(start, end, style.newline + block.rstrip("\r\n"), len(style.newline))


def _append_images(docs: list[Data], index: int, entries: Sequence[ImageEntry]) -> None:
    """What the insertion must do to the data, for `_prove`: document `index` gains the
    entries at the end of its `images:` list (a new one if it had none, or null)."""
    document = docs[index]
    assert isinstance(document, dict)
    listed = document.get("images")
    if not isinstance(listed, list):
        listed = []
        document["images"] = listed
    listed.extend(entry.data() for entry in entries)


def insert_value(raw: bytes, name: str, doc: int, path: Sequence[str], value: str) -> FileEdit:
    """Make the key path `path` of document `doc` hold the string `value`, creating the
    missing mappings in the file's style. An existing leaf is not this function's job:
    the same value is a no-op, another one is refused."""
    if not path:
        raise EditRefusedError("empty key path", path=name)
    yaml_file = parse_editable(raw, name)
    check_not_encrypted(yaml_file)
    style = Style(yaml_file)
    if doc >= max(len(yaml_file.docs), 1):
        raise EditRefusedError(f"no document {doc}", path=name)
    root = yaml_file.docs[doc] if yaml_file.docs else None
    pointer = _pointer(yaml_file, doc, tuple(path))
    if root is None:
        splice = _into_empty_document(yaml_file, style, path, value)
    else:
        reached = _walk(yaml_file, root, path)
        if not isinstance(reached, _Parent):  # the leaf is there already
            if isinstance(reached, ScalarNode) and str(reached.value) == value:
                return FileEdit(name, (), 1, raw, raw)
            raise refuse(yaml_file, reached, f"{pointer} is already set; edit it instead")
        splice = _into_mapping(yaml_file, style, reached, path, value)
    after_text = splice.applied_to(yaml_file.text)
    _prove(yaml_file, after_text, lambda docs: _set_path(docs, doc, path, value))
    edit = Edit(
        pointer=pointer,
        line=yaml_file.line_of(splice.start + splice.line_offset) if yaml_file.text else 1,
        old=None,
        new=value,
        kind=KIND_VALUE,
        op="add",
        start=splice.start,
        end=splice.end,
        text=splice.text,
    )
    return FileEdit(name, (edit,), 1, raw, encode(after_text, yaml_file.bom))


def _into_empty_document(
    yaml_file: YamlFile, style: Style, path: Sequence[str], value: str
) -> _Splice:
    """The whole key path, from column 0 at the end of a file with no content. Only a lone
    empty document: among others, where its text would go is ambiguous."""
    if len(yaml_file.docs) > 1:
        raise EditRefusedError("cannot add a key to an empty document", path=yaml_file.name)
    text = yaml_file.text
    prefix = "" if not text or text.endswith(("\n", "\r")) else style.newline
    block = style.nested_block(0, list(path), value)
    return _Splice(len(text), len(text), prefix + block, len(prefix))


def _walk(yaml_file: YamlFile, root: Node, path: Sequence[str]) -> _Parent | Node:
    """Follow `path` down the mappings it already has: to the first key that is missing or
    holds null (a `_Parent`), else to the existing leaf. A scalar or list on the way
    cannot take keys, so it is refused."""
    node = root
    column: int | None = None
    for depth, key in enumerate(path):
        if not isinstance(node, MappingNode):
            raise refuse(yaml_file, node, f"{'.'.join(path[:depth])} is not a mapping")
        entry = _own_entry(node, key)
        if entry is None or _is_null(entry[1]):
            return _Parent(node, depth, column, entry)
        key_node, node = entry
        column = int(key_node.start_mark.column)
    return node


def _into_mapping(
    yaml_file: YamlFile, style: Style, parent: _Parent, path: Sequence[str], value: str
) -> _Splice:
    """The missing keys of `path`, written into `parent` the way it is written: under its
    key that holds null, inside a flow mapping, or after a block mapping's last entry. An
    anchored mapping would change wherever it is aliased too, so it is refused."""
    mapping = parent.mapping
    if _is_shared(yaml_file, mapping):
        raise refuse(
            yaml_file, mapping, "the mapping is anchored and used elsewhere; edit it by hand"
        )
    remainder = list(path[parent.depth :])
    if parent.null_entry is not None:  # a key holding null: it becomes the parent of the rest
        indent = parent.null_entry[0].start_mark.column + style.mapping_indent
        block = style.nested_block(indent, remainder[1:], value)
        return _under_null_key(yaml_file, style, parent.null_entry, block)
    if mapping.flow_style:
        return _into_flow_mapping(yaml_file, style, mapping, remainder, value)
    if not mapping.value:
        raise refuse(yaml_file, mapping, "cannot add a key to an empty mapping")
    column = mapping.value[0][0].start_mark.column
    if parent.column is not None and column > parent.column:
        style.mapping_indent = column - parent.column  # this block's own step
    at, prefix, suffix = after_last_entry(yaml_file, mapping)
    block = style.nested_block(column, remainder, value)
    return _Splice(at, at, keep_last_line(yaml_file.text, at, prefix + block + suffix), len(prefix))


def _into_flow_mapping(
    yaml_file: YamlFile, style: Style, mapping: MappingNode, keys: list[str], value: str
) -> _Splice:
    """`keys` as one more flow item (`a: {b: value}`) before the mapping's closing brace."""
    close = mapping.end_mark.index - 1
    if yaml_file.text[close] != "}":
        raise refuse(yaml_file, mapping, "unexpected end of a flow mapping")
    at = flow_insert_point(yaml_file.text, mapping, close)
    item = style.flow_nested(keys, value)
    return _Splice(at, at, (", " if mapping.value else "") + item)


def _set_path(docs: list[Data], doc: int, path: Sequence[str], value: str) -> None:
    """What the insertion must do to the data, for `_prove`: document `doc` (an empty one
    becoming a mapping) gains the missing mappings of `path` and its leaf `value`."""
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


def _first_mapping(yaml_file: YamlFile) -> tuple[int, MappingNode]:
    for index, doc in enumerate(yaml_file.docs):
        if isinstance(doc, MappingNode):
            if doc.flow_style:
                raise refuse(yaml_file, doc, "a flow-style kustomization; edit it by hand")
            return index, doc
    raise EditRefusedError("no kustomization mapping in the file", path=yaml_file.name)


def _own_entry(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for key_node, value in mapping.value:
        if tag_of(key_node) != MERGE_TAG and key_text(key_node) == key:
            return key_node, value
    return None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and tag_of(node) == NULL_TAG


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
