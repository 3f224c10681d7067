"""What the commands print, apart from how they parse: each function takes a use case's
value and writes it through the `sinks` encoder of where it goes (stdout, stderr, JSON).

It decides nothing: which value to show, and the exit code, are the command's. The
renderers of `queries` (board, fanout) and `promotion` (report) are imported when a
command prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import click

from promoter import sinks
from promoter.redact import redact

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from promoter.demo import Step
    from promoter.errors import PromoterError
    from promoter.promotion import EnvironmentResult, FileDiff, Result
    from promoter.queries.explain import Report
    from promoter.queries.fanout import Fanout
    from promoter.queries.status import Board
    from promoter.queries.validate import Validation
    from promoter.queries.why import Why


def print_result(result: Result, output: str, *, environ: Mapping[str, str] | None = None) -> None:
    """A promotion's `Result`: warnings on stderr, then JSON, or the diff of each changed
    file (`print_diffs`) and one line per environment. `environ`: the CI environment the
    command read (default: the process's)."""
    for warning in result.warnings:
        click.echo(sinks.log_line(f"promote: warning: {warning}"), err=True)
    if output == "json":
        click.echo(sinks.json_document(result.as_json()))
        return
    if result.skip is not None:
        guard, reason = result.skip
        envs = ", ".join(e.env for e in result.environments)
        click.echo(sinks.log_line(f"skipped ({guard}): {reason}; nothing promoted to {envs}"))
        click.echo("rerun with --force to promote anyway")
        return
    print_diffs(result.shown_diffs, os.environ if environ is None else environ)
    for env in result.environments:
        for line in env_lines(env, result.dry_run):
            click.echo(sinks.log_line(line))
    if result.dry_run:
        files = len(result.diffs)
        click.echo(
            sinks.log_line(
                f"dry run: {len(result.changes)} change(s) in {files} file(s); nothing written"
            )
        )


DIFF_SECTION = "promote_diff"
"""The GitLab log section the diff folds into."""


def print_diffs(diffs: Sequence[FileDiff], environ: Mapping[str, str]) -> None:
    """Each changed file's unified diff on stdout, every run alike: folded into one section
    of the CI's log (a GitLab section, a GitHub Actions group), coloured on a terminal."""
    if not diffs:
        return
    colour = is_colour_terminal(environ)
    title = f"promote diff ({len(diffs)} file{'s' if len(diffs) != 1 else ''})"
    with folded(title, environ):
        for diff in diffs:
            click.echo(sinks.log_diff(diff.unified(), colour=colour), nl=False, color=colour)


def is_colour_terminal(environ: Mapping[str, str]) -> bool:
    """stdout is a terminal that shows colour: not `TERM=dumb`, and no `NO_COLOR` (any
    non-empty value, https://no-color.org). A log file or a CI log gets none."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


@contextlib.contextmanager
def folded(title: str, environ: Mapping[str, str]) -> Iterator[None]:
    """What is printed inside folds into one collapsed part of the CI's log: a GitLab
    section, a GitHub Actions group (the CIs `ci.read_system` knows, in its order);
    elsewhere nothing is added. The markers carry ANSI codes click must not strip."""
    if environ.get("GITHUB_ACTIONS") == "true":
        click.echo(sinks.workflow_group(title))
        yield
        click.echo(sinks.workflow_group_end())
    elif environ.get("GITLAB_CI") == "true":
        click.echo(sinks.gitlab_section_start(DIFF_SECTION, title, int(time.time())), color=True)
        yield
        click.echo(sinks.gitlab_section_end(DIFF_SECTION, int(time.time())), color=True)
    else:
        yield


def env_lines(env: EnvironmentResult, dry_run: bool) -> list[str]:
    """One line per environment (`staging: changed web 1.4.1 → 1.4.2, pushed 3f2a9c1 to main`)."""
    from promoter.promotion.result import shown

    prefix = f"{env.env}: " if env.env else ""
    status = env.status.value
    if env.skip_reason:
        return [f"{prefix}{status} ({env.skip_reason}); nothing pushed"]
    if env.superseded and not env.changes:
        newer = ", ".join(dict.fromkeys(f"{s.label} at {s.where}" for s in env.superseded))
        return [f"{prefix}{status}: already at a newer version ({newer}); nothing pushed"]
    if env.status.value == "unchanged" and env.branch and env.changes:
        line = f"{prefix}{status}: {env.branch} already holds {env.summary()}"
        if env.pull_request:
            line += f"; pull request #{env.pull_request.number}: {env.pull_request.url}"
        return [line]
    if not env.changes and env.title and env.status.value == "changed":
        where = f", pushed {env.commit[:7]} to {env.branch}" if env.commit else " (dry run)"
        line = f"{prefix}{status}: {env.title}{where}"
        if env.pull_request:
            line += f"; pull request #{env.pull_request.number} {env.pull_request.operation}: "
            line += env.pull_request.url
        return [line]
    if not env.changes:
        return [f"{prefix}{status}: already up to date"]
    if env.commit is None:
        verb = "would change" if dry_run else "changed"
        return [
            f"{prefix}{verb} {c.file}:{c.line} {c.pointer}: {shown(c.old)} → {shown(c.new)}"
            for c in env.changes
        ]
    line = f"{prefix}{status} {env.summary()}, pushed {env.commit[:7]} to {env.branch}"
    if env.review:
        line += f" (review: {env.review})"
    if env.pull_request:
        line += f"; pull request #{env.pull_request.number} {env.pull_request.operation}: "
        line += env.pull_request.url
    return [line]


def error_json(error: PromoterError) -> str:
    """`--output json` when the run failed: the error, and what was done before it."""
    import json  # only when a run fails: `--help` does not load it

    outcomes = getattr(error, "outcomes", [])
    changes = [c for o in outcomes for c in o.get("changes", [])]
    return json.dumps(
        {
            "schema_version": 1,
            "status": "error",
            "changes": changes,
            "environments": outcomes,
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


def print_status(found: Board, output: str) -> None:
    """`promote status`: the board as a table, Markdown, HTML or JSON."""
    from promoter.queries import board as render

    if output == "json":
        click.echo(sinks.json_document(render.as_json(found)))
    elif output == "markdown":
        click.echo(sinks.encoded(render.markdown(found)), nl=False)
    elif output == "html":
        click.echo(sinks.encoded(render.page(found)), nl=False)
    else:  # text (`table`, its older name)
        click.echo(sinks.log_lines(render.text(found)), nl=False)


def print_why(found: Why, output: str) -> None:
    """`promote why`: each link of the chain, as text, Markdown bullets or JSON rows, and
    the promotion in flight."""
    from promoter.promotion import provenance as chain

    links = found.links
    waiting = found.in_flight
    if output == "json":
        rows = [
            dataclasses.asdict(link)
            | {
                "committed": datetime.fromtimestamp(link.committed, timezone.utc).isoformat(),
                "compare_url": chain.compare_url(link),
            }
            for link in links
        ]
        pending = waiting.as_json() if waiting else None
        click.echo(sinks.json_document({"schema_version": 1, "links": rows, "in_flight": pending}))
        return
    markdown = output == "markdown"
    bullet = "- " if markdown else "  "
    say = sinks.markdown_text if markdown else sinks.log_line
    for link in links:
        when = datetime.fromtimestamp(link.committed, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = say(f"{link.env} runs {link.version}")
        lines = [f"**{head}**" if markdown else head]
        lines.append(f"config commit {link.config_commit[:12]} ({when}): {link.subject}")
        if link.request:
            lines.append(f"merged through request #{link.request}")
        if not link.by_promoter:
            lines.append("set by hand: the commit has no promoter trailers")
        if link.source_commit:
            where = f" of {link.source_repository}" if link.source_repository else ""
            lines.append(f"built from source commit {link.source_commit[:12]}{where}")
        if link.pipeline_url:
            lines.append(f"pipeline: {link.pipeline_url}")
        if link.replaced:
            lines.append(f"replaced {link.replaced}")
        compare = chain.compare_url(link)
        if compare:
            lines.append(f"source changes: {compare}")
        if link.promoted_from:
            lines.append(f"promoted from {link.promoted_from}:")
        if waiting is not None and link is links[0]:
            lines.insert(1, f"waiting: {waiting.describe()} ({waiting.branch})")
        click.echo(sinks.encoded(lines[0]))
        for line in lines[1:]:
            click.echo(sinks.encoded(bullet + say(line)))


def print_plan(found: Fanout, output: str, *, per_job: int, config_repo: str) -> None:
    """`promote plan`: a GitHub matrix, a GitLab child pipeline, JSON or a table."""
    from promoter.queries import fanout as fan

    if output == "github-matrix":
        click.echo(sinks.encoded(fan.github_matrix(found, per_job)))
    elif output == "gitlab-pipeline":
        click.echo(
            sinks.encoded(fan.gitlab_pipeline(found, per_job, config_repo=config_repo)), nl=False
        )
    elif output == "json":
        click.echo(sinks.json_document(found.as_json()))
    else:
        for line in fan.text_table(found):
            click.echo(sinks.log_line(line))


def print_explanation(report: Report, output: str) -> None:
    """`promote explain`: per environment and image, where it is set and what would change."""
    if output == "json":
        click.echo(sinks.json_document(report.as_json()))
        return
    click.echo(
        sinks.log_line(f"environments found: {', '.join(report.environments_found) or 'none'}")
    )
    click.echo(sinks.log_line("order: " + _chains(report.environments_found, report.sources)))
    for item in report.explanations:
        origin = "promoter.yaml" if item.configured else "discovered"
        click.echo(sinks.log_lines(f"\n{item.env} / {item.image} ({origin})"))
        if item.entry_points:
            click.echo(sinks.log_line(f"  entry points: {', '.join(item.entry_points)}"))
        for setting in item.settings:
            shared = setting["shared_by"]
            owner = "own" if setting["owned"] else "shared"
            if shared and isinstance(shared, list):
                owner += f" by {', '.join(str(s) for s in shared)}"
            click.echo(sinks.log_line(f"  set in: {setting['path']}:{setting['line']} ({owner})"))
        for action in item.actions:
            click.echo(sinks.log_line(f"  would: {action['detail']} ({action['reason']})"))
        if item.refusal:
            click.echo(sinks.log_line(f"  refuses: {item.refusal}"))
        elif not item.actions:
            click.echo("  would: nothing (already up to date)")
        for note in item.notes:
            click.echo(sinks.log_line(f"  note: {note}"))
        for path, why in item.skipped:
            click.echo(sinks.log_line(f"  skipped: {path} ({why})"))


def _chains(envs: Sequence[str], sources: Mapping[str, str | None]) -> str:
    """`dev → staging → production`; environments no chain reaches are listed apart."""
    chains: list[str] = []
    placed: set[str] = set()
    for start in envs:
        if sources.get(start) or not any(sources.get(e) == start for e in envs):
            continue
        chain, current = [start], start
        while nxt := [e for e in envs if sources.get(e) == current and e not in chain]:
            current = nxt[0]
            chain.append(current)
        chains.append(" → ".join(chain))
        placed |= set(chain)
    alone = [e for e in envs if e not in placed]
    text = "; ".join(chains) or "none inferred"
    return text + (f" (no source: {', '.join(alone)})" if alone else "")


def print_validation(found: Validation, output: str) -> None:
    """`promote validate`: the config checked, or the environments discovery sees; and the
    order environments promote in."""
    if output == "json":
        click.echo(sinks.json_document(found.as_json()))
        return
    envs = found.environments
    if found.config is not None:
        click.echo(
            sinks.log_line(f"{found.config}: ok ({len(envs)} environments, {found.apps} apps)")
        )
    else:
        click.echo(
            sinks.log_line(
                "no promoter.yaml: zero-config discovery applies "
                f"({len(envs)} environments found{': ' + ', '.join(envs) if envs else ''})"
            )
        )
    for env in envs if found.config is None else ():
        paths = found.files.get(env, [])
        shown = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")
        click.echo(sinks.log_line(f"  {env}: {shown or 'no YAML files'}"))
    click.echo(sinks.log_line("order: " + _chains(envs, found.sources)))
    if found.config is None:
        click.echo(
            "run `promote explain --env ENV --image REF` to see what a promotion would touch"
        )


def print_demo_step(number: int, step: Step) -> None:
    """One step of `promote demo`: its title, the command it stands for, result and log."""
    click.echo(sinks.log_lines(f"\n== {number}. {step.title}"))
    click.echo(sinks.log_line(f"$ {step.command}"))
    print_result(step.result, "text")
    click.echo(sinks.log_lines(step.log.rstrip()))
