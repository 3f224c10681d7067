"""The promote run itself, `promote --env ENV --image REF` (no subcommand): its options sit
on the group (`cli/__init__`), which calls `run` when no subcommand follows.

`--to ENV` promotes what the source environment deploys; `--rollback` restores a previous
version and holds it (`release-hold` in `rollback.py` lifts the hold).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import promoter.cli.options as opt
from promoter import sinks
from promoter.cli.render import print_result
from promoter.errors import InputError

if TYPE_CHECKING:
    from promoter.promotion.requests import WriteRequest

F = TypeVar("F", bound=Callable[..., Any])


WHAT = (
    opt.env("Environment to promote to (repeatable).", multiple=True),
    opt.image("Image with tag and/or digest (repeatable)."),
    opt.app("Only this app of promoter.yaml (repeatable with --to).", multiple=True),
    opt.to_env(
        "Promote to ENV what its source environment deploys (--from, or promoter.yaml's from:).",
        check=opt.ENV_OR_VERSION,
    ),
    opt.from_env("With --to: the environment to read."),
    click.option(
        "--rollback",
        is_flag=True,
        help="Restore --env's previous version of --app (or the one --to names) and hold it there.",
    ),
    opt.all_apps("With --to: every app both environments deploy."),
)
"""What to promote where: images to environments, a source environment's versions, or a
rollback."""
WHERE = (
    opt.config_repo(
        "Config repository: https:// or file:// URL, or a local repository's path (cloned, "
        "committed, pushed); a directory that is not a git repository is edited in place "
        "[env: PROMOTER_CONFIG_REPO]."
    ),
    opt.config_file("promoter.yaml to use instead of the one in the config repo."),
)
"""The config repository and how to reach it."""
HOW = (
    opt.mode("Override every environment's mode (default: promoter.yaml, else pull-request)."),
    opt.forge("Forge of the config repo (default: inferred from the URL and CI)."),
    opt.base("Base branch (default: promoter.yaml, else HEAD)."),
    opt.api_url(
        "Forge API root, e.g. https://ghe.example.com/api/v3 or https://gitlab.example.com "
        "(default: from the URL, GITHUB_API_URL, CI_SERVER_URL)."
    ),
    click.option(
        "--auto-merge", is_flag=True, help="Ask the forge to merge the request when green."
    ),
    click.option(
        "--label",
        "labels",
        multiple=True,
        metavar="NAME",
        callback=opt.check_label,
        help="A label for the pull/merge request, added to promoter.yaml's (repeatable).",
    ),
    opt.no_clone("Read and commit through the forge API (GitHub, GitLab), no git at all."),
    opt.author("Commit identity 'Name <email>' [env: PROMOTER_AUTHOR].", show_default=True),
    click.option("--skip-ci", is_flag=True, help="Add [skip ci] to push-mode commits."),
    click.option("--sign", is_flag=True, help="Sign commits with your git signing configuration."),
    click.option(
        "--allow-downgrade",
        is_flag=True,
        help="Apply an older version over a newer one (rollback).",
    ),
)
"""How the change lands: mode, forge and its API, base branch, request, commit."""
BUILD = (
    click.option(
        "--source-repo",
        metavar="URL",
        callback=opt.check_url,
        help="Source repository for the commit trailers.",
    ),
    click.option(
        "--source-commit",
        metavar="SHA",
        callback=opt.COMMIT_ID,
        help="Source commit for the commit trailers.",
    ),
    click.option(
        "--pipeline-url",
        metavar="URL",
        callback=opt.check_url,
        help="Pipeline URL for the commit trailers.",
    ),
)
"""The build promoted, for the commit trailers (the CI's variables otherwise)."""
RUN = (
    opt.dry_run("Print the diff and a summary; touch nothing."),
    click.option(
        "--verify-image",
        is_flag=True,
        help="Refuse an image its registry lacks (tag and digest), before anything is written "
        "[credentials: PROMOTER_REGISTRY_USERNAME, _PASSWORD, _HOST].",
    ),
    opt.guards,
    click.option(
        "--force",
        is_flag=True,
        help="Promote even when a loop guard would skip (the commit says so).",
    ),
    opt.OUTPUT,
)
"""A dry run, the registry check, the loop guards and their override, the output."""


def options(function: F) -> F:
    """Every option of the promote run, in the order `promote --help` lists them."""
    for option in reversed((*WHAT, *WHERE, *HOW, *BUILD, *RUN)):
        function = option(function)
    return function


@dataclass(frozen=True, slots=True)
class Given:
    """The promote run's options as the command line gave them (checked by their
    callbacks), before they become a request."""

    envs: tuple[str, ...]
    images: tuple[str, ...]
    apps: tuple[str, ...]
    to_env: str | None
    from_env: str | None
    all_apps: bool
    rollback: bool
    config_repo: str | None
    config_file: Path | None
    mode: str | None
    forge: str | None
    base: str | None
    api_url: str | None
    auto_merge: bool
    labels: tuple[str, ...]
    no_clone: bool
    author: str
    skip_ci: bool
    sign: bool
    allow_downgrade: bool
    source_repo: str | None
    source_commit: str | None
    pipeline_url: str | None
    dry_run: bool
    verify_image: bool
    bot_actors: tuple[str, ...]
    watch: tuple[str, ...]
    ignore: tuple[str, ...]
    force: bool
    output: str


def run(ctx: click.Context, **options: Any) -> int:
    """The group's own run: help when nothing is asked, else one promotion (exit 3 when a
    policy blocks it)."""
    given = Given(**options)
    if not given.envs and not given.images and given.to_env is None:
        click.echo(sinks.log_lines(ctx.get_help()))
        return 0
    _check_shape(given)
    from promoter.promotion import opening

    environ = dict(os.environ)  # the CI environment, read once for the whole run
    g = given
    where = opening.Where(g.config_repo or ".", g.forge, g.api_url, g.no_clone, g.base, environ)
    opening.begin(where, push=not g.dry_run)  # opens while the promotion's code imports

    from promoter.promotion import mask_commands, promote

    for command in mask_commands(environ):  # the runner reads them on both streams
        click.echo(sinks.workflow_command(command), err=True)
    result = promote(_request(given, environ))
    print_result(result, given.output, environ=environ)
    return 3 if result.status.value == "blocked" else 0


def _check_shape(given: Given) -> None:
    """The options that go together: `--to` with `--app`/`--image`/`--all`, `--rollback`
    with one environment and one app, otherwise `--env` with `--image`."""
    envs, apps, images, to_env = given.envs, given.apps, given.images, given.to_env
    if given.rollback:  # with --rollback, --to names a version
        if len(envs) != 1 or not (apps or images) or len(apps) > 1:
            raise click.UsageError("--rollback takes one --env and one --app (or --image)")
    elif to_env is not None:
        if not re.fullmatch(opt.NAME, to_env):
            raise InputError(f"{opt.shown(to_env)}: expected an environment name", field="--to")
        if envs:
            raise click.UsageError("--to replaces --env: give one of them")
        if not (apps or images or given.all_apps):
            raise click.UsageError("--to needs --app NAME, --image REPOSITORY or --all")
    else:
        if given.from_env is not None or given.all_apps:
            raise click.UsageError("--from and --all go with --to")
        if not images:
            raise click.UsageError("missing --image")
        if len(apps) > 1:
            raise click.UsageError("--app is repeatable only with --to")


def _request(given: Given, environ: dict[str, str]) -> WriteRequest:
    """The request `given` makes: a rollback, a `--to` promotion, or images to `--env`s."""
    from promoter.promotion import (
        Delivery,
        LoopGuards,
        PromoteFromRequest,
        PromoteRequest,
        RepositoryRef,
        RollbackRequest,
        Source,
    )
    from promoter.promotion.gate import as_facts

    g = given
    repo = RepositoryRef(
        g.config_repo or ".", forge=g.forge, api_url=g.api_url, no_clone=g.no_clone, base=g.base,
        config_file=g.config_file, environ=environ,
    )  # fmt: skip
    delivery = Delivery(
        mode=g.mode, dry_run=g.dry_run, author=g.author, sign=g.sign, skip_ci=g.skip_ci,
        auto_merge=g.auto_merge, labels=g.labels, verify_image=g.verify_image,
    )  # fmt: skip
    guards = LoopGuards(
        force=g.force, bot_actors=as_facts(g.bot_actors), watch=as_facts(g.watch),
        ignore=as_facts(g.ignore),
    )  # fmt: skip
    app = g.apps[0] if g.apps else None
    if g.rollback:
        return RollbackRequest(
            repo, g.envs[0], app, g.images, to=g.to_env, delivery=delivery, guards=guards
        )
    build = Source(g.source_repo, g.source_commit, g.pipeline_url)
    if g.to_env is not None:
        return PromoteFromRequest(
            repo, g.to_env, g.from_env, g.apps, g.images, allow_downgrade=g.allow_downgrade,
            source=build, delivery=delivery, guards=guards,
        )  # fmt: skip
    return PromoteRequest(
        repo, g.envs, g.images, app, allow_downgrade=g.allow_downgrade, source=build,
        delivery=delivery, guards=guards,
    )  # fmt: skip
