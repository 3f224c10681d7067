"""How a YAML file lays itself out, and where new text goes in it.

An inserted override must read as if the file's author wrote it: the file's newline,
indentation step, sequence indent and quote style (`Style`), placed after the last
content line of a node so trailing comments and blank lines stay where they were, and no
final newline added to a file that has none. Text and nodes in, positions and text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import YamlFile
from promoter.editing.splice import is_plain_safe, preferred_quote, quote
from promoter.errors import EditRefusedError


class Style:
    """How this file writes YAML: newline, indentation step, sequence indent, quotes."""

    def __init__(self, yaml_file: YamlFile) -> None:
        self.newline = yaml_file.newline
        self.quote = preferred_quote(yaml_file.text)
        self.mapping_indent = 2
        self.sequence_indent = 0
        steps: list[int] = []
        sequences: list[int] = []
        for doc in yaml_file.docs:
            if doc is not None:
                measure(doc, yaml_file.text, steps, sequences)
        if steps:
            self.mapping_indent = max(set(steps), key=steps.count)
        if sequences:
            self.sequence_indent = max(set(sequences), key=sequences.count)

    def scalar(self, value: str) -> str:
        return value if is_plain_safe(value) else quote(value, self.quote)

    def sequence_block(self, dash: int, entries: Sequence[Sequence[tuple[str, str]]]) -> str:
        """Block sequence items, one mapping (its fields) each, dashes at column `dash`."""
        lines: list[str] = []
        for fields in entries:
            for number, (key, value) in enumerate(fields):
                lead = "- " if number == 0 else "  "
                lines.append(f"{' ' * dash}{lead}{key}: {self.scalar(value)}{self.newline}")
        return "".join(lines)

    def flow_mapping(self, fields: Sequence[tuple[str, str]]) -> str:
        return "{" + ", ".join(f"{k}: {self.scalar(v)}" for k, v in fields) + "}"

    def nested_block(self, column: int, keys: Sequence[str], value: str) -> str:
        lines = []
        for depth, key in enumerate(keys):
            indent = " " * (column + depth * self.mapping_indent)
            rest = f" {self.scalar(value)}" if depth == len(keys) - 1 else ""
            lines.append(f"{indent}{self.key(key)}:{rest}{self.newline}")
        return "".join(lines)

    def flow_nested(self, keys: Sequence[str], value: str) -> str:
        text = self.scalar(value)
        for key in reversed(keys[1:]):
            text = "{" + f"{self.key(key)}: {text}" + "}"
        return f"{self.key(keys[0])}: {text}"

    def key(self, key: str) -> str:
        return key if is_plain_safe(key) else quote(key, self.quote)


def measure(node: Node, text: str, steps: list[int], sequences: list[int]) -> None:
    """Collect the indentation steps of nested block mappings and of block sequences."""
    if isinstance(node, MappingNode) and not node.flow_style:
        for key_node, value in node.value:
            if isinstance(value, MappingNode) and not value.flow_style and value.value:
                step = value.value[0][0].start_mark.column - key_node.start_mark.column
                if step > 0:
                    steps.append(step)
            if isinstance(value, SequenceNode) and not value.flow_style and value.value:
                dash = dash_column(text, value)
                sequences.append(max(dash - key_node.start_mark.column, 0))
            measure(value, text, steps, sequences)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            measure(item, text, steps, sequences)


def dash_column(text: str, sequence: SequenceNode) -> int:
    """Column of the `-` of a block sequence's items."""
    start = sequence.start_mark.index
    line_start = text.rfind("\n", 0, start) + 1
    dash = text.find("-", line_start)
    if dash == -1 or dash > start:
        return int(sequence.start_mark.column)
    return dash - line_start


def null_span(yaml_file: YamlFile, key_node: Node, value: Node) -> tuple[int, int]:
    """The bytes after `key:` to replace: nothing, or an explicit `~`/`null`."""
    text = yaml_file.text
    colon = text.find(":", key_node.end_mark.index)
    if colon == -1:
        raise refuse(yaml_file, key_node, "cannot locate the key's colon")
    line_end = len(text)
    for end in ("\r\n", "\n"):
        found = text.find(end, colon)
        if found != -1:
            line_end = min(line_end, found)
    rest = text[colon + 1 : line_end]
    match = re.match(r"[ \t]*(~|null|Null|NULL)?", rest)
    assert match is not None
    if match.group(1):
        after = rest[match.end() :]
        if after.strip() and not after.strip().startswith("#"):
            raise refuse(yaml_file, value, "cannot place a block after this key")
        return colon + 1, colon + 1 + match.end()
    if rest.strip() and not rest.strip().startswith("#"):
        raise refuse(yaml_file, value, "cannot place a block after this key")
    # `key:  # comment`: the block goes after the comment, which stays on the key's line.
    return line_end, line_end


def after_node(yaml_file: YamlFile, node: Node) -> tuple[int, str, str]:
    """Where a new line goes after `node`: (position, text before, text after)."""
    text = yaml_file.text
    position = node.end_mark.index
    # A block collection's end mark may sit after trailing blank or comment lines; new
    # lines go right after its last content line, so those stay where they were.
    position = end_of_content(text, node, position)
    if position > 0 and text[position - 1] == "\n":
        return position, "", ""
    line_end = text.find("\n", position)
    if line_end == -1:
        return len(text), yaml_file.newline, ""
    return line_end + 1, "", ""


def keep_last_line(text: str, at: int, new_text: str) -> str:
    """A file without a final newline keeps none: the insertion at its end drops its own."""
    if at == len(text) and text and not text.endswith("\n"):
        return new_text.removesuffix("\r\n").removesuffix("\n")
    return new_text


def end_of_content(text: str, node: Node, position: int) -> int:
    last = node
    while isinstance(last, (MappingNode, SequenceNode)) and last.value:
        item = last.value[-1]
        last = item[1] if isinstance(last, MappingNode) else item
    if last is node:
        return position
    end = int(last.end_mark.index)
    if isinstance(last, ScalarNode) and last.style in ("|", ">"):
        return end
    if end < position and (end == 0 or text[end - 1] != "\n"):
        line_end = text.find("\n", end)
        return len(text) if line_end == -1 or line_end >= position else line_end + 1
    return min(end, position)


def after_last_entry(yaml_file: YamlFile, mapping: MappingNode) -> tuple[int, str, str]:
    last_key, last_value = mapping.value[-1]
    if last_value.start_mark.index < last_key.start_mark.index:  # `<<: *alias` ends it
        text = yaml_file.text
        line_end = text.find("\n", last_key.end_mark.index)
        if line_end == -1:
            return len(text), yaml_file.newline, ""
        return line_end + 1, "", ""
    return after_node(yaml_file, last_value)


def flow_insert_point(text: str, mapping: MappingNode, close: int) -> int:
    """Just after the last item of a flow mapping (before spaces and the `}`)."""
    if not mapping.value:
        return close
    return int(mapping.value[-1][1].end_mark.index)


def refuse(yaml_file: YamlFile, node: Node, why: str) -> EditRefusedError:
    return EditRefusedError(
        f"cannot insert in place: {why}", path=yaml_file.name, line=node.start_mark.line + 1
    )
