"""Policies, windows, freezes and moments: their promoter.yaml and freeze-file nodes →
`Policies`, `Windows` and `FreezeWindow` values, with precise errors."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml.nodes import Node, ScalarNode, SequenceNode

from promoter import version_range
from promoter.config.files import compose_one, excerpt
from promoter.config.model import DAY_NAMES, FreezeWindow, Policies, WindowRule, Windows
from promoter.config.nodes import NAME_PATTERN, NAME_RULE, NodeReader, describe, find_entry
from promoter.versions import ORDERS
from promoter.yamlfile import NULL_TAG, tag_of

DURATION_PATTERN = r"^([0-9]+[smhdw])+$"
MOMENT_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

ALWAYS = datetime(1970, 1, 1, tzinfo=timezone.utc)
FOREVER = datetime(9999, 12, 31, tzinfo=timezone.utc)
"""A freeze without `until` holds until its entry is removed."""

MAX_TAGS_PATTERN = 256
"""A `tags:` pattern's limit: a tag has at most 128 characters, a longer pattern is a
mistake (and a bound on what a hostile promoter.yaml makes every run match)."""


def parse_freezes(
    reader: NodeReader, text: str
) -> tuple[tuple[tuple[str, ...], FreezeWindow], ...]:
    """A freeze file: a list of `{reason, environments?, start?, until?}`; without
    `until` a freeze holds until its entry is removed."""
    root = compose_one(text, reader.name)
    if root is None or (isinstance(root, ScalarNode) and tag_of(root) == NULL_TAG):
        return ()
    if not isinstance(root, SequenceNode):
        raise reader.error(root, None, f"expected a list of freezes, got {describe(root)}")
    found = []
    for index, node in enumerate(root.value):
        where = f"[{index}]"
        entries = reader.mapping(node, where, ("reason", "environments", "start", "until"))
        reason_node = reader.required(node, where, entries, "reason", "say why")
        reason = reader.string(reason_node, f"{where}.reason")
        envs_node = find_entry(entries, "environments")
        envs: tuple[str, ...] = ()
        if envs_node is not None:
            envs = reader.strings(envs_node, f"{where}.environments", NAME_PATTERN, NAME_RULE)
        start_node, until_node = find_entry(entries, "start"), find_entry(entries, "until")
        start = (
            ALWAYS
            if start_node is None
            else parse_moment(reader, start_node, f"{where}.start", end=False)
        )
        end = (
            FOREVER
            if until_node is None
            else parse_moment(reader, until_node, f"{where}.until", end=True)
        )
        if end <= start:
            raise reader.error(until_node or node, f"{where}.until", "must be after start")
        found.append((envs, FreezeWindow(start, end, reason)))
    return tuple(found)


CHECK_NAME_PATTERN = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]{1,100}"
"""A check's name: GitHub and GitLab allow most text; no control or bidi characters."""


def parse_policies(reader: NodeReader, node: Node, where: str, inherited: Policies) -> Policies:
    found = inherited
    keys = (
        "soak", "freeze", "no_downgrade", "windows", "require_review", "version_order", "tags",
        "semver", "verify_image", "require_source_pipeline", "require_source_checks",
    )  # fmt: skip
    for key, _, value in reader.mapping(node, where, keys):
        at = f"{where}.{key}"
        if key == "soak":
            text = reader.string(value, at, DURATION_PATTERN, "duration (use e.g. 30m, 24h, 2d)")
            try:
                found = replace(found, soak=_duration(text))
            except (ValueError, OverflowError) as exc:  # past int's digits or timedelta
                raise reader.error(value, at, "duration too long") from exc
        elif key == "freeze":
            if not isinstance(value, SequenceNode):
                raise reader.error(value, at, f"expected a list, got {describe(value)}")
            windows = tuple(
                parse_freeze_window(reader, w, f"{at}[{i}]") for i, w in enumerate(value.value)
            )
            found = replace(found, freeze=windows)
        elif key == "windows":
            found = replace(found, windows=parse_windows(reader, value, at))
        elif key == "require_review":
            found = replace(found, require_review=reader.boolean(value, at))
        elif key == "version_order":
            order = reader.string(value, at)
            if order not in ORDERS:
                raise reader.error(
                    value, at, f"expected semver, numeric, lexical or none, got {excerpt(order)}"
                )
            found = replace(found, version_order=order)
        elif key == "tags":
            found = replace(found, tags=parse_tags_pattern(reader, value, at))
        elif key == "semver":
            found = replace(found, semver=parse_semver_range(reader, value, at))
        elif key == "verify_image":
            found = replace(found, verify_image=reader.boolean(value, at))
        elif key == "require_source_pipeline":
            found = replace(found, require_source_pipeline=reader.boolean(value, at))
        elif key == "require_source_checks":
            names = reader.strings(value, at, CHECK_NAME_PATTERN, "check name")
            if not names:
                raise reader.error(value, at, "expected at least one check name")
            found = replace(found, require_source_checks=names)
        else:
            found = replace(found, no_downgrade=reader.boolean(value, at))
    return found


