"""`promote why`: the chain that put an environment's running version there (read only)."""

from __future__ import annotations

import os

import click

import promoter.cli.options as opt
from promoter.cli.render import print_why


@click.command(name="why")
@opt.env("The environment.", required=True)
@opt.app("The app (promoter.yaml's name).")
@opt.image("Or its image.", metavar="REPOSITORY")
@opt.remote
@opt.output("text", "markdown", "json")
def command(
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
    from promoter.queries.why import why

    config_repo, forge, api_url = opt.resolve_remote(config_repo, forge, api_url)
    links = why(
        PromoteCommand(
            config_repo=config_repo, envs=(env,), images=images, app=app, forge=forge,
            api_url=api_url, no_clone=no_clone, dry_run=True, environ=dict(os.environ),
        )
    )  # fmt: skip
    print_why(links, output)
    return 0
