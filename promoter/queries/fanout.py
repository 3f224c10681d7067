"""`promote plan`: what `promote --to` would change, as work for the CI engine to fan out.

One entry per app (or per group of `per_job` apps) whose target runs something else than
its source: a GitHub Actions `strategy.matrix` (JSON, `include` entries), or a GitLab child
pipeline (YAML, one job each). Every job is an ordinary idempotent `promote --to` run, so
jobs racing on the same config repository are kept apart by git's compare-and-swap, and a
job whose policy blocks it says so on its own. Text only: no I/O.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promoter import REQUIREMENT, sinks
from promoter.imageref import ImageRef

if TYPE_CHECKING:
    from promoter.queries.inflight import InFlight


@dataclass(frozen=True, slots=True)
class Pending:
    """An app whose target environment runs something else than its source."""

    app: str
    source: ImageRef
    current: ImageRef | None
    """What the target runs now (None: it sets no version yet, or not readably)."""
    blocked: str | None = None
    """The policy that keeps the app where it is in the target now (its block line: a
    hold, a freeze, a window, soak, review): the app is listed, but gets no job."""
    until: str | None = None
    """When the block passes, where the policy says (ISO-8601)."""
    in_flight: InFlight | None = None
    """The promotion already waiting for the app (an older version): the job updates it."""

    @property
    def held(self) -> str | None:
        """The block, when it is a hold (a rollback's: it lasts until released)."""
        return self.blocked if self.blocked and self.blocked.startswith("hold:") else None


@dataclass(frozen=True, slots=True)
class Fanout:
    source: str
    target: str
    pending: tuple[Pending, ...]

    def groups(self, per_job: int) -> list[tuple[Pending, ...]]:
        """The jobs: a held app gets none (not one marked blocked, which a workflow could
        run anyway); it is listed in the JSON and text forms only."""
        size = max(1, per_job)
        items = tuple(p for p in self.pending if p.blocked is None)
        return [items[i : i + size] for i in range(0, len(items), size)]

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": 1,
            "from": self.source,
            "to": self.target,
            "pending": [
                {
                    "app": p.app,
                    "version": p.source.version,
                    "reference": str(p.source),
                    "current": p.current.version if p.current else None,
                    "in_flight": p.in_flight.as_json() if p.in_flight else None,
                    "blocked": p.blocked,
                    "blocked_until": p.until,
                    "held": p.held,
                }
                for p in self.pending
            ],
        }


def github_matrix(fanout: Fanout, per_job: int = 1) -> str:
    """`{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`; `apps` is the
    space-separated list a job passes as `--app` options."""
    include = []
    for group in fanout.groups(per_job):
        entry: dict[str, str] = {
            "apps": " ".join(p.app for p in group),
            "from": fanout.source,
            "to": fanout.target,
        }
        if len(group) == 1:
            entry |= {"app": group[0].app, "version": group[0].source.version}
        include.append(entry)
    return json.dumps({"include": include}, separators=(",", ":"))


def gitlab_pipeline(
    fanout: Fanout,
    per_job: int = 1,
    *,
    config_repo: str,
    image: str = "python:3.12-slim",
    package: str = REQUIREMENT,
) -> str:
    """A child pipeline: a hidden template job and one job per app group (a single no-op
    job when nothing is pending: GitLab rejects a pipeline without jobs).

    Every scalar is written by `sinks.yaml_scalar` and every shell word by `shlex.quote`:
    an app name or a version read from the config repository stays one word of one value,
    never a key, a comment or a command of the job that runs with the production token."""
    q = sinks.yaml_scalar
    groups = fanout.groups(per_job)
    jobs = sum(len(group) for group in groups)
    held = len(fanout.pending) - jobs
    lines = [
        f"# promote plan: {jobs} app(s) to promote" + (f", {held} blocked" if held else ""),
        "stages: [promote]",
        "variables:",
        f"  PROMOTER_CONFIG_REPO: {q(config_repo)}",
        *_template(image, package),
    ]
    if not groups:
        message = f"{fanout.target} already runs what {fanout.source} runs"
        if held:
            message = f"every app {fanout.target} is behind on is blocked: no job"
        lines += [
            "nothing-to-promote:",
            "  stage: promote",
            f"  image: {q(image)}",
            "  script:",
            f"    - {q('echo ' + shlex.quote(message))}",
        ]
    for group in groups:
        words = ["promote", "--to", fanout.target, "--from", fanout.source]
        for pending in group:
            words += ["--app", pending.app]
        name = "promote-" + "-".join(p.app for p in group)
        lines += [
            f"{q(_job_name(name))}:",
            "  extends: .promote",
            "  script:",
            "    - " + q(shlex.join(words)),
        ]
    return "\n".join(lines) + "\n"


def _template(image: str, package: str) -> list[str]:
    """The hidden job every promotion job extends: its stage, image, tolerated exit code
    and the setup that installs git and promoter where the image lacks them: `package` is
    the running release (`promoter.REQUIREMENT`), so the jobs run the version that planned
    them, from the project's own tag."""
    q = sinks.yaml_scalar
    install = "command -v promote >/dev/null || python -m pip install --quiet "
    install += shlex.quote(package)
    return [
        ".promote:",
        "  stage: promote",
        f"  image: {q(image)}",
        "  allow_failure:",
        "    exit_codes: [3]  # blocked by a policy: the next scheduled run tries again",
        "  before_script:",
        "    - "
        + q(
            "command -v git >/dev/null || "
            "{ apt-get update -qq && apt-get install -qq -y git >/dev/null; }"
        ),
        "    - " + q(install),
    ]


def _job_name(name: str) -> str:
    return name[:255]


def text_table(fanout: Fanout) -> Sequence[str]:
    if not fanout.pending:
        return [f"{fanout.target} already runs what {fanout.source} runs"]
    return [
        f"{p.app}: {fanout.target} {p.current.version if p.current else '(none)'} → "
        f"{p.source.version} (from {fanout.source})"
        + (f"; updates {p.in_flight.describe()}" if p.in_flight else "")
        + (f"; blocked ({p.blocked}), no job" if p.blocked else "")
        for p in fanout.pending
    ]
