"""Templates for a promotion's branch, request title and commit subject (issue 24).

promoter.yaml's `templates: {branch, title, subject}`, in `defaults` and per environment
(merged key by key, like `policies`), replace promoter's own names. A template is text
with `{name}` placeholders from a closed set of variables and nothing else: no format
spec, no attribute or index access, no conversion (`str.format` would otherwise reach
into the values' attributes). What can be checked without a run is checked here, at load
time, each error naming file, line and field; what only a run knows (one app or several,
a `promote --to` run) is checked when the run renders, still before anything is pushed.
Knows nothing of git, forges or the run: `promotion.naming` supplies the values and
encodes what a template renders for its sink.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ruamel.yaml.nodes import Node, ScalarNode

from promoter.config.files import excerpt
from promoter.config.nodes import NodeReader
from promoter.discovery import did_you_mean
from promoter.errors import ConfigError
from promoter.yamlfile import NULL_TAG, tag_of

BRANCH_PREFIX = "promote/"
"""Every promotion branch's: promoter lists its branches and requests by it (in-flight
status, `why`, `plan`), so a branch template starts with `promote/{env}/`."""
KINDS = ("branch", "title", "subject")
VARIABLES = ("env", "app", "apps", "images", "version", "from_env", "base")
"""The closed set, in the order the docs list them."""
BRANCH_VARIABLES = ("env", "app", "apps", "base")
_NOT_IN_BRANCH = (
    "a branch names the promotion, not the version: promoter updates one branch and its "
    "request in place when a newer build comes (a version in the name would leave the "
    "older request open, to be merged after the newer one)"
)
_FROM_NOT_IN_BRANCH = (
    "a `promote --to` run and a direct one to the same environment would update different branches"
)
MAX_TEMPLATE = 255
"""Characters a template may have (a branch or title is at most 255 anyway)."""
TITLE_MAX = 255
"""Characters of a rendered title (GitLab's limit; GitHub's is 256)."""
SUBJECT_MAX = 72
"""Characters of a rendered commit subject: git's convention."""
CI_SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]")
"""What GitHub and GitLab read as "run no pipeline" anywhere in a commit's message: never in
a template's text (push mode's `--skip-ci` adds one when asked)."""
_SAMPLE = {"env": "env", "app": "app", "apps": "app", "base": "main"}
"""Values a branch template is rendered with at load time, to check its literal text."""


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: (literal text, variable or None) parts, and where it is written
    (`path`, `line`, `field`), which every error it causes at run time names."""

    text: str
    parts: tuple[tuple[str, str | None], ...]
    path: str
    line: int
    field: str

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(name for _, name in self.parts if name is not None)

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=self.line, field=self.field)

    def render(self, values: Mapping[str, str], unknown: Mapping[str, str]) -> str:
        """The text with each variable replaced; a variable absent from `values` (this run
        does not have it) is a `ConfigError` saying why (`unknown[name]`)."""
        out: list[str] = []
        for literal, name in self.parts:
            out.append(literal)
            if name is None:
                continue
            value = values.get(name)
            if value is None:
                why = unknown.get(name, "is not known in this run")
                raise self.error(f"{{{name}}} {why}; nothing was pushed")
            out.append(value)
        return "".join(out)

    def check_line(self, line: str) -> str:
        """`line` (a rendered title or subject) unless it holds a CI skip marker, which the
        values can complete (`[skip {env}]` with an environment named `ci`)."""
        marker = find_skip_marker(line)
        if marker is not None:
            problem = skip_marker_problem(marker)
            raise self.error(f"renders a line that {problem}; nothing was pushed")
        return line


@dataclass(frozen=True, slots=True)
class Templates:
    """An environment's templates; None: promoter's own name (`promote/<env>/<app>`,
    `Promote web to staging: 1.4.1 → 1.4.2`). `subject` None follows the title."""

    branch: Template | None = None
    title: Template | None = None
    subject: Template | None = None


def parse_templates(
    reader: NodeReader,
    node: Node,
    where: str,
    inherited: Templates,
    is_branch: Callable[[str], bool],
) -> Templates:
    """`templates:` over `inherited` (the defaults'), key by key; `null` restores
    promoter's own. `is_branch` is the branch-name rule (`parser.is_branch_name`)."""
    found = inherited
    for key, _, value in reader.mapping(node, where, KINDS):
        at = f"{where}.{key}"
        template = None
        if not (isinstance(value, ScalarNode) and tag_of(value) == NULL_TAG):
            template = parse_template(reader, value, at, key, is_branch)
        found = replace(found, **{key: template})
    return found


def parse_template(
    reader: NodeReader, node: Node, where: str, kind: str, is_branch: Callable[[str], bool]
) -> Template:
    text = reader.string(node, where)
    line = node.start_mark.line + 1

    def refuse(message: str) -> ConfigError:
        return reader.error(node, where, message)

    if not text.strip():
        raise refuse("expected a template (null restores promoter's own)")
    if len(text) > MAX_TEMPLATE:
        raise refuse(f"a template has at most {MAX_TEMPLATE} characters, got {len(text)}")
    if not text.isprintable():
        raise refuse(
            f"{excerpt(text)}: a template is one line of printable text "
            "(no control, line break or bidi character)"
        )
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise refuse(
            f"{excerpt(text)} is not a template: {exc} (write '{{{{' or '}}}}' for a brace)"
        ) from exc
    allowed = BRANCH_VARIABLES if kind == "branch" else VARIABLES
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None:
            _check_variable(refuse, name, spec, conversion, allowed)
        parts.append((literal, name))
    rebuilt = "".join(
        literal.replace("{", "{{").replace("}", "}}") + ("" if name is None else f"{{{name}}}")
        for literal, name in parts
    )
    if rebuilt != text:  # `{app:}`, `{app!s}`: Formatter reads them as `{app}`
        raise refuse(f"{excerpt(text)}: only plain {{name}} placeholders")
    template = Template(text, tuple(parts), reader.name, line, where)
    marker = find_skip_marker(text)
    if marker is not None:
        raise refuse(skip_marker_problem(marker))
    if kind == "branch":
        _check_branch(refuse, template, is_branch)
    return template


def _check_variable(
    refuse: Callable[[str], ConfigError],
    name: str,
    spec: str | None,
    conversion: str | None,
    allowed: tuple[str, ...],
) -> None:
    known = ", ".join(f"{{{v}}}" for v in allowed)
    if not name:
        raise refuse(f"'{{}}' names no variable; use one of {known}")
    if not name.isidentifier():
        raise refuse(
            f"{excerpt('{' + name + '}')}: only plain {{name}} placeholders "
            f"(no spaces, attribute or index access); use one of {known}"
        )
    if spec or conversion is not None:
        raise refuse(
            f"{{{name}}} with a format spec or conversion: only plain {{name}} placeholders"
        )
    if name not in VARIABLES:
        hint = did_you_mean(name, list(allowed))
        raise refuse(f"unknown variable {excerpt('{' + name + '}')}{hint}; known: {known}")
    if name not in allowed:
        why = _FROM_NOT_IN_BRANCH if name == "from_env" else _NOT_IN_BRANCH
        raise refuse(f"{{{name}}} is not available in a branch template: {why}")


def _check_branch(
    refuse: Callable[[str], ConfigError], template: Template, is_branch: Callable[[str], bool]
) -> None:
    """Two promotions never share a branch, and promoter still finds its own branches."""
    start = f"{BRANCH_PREFIX}{{env}}/"
    if not template.text.startswith(start):
        raise refuse(
            f"a branch template starts with {start!r} (promoter finds its promotion "
            "branches by that prefix, and two environments never share one)"
        )
    if not template.variables & {"app", "apps"}:
        raise refuse(
            "a branch template names the apps ({app} or {apps}): without them two apps' "
            "promotions would share one branch"
        )
    for literal, name in template.parts[1:]:
        if name is not None and "/" not in literal:
            raise refuse(
                f"put a '/' between {{{name}}} and the variable before it: names run "
                "together could make two promotions share one branch"
            )
    sample = template.render(_SAMPLE, {})
    if not is_branch(sample):
        raise refuse(
            f"renders branch names such as {excerpt(sample, 80)}, which git does not accept "
            "(no spaces, '..', '@{', '~^:?*[\\', '//', or a trailing '/', '.' or '.lock')"
        )


def check_group(templates: Templates, env: str) -> None:
    """`group: all` lands several apps in one request, which has no single app or
    version: such an environment's templates may not use `{app}` or `{version}`."""
    for kind in KINDS:
        template: Template | None = getattr(templates, kind)
        for name in ("app", "version"):
            if template is not None and name in template.variables:
                plural = "apps" if name == "app" else "images"
                raise template.error(
                    f"{{{name}}} names one {name}, and environment {env} has group: all "
                    f"(several apps in one request): use {{{plural}}}"
                )


def find_skip_marker(text: str) -> str | None:
    """The CI skip marker `text` holds (any case), if any."""
    lowered = text.lower()
    return next((m for m in CI_SKIP_MARKERS if m in lowered), None)


def skip_marker_problem(marker: str) -> str:
    return (
        f"holds the CI skip marker {marker!r}: the promotion's checks would not run (and "
        "the marker would survive a squash merge); push mode's --skip-ci adds one when asked"
    )
