"""Command line: parse, call one `promotion` function, render its `Result`, map errors to exits.

The only module that prints. Heavy modules (YAML, jsonpatch, forges) are imported inside
the commands so `promote --help` starts as fast as click itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from promoter import __version__, sinks
from promoter.errors import InputError, PromoterError
from promoter.redact import redact, register_environment

if TYPE_CHECKING:
    from promoter.promotion import EnvironmentResult, Result

EXIT_CODES_HELP = """\b
Exit codes:
  0  changed, already up to date, or superseded
  1  operational failure (git, network, forge)
  2  bad input or configuration; nothing written
  3  blocked by a policy"""

F = TypeVar("F", bound=Callable[..., Any])
GUARD_SKIP_EXIT = 10
"""`promote guard`: this run must not promote (0 means go)."""

# Every string from the command line (or a CI input behind it) is hostile: each option is
# full-matched where it enters, before anything runs (STYLE §1, issue 19).
_HIDDEN = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidi marks and overrides: text that displays as something else."""
_LINE = rf"[^\x00-\x1f\x7f-\x9f\u2028\u2029{_HIDDEN}]{{1,1024}}"
"""One line of printable text (an author, a label, a path glob)."""
_LINES = rf"[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029{_HIDDEN}]{{1,4096}}"
"""Lines of printable text (a CI input listing one glob or account per line)."""
_WORD = rf"[^\s\x00-\x1f\x7f-\x9f{_HIDDEN}]{{1,2048}}"
"""Printable text without spaces (a URL, a version)."""
_NAME = r"(?!.*\.\.)[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_])?"
"""An environment or app: promoter.yaml's names, a directory's, an image's last component."""
_COMMIT = r"[0-9a-fA-F]{4,64}"


