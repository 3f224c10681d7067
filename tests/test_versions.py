"""Version order for the no-downgrade rule: only versions are ordered, never other tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.versions import compare_versions, is_downgrade, tag_of


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.4.2", "1.4.10", -1),
        ("1.10", "1.9.9", 1),
        ("v2.0", "2.0.0", 0),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-rc.2", "1.0.0-rc.10", -1),
        ("1.0.0-alpha", "1.0.0-1", 1),
        ("1.0.0+build.5", "1.0.0", 0),
        ("2024.05.01", "2024.4.30", 1),
        ("latest", "1.0", None),
        ("3f2a9c1", "1.0", None),
        ("sha-3f2a9c1", "sha-1111111", None),
    ],
)
def test_compare_versions_table(a: str, b: str, expected: int | None) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == (None if expected is None else -expected)


versions = st.tuples(*[st.integers(0, 50)] * 3).map(lambda t: ".".join(map(str, t)))


@given(versions, versions)
def test_compare_versions_agrees_with_numeric_tuples(a: str, b: str) -> None:
    ta = tuple(int(x) for x in a.split("."))
    tb = tuple(int(x) for x in b.split("."))
    assert compare_versions(a, b) == (ta > tb) - (ta < tb)


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
