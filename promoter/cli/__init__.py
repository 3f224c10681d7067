"""Command line: the `promote` group, its entry point, and errors mapped to exit codes.

The only package that prints. Each command is a module here (`status`, `why`, ...) that
parses, calls one `promotion` function and renders its value (`render`); the options more
than one command takes are declared once (`options`). The promote run itself has its
options on the group (`promote --env ENV --image REF`, `promote.py`). Heavy modules (YAML,
jsonpatch, forges) are imported inside the commands so `promote --help` starts as fast as
click itself.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from promoter import __version__, sinks
from promoter.cli import (
    bump,
    completion,
    demo,
    explain,
    guard,
    inputs,
    plan,
    promote,
    rollback,
    status,
    validate,
    why,
)
from promoter.cli.render import error_json
from promoter.errors import PromoterError
from promoter.redact import register_environment

EXIT_CODES_HELP = """\b
Exit codes:
  0  changed, already up to date, or superseded
  1  operational failure (git, network, forge)
  2  bad input or configuration; nothing written
  3  blocked by a policy"""


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@promote.options
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="promote")
@click.pass_context
def cli(ctx: click.Context, /, debug: bool, **options: Any) -> int:
    """Promote container images in a GitOps config repository, with minimal diffs.

    \b
    promote --env staging --image ghcr.io/acme/web:1.4.2 --config-repo . --dry-run
    promote bump overlays/staging/kustomization.yaml --image ghcr.io/acme/web:1.4.2
    """
    if ctx.invoked_subcommand is not None:
        return 0
    return promote.run(ctx, **options)


for _module in (
    rollback, guard, bump, demo, validate, status, why, plan, explain, inputs, completion
):
    cli.add_command(_module.command)


class Stopped(SystemExit):
    """SIGTERM (how GitHub and GitLab cancel a job) or SIGINT, raised where the run is so
    that every `finally` runs: git processes are killed, temporary clones removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name


def _stop(signum: int, frame: object) -> None:
    # One stop only: a second signal must not interrupt the cleanup the first one started
    # (a CI sends SIGKILL if it takes too long).
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Stopped(signum)


def _on_signals() -> dict[int, Any]:
    """Route SIGTERM and SIGINT to `Stopped`; returns the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _stop)
    return previous


def _print_traceback() -> None:
    """`--debug`: the traceback, redacted like every other line (an exception's message, or
    a chained library exception's, may hold a token a server echoed)."""
    import traceback  # only with --debug; not at start-up

    click.echo(sinks.log_lines(traceback.format_exc()), err=True, nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one redacted line per error, exit code by error class."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("PROMOTER_DEBUG") == "1"
    json_output = "--output=json" in args or any(
        a == "--output" and b == "json" for a, b in itertools.pairwise(args)
    )
    register_environment(os.environ)  # masked from the first line on, tracebacks included
    previous = _on_signals()
    collecting = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        _run(args, debug=debug, json_output=json_output)
    except Stopped as stop:
        click.echo(
            sinks.log_line(f"promote: stopped by {stop.signal_name} (exit {stop.code})"), err=True
        )
        sys.exit(stop.code)
    except SystemExit as done:
        if argv is None:  # the process's own run: nothing is left to tear down
            _exit_now(done.code)
        raise
    finally:
        gc.set_threshold(*collecting)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


RUN_GC_THRESHOLDS = (50_000, 1_000, 1_000)
"""The cycle collector's thresholds for a run. A read keeps every file it parsed (millions
of YAML nodes at thousands of apps) until it ends, and at the default (700, 10, 10) the
collector scanned them again and again: 25-30% of `status` and `plan --all` at 2,000 and
8,000 apps, for no garbage (a run's cycles are young, and a generation-0 pass still finds
them). The memory high-water mark is the same (measured at 2,000 and 8,000 apps)."""


def _exit_now(code: object) -> None:
    """End the process once its output is flushed, without the interpreter's teardown
    (freeing every module and object, a third of a fast run's time after its last
    request): the run closed its stores and removed its directories already, and
    promoter registers nothing to run at exit. Left to the interpreter when another
    thread still works (a store begun and never used, closing itself), and under a
    profiler or tracer (coverage), which report at exit."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return
    if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the interpreter reports it as it would
        return
    os._exit(status)


def _run(args: list[str], *, debug: bool, json_output: bool) -> None:
    try:
        code = cli.main(args=args, prog_name="promote", standalone_mode=False)
    except PromoterError as error:
        if debug:
            _print_traceback()
        if json_output:
            click.echo(sinks.encoded(error_json(error)))
        click.echo(sinks.log_line(f"promote: error: {error}"), err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("promote: aborted", err=True)
        sys.exit(1)
    except click.UsageError as error:
        if error.ctx is not None:
            click.echo(sinks.log_lines(error.ctx.get_usage()), err=True)
        click.echo(sinks.log_line(f"promote: error: {error.format_message()}"), err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(sinks.log_line(f"promote: error: {error.format_message()}"), err=True)
        sys.exit(error.exit_code)
    except Exception as error:
        if debug:
            _print_traceback()
        click.echo(
            sinks.log_line(
                f"promote: internal error: {type(error).__name__}: {error} "
                "(rerun with --debug for a traceback)"
            ),
            err=True,
        )
        sys.exit(1)
    finally:
        opened = sys.modules.get("promoter.promotion.opening")
        if opened is not None:  # what a run began and never used is closed, not leaked
            opened.discard()
    sys.exit(code if isinstance(code, int) else 0)
