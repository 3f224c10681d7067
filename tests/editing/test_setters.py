"""Setter comments: Flux `$imagepolicy` markers and promoter's `$promoter` marker.

Most tests run the setters editor alone through the real plan → apply → verify pipeline, so
the bytes prove what this editor claims; the Flux tests compare with Flux's own golden files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.editing import BumpRequest, Context, edit_bytes, engine, setters
from promoter.editing.model import Target
from promoter.editing.source import encode, parse_bytes
from promoter.editing.verify import verify
from promoter.errors import EditRefusedError, InputError
from promoter.imageref import parse_image_ref

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
FLUX_DIGEST = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"
FLUX = "fluxcd__image-automation-controller/internal__update__testdata__setters__"


def _request(image: str, setter: str | None = None) -> BumpRequest:
    return BumpRequest(parse_image_ref(image), setter=setter)


def _setters_only(raw: bytes, request: BumpRequest, name: str = "f.yaml") -> bytes:
    """The bytes the setters editor alone produces, proven by the engine's verification."""
    yaml_file = parse_bytes(raw, name)
    edits = engine.plan(yaml_file, setters.find(yaml_file, request, Context()))
    if not edits:
        return raw
    after = engine.apply(yaml_file, edits)
    verify(yaml_file, after, edits)
    return encode(after, yaml_file.bom)


def _found(raw: bytes, request: BumpRequest) -> list[Target]:
    found = setters.find(parse_bytes(raw, "f.yaml"), request, Context())
    assert all(isinstance(item, Target) for item in found)
    return found  # type: ignore[return-value]


