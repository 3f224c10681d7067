"""splice.py: minimal in-place replacements in the scalar's own style, and key insertion."""

from __future__ import annotations

import io

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode

from promoter.editing.source import YamlFile, mapping_get, parse_text
from promoter.editing.splice import (
    Replacement,
    apply_replacements,
    insert_key,
    is_plain_safe,
    preferred_quote,
    quote,
    replace_scalar,
)
from promoter.errors import EditRefusedError


def _node(yaml_file: YamlFile, *path: str | int) -> ScalarNode | MappingNode:
    node = yaml_file.docs[0]
    for key in path:
        assert node is not None
        node = node.value[key] if isinstance(key, int) else mapping_get(node, key)
    assert isinstance(node, ScalarNode | MappingNode)
    return node


def _replace(text: str, new: str, *path: str | int) -> tuple[Replacement, str]:
    yaml_file = parse_text(text, "f.yaml")
    node = _node(yaml_file, *(path or ("t",)))
    assert isinstance(node, ScalarNode)
    replacement = replace_scalar(yaml_file, node, new)
    return replacement, apply_replacements(text, [replacement])


def _insert(text: str, key: str, value: str, *path: str | int) -> str:
    yaml_file = parse_text(text, "f.yaml")
    node = _node(yaml_file, *path)
    assert isinstance(node, MappingNode)
    return apply_replacements(text, [insert_key(yaml_file, node, key, value)])


def _load(text: str, version: str) -> object:
    return YAML(typ="safe", pure=True).load(io.StringIO(f"%YAML {version}\n---\n{text}"))


@pytest.mark.parametrize(
    "value", ["v1", "1.4.2", "ghcr.io/acme/web:1.4.2", "a:b", "v1#x", "web@sha256:abc", "…é"]
)
def test_is_plain_safe_strings(value: str) -> None:
    assert is_plain_safe(value)


@pytest.mark.parametrize(
    "value",
    [
        "", "1.10", "0.1", "10", "0123", "1e3", "1_000", "0x1F", "0o17", ".inf", "-.inf", ".nan",
        "yes", "no", "on", "off", "y", "n", "true", "False", "null", "Null", "~", "12:30",
        "-x", "?x", ":x", "x: y", "x #y", "x:", "x ", " x", "#x", "&x", "*x", "!x", "|x", ">x",
        "'x", '"x', "%x", "@x", "`x", "[x", "]x", "{x", "}x", ",x", "a\tb", "a\nb", "a\rb",
        "a\x85b", "a\x07b", "a\u2028b",
    ],
)
def test_is_plain_safe_refuses_type_changes_and_syntax(value: str) -> None:
    assert not is_plain_safe(value)


def test_quote_single_doubles_quotes() -> None:
    assert quote("it's", "'") == "'it''s'"


def test_quote_double_escapes() -> None:
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert quote("a\nb", "'") == '"a\\nb"'


def test_quote_round_trips_through_yaml() -> None:
    for value in ["it's", 'say "hi"', "back\\slash", "two\nlines", "1.10"]:
        for preferred in ("'", '"'):
            assert _load(f"k: {quote(value, preferred)}\n", "1.2") == {"k": value}


def test_preferred_quote_majority() -> None:
    assert preferred_quote("a: 'x'\nb: 'y'\nc: \"z\"\n") == "'"
    assert preferred_quote("a: 'x'\nc: \"z\"\n") == '"'
    assert preferred_quote("a: x\n") == '"'


def test_replace_scalar_plain_only_differing_middle() -> None:
    replacement, text = _replace("t: v1.2.3 # keep\n", "v1.2.4")
    assert replacement == Replacement(8, 9, "4")
    assert text == "t: v1.2.4 # keep\n"


def test_replace_scalar_plain_quotes_number_like_value() -> None:
    replacement, text = _replace("t: v1.2.3\n", "1.10")
    assert replacement == Replacement(3, 9, '"1.10"')
    assert text == 't: "1.10"\n'


def test_replace_scalar_plain_number_to_same_text_gets_quoted() -> None:
    assert _replace("t: 1.10\n", "1.10")[1] == 't: "1.10"\n'


def test_replace_scalar_plain_quote_follows_file_preference() -> None:
    assert _replace("x: 'a'\ny: 'b'\nt: v1\n", "1.0")[1] == "x: 'a'\ny: 'b'\nt: '1.0'\n"