def _checked(pattern: str, rule: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that full-matches each value of an option against `pattern`."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None and not re.fullmatch(pattern, item):
                raise InputError(f"{_shown(item)}: expected {rule}", field=_field(param))
        return value

    return check


def _shown(text: str) -> str:
    """A refused value, quoted with its control characters escaped, and not too long."""
    return repr(text[:60]) + ("..." if len(text) > 60 else "")


def _field(param: click.Parameter) -> str:
    return param.opts[0] if param.opts else param.name or "?"


_ENV_NAME = _checked(_NAME, "an environment name (letters, digits, '.', '_', '-')")
_APP_NAME = _checked(_NAME, "an app name (letters, digits, '.', '_', '-')")
_TEXT = _checked(_LINE, "one line of text, no control characters")
_GLOBS = _checked(_LINES, "globs or names, one a line, no control characters")
_COMMIT_ID = _checked(_COMMIT, "a commit id (hex)")


def _label(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    from promoter.config import LABEL_PATTERN

    _TEXT(ctx, param, value)
    for label in value:
        if not re.fullmatch(LABEL_PATTERN, label):
            raise InputError(
                f"{_shown(label)}: a label has no commas and no surrounding spaces",
                field=_field(param),
            )
    return value


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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


def _branch(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A branch, checked like promoter.yaml's `base:` and git's check-ref-format."""
    if value is None:
        return None
    from promoter.promotion.workspace import check_branch

    return check_branch(value, _field(param))


def _config_repo(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL with credentials, a query or SSH is refused here, never quoted back."""
    if value is None:
        return None
    from promoter.promotion.workspace import check_config_repo

    check_config_repo(value)
    return value


_OUTPUT = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one JSON object on stdout.",
)


def _remote(function: F) -> F:
    """The options of a subcommand that reads the config repository: where it is, and how
    to reach it (they may also be given before the subcommand, see `_shared`)."""
    for option in reversed(
        (
            click.option(
                "--config-repo", envvar="PROMOTER_CONFIG_REPO", metavar="URL|PATH",
                callback=_config_repo,
                help="Config repository: an https:// or file:// URL, or a local repository.",
            ),
            click.option(
                "--forge", type=click.Choice(["github", "gitlab", "local"]),
                envvar="PROMOTER_FORGE",
            ),
            click.option("--api-url", metavar="URL", callback=_url, help="Forge API root."),
            click.option("--no-clone", is_flag=True, help="Use the forge API, no git."),
        )
    ):  # fmt: skip
        function = option(function)
    return function


def _shared(
    config_repo: str | None, forge: str | None, api_url: str | None
) -> tuple[str, str | None, str | None]:
    """A subcommand's repository options, or the ones given before it
    (`promote --config-repo URL plan ...`)."""
    parent = click.get_current_context().find_root().params
    config_repo = config_repo or parent.get("config_repo")
    if not config_repo:
        raise click.UsageError("missing --config-repo (or PROMOTER_CONFIG_REPO)")
    return config_repo, forge or parent.get("forge"), api_url or parent.get("api_url")


def _guards(function: F) -> F:
    """The loop-guard options, shared by the promote command and `promote guard`."""
    options = [
        click.option(
            "--bot-actor", "bot_actors", multiple=True, metavar="GLOB",
            envvar="PROMOTER_BOT_ACTORS", callback=_GLOBS,
            help="Accounts whose pushes never promote, e.g. 'renovate*' (repeatable).",
        ),
        click.option(
            "--watch", multiple=True, metavar="GLOB", callback=_GLOBS,
            help="Promote only when the triggering push changed one of these paths.",
        ),
        click.option(
            "--ignore", multiple=True, metavar="GLOB", callback=_GLOBS,
            help="Changes to these paths never promote (config paths, docs).",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--env", "envs", multiple=True, metavar="ENV", callback=_ENV_NAME,
    help="Environment to promote to (repeatable).",
)  # fmt: skip
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="REF",
    help="Image with tag and/or digest (repeatable).",
)
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="NAME",
    callback=_APP_NAME,
    help="Only this app of promoter.yaml (repeatable with --to).",
)
@click.option(
    "--to",
    "to_env",
    metavar="ENV",
    callback=_checked(_WORD, "an environment (or with --rollback, a version)"),
    help="Promote to ENV what its source environment deploys (--from, or promoter.yaml's from:).",
)
@click.option(
    "--from", "from_env", metavar="ENV", callback=_ENV_NAME,
    help="With --to: the environment to read.",
)  # fmt: skip
@click.option(
    "--rollback",
    is_flag=True,
    help="Restore --env's previous version of --app (or the one --to names) and hold it there.",
)
@click.option(
    "--all", "all_apps", is_flag=True, help="With --to: every app both environments deploy."
)
@click.option(
    "--config-repo",
    envvar="PROMOTER_CONFIG_REPO",
    metavar="URL|PATH",
    callback=_config_repo,
    help="Config repository: https:// or file:// URL, or a local repository's path (cloned, "
    "committed, pushed); a directory that is not a git repository is edited in place "
    "[env: PROMOTER_CONFIG_REPO].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="promoter.yaml to use instead of the one in the config repo.",
)
@click.option(
    "--mode",
    type=click.Choice(["push", "pull-request"]),
    help="Override every environment's mode (default: promoter.yaml, else pull-request).",
)
@click.option(
    "--forge",
    type=click.Choice(["github", "gitlab", "local"]),
    envvar="PROMOTER_FORGE",
    help="Forge of the config repo (default: inferred from the URL and CI).",
)
@click.option(
    "--base", metavar="BRANCH", callback=_branch,
    help="Base branch (default: promoter.yaml, else HEAD).",
)  # fmt: skip
@click.option(
    "--api-url",
    metavar="URL",
    callback=_url,
    help="Forge API root, e.g. https://ghe.example.com/api/v3 or https://gitlab.example.com "
    "(default: from the URL, GITHUB_API_URL, CI_SERVER_URL).",
)
@click.option("--auto-merge", is_flag=True, help="Ask the forge to merge the request when green.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="NAME",
    callback=_label,
    help="A label for the pull/merge request, added to promoter.yaml's (repeatable).",
)
@click.option(
    "--no-clone",
    is_flag=True,
    help="Read and commit through the forge API (GitHub, GitLab), no git at all.",
)
@click.option(
    "--author",
    envvar="PROMOTER_AUTHOR",
    default="promoter[bot] <promoter[bot]@users.noreply.github.com>",
    show_default=True,
    callback=_TEXT,
    help="Commit identity 'Name <email>' [env: PROMOTER_AUTHOR].",
)
@click.option("--skip-ci", is_flag=True, help="Add [skip ci] to push-mode commits.")
@click.option("--sign", is_flag=True, help="Sign commits with your git signing configuration.")
@click.option(
    "--allow-downgrade", is_flag=True, help="Apply an older version over a newer one (rollback)."
)
@click.option(
    "--source-repo",
    metavar="URL",
    callback=_url,
    help="Source repository for the commit trailers.",
)
@click.option(
    "--source-commit",
    metavar="SHA",
    callback=_COMMIT_ID,
    help="Source commit for the commit trailers.",
)
@click.option(
    "--pipeline-url", metavar="URL", callback=_url, help="Pipeline URL for the commit trailers."
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the diff and a summary; touch nothing.")
@_guards
@click.option(
    "--force", is_flag=True, help="Promote even when a loop guard would skip (the commit says so)."
)
@_OUTPUT
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="promote")
@click.pass_context
def cli(
    ctx: click.Context,
    envs: tuple[str, ...],
    images: tuple[str, ...],
    apps: tuple[str, ...],
    to_env: str | None,
    from_env: str | None,
    all_apps: bool,
    rollback: bool,
    config_repo: str | None,
    config_file: Path | None,
    mode: str | None,
    forge: str | None,
    base: str | None,
    api_url: str | None,
    auto_merge: bool,
    labels: tuple[str, ...],
    no_clone: bool,
    author: str,
    skip_ci: bool,
    sign: bool,
    allow_downgrade: bool,
    source_repo: str | None,
    source_commit: str | None,
    pipeline_url: str | None,
    dry_run: bool,
    bot_actors: tuple[str, ...],
    watch: tuple[str, ...],
    ignore: tuple[str, ...],
    force: bool,
    output: str,
    debug: bool,
) -> int:
    """Promote container images in a GitOps config repository, with minimal diffs.

    \b
    promote --env staging --image ghcr.io/acme/web:1.4.2 --config-repo . --dry-run
    promote bump overlays/staging/kustomization.yaml --image ghcr.io/acme/web:1.4.2
    """
    if ctx.invoked_subcommand is not None:
        return 0
    if not envs and not images and to_env is None:
        click.echo(sinks.log_lines(ctx.get_help()))
        return 0
    rollback_to = None
    if rollback:
        rollback_to, to_env = to_env, None  # with --rollback, --to names a version
        if len(envs) != 1 or not (apps or images) or len(apps) > 1:
            raise click.UsageError("--rollback takes one --env and one --app (or --image)")
    elif to_env is not None:
        if not re.fullmatch(_NAME, to_env):
            raise InputError(f"{_shown(to_env)}: expected an environment name", field="--to")
        if envs:
            raise click.UsageError("--to replaces --env: give one of them")
        if not (apps or images or all_apps):
            raise click.UsageError("--to needs --app NAME, --image REPOSITORY or --all")
    else:
        if from_env is not None or all_apps:
            raise click.UsageError("--from and --all go with --to")
        if not images:
            raise click.UsageError("missing --image")
        if len(apps) > 1:
            raise click.UsageError("--app is repeatable only with --to")
    app = apps[0] if apps and to_env is None else None
    from promoter.promotion import PromoteCommand, mask_commands, promote
    from promoter.promotion.gate import as_facts

    environ = dict(os.environ)  # the CI environment, read once for the whole run
    for command in mask_commands(environ):  # the runner reads them on both streams
        click.echo(sinks.workflow_command(command), err=True)

    if not config_repo:
        raise InputError("missing --config-repo (or PROMOTER_CONFIG_REPO)", field="--config-repo")
    result = promote(
        PromoteCommand(
            config_repo=config_repo,
            envs=envs,
            images=images,
            app=app,
            config_file=config_file,
            dry_run=dry_run,
            mode=mode,
            forge=forge,
            base=base,
            api_url=api_url,
            auto_merge=auto_merge,
            labels=labels,
            no_clone=no_clone,
            author=author,
            skip_ci=skip_ci,
            sign=sign,
            allow_downgrade=allow_downgrade,
            source_repo=source_repo,
            source_commit=source_commit,
            pipeline_url=pipeline_url,
            environ=environ,
            force=force,
            bot_actors=as_facts(bot_actors),
            watch=as_facts(watch),
            ignore=as_facts(ignore),
            to_env=to_env,
            from_env=from_env,
            apps=apps if to_env is not None else (),
            rollback=rollback,
            rollback_to=rollback_to,
        )
    )
    _render(result, output)
    return 3 if result.status.value == "blocked" else 0


@cli.command(name="release-hold")
@click.option(
    "--env",
    required=True,
    metavar="ENV",
    callback=_ENV_NAME,
    help="Environment the app is held in.",
)
@click.option(
    "--app", metavar="NAME", callback=_APP_NAME, help="The held app (promoter.yaml's name)."
)  # fmt: skip
@click.option("--image", "images", multiple=True, metavar="REPOSITORY", help="Or its image.")
@_remote
@click.option("--mode", type=click.Choice(["push", "pull-request"]), help="Override the mode.")
@click.option("--dry-run", is_flag=True, help="Show the change; push nothing.")
@_OUTPUT
def release_hold(
    env: str,
    app: str | None,
    images: tuple[str, ...],
    config_repo: str | None,
    forge: str | None,
    api_url: str | None,
    mode: str | None,
    no_clone: bool,
    dry_run: bool,
    output: str,
) -> int:
    """Remove the hold a rollback placed: automated promotions of the app resume."""
    from promoter.promotion import PromoteCommand, promote

    if not (app or images):
        raise click.UsageError("name the app: --app NAME or --image REPOSITORY")
    config_repo, forge, api_url = _shared(config_repo, forge, api_url)
    result = promote(
        PromoteCommand(
            config_repo=config_repo,
            envs=(env,),
            images=images,
            app=app,
            forge=forge,
            api_url=api_url,
            mode=mode,
            no_clone=no_clone,
            dry_run=dry_run,
            environ=dict(os.environ),
            release_hold=True,
        )
    )
    _render(result, output)
    return 0


@cli.command()
@_guards
@click.option(
    "--author",
    envvar="PROMOTER_AUTHOR",
    default="promoter[bot] <promoter[bot]@users.noreply.github.com>",
    callback=_TEXT,
    help="promoter's commit identity 'Name <email>': commits with it never promote.",
)
def guard(
    bot_actors: tuple[str, ...], watch: tuple[str, ...], ignore: tuple[str, ...], author: str
) -> int:
    """Run the loop guards alone: exit 0 to go, 10 to skip, with a JSON reason.

    For pipelines that decide before building anything: reads the CI's event (GitHub
    Actions, GitLab CI) the way a promotion would.
    """
    from promoter.promotion import PromoteCommand
    from promoter.promotion.flow import guard as run_guard
    from promoter.promotion.gate import as_facts

    verdict = run_guard(
        PromoteCommand(
            config_repo="",
            envs=(),
            images=(),
            author=author,
            environ=dict(os.environ),
            bot_actors=as_facts(bot_actors),
            watch=as_facts(watch),
            ignore=as_facts(ignore),
        )
    )
    guard_name = verdict.guard.value if verdict.guard else None
    click.echo(
        sinks.json_document({"go": verdict.go, "guard": guard_name, "reason": verdict.reason})
    )
    return 0 if verdict.go else GUARD_SKIP_EXIT


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--image", required=True, metavar="REF", help="Image with the new tag and/or digest.")
@click.option(
    "--key",
    metavar="PATH",
    callback=_TEXT,
    help="Only this key path (backend.image.tag) or JSON pointer.",
)
@click.option(
    "--setter", metavar="POLICY", callback=_TEXT,
    help="Flux image policy (ns:name) that stands for this image.",
)  # fmt: skip
@_OUTPUT
def bump(
    files: tuple[Path, ...], image: str, key: str | None, setter: str | None, output: str
) -> int:
    """Set IMAGE's tag/digest in local FILES, in place (no git).

    Exit 0 when a file changed or already matched; 2 when a file has no reference to the
    image, is not valid YAML, or REF is invalid (nothing is written then).
    """
    from promoter.promotion import bump as bump_files

    _render(bump_files(files, image, key=key, setter=setter), output)
    return 0


@cli.command()
@click.option(
    "--fixture",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Config repository to seed the demo with (default: fixtures/configrepo).",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's repository here (then try promote status / why on it).",
)
def demo(fixture: Path | None, keep: Path | None) -> int:
    """Promote into a throwaway local repository: clone, edit, commit, push; no network."""
    from promoter.demo import run_demo

    for number, step in enumerate(run_demo(fixture, keep), start=1):
        click.echo(sinks.log_lines(f"\n== {number}. {step.title}"))
        click.echo(sinks.log_line(f"$ {step.command}"))
        _render(step.result, "text", diffs=True)
        click.echo(sinks.log_lines(step.log.rstrip()))
    if keep is not None:
        click.echo(
            sinks.log_lines(
                f"\nDone; the repository is kept in {keep}: promote status --config-repo {keep}"
            )
        )
    else:
        click.echo("\nDone: a real clone, commit and push each time; the repository is deleted.")
    return 0


@cli.command()
@click.option(
    "--config-repo",
    envvar="PROMOTER_CONFIG_REPO",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    help="Config repository root (default: current directory).",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False))
