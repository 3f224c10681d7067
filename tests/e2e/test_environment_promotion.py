"""`promote --to` and its policies on config repositories with real history (commit dates
set with GIT_COMMITTER_DATE), over the loopback git server and the fake GitHub."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub

from .conftest import Run, fixture_files, git, run_on_github

TOKEN = "ghs_e2e_env_promotion_token"
STAGING_WEB = "apps/web/overlays/staging/kustomization.yaml"
PRODUCTION_WEB = "apps/web/overlays/production/kustomization.yaml"
BASE_AGE = timedelta(days=30)
"""How old the fixture's commit is made: older than every commit a test dates."""
POLICIES = """    policies:
      soak: 24h
"""


def _config(policies: str = POLICIES, extra: str = "") -> bytes:
    """The fixture's promoter.yaml with `policies` for production (and `extra` settings)."""
    text = fixture_files()["promoter.yaml"].decode()
    marker = "    # Policies are checked before anything lands"
    head, _, rest = text.partition(marker)
    tail = rest[rest.index("\napps:") :]
    return (head + extra + policies + tail).encode()


class History:
    """Commits with chosen dates pushed to the fake's repository (plain git, not promoter's)."""

    def __init__(self, bare: Path, work: Path) -> None:
        self.bare = bare
        self.work = work
        git(work.parent, "clone", "-q", str(bare), str(work))
        # The fixture's commit is made now, and promoter dates a commit no earlier than its
        # parent (history order, not committer dates): date it before the commits the tests
        # date in the past.
        self._commit(BASE_AGE, ["commit", "-q", "--amend", "--no-edit"])
        git(work, "push", "-qf", "origin", "HEAD:main")

    def commit(self, changes: dict[str, str], age: timedelta, message: str = "change") -> str:
        for path, text in changes.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self._commit(age, ["add", "-A"])
        self._commit(age, ["commit", "-qm", message])
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def _commit(self, age: timedelta, args: list[str]) -> None:
        """git `args` as the developer, dated `age` ago."""
        when = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        env = {
            **os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
            "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
        }  # fmt: skip
        subprocess.run(["git", *args], cwd=self.work, env=env, check=True)

    def pull(self) -> None:
        git(self.work, "pull", "-q", "--ff-only", "origin", "main")

    def tag(self, path: str, old: str, new: str) -> dict[str, str]:
        """`path` with `old` replaced by `new` (the file as main holds it now)."""
        self.pull()
        text = (self.work / path).read_text()
        assert old in text, (path, old)
        return {path: text.replace(old, new)}


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _repo(github: FakeGitHub, tmp_path: Path, config: bytes | None = None) -> History:
    files = fixture_files()
    if config is not None:
        files["promoter.yaml"] = config
    github.create_repo("acme", "config", files)
    return History(Path(github.root) / "acme" / "config.git", tmp_path / "work")


def _run(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    return run_on_github(tmp_path, github, TOKEN, *args)


def _json(run: Run, code: int = 0) -> dict[str, Any]:
    assert run.returncode == code, run.stdout + run.stderr
    return dict(run.json())


STAGING_MARKER = "clusters/staging/flux-image-marker.yaml"


def _stage(history: History, old: str, new: str, age: timedelta) -> None:
    """Staging runs web `new` from `age` ago: its overlay and its Flux marker file both."""
    changes = history.tag(STAGING_WEB, f"newTag: {old}", f"newTag: {new}")
    changes |= history.tag(STAGING_MARKER, f"web:{old}", f"web:{new}")
    history.commit(changes, age, f"staging web {new}")


def test_to_production_promotes_what_staging_runs_once_soaked(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=30))
    report = _json(_run(tmp_path, github, "--to", "production", "--app", "web", "--output", "json"))
    (env,) = report["environments"]
    assert env["status"] == "changed"
    assert [c["new"] for c in env["changes"]] == ["1.5.0"]
    (pull,) = github.pulls[("acme", "config")]
    assert pull.head == "promote/production/web"
    # Scheduled reruns: nothing new is unchanged with the same PR; a newer staging version
    # that has soaked updates that PR in place.
    again = _json(_run(tmp_path, github, "--to", "production", "--app", "web", "--output", "json"))
    assert again["status"] == "unchanged"
    _stage(history, "1.5.0", "1.6.0", timedelta(hours=25))
    newer = _json(_run(tmp_path, github, "--to", "production", "--app", "web", "--output", "json"))
    (env,) = newer["environments"]
    assert env["pull_request"]["operation"] == "updated"
    (pull,) = github.pulls[("acme", "config")]
    assert "1.6.0" in git(history.bare, "show", f"promote/production/web:{PRODUCTION_WEB}")


