"""A YAML file as text plus the ruamel node tree that locates spans in it.

Owns decoding (BOM, line endings kept as they are), composing every document, and turning
node trees into plain data for verification, with a bound on alias expansion. ruamel.yaml
is used to compose only: nothing here ever dumps YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.errors import EditRefusedError, YamlError
from promoter.yamlfile import MERGE_TAG, NULL_TAG, STR_TAG, compose_within, tag_of

BOM = "\ufeff"
MAX_EXPANDED_NODES = 2_000_000
"""Alias expansion bound: far above any real file, far below a billion laughs."""
MAX_DEPTH = 200
"""Nesting bound, far beyond real files: libyaml's composer recurses in C (a segfault near
30,000 levels) and `to_data`/`node_paths` recurse in Python."""

Key = str | int
Path = tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class Typed:
    """A non-string scalar in verification data: `1.10` (float) differs from `"1.10"`."""

    tag: str
    value: str


Data = object


@dataclass
class YamlFile:
    """Decoded text of one file and its documents' root nodes (None for an empty document)."""

    name: str
    text: str
    bom: bool
    newline: str
    docs: list[Node | None]
    _lines: list[int] = field(default_factory=list, repr=False)

    @property
    def multi_document(self) -> bool:
        return len(self.docs) > 1

    def line_of(self, index: int) -> int:
        """1-based line number of a character index."""
        return self.text.count("\n", 0, index) + 1

    def pointer(self, doc: int, path: Path) -> str:
        """JSON pointer of a path; multi-document files are prefixed with the document index."""
        full: Path = ((doc, *path)) if self.multi_document else path
        return to_pointer(full)


def to_pointer(path: Path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def decode(raw: bytes, name: str) -> tuple[str, bool]:
    """UTF-8 text without newline translation; the BOM is removed and reported."""
    bom = raw.startswith(BOM.encode())
    if bom:
        raw = raw[len(BOM.encode()) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError("not UTF-8 text", path=name, line=line) from exc
    return text, bom


def encode(text: str, bom: bool) -> bytes:
    return (BOM if bom else "").encode() + text.encode("utf-8")


def detect_newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def parse_text(text: str, name: str, *, bom: bool = False) -> YamlFile:
    """Compose every document of `text`; raise `YamlError` with the line of a syntax error."""
    docs = compose_documents(text, name)
    return YamlFile(name=name, text=text, bom=bom, newline=detect_newline(text), docs=docs)


def parse_bytes(raw: bytes, name: str) -> YamlFile:
    text, bom = decode(raw, name)
    return parse_text(text, name, bom=bom)


class _Composed:
    """Composed documents by text: a run reads a shared base or values file for every app
    and environment that reads it (and a plan re-reads what a status read), so each
    content is composed once. The nodes are never changed after composing (edits splice
    text). Past `LIMIT` characters of text the cache starts again: memory stays bounded."""

    LIMIT = 64 * 1024 * 1024

    def __init__(self) -> None:
        self.docs: dict[str, list[Node | None]] = {}
        self.size = 0

    def keep(self, text: str, docs: list[Node | None]) -> None:
        if self.size + len(text) > self.LIMIT:
            self.docs.clear()
            self.size = 0
        self.docs[text] = docs
        self.size += len(text)


_COMPOSED = _Composed()


def compose_documents(text: str, name: str) -> list[Node | None]:
    """Compose with libyaml (ruamel.yaml.clib) when present: 10x faster than pure Python on
    large values files, with the same character-index marks. Plain style is `None` in both.
    Each text is composed once per process (`_Composed`); an invalid one raises every time,
    naming the file it was read as."""
    known = _COMPOSED.docs.get(text)
    if known is None:
        known = _compose(text, name)
        _COMPOSED.keep(text, known)
    return list(known)


def _compose(text: str, name: str) -> list[Node | None]:
    try:
        docs, line = compose_within(text, MAX_DEPTH)
        if line is not None:
            raise YamlError(
                f"not valid YAML: nesting deeper than {MAX_DEPTH} levels", path=name, line=line
            )
    except MarkedYAMLError as exc:  # the problem alone: str() quotes the source line
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in problem[:100])
        shown += "…" if len(problem) > 100 else ""
        raise YamlError(f"not valid YAML: {shown}", path=name, line=line) from exc
    except YAMLError as exc:  # a ReaderError: a bad character, its position on a 2nd line
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        first = (str(exc).splitlines() or ["invalid YAML"])[0][:100]
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in first)
        raise YamlError(f"not valid YAML: {shown}", path=name, line=line) from exc
    except RecursionError as exc:
        raise YamlError("not valid YAML: nesting too deep", path=name) from exc
    shared = may_share_nodes(text)
    for doc in docs:
        if doc is not None:
            _normalise_styles(doc, shared)
    return docs