@pytest.fixture
def flux(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "dev"


def _flux_file(flux: Path, kind: str, name: str) -> bytes:
    return (flux / f"{FLUX}{kind}__{name}").read_bytes()


# --- Flux full-reference markers ------------------------------------------------------------


def test_find_full_reference_marker_sets_tag_and_keeps_comment() -> None:
    raw = b'spec:\n  image: ghcr.io/acme/web:1.4.1 # {"$imagepolicy": "flux-system:web"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.4.2"))
    assert after == (
        b'spec:\n  image: ghcr.io/acme/web:1.4.2 # {"$imagepolicy": "flux-system:web"}\n'
    )


@pytest.mark.parametrize(
    "comment",
    [
        '#{"$imagepolicy":"flux-system:web"}',
        '#   {  "$imagepolicy" :  "flux-system:web"  }   ',
        '# {"$imagepolicy": "flux-system:web"}\t',
    ],
)
def test_find_marker_spacing_variants_accepted(comment: str) -> None:
    raw = f"spec:\n  ref: ghcr.io/acme/web:1.4.1  {comment}\n".encode()
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.4.2"))
    assert after == raw.replace(b"1.4.1", b"1.4.2")


@pytest.mark.parametrize(
    "comment",
    [
        '# {"$imagepolicy": "flux-system:web"} trailing text',
        '# {"$imagepolicy": 3}',
        '# {"imagepolicy": "flux-system:web"}',
        '# ["$imagepolicy", "flux-system:web"]',
        '# {"$imagepolicy": "a:b:c:d"}',
    ],
)
def test_find_not_a_marker_ignored(comment: str) -> None:
    raw = f"ref: ghcr.io/acme/web:1.4.1 {comment}\n".encode()
    assert _found(raw, _request("ghcr.io/acme/web:1.4.2")) == []


def test_find_full_reference_marker_of_other_repository_left_alone() -> None:
    raw = b'ref: ghcr.io/acme/api:1.0 # {"$imagepolicy": "flux-system:api"}\n'
    assert _found(raw, _request("ghcr.io/acme/web:1.4.2")) == []


def test_find_full_reference_named_policy_keeps_written_repository() -> None:
    """Naming the policy maps it to the request; the repository as written stays (no rename)."""
    raw = b'ref: mirror.local/acme/web:1.0 # {"$imagepolicy": "flux-system:web"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.4.2", setter="flux-system:web"))
    assert after == b'ref: mirror.local/acme/web:1.4.2 # {"$imagepolicy": "flux-system:web"}\n'


def test_find_full_reference_named_policy_not_a_reference_refused() -> None:
    raw = b'ref: "" # {"$imagepolicy": "flux-system:web"}\n'
    with pytest.raises(EditRefusedError, match="not an image reference") as info:
        _found(raw, _request("ghcr.io/acme/web:1.4.2", setter="flux-system:web"))
    assert info.value.line == 1


def test_find_full_reference_pinned_tag_only_refused() -> None:
    raw = f'ref: ghcr.io/acme/web:1.4.1@{DIGEST_A} # {{"$imagepolicy": "ns:web"}}\n'.encode()
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _found(raw, _request("ghcr.io/acme/web:1.4.2"))


def test_find_full_reference_pinned_with_digest_request_updates_both() -> None:
    raw = f'ref: ghcr.io/acme/web:1.4.1@{DIGEST_A} # {{"$imagepolicy": "ns:web"}}\n'.encode()
    after = _setters_only(raw, _request(f"ghcr.io/acme/web:1.4.2@{DIGEST_B}"))
    assert after == raw.replace(b"1.4.1", b"1.4.2").replace(DIGEST_A.encode(), DIGEST_B.encode())


def test_find_template_value_refused() -> None:
    raw = b'ref: "{{ .Values.image }}" # {"$imagepolicy": "ns:web"}\n'
    assert _found(raw, _request("ghcr.io/acme/web:1.4.2")) == []
    with pytest.raises(EditRefusedError, match=r"not an image reference \(a template\?\)"):
        _found(raw, _request("ghcr.io/acme/web:1.4.2", setter="ns:web"))


def test_find_file_without_marker_token_returns_empty() -> None:
    raw = b"image: ghcr.io/acme/web:1.4.1 # a comment\n"
    assert _found(raw, _request("ghcr.io/acme/web:2")) == []


# --- :tag / :name / :digest and how a policy finds its repository ---------------------------

TAGGED = b"""images:
  - name: web
    newName: ghcr.io/acme/web # {"$imagepolicy": "flux-system:web:name"}
    newTag: 1.4.1 # {"$imagepolicy": "flux-system:web:tag"}
"""


DIGEST_MARKED = f'    digest: {DIGEST_A} # {{"$imagepolicy": "flux-system:web:digest"}}\n'.encode()


def test_find_tag_marker_resolved_by_name_marker() -> None:
    after = _setters_only(TAGGED, _request("ghcr.io/acme/web:1.4.2"))
    assert after == TAGGED.replace(b"newTag: 1.4.1", b"newTag: 1.4.2")


def test_find_name_marker_never_edited() -> None:
    found = _found(TAGGED, _request("ghcr.io/acme/web:1.4.2"))
    assert [target.path for target in found] == [("images", 0, "newTag")]


def test_find_tag_marker_of_other_repository_left_alone() -> None:
    assert _found(TAGGED, _request("ghcr.io/acme/api:1.4.2")) == []


@pytest.mark.parametrize("setter", ["flux-system:web", "web", "flux-system:web:tag"])
def test_find_tag_marker_resolved_by_request_setter(setter: str) -> None:
    raw = b'deploy:\n  version: v1 # {"$imagepolicy": "flux-system:web:tag"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2", setter=setter))
    assert after == raw.replace(b"version: v1", b"version: v2")


def test_find_tag_marker_request_setter_of_other_policy_does_not_resolve() -> None:
    raw = b'deploy:\n  version: v1 # {"$imagepolicy": "flux-system:web:tag"}\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2", setter="flux-system:api")) == []


def test_find_tag_marker_resolved_by_full_reference_marker_elsewhere() -> None:
    raw = b"""containers:
  - image: ghcr.io/acme/web:v1 # {"$imagepolicy": "ns:web"}
env:
  - name: VERSION
    value: v1 # {"$imagepolicy": "ns:web:tag"}
"""
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"web:v1", b"web:v2").replace(b"value: v1", b"value: v2")


