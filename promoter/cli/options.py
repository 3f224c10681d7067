"""The options more than one command takes, each declared once, and the checks that
full-match every value where it enters (STYLE §9; issue 19).

A factory owns an option's name, type, environment variable and check; the command passes
its own help text (what the option means there) and, where commands differ, its shape
(one value or repeatable, required). Every string from the command line, or a CI input
behind it, is hostile: nothing runs before it matched. Only click is imported here (the
forge registry when `--forge`'s choices are read, no client library); a check that needs
promoter's own rule imports it when it runs, so `--help` and `bump` start fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from promoter import DEFAULT_AUTHOR
from promoter.errors import InputError

if TYPE_CHECKING:
    from promoter.promotion import RepositoryRef

F = TypeVar("F", bound=Callable[..., Any])
Check = Callable[[click.Context, click.Parameter, Any], Any]

MODES = ("push", "pull-request")
"""config.MODES, spelled here so that `--help` does not load the YAML parser."""

_HIDDEN = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidi marks and overrides: text that displays as something else."""
_LINE = rf"[^\x00-\x1f\x7f-\x9f\u2028\u2029{_HIDDEN}]{{1,1024}}"
"""One line of printable text (an author, a label, a path glob)."""
_LINES = rf"[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029{_HIDDEN}]{{1,4096}}"
"""Lines of printable text (a CI input listing one glob or account per line)."""
_WORD = rf"[^\s\x00-\x1f\x7f-\x9f{_HIDDEN}]{{1,2048}}"
"""Printable text without spaces (a URL, a version)."""
NAME = r"(?!.*\.\.)[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_])?"
"""An environment or app: promoter.yaml's names, a directory's, an image's last component."""
_COMMIT = r"[0-9a-fA-F]{4,64}"


def checked(pattern: str, rule: str) -> Check:
    """A click callback that full-matches each value of an option against `pattern`."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None and not re.fullmatch(pattern, item):
                raise InputError(f"{shown(item)}: expected {rule}", field=_field(param))
        return value

    return check


def shown(text: str) -> str:
    """A refused value, quoted with its control characters escaped, and not too long."""
    return repr(text[:60]) + ("..." if len(text) > 60 else "")


def _field(param: click.Parameter) -> str:
    return param.opts[0] if param.opts else param.name or "?"


ENV_NAME = checked(NAME, "an environment name (letters, digits, '.', '_', '-')")
APP_NAME = checked(NAME, "an app name (letters, digits, '.', '_', '-')")
TEXT = checked(_LINE, "one line of text, no control characters")
GLOBS = checked(_LINES, "globs or names, one a line, no control characters")
COMMIT_ID = checked(_COMMIT, "a commit id (hex)")
ENV_OR_VERSION = checked(_WORD, "an environment (or with --rollback, a version)")


def check_path_globs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """`--watch`/`--ignore`: printable lines (`GLOBS`), then each pattern, split as the run
    splits them (`as_facts`), one git reads as a gitignore pattern (`pathglobs`)."""
    GLOBS(ctx, param, value)
    if not value:
        return value
    from promoter.pathglobs import find_problem
    from promoter.promotion.gate import as_facts

    for pattern in as_facts(value):
        problem = find_problem(pattern)
        if problem is not None:
            raise InputError(f"{shown(pattern)}: {problem}", field=_field(param))
    return value


def check_label(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    if not value:  # the group's default runs this too: `bump` must not load the config
        return value
    from promoter.config import LABEL_PATTERN

    TEXT(ctx, param, value)
    for label in value:
        if not re.fullmatch(LABEL_PATTERN, label):
            raise InputError(
                f"{shown(label)}: a label has no commas and no surrounding spaces",
                field=_field(param),
            )
    return value


def check_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL promoter shows or writes (API root, trailers): one word, no credentials. Never
    quoted back: a URL may carry a token."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    if "@" in urlsplit(value).netloc:
        raise InputError(
            "credentials in the URL are refused; pass the token in "
            "GITHUB_TOKEN/GITLAB_TOKEN/PROMOTER_TOKEN",
            field=_field(param),
        )
    if not re.fullmatch(_WORD, value):
        raise InputError("expected a URL without spaces or control characters", field=_field(param))
    return value


def check_branch(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A branch, checked like promoter.yaml's `base:` and git's check-ref-format."""
    if value is None:
        return None
    from promoter.promotion.opening import check_branch as check

    return check(value, _field(param))