def _normalise_styles(root: Node, shared: bool) -> None:
    """libyaml's plain style (`""`) as the pure parser's (`None`). `shared`: a node may
    appear twice (`may_share_nodes`), so each is visited once; else none can."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if shared:
            if id(node) in seen:
                continue
            seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.style == "":
                node.style = None
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


def iter_documents(yaml_file: YamlFile) -> Iterator[tuple[int, Node]]:
    for index, doc in enumerate(yaml_file.docs):
        if doc is not None:
            yield index, doc


class _Budget:
    def __init__(self, limit: int, name: str) -> None:
        self.left = limit
        self.name = name

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _alias_bomb(self.name)


def _alias_bomb(name: str) -> YamlError:
    return YamlError(
        f"refusing file: alias expansion exceeds {MAX_EXPANDED_NODES} nodes (YAML alias bomb?)",
        path=name,
    )


def check_expansion(yaml_file: YamlFile) -> None:
    """Refuse an alias bomb or a recursive alias before expanding anything.

    The expanded size of each node is computed once (memoised by identity), so a billion
    laughs is rejected in microseconds instead of being walked up to the bound.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in active:
            raise YamlError(
                "refusing file: recursive alias (a node contains itself)",
                path=yaml_file.name,
                line=node.start_mark.line + 1,
            )
        active.add(id(node))
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [value for _, value in node.value]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise _alias_bomb(yaml_file.name)
        active.discard(id(node))
        sizes[id(node)] = total
        return total

    total = 0
    for _, doc in iter_documents(yaml_file):
        total += size(doc)
        if total > MAX_EXPANDED_NODES:
            raise _alias_bomb(yaml_file.name)


def to_data(yaml_file: YamlFile) -> list[Data]:
    """Plain data of every document (dicts, lists, str, `Typed`), merges applied."""
    check_expansion(yaml_file)
    budget = _Budget(MAX_EXPANDED_NODES, yaml_file.name)
    return [
        None if doc is None else _node_data(doc, budget, yaml_file.name) for doc in yaml_file.docs
    ]


def _node_data(node: Node, budget: _Budget, name: str) -> Data:
    budget.spend()
    if isinstance(node, ScalarNode):
        if tag_of(node) == STR_TAG:
            return str(node.value)
        return Typed(str(node.tag), str(node.value))
    if isinstance(node, SequenceNode):
        return [_node_data(item, budget, name) for item in node.value]
    if isinstance(node, MappingNode):
        result: dict[str, Data] = {}
        merged: dict[str, Data] = {}
        for key_node, value_node in node.value:
            if tag_of(key_node) == MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    data = _node_data(source, budget, name)
                    if isinstance(data, dict):
                        for key, value in data.items():
                            merged.setdefault(key, value)
                continue
            result[key_text(key_node)] = _node_data(value_node, budget, name)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result
    raise YamlError(f"unsupported YAML node {type(node).__name__}", path=name)


def key_text(node: Node) -> str:
    """A mapping key as a JSON-pointer segment; complex keys get their source text."""
    if isinstance(node, ScalarNode):
        return str(node.value)
    return f"<{type(node).__name__}@{node.start_mark.line + 1}>"


def node_paths(yaml_file: YamlFile) -> dict[int, list[tuple[int, Path]]]:
    """Every (document, path) at which each node appears, following aliases and merges.

    An edit of an anchored node changes the data at all of these paths; verification
    expects exactly those, while the bytes of the alias lines stay untouched.

    Empty for a text where no node can appear twice: every caller's default is then the
    answer (the node's one path), without walking the file.
    """
    if not may_share_nodes(yaml_file.text):
        return {}
    check_expansion(yaml_file)
    budget = _Budget(MAX_EXPANDED_NODES, yaml_file.name)
    found: dict[int, list[tuple[int, Path]]] = {}
    for doc_index, doc in iter_documents(yaml_file):
        _collect_paths(doc, doc_index, (), found, budget)
    return found


