"""One environment's promotion as named steps, with values between them.

check out → plan → commit → publish (a push to the base, or a rebuilt promotion branch and
its request) → retire (a request the base made pointless). As in Kargo's promotion steps
each step takes what the one before returned, and the chain is safe to repeat from
scratch on a new tip: the race loop in `flow` does exactly that, never a textual rebase.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from promoter import config as configuration
from promoter.errors import LoopError, OperationalError, PromoterError
from promoter.forges import ChangeRequestSpec, Outcome
from promoter.guards import GO, Guard, Verdict, breaker, parse_trailers
from promoter.promotion import naming
from promoter.promotion.message import (
    ENV_TRAILER,
    SOURCE_TRAILER,
    TRAILER,
    branch_name,
    commit_message,
    pull_request_body,
    title,
)
from promoter.promotion.plan import EnvironmentPlan, app_names
from promoter.promotion.result import EnvironmentResult, Landing, PullRequestInfo, Status
from promoter.promotion.unit import Unit
from promoter.promotion.workspace import Checkout, Workspace
from promoter.tree import Logged


@dataclass(frozen=True, slots=True)
class Planned:
    """A unit planned on a checkout: what would change, and how it lands. The
    environment's settings are read once, here, from the checkout's promoter.yaml."""

    unit: Unit
    checkout: Checkout
    settings: configuration.Environment | None
    mode: str
    plan: EnvironmentPlan
    result: EnvironmentResult

    @property
    def env(self) -> str:
        return self.unit.env

    @property
    def base(self) -> str:
        return self.checkout.branch


def check_out(ws: Workspace, env: str, *, fresh: bool) -> Checkout:
    """The tip of the branch `env` promotes into (`fresh`: read again after a lost race)."""
    branch = ws.repo.base or ws.default_branch
    checkout = ws.check_out(branch, fetch=fresh)
    settings = checkout.settings(env)
    base = ws.repo.base or (settings.base if settings else None) or ws.default_branch
    return checkout if base == branch else ws.check_out(base, fetch=True)


def plan(ws: Workspace, checkout: Checkout, unit: Unit) -> Planned:
    settings = checkout.settings(unit.env)
    mode = ws.options.mode or (settings.mode if settings else "pull-request")
    planned = ws.plan(checkout, unit)
    result = planned.summarise(unit.env, mode, checkout.branch)
    return Planned(unit, checkout, settings, mode, planned, result)


BREAKER_COMMITS = 5
BREAKER_MINUTES = 10.0


def check_loop(ws: Workspace, planned: Planned) -> Verdict:
    """For a push onto the base whose tip is promoter's own commit, read the branch's last
    commits (one request, commits only): the circuit breaker stops a loop (`LoopError`, also
    under `--force`: that is when a misconfigured pipeline loops): promoter commits in a
    row, each made for the commit before it, within minutes; and a build already promoted to
    this environment by one of them is skipped (`already-promoted`)."""
    tip = planned.checkout.tip
    if TRAILER not in _lines(ws.store.commit_info(tip).message):
        return GO
    history = ws.store.history(tip, BREAKER_COMMITS)
    verdict = breaker(_chain(history), time.time(), limit=BREAKER_COMMITS, minutes=BREAKER_MINUTES)
    if not verdict.go:
        raise LoopError(f"{planned.base}: circuit breaker: {verdict.reason}; nothing was pushed")
    source = planned.unit.source.commit
    if source is None or ws.options.forced:
        return GO
    wanted = {f"{SOURCE_TRAILER}: {source}", f"{ENV_TRAILER}: {planned.env}"}
    for logged in history:
        lines = _lines(logged.message)
        if TRAILER in lines and wanted <= lines:
            return Verdict(
                Guard.ALREADY_PROMOTED,
                f"{planned.base} already holds a promotion of source commit {source[:12]} "
                f"to {planned.env}",
            )
    return GO


def _chain(history: list[Logged]) -> list[tuple[float, bool]]:
    """The newest commits that form a loop: promoter commits each made for the one before
    it (its `Source-commit:` is that commit), the mark of promoter reacting to itself. A
    batch of promotions of other builds, one after another, is no chain."""
    chain: list[tuple[float, bool]] = []
    for index, logged in enumerate(history):
        lines = _lines(logged.message)
        if TRAILER not in lines:
            break
        chain.append((logged.time, True))
        older = history[index + 1] if index + 1 < len(history) else None
        if older is None or f"{SOURCE_TRAILER}: {older.id}" not in lines:
            break
    return chain


def _lines(message: str) -> set[str]:
    """The message's trailers as `Key: value` lines, by git's rules (only the final
    trailer block counts: a quoted or indented `Promoted-by:` is text, issue 19)."""
    return {f"{key}: {value}" for key, value in parse_trailers(message)}


def build_tree(planned: Planned) -> str:
    """The root tree of the base tip with the planned files written over it."""
    root = planned.checkout.root  # a name only: the plan's files are `root / path`
    changes = {
        path.relative_to(root).as_posix(): data
        for path, data in planned.plan.changed_files().items()
    }
    return planned.checkout.snapshot.write_tree(changes)


def commit(ws: Workspace, planned: Planned, tree: str, *, skip_ci: bool = False) -> str:
    """One commit of `tree` on the base tip, with promoter's message and trailers."""
    options, unit = ws.options, planned.unit
    if not options.prove:
        raise AssertionError("a workspace whose plans are not proved never commits")
    message = commit_message(
        unit.env,
        planned.result,
        list(unit.images),
        unit.source,
        skip_ci=skip_ci,
        forced=options.forced,
        promoted_from=unit.promoting_from,
        subject=_subject(planned),
    )
    return ws.store.write_commit(
        tree, planned.checkout.tip, message, identity=options.identity, sign=options.sign
    )