def validate(config_repo: Path, config_file: Path | None) -> int:
    """Check promoter.yaml (schema, environments, apps, target paths) and the holds and
    freeze files; without promoter.yaml, show the environments zero-config discovery finds."""
    from promoter.config import check_controls, find_config, load_config

    path = config_file or find_config(config_repo)
    if path is None:
        return _outline(config_repo)
    config = load_config(path, root=config_repo)
    check_controls(config_repo, config)  # holds and freezes: parsed, names known
    click.echo(
        sinks.log_line(
            f"{path}: ok ({len(config.environments)} environments, {len(config.apps)} apps)"
        )
    )
    return 0


def _render(result: Result, output: str, *, diffs: bool | None = None) -> None:
    for warning in result.warnings:
        click.echo(sinks.log_line(f"promote: warning: {warning}"), err=True)
    if output == "json":
        click.echo(sinks.json_document(result.as_json()))
        return
    if result.skip is not None:
        guard, reason = result.skip
        envs = ", ".join(e.env for e in result.environments)
        click.echo(sinks.log_line(f"skipped ({guard}): {reason}; nothing promoted to {envs}"))
        click.echo("rerun with --force to promote anyway")
        return
    for diff in result.diffs if (result.dry_run if diffs is None else diffs) else ():
        click.echo(sinks.log_lines(diff.unified()), nl=False)
    for env in result.environments:
        for line in _env_lines(env, result.dry_run):
            click.echo(sinks.log_line(line))
    if result.dry_run:
        files = len(result.diffs)
        click.echo(
            sinks.log_line(
                f"dry run: {len(result.changes)} change(s) in {files} file(s); nothing written"
            )
        )