def test_find_full_reference_marker_wins_over_name_marker() -> None:
    raw = b"""a:
  name: ghcr.io/acme/old # {"$imagepolicy": "ns:web:name"}
  tag: v1 # {"$imagepolicy": "ns:web:tag"}
b: ghcr.io/acme/web:v1 # {"$imagepolicy": "ns:web"}
"""
    assert _found(raw, _request("ghcr.io/acme/old:v2")) == []
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"tag: v1", b"tag: v2").replace(b"web:v1", b"web:v2")


@pytest.mark.parametrize(
    "siblings",
    [
        "registry: ghcr.io\n  repository: acme/web\n",
        "repository: ghcr.io/acme/web\n",
        "name: web\n  newName: ghcr.io/acme/web\n",
        "name: ghcr.io/acme/web\n",
        "image: ghcr.io/acme/web\n",
    ],
)
def test_find_tag_marker_resolved_by_sibling_keys(siblings: str) -> None:
    raw = f'block:\n  {siblings}  version: v1 # {{"$imagepolicy": "ns:web:tag"}}\n'.encode()
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"version: v1", b"version: v2")


def test_find_tag_marker_without_any_repository_left_alone() -> None:
    raw = b'version: v1 # {"$imagepolicy": "ns:web:tag"}\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_tag_marker_numeric_value_quoted() -> None:
    raw = b'image:\n  repository: ghcr.io/acme/web\n  tag: 1.9 # {"$imagepolicy": "ns:web:tag"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.10"))
    assert after == raw.replace(b"tag: 1.9", b'tag: "1.10"')


def test_find_tag_marker_on_empty_value_sets_it() -> None:
    raw = b'image:\n  repository: ghcr.io/acme/web\n  tag: # {"$imagepolicy": "ns:web:tag"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"tag: #", b"tag: v2 #")


def test_find_marker_on_sequence_item() -> None:
    raw = b'args:\n  - --image\n  - ghcr.io/acme/web:v1 # {"$imagepolicy": "ns:web"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"web:v1", b"web:v2")


def test_find_digest_marker_set_when_request_has_digest() -> None:
    raw = TAGGED + DIGEST_MARKED
    after = _setters_only(raw, _request(f"ghcr.io/acme/web:1.4.2@{DIGEST_B}"))
    assert after == raw.replace(b"1.4.1", b"1.4.2").replace(DIGEST_A.encode(), DIGEST_B.encode())


def test_find_digest_marker_holding_digest_tag_only_refused() -> None:
    raw = TAGGED + DIGEST_MARKED
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _found(raw, _request("ghcr.io/acme/web:1.4.2"))
    assert info.value.line == 5


def test_find_empty_digest_marker_tag_only_request_sets_tag() -> None:
    raw = TAGGED + b'    digest: "" # {"$imagepolicy": "flux-system:web:digest"}\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.4.2"))
    assert after == raw.replace(b"1.4.1", b"1.4.2")


def test_find_digest_only_request_with_digest_marker_refused_for_marked_tag() -> None:
    """The marked tag would stay beside the new digest, and removing it would take its
    marker along (docs/configuration.md, "Digests")."""
    raw = TAGGED + DIGEST_MARKED
    with pytest.raises(EditRefusedError, match="digest-only promotion would leave the tag"):
        _setters_only(raw, _request(f"ghcr.io/acme/web@{DIGEST_B}"))


def test_find_digest_only_request_with_tag_marker_alone_refused() -> None:
    with pytest.raises(EditRefusedError, match="cannot hold the digest"):
        _found(TAGGED, _request(f"ghcr.io/acme/web@{DIGEST_B}"))


