"""Explicit key paths (`request.key`): dotted Helm-style paths and JSON pointers."""

from __future__ import annotations

import pytest

from promoter.editing import BumpRequest, Context, edit_bytes, pointer
from promoter.editing.pointer import Segment, parse_key
from promoter.editing.source import parse_bytes
from promoter.errors import EditRefusedError, InputError, TargetNotFoundError
from promoter.imageref import parse_image_ref

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64

VALUES = b"""backend:
  image:
    repository: ghcr.io/acme/web
    tag: 1.4.1 # keep
frontend:
  image:
    repository: ghcr.io/acme/web
    tag: "1.4.1"
labels:
  app.kubernetes.io/version: v1
annotations:
  a/b:
    c~d: ghcr.io/acme/web:1.4.1
sidecars:
  - name: log
    version: v1
"""


def _bump(raw: bytes, key: str, image: str = "ghcr.io/acme/web:1.4.2") -> bytes:
    return edit_bytes(raw, "values.yaml", BumpRequest(parse_image_ref(image), key=key)).after


# --- parse_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("backend.image.tag", (False, ["backend", "image", "tag"])),
        ("images[0].newTag", (False, ["images", 0, "newTag"])),
        ("images.0.newTag", (False, ["images", "0", "newTag"])),
        ("a[0][12]", (False, ["a", 0, 12])),
        (r"labels.app\.kubernetes\.io/version", (False, ["labels", "app.kubernetes.io/version"])),
        (r"a\\b.c", (False, ["a\\b", "c"])),
        ("/backend/image/tag", (True, ["backend", "image", "tag"])),
        ("/a~1b/c~0d/~01", (True, ["a/b", "c~d", "~1"])),
        ("/", (True, [""])),
    ],
)
def test_parse_key_forms(key: str, expected: tuple[bool, list[Segment]]) -> None:
    assert parse_key(key) == expected


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("a..b", "empty segment at character 3"),
        (".a", "empty segment at character 1"),
        ("a.", "empty segment at the end"),
        ("a[x]", r"expected \[<index>\]"),
        ("a[1", r"expected \[<index>\]"),
        ("a]b", "unexpected ']'"),
    ],
)
def test_parse_key_malformed_rejected(key: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_key(key)


# --- where a key lands ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["backend.image.tag", "/backend/image/tag"])
def test_find_plain_tag_set_and_neighbour_left(key: str) -> None:
    assert _bump(VALUES, key) == VALUES.replace(b"tag: 1.4.1 # keep", b"tag: 1.4.2 # keep")


def test_find_mapping_with_tag_sets_tag() -> None:
    after = _bump(VALUES, "frontend.image")
    assert after == VALUES.replace(b'tag: "1.4.1"', b'tag: "1.4.2"')


def test_find_escaped_dot_key() -> None:
    after = _bump(VALUES, r"labels.app\.kubernetes\.io/version", "ghcr.io/acme/web:v2")
    assert after == VALUES.replace(b"version: v1\nannotations", b"version: v2\nannotations")


def test_find_json_pointer_escapes_reference_updated() -> None:
    after = _bump(VALUES, "/annotations/a~1b/c~0d")
    assert after == VALUES.replace(b"c~d: ghcr.io/acme/web:1.4.1", b"c~d: ghcr.io/acme/web:1.4.2")


@pytest.mark.parametrize(
    "key", ["sidecars[0].version", "sidecars.0.version", "/sidecars/0/version"]
)
def test_find_sequence_index_forms(key: str) -> None:
    after = _bump(VALUES, key, "ghcr.io/acme/log:v2")
    assert after == VALUES.replace(b"    version: v1", b"    version: v2")


def test_find_numeric_plain_value_gets_quoted() -> None:
    raw = b"image:\n  tag: 1.9\n"
    assert _bump(raw, "image.tag", "ghcr.io/acme/web:1.10") == b'image:\n  tag: "1.10"\n'


def test_find_null_value_set() -> None:
    assert _bump(b"image:\n  tag:\n", "image.tag") == b"image:\n  tag: 1.4.2\n"


def test_find_digest_only_request_sets_empty_value_to_digest() -> None:
    raw = b'version: ""\n'
    after = _bump(raw, "version", f"ghcr.io/acme/web@{DIGEST_B}")
    assert after == f'version: "{DIGEST_B}"\n'.encode()


def test_find_digest_only_request_into_a_tag_refused() -> None:
    with pytest.raises(EditRefusedError, match="digest-only promotion would leave the tag 'v1'"):
        _bump(b"version: v1\n", "version", f"ghcr.io/acme/web@{DIGEST_B}")


def test_find_digest_value_gets_request_digest() -> None:
    raw = f"pin: {DIGEST_A}\n".encode()
    after = _bump(raw, "pin", f"ghcr.io/acme/web:1.4.2@{DIGEST_B}")
    assert after == f"pin: {DIGEST_B}\n".encode()


def test_find_digest_value_tag_only_refused() -> None:
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _bump(f"pin: {DIGEST_A}\n".encode(), "pin")


def test_find_pinned_reference_tag_only_refused() -> None:
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _bump(f"ref: ghcr.io/acme/web:1.0@{DIGEST_A}\n".encode(), "ref")


def test_find_reference_of_other_repository_refused() -> None:
    with pytest.raises(EditRefusedError, match=r"another repository than ghcr\.io/acme/web"):
        _bump(b"ref: ghcr.io/acme/api:1.0\n", "ref")


def test_find_mapping_with_tag_and_digest_sets_both() -> None:
    raw = f"image:\n  repository: ghcr.io/acme/web\n  tag: v1\n  digest: {DIGEST_A}\n".encode()
    after = _bump(raw, "image", f"ghcr.io/acme/web:v2@{DIGEST_B}")
    assert after == raw.replace(b"tag: v1", b"tag: v2").replace(
        DIGEST_A.encode(), DIGEST_B.encode()
    )


def test_find_mapping_digest_only_request_sets_digest_removes_tag() -> None:
    raw = f"image:\n  tag: v1\n  digest: {DIGEST_A}\n".encode()
    after = _bump(raw, "image", f"ghcr.io/acme/web@{DIGEST_B}")
    assert after == f"image:\n  digest: {DIGEST_B}\n".encode()


def test_find_mapping_pinned_tag_only_refused() -> None:
    raw = f"image:\n  tag: v1\n  digest: {DIGEST_A}\n".encode()
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _bump(raw, "image")


def test_find_mapping_without_digest_key_digest_only_refused() -> None:
    with pytest.raises(EditRefusedError, match="no `digest` key"):
        _bump(b"image:\n  tag: v1\n", "image", f"ghcr.io/acme/web@{DIGEST_B}")


def test_find_mapping_of_other_repository_refused() -> None:
    raw = b"image:\n  registry: docker.io\n  repository: bitnami/nginx\n  tag: v1\n"
    with pytest.raises(EditRefusedError, match=r"is the image docker\.io/bitnami/nginx") as info:
        _bump(raw, "image")
    assert info.value.field == "/image"


@pytest.mark.parametrize(("key", "what"), [("sidecars", "a list"), ("labels", "without a `tag`")])
def test_find_collection_refused(key: str, what: str) -> None:
    with pytest.raises(EditRefusedError, match=what):
        _bump(VALUES, key)


def test_find_template_refused() -> None:
    with pytest.raises(EditRefusedError, match="template"):
        _bump(b'tag: "{{ .Values.tag }}"\n', "tag")


def test_find_without_key_returns_nothing() -> None:
    yaml_file = parse_bytes(VALUES, "values.yaml")
    request = BumpRequest(parse_image_ref("ghcr.io/acme/web:2"))
    assert pointer.find(yaml_file, request, Context()) == []


# --- missing keys and aliases ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason", "line"),
    [
        ("backend.image.digest", "no key 'digest' under /backend/image", 3),
        ("/backend/nope/tag", "no key 'nope' under /backend", 2),
        ("sidecars[3].version", "/sidecars is a list of 1, no item 3", 15),
        ("backend.image.tag.x", "/backend/image/tag is a scalar, cannot descend to 'x'", 4),
        ("missing", "no key 'missing' under the document root", 1),
    ],
)
def test_find_missing_key_names_key_and_line(key: str, reason: str, line: int) -> None:
    with pytest.raises(TargetNotFoundError) as info:
        _bump(VALUES, key)
    assert str(info.value) == f"values.yaml:{line}: key {key} not found ({reason})"


