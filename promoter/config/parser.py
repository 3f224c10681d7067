"""promoter.yaml text → `Config`: one walk over the composed nodes, with precise errors.

Composed (never constructed) with ruamel.yaml, so every error names file, line and field
and no YAML type guessing slips past (`base: 1.10` is a number, not a branch). The node
reading is `nodes`'; policies, windows and freezes are `policy_parser`'s.
"""

from __future__ import annotations

import re

from ruamel.yaml.nodes import Node, ScalarNode, SequenceNode

from promoter.config.files import compose_one, excerpt, plain, requote
from promoter.config.model import (
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
)
from promoter.config.nodes import (
    NAME_PATTERN,
    NAME_RULE,
    NodeReader,
    describe,
    find_entry,
    quote_key,
)
from promoter.config.policy_parser import parse_freezes, parse_policies
from promoter.config.templates import Templates, check_group, parse_templates
from promoter.discovery import (
    did_you_mean,
    normalize_relative,
)
from promoter.errors import ConfigError, ImageRefError, PathEscapeError
from promoter.imageref import ImageRef, parse_image_ref
from promoter.yamlfile import NULL_TAG, tag_of

BRANCH_PATTERN = r"^(?![-/.])(?!.*(\.\.|//|@\{|/\.))[^\s~^:?*\[\\]+(?<![/.])(?<!\.lock)$"
LABEL_PATTERN = (
    r"^[^,\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
    r"([^,\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]{0,48}"
    r"[^,\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069])?$"
)
"""A forge label: at most 50 characters (GitHub's limit), no comma, control or bidi
character (a label is shown to reviewers as written)."""
REVIEWER_PATTERN = r"^@?[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$"
HELM_KEY_PATTERN = r"^[^.\s]+(\.[^.\s]+)*$"
POINTER_PATTERN = r"^(/([^~/]|~[01])*)+$"

_INT = "tag:yaml.org,2002:int"
_SETTINGS = ("mode", "base", "labels", "reviewers", "squash", "group", "policies", "templates")
_GUARD_KEYS = ("bot_actors", "watch", "ignore")
_TARGET_OPTIONS = {"helm": "key", "file": "pointer"}


class Parser(NodeReader):
    """Walks the composed node tree once, building the model and recording path sites."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.paths: list[tuple[str, int, str]] = []

    def freezes(self, text: str) -> tuple[tuple[tuple[str, ...], FreezeWindow], ...]:
        """A freeze file: a list of `{reason, environments?, start?, until?}`."""
        return parse_freezes(self, text)

    def parse(self, text: str) -> Config:
        root = self.compose(text)
        entries = self.mapping(
            root, None, ("version", "defaults", "environments", "apps", "guards")
        )
        version_node = self.required(root, None, entries, "version", "add 'version: 1'")
        if tag_of(version_node) != _INT or not version_node.value.isdigit():
            raise self.error(version_node, "version", f"expected 1, got {describe(version_node)}")
        if len(version_node.value) > 6 or int(version_node.value) != VERSION:  # int(): 4300 digits
            raise self.error(
                version_node,
                "version",
                f"unsupported version {plain(version_node.value)} (this promoter reads version 1)",
            )
        defaults_node = find_entry(entries, "defaults")
        defaults: dict[str, Node] = {}
        if defaults_node is not None:
            defaults = {k: v for k, _, v in self.mapping(defaults_node, "defaults", _SETTINGS)}
            self.settings("defaults", "defaults", defaults, {}, None)
        env_node = self.required(root, None, entries, "environments", "declare at least one")
        environments = self.environments(env_node, defaults)
        apps_node = find_entry(entries, "apps")
        apps = {} if apps_node is None else self.apps(apps_node, environments)
        guards_node = find_entry(entries, "guards")
        guards = Guards() if guards_node is None else self.guards(guards_node)
        return Config(self.name, environments, apps, VERSION, guards)

    def guards(self, node: Node) -> Guards:
        found = {k: v for k, _, v in self.mapping(node, "guards", _GUARD_KEYS)}
        read = {"bot_actors": self.globs, "watch": self.path_globs, "ignore": self.path_globs}
        return Guards(**{key: read[key](value, f"guards.{key}") for key, value in found.items()})

    def compose(self, text: str) -> Node:
        """The file's one document (nesting bounded, errors without source excerpts)."""
        root = compose_one(text, self.name)
        if root is None:
            raise ConfigError(
                "empty config; expected 'version: 1', 'environments' and 'apps'", path=self.name
            )
        return root

    def environments(self, node: Node, defaults: dict[str, Node]) -> dict[str, Environment]:
        entries = self.mapping(node, "environments", None)
        if not entries:
            raise self.error(node, "environments", "declare at least one environment")
        names = [name for name, _, _ in entries]
        result: dict[str, Environment] = {}
        sources: dict[str, tuple[Node, str]] = {}
        for name, key, value in entries:
            where = f"environments.{quote_key(name)}"
            self.string(key, where, NAME_PATTERN, NAME_RULE)
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
        if node is not None and not (isinstance(node, ScalarNode) and tag_of(node) == NULL_TAG):
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
                policies = parse_policies(self, node, f"{at}.policies", policies)
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
        templates = Templates()
        for node, at in ((defaults.get("templates"), "defaults"), (own.get("templates"), where)):
            if node is not None:
                templates = parse_templates(
                    self, node, f"{at}.templates", templates, is_branch_name
                )
        if group == "all" and where != "defaults":
            check_group(templates, name)
        return Environment(
            name, mode, base, labels, reviewers, source, policies, squash, group, templates
        )

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
        by_repository: dict[str, str] = {}
        """App name by canonical repository: one lookup per app, not a pairwise scan."""
        for name, key, value in self.mapping(node, "apps", None):
            where = f"apps.{quote_key(name)}"
            self.string(key, where, NAME_PATTERN, NAME_RULE)
            entries = self.mapping(value, where, ("image", "targets", "watch", "ignore"))
            image_node = self.required(key, where, entries, "image", "e.g. ghcr.io/acme/web")
            image = self.image(image_node, f"{where}.image")
            other = by_repository.setdefault(image.repository, name)
            if other != name:
                raise self.error(
                    image_node,
                    f"{where}.image",
                    f"{image} is already the image of app {other!r} "
                    "(list all of its files under one app)",
                )
            targets_node = next((v for k, _, v in entries if k == "targets"), None)
            targets = (
                self.targets(targets_node, f"{where}.targets", environments)
                if targets_node is not None
                else {}
            )
            paths = {
                k: self.path_globs(v, f"{where}.{k}")
                for k, _, v in entries
                if k in ("watch", "ignore")
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
            at = f"{where}.{quote_key(env)}"
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
