"""Version order: two tags are ordered only when the order is certain (issue 21). A wrong
"older" skips a promotion as superseded, exit 0, so every doubtful pair must be None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.versions import (
    MAX_TAG,
    ORDERS,
    compare_versions,
    is_downgrade,
    parse_version,
    tag_of,
)

NEWER, SAME, OLDER, UNORDERED = 1, 0, -1, None

# (a, b, how a compares with b under the default order); each row is checked both ways.
TAG_ORDER = [
    # <version>-<sha>: the commit id has no order; only a different core decides
    ("1.5.1-f00d123", "1.5.1-0abc456", UNORDERED),
    ("1.5.1-0abc456", "1.5.1-f00d123", UNORDERED),
    ("1.5.1-f00d123", "1.5.1-f00d123", SAME),
    ("1.5.1-f00d123", "1.5.1", UNORDERED),  # a build of 1.5.1, before or after its tag
    ("1.5.1-f00d123", "1.5.1-rc.1", UNORDERED),
    ("1.6.0-def1234", "1.5.1-abc1234", NEWER),
    ("1.5.1-abc", "1.6.0-def", OLDER),
    ("1.5.1-0123456", "1.5.1-1234567", UNORDERED),  # a leading zero: no SemVer number
    ("1.5.1-deadbeef", "1.5.1-1", UNORDERED),
    ("2.0.0-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", "2.0.0-0000000f", UNORDERED),
    # git describe: core, then commits after the tag; the commit id never decides
    ("v1.5.1-10-g0abc45", "1.5.1-f00d123", UNORDERED),
    ("v1.5.1-10-g0abc45", "v1.5.1-9-gfff1234", NEWER),
    ("v1.5.1-10-g0abc45", "v1.5.1-10-gfff1234", UNORDERED),  # same count, other commit
    ("v1.5.1-10-g0abc45", "1.5.1", NEWER),  # commits after the tag
    ("v1.5.1-10-g0abc45", "1.5.2", OLDER),
    ("v1.5.1-10-g0abc45", "1.5.1-rc.1", NEWER),  # 1.5.1 itself is newer than rc.1
    ("1.5.1-rc.1-3-gabc1234", "1.5.1", UNORDERED),  # after rc.1: before or after 1.5.1?
    ("1.5.1-rc.1-3-gabc1234", "1.5.1-rc.2", UNORDERED),
    ("1.5.1-10-g0abc45-dirty", "1.5.1-2-g0abc45", NEWER),
    ("main-12-gabc1234", "main-10-g0abc45", NEWER),
    # date stamps: numerically, the same shape only
    ("2026.12.04", "2026.12.05", OLDER),
    ("2024.05.01", "2024.4.30", NEWER),
    ("20261204-1203", "20261205-0800", OLDER),
    ("20261204-1203", "20261204-0800", NEWER),
    ("2026-12-04T1203", "2026-12-04T0903", NEWER),
    ("2026-12-04T1203", "20261204-1203", UNORDERED),  # another shape
    ("20261205", "202612041203", UNORDERED),  # a compact stamp of another length
    ("2026.12.04", "1.5.0", UNORDERED),  # a date is not a release
    ("20261204", "123", UNORDERED),  # nor a build number
    ("2026.12.04-f00d123", "2026.12.04-abc1234", UNORDERED),
    ("2026.12.05-f00d123", "2026.12.04-abc1234", NEWER),
    # build numbers: numerically, the same shape only
    ("build-123", "build-99", NEWER),
    ("123", "99", NEWER),
    ("v120", "99", NEWER),
    ("build-123", "123", UNORDERED),
    ("build-123", "ci-124", UNORDERED),
    ("123", "1.5.0", UNORDERED),  # a build number is not a release
    ("main-124-f00d123", "main-123-abc1234", NEWER),
    ("main-123-f00d123", "main-123-abc1234", UNORDERED),
    ("1.5.1-123", "1.5.1-99", NEWER),
    ("1.5.1-123", "1.5.1", UNORDERED),  # build 123 of 1.5.1, or before it?
    ("1.5.1-123", "1.5.1-rc.1", UNORDERED),  # a number against a word
    # releases and SemVer pre-releases made of words and numbers
    ("1.4.2", "1.4.10", OLDER),
    ("1.10", "1.9.9", NEWER),
    ("v2.0", "2.0.0", SAME),
    ("1.5.0-rc.1", "1.5.0-rc.2", OLDER),
    ("1.5.0-rc.2", "1.5.0", OLDER),
    ("1.0.0-rc.2", "1.0.0-rc.10", OLDER),
    ("1.0.0-rc1", "1.0.0-rc10", OLDER),
    ("1.0.0-beta-2", "1.0.0-beta-10", OLDER),
    ("1.5.0-alpha", "1.5.0-beta.2", OLDER),
    ("1.5.0-alpha", "1.5.0-alpha.1", OLDER),
    ("1.5.0-alpha", "1.5.0", OLDER),
    ("1.0.0-alpha", "1.0.0-1", UNORDERED),  # a word against a build number
    ("1.0.0+build.5", "1.0.0", UNORDERED),  # metadata has no precedence
    ("1.0.0+build.5", "1.0.0+build.5", SAME),
    # tags without an order
    ("latest", "1.0", UNORDERED),
    ("latest", "latest", UNORDERED),
    ("main", "stable", UNORDERED),
    ("stable", "1.5.1", UNORDERED),
    ("3f2a9c1", "1.0", UNORDERED),
    ("3f2a9c1", "3f2a9c1", UNORDERED),
    ("0abc4567def", "f00d123", UNORDERED),
    ("sha-3f2a9c1", "sha-1111111", UNORDERED),
    ("sha-1111111", "sha-2222222", UNORDERED),  # hex after a sha- label, digits or not
    ("1" * (MAX_TAG + 1), "1", UNORDERED),
]


@pytest.mark.parametrize(("a", "b", "expected"), TAG_ORDER)
def test_compare_versions_table(a: str, b: str, expected: int | None) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == (None if expected is None else -expected)
    # what a promotion of `b` over `a` does: superseded only when `a` is certainly newer
    assert is_downgrade(a, b) is (expected == NEWER)


@pytest.mark.parametrize(
    ("order", "a", "b", "expected"),
    [
        ("numeric", "build-7", "build-6", NEWER),
        ("numeric", "v120", "v99", NEWER),
        ("numeric", "1.10.0", "1.9.0", NEWER),
        ("numeric", "1.0.0-rc.1", "1.0.0", UNORDERED),  # no SemVer rules: another shape
        ("numeric", "1.5.1-f00d123", "1.5.1-0abc456", UNORDERED),
        ("numeric", "latest", "1", UNORDERED),
        ("lexical", "1.9.0", "1.10.0", NEWER),
        ("lexical", "2026.12.04-1203", "2026.11.30-0800", NEWER),
        ("lexical", "2026-f00d123", "2025-abc1234", NEWER),  # decided before the commit id
        ("lexical", "1.5.1-f00d123", "1.5.1-0abc456", UNORDERED),
        ("lexical", "1.5.1", "1.5.1-f00d123", UNORDERED),
        ("lexical", "latest", "1.0", UNORDERED),
        ("none", "1.5.1", "1.5.0", UNORDERED),
        ("none", "1.5.1", "1.5.1", UNORDERED),
        ("none", "build-2", "build-1", UNORDERED),
    ],
)
def test_compare_versions_configured_orders(
    order: str, a: str, b: str, expected: int | None
) -> None:
    assert compare_versions(a, b, order) == expected
    assert compare_versions(b, a, order) == (None if expected is None else -expected)


def test_parse_version_reads_describe_and_refuses_dates() -> None:
    found = parse_version("v1.5.1-rc.1-10-g0abc45")
    assert (found.core, found.pre, found.commits, found.commit) == (
        (1, 5, 1),
        ("rc", "1"),
        10,
        "0abc45",
    )
    assert parse_version("2.0.0").core == (2,)
    for text in ("2026.12.04", "123", "latest", "1.2.3\n", "1" * (MAX_TAG + 1)):
        with pytest.raises(ValueError, match="not a version"):
            parse_version(text)


versions = st.tuples(*[st.integers(0, 50)] * 3).map(lambda t: ".".join(map(str, t)))


@given(versions, versions)
def test_compare_versions_agrees_with_numeric_tuples(a: str, b: str) -> None:
    ta = tuple(int(x) for x in a.split("."))
    tb = tuple(int(x) for x in b.split("."))
    assert compare_versions(a, b) == (ta > tb) - (ta < tb)


_PIECES = st.sampled_from(
    [
        "1", "2", "10", "007", "2026", "12", "04", "1203", "20261204", "v", "rc", "alpha",
        "beta", "g0abc45", "f00d123", "0abc456", "deadbeef", "latest", "main", "sha", "build",
        ".", "-", "_", "+", "T",
    ]
)  # fmt: skip
tags = st.one_of(
    st.lists(_PIECES, min_size=1, max_size=8).map("".join),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,20}", fullmatch=True),
)


@given(tags, tags, st.sampled_from(ORDERS))
def test_compare_versions_is_antisymmetric(a: str, b: str, order: str) -> None:
    forward, backward = compare_versions(a, b, order), compare_versions(b, a, order)
    assert forward in (-1, 0, 1, None)
    assert backward == (None if forward is None else -forward)


@given(tags)
def test_a_tag_is_never_newer_than_itself(tag: str) -> None:
    for order in ORDERS:
        assert compare_versions(tag, tag, order) in (0, None)
        assert not is_downgrade(tag, tag, order)


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("1.4.2", "1.4.2"),
        ("ghcr.io/acme/web:1.4.2", "1.4.2"),
        ("localhost:5000/web:2", "2"),
        ("localhost:5000/web", None),
        ("web:1@sha256:" + "a" * 64, "1"),
        (None, None),
    ],
)
def test_tag_of_values_editors_report(value: str | None, tag: str | None) -> None:
    assert tag_of(value) == tag


def test_is_downgrade_only_for_ordered_versions() -> None:
    assert is_downgrade("ghcr.io/acme/web:1.5.0", "ghcr.io/acme/web:1.4.2")
    assert not is_downgrade("1.4.2", "1.5.0")
    assert not is_downgrade("1.5.0", "1.5.0")
    assert not is_downgrade("latest", "1.0.0")
    assert not is_downgrade(None, "1.0.0")
    assert not is_downgrade("ghcr.io/acme/web:1.5.1-f00d123", "ghcr.io/acme/web:1.5.1-0abc456")
    assert not is_downgrade("1.5.0", "1.4.2", "none")
