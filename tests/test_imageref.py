"""Image references: the OCI distribution grammar, Docker Hub normalisation, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.errors import ImageRefError, InputError
from promoter.imageref import (
    ImageRef,
    find_image_ref,
    is_valid_tag,
    parse_digest,
    parse_image_ref,
)

HEX = "0123456789abcdef" * 4
DIGEST = f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web", ImageRef(None, "web")),
        ("web:1", ImageRef(None, "web", "1")),
        ("ghcr.io/acme/web:1.4.2", ImageRef("ghcr.io", "acme/web", "1.4.2")),
        ("localhost:5000/a/b:tag", ImageRef("localhost:5000", "a/b", "tag")),
        ("localhost/a", ImageRef("localhost", "a")),
        ("[::1]:5000/x:y", ImageRef("[::1]:5000", "x", "y")),
        (
            f"registry.example.com:443/team/app@{DIGEST}",
            ImageRef("registry.example.com:443", "team/app", None, DIGEST),
        ),
        (f"web:1.2@{DIGEST}", ImageRef(None, "web", "1.2", DIGEST)),
        ("a__b", ImageRef(None, "a__b")),
        ("a-b--c", ImageRef(None, "a-b--c")),
        ("a.b", ImageRef(None, "a.b")),
        ("acme/web:V1_x-y.z", ImageRef(None, "acme/web", "V1_x-y.z")),
        ("web:_1", ImageRef(None, "web", "_1")),
        ("web:" + "a" * 128, ImageRef(None, "web", "a" * 128)),
        ("localhost:5000", ImageRef(None, "localhost", "5000")),
    ],
)
def test_parse_image_ref_valid(text: str, expected: ImageRef) -> None:
    ref = parse_image_ref(text)
    assert ref == expected
    assert str(ref) == text


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("Web", "bad path component 'Web' (must be lowercase)"),
        ("ghcr.io/Acme/web", "bad path component 'Acme' (must be lowercase)"),
        ("web:.1", "bad tag '.1'"),
        ("web:-1", "bad tag '-1'"),
        ("web:" + "a" * 129, "bad tag 'aaaa"),
        ("", "empty image reference"),
        ("web:", "bad tag ''"),
        (":tag", "missing repository name"),
        ("web@sha256:short", "bad digest 'sha256:short'"),
        ("web@sha256:" + "a" * 63, "sha256 digest needs 64 hex digits, got 63"),
        ("web@sha256:" + "A" * 64, "sha256 digest must be lowercase hex"),
        ("web@", "bad digest ''"),
        ("we b:1", "contains whitespace"),
        (" web", "contains whitespace"),
        ("web:1\n", "contains whitespace"),
        ("web::1", "bad path component 'web:'"),
        ("a___b", "bad path component 'a___b'"),
        ("a..b", "bad path component 'a..b'"),
        ("-web", "bad path component '-web'"),
        ("web-", "bad path component 'web-'"),
        ("acme//web", "bad path component ''"),
        ("acme/web/", "bad path component ''"),
        ("ghcr.io/", "missing repository path"),
        ("bad_host.io/web", "bad registry host 'bad_host.io'"),
        ("a" * 256, "name longer than 255"),
    ],
)
def test_parse_image_ref_invalid_names_the_bad_part(text: str, bad_part: str) -> None:
    with pytest.raises(ImageRefError) as info:
        parse_image_ref(text)
    assert bad_part in str(info.value)
    assert isinstance(info.value, InputError)
    assert info.value.exit_code == 2
    assert find_image_ref(text) is None


@pytest.mark.parametrize(
    "text",
    ["web", "docker.io/library/web", "index.docker.io/library/web", "docker.io/web", "library/web",
     "registry-1.docker.io/library/web:2", f"web:1@{DIGEST}"],
)
def test_same_repository_docker_hub_forms_are_equal(text: str) -> None:
    ref = parse_image_ref(text)
    assert ref.repository == "docker.io/library/web"
    assert ref.same_repository(parse_image_ref("web:9"))


@pytest.mark.parametrize(
    "text", ["ghcr.io/web", "ghcr.io/library/web", "acme/web", "docker.io/acme/web", "web2"]
)
def test_same_repository_other_registries_or_paths_differ(text: str) -> None:
    assert not parse_image_ref(text).same_repository(parse_image_ref("web"))


def test_repository_keeps_non_hub_paths_as_written() -> None:
    assert parse_image_ref("ghcr.io/web:1").repository == "ghcr.io/web"
    assert parse_image_ref("acme/web").repository == "docker.io/acme/web"


@pytest.mark.parametrize(
    ("text", "app"),
    [("ghcr.io/acme/web:1", "web"), ("nginx", "nginx"), ("localhost:5000/a/b/c", "c")],
)
def test_app_name_is_last_path_component(text: str, app: str) -> None:
    assert parse_image_ref(text).app_name == app


def test_version_prefers_tag_then_digest() -> None:
    assert parse_image_ref(f"web:1@{DIGEST}").version == "1"
    assert parse_image_ref(f"web@{DIGEST}").version == DIGEST
    assert parse_image_ref("web").version == ""


def test_with_version_keeps_name_as_written() -> None:
    ref = parse_image_ref("index.docker.io/library/web:1")
    assert str(ref.with_version("2", DIGEST)) == f"index.docker.io/library/web:2@{DIGEST}"
    assert str(ref.with_version(None, None)) == "index.docker.io/library/web"


def test_is_valid_tag_bounds() -> None:
    assert is_valid_tag("1.10")
    assert is_valid_tag("a" * 128)
    assert not is_valid_tag("a" * 129)
    assert not is_valid_tag(".a")
    assert not is_valid_tag("")
    assert not is_valid_tag("a/b")


def test_parse_digest_accepts_bare_digest_and_rejects_references() -> None:
    assert parse_digest(DIGEST) == DIGEST
    with pytest.raises(ImageRefError, match="bad digest"):
        parse_digest(f"web@{DIGEST}")


_ALNUM = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_SEPARATOR = st.sampled_from([".", "_", "__", "-", "--", "---"])


@st.composite
def _path_component(draw: st.DrawFn) -> str:
    parts = [draw(_ALNUM)]
    for _ in range(draw(st.integers(0, 2))):
        parts += [draw(_SEPARATOR), draw(_ALNUM)]
    return "".join(parts)


_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TAG = st.builds(
    str.__add__, st.sampled_from(_WORD + "_"), st.text(_WORD + "_.-", max_size=20)
)
_DOMAIN_LABEL = st.one_of(
    st.text(_WORD, min_size=1, max_size=1),
    st.builds(
        lambda a, mid, b: a + mid + b,
        st.sampled_from(_WORD),
        st.text(_WORD + "-", max_size=6),
        st.sampled_from(_WORD),
    ),
)


@st.composite
def _registry(draw: st.DrawFn) -> str:
    """A host Docker's rule recognises as a registry: has a dot or a port, or is localhost."""
    kind = draw(st.sampled_from(["dotted", "port", "localhost", "ipv6"]))
    port = draw(st.one_of(st.none(), st.integers(1, 65535).map(str)))
    if kind == "ipv6":
        host = "[" + draw(st.sampled_from(["::1", "fe80::1", "2001:db8::7"])) + "]"
    elif kind == "localhost":
        host = "localhost"
    else:
        labels = draw(st.lists(_DOMAIN_LABEL, min_size=2 if kind == "dotted" else 1, max_size=3))
        host = ".".join(labels)
        if kind == "port" and port is None:
            port = "5000"
    return host if port is None else f"{host}:{port}"


@st.composite
def _references(draw: st.DrawFn) -> ImageRef:
    registry = draw(st.one_of(st.none(), _registry()))
    components = draw(st.lists(_path_component(), min_size=1, max_size=3))
    if registry is None and len(components) > 1 and (
        "." in components[0] or components[0] == "localhost"
    ):
        components[0] = components[0].replace(".", "-").replace("localhost", "local")
    tag = draw(st.one_of(st.none(), _TAG))
    digest = draw(
        st.one_of(
            st.none(),
            st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}"),
        )
    )
    return ImageRef(registry, "/".join(components), tag, digest)


@given(_references())
def test_parse_image_ref_round_trips_generated_references(ref: ImageRef) -> None:
    text = str(ref)
    parsed = parse_image_ref(text)
    assert parsed == ref
    assert str(parsed) == text
    assert parsed.same_repository(ref)