def test_find_unmarked_sibling_digest_follows_tag() -> None:
    raw = TAGGED + f"    digest: {DIGEST_A}\n".encode()
    after = _setters_only(raw, _request(f"ghcr.io/acme/web:1.4.2@{DIGEST_B}"))
    assert after == raw.replace(b"1.4.1", b"1.4.2").replace(DIGEST_A.encode(), DIGEST_B.encode())
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _found(raw, _request("ghcr.io/acme/web:1.4.2"))


def test_find_sibling_digest_of_other_policy_not_touched() -> None:
    """As in Flux's kustomization.yml: the digest beside the tag follows its own policy."""
    raw = (
        TAGGED
        + (
            f'    newDigest: {DIGEST_A} # {{"$imagepolicy": "flux-system:api:digest"}}\n'
            'other: ghcr.io/acme/api # {"$imagepolicy": "flux-system:api"}\n'
        ).encode()
    )
    after = _setters_only(raw, _request("ghcr.io/acme/web:1.4.2"))
    assert after == raw.replace(b"1.4.1", b"1.4.2")


# --- promoter's own marker ------------------------------------------------------------------

PROMOTER_MARKED = f"""pipeline:
  version: "1.4.1" # {{"$promoter": "localhost:5000/web:tag"}}
  pin: {DIGEST_A} # {{"$promoter": "localhost:5000/web:digest"}}
  artifact: localhost:5000/web:1.4.1@{DIGEST_A} # {{"$promoter":"localhost:5000/web"}}
  other: "1.4.1" # {{"$promoter": "localhost:5000/api:tag"}}
""".encode()


def test_find_promoter_markers_all_forms() -> None:
    after = _setters_only(PROMOTER_MARKED, _request(f"localhost:5000/web:1.4.2@{DIGEST_B}"))
    expected = (
        PROMOTER_MARKED.replace(b'version: "1.4.1"', b'version: "1.4.2"')
        .replace(b"web:1.4.1@", b"web:1.4.2@")
        .replace(DIGEST_A.encode(), DIGEST_B.encode())
    )
    assert after == expected


def test_find_promoter_marker_pinned_tag_only_refused() -> None:
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _found(PROMOTER_MARKED, _request("localhost:5000/web:1.4.2"))
    assert info.value.line == 3


def test_find_promoter_marker_matches_docker_hub_aliases() -> None:
    raw = b'tool:\n  version: "1.0" # {"$promoter": "docker.io/library/nginx:tag"}\n'
    after = _setters_only(raw, _request("nginx:1.1"))
    assert after == raw.replace(b'"1.0"', b'"1.1"')


@pytest.mark.parametrize(
    ("value", "owner", "field"),
    [
        ("localhost:5000/web:tag", "localhost:5000/web", "tag"),
        ("localhost:5000/web:digest", "localhost:5000/web", "digest"),
        ("localhost:5000/web", "localhost:5000/web", None),
        ("ghcr.io/acme/tag", "ghcr.io/acme/tag", None),
        ("web:tag", "web", "tag"),
    ],
)
def test_collect_markers_promoter_value_split(value: str, owner: str, field: str | None) -> None:
    raw = f'x: "1" # {{"$promoter": "{value}"}}\n'.encode()
    (marker,) = setters.collect_markers(parse_bytes(raw, "f.yaml"))
    assert (marker.kind, marker.owner, marker.field) == ("$promoter", owner, field)


@pytest.mark.parametrize("value", ["ghcr.io/acme/web:1.2", "localhost:5000", "Bad/Name:tag"])
def test_collect_markers_promoter_value_not_a_repository_rejected(value: str) -> None:
    raw = f'x: "1" # {{"$promoter": "{value}"}}\n'.encode()
    with pytest.raises(InputError, match="must name a repository") as info:
        setters.collect_markers(parse_bytes(raw, "f.yaml"))
    assert info.value.line == 1