ANCHORED = b"""defaults: &defaults
  tag: v1
base: &v v1
prod:
  tag: *v
merged:
  <<: *defaults
copy: *defaults
"""


def test_find_alias_refused_naming_anchor() -> None:
    with pytest.raises(EditRefusedError) as info:
        _bump(ANCHORED, "prod.tag")
    assert str(info.value) == (
        "values.yaml:5: /prod/tag: value comes from an alias (*name) or a merge (<<); "
        "edit the anchored value at /base (line 3) instead"
    )


@pytest.mark.parametrize(("key", "line"), [("merged.tag", 7), ("/copy/tag", 8)])
def test_find_merge_or_aliased_mapping_refused(key: str, line: int) -> None:
    with pytest.raises(EditRefusedError, match="edit the anchored value at /defaults/tag") as info:
        _bump(ANCHORED, key)
    assert info.value.line == line


def test_find_anchor_edit_reaches_aliases() -> None:
    after = _bump(ANCHORED, "defaults.tag", "ghcr.io/acme/web:v2")
    assert after == ANCHORED.replace(b"  tag: v1\n", b"  tag: v2\n")


# --- multi-document files -------------------------------------------------------------------

MULTI = b"""kind: A
spec:
  version: v1
---
kind: B
spec:
  version: v1
---
kind: C
"""


def test_find_pointer_with_document_index() -> None:
    after = _bump(MULTI, "/1/spec/version", "ghcr.io/acme/web:v2")
    assert after == MULTI.replace(
        b"kind: B\nspec:\n  version: v1", b"kind: B\nspec:\n  version: v2"
    )


def test_find_dotted_path_every_document_that_has_it() -> None:
    after = _bump(MULTI, "spec.version", "ghcr.io/acme/web:v2")
    assert after == MULTI.replace(b"version: v1", b"version: v2")


def test_find_pointer_without_index_every_document_that_has_it() -> None:
    after = _bump(MULTI, "/spec/version", "ghcr.io/acme/web:v2")
    assert after == MULTI.replace(b"version: v1", b"version: v2")


def test_find_pointer_document_index_out_of_range() -> None:
    with pytest.raises(TargetNotFoundError, match="no document 5"):
        _bump(MULTI, "/5/spec/version")


def test_find_document_index_missing_path_reports_that_document() -> None:
    with pytest.raises(TargetNotFoundError) as info:
        _bump(MULTI, "/2/spec/version")
    assert str(info.value) == (
        "values.yaml:9: key /2/spec/version not found (no key 'spec' under the document root)"
    )


def test_find_crlf_bom_kept() -> None:
    raw = "\ufeffimage:\r\n  tag: v1\r\n".encode()
    assert _bump(raw, "image.tag", "ghcr.io/acme/web:v2") == raw.replace(b"v1", b"v2")
