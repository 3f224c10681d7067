"""Command line: parse, call one `promotion` function, render its `Result`, map errors to exits.

The only module that prints. Heavy modules (YAML, jsonpatch, forges) are imported inside
the commands so `promote --help` starts as fast as click itself.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter import __version__
from promoter.errors import PromoterError
from promoter.redact import redact

if TYPE_CHECKING:
    from promoter.promotion import Result

EXIT_CODES_HELP = """\b
Exit codes:
  0  changed, already up to date, or superseded
  1  operational failure (git, network, forge)
  2  bad input or configuration; nothing written
  3  blocked by a policy"""

_OUTPUT = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one JSON object on stdout.",
)


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--env", "envs", multiple=True, metavar="ENV", help="Environment to promote to (repeatable)."
)
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="REF",
    help="Image with tag and/or digest (repeatable).",
)
@click.option("--app", metavar="NAME", help="Only this app of promoter.yaml.")
@click.option(
    "--config-repo",
    envvar="PROMOTER_CONFIG_REPO",
    type=click.Path(path_type=Path, file_okay=False),
    help="Checkout of the GitOps config repository [env: PROMOTER_CONFIG_REPO].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="promoter.yaml to use instead of the one in the config repo.",
)
@click.option("--dry-run", is_flag=True, help="Print the diff and a summary; touch nothing.")
@_OUTPUT
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="promote")
@click.pass_context
def cli(
    ctx: click.Context,
    envs: tuple[str, ...],
    images: tuple[str, ...],
    app: str | None,
    config_repo: Path | None,
    config_file: Path | None,
    dry_run: bool,
    output: str,
    debug: bool,
) -> int:
    """Promote container images in a GitOps config repository, with minimal diffs.

    \b
    promote --env staging --image ghcr.io/acme/web:1.4.2 --config-repo . --dry-run
    promote bump overlays/staging/kustomization.yaml --image ghcr.io/acme/web:1.4.2
    """
    if ctx.invoked_subcommand is not None:
        return 0
    if not envs and not images:
        click.echo(ctx.get_help())
        return 0
    if not images:
        raise click.UsageError("missing --image")
    from promoter.errors import InputError
    from promoter.promotion import PromoteCommand, promote

    if config_repo is None:
        raise InputError("missing --config-repo (or PROMOTER_CONFIG_REPO)", field="--config-repo")
    result = promote(
        PromoteCommand(
            config_repo=config_repo,
            envs=envs,
            images=images,
            app=app,
            config_file=config_file,
            dry_run=dry_run,
        )
    )
    _render(result, output)
    return 0


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--image", required=True, metavar="REF", help="Image with the new tag and/or digest.")
@click.option(
    "--key", metavar="PATH", help="Only this key path (backend.image.tag) or JSON pointer."
)
@click.option(
    "--setter", metavar="POLICY", help="Flux image policy (ns:name) that stands for this image."
)
@_OUTPUT
def bump(
    files: tuple[Path, ...], image: str, key: str | None, setter: str | None, output: str
) -> int:
    """Set IMAGE's tag/digest in local FILES, in place (no git).

    Exit 0 when a file changed or already matched; 2 when a file has no reference to the
    image, is not valid YAML, or REF is invalid (nothing is written then).
    """
    from promoter.promotion import bump as bump_files

    _render(bump_files(files, image, key=key, setter=setter), output)
    return 0


@cli.command()
@click.option(
    "--config-repo",
    envvar="PROMOTER_CONFIG_REPO",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    help="Config repository root (default: current directory).",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False))
def validate(config_repo: Path, config_file: Path | None) -> int:
    """Check promoter.yaml: schema, environments, apps and that target paths stay in the repo."""
    from promoter.config import find_config, load_config
    from promoter.errors import TargetNotFoundError

    path = config_file or find_config(config_repo)
    if path is None:
        raise TargetNotFoundError("no promoter.yaml found", path=str(config_repo))
    config = load_config(path, root=config_repo)
    click.echo(f"{path}: ok ({len(config.environments)} environments, {len(config.apps)} apps)")
    return 0


def _render(result: Result, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    for diff in result.diffs if result.dry_run else ():
        click.echo(redact(diff.unified()), nl=False)
    for env in result.environments:
        prefix = f"{env.env}: " if env.env else ""
        if not env.changes:
            click.echo(f"{prefix}{env.status.value}: already up to date")
        for change in env.changes:
            verb = "would change" if result.dry_run else "changed"
            click.echo(
                f"{prefix}{verb} {change.file}:{change.line} {change.pointer}: "
                f"{change.old if change.old is not None else '(added)'} → {change.new}"
            )
    if result.dry_run:
        files = len(result.diffs)
        click.echo(f"dry run: {len(result.changes)} change(s) in {files} file(s); nothing written")


def _error_json(error: PromoterError) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "status": "error",
            "changes": [],
            "error": {
                "message": redact(str(error)),
                "exit_code": error.exit_code,
                "type": type(error).__name__,
                "path": error.path,
                "line": error.line,
                "field": error.field,
            },
        },
        ensure_ascii=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one redacted line per error, exit code by error class."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("PROMOTER_DEBUG") == "1"
    json_output = "--output=json" in args or any(
        a == "--output" and b == "json" for a, b in itertools.pairwise(args)
    )
    try:
        code = cli.main(args=args, prog_name="promote", standalone_mode=False)
    except PromoterError as error:
        if debug:
            traceback.print_exc()
        if json_output:
            click.echo(_error_json(error))
        click.echo(f"promote: error: {redact(str(error))}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("promote: aborted", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except Exception as error:
        if debug:
            traceback.print_exc()
        click.echo(
            f"promote: internal error: {redact(f'{type(error).__name__}: {error}')} "
            "(rerun with --debug for a traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