def parse_tags_pattern(reader: NodeReader, node: Node, where: str) -> str:
    """A regular expression a tag must match in full, checked here so that a broken one
    fails the config, not the promotion that first meets it."""
    pattern = reader.string(node, where)
    if not pattern or len(pattern) > MAX_TAGS_PATTERN:
        raise reader.error(node, where, f"expected a pattern of 1 to {MAX_TAGS_PATTERN} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise reader.error(
            node, where, f"not a valid regular expression: {exc.msg} at position {exc.pos}"
        ) from exc
    return pattern


def parse_semver_range(reader: NodeReader, node: Node, where: str) -> str:
    """A SemVer range (`>=1.0.0 <2`, `^1.4`, `~1.4.2 || >=2.1`), checked here so that a
    broken one fails the config, not the promotion that first meets it."""
    text = reader.string(node, where)
    try:
        version_range.parse_range(text)
    except version_range.RangeError as exc:
        raise reader.error(node, where, f"not a SemVer range: {exc}") from exc
    return text


def parse_windows(reader: NodeReader, node: Node, where: str) -> Windows:
    entries = reader.mapping(node, where, ("timezone", "allow", "deny"))
    zone = "UTC"
    rules: dict[str, tuple[WindowRule, ...]] = {"allow": (), "deny": ()}
    for key, _, value in entries:
        at = f"{where}.{key}"
        if key == "timezone":
            zone = reader.string(value, at)
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise reader.error(value, at, f"unknown time zone {zone!r}") from exc
            continue
        if not isinstance(value, SequenceNode):
            raise reader.error(value, at, f"expected a list, got {describe(value)}")
        rules[key] = tuple(
            parse_window_rule(reader, r, f"{at}[{i}]") for i, r in enumerate(value.value)
        )
    return Windows(zone, rules["allow"], rules["deny"])


def parse_window_rule(reader: NodeReader, node: Node, where: str) -> WindowRule:
    entries = reader.mapping(node, where, ("days", "hours"))
    days = frozenset(range(7))
    start, end = 0, 24 * 60
    for key, _, value in entries:
        at = f"{where}.{key}"
        text = reader.string(value, at).strip().lower()
        if key == "days":
            parsed = _days(text)
            if parsed is None:
                raise reader.error(
                    value, at, f"expected days like mon-fri or sat,sun, got {excerpt(text)}"
                )
            days = parsed
        else:
            match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", text)
            if match is None or (match.group(3) == "24" and match.group(4) != "00"):
                raise reader.error(
                    value, at, f"expected hours like 09:00-17:00, got {excerpt(text)}"
                )
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start == end:
                raise reader.error(value, at, "an empty range: start and end are equal")
    return WindowRule(days, start, end)


def parse_freeze_window(reader: NodeReader, node: Node, where: str) -> FreezeWindow:
    entries = reader.mapping(node, where, ("start", "end", "reason"))
    moments: dict[str, datetime] = {}
    for key in ("start", "end"):
        value = reader.required(node, where, entries, key, "a date or datetime")
        moments[key] = parse_moment(reader, value, f"{where}.{key}", end=key == "end")
    if moments["end"] <= moments["start"]:
        raise reader.error(
            find_entry(entries, "end") or node, f"{where}.end", "must be after start"
        )
    reason_node = find_entry(entries, "reason")
    reason = None if reason_node is None else reader.string(reason_node, f"{where}.reason")
    return FreezeWindow(moments["start"], moments["end"], reason)


def parse_moment(reader: NodeReader, node: Node, where: str, *, end: bool) -> datetime:
    """A date (whole days, UTC) or an ISO datetime; naive datetimes are UTC."""
    text = str(node.value) if isinstance(node, ScalarNode) else ""
    if not re.fullmatch(MOMENT_PATTERN, text) or tag_of(node) == NULL_TAG:
        raise reader.error(
            node, where, f"expected a date (2026-12-20) or datetime, got {describe(node)}"
        )
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), timezone.utc)
        moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text).replace("t", "T"))
    except ValueError as exc:
        raise reader.error(node, where, f"invalid date {text!r}: {exc}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _days(text: str) -> frozenset[int] | None:
    """`mon-fri`, `sat,sun`, `fri-mon` (wrapping), or `daily`."""
    if text in ("daily", "all", "*"):
        return frozenset(range(7))
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first[:3] not in DAY_NAMES or (last and last[:3] not in DAY_NAMES):
            return None
        a = DAY_NAMES.index(first[:3])
        b = DAY_NAMES.index(last[:3]) if last else a
        found.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(found)


def _duration(text: str) -> timedelta:
    """`1h30m` → 90 minutes; `text` already matches `DURATION_PATTERN`."""
    pairs = re.findall(r"([0-9]+)([smhdw])", text)
    return timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in pairs))
