"""`promote validate`: check promoter.yaml and the holds and freeze files of a config
repository (a directory, a repository or a URL); without promoter.yaml, show what the
repository itself says: its environments, in promotion order, and their files."""

from __future__ import annotations

from pathlib import Path

import click

import promoter.cli.options as opt
from promoter.cli.render import print_validation


@click.command(name="validate")
@opt.remote
@opt.config_file()
@opt.base("Branch to read (default: HEAD).")
@opt.OUTPUT
def command(
    config_repo: str | None,
    forge: str | None,
    api_url: str | None,
    no_clone: bool,
    config_file: Path | None,
    base: str | None,
    output: str,
) -> int:
    """Check promoter.yaml (schema, environments, apps, target paths) and the holds and
    freeze files; without promoter.yaml, show the environments the repository defines."""
    import dataclasses

    repo = opt.repository(config_repo, forge, api_url, no_clone)  # begins opening the store
    from promoter.queries.requests import ValidateRequest
    from promoter.queries.validate import validate

    repo = dataclasses.replace(repo, config_file=config_file, base=base)
    print_validation(validate(ValidateRequest(repo)), output)
    return 0
