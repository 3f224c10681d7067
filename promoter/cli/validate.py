"""`promote validate`: check promoter.yaml and the holds and freeze files of a local
directory; without promoter.yaml, show what zero-config discovery finds."""

from __future__ import annotations

from pathlib import Path

import click

import promoter.cli.options as opt
from promoter import sinks
from promoter.cli.render import print_outline


@click.command(name="validate")
@opt.config_repo("Config repository root (default: current directory).", directory=True)
@opt.config_file()
def command(config_repo: Path, config_file: Path | None) -> int:
    """Check promoter.yaml (schema, environments, apps, target paths) and the holds and
    freeze files; without promoter.yaml, show the environments zero-config discovery finds."""
    from promoter.config import check_controls, find_config, load_config

    path = config_file or find_config(config_repo)
    if path is None:
        return _outline(config_repo)
    config = load_config(path, root=config_repo)
    check_controls(config_repo, config)  # holds and freezes: parsed, names known
    click.echo(
        sinks.log_line(
            f"{path}: ok ({len(config.environments)} environments, {len(config.apps)} apps)"
        )
    )
    return 0


def _outline(config_repo: Path) -> int:
    """No promoter.yaml: show what zero-config discovery sees instead."""
    from promoter.errors import TargetNotFoundError
    from promoter.queries.explain import outline

    if not config_repo.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(config_repo))
    print_outline(outline(config_repo))
    return 0