def _env_lines(env: EnvironmentResult, dry_run: bool) -> list[str]:
    """One line per environment (`staging: changed web 1.4.1 → 1.4.2, pushed 3f2a9c1 to main`)."""
    from promoter.promotion.result import shown

    prefix = f"{env.env}: " if env.env else ""
    status = env.status.value
    if env.skip_reason:
        return [f"{prefix}{status} ({env.skip_reason}); nothing pushed"]
    if env.superseded and not env.changes:
        newer = ", ".join(dict.fromkeys(s.label for s in env.superseded))
        return [f"{prefix}{status}: already at a newer version ({newer}); nothing pushed"]
    if env.status.value == "unchanged" and env.branch and env.changes:
        line = f"{prefix}{status}: {env.branch} already holds {env.summary()}"
        if env.pull_request:
            line += f"; pull request #{env.pull_request.number}: {env.pull_request.url}"
        return [line]
    if not env.changes and env.title and env.status.value == "changed":
        where = f", pushed {env.commit[:7]} to {env.branch}" if env.commit else " (dry run)"
        line = f"{prefix}{status}: {env.title}{where}"
        if env.pull_request:
            line += f"; pull request #{env.pull_request.number} {env.pull_request.operation}: "
            line += env.pull_request.url
        return [line]
    if not env.changes:
        return [f"{prefix}{status}: already up to date"]
    if env.commit is None:
        verb = "would change" if dry_run else "changed"
        return [
            f"{prefix}{verb} {c.file}:{c.line} {c.pointer}: "
            f"{shown(c.old)} → {shown(c.new)}"
            for c in env.changes
        ]
    line = f"{prefix}{status} {env.summary()}, pushed {env.commit[:7]} to {env.branch}"
    if env.review:
        line += f" (review: {env.review})"
    if env.pull_request:
        line += f"; pull request #{env.pull_request.number} {env.pull_request.operation}: "
        line += env.pull_request.url
    return [line]