def publish_push(ws: Workspace, planned: Planned) -> Landing:
    """Push mode: the commit goes straight onto the base (a fast-forward, or a lost race)."""
    skip_ci = ws.options.skip_ci
    options: tuple[str, ...] = ()
    if skip_ci and ws.forge_kind.skip_ci_push_options:
        # A forge that skips the branch pipeline on a push option (GitLab): no marker in the
        # message to survive a squash merge or silence a merge request pipeline.
        skip_ci, options = False, ws.forge_kind.skip_ci_push_options
    created = commit(ws, planned, build_tree(planned), skip_ci=skip_ci)
    landed = ws.store.push(created, planned.base, lease=None, force=False, options=options)
    return Landing(branch=planned.base, commit=landed, pushed=True)


def publish_request(ws: Workspace, planned: Planned) -> Landing:
    """Pull-request mode: rebuild `promote/<env>/<app>` as base tip + one commit, push it
    with a lease, and open or update its request (create-or-update, never a second one)."""
    store, forge, base = ws.store, ws.forge, planned.base
    branch = _branch(planned)
    request_title = _title(planned)  # rendered (or refused) before anything is pushed
    hint = forge.review_hint(base, branch)
    tree = build_tree(planned)
    current, decided = read_branch(ws, planned, tree)
    if decided is not None:
        unchanged = decided.status is Status.UNCHANGED
        request = open_request(ws, planned, branch, request_title) if unchanged else None
        return dataclasses.replace(decided, review=hint, pull_request=request)
    signed_only = forge.signature_required(base)
    if signed_only and not (ws.options.sign or store.signs_commits):
        raise OperationalError(
            f"{base} requires signed commits, and commits promoter pushes with git are "
            "unsigned: pass --sign with a signing key the forge knows, or use --no-clone "
            "with a GitHub App token; nothing was pushed"
        )
    created = commit(ws, planned, tree)
    if signed_only and store.signs_commits and not store.is_verified(created):
        raise OperationalError(
            f"{base} requires signed commits, but the forge did not verify {created[:12]} "
            "(API commits are signed only for GitHub App tokens); nothing was pushed"
        )
    landed = store.push(created, branch, lease=current, force=True)
    return Landing(branch, landed, True, hint, open_request(ws, planned, branch, request_title))