def test_replace_scalar_single_quoted_with_doubled_quote() -> None:
    replacement, text = _replace("t: 'it''s-1'\n", "it's-2")
    assert replacement == Replacement(10, 11, "2")
    assert text == "t: 'it''s-2'\n"
    assert _replace("t: 'it''s-1'\n", "its-1")[1] == "t: 'its-1'\n"
    assert _replace("t: 'v1'\n", "o'k")[1] == "t: 'o''k'\n"


def test_replace_scalar_single_quoted_keeps_quotes_for_bool() -> None:
    assert _replace("t: 'v1'\n", "yes")[1] == "t: 'yes'\n"


def test_replace_scalar_double_quoted_with_escapes() -> None:
    replacement, text = _replace('t: "a\\"b-1"\n', 'a"b-2')
    assert replacement == Replacement(9, 10, "2")
    assert text == 't: "a\\"b-2"\n'
    assert _replace('t: "a\\\\b-1"\n', "a\\b-2")[1] == 't: "a\\\\b-2"\n'
    assert _replace('t: "v1"\n', 'q"\\')[1] == 't: "q\\"\\\\"\n'


def test_replace_scalar_double_quoted_escape_sequence_rewrites_inside_quotes() -> None:
    replacement, text = _replace('t: "v\\u0031" # c\n', "v2")
    assert replacement == Replacement(4, 11, "v2")
    assert text == 't: "v2" # c\n'


def test_replace_scalar_empty_quoted() -> None:
    assert _replace("t: ''\n", "v2")[1] == "t: 'v2'\n"
    assert _replace('t: ""\n', "v2")[1] == 't: "v2"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t:\n", "t: v2\n"),
        ("t: # set by CI\n", "t: v2 # set by CI\n"),
        ("t:\nu: 1\n", "t: v2\nu: 1\n"),
        ("t: ~\n", "t: v2\n"),
        ("t: null\n", "t: v2\n"),
        ("a: {t: , u: 1}\n", "a: {t: v2, u: 1}\n"),
    ],
)
def test_replace_scalar_null_value(text: str, expected: str) -> None:
    path = ("a", "t") if text.startswith("a:") else ("t",)
    assert _replace(text, "v2", *path)[1] == expected


def test_replace_scalar_null_to_number_like_is_quoted() -> None:
    assert _replace("t:\n", "1.0")[1] == 't: "1.0"\n'


def test_replace_scalar_keeps_anchor_and_tag() -> None:
    assert _replace("t: &a v1 # c\nu: *a\n", "v2")[1] == "t: &a v2 # c\nu: *a\n"
    assert _replace("t: &a 1.0\n", "1.1")[1] == 't: &a "1.1"\n'
    assert _replace("t: !!str v1\n", "v2")[1] == "t: !!str v2\n"


def test_replace_scalar_literal_block_one_line() -> None:
    text = "t: |-\n  line one\n  tag v1\n  line three\nu: 1\n"
    replacement, result = _replace(text, "line one\ntag v2\nline three")
    assert replacement == Replacement(24, 25, "2")
    assert result == text.replace("tag v1", "tag v2")


def test_replace_scalar_literal_block_clip_keeps_final_newline() -> None:
    text = "t: |\n  line one\n  tag v1\n"
    assert _replace(text, "line one\ntag v2\n")[1] == "t: |\n  line one\n  tag v2\n"


def test_replace_scalar_literal_block_crlf() -> None:
    text = "t: |-\r\n  a\r\n  tag v1\r\nu: 1\r\n"
    assert _replace(text, "a\ntag v2")[1] == text.replace("tag v1", "tag v2")


def test_replace_scalar_folded_block_one_line() -> None:
    text = "t: >-\n  folded v1\n\n  second\n"
    assert _replace(text, "folded v2\nsecond")[1] == text.replace("v1", "v2")


@pytest.mark.parametrize(
    ("text", "new", "why"),
    [
        ("t: |-\n  a\n  b\n", "a\nb\nc", "number of lines"),
        ("t: |-\n  a\n  b\n", "x\ny", "spans several lines"),
        ("t: |-\n  same\n  same\n", "same\nother", "cannot locate the line"),
        ("t: plain\n  continued v1\n", "plain continued v2", "multi-line plain scalar"),
        ("t: 'multi\n  line v1'\n", "multi line v2", "multi-line quoted scalar"),
        ('t: "multi\n  line v1"\n', "multi line v2", "multi-line quoted scalar"),
    ],
)
def test_replace_scalar_refuses_what_it_cannot_keep(text: str, new: str, why: str) -> None:
    with pytest.raises(EditRefusedError) as info:
        _replace(text, new)
    assert why in str(info.value)
    assert str(info.value).startswith("f.yaml:1: cannot edit in place")


