"""source.py: decoding, composing, plain data for verification, node paths and walking."""

from __future__ import annotations

import time

import pytest
from ruamel.yaml.nodes import MappingNode, ScalarNode

from promoter.editing.source import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    Typed,
    YamlFile,
    _Budget,
    _collect_paths,
    check_not_encrypted,
    decode,
    detect_newline,
    encode,
    iter_documents,
    mapping_get,
    may_share_nodes,
    node_paths,
    parse_bytes,
    parse_text,
    scalar_text,
    scalar_value,
    to_data,
    to_pointer,
    walk,
)
from promoter.errors import EditRefusedError, YamlError

INT = "tag:yaml.org,2002:int"


def _scalar(yaml_file: YamlFile, *path: str | int) -> ScalarNode:
    node = yaml_file.docs[0]
    for key in path:
        assert node is not None
        node = node.value[key] if isinstance(key, int) else mapping_get(node, key)
    assert isinstance(node, ScalarNode)
    return node


def test_decode_bom_removed_and_reported() -> None:
    text, bom = decode(b"\xef\xbb\xbfa: 1\r\n", "f.yaml")
    assert (text, bom) == ("a: 1\r\n", True)
    assert decode(b"a: 1", "f.yaml") == ("a: 1", False)


def test_decode_keeps_crlf_and_missing_final_newline() -> None:
    assert decode(b"a: 1\r\nb: 2", "f.yaml") == ("a: 1\r\nb: 2", False)


def test_decode_non_utf8_yaml_error_with_line() -> None:
    with pytest.raises(YamlError) as info:
        decode(b"a: 1\nb: 2\nc: caf\xe9\n", "values.yaml")
    assert info.value.line == 3
    assert str(info.value) == "values.yaml:3: not UTF-8 text"


def test_encode_restores_bom() -> None:
    assert encode("a: é", True) == b"\xef\xbb\xbfa: \xc3\xa9"
    assert encode("a", False) == b"a"


@pytest.mark.parametrize(
    ("text", "newline"),
    [
        ("a: 1\nb: 2\n", "\n"),
        ("a: 1\r\nb: 2\r\n", "\r\n"),
        ("a: 1\r\nb: 2\r\nc: 3\n", "\r\n"),
        ("a: 1\r\nb: 2\n", "\r\n"),
        ("a: 1\r\nb: 2\nc: 3\n", "\n"),
        ("a: 1", "\n"),
    ],
)
def test_detect_newline_majority(text: str, newline: str) -> None:
    assert detect_newline(text) == newline


def test_parse_bytes_keeps_text_bom_and_newline() -> None:
    yaml_file = parse_bytes(b"\xef\xbb\xbfa: 1\r\nb: x", "f.yaml")
    assert yaml_file.text == "a: 1\r\nb: x"
    assert yaml_file.bom
    assert yaml_file.newline == "\r\n"
    assert to_data(yaml_file) == [{"a": Typed(INT, "1"), "b": "x"}]