def may_share_nodes(text: str) -> bool:
    """Whether a node of `text` may appear at more than one path: only through an anchor
    (`&`), a merge key (`<<`, or the merge tag written with `!`), and only a text with
    as many nodes as the expansion bound could be refused by it (a node takes at least
    one character)."""
    return "&" in text or "<<" in text or "!" in text or len(text) >= MAX_EXPANDED_NODES


def _collect_paths(
    node: Node,
    doc: int,
    path: Path,
    found: dict[int, list[tuple[int, Path]]],
    budget: _Budget,
) -> None:
    budget.spend()
    found.setdefault(id(node), []).append((doc, path))
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _collect_paths(item, doc, (*path, index), found, budget)
    elif isinstance(node, MappingNode):
        for text, value in _merged_items(node):
            _collect_paths(value, doc, (*path, text), found, budget)


def _merged_items(node: MappingNode) -> list[tuple[str, Node]]:
    """A merge source's entries as `to_data` sees them: its own keys, then those of its own
    merges (first wins), so a key reached through nested merges gets its real path."""
    items = [(key_text(k), v) for k, v in node.value if tag_of(k) != MERGE_TAG]
    seen = {text for text, _ in items}
    for key_node, value_node in node.value:
        if tag_of(key_node) == MERGE_TAG:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode):
                    for text, value in _merged_items(source):
                        if text not in seen:
                            seen.add(text)
                            items.append((text, value))
    return items


def walk(node: Node, path: Path = ()) -> Iterator[tuple[Path, Node, Node | None]]:
    """Depth-first, in document order: (path, node, key node or None).

    Each node is yielded once, at its first occurrence, which is its anchor's definition:
    YAML requires an anchor to come before its aliases. Merge keys are not followed.

    Every finder walks every document it reads, and a document composed once is read by
    several finders: a walk is listed once per (node, path) and handed out again (the
    table holds its nodes, so an id is never reused while it is kept).
    """
    held = _WALKS.get(id(node))
    if held is not None and held[0] is node and held[1] == path:
        return iter(held[2])
    steps = list(_walk(node, path))
    global _WALKED  # noqa: PLW0603
    if _WALKED + len(steps) > _WALKS_LIMIT:
        _WALKS.clear()
        _WALKED = 0
    _WALKS[id(node)] = (node, path, steps)
    _WALKED += len(steps)
    return iter(steps)


_WALKS: dict[int, tuple[Node, Path, list[tuple[Path, Node, Node | None]]]] = {}
_WALKED = 0
_WALKS_LIMIT = 1_000_000
"""Steps kept in `_WALKS`; past it the table starts again."""


def _walk(node: Node, path: Path) -> Iterator[tuple[Path, Node, Node | None]]:
    seen: set[int] = set()
    stack: list[tuple[Path, Node, Node | None]] = [(path, node, None)]
    while stack:
        current_path, current, key = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current_path, current, key
        children: list[tuple[Path, Node, Node | None]] = []
        if isinstance(current, SequenceNode):
            children = [((*current_path, i), item, None) for i, item in enumerate(current.value)]
        elif isinstance(current, MappingNode):
            children = [
                ((*current_path, key_text(k)), v, k)
                for k, v in current.value
                if tag_of(k) != MERGE_TAG
            ]
        stack.extend(reversed(children))


def mapping_get(node: Node, key: str) -> Node | None:
    """The value node of `key` in a mapping node, else None."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    return None


def scalar_text(node: Node | None) -> str | None:
    """The value of a string scalar, else None (numbers, nulls, collections)."""
    if isinstance(node, ScalarNode) and tag_of(node) == STR_TAG:
        return str(node.value)
    return None


def scalar_value(node: Node | None) -> str | None:
    """The text of any non-null scalar (a tag may be written `1.10` unquoted)."""
    if isinstance(node, ScalarNode) and tag_of(node) != NULL_TAG:
        return str(node.value)
    return None


def check_not_encrypted(yaml_file: YamlFile) -> None:
    """SOPS files carry a MAC over their values: any byte change breaks decryption."""
    for _, doc in iter_documents(yaml_file):
        sops = mapping_get(doc, "sops")
        if isinstance(sops, MappingNode) and mapping_get(sops, "mac") is not None:
            raise EditRefusedError(
                "refusing to edit a SOPS-encrypted file (editing would break its MAC); "
                "decrypt with sops, edit, and re-encrypt instead",
                path=yaml_file.name,
            )