def test_insert_key_block_after_nested_last_value() -> None:
    text = "a:\n  b: 1\n  sub:\n    x: 1\n    y: [1,\n      2]\nnext: 1\n"
    assert _insert(text, "k", "v", "a") == text.replace("      2]\n", "      2]\n  k: v\n")


def test_insert_key_block_after_trailing_comment() -> None:
    text = "a:\n  b: 1 # trailing\n  # own line\nnext: 1\n"
    assert _insert(text, "k", "v", "a") == "a:\n  b: 1 # trailing\n  k: v\n  # own line\nnext: 1\n"


def test_insert_key_block_no_final_newline() -> None:
    assert _insert("a:\n  b: 1 # c", "k", "v", "a") == "a:\n  b: 1 # c\n  k: v"


def test_insert_key_block_crlf() -> None:
    text = "a:\r\n  b: 1\r\nnext: 1\r\n"
    assert _insert(text, "k", "v", "a") == "a:\r\n  b: 1\r\n  k: v\r\nnext: 1\r\n"
    assert _insert("a:\r\n  b: 1", "k", "v", "a") == "a:\r\n  b: 1\r\n  k: v"


def test_insert_key_block_in_sequence_entry() -> None:
    text = "images:\n- name: web\n  newName: x\n- name: api\n"
    result = _insert(text, "newTag", "1.10", "images", 0)
    assert result == "images:\n- name: web\n  newName: x\n  newTag: \"1.10\"\n- name: api\n"


def test_insert_key_block_before_document_end_marker() -> None:
    assert _insert("a:\n  b: 1\n...\n", "k", "v", "a") == "a:\n  b: 1\n  k: v\n...\n"


def test_insert_key_after_alias_value() -> None:
    text = "d: &d {x: 1}\na:\n  b: 1\n  <<: *d # defaults\nnext: 1\n"
    expected = "d: &d {x: 1}\na:\n  b: 1\n  <<: *d # defaults\n  k: v\nnext: 1\n"
    assert _insert(text, "k", "v", "a") == expected
    assert _insert("y: &y 3\na: {b: 1, c: *y}\n", "k", "v", "a") == (
        "y: &y 3\na: {b: 1, c: *y, k: v}\n"
    )


def test_insert_key_flow() -> None:
    assert _insert("a: {b: 1}\n", "k", "v", "a") == "a: {b: 1, k: v}\n"
    assert _insert("a: {b: 1, }\n", "k", "v", "a") == "a: {b: 1, k: v, }\n"
    assert _insert("a: {\n  b: 1 # c\n}\n", "k", "v", "a") == "a: {\n  b: 1, k: v # c\n}\n"


def test_insert_key_flow_quotes_like_the_file() -> None:
    assert _insert("a: {b: 'x'}\n", "k", "on", "a") == "a: {b: 'x', k: 'on'}\n"
    assert _insert("a: {b: x}\n", "k", "on", "a") == 'a: {b: x, k: "on"}\n'


def test_insert_key_empty_mapping_refused() -> None:
    with pytest.raises(EditRefusedError, match="empty mapping"):
        _insert("a: {}\n", "k", "v", "a")


def test_apply_replacements_back_to_front_any_order() -> None:
    text = "0123456789"
    replacements = [Replacement(1, 2, "one"), Replacement(8, 9, "EIGHT"), Replacement(4, 4, "+")]
    assert apply_replacements(text, replacements) == "0one23+4567EIGHT9"
    assert apply_replacements(text, list(reversed(replacements))) == "0one23+4567EIGHT9"


def test_apply_replacements_adjacent_allowed() -> None:
    assert apply_replacements("abcd", [Replacement(0, 2, "X"), Replacement(2, 4, "Y")]) == "XY"


def test_apply_replacements_overlap_refused() -> None:
    with pytest.raises(EditRefusedError, match="overlapping edits at characters 0-3"):
        apply_replacements("abcd", [Replacement(0, 2, "X"), Replacement(1, 3, "Y")])
