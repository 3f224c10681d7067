"""`promote explain`: where each environment sets an image and what a promotion would do;
it reads, never writes."""

from __future__ import annotations

import os
from pathlib import Path

import click

import promoter.cli.options as opt
from promoter.cli.render import print_explanation


@click.command(name="explain")
@opt.env("Environment (repeatable).", multiple=True, required=True)
@opt.image("Image (repeatable).", required=True)
@opt.app("Only this app of promoter.yaml.")
@opt.config_repo(
    "Config repository: a local directory or repository, or an https:// or file:// URL.",
    default=".",
)
@opt.config_file()
@opt.base("Branch to read (default: HEAD).")
@opt.OUTPUT
def command(
    envs: tuple[str, ...],
    images: tuple[str, ...],
    app: str | None,
    config_repo: str,
    config_file: Path | None,
    base: str | None,
    output: str,
) -> int:
    """Show where each environment sets the image and what a promotion would do; no writes."""
    from promoter.promotion import RepositoryRef
    from promoter.queries.explain import explain
    from promoter.queries.requests import ExplainRequest

    repo = RepositoryRef(config_repo, base=base, config_file=config_file, environ=dict(os.environ))
    report = explain(ExplainRequest(repo, envs, images, app))
    print_explanation(report, output)
    return 0
