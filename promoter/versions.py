"""Version order: which of two image tags is newer, said only when that is certain.

A racing pipeline may land a newer version between our read and our push; re-applying
an older one on the new tip would be a downgrade, so it is left out as `superseded`. The
opposite mistake is worse: calling a new build older skips it, exit 0, and CI looks green
while nothing was promoted. So two tags are ordered only when their shapes agree and the
parts that differ can be ordered; anything else is unordered (None) and promotes.

- Releases (`v1.4.2`, `1.4`): by core, then SemVer pre-releases made of words and numbers
  (`rc.1` < `rc.2` < release); git describe (`v1.5.1-10-g0abc45`) after its tag, by commit
  count. A commit-id suffix (`1.5.1-f00d123`) orders only by its core.
- Other tags with digits (`build-123`, `123`, `2026.12.04`, `20261204-1203`): by their
  numbers when both have the same shape (text between the numbers); dates never against
  plain numbers.
- No digits (`latest`, `main`), a bare commit id: never ordered.

A leaf: owns no I/O and imports nothing of promoter's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

ORDERS = ("semver", "numeric", "lexical", "none")
"""`version_order` values: certain order (default), numbers of same-shaped tags, plain
text, never ordered."""

MAX_TAG = 128
"""A tag's limit in the OCI grammar; longer text is not a tag and is never ordered."""

_RELEASE = re.compile(
    r"[vV]?(?P<core>\d+(?:\.\d+)+)(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<meta>[0-9A-Za-z.-]+))?"
)
_DESCRIBE = re.compile(r"(?P<base>.+)-(?P<count>\d+)-g(?P<hash>[0-9a-f]{4,40})(?:-dirty)?")
_HEX = re.compile(r"[0-9a-f]{7,40}")
_WORD = re.compile(r"(?P<word>[A-Za-z]+)(?:[-_]?(?P<number>[1-9]\d*|0))?")
_DATE = re.compile(
    r"(?:19[7-9]\d|2[01]\d\d)"
    r"(?:(?P<sep>[-._])(?:0?[1-9]|1[0-2])(?P=sep)(?:0?[1-9]|[12]\d|3[01])(?!\d)"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
)
_HASH_LABELS = frozenset({"sha", "sha1", "sha256", "git", "commit", "rev", "hash"})

_Key = TypeVar("_Key", int, str, tuple[int, ...], tuple[str, int])


@dataclass(frozen=True, slots=True)
class Release:
    """A release tag: numeric core (trailing zeros dropped, `2.0` is `2.0.0`), SemVer
    pre-release identifiers, build metadata, and for git describe the commits after the
    tag and the commit."""

    core: tuple[int, ...]
    pre: tuple[str, ...] = ()
    meta: str = ""
    commits: int = 0
    commit: str = ""


@dataclass(frozen=True, slots=True)
class _Shape:
    """Any other tag with digits: the text around its numbers, the numbers, commit ids."""

    skeleton: str
    numbers: tuple[int, ...]
    hashes: tuple[str, ...]


def parse_version(tag: str) -> Release:
    """The release a tag names (`v1.4.2`, `1.5.0-rc.1`, `v1.5.1-10-g0abc45`); ValueError
    for anything else, including a date stamp (`2026.12.04` orders as a date)."""
    if len(tag) > MAX_TAG:
        raise ValueError(f"not a version: {tag[:MAX_TAG]!r}…")
    commits, commit = 0, ""
    described = _DESCRIBE.fullmatch(tag)
    if described is not None and _RELEASE.fullmatch(described["base"]):
        tag, commits, commit = described["base"], int(described["count"]), described["hash"]
    match = _RELEASE.fullmatch(tag)
    if match is None or _DATE.match(match["core"]):
        raise ValueError(f"not a version: {tag!r}")
    core = tuple(int(part) for part in match["core"].split("."))
    while len(core) > 1 and core[-1] == 0:
        core = core[:-1]
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    return Release(core, pre, match["meta"] or "", commits, commit)


def compare_versions(a: str, b: str, order: str = "semver") -> int | None:
    """-1, 0 or 1 as tag `a` is older, equal or newer than `b`; None when unordered.

    `order` is an environment's `version_order`: `semver` (releases and same-shaped
    tags, the default), `numeric` (same-shaped tags by their numbers only), `lexical`
    (plain text, for stamps that sort as text) or `none` (never ordered: nothing is
    superseded or refused as a downgrade). Always antisymmetric: compare(a, b) is
    -compare(b, a), None both ways."""
    if order == "none" or len(a) > MAX_TAG or len(b) > MAX_TAG:
        return None
    a, b = _unprefixed(a), _unprefixed(b)
    if order == "lexical":
        return _compare_text(a, b)
    if order == "semver":
        x, y = _release(a), _release(b)
        if x is not None and y is not None:
            return _compare_releases(x, y)
        if x is not None or y is not None:  # a release against a build number or a date
            return None
    return _compare_shapes(_shape(a), _shape(b))


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
    """True when `old` holds a version certainly newer than `new` (as editors report them)."""
    old_tag, new_tag = tag_of(old), tag_of(new)
    if old_tag is None or new_tag is None:
        return False
    return compare_versions(old_tag, new_tag, order) == 1


