"""YAML files by name and by tag: the suffixes promoter reads as YAML, the names with a
fixed role (a kustomization, a chart's own values), the size past which a file is a
generated bundle, and the core tags a composed node carries, and how deep a text nests.
Defined once, here; a leaf that imports nothing of promoter's (parsing itself is
`editing.source`, and ruamel is imported only when nesting is measured).
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import Node

YAML_SUFFIXES = (".yaml", ".yml")
VALUES_NAMES = ("values.yaml", "values.yml")
"""A chart's own values file, in the order it is looked for."""
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_FILE_BYTES = 8 * 1024 * 1024
"""Larger files are generated bundles, not hand-kept settings: not read, screened or edited."""

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"


def too_deep(text: str, limit: int) -> int | None:
    """The line where `text` first nests more than `limit` collections, else None; read
    from the event stream, which is flat, so it cannot exhaust the stack. Every open
    collection needs one of `[{-?:`, so most texts skip the event pass."""
    if _structural(text) < limit:
        return None
    return _deepest_event(text, limit)


def _structural(text: str) -> int:
    """Characters that may open a collection (`[{-?:`): a bound on how deep `text` nests."""
    return sum(text.count(c) for c in "[{-?:")


def _deepest_event(text: str, limit: int) -> int | None:
    import io

    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = 0
    events = safe_yaml().parse(io.StringIO(text))
    try:
        for event in events:
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return int(event.start_mark.line) + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        events.close()  # resets the shared reader before anyone else composes
    return None


def compose_within(text: str, limit: int) -> tuple[list[Node | None], int | None]:
    """Every document of `text` composed (`compose_all`), or none and the line where it
    first nests more than `limit` collections (`too_deep`'s answer).

    libyaml's composer recurses in C, so nesting is bounded before it runs; but the event
    pass that measures it costs as much as composing. A text with fewer structural
    characters than `C_RECURSION_SAFE` cannot nest deep enough to exhaust that recursion:
    it is composed first and its nodes measured (a walk, not a second parse)."""
    structural = _structural(text)
    if structural < limit:
        return compose_all(text), None
    if structural >= C_RECURSION_SAFE:
        line = _deepest_event(text, limit)
        return ([], line) if line is not None else (compose_all(text), None)
    docs = compose_all(text)
    line = _deeper_than(docs, limit)
    return ([], line) if line is not None else (docs, None)


C_RECURSION_SAFE = 20_000
"""Fewer structural characters (`[{-?:`, one per open collection at least) cannot nest as
deep as libyaml's C composer can recurse (it crashes near 30,000 levels)."""


def _deeper_than(docs: list[Node | None], limit: int) -> int | None:
    """The line of the first collection, in document order, nested more than `limit`
    deep; an alias is not followed (in the event stream it opens nothing)."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    seen: set[int] = set()
    for doc in docs:
        stack: list[tuple[Node, int]] = [(doc, 0)] if doc is not None else []
        while stack:
            node, depth = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, SequenceNode):
                children = list(node.value)
            else:
                continue
            if depth + 1 > limit:
                return int(node.start_mark.line) + 1
            stack.extend((child, depth + 1) for child in reversed(children))
    return None


def tag_of(node: Node) -> str | None:
    """`node.tag`, without ruamel formatting a new string on each read (a third of the
    time of walking a file): a tag with no handle and no `%` escape is its suffix."""
    tag = node.ctag
    if tag is None:
        return None
    suffix = tag.suffix
    if tag.handle is None and type(suffix) is str and "%" not in suffix:
        return suffix
    return str(tag)


def compose_all(text: str) -> list[Node | None]:
    """Every document of `text` composed exactly as `safe_yaml().compose_all` composes it.

    With libyaml that YAML object builds a loader class per call, and its resolver builds
    its implicit resolvers per loader and looks the YAML version up per scalar through two
    caught `AttributeError`s, to find the default, 1.2, every time (the C parser reports no
    `%YAML` directive to it): most of the time of composing a small file. Here the loader
    class is made once, and its resolvers once for 1.2. Without libyaml: `safe_yaml`."""
    import io

    loader_class = _loader_class()
    if loader_class is None:
        return list(safe_yaml().compose_all(io.StringIO(text)))
    loader = loader_class(io.StringIO(text))
    try:
        docs: list[Node | None] = []
        while loader.check_node():
            docs.append(loader.get_node())
        return docs
    finally:
        loader.dispose()
        vars(loader).clear()  # its parts are itself: freed now, not by the cycle collector


@functools.cache
def _loader_class() -> type[Any] | None:
    import importlib

    parser: Any = getattr(importlib.import_module("ruamel.yaml.main"), "CParser", None)
    if parser is None:  # ruamel without its C extension: safe_yaml's pure Python
        return None
    from ruamel.yaml.constructor import SafeConstructor
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    resolvers: dict[Any, Any] = {}
    resolved: dict[str, Any] = {}
    scalar = ScalarNode

    class Loader(parser, SafeConstructor, VersionedResolver):  # type: ignore[misc]
        """`YAML(typ="safe", pure=False)`'s loader, made once."""

        def __init__(self, stream: Any) -> None:
            parser.__init__(self, stream)
            self._parser = self._composer = self
            SafeConstructor.__init__(self, loader=self)
            VersionedResolver.__init__(self, version=None, loadumper=self)
            self._version_implicit_resolver = resolvers  # shared: built once, for 1.2

        @property
        def processing_version(self) -> Any:
            return _DEFAULT_VERSION

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            """A plain scalar's tag depends on its text alone (no path resolvers are
            registered): looked up once per distinct text, not matched regex by regex
            for each of a run's hundred thousand scalars."""
            if kind is not scalar or not implicit[0]:
                return VersionedResolver.resolve(self, kind, value, implicit)
            tag = resolved.get(value)
            if tag is None:
                tag = VersionedResolver.resolve(self, kind, value, implicit)
                if len(resolved) >= _RESOLVED_LIMIT:
                    resolved.clear()
                resolved[value] = tag
            return tag

    return Loader


_RESOLVED_LIMIT = 100_000
"""Distinct scalar texts whose tag is kept; past it the table starts again (texts are
the config repository's, of any number)."""


_DEFAULT_VERSION = (1, 2)
"""What ruamel's resolver settles on under libyaml (`_DEFAULT_YAML_VERSION`)."""
_PER_THREAD = threading.local()


def safe_yaml() -> YAML:
    """This thread's libyaml-backed (when installed) safe `YAML`, made once: making one
    costs as much as composing a small file, and each `compose_all`/`parse` resets it
    when done. Never handed to another thread: it holds the stream being read."""
    found: YAML | None = getattr(_PER_THREAD, "yaml", None)
    if found is None:
        from ruamel.yaml import YAML

        found = _PER_THREAD.yaml = YAML(typ="safe", pure=False)
    return found


def stem(name: str) -> str:
    """`name` without its YAML suffix (`values-prod.yaml` → `values-prod`)."""
    for suffix in YAML_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