def test_parse_text_broken_yaml_error_has_line() -> None:
    with pytest.raises(YamlError) as info:
        parse_text("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert info.value.path == "f.yaml"
    assert info.value.line is not None
    assert info.value.line >= 2
    assert "not valid YAML" in str(info.value)
    assert str(info.value).startswith(f"f.yaml:{info.value.line}: ")


def test_parse_text_bad_indentation_error_line() -> None:
    with pytest.raises(YamlError) as info:
        parse_text("a:\n  b: 1\n c: 2\n", "f.yaml")
    assert info.value.line == 3


def test_parse_text_multi_document_and_empty_documents() -> None:
    yaml_file = parse_text("---\na: 1\n---\n---\nb: x\n...\n", "f.yaml")
    assert yaml_file.multi_document
    assert len(yaml_file.docs) == 3
    assert [index for index, _ in iter_documents(yaml_file)] == [0, 1, 2]
    empty = Typed("tag:yaml.org,2002:null", "")
    assert to_data(yaml_file) == [{"a": Typed(INT, "1")}, empty, {"b": "x"}]
    assert yaml_file.pointer(2, ("b",)) == "/2/b"


def test_pointer_single_document_has_no_index() -> None:
    yaml_file = parse_text("a: 1\n", "f.yaml")
    assert yaml_file.pointer(0, ("a", 0)) == "/a/0"


def test_to_pointer_escapes_tilde_and_slash() -> None:
    assert to_pointer(("a/b", "c~d", 3)) == "/a~1b/c~0d/3"
    assert to_pointer(()) == ""


def test_line_of_counts_from_one() -> None:
    yaml_file = parse_text("a: 1\r\nb: 2\r\n", "f.yaml")
    assert yaml_file.line_of(0) == 1
    assert yaml_file.line_of(yaml_file.text.index("b")) == 2


def test_to_data_typed_scalars_differ_from_strings() -> None:
    yaml_file = parse_text('a: 1.10\nb: "1.10"\nc: yes\nd: ~\ne: \nf: 0123\ng: true\n', "f.yaml")
    data = to_data(yaml_file)[0]
    assert isinstance(data, dict)
    assert data["a"] == Typed("tag:yaml.org,2002:float", "1.10")
    assert data["b"] == "1.10"
    assert data["c"] == "yes"
    assert data["d"] == Typed("tag:yaml.org,2002:null", "~")
    assert data["e"] == Typed("tag:yaml.org,2002:null", "")
    assert data["f"] == Typed(INT, "0123")
    assert data["g"] == Typed("tag:yaml.org,2002:bool", "true")


def test_to_data_merge_keys_own_keys_win() -> None:
    text = (
        "base: &base\n  tag: v1\n  pullPolicy: Always\n"
        "web:\n  <<: *base\n  tag: v2\n"
    )
    data = to_data(parse_text(text, "f.yaml"))[0]
    assert data == {
        "base": {"tag": "v1", "pullPolicy": "Always"},
        "web": {"tag": "v2", "pullPolicy": "Always"},
    }


def test_to_data_merge_sequence_first_source_wins() -> None:
    text = "a: &a {x: a, y: a}\nb: &b {x: b, z: b}\nc:\n  <<: [*a, *b]\n"
    data = to_data(parse_text(text, "f.yaml"))[0]
    assert isinstance(data, dict)
    assert data["c"] == {"x": "a", "y": "a", "z": "b"}


def test_to_data_nested_merges_applied() -> None:
    text = "a: &a {x: a}\nb: &b\n  <<: *a\n  y: b\nc:\n  <<: *b\n  z: c\n"
    data = to_data(parse_text(text, "f.yaml"))[0]
    assert isinstance(data, dict)
    assert data["c"] == {"x": "a", "y": "b", "z": "c"}


def _billion_laughs(levels: int, width: int) -> str:
    lines = ['l0: &l0 ["lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("expand", [to_data, node_paths], ids=["to_data", "node_paths"])
def test_alias_bomb_refused_quickly(expand: object) -> None:
    yaml_file = parse_text(_billion_laughs(10, 9), "bomb.yaml")
    started = time.perf_counter()
    with pytest.raises(YamlError) as info:
        expand(yaml_file)  # type: ignore[operator]
    assert time.perf_counter() - started < 1.0
    assert "alias expansion exceeds" in str(info.value)
    assert info.value.path == "bomb.yaml"


def test_alias_fanout_below_bound_expands() -> None:
    data = to_data(parse_text(_billion_laughs(4, 9), "f.yaml"))[0]
    assert isinstance(data, dict)
    assert len(data["l3"]) == 9
    assert data["l3"][8] == [[["lol"]] * 9] * 9


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a, b: 1}\n"])
def test_recursive_alias_yaml_error_not_recursion_error(text: str) -> None:
    yaml_file = parse_text(text, "f.yaml")
    with pytest.raises(YamlError, match="recursive alias"):
        to_data(yaml_file)
    with pytest.raises(YamlError, match="recursive alias"):
        node_paths(yaml_file)


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 40_000 + "]" * 40_000 + "\n", "- " * 40_000 + "x\n"],
    ids=["flow", "block"],
)
def test_deep_nesting_yaml_error_not_crash(text: str) -> None:
    with pytest.raises(YamlError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        parse_text(text, "deep.yaml")


@pytest.mark.parametrize("anchor", ["", "&top "])
def test_nesting_at_bound_is_data(anchor: str) -> None:
    yaml_file = parse_text(anchor + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", "f.yaml")
    data = to_data(yaml_file)[0]
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(data, list)
        data = data[0]
    assert data == []
    # With an anchor the paths are walked at the bound; without, no node can repeat.
    assert len(node_paths(yaml_file)) == (MAX_DEPTH if anchor else 0)


@pytest.mark.parametrize(
    "text",
    [
        "a: {b: 1}\nc: [x, y]\n",
        "a: &x {b: 1}\nc: *x\n",
        "a: {<<: {b: 1}, c: 2}\n",
        "a: {!!merge <<: {b: 1}}\n",
        "- !!str 1\n- 2\n",
    ],
)
def test_node_paths_skipped_only_where_no_node_repeats(text: str) -> None:
    """The shortcut (an empty answer) must agree with the walk: every node it leaves out
    appears at exactly one path. The walk's answer is the oracle."""
    yaml_file = parse_text(text, "f.yaml")
    walked: dict[int, list[tuple[int, tuple[str | int, ...]]]] = {}
    for doc_index, doc in enumerate(yaml_file.docs):
        if doc is not None:
            _collect_paths(doc, doc_index, (), walked, _Budget(MAX_EXPANDED_NODES, "f.yaml"))
    repeated = any(len(paths) > 1 for paths in walked.values())
    found = node_paths(yaml_file)
    assert (found == walked) if may_share_nodes(text) else (found == {} and not repeated)


def test_node_paths_alias_lists_definition_first() -> None:
    yaml_file = parse_text(
        "images:\n- &web\n  name: web\n  newTag: v1\ncopy:\n- *web\n- *web\n", "f.yaml"
    )
    tag = _scalar(yaml_file, "images", 0, "newTag")
    assert node_paths(yaml_file)[id(tag)] == [
        (0, ("images", 0, "newTag")),
        (0, ("copy", 0, "newTag")),
        (0, ("copy", 1, "newTag")),
    ]


def test_node_paths_merged_values_but_not_overridden_ones() -> None:
    yaml_file = parse_text("base: &b\n  tag: v1\n  x: 1\nweb:\n  <<: *b\n  tag: v2\n", "f.yaml")
    paths = node_paths(yaml_file)
    assert paths[id(_scalar(yaml_file, "base", "tag"))] == [(0, ("base", "tag"))]
    assert paths[id(_scalar(yaml_file, "base", "x"))] == [(0, ("base", "x")), (0, ("web", "x"))]


def test_node_paths_nested_merge_uses_real_key_path() -> None:
    yaml_file = parse_text("a: &a {x: 1}\nb: &b\n  <<: *a\n  y: 2\nc:\n  <<: *b\n", "f.yaml")
    x = _scalar(yaml_file, "a", "x")
    assert node_paths(yaml_file)[id(x)] == [(0, ("a", "x")), (0, ("b", "x")), (0, ("c", "x"))]


def test_node_paths_multi_document() -> None:
    yaml_file = parse_text("a: 1\n---\nb: &x 2\nc: *x\n", "f.yaml")
    b = yaml_file.docs[1]
    assert isinstance(b, MappingNode)
    node = mapping_get(b, "b")
    assert node_paths(yaml_file)[id(node)] == [(1, ("b",)), (1, ("c",))]


def test_walk_yields_anchored_node_once_at_definition() -> None:
    yaml_file = parse_text("a: &v x\nb: *v\nc:\n  - *v\n  - y\n", "f.yaml")
    doc = yaml_file.docs[0]
    assert doc is not None
    visited = [(path, scalar_value(node)) for path, node, _ in walk(doc)]
    assert visited == [((), None), (("a",), "x"), (("c",), None), (("c", 1), "y")]


def test_walk_does_not_follow_merge_keys() -> None:
    yaml_file = parse_text("a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n", "f.yaml")
    doc = yaml_file.docs[0]
    assert doc is not None
    assert [path for path, _, _ in walk(doc)] == [(), ("a",), ("a", "x"), ("b",), ("b", "y")]


def test_scalar_text_and_value_by_type() -> None:
    yaml_file = parse_text("s: v1\nf: 1.10\nn: ~\nm: {}\n", "f.yaml")
    assert scalar_text(_scalar(yaml_file, "s")) == "v1"
    assert scalar_text(_scalar(yaml_file, "f")) is None
    assert scalar_value(_scalar(yaml_file, "f")) == "1.10"
    assert scalar_value(_scalar(yaml_file, "n")) is None
    doc = yaml_file.docs[0]
    assert doc is not None
    assert scalar_value(mapping_get(doc, "m")) is None
    assert mapping_get(doc, "missing") is None
    assert scalar_text(None) is None


def test_check_not_encrypted_sops_refused() -> None:
    yaml_file = parse_text(
        "a: ENC[AES256_GCM,data:x]\n---\nsops:\n  mac: ENC[AES256_GCM,data:y]\n  version: 3.8.1\n",
        "secret.yaml",
    )
    with pytest.raises(EditRefusedError) as info:
        check_not_encrypted(yaml_file)
    assert str(info.value).startswith("secret.yaml: refusing to edit a SOPS-encrypted file")


@pytest.mark.parametrize(
    "text", ["sops: enabled\n", "sops:\n  version: 3\n", "a:\n  sops: {mac: x}\n"]
)
def test_check_not_encrypted_other_sops_keys_allowed(text: str) -> None:
    check_not_encrypted(parse_text(text, "f.yaml"))