def test_collect_markers_malformed_promoter_text_in_content_ignored() -> None:
    raw = b'script: |\n  echo # {"$promoter": "web:1.2"}\nnote: \'a # {"$promoter": "web:1.2"}\'\n'
    assert setters.collect_markers(parse_bytes(raw, "f.yaml")) == []


# --- where a marker applies -----------------------------------------------------------------


def test_find_marker_inside_quoted_string_ignored() -> None:
    raw = b"""a: 'v1 # {"$promoter": "ghcr.io/acme/web:tag"}'
b: "v1 # {\\"$promoter\\": \\"ghcr.io/acme/web:tag\\"}"
c: 'x
  # {"$promoter": "ghcr.io/acme/web:tag"}
  y'
"""
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_comment_after_quoted_hash_applies() -> None:
    raw = b"""a: 'v1 # not a comment' # {"$promoter": "ghcr.io/acme/web"}\n"""
    with pytest.raises(EditRefusedError, match="not an image reference"):
        _found(raw, _request("ghcr.io/acme/web:v2"))


def test_find_marker_inside_block_scalar_content_ignored() -> None:
    raw = b'patch: |\n  tag: v1 # {"$promoter": "ghcr.io/acme/web:tag"}\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_marker_on_block_scalar_header_refused() -> None:
    raw = b'script: |  # {"$promoter": "ghcr.io/acme/web:tag"}\n  v1\n'
    with pytest.raises(EditRefusedError, match="block scalar") as info:
        _found(raw, _request("ghcr.io/acme/web:v2"))
    assert info.value.line == 1


def test_find_marker_on_block_scalar_of_other_image_ignored() -> None:
    raw = b'script: >-  # {"$promoter": "ghcr.io/acme/api:tag"}\n  v1\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_marker_on_alias_refused() -> None:
    raw = b'base: &v v1\ntag: *v # {"$promoter": "ghcr.io/acme/web:tag"}\n'
    with pytest.raises(EditRefusedError, match="alias") as info:
        _found(raw, _request("ghcr.io/acme/web:v2"))
    assert info.value.line == 2


def test_find_marker_on_anchor_edits_once() -> None:
    raw = b'base: &v v1 # {"$promoter": "ghcr.io/acme/web:tag"}\ncopy: *v\n'
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"&v v1", b"&v v2")


def test_find_marker_on_collection_line_ignored() -> None:
    raw = b'image: # {"$imagepolicy": "ns:web"}\n  repository: ghcr.io/acme/web\n  tag: v1\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_full_line_comment_marker_ignored() -> None:
    raw = b'# {"$promoter": "ghcr.io/acme/web:tag"}\ntag: v1\n'
    assert _found(raw, _request("ghcr.io/acme/web:v2")) == []


def test_find_multi_document_paths_per_document() -> None:
    raw = (
        b'a: ghcr.io/acme/web:v1 # {"$imagepolicy": "ns:web"}\n---\n'
        b'b:\n  tag: v1 # {"$imagepolicy": "ns:web:tag"}\n'
    )
    found = _found(raw, _request("ghcr.io/acme/web:v2"))
    assert [(t.doc, t.path, t.new) for t in found] == [
        (0, ("a",), "ghcr.io/acme/web:v2"),
        (1, ("b", "tag"), "v2"),
    ]


def test_find_crlf_bom_non_ascii_bytes_kept() -> None:
    raw = (
        "\ufeff# 설정 파일\r\nspec: # 한국어\r\n"
        '  image: ghcr.io/acme/web:v1 # {"$imagepolicy": "ns:web"}\r\n'
    ).encode()
    after = _setters_only(raw, _request("ghcr.io/acme/web:v2"))
    assert after == raw.replace(b"web:v1", b"web:v2")


