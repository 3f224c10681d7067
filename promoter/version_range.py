"""SemVer ranges: which versions an environment takes (`policies.semver`).

The range syntax is the one Flux, Kargo and Renovate users write (node-semver's, which
Masterminds/semver follows): comparators `=`, `!=`, `<`, `<=`, `>`, `>=` joined by
spaces or commas (all must hold), alternatives joined by `||`, partial versions and
wildcards (`1`, `1.2`, `1.x`, `*`), caret (`^1.2.3`: the same major, or the same minor
below 1.0), tilde (`~1.2.3`: the same minor) and hyphen ranges (`1.2 - 2.3.4`).

Pre-releases: a version with a pre-release (`2.0.0-rc.1`) is in a range only when one of
the comparators it satisfies names a pre-release of the same `major.minor.patch`, as
node-semver does; so `>=1.0.0` takes no pre-release at all ("no pre-releases past
staging") and `>=2.0.0-rc.1 <3` takes `2.0.0-rc.2` but not `2.1.0-rc.1`. A tag that is
no SemVer release (`latest`, a commit id, a four-part version) is in no range.

A leaf: owns no I/O and imports nothing of promoter's.
"""

from __future__ import annotations

import re

MAX_RANGE = 256
"""The longest range a config may hold."""

Version = tuple[int, int, int, tuple[str, ...]]
"""(major, minor, patch, pre-release identifiers)."""
Comparator = tuple[str, Version]
"""(operator, version): the primitive comparators every range is rewritten into."""

_TAG = re.compile(
    r"[vV]?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_PARTIAL = re.compile(
    r"[vV]?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*])(?:\.(?P<patch>\d+|[xX*])"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?)?)?"
)
_COMPARATOR = re.compile(r"(?P<op>\^|~>?|[<>]=?|=|!=)?\s*(?P<version>\S+)")
_WILD = ("x", "X", "*")
_ZERO: tuple[str, ...] = ("0",)
"""The lowest pre-release: `<2.0.0-0` stops below every 2.0.0 pre-release."""
_BELOW = "<*"
"""`<` to a bound promoter made (`^1` is `>=1.0.0 <*2.0.0-0`): it orders like `<`, but
names no pre-release of the user's, so it lets none in."""


class RangeError(ValueError):
    """Text that is not a SemVer range; the message says where."""


def parse_tag(tag: str) -> Version | None:
    """The version a tag names (`1.4.2`, `v2.0.0-rc.1`, build metadata ignored); None for a
    tag that is not a three-part SemVer version."""
    match = _TAG.fullmatch(tag)
    if match is None:
        return None
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    return (int(match["major"]), int(match["minor"]), int(match["patch"]), pre)


def parse_range(text: str) -> tuple[tuple[Comparator, ...], ...]:
    """The alternatives of a range, each a tuple of primitive comparators; RangeError for
    anything else (checked when promoter.yaml loads)."""
    if not text.strip() or len(text) > MAX_RANGE:
        raise RangeError(f"expected a range of 1 to {MAX_RANGE} characters")
    return tuple(_parse_set(part.strip()) for part in text.split("||"))


def satisfies(tag: str, text: str) -> bool:
    """Whether `tag` is a version in the range `text` (see the module's pre-release rule)."""
    version = parse_tag(tag)
    if version is None:
        return False
    return any(_in_set(version, alternative) for alternative in parse_range(text))


def _parse_set(text: str) -> tuple[Comparator, ...]:
    if not text:
        raise RangeError("an empty alternative between '||'")
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen is not None:
        low, high = _partial(hyphen[1]), _partial(hyphen[2])
        return (*_at_least(low), *_at_most(high))
    found: list[Comparator] = []
    words = [w for w in re.split(r"[\s,]+", _join_operators(text)) if w]
    for word in words:
        match = _COMPARATOR.fullmatch(word)
        if match is None:
            raise RangeError(f"not a comparator: {word[:40]!r}")
        found += _desugar(match["op"] or "=", _partial(match["version"]))
    return tuple(found)


def _join_operators(text: str) -> str:
    """`>= 1.2` → `>=1.2`: an operator written apart from its version."""
    return re.sub(r"(\^|~>?|[<>]=?|!=|=)\s+", r"\1", text)