def _unprefixed(tag: str) -> str:
    """`v1.4` is `1.4`, `v120` is `120`; `vnext` stays."""
    return tag[1:] if tag[:1] in ("v", "V") and tag[1:2].isdigit() else tag


def _release(tag: str) -> Release | None:
    try:
        return parse_version(tag)
    except ValueError:
        return None


def _sign(x: _Key, y: _Key) -> int:
    return (x > y) - (x < y)


def _compare_releases(x: Release, y: Release) -> int | None:
    """Core first; then the pre-release; then commits after the tag (describe)."""
    if x.core != y.core:
        return _sign(x.core, y.core)
    if x.pre != y.pre and ((x.commits and x.pre) or (y.commits and y.pre)):
        return None  # commits after `rc.1` may come before or after `rc.2` or the release
    found = _compare_pre(x.pre, y.pre)
    if found != 0:
        return found
    if x.commits != y.commits:
        return _sign(x.commits, y.commits)
    if x.commit != y.commit or x.meta != y.meta:  # same count on other commits, other builds
        return None
    return 0


def _compare_pre(a: tuple[str, ...], b: tuple[str, ...]) -> int | None:
    """SemVer precedence, where it is certain: a release is newer than a pre-release that
    starts with a word (`rc.1`, not a build number `-7` nor a commit id `-f00d123`)."""
    if a == b:
        return 0
    if not a or not b:
        other = b or a
        if not isinstance(_ident(other[0]), tuple) or any(_ident(i) is None for i in other):
            return None
        return 1 if not a else -1
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        kx, ky = _ident(x), _ident(y)
        if isinstance(kx, int) and isinstance(ky, int):
            return _sign(kx, ky)
        if isinstance(kx, tuple) and isinstance(ky, tuple):
            return _sign(kx, ky)
        return None  # a commit id, or a number against a word: no certain order
    longer = a if len(a) > len(b) else b
    if any(_ident(i) is None for i in longer[min(len(a), len(b)) :]):
        return None
    return -1 if len(a) < len(b) else 1


def _ident(text: str) -> int | tuple[str, int] | None:
    """A pre-release identifier's sort key: a number, a word with an optional number
    (`rc`, `rc1`, `beta-2`), or None when it has no order (a commit id, `0123`)."""
    if text.isdigit():
        return int(text) if text == "0" or not text.startswith("0") else None
    if _is_hash(text):
        return None
    word = _WORD.fullmatch(text)
    if word is None:
        return None
    return (word["word"], -1 if word["number"] is None else int(word["number"]))


def _is_hash(chunk: str, label: str = "") -> bool:
    """A commit id: 7–40 hex digits with a letter (all digits read as a number), or any
    hex after a label such as `sha-`."""
    if label.lower() in _HASH_LABELS:
        return re.fullmatch(r"[0-9a-f]{4,64}", chunk) is not None
    return _HEX.fullmatch(chunk) is not None and not chunk.isdigit()


def _chunks(tag: str) -> list[tuple[str, bool]]:
    """The tag split at separators, each piece with whether it is a commit id (after a
    label such as `sha-`, or describe's `g<id>`)."""
    described = _DESCRIBE.fullmatch(tag) is not None
    parts = re.split(r"([^0-9A-Za-z]+)", tag)
    found: list[tuple[str, bool]] = []
    label = ""
    for index, part in enumerate(parts):
        if index % 2:  # a separator
            found.append((part, False))
            continue
        last = index == len(parts) - 1 or (index == len(parts) - 3 and parts[-1] == "dirty")
        found.append((part, _is_hash(part, label) or (described and last and part[:1] == "g")))
        label = part
    return found


def _shape(tag: str) -> _Shape | None:
    """Numbers and the text around them, commit ids set apart; None for a tag without
    numbers (`latest`, a bare commit id)."""
    dated = _DATE.match(tag) is not None
    skeleton: list[str] = ["date:" if dated else ""]
    numbers: list[int] = []
    hashes: list[str] = []
    for part, is_hash in _chunks(tag):
        if is_hash:
            skeleton.append("<id>")
            hashes.append(part)
            continue
        for piece in re.split(r"(\d+)", part):
            if piece.isdigit():
                # a compact stamp (YYYYMMDD) is only ordered against one as long
                skeleton.append(f"#{len(piece)}" if dated and len(piece) > 4 else "#")
                numbers.append(int(piece))
            else:
                skeleton.append(piece)
    if not numbers:
        return None
    return _Shape("".join(skeleton), tuple(numbers), tuple(hashes))


def _compare_shapes(x: _Shape | None, y: _Shape | None) -> int | None:
    if x is None or y is None or x.skeleton != y.skeleton:
        return None
    if x.numbers != y.numbers:
        return _sign(x.numbers, y.numbers)
    return 0 if x.hashes == y.hashes else None


def _compare_text(a: str, b: str) -> int | None:
    """Plain text order, unless the texts part inside a commit id, or one continues the
    other with one; never for tags without digits."""
    if _shape(a) is None or _shape(b) is None:
        return None
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    for tag in (a, b):
        end = 0
        for part, is_hash in _chunks(tag):
            start, end = end, end + len(part)
            if is_hash and (start <= common < end or (end > common == min(len(a), len(b)))):
                return None
    return _sign(a, b)