# --- Flux's own test data (fluxcd/image-automation-controller internal/update/testdata) -----
# Flux's TestUpdateWithSetters ran with policies automation-ns:policy =
# index.repo.fake/updated:v1.0.1, automation-ns:unchanged = image:v1.0.0 and
# automation-ns:policy-with-digest = image:v1.0.0@sha256:6745…


def test_flux_kustomization_matches_expected_except_rename(flux: Path) -> None:
    """Bumping both policies gives Flux's expected file, except `newName`: Flux renames the
    repository to the policy's (`replaced` → `index.repo.fake/updated`); promoter never does."""
    original = _flux_file(flux, "original", "kustomization.yml")
    flux_expected = _flux_file(flux, "expected", "kustomization.yml")
    name = "kustomization.yml"
    policy = _request("index.repo.fake/updated:v1.0.1", "automation-ns:policy")
    first = edit_bytes(original, name, policy)
    second = edit_bytes(first.after, name, _request(f"image:v1.0.0@{FLUX_DIGEST}"))
    ours = second.after
    assert ours == flux_expected.replace(
        b"newName: index.repo.fake/updated #", b"newName: replaced #"
    )
    assert [edit.pointer for edit in first.edits + second.edits] == [
        "/images/0/newTag",
        "/images/0/newDigest",
        "/patches/0/target/image",
    ]


def test_flux_kustomization_tag_resolved_through_name_marker(flux: Path) -> None:
    original = _flux_file(flux, "original", "kustomization.yml")
    after = _setters_only(original, _request("replaced:v1.0.1"), "kustomization.yml")
    assert after == original.replace(b"newTag: v1 #", b"newTag: v1.0.1 #")


def test_flux_kustomization_tag_only_for_digest_policy_refused(flux: Path) -> None:
    original = _flux_file(flux, "original", "kustomization.yml")
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        edit_bytes(original, "kustomization.yml", _request("image:v1.0.1"))
    assert info.value.line == 10


def test_flux_kustomization_without_extension(flux: Path) -> None:
    original = _flux_file(flux, "original", "Kustomization")
    result = edit_bytes(original, "Kustomization", _request("replaced:v1.0.1"))
    assert result.after == original.replace(b"newTag: v1 #", b"newTag: v1.0.1 #")


def test_flux_marked_matches_expected_except_rename(flux: Path) -> None:
    """The named policy's line changes version only; `unchanged`'s marker is left to it."""
    original = _flux_file(flux, "original", "marked.yaml")
    flux_expected = _flux_file(flux, "expected", "marked.yaml")
    request = _request("index.repo.fake/updated:v1.0.1", "automation-ns:policy")
    ours = _setters_only(original, request, "marked.yaml")
    assert ours == flux_expected.replace(b"index.repo.fake/updated:v1.0.1", b"image:v1.0.1")


def test_flux_marked_repository_bump_edits_every_marker(flux: Path) -> None:
    original = _flux_file(flux, "original", "marked.yaml")
    ours = _setters_only(original, _request("image:v1.0.1"), "marked.yaml")
    assert ours == original.replace(b"image: image:v1.0.0", b"image: image:v1.0.1")


def test_flux_other_namespace_marker(flux: Path) -> None:
    original = _flux_file(flux, "original", "otherns.yaml")
    assert _found(original, _request("index.repo.fake/updated:v1", "automation-ns:policy")) == []
    named = _setters_only(original, _request("ghcr.io/x/user:v1.0.1", "other-namespace:policy"))
    assert named == original.replace(b"user:v1.0.0", b"user:v1.0.1")


def test_flux_unmarked_twin_left_to_other_editors(flux: Path) -> None:
    original = _flux_file(flux, "original", "unmarked.yaml")
    assert _found(original, _request("image:v1.0.1")) == []


def test_flux_scalar_document_without_markers(flux: Path) -> None:
    original = _flux_file(flux, "original", "test.yaml")
    assert _found(original, _request("image:v1.0.1")) == []
