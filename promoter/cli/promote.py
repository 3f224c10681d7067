"""The promote run itself, `promote --env ENV --image REF` (no subcommand): its options sit
on the group (`cli/__init__`), which calls `run` when no subcommand follows.

`--to ENV` promotes what the source environment deploys; `--rollback` restores a previous
version and holds it (`release-hold` in `rollback.py` lifts the hold).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import promoter.cli.options as opt
from promoter import sinks
from promoter.cli.render import print_result
from promoter.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def options(function: F) -> F:
    """Every option of the promote run, in the order `promote --help` lists them."""
    for option in reversed(
        (
            opt.env("Environment to promote to (repeatable).", multiple=True),
            opt.image("Image with tag and/or digest (repeatable)."),
            opt.app("Only this app of promoter.yaml (repeatable with --to).", multiple=True),
            opt.to_env(
                "Promote to ENV what its source environment deploys (--from, or promoter.yaml's "
                "from:).",
                check=opt.ENV_OR_VERSION,
            ),
            opt.from_env("With --to: the environment to read."),
            click.option(
                "--rollback",
                is_flag=True,
                help="Restore --env's previous version of --app (or the one --to names) and hold "
                "it there.",
            ),
            opt.all_apps("With --to: every app both environments deploy."),
            opt.config_repo(
                "Config repository: https:// or file:// URL, or a local repository's path (cloned, "
                "committed, pushed); a directory that is not a git repository is edited in place "
                "[env: PROMOTER_CONFIG_REPO]."
            ),
            opt.config_file("promoter.yaml to use instead of the one in the config repo."),
            opt.mode(
                "Override every environment's mode (default: promoter.yaml, else pull-request)."
            ),
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
            click.option(
                "--sign", is_flag=True, help="Sign commits with your git signing configuration."
            ),
            click.option(
                "--allow-downgrade",
                is_flag=True,
                help="Apply an older version over a newer one (rollback).",
            ),
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
            opt.dry_run("Print the diff and a summary; touch nothing."),
            opt.guards,
            click.option(
                "--force",
                is_flag=True,
                help="Promote even when a loop guard would skip (the commit says so).",
            ),
            opt.OUTPUT,
        )
    ):
        function = option(function)
    return function


def run(
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
) -> int:
    """The group's own run: help when nothing is asked, else one promotion (exit 3 when a
    policy blocks it)."""
    if not envs and not images and to_env is None:
        click.echo(sinks.log_lines(ctx.get_help()))
        return 0
    rollback_to = None
    if rollback:
        rollback_to, to_env = to_env, None  # with --rollback, --to names a version
        if len(envs) != 1 or not (apps or images) or len(apps) > 1:
            raise click.UsageError("--rollback takes one --env and one --app (or --image)")
    elif to_env is not None:
        if not re.fullmatch(opt.NAME, to_env):
            raise InputError(f"{opt.shown(to_env)}: expected an environment name", field="--to")
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
    from promoter.promotion import (
        Delivery,
        LoopGuards,
        PromoteFromRequest,
        PromoteRequest,
        RepositoryRef,
        RollbackRequest,
        Source,
        mask_commands,
        promote,
    )
    from promoter.promotion.gate import as_facts

    environ = dict(os.environ)  # the CI environment, read once for the whole run
    for command in mask_commands(environ):  # the runner reads them on both streams
        click.echo(sinks.workflow_command(command), err=True)

    if not config_repo:
        raise InputError("missing --config-repo (or PROMOTER_CONFIG_REPO)", field="--config-repo")
    repo = RepositoryRef(
        config_repo, forge=forge, api_url=api_url, no_clone=no_clone, base=base,
        config_file=config_file, environ=environ,
    )  # fmt: skip
    delivery = Delivery(
        mode=mode, dry_run=dry_run, author=author, sign=sign, skip_ci=skip_ci,
        auto_merge=auto_merge, labels=labels,
    )  # fmt: skip
    guards = LoopGuards(
        force=force, bot_actors=as_facts(bot_actors), watch=as_facts(watch),
        ignore=as_facts(ignore),
    )  # fmt: skip
    build = Source(source_repo, source_commit, pipeline_url)
    request: PromoteRequest | PromoteFromRequest | RollbackRequest
    if rollback:
        request = RollbackRequest(
            repo, envs[0], app, images, to=rollback_to, delivery=delivery, guards=guards
        )
    elif to_env is not None:
        request = PromoteFromRequest(
            repo, to_env, from_env, apps, images, allow_downgrade=allow_downgrade, source=build,
            delivery=delivery, guards=guards,
        )  # fmt: skip
    else:
        request = PromoteRequest(
            repo, envs, images, app, allow_downgrade=allow_downgrade, source=build,
            delivery=delivery, guards=guards,
        )  # fmt: skip
    result = promote(request)
    print_result(result, output)
    return 3 if result.status.value == "blocked" else 0
