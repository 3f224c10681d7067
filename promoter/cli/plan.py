"""`promote plan`: what `promote --to` would change, app by app, as a CI fan-out (read only)."""

from __future__ import annotations

import click

import promoter.cli.options as opt
from promoter.cli.render import print_plan


@click.command(name="plan")
@opt.to_env("Environment to promote to.", required=True)
@opt.from_env("Source (default: promoter.yaml's from:).")
@opt.app("Only these apps (repeatable).", multiple=True)
@opt.all_apps("Every app both environments deploy.")
@opt.image("Apps by image (no config).", metavar="REPOSITORY")
@opt.remote
@opt.output("text", "json", "github-matrix", "gitlab-pipeline")
@click.option(
    "--per-job", type=click.IntRange(1, 100), default=1, show_default=True,
    help="Apps promoted by each generated job.",
)  # fmt: skip
def command(
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
    if not (apps or images or all_apps):
        raise click.UsageError("name the apps: --app NAME, --image REPOSITORY or --all")
    repo = opt.repository(config_repo, forge, api_url, no_clone)  # begins opening the store
    from promoter.queries.plan import plan_fanout
    from promoter.queries.requests import PlanRequest

    found = plan_fanout(PlanRequest(repo, to_env, from_env, apps, images))
    print_plan(found, output, per_job=per_job, config_repo=repo.url)
    return 0
