"""`promote completion`: the shell completion script for `promote` (click's own), printed.

The script calls `promote` back with `_PROMOTE_COMPLETE` set; click answers that in the
group's `main` (`promoter.cli.main` runs it with the program name `promote`), so the
names here must be the ones click derives from that program name. click's completion
module is imported only when a script is printed, not at start-up.
"""

from __future__ import annotations

import click

from promoter import sinks

PROG_NAME = "promote"
"""The command the shell completes: the name `promoter.cli.main` gives the group."""
COMPLETE_VAR = "_PROMOTE_COMPLETE"
"""The variable click's `main` reads for `PROG_NAME` (`_{PROG_NAME}_COMPLETE`)."""
SHELLS = ("bash", "zsh", "fish")


@click.command(name="completion")
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def command(shell: str) -> int:
    """Print the completion script for SHELL: bash, zsh or fish.

    \b
    bash: add to ~/.bashrc
      eval "$(promote completion bash)"
    zsh: add to ~/.zshrc, after compinit
      eval "$(promote completion zsh)"
    fish: run once
      promote completion fish > ~/.config/fish/completions/promote.fish
    """
    from click.shell_completion import get_completion_class

    from promoter.cli import cli  # the group imports this module: not at import time

    complete = get_completion_class(shell)
    assert complete is not None  # click registers every one of SHELLS
    script = complete(cli, {}, PROG_NAME, COMPLETE_VAR).source()
    click.echo(sinks.encoded(script), nl=not script.endswith("\n"))
    return 0
