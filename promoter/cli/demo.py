"""`promote demo`: promotions into a throwaway local repository (clone, edit, commit,
push), printed step by step; no network."""

from __future__ import annotations

from pathlib import Path

import click

import promoter.cli.options as opt
from promoter import sinks
from promoter.cli.render import print_demo_step


@click.command(name="demo")
@click.option(
    "--fixture",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Config repository to seed the demo with (default: the one promoter ships).",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's repository here (then try promote status / why on it).",
)
@opt.OUTPUT
def command(fixture: Path | None, keep: Path | None, output: str) -> int:
    """Promote into a throwaway local repository: clone, edit, commit, push; no network."""
    from promoter.demo import run_demo

    if output == "json":  # one document: each step's title, command and result
        steps = [
            {"title": s.title, "command": s.command, "result": s.result.as_json()}
            for s in run_demo(fixture, keep)
        ]
        click.echo(sinks.json_document({"schema_version": 1, "steps": steps}))
        return 0
    for number, step in enumerate(run_demo(fixture, keep), start=1):
        print_demo_step(number, step)
    if keep is not None:
        click.echo(
            sinks.log_lines(
                f"\nDone; the repository is kept in {keep}: promote status --config-repo {keep}"
            )
        )
    else:
        click.echo("\nDone: a real clone, commit and push each time; the repository is deleted.")
    return 0
