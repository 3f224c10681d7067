"""`version_range`: SemVer ranges as node-semver reads them, pre-release rule included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.version_range import RangeError, parse_range, parse_tag, satisfies

CASES = [
    # comparators, joined by spaces or commas (all must hold)
    (">=1.0.0", "1.2.3", True),
    (">=1.0.0", "0.9.9", False),
    (">= 1.0.0, < 2.0.0", "1.9.9", True),
    (">=1.0.0 <2.0.0", "2.0.0", False),
    (">1.2.3", "1.2.3", False),
    ("<=1.2.3", "1.2.3", True),
    ("=1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.4", False),
    ("!=1.2.3", "1.2.4", True),
    ("!=1.2.3", "1.2.3", False),
    # partial versions and wildcards
    ("1.x", "1.9.0", True),
    ("1.x", "2.0.0", False),
    ("1.2", "1.2.7", True),
    ("1.2.*", "1.3.0", False),
    ("*", "0.0.1", True),
    ("x", "99.0.0", True),
    (">1.2", "1.3.0", True),
    (">1.2", "1.2.9", False),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    # caret and tilde
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^1.2", "1.9.0", True),
    ("^0.x", "0.9.0", True),
    ("^0.x", "1.0.0", False),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.2.0", True),
    ("~1", "1.9.9", True),
    ("~1", "2.0.0", False),
    ("~>1.2.3", "1.2.5", True),
    # hyphen ranges and alternatives
    ("1.2 - 2.3.4", "2.3.4", True),
    ("1.2 - 2.3.4", "2.3.5", False),
    ("1.2 - 2.3.4", "1.1.9", False),
    ("1.2.3 - 2", "2.9.9", True),
    ("1.2.3 - 2", "3.0.0", False),
    ("<2 || >=5", "5.0.0", True),
    ("<2 || >=5", "3.0.0", False),
    # pre-releases: only where a comparator names one of the same major.minor.patch
    (">=1.0.0", "2.0.0-rc.1", False),
    ("*", "1.0.0-alpha", False),
    (">=2.0.0-rc.1 <3", "2.0.0-rc.2", True),
    (">=2.0.0-rc.1 <3", "2.0.0-rc.0", False),
    (">=2.0.0-rc.1 <3", "2.1.0-rc.1", False),
    (">=2.0.0-rc.1 <3", "2.0.0", True),
    ("^1.2.3-beta.2", "1.2.3-beta.10", True),
    ("^1.2.3-beta.2", "1.2.4-beta.1", False),
    ("<2.0.0", "2.0.0-rc.1", False),
    ("~1.2.3-beta.2", "1.2.3-beta.4", True),
    # tags: a leading v and build metadata are fine; anything else is no version
    (">=1.0.0", "v1.4.2", True),
    (">=1.0.0", "1.4.2+build.7", True),
    ("*", "latest", False),
    ("*", "1.2.3.4", False),
    ("*", "1.2", False),
    ("*", "01.2.3", False),
]


@pytest.mark.parametrize(("text", "tag", "inside"), CASES)
def test_satisfies_as_node_semver_does(text: str, tag: str, inside: bool) -> None:
    assert satisfies(tag, text) is inside


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a range of 1 to 256 characters"),
        (">=1 " * 80, "expected a range of 1 to 256 characters"),
        (">=1 ||", "an empty alternative between '||'"),
        (">=1.0 <2.x.y", "not a version: '2.x.y'"),
        ("!=1.2", "'!=' needs a full version"),
        ("~=1.2", "not a version: '=1.2'"),
        ("latest", "not a version: 'latest'"),
    ],
)
def test_a_bad_range_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(RangeError) as caught:
        parse_range(text)
    assert str(caught.value) == message


def _versions() -> st.SearchStrategy[str]:
    number = st.integers(min_value=0, max_value=30)
    pre = st.lists(st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "10"]), max_size=2)
    return st.builds(
        lambda a, b, c, p: f"{a}.{b}.{c}" + (f"-{'.'.join(p)}" if p else ""),
        number, number, number, pre,
    )  # fmt: skip


@given(_versions())
def test_a_version_is_in_its_own_caret_tilde_and_exact_ranges(tag: str) -> None:
    for op in ("", "=", "^", "~", ">=", "<="):
        assert satisfies(tag, f"{op}{tag}"), op
    assert not satisfies(tag, f">{tag}")
    assert not satisfies(tag, f"<{tag}")


@given(_versions(), _versions())
def test_ranges_agree_with_the_order_of_releases(a: str, b: str) -> None:
    va, vb = parse_tag(a), parse_tag(b)
    assert va is not None
    assert vb is not None
    if va[3] or vb[3]:
        return  # the pre-release rule: covered by the table
    assert satisfies(a, f">={b}") == (va[:3] >= vb[:3])
    assert satisfies(a, f"{b} - {b}") == (va[:3] == vb[:3])
