"""`promote status`: what runs where, apps × environments (read only)."""

from __future__ import annotations

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
@opt.output("text", "markdown", "json", "html", "table")
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
    repo = opt.repository(config_repo, forge, api_url, no_clone)  # begins opening the store
    from promoter.queries.requests import StatusRequest
    from promoter.queries.status import status

    found = status(StatusRequest(repo, apps, history))
    print_status(found, output)
    return 0
