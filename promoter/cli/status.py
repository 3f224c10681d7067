"""`promote status`: what runs where, apps × environments (read only)."""

from __future__ import annotations

import os

import click

import promoter.cli.options as opt
from promoter.cli.render import print_status


@click.command(name="status")
@opt.app("Only these apps (repeatable).", multiple=True)
@opt.remote
@click.option(
    "--history", type=click.IntRange(1, 1000), default=30, show_default=True,
    help="Commits of each base read to date the settings.",
)  # fmt: skip
@opt.output("table", "markdown", "json", "html")
def command(
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
    from promoter.queries.status import status

    config_repo, forge, api_url = opt.resolve_remote(config_repo, forge, api_url)
    found = status(
        PromoteCommand(
            config_repo=config_repo, envs=(), images=(), forge=forge, api_url=api_url,
            no_clone=no_clone, dry_run=True, environ=dict(os.environ), apps=apps,
        ),
        history,
    )  # fmt: skip
    print_status(found, output)
    return 0
