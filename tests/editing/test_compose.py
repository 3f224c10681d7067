"""`yamlfile.compose_all` is `YAML(typ="safe", pure=False).compose_all`, made faster: every
node of every real file (corpus and real repositories) and every error is the same."""

from __future__ import annotations

import io

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from sharedpath import require

from promoter.yamlfile import compose_all, tag_of

Shape = object


def _shape(node: Node | None) -> Shape:
    """Everything the editors read of a node: kind, tag, style, value and both marks."""
    if node is None:
        return None
    marks = (node.start_mark.index, node.start_mark.line, node.start_mark.column,
             node.end_mark.index, node.end_mark.line, node.end_mark.column)  # fmt: skip
    assert tag_of(node) == node.tag  # the fast read of a tag, on every node of both
    head = (type(node).__name__, node.tag, getattr(node, "style", None), marks)
    if isinstance(node, ScalarNode):
        return (*head, node.value)
    if isinstance(node, SequenceNode):
        return (*head, *(_shape(item) for item in node.value))
    assert isinstance(node, MappingNode)
    return (*head, *((_shape(k), _shape(v)) for k, v in node.value))


def _both(text: str) -> tuple[Shape, Shape]:
    def run(compose: object) -> Shape:
        try:
            return [_shape(doc) for doc in compose(text)]  # type: ignore[operator]
        except Exception as error:  # the same failure, of the same kind, where it was
            return ("error", type(error).__name__, str(error))

    reference = lambda t: list(YAML(typ="safe", pure=False).compose_all(io.StringIO(t)))  # noqa: E731
    return run(reference), run(compose_all)


def test_compose_all_matches_ruamel_on_every_real_file() -> None:
    files = sorted(
        p
        for root in (require("corpus"), require("realworld"))
        for p in root.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.is_file()
    )
    assert len(files) > 100
    differing = [p for p in files if (pair := _both(p.read_text("utf-8", "replace")))[0] != pair[1]]
    assert differing == []


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\nb: 010\nc: 0o10\nd: 1_000\ne: ~\nf: 2001-12-14\ng: .inf\n",  # 1.1 vs 1.2 forms
        "%YAML 1.1\n---\na: yes\n",  # a directive: libyaml composes it as 1.2 all the same
        "&a [*a]\n",  # an alias to itself
        "a: [1, 2\n",  # unclosed flow
        "a: b\n\tc: d\n",  # a tab
        "--- 1\n--- 2\n...\n",
        "key: \u00e9\u4e2d\U0001f600\nnext: x\n",  # marks count characters, not bytes
        "",
    ],
)
def test_compose_all_matches_ruamel_on_edge_cases(text: str) -> None:
    ours, theirs = _both(text)
    assert ours == theirs


TAGGED = (
    "a: !!str 1\n"
    "b: !<tag:yaml.org,2002:m%65rge> {}\n"
    "c: !local x\n"
    "d: !e%21 y\n"
    "--- !!map\n? !!binary aGk=\n: !!seq []\n"
)


@pytest.mark.parametrize("pure", [True, False], ids=["pure", "libyaml"])
def test_tag_of_is_the_tag_for_every_way_of_writing_one(pure: bool) -> None:
    """Shorthand, verbatim, escaped and local tags, from either parser (the pure one keeps
    the handle apart): `tag_of` answers what `node.tag` does."""
    stack: list[Node] = [d for d in YAML(typ="safe", pure=pure).compose_all(TAGGED) if d]
    count = 0
    while stack:
        node = stack.pop()
        assert tag_of(node) == node.tag, node
        count += 1
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
    assert count == 12


def _nesting_cases() -> list[str]:
    """Texts around the bound, and real files with a small bound, for `compose_within`."""
    cases = [
        "a: " + "[" * 10 + "]" * 10 + "\n",
        "a: " + "[" * 11 + "]" * 11 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(12)) + "  " * 12 + "v\n",
        "- " * 11 + "x\n",
        "a: &x [[[[[1]]]]]\nb: [[[[[[*x]]]]]]\n",  # an alias opens nothing
        "? [[[[[[[[[[[k]]]]]]]]]]]\n: v\n",  # a complex key nests too
        "--- [[[1]]]\n--- [[[[[[[[[[[[2]]]]]]]]]]]]\n",  # depth is per document
        "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v\n",
    ]
    corpus = require("corpus")
    cases += [p.read_text("utf-8") for p in sorted(corpus.rglob("*.yaml"))[:60]]
    return cases


@pytest.mark.parametrize("limit", [5, 10, 64])
def test_compose_within_answers_as_the_event_pass(limit: int) -> None:
    """Composed and then measured (below the C recursion bound), the answer is the event
    pass's (`too_deep`): the same line, and the documents of `compose_all` otherwise."""
    from promoter.yamlfile import compose_within, too_deep

    compared = deep = 0
    for text in _nesting_cases():
        try:
            expected = too_deep(text, limit)
            docs, line = compose_within(text, limit)
        except Exception:  # invalid YAML: both raise, which is the parser's to say
            continue
        compared += 1
        deep += line is not None
        assert line == expected, text[:200]
        assert [_shape(d) for d in docs] == ([] if line else [_shape(d) for d in compose_all(text)])
    assert compared > 40
    assert deep >= (3 if limit <= 10 else 1)


def test_compose_all_leaves_nothing_for_the_cycle_collector() -> None:
    """A loader's parts are itself (parser, composer, constructor, resolver): left alone,
    every composed file left a cycle only the collector frees, which a run's thresholds
    (`cli.RUN_GC_THRESHOLDS`) make rare. Disposed loaders are freed by their count."""
    import gc

    gc.collect()
    gc.disable()
    try:
        for index in range(50):
            compose_all(f"a: [1, {index}]\nb: {{c: d}}\n")
        assert gc.collect() == 0
    finally:
        gc.enable()
