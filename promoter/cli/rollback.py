"""`promote release-hold`: lift the hold a rollback (`promote --rollback`) placed, so that
automated promotions of the app resume. It is a promotion: same run, same `Result`."""

from __future__ import annotations

import click

import promoter.cli.options as opt
from promoter.cli.render import print_result


@click.command(name="release-hold")
@opt.env("Environment the app is held in.", required=True)
@opt.app("The held app (promoter.yaml's name).")
@opt.image("Or its image.", metavar="REPOSITORY")
@opt.remote
@opt.mode("Override the mode.")
@opt.dry_run("Show the change; push nothing.")
@opt.OUTPUT
def command(
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
    if not (app or images):
        raise click.UsageError("name the app: --app NAME or --image REPOSITORY")
    repo = opt.repository(config_repo, forge, api_url, no_clone)  # begins opening the store
    from promoter.promotion import Delivery, ReleaseHoldRequest, promote

    delivery = Delivery(mode=mode, dry_run=dry_run)
    result = promote(ReleaseHoldRequest(repo, env, app, images, delivery=delivery))
    print_result(result, output)
    return 0