def test_soak_not_met_is_blocked_exit_3_with_the_time_it_passes(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=2))
    before = git(history.bare, "for-each-ref")
    run = _run(tmp_path, github, "--to", "production", "--app", "web")
    assert run.returncode == 3, run.stderr
    line = run.stdout.strip()
    assert line.startswith("production: blocked (soak: web 1.5.0 has run in staging for 2h")
    assert "of 1d" in line
    assert "passes at" in line
    assert git(history.bare, "for-each-ref") == before
    assert github.pulls.get(("acme", "config"), []) == []
    report = _json(
        _run(tmp_path, github, "--to", "production", "--app", "web", "--output", "json"), 3
    )
    (env,) = report["environments"]
    assert env["status"] == "blocked"
    until = datetime.fromisoformat(env["blocked_until"])
    assert timedelta(hours=21) < until - datetime.now(UTC) < timedelta(hours=23)


def test_a_version_that_keeps_changing_never_soaks(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=30))
    _stage(history, "1.5.0", "1.5.1", timedelta(hours=1))
    run = _run(tmp_path, github, "--to", "production", "--app", "web")
    assert run.returncode == 3
    assert "web 1.5.1 has run in staging for 1h" in run.stdout
    # A build staging does not run now has not soaked at all, whatever its age.
    direct = _run(tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
    assert direct.returncode == 3
    assert "web 1.5.0 is not what staging runs now" in direct.stdout
    assert "passes at" not in direct.stdout


def test_downgrade_is_blocked_unless_allowed(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.4.3", timedelta(hours=50))
    history.commit(
        history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.6.0"'),
        timedelta(hours=40),
        "prod 1.6.0",
    )
    run = _run(tmp_path, github, "--to", "production", "--app", "web")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "no-downgrade: production runs web 1.6.0, newer than" in run.stdout
    assert "--allow-downgrade" in run.stdout
    allowed = _run(tmp_path, github, "--to", "production", "--app", "web", "--allow-downgrade")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "1.4.3" in git(history.bare, "show", f"promote/production/web:{PRODUCTION_WEB}")


def test_freeze_and_window_block_and_force_is_recorded(github: FakeGitHub, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    freeze = f"    policies:\n      freeze: [{{start: '{start}', end: '{end}', reason: Launch}}]\n"
    history = _repo(github, tmp_path, _config(freeze))
    run = _run(tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
    assert run.returncode == 3
    assert "production: blocked (freeze: frozen until" in run.stdout
    assert "(Launch); passes at" in run.stdout
    forced = _run(
        tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0", "--force"
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    message = git(history.bare, "log", "-1", "--format=%B", "promote/production/web")
    assert "Promoter-policy-override: freeze: frozen until" in message
    (pull,) = github.pulls[("acme", "config")]
    assert "Policies overridden with `--force`" in pull.body


def test_allow_window_and_freeze_file(github: FakeGitHub, tmp_path: Path) -> None:
    other_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (datetime.now(UTC).weekday() + 2) % 7
    ]
    windows = (
        "    policies:\n      windows:\n"
        f"        allow: [{{days: {other_day}, hours: '10:00-12:00'}}]\n"
    )
    history = _repo(github, tmp_path, _config(windows))
    run = _run(tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
    assert run.returncode == 3
    assert f"window: outside the allow windows ({other_day} 10:00-12:00, UTC)" in run.stdout
    assert "10:00 UTC" in run.stdout  # the next open moment
    history.commit(
        {".promoter/freeze.yaml": "- reason: Incident 4711\n  environments: [staging]\n"},
        timedelta(0),
    )
    staging = _run(tmp_path, github, "--env", "staging", "--image", "ghcr.io/acme/web:1.5.0")
    assert staging.returncode == 3
    assert "freeze: frozen until the freeze is lifted (Incident 4711)" in staging.stdout


def test_require_review_refuses_push_mode(github: FakeGitHub, tmp_path: Path) -> None:
    _repo(github, tmp_path, _config("    policies:\n      require_review: true\n"))
    run = _run(
        tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.5.0",
        "--mode", "push",
    )  # fmt: skip
    assert run.returncode == 3
    assert "require-review: production requires review" in run.stdout


@pytest.mark.parametrize("group", ["app", "all"])
def test_all_apps_one_request_each_or_one_for_all(
    github: FakeGitHub, tmp_path: Path, group: str
) -> None:
    history = _repo(github, tmp_path, _config(POLICIES, f"    group: {group}\n"))
    _stage(history, "1.4.2", "1.5.0", timedelta(days=3))
    api = history.tag("charts/api/values-staging.yaml", "tag: 2.4.0", "tag: 2.4.1")
    history.commit(api, timedelta(days=2), "staging api 2.4.1")
    report = _json(_run(tmp_path, github, "--to", "production", "--all", "--output", "json"))
    changed = {c["image"]: c["new"] for e in report["environments"] for c in e["changes"]}
    assert changed == {"ghcr.io/acme/web": "1.5.0", "ghcr.io/acme/api": "2.4.1"}
    heads = sorted(p.head for p in github.pulls[("acme", "config")])
    if group == "app":
        assert heads == ["promote/production/api", "promote/production/web"]
    else:
        assert len(heads) == 1


def test_staging_image_inherited_from_a_base_without_promoter_yaml(
    github: FakeGitHub, tmp_path: Path
) -> None:
    files = {
        "apps/web/base/kustomization.yaml": (
            b"resources: [deployment.yaml]\nimages:\n  - name: ghcr.io/acme/web\n"
            b"    newTag: 1.2.3\n"
        ),
        "apps/web/base/deployment.yaml": (
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
            b"  template:\n    spec:\n      containers:\n        - name: web\n"
            b"          image: ghcr.io/acme/web:1.0.0\n"
        ),
        "apps/web/overlays/staging/kustomization.yaml": b"resources: [../../base]\n",
        "apps/web/overlays/production/kustomization.yaml": (
            b"resources: [../../base]\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.1.0\n"
        ),
    }
    github.create_repo("acme", "config", files)
    args = ("--to", "production", "--from", "staging", "--image", "ghcr.io/acme/web")
    report = _json(_run(tmp_path, github, *args, "--output", "json"))
    (env,) = report["environments"]
    assert [(c["old"], c["new"]) for c in env["changes"]] == [("1.1.0", "1.2.3")]


def _merge(history: History, branch: str) -> None:
    """Merge a promotion branch into main, as a reviewer would (a fast-forward)."""
    history.pull()
    git(history.work, "fetch", "-q", "origin", branch)
    git(history.work, "merge", "-q", "--ff-only", "FETCH_HEAD")
    git(history.work, "push", "-q", "origin", "HEAD:main")


def test_rollback_holds_until_released(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path)
    for version in ("1.5.0", "1.6.0"):
        history.commit(
            history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"' if version == "1.5.0" else
                        'newTag: "1.5.0"', f'newTag: "{version}"'),
            timedelta(hours=5 if version == "1.5.0" else 1), f"production web {version}",
        )  # fmt: skip
    # The rollback opens a PR restoring the previous version, with the hold in it.
    rollback = _json(
        _run(tmp_path, github, "--env", "production", "--app", "web", "--rollback", "--output",
             "json")
    )  # fmt: skip
    (env,) = rollback["environments"]
    assert [(c["old"], c["new"]) for c in env["changes"]] == [("1.6.0", "1.5.0")]
    (pull,) = github.pulls[("acme", "config")]
    assert pull.title == "Roll back web in production: 1.6.0 → 1.5.0"
    branch = "promote/production/web"
    holds = git(history.bare, "show", f"{branch}:.promoter/holds.yaml")
    assert '- {env: "production", app: "web", version: "1.5.0"' in holds
    _merge(history, branch)
    # An automated promotion is now blocked by the hold, whatever it promotes.
    blocked = _run(tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.6.1")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert "hold: web is held at 1.5.0 in production (rollback from 1.6.0" in blocked.stdout
    scheduled = _run(tmp_path, github, "--to", "production", "--app", "web")
    assert scheduled.returncode == 3
    # Releasing the hold (its own PR, merged) lets the next promotion through.
    released = _run(tmp_path, github, "release-hold", "--env", "production", "--app", "web")
    assert released.returncode == 0, released.stdout + released.stderr
    assert "Release the hold on web in production" in released.stdout
    _merge(history, branch)
    assert "web" not in git(history.bare, "show", "main:.promoter/holds.yaml")
    after = _run(tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.6.1")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "1.6.1" in git(history.bare, "show", f"{branch}:{PRODUCTION_WEB}")


def test_rollback_to_a_named_version_and_force_lifts_the_hold(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path)
    history.commit(
        history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.6.0"'), timedelta(hours=1)
    )
    missing = _run(
        tmp_path, github, "--env", "production", "--app", "web", "--rollback", "--to", "1.3.9"
    )
    assert missing.returncode == 2
    assert "web 1.3.9 did not run in production within its last 100 commits" in missing.stderr
    assert "versions found: 1.4.1" in missing.stderr
    done = _run(
        tmp_path, github, "--env", "production", "--app", "web", "--rollback", "--to", "1.4.1",
        "--mode", "push",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'version: "1.4.1"' in git(history.bare, "show", "main:.promoter/holds.yaml")
    forced = _run(
        tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.7.0",
        "--mode", "push", "--force",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "web" not in git(history.bare, "show", "main:.promoter/holds.yaml")
    message = git(history.bare, "log", "-1", "--format=%B", "main")
    assert "Promoter-policy-override: hold: web is held at 1.4.1" in message