def _error_json(error: PromoterError) -> str:
    outcomes = getattr(error, "outcomes", [])
    changes = [c for o in outcomes for c in o.get("changes", [])]
    return json.dumps(
        {
            "schema_version": 1,
            "status": "error",
            "changes": changes,
            "environments": outcomes,
            "error": {
                "message": redact(str(error)),
                "exit_code": error.exit_code,
                "type": type(error).__name__,
                "path": error.path,
                "line": error.line,
                "field": error.field,
            },
        },
        ensure_ascii=False,
    )


class Stopped(SystemExit):
    """SIGTERM (how GitHub and GitLab cancel a job) or SIGINT, raised where the run is so
    that every `finally` runs: git processes are killed, temporary clones removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name


def _stop(signum: int, frame: object) -> None:
    # One stop only: a second signal must not interrupt the cleanup the first one started
    # (a CI sends SIGKILL if it takes too long).
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Stopped(signum)


def _on_signals() -> dict[int, Any]:
    """Route SIGTERM and SIGINT to `Stopped`; returns the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _stop)
    return previous


def _print_traceback() -> None:
    """`--debug`: the traceback, redacted like every other line (an exception's message, or
    a chained library exception's, may hold a token a server echoed)."""
    click.echo(sinks.log_lines(traceback.format_exc()), err=True, nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one redacted line per error, exit code by error class."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("PROMOTER_DEBUG") == "1"
    json_output = "--output=json" in args or any(
        a == "--output" and b == "json" for a, b in itertools.pairwise(args)
    )
    register_environment(os.environ)  # masked from the first line on, tracebacks included
    previous = _on_signals()
    try:
        _run(args, debug=debug, json_output=json_output)
    except Stopped as stop:
        click.echo(
            sinks.log_line(f"promote: stopped by {stop.signal_name} (exit {stop.code})"), err=True
        )
        sys.exit(stop.code)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(args: list[str], *, debug: bool, json_output: bool) -> None:
    try:
        code = cli.main(args=args, prog_name="promote", standalone_mode=False)
    except PromoterError as error:
        if debug:
            _print_traceback()
        if json_output:
            click.echo(sinks.encoded(_error_json(error)))
        click.echo(sinks.log_line(f"promote: error: {error}"), err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("promote: aborted", err=True)
        sys.exit(1)
    except click.UsageError as error:
        if error.ctx is not None:
            click.echo(sinks.log_lines(error.ctx.get_usage()), err=True)
        click.echo(sinks.log_line(f"promote: error: {error.format_message()}"), err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(sinks.log_line(f"promote: error: {error.format_message()}"), err=True)
        sys.exit(error.exit_code)
    except Exception as error:
        if debug:
            _print_traceback()
        click.echo(
            sinks.log_line(
                f"promote: internal error: {type(error).__name__}: {error} "
                "(rerun with --debug for a traceback)"
            ),
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _outline(config_repo: Path) -> int:
    """No promoter.yaml: show what zero-config discovery sees instead."""
    from promoter.errors import TargetNotFoundError
    from promoter.promotion.explain import outline

    if not config_repo.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(config_repo))
    found = outline(config_repo)
    click.echo(
        sinks.log_line(
            "no promoter.yaml: zero-config discovery applies "
            f"({len(found)} environments found{': ' + ', '.join(found) if found else ''})"
        )
    )
    for env, paths in found.items():
        shown = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")
        click.echo(sinks.log_line(f"  {env}: {shown or 'no YAML files'}"))
    click.echo("run `promote explain --env ENV --image REF` to see what a promotion would touch")
    return 0


@cli.command(name="status")
@click.option(
    "--app", "apps", multiple=True, metavar="NAME", callback=_APP_NAME,
    help="Only these apps (repeatable).",
)  # fmt: skip
@_remote
@click.option(
    "--history", type=click.IntRange(1, 1000), default=30, show_default=True,
    help="Commits of each base read to date the settings.",
)  # fmt: skip
@click.option(
    "--output",
    type=click.Choice(["table", "markdown", "json", "html"]),
    default="table",
    show_default=True,
)
def status_command(
    apps: tuple[str, ...],
    config_repo: str | None,
    forge: str | None,
    api_url: str | None,
    no_clone: bool,
    history: int,
    output: str,
) -> int:
    """What runs where: apps × environments, how long, what is behind, held or frozen."""
    from promoter.promotion import PromoteCommand
    from promoter.promotion import board as render
    from promoter.promotion.flow import status

    config_repo, forge, api_url = _shared(config_repo, forge, api_url)
    found = status(
        PromoteCommand(
            config_repo=config_repo, envs=(), images=(), forge=forge, api_url=api_url,
            no_clone=no_clone, dry_run=True, environ=dict(os.environ), apps=apps,
        ),
        history,
    )  # fmt: skip
    if output == "json":
        click.echo(sinks.json_document(render.as_json(found)))
    elif output == "markdown":
        click.echo(sinks.encoded(render.markdown(found)), nl=False)
    elif output == "html":
        click.echo(sinks.encoded(render.page(found)), nl=False)
    else:
        click.echo(sinks.log_lines(render.text(found)), nl=False)
    return 0


@cli.command(name="why")
@click.option("--env", required=True, metavar="ENV", callback=_ENV_NAME, help="The environment.")
@click.option("--app", metavar="NAME", callback=_APP_NAME, help="The app (promoter.yaml's name).")
@click.option("--image", "images", multiple=True, metavar="REPOSITORY", help="Or its image.")
@_remote
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
def why_command(
    env: str,
    app: str | None,
    images: tuple[str, ...],
    config_repo: str | None,
    forge: str | None,
    api_url: str | None,
    no_clone: bool,
    output: str,
) -> int:
    """Why ENV runs the version it runs: config commit, request, source build, pipeline."""
    from promoter.promotion import PromoteCommand
    from promoter.promotion import provenance as chain
    from promoter.promotion.flow import why

    config_repo, forge, api_url = _shared(config_repo, forge, api_url)
    links = why(
        PromoteCommand(
            config_repo=config_repo, envs=(env,), images=images, app=app, forge=forge,
            api_url=api_url, no_clone=no_clone, dry_run=True, environ=dict(os.environ),
        )
    )  # fmt: skip
    if output == "json":
        rows = [
            dataclasses.asdict(link) | {"compare_url": chain.compare_url(link)} for link in links
        ]
        click.echo(sinks.json_document(rows))
        return 0
    markdown = output == "markdown"
    bullet = "- " if markdown else "  "
    say = sinks.markdown_text if markdown else sinks.log_line
    for link in links:
        when = datetime.fromtimestamp(link.committed, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = say(f"{link.env} runs {link.version}")
        lines = [f"**{head}**" if markdown else head]
        lines.append(f"config commit {link.config_commit[:12]} ({when}): {link.subject}")
        if link.request:
            lines.append(f"merged through request #{link.request}")
        if not link.by_promoter:
            lines.append("set by hand: the commit has no promoter trailers")
        if link.source_commit:
            where = f" of {link.source_repository}" if link.source_repository else ""
            lines.append(f"built from source commit {link.source_commit[:12]}{where}")
        if link.pipeline_url:
            lines.append(f"pipeline: {link.pipeline_url}")
        if link.replaced:
            lines.append(f"replaced {link.replaced}")
        compare = chain.compare_url(link)
        if compare:
            lines.append(f"source changes: {compare}")
        if link.promoted_from:
            lines.append(f"promoted from {link.promoted_from}:")
        click.echo(sinks.encoded(lines[0]))
        for line in lines[1:]:
            click.echo(sinks.encoded(bullet + say(line)))
    return 0


@cli.command(name="plan")
@click.option(
    "--to",
    "to_env",
    required=True,
    metavar="ENV",
    callback=_ENV_NAME,
    help="Environment to promote to.",
)
@click.option(
    "--from",
    "from_env",
    metavar="ENV",
    callback=_ENV_NAME,
    help="Source (default: promoter.yaml's from:).",
)
@click.option(
    "--app", "apps", multiple=True, metavar="NAME", callback=_APP_NAME,
    help="Only these apps (repeatable).",
)  # fmt: skip
@click.option("--all", "all_apps", is_flag=True, help="Every app both environments deploy.")
@click.option(
    "--image", "images", multiple=True, metavar="REPOSITORY", help="Apps by image (no config)."
)
@_remote
@click.option(
    "--output",
    type=click.Choice(["text", "json", "github-matrix", "gitlab-pipeline"]),
    default="text",
    show_default=True,
)
@click.option(
    "--per-job", type=click.IntRange(1, 100), default=1, show_default=True,
    help="Apps promoted by each generated job.",
)  # fmt: skip
def plan_command(
    to_env: str,
    from_env: str | None,
    apps: tuple[str, ...],
    all_apps: bool,
    images: tuple[str, ...],
    config_repo: str | None,
    forge: str | None,
    api_url: str | None,
    no_clone: bool,
    output: str,
    per_job: int,
) -> int:
    """Print what `promote --to` would change, as a GitHub matrix or GitLab child pipeline.

    \b
    promote plan --to production --all --output github-matrix
    promote plan --from staging --to production --all --output gitlab-pipeline > child.yml
    """
    from promoter.promotion import PromoteCommand
    from promoter.promotion import fanout as fan
    from promoter.promotion.flow import plan_fanout

    if not (apps or images or all_apps):
        raise click.UsageError("name the apps: --app NAME, --image REPOSITORY or --all")
    config_repo, forge, api_url = _shared(config_repo, forge, api_url)
    found = plan_fanout(
        PromoteCommand(
            config_repo=config_repo,
            envs=(to_env,),
            images=images,
            forge=forge,
            api_url=api_url,
            no_clone=no_clone,
            dry_run=True,
            environ=dict(os.environ),
            to_env=to_env,
            from_env=from_env,
            apps=apps,
        )
    )
    if output == "github-matrix":
        click.echo(sinks.encoded(fan.github_matrix(found, per_job)))
    elif output == "gitlab-pipeline":
        click.echo(
            sinks.encoded(fan.gitlab_pipeline(found, per_job, config_repo=config_repo)), nl=False
        )
    elif output == "json":
        click.echo(sinks.json_document(found.as_json()))
    else:
        for line in fan.text_table(found):
            click.echo(sinks.log_line(line))
    return 0


@cli.command()
@click.option(
    "--env", "envs", multiple=True, required=True, metavar="ENV", callback=_ENV_NAME,
    help="Environment (repeatable).",
)  # fmt: skip
@click.option(
    "--image", "images", multiple=True, required=True, metavar="REF", help="Image (repeatable)."
)
@click.option("--app", metavar="NAME", callback=_APP_NAME, help="Only this app of promoter.yaml.")
@click.option(
    "--config-repo",
    envvar="PROMOTER_CONFIG_REPO",
    default=".",
    show_default=True,
    metavar="URL|PATH",
    callback=_config_repo,
    help="Config repository: a local directory or repository, or an https:// or file:// URL.",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--base", metavar="BRANCH", callback=_branch, help="Branch to read (default: HEAD).")
@_OUTPUT
def explain(
    envs: tuple[str, ...],
    images: tuple[str, ...],
    app: str | None,
    config_repo: str,
    config_file: Path | None,
    base: str | None,
    output: str,
) -> int:
    """Show where each environment sets the image and what a promotion would do; no writes."""
    from promoter.promotion import PromoteCommand
    from promoter.promotion.flow import explain as run_explain

    report = run_explain(
        PromoteCommand(
            config_repo=config_repo,
            envs=envs,
            images=images,
            app=app,
            config_file=config_file,
            base=base,
            dry_run=True,
            environ=dict(os.environ),
        )
    )
    if output == "json":
        click.echo(sinks.json_document(report.as_json()))
        return 0
    click.echo(
        sinks.log_line(f"environments found: {', '.join(report.environments_found) or 'none'}")
    )
    for item in report.explanations:
        origin = "promoter.yaml" if item.configured else "discovered"
        click.echo(sinks.log_lines(f"\n{item.env} / {item.image} ({origin})"))
        if item.entry_points:
            click.echo(sinks.log_line(f"  entry points: {', '.join(item.entry_points)}"))
        for setting in item.settings:
            shared = setting["shared_by"]
            owner = "own" if setting["owned"] else "shared"
            if shared and isinstance(shared, list):
                owner += f" by {', '.join(str(s) for s in shared)}"
            click.echo(sinks.log_line(f"  set in: {setting['path']}:{setting['line']} ({owner})"))
        for action in item.actions:
            click.echo(sinks.log_line(f"  would: {action['detail']} ({action['reason']})"))
        if item.refusal:
            click.echo(sinks.log_line(f"  refuses: {item.refusal}"))
        elif not item.actions:
            click.echo("  would: nothing (already up to date)")
        for note in item.notes:
            click.echo(sinks.log_line(f"  note: {note}"))
    return 0
