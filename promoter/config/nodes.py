"""Reading composed promoter YAML nodes: mappings, strings and lists, with precise errors.

Composed (never constructed) with ruamel.yaml, so every error names file, line and field
and no YAML type guessing slips past (`base: 1.10` is a number, not a branch).
"""

from __future__ import annotations

import re

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.files import excerpt, plain
from promoter.discovery import did_you_mean
from promoter.errors import ConfigError
from promoter.pathglobs import find_problem
from promoter.sinks import EXCERPT
from promoter.yamlfile import MERGE_TAG, NULL_TAG, STR_TAG, tag_of

NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$"
NAME_RULE = "name (letters, digits, '-' and '_'; at most 63 characters)"

_BOOL = "tag:yaml.org,2002:bool"
MAX_MERGES = 1000
"""Merge-key sources one file may expand (`<<: [*a, *a, ...]` nested is an alias bomb)."""

Entries = list[tuple[str, ScalarNode, Node]]


class NodeReader:
    """Reads one file's composed nodes, each error naming the file, line and field."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.merged = 0
        """Merge-key sources expanded so far, bounded by `MAX_MERGES` (an alias bomb)."""

    def error(self, node: Node, where: str | None, message: str) -> ConfigError:
        return ConfigError(message, path=self.name, line=node.start_mark.line + 1, field=where)

    def globs(self, node: Node, where: str) -> tuple[str, ...]:
        return self.strings(node, where, r"\S.*", "glob (it must not be empty)")

    def path_globs(self, node: Node, where: str) -> tuple[str, ...]:
        """gitignore patterns (`pathglobs`), in order and not deduplicated: a `!` pattern
        means something only after the ones it makes an exception to."""
        if not isinstance(node, SequenceNode):
            raise self.error(node, where, f"expected a list, got {describe(node)}")
        found = []
        for index, item in enumerate(node.value):
            at = f"{where}[{index}]"
            pattern = self.string(item, at, r"\S.*", "glob (it must not be empty)")
            problem = find_problem(pattern)
            if problem is not None:
                raise self.error(item, at, f"{excerpt(pattern)}: {problem}")
            found.append(pattern)
        return tuple(found)

    def mapping(
        self,
        node: Node,
        where: str | None,
        allowed: tuple[str, ...] | None,
        merging: tuple[int, ...] = (),
    ) -> Entries:
        """Entries of a mapping (merge keys applied), or an error naming the bad key.

        `merging`: the mappings whose merge keys led here; one merging itself is refused,
        and so are more than `MAX_MERGES` merges in one file (each expands its aliases)."""
        if isinstance(node, ScalarNode) and tag_of(node) == NULL_TAG:
            return []
        if not isinstance(node, MappingNode):
            raise self.error(node, where, f"expected a mapping, got {describe(node)}")
        entries: Entries = []
        seen: dict[str, int] = {}
        merged: Entries = []
        for key, value in node.value:
            if tag_of(key) == MERGE_TAG:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in sources:
                    self.merged += 1
                    if id(source) in (id(node), *merging) or self.merged > MAX_MERGES:
                        raise self.error(key, where, "merge keys merge too much (or themselves)")
                    merged.extend(self.mapping(source, where, allowed, (*merging, id(node))))
                continue
            if not isinstance(key, ScalarNode) or tag_of(key) != STR_TAG:
                raise self.error(key, where, f"expected a string key, got {describe(key)}")
            text = str(key.value)
            child = join_field(where, quote_key(text))
            if text in seen:
                raise self.error(key, child, f"duplicate key (first at line {seen[text]})")
            seen[text] = key.start_mark.line + 1
            if allowed is not None and text not in allowed:
                hint = (
                    did_you_mean(text, list(allowed)) or f"; expected one of: {', '.join(allowed)}"
                )
                raise self.error(key, child, f"unknown key{hint}")
            entries.append((text, key, value))
        entries.extend(m for m in merged if m[0] not in seen)
        return entries

    def required(
        self, parent: Node, where: str | None, entries: Entries, key: str, hint: str
    ) -> Node:
        found = find_entry(entries, key)
        if found is None:
            raise self.error(parent, join_field(where, key), f"missing required key ({hint})")
        return found

    def string(self, node: Node, where: str, pattern: str | None = None, what: str = "") -> str:
        if not isinstance(node, ScalarNode) or tag_of(node) != STR_TAG:
            shown = str(node.value)
            hint = f' (quote it: "{shown}")' if _is_plain_scalar(node) and _is_short(shown) else ""
            raise self.error(node, where, f"expected a string, got {describe(node)}{hint}")
        value = str(node.value)
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.error(node, where, f"{excerpt(value)} is not a valid {what}")
        return value

    def strings(self, node: Node, where: str, pattern: str, what: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, where, f"expected a list, got {describe(node)}")
        items = [self.string(n, f"{where}[{i}]", pattern, what) for i, n in enumerate(node.value)]
        return tuple(dict.fromkeys(items))

    def boolean(self, node: Node, where: str) -> bool:
        if not isinstance(node, ScalarNode) or tag_of(node) != _BOOL:
            raise self.error(node, where, f"expected true or false, got {describe(node)}")
        return str(node.value).lower() == "true"


def find_entry(entries: Entries, key: str) -> Node | None:
    return next((value for name, _, value in entries if name == key), None)


def join_field(where: str | None, key: str) -> str:
    return f"{where}.{key}" if where else key


def _is_plain_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag not in (STR_TAG, NULL_TAG) and not node.style


def quote_key(key: str) -> str:
    """A mapping key as a part of a field path: as written when short and printable, else
    quoted, escaped and cut short (a key is file content like any other)."""
    return key if key and len(key) <= EXCERPT and key.isprintable() else excerpt(key)


def _is_short(text: str) -> bool:
    return len(text) <= EXCERPT and text.isprintable()


def describe(node: Node) -> str:
    """What a message says a node is: its kind, or its value quoted and cut short."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if tag_of(node) == NULL_TAG:
        return "nothing"
    text = str(node.value)
    if tag_of(node) == STR_TAG or not _is_plain_scalar(node):
        return excerpt(text)
    return plain(text)
