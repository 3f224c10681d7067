"""Version order: which of two image tags is newer, and whether a change goes backwards.

A racing pipeline may land a newer version between our read and our push; re-applying
an older one on the new tip would be a downgrade. Versions are compared only when both
sides are versions (SemVer-like `v1.4.2`, `1.4`, `2024.05.01`, with optional
pre-release); tags such as `latest` or git SHAs have no order, and then nothing is
refused. A leaf: owns no I/O and imports nothing of promoter's.
"""

from __future__ import annotations

import re

_VERSION = re.compile(
    r"^[vV]?(?P<core>\d+(?:\.\d+)*)(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


def parse_version(tag: str) -> tuple[tuple[int, ...], tuple[tuple[int, int | str], ...] | None]:
    """(numeric core, pre-release identifiers or None) of a version tag; ValueError if none."""
    match = _VERSION.fullmatch(tag)
    if match is None:
        raise ValueError(f"not a version: {tag!r}")
    core = tuple(int(part) for part in match["core"].split("."))
    while len(core) > 1 and core[-1] == 0:
        core = core[:-1]
    pre = match["pre"]
    if pre is None:
        return core, None
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return core, ids


def compare_versions(a: str, b: str, order: str = "semver") -> int | None:
    """-1, 0 or 1 as version `a` is older, equal or newer than `b`; None if unordered.

    `order` is how an environment's tags sort (`version_order` in promoter.yaml):
    `semver` (SemVer-like, the default), `numeric` (build numbers, `v` prefix allowed) or
    `lexical` (date stamps such as `2026.12.04-1203`)."""
    if order == "lexical":
        return (a > b) - (a < b)
    if order == "numeric":
        x, y = a.lstrip("vV"), b.lstrip("vV")
        if not (x.isdigit() and y.isdigit()):
            return None
        return (int(x) > int(y)) - (int(x) < int(y))
    try:
        core_a, pre_a = parse_version(a)
        core_b, pre_b = parse_version(b)
    except ValueError:
        return None
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    if pre_a == pre_b:
        return 0
    if pre_a is None:
        return 1
    if pre_b is None:
        return -1
    return -1 if pre_a < pre_b else 1


def tag_of(value: str | None) -> str | None:
    """The tag in a value an editor reports: a bare tag or `repo:tag[@digest]`."""
    if not value:
        return None
    value = value.split("@", 1)[0]
    last = value.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return value if "/" not in value else None


def is_downgrade(old: str | None, new: str, order: str = "semver") -> bool:
    """True when `old` holds a version newer than `new` (both as editors report them)."""
    old_tag, new_tag = tag_of(old), tag_of(new)
    if old_tag is None or new_tag is None:
        return False
    return compare_versions(old_tag, new_tag, order) == 1
