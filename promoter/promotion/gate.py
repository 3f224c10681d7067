"""The run's first step: the loop guards, before anything is cloned or pushed.

The facts come from the CI trigger (`ci.read_trigger`, the environment read once) and,
where the event does not list the files a push changed, from `git diff before..after` in
the CI's own checkout, else the source repository's compare API; `guards` decides. A
skipped run is exit 0 with the guard's reason; `--force` bypasses the guards and the
commit says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from promoter import ci, forges
from promoter import config as configuration
from promoter.guards import GO, Facts, GuardPolicy, Verdict, check
from promoter.imageref import ImageRef
from promoter.promotion.message import TRAILER
from promoter.repo import changed_files


@dataclass(frozen=True, slots=True)
class GuardOptions:
    email: str
    bot_actors: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


class Evidence:
    """What triggered this run, read once: the guards before the clone and again with
    promoter.yaml's settings share it, and the pushed files (a git diff or an API call)
    are looked up at most once, and only when a path filter asks."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.trigger = ci.read_trigger(environ)
        self._changed: tuple[str, ...] | None = self.trigger.changed
        self._looked = self._changed is not None

    def facts(self, *, files: bool) -> Facts:
        trigger = self.trigger
        people = tuple((p.name, p.email) for p in (trigger.author, trigger.committer) if p)
        return Facts(trigger.message, people, trigger.actors, self.changed() if files else None)

    def changed(self) -> tuple[str, ...] | None:
        if not self._looked:
            self._changed = _diff(self.trigger, self.environ)
            self._looked = True
        return self._changed


def decide(options: GuardOptions, evidence: Evidence) -> Verdict:
    """Whether this CI run may promote, and if not, which guard stops it and why."""
    policy = GuardPolicy(
        email=options.email,
        trailer=TRAILER,
        bot_actors=options.bot_actors,
        watch=options.watch,
        ignore=options.ignore,
    )
    return check(evidence.facts(files=bool(options.watch or options.ignore)), policy)


def decide_configured(
    options: GuardOptions,
    evidence: Evidence,
    config: configuration.Config,
    images: Sequence[ImageRef],
) -> Verdict:
    """The guards again with promoter.yaml's settings (`guards:` and each app's `watch`/
    `ignore`), once the config is read: the run is skipped when every app it promotes is."""
    guards = config.guards
    apps: list[configuration.App | None] = [
        a for a in config.apps.values() if any(a.image.same_repository(i) for i in images)
    ]
    per_app = any(a.watch or a.ignore for a in apps if a is not None)
    if not (guards.bot_actors or guards.watch or guards.ignore or per_app):
        return GO
    verdicts = [
        decide(
            GuardOptions(
                email=options.email,
                bot_actors=options.bot_actors + guards.bot_actors,
                watch=options.watch + guards.watch + (app.watch if app else ()),
                ignore=options.ignore + guards.ignore + (app.ignore if app else ()),
            ),
            evidence,
        )
        for app in apps or [None]
    ]
    stopped = [v for v in verdicts if not v.go]
    return stopped[0] if len(stopped) == len(verdicts) else GO


def _diff(trigger: ci.Trigger, environ: Mapping[str, str]) -> tuple[str, ...] | None:
    """The files between the push's before and after, from the CI's checkout if it has them."""
    if not trigger.before or not trigger.commit:
        return None
    checkout = environ.get("GITHUB_WORKSPACE") or environ.get("CI_PROJECT_DIR")
    if checkout and Path(checkout).is_dir():
        found = changed_files(Path(checkout), trigger.before, trigger.commit)
        if found is not None:
            return found
    return _compare(trigger, environ)


def _compare(trigger: ci.Trigger, environ: Mapping[str, str]) -> tuple[str, ...] | None:
    """The source repository's compare API, on the forge whose CI runs the job (GitHub's,
    today): for a push longer than the event lists when the CI's checkout is shallow."""
    kind = forges.KINDS.get(trigger.system)
    if kind is None or kind.source_changes is None or not trigger.before:
        return None
    return kind.source_changes(trigger.before, trigger.commit or "", environ)


def as_facts(values: Sequence[str]) -> tuple[str, ...]:
    """Comma- or newline-separated flag values (as an Action input gives them), flattened."""
    found: list[str] = []
    for value in values:
        found += [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return tuple(dict.fromkeys(found))