def read_branch(
    ws: Workspace, planned: Planned, tree: str | Callable[[], str]
) -> tuple[str | None, Landing | None]:
    """(the promotion branch's tip, and what it already decides): it holds this very
    change (unchanged) or a newer version (superseded); None when it must be rebuilt. Read
    before anything is pushed, so a dry run predicts what the real run says. A branch
    promoter did not make is refused, never overwritten. `tree` may be given as how to
    build it: a prediction builds it only when there is a branch to compare it with."""
    store, branch = ws.store, _branch(planned)
    current = ws.branch_tip(branch)
    if current is None:
        return None, None
    if not isinstance(tree, str):
        tree = tree()
    store.fetch_commit(current)
    found = store.commit_info(current)
    if TRAILER not in _lines(found.message):
        raise OperationalError(
            f"{branch} has commits promoter did not make (tip {current[:12]}); "
            "promoter will not force-push over them. Merge or close its pull request "
            "and delete the branch, or push those changes elsewhere, then rerun"
        )
    if found.tree == tree:
        return current, Landing(branch, current, False, status=Status.UNCHANGED)
    ahead = _superseded_on(ws, planned, current)
    if ahead is not None:
        superseded = tuple(ahead.superseded)
        return current, Landing(branch, current, False, None, None, Status.SUPERSEDED, superseded)
    return current, None


def open_request(
    ws: Workspace, planned: Planned, branch: str, request_title: str
) -> PullRequestInfo | None:
    forge, options, unit, settings = ws.forge, ws.options, planned.unit, planned.settings
    if not forge.has_requests:
        return None
    outcome, request = forge.open_or_update(
        ChangeRequestSpec(
            head=branch,
            base=planned.base,
            title=request_title,
            body=pull_request_body(
                planned.env,
                planned.result,
                list(unit.images),
                unit.source,
                promoted_from=unit.promoting_from,
                compare_url=unit.compare_url,
            ),
            labels=tuple(dict.fromkeys((*(settings.labels if settings else ()), *options.labels))),
            reviewers=tuple(settings.reviewers) if settings else (),
            squash=settings.squash if settings else None,
        )
    )
    if options.auto_merge and outcome is not Outcome.UNCHANGED:
        forge.enable_auto_merge(request)
    return PullRequestInfo(request.number, request.url, outcome.value)


def retire(ws: Workspace, planned: Planned) -> None:
    """The base already holds the change: close the now pointless request, drop its branch."""
    branch = _branch(planned)
    current = ws.store.remote_branch(branch)
    if current is None:
        return
    request = ws.forge.find_open(branch, planned.base)
    if request is not None:
        ws.forge.close(
            request,
            f"Closed by promoter: {planned.base} already holds this version, so this pull "
            "request has nothing left to change.",
        )
    ws.store.delete_branch(branch, lease=current)


def check_names(planned: Planned) -> None:
    """Render the unit's templated names now (`flow` asks before the first push of the
    run): a template this run cannot fill, or that renders no branch name, is a
    `ConfigError` naming promoter.yaml's line, before anything lands anywhere."""
    if planned.mode == "pull-request":
        _branch(planned)
        _title(planned)
    _subject(planned)


def _branch(planned: Planned) -> str:
    template = _templates(planned).branch
    if template is not None:
        return naming.render_branch(template, _facts(planned))
    config, unit = planned.checkout.config, planned.unit
    return branch_name(unit.env, app_names(config, unit.env, unit.images, unit.app))


def _title(planned: Planned) -> str:
    """The request's title: the `title` template's, else promoter's own (a rollback's or
    a released hold's own title always)."""
    template = _templates(planned).title
    if template is None or planned.result.title:
        return title(planned.env, planned.result)
    return naming.render_line(template, _facts(planned), configuration.TITLE_MAX)


def _subject(planned: Planned) -> str | None:
    """The commit subject: the `subject` template's, else the title; None: the default."""
    templates = _templates(planned)
    if templates.subject is None or planned.result.title:
        return None if templates.title is None else _title(planned)
    return naming.render_line(templates.subject, _facts(planned), configuration.SUBJECT_MAX)


def _templates(planned: Planned) -> configuration.Templates:
    settings = planned.settings
    return settings.templates if settings is not None else configuration.Templates()


def _facts(planned: Planned) -> naming.Facts:
    config, unit = planned.checkout.config, planned.unit
    apps = app_names(config, unit.env, unit.images, unit.app)
    return naming.Facts(unit.env, tuple(apps), unit.images, planned.base, unit.promoting_from)


def _superseded_on(ws: Workspace, planned: Planned, commit: str) -> EnvironmentPlan | None:
    """The branch's plan when the branch already holds a newer version than requested."""
    if planned.unit.allow_downgrade:
        return None
    try:
        found = ws.plan(ws.check_out_commit(planned.checkout, commit), planned.unit)
    except PromoterError:
        return None
    return found if found.superseded else None
