"""`promote bump`: set an image's tag/digest in local files, in place; no repository, no
git, no forge (so it imports none of them)."""

from __future__ import annotations

from pathlib import Path

import click

import promoter.cli.options as opt
from promoter.cli.render import print_result


@click.command(name="bump")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@opt.image("Image with the new tag and/or digest.", multiple=False, required=True)
@click.option(
    "--key", metavar="PATH", callback=opt.TEXT,
    help="Only this key path (backend.image.tag) or JSON pointer.",
)  # fmt: skip
@click.option(
    "--setter", metavar="POLICY", callback=opt.TEXT,
    help="Flux image policy (ns:name) that stands for this image.",
)  # fmt: skip
@opt.OUTPUT
def command(
    files: tuple[Path, ...], image: str, key: str | None, setter: str | None, output: str
) -> int:
    """Set IMAGE's tag/digest in local FILES, in place (no git).

    Exit 0 when a file changed or already matched; 2 when a file has no reference to the
    image, is not valid YAML, or REF is invalid (nothing is written then).
    """
    from promoter.promotion import bump

    print_result(bump(files, image, key=key, setter=setter), output)
    return 0
