"""`promote why`: the chain that put an environment's running version there (read only)."""

from __future__ import annotations

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
    repo = opt.repository(config_repo, forge, api_url, no_clone)  # begins opening the store
    from promoter.queries.requests import WhyRequest
    from promoter.queries.why import why

    links = why(WhyRequest(repo, env, app, images))
    print_why(links, output)
    return 0
