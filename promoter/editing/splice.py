"""Turn "set this scalar to V" into the smallest text replacement, in the scalar's own style.

Only the characters that differ between the old and the new value are replaced, inside the
scalar's own span: quotes, anchors, comments and everything around stay. A plain scalar
whose new value would read as a number, boolean or null (`1.10`, `yes`, `0123`) is quoted.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from promoter.editing.source import YamlFile
from promoter.errors import EditRefusedError
from promoter.yamlfile import STR_TAG, tag_of

_PROPERTY = re.compile(r"(?:[&!][^\s]*\s+)*")
_ALIAS_VALUE = re.compile(r"[ \t]*:[ \t]*\*[^\s,\[\]{}]+")
# Tabs anywhere: ruamel's scanner rejects them inside plain scalars. Outside the printable
# set the reader refuses the stream, and NEL/LS/PS are line breaks in YAML 1.1.
_PLAIN_UNSAFE = re.compile(
    r"^[-?:,\[\]{}#&*!|>'\"%@`\s]|:\s|\s#|:$|\s$"
    r"|[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)


@dataclass(frozen=True, slots=True)
class Replacement:
    """Replace `text[start:end]` with `new_text`."""

    start: int
    end: int
    new_text: str


@functools.lru_cache(maxsize=4096)
def is_plain_safe(value: str) -> bool:
    """A plain scalar that reads back as this very string under YAML 1.1 and 1.2 (asked
    for the same version in every file a run edits: building the resolvers is the cost)."""
    if value == "" or _PLAIN_UNSAFE.search(value):
        return False
    for version in ((1, 1), (1, 2)):
        resolver = VersionedResolver(version=version)
        if resolver.resolve(ScalarNode, value, (True, False)) != STR_TAG:
            return False
    return True


def quote(value: str, preferred: str = '"') -> str:
    if preferred == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def preferred_quote(text: str) -> str:
    """The quote the file mostly uses, so an added quote looks like its neighbours."""
    singles = len(re.findall(r":\s+'", text))
    doubles = len(re.findall(r':\s+"', text))
    return "'" if singles > doubles else '"'


def replace_scalar(yaml_file: YamlFile, node: ScalarNode, new: str) -> Replacement:
    """The minimal replacement that makes `node` read as the string `new`."""
    text = yaml_file.text
    old = str(node.value)
    start, end = node.start_mark.index, node.end_mark.index
    props = _PROPERTY.match(text, start)
    body_start = props.end() if props else start
    style = node.style
    if style in ("|", ">"):
        return _replace_in_block(yaml_file, node, body_start, end, old, new)
    if tag_of(node) != STR_TAG or style is None:
        body = text[body_start:end]
        if style is None and body == "" and old == "":
            rendered = new if is_plain_safe(new) else quote(new, preferred_quote(text))
            space = "" if text[body_start - 1 : body_start].isspace() else " "
            return Replacement(body_start, end, space + rendered)
        if style is None and (body != old or not is_plain_safe(new)):
            if "\n" in body:
                raise _refuse(yaml_file, node, "multi-line plain scalar")
            return Replacement(body_start, end, quote(new, preferred_quote(text)))
    if style is None:
        return _minimal(body_start, old, new, lambda s: s)
    inner_start, inner_end = body_start + 1, end - 1
    inner = text[inner_start:inner_end]
    escape = _escape_single if style == "'" else _escape_double
    if inner == escape(old):
        return _minimal(inner_start, old, new, escape)
    if "\n" in inner:
        raise _refuse(yaml_file, node, "multi-line quoted scalar")
    return Replacement(inner_start, inner_end, escape(new))


def _escape_single(value: str) -> str:
    return value.replace("'", "''")


def _escape_double(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _minimal(offset: int, old: str, new: str, escape: Callable[[str], str]) -> Replacement:
    """Replace only the differing middle of `old` (which sits verbatim at `offset`)."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    old_middle_start = prefix
    old_middle_end = len(old) - suffix
    escaped_prefix = len(escape(old[:old_middle_start]))
    escaped_middle = len(escape(old[old_middle_start:old_middle_end]))
    return Replacement(
        offset + escaped_prefix,
        offset + escaped_prefix + escaped_middle,
        escape(new[prefix : len(new) - suffix]),
    )


def _replace_in_block(
    yaml_file: YamlFile, node: ScalarNode, body_start: int, end: int, old: str, new: str
) -> Replacement:
    """Literal/folded block: change one content line, found by its text."""
    old_lines = old.split("\n")
    new_lines = new.split("\n")
    if len(old_lines) != len(new_lines):
        raise _refuse(yaml_file, node, "block scalar would change its number of lines")
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    if not changed:
        return Replacement(body_start, body_start, "")
    if len(changed) > 1:
        raise _refuse(yaml_file, node, "block scalar edit spans several lines")
    old_line, new_line = old_lines[changed[0]], new_lines[changed[0]]
    # Source lines are matched without indentation, so a line indented within the block
    # (an embedded manifest) must drop its own relative indentation too.
    indent = len(old_line) - len(old_line.lstrip(" "))
    if indent and new_line[:indent] == old_line[:indent]:
        old_line, new_line = old_line[indent:], new_line[indent:]
    text = yaml_file.text
    header_end = text.index("\n", body_start) + 1
    content = text[header_end:end]
    offset = header_end
    matches = []
    for source_line in content.split("\n"):
        stripped = source_line.rstrip("\r")
        if stripped.strip() and stripped.lstrip(" ") == old_line:
            matches.append(offset + len(stripped) - len(stripped.lstrip(" ")))
        elif stripped.strip() and node.style == ">" and old_line in stripped:
            matches.append(offset + stripped.index(old_line))
        offset += len(source_line) + 1
    if len(matches) != 1:
        raise _refuse(yaml_file, node, "cannot locate the line inside the block scalar")
    return _minimal(matches[0], old_line, new_line, lambda s: s)


