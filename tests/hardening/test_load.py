"""Issue 19: promotions of many apps at once all land, none lost, within a bounded retry budget.

The e2e race (tests/e2e/test_concurrency.py: `promote` processes over loopback smart HTTP,
the many-apps repository) at a larger count that still runs in well under a minute on
2 cores; benchmarks/concurrency.py runs 100. The retry loop itself is checked in-process
against a remote whose branch moves on every push: it stops at the attempt bound and at the
time bound, waits through the injected `sleep` (these tests never sleep), spreads its
waits with jitter below the cap, and does not retry an error that is not transient.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.conftest import TOKEN, Promoter, add_hook, fixture_files, git, refs, rev, show, touched
from e2e.test_concurrency import attempts, kustomization, kustomization_path, many_apps_repo, race
from fakes.githttp import GitHttpServer, make_bare_repo

from promoter.errors import PromoterError, PushRejectedError
from promoter.promotion import Delivery, PromoteRequest, RepositoryRef, RetryPolicy, promote

LOAD = 20


@pytest.mark.timeout(180)
def test_promote_many_concurrent_apps_all_land_no_lost_update(
    promoter: Promoter, tmp_path: Path, report_numbers: Callable[[str], None]
) -> None:
    root = tmp_path / "srv"
    bare = many_apps_repo(root, LOAD)
    before = rev(bare, "main")
    apps = [f"app-{n:02d}" for n in range(LOAD)]
    with GitHttpServer(root, token=TOKEN) as server:
        runs, wall = race(
            promoter, server.repo_url("config.git"), [f"ghcr.io/acme/{app}:2.0.0" for app in apps]
        )
    assert server.errors == []
    assert [(r.args, r.returncode, r.stderr) for r in runs if r.returncode != 0] == []
    assert [r.json()["status"] for r in runs] == ["changed"] * LOAD
    for app in apps:
        assert show(bare, "main", kustomization_path(app)) == kustomization(app, "2.0.0").decode()
    history = git(bare, "rev-list", "--first-parent", f"{before}..main").split()
    assert len(history) == LOAD
    assert git(bare, "rev-list", "--count", f"{before}..main").strip() == str(LOAD)
    assert sorted(path for commit in history for path in touched(bare, commit)) == sorted(
        kustomization_path(app) for app in apps
    )
    counts = attempts(runs)
    budget = RetryPolicy().attempts
    report_numbers(
        f"load {LOAD} apps: wall {wall:.1f}s, attempts total {sum(counts)}, max {max(counts)} "
        f"of {budget}, per process {sorted(counts)}"
    )
    assert sum(counts) >= LOAD
    assert max(counts) <= budget // 2, "no headroom left in the attempt budget"
    assert promoter.leftovers() == []


# -- the race loop's bounds, in-process ------------------------------------------------------

MOVE_MAIN = """\
# Another writer lands first, every time: main moves before this push can take it (the
# update hook runs after the pushed objects left quarantine, before the ref is updated).
if [ "$1" = refs/heads/main ]; then
  tree=$(git rev-parse "$2^{tree}")
  moved=$(echo racer | GIT_AUTHOR_NAME=r GIT_AUTHOR_EMAIL=r@example.com GIT_COMMITTER_NAME=r \\
    GIT_COMMITTER_EMAIL=r@example.com git commit-tree "$tree" -p "$2")
  git update-ref refs/heads/main "$moved" "$2"
fi
exit 0
"""


@pytest.fixture
def contested(tmp_path: Path) -> Path:
    """A bare fixture repository whose main always moves while a push is received."""
    bare = make_bare_repo(tmp_path / "srv", "config.git", fixture_files())
    add_hook(bare, "update", MOVE_MAIN)
    return bare


def command(bare: Path, retry: RetryPolicy) -> PromoteRequest:
    return PromoteRequest(
        RepositoryRef(str(bare)),
        envs=("staging",),
        images=("ghcr.io/acme/web:1.5.0",),
        delivery=Delivery(retry=retry),
    )


def test_promote_lost_race_every_time_stops_at_attempt_bound_waits_injected(
    contested: Path,
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=6, sleep=waits.append)
    before = refs(contested)["refs/heads/main"]
    with pytest.raises(PushRejectedError) as raised:
        promote(command(contested, policy))
    assert raised.value.transient
    assert len(waits) == policy.attempts - 1  # a wait between attempts, none after the last
    assert all(
        0 <= w <= min(policy.max_wait, policy.multiplier * 2**n) for n, w in enumerate(waits)
    )
    assert len(set(waits)) == len(waits)  # jittered, not a fixed schedule
    moved = git(contested, "rev-list", "--count", f"{before}..main").strip()
    assert moved == str(policy.attempts)  # each attempt reached the remote, none landed
    assert "1.5.0" not in show(contested, "main", "apps/web/overlays/staging/kustomization.yaml")


def test_promote_lost_race_stops_at_time_bound(contested: Path) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=1000, max_seconds=0.0, sleep=waits.append)
    with pytest.raises(PushRejectedError):
        promote(command(contested, policy))
    assert waits == []  # the time bound ended it after the first attempt


def test_promote_default_policy_is_bounded_and_spread() -> None:
    policy = RetryPolicy()
    assert 20 < policy.attempts <= 50  # more than 100 racers need, still a bound
    assert 60 <= policy.max_seconds <= 900
    assert policy.multiplier >= 1  # the first retry already spreads racers over seconds
    assert policy.max_wait >= 8 * policy.multiplier  # and later ones over far longer


def test_promote_refused_push_is_not_retried(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path / "srv", "config.git", fixture_files())
    add_hook(bare, "pre-receive", "echo 'policy: main is closed' >&2\nexit 1\n")
    waits: list[float] = []
    with pytest.raises(PromoterError) as raised:
        promote(command(bare, RetryPolicy(sleep=waits.append)))
    assert not raised.value.transient
    assert waits == []