def check_config_repo(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL with credentials, a query or SSH is refused here, never quoted back."""
    if value is None:
        return None
    from promoter.promotion.opening import check_config_repo as check

    check(value)
    return value


def config_repo(
    help: str, *, default: str | None = None, directory: bool = False
) -> Callable[[F], F]:
    """`--config-repo` [PROMOTER_CONFIG_REPO]: a URL or a local path, checked as
    `open_workspace` will read it; or, with `directory`, a local directory (`validate`
    reads its files, default the current one)."""
    shape: dict[str, Any] = (
        {"type": click.Path(path_type=Path, file_okay=False), "default": Path(".")}
        if directory
        else {"metavar": "URL|PATH", "callback": check_config_repo}
    )
    if default is not None:
        shape.update(default=default, show_default=True)
    return click.option("--config-repo", envvar="PROMOTER_CONFIG_REPO", help=help, **shape)


def config_file(help: str | None = None) -> Callable[[F], F]:
    """`--config`: a promoter.yaml to read instead of the config repository's."""
    return click.option(
        "--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), help=help
    )


class ForgeKinds(click.Choice[str]):
    """The forge registry's kinds, read when click first needs them (a help page that
    lists them, a value to check), so that a command without `--forge` (`bump`) or a run
    that does not give it loads no forge module (issue 23)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from promoter.forges import KINDS

        return tuple(KINDS)

    @choices.setter
    def choices(self, value: Iterable[str]) -> None:
        """Ignored: the registry is the one source of the kinds (`Choice.__init__` sets
        them)."""


def forge(help: str | None = None) -> Callable[[F], F]:
    """`--forge` [PROMOTER_FORGE]: the config repository's forge, one of the registry's
    kinds (those registered when click reads them)."""
    return click.option("--forge", type=ForgeKinds(), envvar="PROMOTER_FORGE", help=help)


def api_url(help: str) -> Callable[[F], F]:
    return click.option("--api-url", metavar="URL", callback=check_url, help=help)


def no_clone(help: str) -> Callable[[F], F]:
    return click.option("--no-clone", is_flag=True, help=help)


def base(help: str) -> Callable[[F], F]:
    return click.option("--base", metavar="BRANCH", callback=check_branch, help=help)


def mode(help: str) -> Callable[[F], F]:
    return click.option("--mode", type=click.Choice(list(MODES)), help=help)


def dry_run(help: str) -> Callable[[F], F]:
    return click.option("--dry-run", is_flag=True, help=help)


def author(help: str, *, show_default: bool | None = None) -> Callable[[F], F]:
    """`--author` [PROMOTER_AUTHOR]: promoter's commit identity."""
    return click.option(
        "--author",
        envvar="PROMOTER_AUTHOR",
        default=DEFAULT_AUTHOR,
        show_default=show_default,
        callback=TEXT,
        help=help,
    )


def output(*forms: str, help: str | None = None) -> Callable[[F], F]:
    """`--output`: the first of `forms` by default (`text|json`, or the command's own)."""
    return click.option(
        "--output", type=click.Choice(list(forms)), default=forms[0], show_default=True, help=help
    )


OUTPUT = output("text", "json", help="json prints one JSON object on stdout.")
"""`--output text|json`, for commands that print a promotion's `Result`."""


def env(help: str, *, multiple: bool = False, required: bool = False) -> Callable[[F], F]:
    """`--env ENV` (`env`), or repeatable (`envs`)."""
    return click.option(
        "--env", "envs" if multiple else "env", multiple=multiple, required=required,
        metavar="ENV", callback=ENV_NAME, help=help,
    )  # fmt: skip


def app(help: str, *, multiple: bool = False) -> Callable[[F], F]:
    """`--app NAME` (`app`), or repeatable (`apps`): promoter.yaml's name for an app."""
    return click.option(
        "--app", "apps" if multiple else "app", multiple=multiple, metavar="NAME",
        callback=APP_NAME, help=help,
    )  # fmt: skip


def image(
    help: str, *, metavar: str = "REF", multiple: bool = True, required: bool = False
) -> Callable[[F], F]:
    """`--image` (`images`, repeatable; or one `image`): a reference, or a repository that
    names an app."""
    return click.option(
        "--image", "images" if multiple else "image", multiple=multiple, required=required,
        metavar=metavar, help=help,
    )  # fmt: skip


def to_env(help: str, *, check: Check = ENV_NAME, required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--to", "to_env", required=required, metavar="ENV", callback=check, help=help
    )


def from_env(help: str) -> Callable[[F], F]:
    return click.option("--from", "from_env", metavar="ENV", callback=ENV_NAME, help=help)


def all_apps(help: str) -> Callable[[F], F]:
    return click.option("--all", "all_apps", is_flag=True, help=help)


def remote(function: F) -> F:
    """The options of a subcommand that reads the config repository: where it is, and how
    to reach it (they may also be given before the subcommand, see `resolve_remote`)."""
    for option in reversed(
        (
            config_repo("Config repository: an https:// or file:// URL, or a local repository."),
            forge(),
            api_url("Forge API root."),
            no_clone("Use the forge API, no git."),
        )
    ):
        function = option(function)
    return function


def resolve_remote(
    config_repo: str | None, forge: str | None, api_url: str | None
) -> tuple[str, str | None, str | None]:
    """A subcommand's repository options, or the ones given before it
    (`promote --config-repo URL plan ...`); the current repository by default."""
    parent = click.get_current_context().find_root().params
    config_repo = config_repo or parent.get("config_repo") or "."
    return config_repo, forge or parent.get("forge"), api_url or parent.get("api_url")


def repository(
    config_repo: str | None, forge: str | None, api_url: str | None, no_clone: bool
) -> RepositoryRef:
    """The repository a subcommand reaches: its repository options (or those given before
    it), with the process environment read once."""
    from promoter.promotion import opening

    config_repo, forge, api_url = resolve_remote(config_repo, forge, api_url)
    environ = dict(os.environ)
    where = opening.Where(config_repo, forge, api_url, no_clone, None, environ)
    opening.begin(where)  # the store opens while the query's code imports

    from promoter.promotion import RepositoryRef

    return RepositoryRef(
        config_repo, forge=forge, api_url=api_url, no_clone=no_clone, environ=environ
    )


def guards(function: F) -> F:
    """The loop-guard options, shared by the promote command and `promote guard`."""
    options = [
        click.option(
            "--bot-actor", "bot_actors", multiple=True, metavar="GLOB",
            envvar="PROMOTER_BOT_ACTORS", callback=GLOBS,
            help="Accounts whose pushes never promote, e.g. 'renovate*' (repeatable).",
        ),
        click.option(
            "--watch", multiple=True, metavar="GLOB", callback=check_path_globs,
            help="Promote only when the push changed a path these match (gitignore patterns).",
        ),
        click.option(
            "--ignore", multiple=True, metavar="GLOB", callback=check_path_globs,
            help="Changes to paths these match never promote (gitignore patterns: config, docs).",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function