Partial = tuple[int | None, int | None, int | None, tuple[str, ...]]


def _partial(text: str) -> Partial:
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise RangeError(f"not a version: {text[:40]!r}")
    parts: list[int | None] = []
    for name in ("major", "minor", "patch"):
        value = match[name]
        parts.append(None if value is None or value in _WILD else int(value))
    for index in range(1, 3):  # `1.x.3` is `1.x`
        if parts[index - 1] is None:
            parts[index] = None
    pre = tuple(match["pre"].split(".")) if match["pre"] and parts[2] is not None else ()
    return (parts[0], parts[1], parts[2], pre)


def _low(p: Partial) -> Version:
    return (p[0] or 0, p[1] or 0, p[2] or 0, p[3])


def _next(p: Partial) -> Version | None:
    """The first version past a partial one (`1.2` → `1.3.0-0`); None when it is `*`."""
    major, minor, _, _ = p
    if major is None:
        return None
    if minor is None:
        return (major + 1, 0, 0, _ZERO)
    return (major, minor + 1, 0, _ZERO)


def _at_least(p: Partial) -> list[Comparator]:
    return [(">=", _low(p))]


def _at_most(p: Partial) -> list[Comparator]:
    if p[2] is not None:
        return [("<=", _low(p))]
    upper = _next(p)
    return [] if upper is None else [(_BELOW, upper)]


def _desugar(op: str, p: Partial) -> list[Comparator]:
    major, minor, patch, _ = p
    exact = patch is not None
    if op in ("=", "") and exact:
        return [("=", _low(p))]
    if op == "!=":
        if not exact:
            raise RangeError("'!=' needs a full version")
        return [("!=", _low(p))]
    if op == "=":  # a partial version: its whole span
        upper = _next(p)
        return [(">=", _low(p))] + ([] if upper is None else [(_BELOW, upper)])
    if op == ">=":
        return [(">=", _low(p))]
    if op == "<":
        low = _low(p)
        return [("<", low)] if exact else [(_BELOW, (low[0], low[1], low[2], _ZERO))]
    if op == "<=":
        return _at_most(p)
    if op == ">":
        if exact:
            return [(">", _low(p))]
        upper = _next(p)
        if upper is None:  # above every version: nothing
            return [(_BELOW, (0, 0, 0, _ZERO))]
        return [(">=", (upper[0], upper[1], upper[2], ()))]
    if op in ("~", "~>"):
        if major is None:
            return [(">=", (0, 0, 0, ()))]
        upper = (major + 1, 0, 0, _ZERO) if minor is None else (major, minor + 1, 0, _ZERO)
        return [(">=", _low(p)), (_BELOW, upper)]
    # caret: below the next change of the first non-zero part given
    if major is None:
        return [(">=", (0, 0, 0, ()))]
    if major > 0 or minor is None:
        upper = (major + 1, 0, 0, _ZERO)
    elif minor > 0 or patch is None:
        upper = (0, minor + 1, 0, _ZERO)
    else:
        upper = (0, 0, patch + 1, _ZERO)
    return [(">=", _low(p)), (_BELOW, upper)]


def _in_set(version: Version, comparators: tuple[Comparator, ...]) -> bool:
    if not all(_holds(version, op, bound) for op, bound in comparators):
        return False
    if not version[3]:
        return True
    return any(op != _BELOW and bound[3] and bound[:3] == version[:3]
               for op, bound in comparators)  # fmt: skip


def _holds(version: Version, op: str, bound: Version) -> bool:
    order = _compare(version, bound)
    return {
        "=": order == 0, "!=": order != 0, "<": order < 0, _BELOW: order < 0, "<=": order <= 0,
        ">": order > 0, ">=": order >= 0,
    }[op]  # fmt: skip


def _compare(a: Version, b: Version) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    return _compare_pre(a[3], b[3])


def _compare_pre(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """SemVer 2.0.0 §11: a release is above its pre-releases; identifiers compare numbers
    numerically, below words, which compare as ASCII; a longer list of equal ones is above."""
    if a == b:
        return 0
    if not a or not b:
        return 1 if not a else -1
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return -1 if len(a) < len(b) else 1