def insert_key(yaml_file: YamlFile, mapping: MappingNode, key: str, value: str) -> Replacement:
    """Add `key: value` to a mapping, in its own style (block line or flow item)."""
    text = yaml_file.text
    rendered = value if is_plain_safe(value) else quote(value, preferred_quote(text))
    if not mapping.value:
        raise _refuse(yaml_file, mapping, "cannot add a key to an empty mapping")
    last_key, last_value = mapping.value[-1]
    position = last_value.end_mark.index
    if last_value.start_mark.index < last_key.start_mark.index:
        # An alias (`<<: *base`): the node's marks are its anchor's, earlier in the file.
        alias = _ALIAS_VALUE.match(text, last_key.end_mark.index)
        if alias is None:
            raise _refuse(yaml_file, mapping, "cannot locate the alias that ends the mapping")
        position = alias.end()
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        if text[close] != "}":
            raise _refuse(yaml_file, mapping, "unexpected flow mapping end")
        return Replacement(position, position, f", {key}: {rendered}")
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    if position > 0 and text[position - 1] == "\n":
        insert_at = position
        prefix = ""
    else:
        line_end = text.find("\n", position)
        if line_end == -1:
            insert_at = len(text)
            prefix = yaml_file.newline
        else:
            insert_at = line_end + 1
            prefix = ""
    if insert_at == len(text) and not text.endswith("\n"):
        return Replacement(insert_at, insert_at, f"{yaml_file.newline}{indent}{key}: {rendered}")
    return Replacement(
        insert_at, insert_at, f"{prefix}{indent}{key}: {rendered}{yaml_file.newline}"
    )


def remove_key(yaml_file: YamlFile, mapping: Node | None, value: ScalarNode) -> Replacement:
    """Remove the entry of `mapping` whose value is `value`: its whole line in a block
    mapping (with the line's comment), or the item and one comma in a flow mapping.

    Refused where that would take more than the entry: the first key of a list item (its
    line holds the `- `), a value that runs past its line, a line whose comment is a
    setter marker, the mapping's only key, or a key the mapping gets from a merge.
    """
    if not isinstance(mapping, MappingNode):
        raise _refuse(yaml_file, value, "the key to remove is not in a mapping of its own")
    entries = list(mapping.value)
    index = next((i for i, (_, v) in enumerate(entries) if v is value), None)
    if index is None:
        raise _refuse(yaml_file, value, "the key to remove comes from a merge (<<)")
    if len(entries) < 2:
        raise _refuse(yaml_file, value, "removing the mapping's only key")
    text = yaml_file.text
    key = entries[index][0]
    start, end = key.start_mark.index, value.end_mark.index
    if value.start_mark.index < start or "\n" in text[start:end]:
        raise _refuse(yaml_file, value, "the value to remove is not on its key's line")
    if mapping.flow_style:
        if index > 0:
            previous = entries[index - 1][1].end_mark.index
            if not entries[index - 1][0].start_mark.index < previous <= start:
                raise _refuse(yaml_file, value, "cannot locate the item before it")
            return Replacement(previous, end, "")
        following = entries[index + 1][0].start_mark.index
        if not end <= following:
            raise _refuse(yaml_file, value, "cannot locate the item after it")
        return Replacement(start, following, "")
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip(" \t"):
        raise _refuse(yaml_file, value, "the key to remove shares its line (a list item's `- `)")
    line_end = text.find("\n", end)
    rest = text[end : len(text) if line_end == -1 else line_end].rstrip("\r")
    if rest.strip(" \t") and not rest.lstrip(" \t").startswith("#"):
        raise _refuse(yaml_file, value, "more follows the value on its line")
    if "$imagepolicy" in rest or "$promoter" in rest:
        raise _refuse(yaml_file, value, "its line holds a setter marker")
    if line_end != -1:
        return Replacement(line_start, line_end + 1, "")
    # The last line, without a final newline: take the newline before it, so none appears.
    newline = 2 if text[line_start - 2 : line_start] == "\r\n" else 1
    return Replacement(max(line_start - newline, 0), len(text), "")


def apply_replacements(text: str, replacements: list[Replacement]) -> str:
    """Splice back to front; overlapping replacements are a bug in the caller."""
    ordered = sorted(replacements, key=lambda r: (r.start, r.end), reverse=True)
    for later, earlier in itertools.pairwise(ordered):
        if earlier.end > later.start:
            raise EditRefusedError(f"overlapping edits at characters {earlier.start}-{later.end}")
    for replacement in ordered:
        text = text[: replacement.start] + replacement.new_text + text[replacement.end :]
    return text


def _refuse(yaml_file: YamlFile, node: Node, why: str) -> EditRefusedError:
    return EditRefusedError(
        f"cannot edit in place: {why}",
        path=yaml_file.name,
        line=node.start_mark.line + 1,
    )
