"""`promote status`: apps × environments, what each deploys, read from git alone.

Each cell is read through the environment model (`deployed`), so an inherited image counts.
Beside it: how long the setting has been in place (the files that set the version, traced
back through the base branch's first-parent history, bounded), whether an environment is
behind the one it is promoted from, the holds in `.promoter/holds.yaml`, and whether
freezes or windows keep the environment closed now and until when.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone

from promoter import config as configuration
from promoter import policies
from promoter.errors import NotAVersionError, PromoterError, TargetNotFoundError
from promoter.history import first_changes, unchanged_for
from promoter.imageref import ImageRef
from promoter.promotion import steps
from promoter.promotion.fleet import Fleet, read_fleet
from promoter.promotion.flow import predict
from promoter.promotion.result import Status
from promoter.promotion.unit import Unit
from promoter.promotion.workspace import Checkout, Options, Workspace, open_workspace
from promoter.queries import inflight
from promoter.queries.inflight import InFlight
from promoter.queries.requests import StatusRequest
from promoter.versions import compare_versions


@dataclass(frozen=True, slots=True)
class Cell:
    app: str
    env: str
    reference: ImageRef | None
    problem: str | None = None
    since: datetime | None = None
    since_exact: bool = True
    """False: the setting is older than the history read (`since` is a lower bound)."""
    behind: str | None = None
    """The source environment, when this one runs an older version than it."""
    in_flight: InFlight | None = None
    """A promotion waiting on its branch (and request) to deploy something else here."""
    blocked: tuple[str, str | None] | None = None
    """Behind, and a promotion from the source would be blocked now: (the policy's line,
    when it passes)."""

    @property
    def version(self) -> str:
        return self.reference.version if self.reference is not None else ""


@dataclass(frozen=True, slots=True)
class EnvState:
    name: str
    base: str
    source: str | None
    closed: str | None = None
    """Why freezes or windows keep it closed now, and until when."""


@dataclass(frozen=True, slots=True)
class Board:
    environments: tuple[EnvState, ...]
    apps: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    holds: tuple[configuration.Hold, ...]
    generated: datetime
    history: int

    def cell(self, app: str, env: str) -> Cell | None:
        return self.cells.get((app, env))


def status(request: StatusRequest) -> Board:
    """What every app runs in every environment (read only)."""
    with open_workspace(request.repo, Options(prove=False)) as ws:
        return collect(ws, request.apps, request.history, datetime.now(timezone.utc))


def collect(ws: Workspace, apps: tuple[str, ...], history: int, now: datetime) -> Board:
    """Every app the fleet names in every environment (promoter.yaml's, or without it the
    repository's own): an app without promoter.yaml is shown where the environment model
    finds it, and a cell it cannot decide says why while the rest of the board shows."""
    first = ws.check_out(ws.default_branch, fetch=False)
    fleet = read_fleet(ws, first)
    config = first.config
    names = tuple(apps) or tuple(fleet.apps)
    for name in names:
        fleet.app(name)  # an unknown app is an error naming the known ones
    cells: dict[tuple[str, str], Cell] = {}
    states: list[EnvState] = []
    holds: list[configuration.Hold] = []
    waiting = inflight.Requests(ws)
    for env in fleet.environments:
        checkout = steps.check_out(ws, env, fresh=False)
        runs = {a: config.apps[a].runs_in(env) if config else None for a in names}
        here = [a for a in names if runs[a] is not False]
        ws.prefetch(checkout, env, [(fleet.apps[a], a) for a in here])
        read = {a: _read(ws, checkout, env, fleet, a, runs[a] is None) for a in here}
        found = {a: cell for a, cell in read.items() if cell is not None}
        cells |= {(a, env): cell for a, cell in _date(ws, checkout, found, history).items()}
        apps_here = {a: fleet.apps[a] for a in here}
        for app, pending in inflight.in_flight(
            ws, checkout, env, apps_here, waiting, fleet.configured
        ).items():
            cell = cells.get((app, env))
            if cell is None or cell.version != pending.reference.version:
                base = cell or Cell(app, env, None, problem=None)
                cells[(app, env)] = dataclasses.replace(base, in_flight=pending)
        holds += [h for h in _holds(checkout) if h.env == env and h not in holds]
        closed = _closed(checkout, env, now)
        states.append(EnvState(env, checkout.branch, fleet.sources.get(env), closed))
    if not fleet.configured and not apps:  # repositories no environment runs are no apps
        names = tuple(a for a in names if any((a, s.name) in cells for s in states))
    for state in states:
        if state.source is None:
            continue
        settings = first.settings(state.name)
        order = settings.policies.version_order if settings is not None else "semver"
        for app in names:
            mine, theirs = cells.get((app, state.name)), cells.get((app, state.source))
            if mine is None or theirs is None or not mine.version or not theirs.version:
                continue
            if compare_versions(mine.version, theirs.version, order) == -1:
                blocked = _blocked(ws, state, app, theirs, fleet.configured, now)
                cells[(app, state.name)] = dataclasses.replace(
                    mine, behind=state.source, blocked=blocked
                )
    return Board(tuple(states), names, cells, tuple(holds), now, history)


def _blocked(
    ws: Workspace, state: EnvState, app: str, source: Cell, configured: bool, now: datetime
) -> tuple[str, str | None] | None:
    """What keeps a behind cell behind, decided as `promote --to` would decide it now
    (holds, freezes, windows, soak, review): (the rule's line, when it passes)."""
    if source.reference is None or state.source is None:
        return None
    unit = Unit(state.name, app if configured else None, (source.reference,),
                promoting_from=state.source)  # fmt: skip
    try:
        _, result = predict(ws, unit, now, branch=False)
    except NotAVersionError:
        raise
    except PromoterError:
        return None  # the cell's own read says what is wrong, if anything
    if result.status is not Status.BLOCKED or result.skip_reason is None:
        return None
    return result.skip_reason, result.blocked_until


def _read(
    ws: Workspace, checkout: Checkout, env: str, fleet: Fleet, app: str, discovered: bool
) -> tuple[Cell, tuple[str, ...]] | None:
    """The cell of `app` in `env`; None where the environment model decides (no targets in
    promoter.yaml, or none at all) and the environment does not run the app (no file it
    reads names the repository)."""
    try:
        image = fleet.apps[app].with_version(None, None)
        found = ws.read_deployed(checkout, env, image, app if fleet.configured else None)
    except NotAVersionError:
        raise  # not a cell's "?": a value that is no version refuses the run (issue 19)
    except PromoterError as error:
        if isinstance(error, TargetNotFoundError) and discovered:
            return None
        return Cell(app, env, None, problem=error.message), ()
    return Cell(app, env, found.image), found.files


def _date(
    ws: Workspace,
    checkout: Checkout,
    read: dict[str, tuple[Cell, tuple[str, ...]]],
    history: int,
) -> dict[str, Cell]:
    """Each cell with its `since`: the oldest of the newest commits in which the files that
    set its version are what they are at the tip (one walk of the history for all cells)."""
    found = {app: cell for app, (cell, _) in read.items()}
    files = {app: names for app, (_, names) in read.items() if names}
    paths = sorted({p for names in files.values() for p in names})
    if not paths:
        return found
    commits = ws.store.history(checkout.tip, history)
    roots = [ws.store.commit_info(c.id).tree for c in commits]
    changes = first_changes(ws.store, roots, paths)
    for app, names in files.items():
        same = unchanged_for(changes, names, len(commits))
        since = commits[same - 1].time
        exact = same < len(commits) or len(commits) < history  # else: older than we read
        moment = datetime.fromtimestamp(since, timezone.utc)
        found[app] = dataclasses.replace(found[app], since=moment, since_exact=exact)
    return found


def _holds(checkout: Checkout) -> tuple[configuration.Hold, ...]:
    text = checkout.control_file(configuration.HOLD_FILE)
    return configuration.parse_holds(text) if text else ()


def _closed(checkout: Checkout, env: str, now: datetime) -> str | None:
    settings = checkout.settings(env)
    rules = settings.policies if settings is not None else configuration.Policies()
    text = checkout.control_file(configuration.FREEZE_FILE, env)
    extra = configuration.parse_freezes(text, configuration.FREEZE_FILE, env) if text else ()
    block = policies.window(rules, rules.freeze + extra, now)
    return block.line() if block is not None else None
