"""promoter.yaml text → `Config`: one walk over the composed nodes, with precise errors.

Composed (never constructed) with ruamel.yaml, so every error names file, line and field
and no YAML type guessing slips past (`base: 1.10` is a number, not a branch).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.files import compose_one, excerpt, plain, requote
from promoter.config.model import (
    DAY_NAMES,
    GROUPS,
    MODES,
    TARGET_KINDS,
    VERSION,
    App,
    Config,
    Environment,
    FreezeWindow,
    Group,
    Guards,
    Mode,
    Policies,
    Target,
    WindowRule,
    Windows,
)
from promoter.discovery import (
    did_you_mean,
    normalize_relative,
)
from promoter.errors import ConfigError, ImageRefError, PathEscapeError
from promoter.imageref import ImageRef, parse_image_ref
from promoter.sinks import EXCERPT
from promoter.yamlfile import MERGE_TAG, NULL_TAG, STR_TAG

NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$"
BRANCH_PATTERN = r"^(?![-/.])(?!.*(\.\.|//|@\{|/\.))[^\s~^:?*\[\\]+(?<![/.])(?<!\.lock)$"
LABEL_PATTERN = (
    r"^[^,\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
    r"([^,\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]{0,48}"
    r"[^,\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069])?$"
)
"""A forge label: at most 50 characters (GitHub's limit), no comma, control or bidi
character (a label is shown to reviewers as written)."""
REVIEWER_PATTERN = r"^@?[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$"
DURATION_PATTERN = r"^([0-9]+[smhdw])+$"
MOMENT_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)
HELM_KEY_PATTERN = r"^[^.\s]+(\.[^.\s]+)*$"
POINTER_PATTERN = r"^(/([^~/]|~[01])*)+$"

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_NAME_RULE = "name (letters, digits, '-' and '_'; at most 63 characters)"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SETTINGS = ("mode", "base", "labels", "reviewers", "squash", "group", "policies")
_GUARD_KEYS = ("bot_actors", "watch", "ignore")
_TARGET_OPTIONS = {"helm": "key", "file": "pointer"}
MAX_MERGES = 1000
"""Merge-key sources one file may expand (`<<: [*a, *a, ...]` nested is an alias bomb)."""

Entries = list[tuple[str, ScalarNode, Node]]


class Parser:
    """Walks the composed node tree once, building the model and recording path sites."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.paths: list[tuple[str, int, str]] = []
        self.merged = 0
        """Merge-key sources expanded so far, bounded by `MAX_MERGES` (an alias bomb)."""

    def error(self, node: Node, where: str | None, message: str) -> ConfigError:
        return ConfigError(message, path=self.name, line=node.start_mark.line + 1, field=where)

    def freezes(self, text: str) -> tuple[tuple[tuple[str, ...], FreezeWindow], ...]:
        """A freeze file: a list of `{reason, environments?, start?, until?}`; without
        `until` a freeze holds until its entry is removed."""
        root = compose_one(text, self.name)
        if root is None or (isinstance(root, ScalarNode) and root.tag == NULL_TAG):
            return ()
        if not isinstance(root, SequenceNode):
            raise self.error(root, None, f"expected a list of freezes, got {_shown(root)}")
        found = []
        for index, node in enumerate(root.value):
            where = f"[{index}]"
            entries = self.mapping(node, where, ("reason", "environments", "start", "until"))
            reason_node = self.required(node, where, entries, "reason", "say why")
            reason = self.string(reason_node, f"{where}.reason")
            envs_node = _get(entries, "environments")
            envs: tuple[str, ...] = ()
            if envs_node is not None:
                envs = self.strings(envs_node, f"{where}.environments", NAME_PATTERN, _NAME_RULE)
            start_node, until_node = _get(entries, "start"), _get(entries, "until")
            start = (
                ALWAYS
                if start_node is None
                else self.moment(start_node, f"{where}.start", end=False)
            )
            end = (
                FOREVER
                if until_node is None
                else self.moment(until_node, f"{where}.until", end=True)
            )
            if end <= start:
                raise self.error(until_node or node, f"{where}.until", "must be after start")
            found.append((envs, FreezeWindow(start, end, reason)))
        return tuple(found)

    def parse(self, text: str) -> Config:
        root = self.compose(text)
        entries = self.mapping(
            root, None, ("version", "defaults", "environments", "apps", "guards")
        )
        version_node = self.required(root, None, entries, "version", "add 'version: 1'")
        if version_node.tag != _INT or not version_node.value.isdigit():
            raise self.error(version_node, "version", f"expected 1, got {_shown(version_node)}")
        if len(version_node.value) > 6 or int(version_node.value) != VERSION:  # int(): 4300 digits
            raise self.error(
                version_node,
                "version",
                f"unsupported version {plain(version_node.value)} (this promoter reads version 1)",
            )
        defaults_node = _get(entries, "defaults")
        defaults: dict[str, Node] = {}
        if defaults_node is not None:
            defaults = {k: v for k, _, v in self.mapping(defaults_node, "defaults", _SETTINGS)}
            self.settings("defaults", "defaults", defaults, {}, None)
        env_node = self.required(root, None, entries, "environments", "declare at least one")
        environments = self.environments(env_node, defaults)
        apps_node = _get(entries, "apps")
        apps = {} if apps_node is None else self.apps(apps_node, environments)
        guards_node = _get(entries, "guards")
        guards = Guards() if guards_node is None else self.guards(guards_node)
        return Config(self.name, environments, apps, VERSION, guards)

    def guards(self, node: Node) -> Guards:
        found = {k: v for k, _, v in self.mapping(node, "guards", _GUARD_KEYS)}
        return Guards(**{key: self.globs(value, f"guards.{key}") for key, value in found.items()})

    def globs(self, node: Node, where: str) -> tuple[str, ...]:
        return self.strings(node, where, r"\S.*", "glob (it must not be empty)")

    def compose(self, text: str) -> Node:
        """The file's one document (nesting bounded, errors without source excerpts)."""
        root = compose_one(text, self.name)
        if root is None:
            raise ConfigError(
                "empty config; expected 'version: 1', 'environments' and 'apps'", path=self.name
            )
        return root

    def mapping(
        self,
        node: Node,
        where: str | None,
        allowed: tuple[str, ...] | None,
        merging: tuple[int, ...] = (),
    ) -> Entries:
        """Entries of a mapping (merge keys applied), or an error naming the bad key.

        `merging`: the mappings whose merge keys led here; one merging itself is refused,
        and so are more than `MAX_MERGES` merges in one file (each expands its aliases)."""
        if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
            return []
        if not isinstance(node, MappingNode):
            raise self.error(node, where, f"expected a mapping, got {_shown(node)}")
        entries: Entries = []
        seen: dict[str, int] = {}
        merged: Entries = []
        for key, value in node.value:
            if key.tag == MERGE_TAG:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in sources:
                    self.merged += 1
                    if id(source) in (id(node), *merging) or self.merged > MAX_MERGES:
                        raise self.error(key, where, "merge keys merge too much (or themselves)")
                    merged.extend(self.mapping(source, where, allowed, (*merging, id(node))))
                continue
            if not isinstance(key, ScalarNode) or key.tag != STR_TAG:
                raise self.error(key, where, f"expected a string key, got {_shown(key)}")
            text = str(key.value)
            child = _join(where, _segment(text))
            if text in seen:
                raise self.error(key, child, f"duplicate key (first at line {seen[text]})")
            seen[text] = key.start_mark.line + 1
            if allowed is not None and text not in allowed:
                hint = (
                    did_you_mean(text, list(allowed)) or f"; expected one of: {', '.join(allowed)}"
                )
                raise self.error(key, child, f"unknown key{hint}")
            entries.append((text, key, value))
        entries.extend(m for m in merged if m[0] not in seen)
        return entries

    def required(
        self, parent: Node, where: str | None, entries: Entries, key: str, hint: str
    ) -> Node:
        found = _get(entries, key)
        if found is None:
            raise self.error(parent, _join(where, key), f"missing required key ({hint})")
        return found

    def string(self, node: Node, where: str, pattern: str | None = None, what: str = "") -> str:
        if not isinstance(node, ScalarNode) or node.tag != STR_TAG:
            shown = str(node.value)
            hint = f' (quote it: "{shown}")' if _is_plain_scalar(node) and _is_short(shown) else ""
            raise self.error(node, where, f"expected a string, got {_shown(node)}{hint}")
        value = str(node.value)
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.error(node, where, f"{excerpt(value)} is not a valid {what}")
        return value

    def strings(self, node: Node, where: str, pattern: str, what: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, where, f"expected a list, got {_shown(node)}")
        items = [self.string(n, f"{where}[{i}]", pattern, what) for i, n in enumerate(node.value)]
        return tuple(dict.fromkeys(items))

    def environments(self, node: Node, defaults: dict[str, Node]) -> dict[str, Environment]:
        entries = self.mapping(node, "environments", None)
        if not entries:
            raise self.error(node, "environments", "declare at least one environment")
        names = [name for name, _, _ in entries]
        result: dict[str, Environment] = {}
        sources: dict[str, tuple[Node, str]] = {}
        for name, key, value in entries:
            where = f"environments.{_segment(name)}"
            self.string(key, where, NAME_PATTERN, _NAME_RULE)
            keys = (*_SETTINGS, "from", "source")
            own = {k: v for k, _, v in self.mapping(value, where, keys)}
            if "from" in own and "source" in own:
                raise self.error(
                    own["source"], f"{where}.source", "give `from` or `source`, not both"
                )
            key_name = "from" if "from" in own else "source"
            source_node = own.get(key_name)
            source = None
            if source_node is not None:
                source = self.string(source_node, f"{where}.{key_name}")
                if source not in names or source == name:
                    known = [n for n in names if n != name]
                    raise self.error(
                        source_node, f"{where}.{key_name}", unknown_environment(source, known)
                    )
                sources[name] = (source_node, source)
            result[name] = self.settings(name, where, own, defaults, source)
        self.check_cycles(sources)
        return result

    def settings(
        self,
        name: str,
        where: str,
        own: dict[str, Node],
        defaults: dict[str, Node],
        source: str | None,
    ) -> Environment:
        def pick(key: str) -> tuple[Node | None, str]:
            if key in own:
                return own[key], f"{where}.{key}"
            return defaults.get(key), f"defaults.{key}"

        mode: Mode = "pull-request"
        base = None
        node, at = pick("mode")
        if node is not None:
            text = self.string(node, at)
            if text not in MODES:
                raise self.error(
                    node, at, f"expected 'push' or 'pull-request', got {excerpt(text)}"
                )
            mode = next(m for m in MODES if m == text)
        node, at = pick("base")
        if node is not None and not (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
            base = self.string(node, at, BRANCH_PATTERN, "branch name")
            if not is_branch_name(base):
                raise self.error(node, at, f"{excerpt(base)} is not a branch name git accepts")
        node, at = pick("labels")
        labels = () if node is None else self.strings(node, at, LABEL_PATTERN, "label")
        node, at = pick("reviewers")
        reviewers = () if node is None else self.strings(node, at, REVIEWER_PATTERN, "reviewer")
        policies = Policies()
        for node, at in ((defaults.get("policies"), "defaults"), (own.get("policies"), where)):
            if node is not None:
                policies = self.policies(node, f"{at}.policies", policies)
        reviewers = tuple(r.removeprefix("@") for r in reviewers)
        node, at = pick("squash")
        squash = None if node is None else self.boolean(node, at)
        group: Group = "app"
        node, at = pick("group")
        if node is not None:
            text = self.string(node, at)
            if text not in GROUPS:
                raise self.error(node, at, f"expected 'app' or 'all', got {excerpt(text)}")
            group = "all" if text == "all" else "app"
        return Environment(name, mode, base, labels, reviewers, source, policies, squash, group)

    def policies(self, node: Node, where: str, inherited: Policies) -> Policies:
        found = inherited
        keys = ("soak", "freeze", "no_downgrade", "windows", "require_review", "version_order")
        for key, _, value in self.mapping(node, where, keys):
            at = f"{where}.{key}"
            if key == "soak":
                text = self.string(value, at, DURATION_PATTERN, "duration (use e.g. 30m, 24h, 2d)")
                try:
                    found = replace(found, soak=_duration(text))
                except (ValueError, OverflowError) as exc:  # past int's digits or timedelta
                    raise self.error(value, at, "duration too long") from exc
            elif key == "freeze":
                if not isinstance(value, SequenceNode):
                    raise self.error(value, at, f"expected a list, got {_shown(value)}")
                windows = tuple(self.window(w, f"{at}[{i}]") for i, w in enumerate(value.value))
                found = replace(found, freeze=windows)
            elif key == "windows":
                found = replace(found, windows=self.windows(value, at))
            elif key == "require_review":
                found = replace(found, require_review=self.boolean(value, at))
            elif key == "version_order":
                order = self.string(value, at)
                if order not in ("semver", "numeric", "lexical"):
                    raise self.error(
                        value, at, f"expected semver, numeric or lexical, got {excerpt(order)}"
                    )
                found = replace(found, version_order=order)
            else:
                found = replace(found, no_downgrade=self.boolean(value, at))
        return found

    def windows(self, node: Node, where: str) -> Windows:
        entries = self.mapping(node, where, ("timezone", "allow", "deny"))
        zone = "UTC"
        rules: dict[str, tuple[WindowRule, ...]] = {"allow": (), "deny": ()}
        for key, _, value in entries:
            at = f"{where}.{key}"
            if key == "timezone":
                zone = self.string(value, at)
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError) as exc:
                    raise self.error(value, at, f"unknown time zone {zone!r}") from exc
                continue
            if not isinstance(value, SequenceNode):
                raise self.error(value, at, f"expected a list, got {_shown(value)}")
            rules[key] = tuple(self.rule(r, f"{at}[{i}]") for i, r in enumerate(value.value))
        return Windows(zone, rules["allow"], rules["deny"])

    def rule(self, node: Node, where: str) -> WindowRule:
        entries = self.mapping(node, where, ("days", "hours"))
        days = frozenset(range(7))
        start, end = 0, 24 * 60
        for key, _, value in entries:
            at = f"{where}.{key}"
            text = self.string(value, at).strip().lower()
            if key == "days":
                parsed = _days(text)
                if parsed is None:
                    raise self.error(
                        value, at, f"expected days like mon-fri or sat,sun, got {excerpt(text)}"
                    )
                days = parsed
            else:
                match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", text)
                if match is None or (match.group(3) == "24" and match.group(4) != "00"):
                    raise self.error(
                        value, at, f"expected hours like 09:00-17:00, got {excerpt(text)}"
                    )
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                start, end = h1 * 60 + m1, h2 * 60 + m2
                if start == end:
                    raise self.error(value, at, "an empty range: start and end are equal")
        return WindowRule(days, start, end)

    def boolean(self, node: Node, where: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            raise self.error(node, where, f"expected true or false, got {_shown(node)}")
        return str(node.value).lower() == "true"

    def window(self, node: Node, where: str) -> FreezeWindow:
        entries = self.mapping(node, where, ("start", "end", "reason"))
        moments: dict[str, datetime] = {}
        for key in ("start", "end"):
            value = self.required(node, where, entries, key, "a date or datetime")
            moments[key] = self.moment(value, f"{where}.{key}", end=key == "end")
        if moments["end"] <= moments["start"]:
            raise self.error(_get(entries, "end") or node, f"{where}.end", "must be after start")
        reason_node = _get(entries, "reason")
        reason = None if reason_node is None else self.string(reason_node, f"{where}.reason")
        return FreezeWindow(moments["start"], moments["end"], reason)

    def moment(self, node: Node, where: str, *, end: bool) -> datetime:
        """A date (whole days, UTC) or an ISO datetime; naive datetimes are UTC."""
        text = str(node.value) if isinstance(node, ScalarNode) else ""
        if not re.fullmatch(MOMENT_PATTERN, text) or node.tag == NULL_TAG:
            raise self.error(
                node, where, f"expected a date (2026-12-20) or datetime, got {_shown(node)}"
            )
        try:
            if len(text) == 10:
                day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
                return datetime.combine(day, time(), timezone.utc)
            moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text).replace("t", "T"))
        except ValueError as exc:
            raise self.error(node, where, f"invalid date {text!r}: {exc}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def check_cycles(self, sources: dict[str, tuple[Node, str]]) -> None:
        for start in sources:
            chain, current = [start], start
            while current in sources:
                current = sources[current][1]
                if current == start:
                    node = sources[chain[-1]][0]
                    cycle = " → ".join([*chain, start])
                    raise self.error(node, f"environments.{chain[-1]}.source", f"cycle: {cycle}")
                if current in chain:
                    break
                chain.append(current)

    def apps(self, node: Node, environments: dict[str, Environment]) -> dict[str, App]:
        result: dict[str, App] = {}
        for name, key, value in self.mapping(node, "apps", None):
            where = f"apps.{_segment(name)}"
            self.string(key, where, NAME_PATTERN, _NAME_RULE)
            entries = self.mapping(value, where, ("image", "targets", "watch", "ignore"))
            image_node = self.required(key, where, entries, "image", "e.g. ghcr.io/acme/web")
            image = self.image(image_node, f"{where}.image")
            for other in result.values():
                if other.image.same_repository(image):
                    raise self.error(
                        image_node,
                        f"{where}.image",
                        f"{image} is already the image of app {other.name!r} "
                        "(list all of its files under one app)",
                    )
            targets_node = self.required(key, where, entries, "targets", "one per environment")
            targets = self.targets(targets_node, f"{where}.targets", environments)
            paths = {
                k: self.globs(v, f"{where}.{k}") for k, _, v in entries if k in ("watch", "ignore")
            }
            result[name] = App(name, image, targets, **paths)
        return result

    def image(self, node: Node, where: str) -> ImageRef:
        text = self.string(node, where)
        try:
            image = parse_image_ref(text)
        except ImageRefError as exc:
            raise self.error(node, where, requote(exc.message, text)) from exc
        if image.tag is not None or image.digest is not None:
            raise self.error(
                node,
                where,
                f"expected a repository without tag or digest, got {excerpt(text)} "
                f"(use {excerpt(image.name, 255)})",
            )
        return image

    def targets(
        self, node: Node, where: str, environments: dict[str, Environment]
    ) -> dict[str, tuple[Target, ...]]:
        entries = self.mapping(node, where, None)
        if not entries:
            raise self.error(node, where, "expected at least one environment")
        result: dict[str, tuple[Target, ...]] = {}
        for env, key, value in entries:
            at = f"{where}.{_segment(env)}"
            if env not in environments:
                raise self.error(key, at, unknown_environment(env, list(environments)))
            items = value.value if isinstance(value, SequenceNode) else [value]
            if not items:
                raise self.error(value, at, "expected at least one target")
            many = isinstance(value, SequenceNode)
            found = [self.target(t, f"{at}[{i}]" if many else at) for i, t in enumerate(items)]
            for index, target in enumerate(found):
                if target in found[:index]:
                    raise self.error(items[index], f"{at}[{index}]", "duplicate target")
            result[env] = tuple(found)
        return result

    def target(self, node: Node, where: str) -> Target:
        allowed = (*TARGET_KINDS, *_TARGET_OPTIONS.values(), "create")
        entries = {k: (key, v) for k, key, v in self.mapping(node, where, allowed)}
        kinds = [k for k in TARGET_KINDS if k in entries]
        if len(kinds) != 1:
            got = " and ".join(kinds) if kinds else "none"
            raise self.error(
                node, where, f"expected exactly one of {', '.join(TARGET_KINDS)}; got {got}"
            )
        kind = kinds[0]
        for owner, extra in _TARGET_OPTIONS.items():
            if extra in entries and owner != kind:
                raise self.error(entries[extra][0], f"{where}.{extra}", f"only valid with {owner}")
        path_node = entries[kind][1]
        at = f"{where}.{kind}"
        text = self.string(path_node, at)
        try:
            path = normalize_relative(text)
        except PathEscapeError as exc:
            raise PathEscapeError(
                requote(exc.message, text),
                path=self.name,
                line=path_node.start_mark.line + 1,
                field=at,
            ) from exc
        if kind != "directory" and path == ".":
            raise self.error(path_node, at, f"expected a file, got {excerpt(text)}")
        if ".git" in path.split("/"):
            raise self.error(path_node, at, f"{excerpt(text)} points into .git")
        self.paths.append((at, path_node.start_mark.line + 1, path))
        option = _TARGET_OPTIONS.get(kind)
        key: str | None = None
        if option is not None and option in entries:
            pattern, what = (
                (HELM_KEY_PATTERN, "values key (use e.g. image.tag)")
                if kind == "helm"
                else (POINTER_PATTERN, "JSON pointer (use e.g. /spec/image)")
            )
            key = self.string(entries[option][1], f"{where}.{option}", pattern, what)
        create = False
        if "create" in entries:
            create_key, value = entries["create"]
            at = f"{where}.create"
            create = self.boolean(value, at)
            if create and kind not in ("kustomize", "helm"):
                raise self.error(create_key, at, "only valid with kustomize or helm")
            if create and kind == "helm" and key is None:
                raise self.error(create_key, at, "needs key: the values key to create")
        return Target(kind, path, key, create)


_BRANCH_MAX = 255
_NOT_IN_BRANCH = re.compile(
    r"[\x00-\x20\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069~^:?*\[\\]"
    r"|\.\.|@\{|//|/\.|\.lock(?:/|$)|^[-/.]|[/.]$|^@$"
)
"""git check-ref-format's rules (plus no control or bidi characters): what `BRANCH_PATTERN`
alone lets through, e.g. `.lock` inside a name or a control character that is not a space."""


def is_branch_name(name: str) -> bool:
    """A branch name both git and promoter accept: the one rule for `base:` and `--base`
    (git reads `-h` as an option and `a..b` as a range, and prints controls back)."""
    return (
        len(name) <= _BRANCH_MAX
        and re.fullmatch(BRANCH_PATTERN, name) is not None
        and _NOT_IN_BRANCH.search(name) is None
    )


def unknown_environment(name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    return f"unknown environment {excerpt(name)}; known: {', '.join(sorted(known))}{hint}"


ALWAYS = datetime(1970, 1, 1, tzinfo=timezone.utc)
FOREVER = datetime(9999, 12, 31, tzinfo=timezone.utc)
"""A freeze without `until` holds until its entry is removed."""


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


def _get(entries: Entries, key: str) -> Node | None:
    return next((value for name, _, value in entries if name == key), None)


def _join(where: str | None, key: str) -> str:
    return f"{where}.{key}" if where else key


def _is_plain_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag not in (STR_TAG, NULL_TAG) and not node.style


def _segment(key: str) -> str:
    """A mapping key as a part of a field path: as written when short and printable, else
    quoted, escaped and cut short (a key is file content like any other)."""
    return key if key and len(key) <= EXCERPT and key.isprintable() else excerpt(key)


def _is_short(text: str) -> bool:
    return len(text) <= EXCERPT and text.isprintable()


def _shown(node: Node) -> str:
    """What a message says a node is: its kind, or its value quoted and cut short."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing"
    text = str(node.value)
    if node.tag == STR_TAG or not _is_plain_scalar(node):
        return excerpt(text)
    return plain(text)
