"""`promote guard`: the loop guards alone, for pipelines that decide before they build."""

from __future__ import annotations

import os

import click

import promoter.cli.options as opt
from promoter import sinks

GUARD_SKIP_EXIT = 10
"""`promote guard`: this run must not promote (0 means go)."""


@click.command(name="guard")
@opt.guards
@opt.author("promoter's commit identity 'Name <email>': commits with it never promote.")
@opt.output("json", "text")
def command(
    bot_actors: tuple[str, ...],
    watch: tuple[str, ...],
    ignore: tuple[str, ...],
    author: str,
    output: str,
) -> int:
    """Run the loop guards alone: exit 0 to go, 10 to skip, with a JSON (or text) reason.

    For pipelines that decide before building anything: reads the CI's event (GitHub
    Actions, GitLab CI) the way a promotion would.
    """
    from promoter.promotion import LoopGuards
    from promoter.promotion.flow import guard
    from promoter.promotion.gate import as_facts

    guards = LoopGuards(
        bot_actors=as_facts(bot_actors), watch=as_facts(watch), ignore=as_facts(ignore)
    )
    verdict = guard(guards, author, dict(os.environ))
    guard_name = verdict.guard.value if verdict.guard else None
    if output == "text":
        click.echo(sinks.log_line(f"skip: {guard_name}: {verdict.reason}" if not verdict.go
                                  else "go"))  # fmt: skip
    else:
        click.echo(sinks.json_document(
            {"schema_version": 1, "go": verdict.go, "guard": guard_name, "reason": verdict.reason}
        ))  # fmt: skip
    return 0 if verdict.go else GUARD_SKIP_EXIT
