"""Issue 19: holds, soak and the loop guards cannot be talked around.

- A hold is keyed by the app that owns the image (promoter.yaml's app, else the discovered
  one), so an ordinary CI call naming the image, a `--to`/`--all` run, `promote plan` and an
  API-only run all see the hold a rollback recorded by app name.
- A soak is measured from the config repository's first-parent order, not committer dates:
  a commit dated before its parent arrived no earlier than the parent, and a commit dated
  in the future blocks, naming the commit.
- promoter's trailers count only in a message's final trailer block (git's rules), so a
  human commit quoting them is neither skipped by the loop guard nor shown as promoter's.

The e2e cases run the real `promote` script against the fake GitHub (or the loopback git
server), as `tests/e2e` does.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import TOKEN as GIT_TOKEN
from e2e.conftest import Promoter, Run, fixture_files, git, rev, run_on_github
from fakes.githttp import GitHttpServer, make_bare_repo
from fakes.github import FakeGitHub

from promoter import policies
from promoter.ci import Source
from promoter.guards import Facts, Guard, GuardPolicy, check, parse_trailers
from promoter.imageref import parse_image_ref
from promoter.promotion.message import TRAILER, commit_message
from promoter.promotion.result import Change, EnvironmentResult, Status

TOKEN = "ghs_hardening_policies_token"
WEB = "ghcr.io/acme/web"
PRODUCTION_WEB = "apps/web/overlays/production/kustomization.yaml"
STAGING_WEB = "apps/web/overlays/staging/kustomization.yaml"
STAGING_MARKER = "clusters/staging/flux-image-marker.yaml"
HOLDS = ".promoter/holds.yaml"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _config(*, group_all: bool = False, soak: bool = False) -> bytes:
    """The fixture's promoter.yaml with web's image owned by an app called `frontend` (the
    image's last path component names no app), and production's extra settings."""
    text = fixture_files()["promoter.yaml"].decode()
    for old, new, image in (("frontend", "edge", "frontend"), ("web", "frontend", "web")):
        text = _swap(text, f"  {old}:\n    image: ghcr.io/acme/{image}\n",
                     f"  {new}:\n    image: ghcr.io/acme/{image}\n")  # fmt: skip
    extra = ("    group: all\n" if group_all else "") + (
        "    policies:\n      soak: 24h\n" if soak else ""
    )
    head = "  production:\n    from: staging\n"
    return _swap(text, head, head + extra).encode()


class History:
    """Plain-git commits with chosen dates on the fake's repository (not promoter's)."""

    def __init__(self, bare: Path, work: Path) -> None:
        self.bare = bare
        self.work = work
        git(work.parent, "clone", "-q", str(bare), str(work))

    def commit(self, changes: dict[str, str], age: timedelta, message: str = "change") -> str:
        """Commit `changes` dated `age` ago (negative: in the future) and push it to main."""
        git(self.work, "pull", "-q", "--ff-only", "origin", "main")
        for path, text in changes.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        when = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        env = {
            **os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
            "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
        }  # fmt: skip
        subprocess.run(["git", "add", "-A"], cwd=self.work, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", message], cwd=self.work, env=env, check=True)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def replace(self, path: str, old: str, new: str) -> dict[str, str]:
        git(self.work, "pull", "-q", "--ff-only", "origin", "main")
        text = (self.work / path).read_text()
        return {path: _swap(text, old, new)}

    def show(self, ref: str, path: str) -> str:
        return git(self.bare, "show", f"{ref}:{path}")


def _repo(github: FakeGitHub, tmp_path: Path, files: dict[str, bytes]) -> History:
    github.create_repo("acme", "config", files)
    return History(Path(github.root) / "acme" / "config.git", tmp_path / "work")


def _run(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    return run_on_github(tmp_path, github, TOKEN, *args)


def _ok(run: Run) -> Run:
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def _production_history(history: History) -> None:
    """Production ran web 1.5.0, then 1.6.0 (plain commits, hours apart)."""
    first = history.replace(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.5.0"')
    history.commit(first, timedelta(hours=5), "production web 1.5.0")
    second = history.replace(PRODUCTION_WEB, 'newTag: "1.5.0"', 'newTag: "1.6.0"')
    history.commit(second, timedelta(hours=1), "production web 1.6.0")


def _rolled_back(github: FakeGitHub, tmp_path: Path, *, group_all: bool = False) -> History:
    """`promote --env production --app frontend --rollback` has landed: frontend (image
    ghcr.io/acme/web) is held at 1.5.0 in production."""
    files = {**fixture_files(), "promoter.yaml": _config(group_all=group_all)}
    history = _repo(github, tmp_path, files)
    _production_history(history)
    _ok(_run(tmp_path, github, "--env", "production", "--app", "frontend", "--rollback",
             "--mode", "push"))  # fmt: skip
    assert '{env: "production", app: "frontend", version: "1.5.0"' in history.show("main", HOLDS)
    return history


HELD = "hold: frontend is held at 1.5.0 in production (rollback from 1.6.0"


# -- holds: keyed by the app owning the image, on every path ------------------------------


@pytest.mark.parametrize("api_only", [False, True], ids=["clone", "no-clone"])
def test_hold_by_app_blocks_the_ci_call_naming_the_image(
    github: FakeGitHub, tmp_path: Path, api_only: bool
) -> None:
    history = _rolled_back(github, tmp_path)
    before = git(history.bare, "for-each-ref")
    extra = ("--no-clone",) if api_only else ()
    run = _run(tmp_path, github, "--env", "production", "--image", f"{WEB}:1.6.1", "--mode",
               "push", *extra)  # fmt: skip
    assert run.returncode == 3, run.stdout + run.stderr
    assert HELD in run.stdout
    assert "--env production --app frontend" in run.stdout  # how to release it
    assert git(history.bare, "for-each-ref") == before


def test_hold_by_app_blocks_to_all_landing_apps_together(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """`group: all`: one unit for every app, named by no single app; each image's owner is
    still held."""
    history = _rolled_back(github, tmp_path, group_all=True)
    staged = history.replace(STAGING_WEB, "newTag: 1.4.2", "newTag: 1.7.0")
    staged |= history.replace(STAGING_MARKER, "web:1.4.2", "web:1.7.0")
    history.commit(staged, timedelta(hours=2), "staging web 1.7.0")
    run = _run(tmp_path, github, "--to", "production", "--all", "--output", "json")
    assert run.returncode == 3, run.stdout + run.stderr
    (env,) = run.json()["environments"]
    assert env["status"] == "blocked"
    assert HELD in env["skip_reason"]
    assert github.pulls.get(("acme", "config"), []) == []


def test_plan_emits_no_job_for_a_held_app(github: FakeGitHub, tmp_path: Path) -> None:
    """The held app is listed (JSON, text) but never becomes a job a workflow could run."""
    history = _rolled_back(github, tmp_path)
    staged = history.replace(STAGING_WEB, "newTag: 1.4.2", "newTag: 1.7.0")
    staged |= history.replace(STAGING_MARKER, "web:1.4.2", "web:1.7.0")
    history.commit(staged, timedelta(hours=2), "staging web 1.7.0")
    plan = ("plan", "--to", "production", "--all")
    matrix = json.loads(_ok(_run(tmp_path, github, *plan, "--output", "github-matrix")).stdout)
    assert [job["app"] for job in matrix["include"]] == ["api"]
    pipeline = _ok(_run(tmp_path, github, *plan, "--output", "gitlab-pipeline")).stdout
    assert "--app api" in pipeline
    assert "frontend" not in pipeline
    listed = json.loads(_ok(_run(tmp_path, github, *plan, "--output", "json")).stdout)
    held = {p["app"]: p["held"] for p in listed["pending"]}
    assert held["api"] is None
    assert HELD in held["frontend"]


def test_rollback_named_by_image_holds_the_owning_app(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path, {**fixture_files(), "promoter.yaml": _config()})
    _production_history(history)
    _ok(_run(tmp_path, github, "--env", "production", "--image", WEB, "--rollback", "--mode",
             "push"))  # fmt: skip
    holds = history.show("main", HOLDS)
    assert '{env: "production", app: "frontend", version: "1.5.0"' in holds
    assert 'app: "web"' not in holds
    run = _run(tmp_path, github, "--env", "production", "--app", "frontend", "--image",
               f"{WEB}:1.6.1", "--mode", "push")  # fmt: skip
    assert run.returncode == 3, run.stdout + run.stderr
    assert HELD in run.stdout
    _ok(_run(tmp_path, github, "release-hold", "--env", "production", "--app", "frontend",
             "--mode", "push"))  # fmt: skip
    assert "frontend" not in history.show("main", HOLDS)


ZERO_CONFIG = {
    "apps/web/base/kustomization.yaml": b"resources: [deployment.yaml]\n",
    "apps/web/base/deployment.yaml": (
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        b"  template:\n    spec:\n      containers:\n        - name: web\n"
        b"          image: ghcr.io/acme/web:1.0.0\n"
    ),
    "apps/web/overlays/production/kustomization.yaml": (
        b"resources: [../../base]\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.1.0\n"
    ),
}


def test_zero_config_hold_blocks_the_next_build(github: FakeGitHub, tmp_path: Path) -> None:
    """Without promoter.yaml there are no policies, but a rollback's hold still holds."""
    history = _repo(github, tmp_path, dict(ZERO_CONFIG))
    bumped = history.replace(PRODUCTION_WEB, "newTag: 1.1.0", "newTag: 1.2.0")
    history.commit(bumped, timedelta(hours=1), "production web 1.2.0")
    _ok(_run(tmp_path, github, "--env", "production", "--image", WEB, "--rollback", "--mode",
             "push"))  # fmt: skip
    assert '{env: "production", app: "web", version: "1.1.0"' in history.show("main", HOLDS)
    run = _run(tmp_path, github, "--env", "production", "--image", f"{WEB}:1.3.0", "--mode",
               "push")  # fmt: skip
    assert run.returncode == 3, run.stdout + run.stderr
    assert "hold: web is held at 1.1.0 in production" in run.stdout
    assert "newTag: 1.1.0" in history.show("main", PRODUCTION_WEB)


# -- soak: first-parent order, not committer dates ----------------------------------------


def _soaking(github: FakeGitHub, tmp_path: Path) -> History:
    return _repo(github, tmp_path, {**fixture_files(), "promoter.yaml": _config(soak=True)})


def _stage(history: History, age: timedelta) -> str:
    staged = history.replace(STAGING_WEB, "newTag: 1.4.2", "newTag: 1.5.0")
    staged |= history.replace(STAGING_MARKER, "web:1.4.2", "web:1.5.0")
    return history.commit(staged, age, "staging web 1.5.0")


def test_soak_backdated_commit_arrives_no_earlier_than_its_parent(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """Pushed seconds ago on a fresh parent, dated three days back: not soaked."""
    history = _soaking(github, tmp_path)
    history.commit({"README.md": "fresh parent\n"}, timedelta(0), "docs")
    _stage(history, timedelta(days=3))
    run = _run(tmp_path, github, "--to", "production", "--app", "frontend", "--output", "json")
    assert run.returncode == 3, run.stdout + run.stderr
    (env,) = run.json()["environments"]
    assert env["status"] == "blocked"
    assert "soak: frontend 1.5.0 has run in staging for 0m of 1d" in env["skip_reason"]
    until = datetime.fromisoformat(env["blocked_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    assert github.pulls.get(("acme", "config"), []) == []


def test_soak_future_dated_commit_blocks_naming_it(github: FakeGitHub, tmp_path: Path) -> None:
    """A parent dated two days ahead, then the version in a commit dated 30 hours back:
    the arrival is the future date, which is refused, not counted."""
    history = _soaking(github, tmp_path)
    future = history.commit({"README.md": "from the future\n"}, -timedelta(days=2), "docs")
    _stage(history, timedelta(hours=30))
    run = _run(tmp_path, github, "--to", "production", "--app", "frontend")
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"commit {future[:12]} of its history is dated" in run.stdout
    assert "in the future" in run.stdout
    assert "passes at" not in run.stdout
    assert github.pulls.get(("acme", "config"), []) == []


def test_arrival_times_never_precede_the_parent() -> None:
    # newest first: a commit dated before its parent counts from the parent
    assert policies.arrival_times([50.0, 100.0, 10.0, 20.0]) == [100.0, 100.0, 20.0, 20.0]
    assert policies.arrival_times([30.0, 20.0, 10.0]) == [30.0, 20.0, 10.0]
    assert policies.arrival_times([]) == []


def test_soak_refuses_an_arrival_in_the_future() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    within = policies.soak("web 1.5.0", "staging", now + timedelta(minutes=4), timedelta(1), now)
    assert within is not None
    assert within.until == now + timedelta(minutes=4) + timedelta(1)  # clock skew: waits
    ahead = now + timedelta(days=2)
    block = policies.soak("web 1.5.0", "staging", ahead, timedelta(0), now, dated_by="a" * 40)
    assert block is not None
    assert block.until is None
    assert f"commit {'a' * 12} of its history is dated 2026-12-06 12:00 UTC" in block.line()


# -- trailers: only the final block, by git's rules ---------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Promote web\n\nbody\n\nPromoted-by: promoter\nSource-commit: abc\n",
         [("Promoted-by", "promoter"), ("Source-commit", "abc")]),
        ("Subject\n\nSigned-off-by: A <a@x>\n  continued\n\n\n",
         [("Signed-off-by", "A <a@x> continued")]),
        ("Subject\r\n\r\nPromoted-by: promoter\r\n", [("Promoted-by", "promoter")]),
        ("Promoted-by: promoter\n", []),  # the subject is never a trailer block
        ("Subject\n\nPromoted-by: promoter\n\nThanks!\n", []),  # not the last paragraph
        ("Subject\n\nPromoted-by: promoter\nsee above\n", []),  # a line that is no trailer
        ("Subject\n\n    Promoted-by: promoter\n", []),  # indented: a quote
        ("Subject\n\n* Promoted-by: promoter\n", []),
        ("Subject\n\nPromoted by: promoter\n", []),
        ("Subject\n\nPromoted-by:promoter\n", []),
        ("", []),
    ],
)  # fmt: skip
def test_parse_trailers_final_block_only(message: str, expected: list[tuple[str, str]]) -> None:
    assert parse_trailers(message) == expected


def _policy() -> GuardPolicy:
    return GuardPolicy(email="promoter[bot]@users.noreply.github.com", trailer=TRAILER)


SQUASH = """Add caching (#42)

* Promote web to dev: 1.4.1 → 1.4.2

Promoted-by: promoter
Promoted-env: dev

* Cache the rendered pages
"""


@pytest.mark.parametrize(
    "message",
    [
        SQUASH,
        "Revert a promotion\n\nIt said:\n    Promoted-by: promoter\n",
        "Revert a promotion\n\n    Promoted-by: promoter\n",
        "Promoted-by: promoter",
        "Fix\n\nPromoted-by: promoter\n\nReviewed in #7, thanks.\n",
    ],
    ids=["squash-listing", "quoted", "indented-last", "subject", "not-last"],
)
def test_bot_author_guard_ignores_a_quoted_trailer(message: str) -> None:
    facts = Facts(message, (("Mona", "mona@example.com"),), ("mona",), ("src/app.py",))
    assert check(facts, _policy()).go


def test_bot_author_guard_still_skips_promoters_own_commit() -> None:
    change = Change("a.yaml", 3, "/images/0/newTag", "1.4.1", "1.4.2", WEB, "kustomize")
    result = EnvironmentResult("dev", Status.CHANGED, changes=(change,))
    message = commit_message(
        "dev", result, [parse_image_ref(f"{WEB}:1.4.2")], Source("https://x/y", "abc", None)
    )
    verdict = check(Facts(message), _policy())
    assert verdict.guard is Guard.BOT_AUTHOR
    squashed = f"Promote web to dev (#9)\n\n{message}\n---------\n\nCo-authored-by: A <a@x>\n"
    assert ("Co-authored-by", "A <a@x>") in parse_trailers(squashed)


def _event(bare: Path, commit: str, tmp: Path) -> dict[str, str]:
    """The env of a GitHub Actions push run for `commit`, sent by a human."""
    fields = git(bare, "show", "-s", "--format=%an%x00%ae%x00%cn%x00%ce%x00%B", commit)
    author_name, author_email, committer_name, committer_email, message = fields.split("\0", 4)
    parent = git(bare, "rev-parse", f"{commit}^").strip()
    files = git(bare, "diff", "--name-only", parent, commit).split()
    head: dict[str, Any] = {
        "id": commit, "message": message,
        "author": {"name": author_name, "email": author_email},
        "committer": {"name": committer_name, "email": committer_email},
        "added": [], "removed": [], "modified": files,
    }  # fmt: skip
    payload = {
        "ref": "refs/heads/main", "before": parent, "after": commit, "commits": [head],
        "head_commit": head, "sender": {"login": "mona", "type": "User"},
    }  # fmt: skip
    path = tmp / f"event-{commit[:12]}.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path),
        "GITHUB_SHA": commit, "GITHUB_REPOSITORY": "acme/web",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "1", "GITHUB_ACTOR": "mona",
    }  # fmt: skip


def test_squash_merge_quoting_promoter_commits_still_promotes(tmp_path: Path) -> None:
    """e2e: a human's squash merge whose body lists a promoter commit is built and promoted,
    not skipped as promoter's own commit."""
    files = {
        "src/app.py": b"print('hello')\n",
        "deploy/dev/kustomization.yaml": (
            b"resources: []\nimages:\n- name: ghcr.io/acme/web\n  newTag: 0.0.0\n"
        ),
    }
    root = tmp_path / "srv"
    root.mkdir()
    bare = make_bare_repo(root, "web.git", files)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    (work / "src/app.py").write_text("print('hello, world')\n")
    who = ["-c", "user.name=Mona", "-c", "user.email=mona@example.com"]
    git(work, *who, "-c", "commit.gpgSign=false", "commit", "-qam", SQUASH)
    git(work, "push", "-q", "origin", "HEAD:main")
    newest = rev(bare, "main")
    runs = tmp_path / "runs"
    runs.mkdir()
    with GitHttpServer(root, token=GIT_TOKEN) as server:
        run = Promoter(runs).run(
            "--config-repo", server.repo_url("web.git"), "--env", "dev",
            "--image", f"{WEB}:{newest[:12]}", "--mode", "push", "--output", "json",
            env=_event(bare, newest, tmp_path),
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = run.json()
    assert report["status"] == "changed", report
    assert newest[:12] in git(bare, "show", "main:deploy/dev/kustomization.yaml")


def test_why_does_not_credit_promoter_for_a_quoted_trailer(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, fixture_files())
    bumped = history.replace(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.5.0"')
    quoted = (
        "Hand-edit production web 1.5.0\n\nLike promoter would write:\n"
        "Promoted-by: promoter\nSource-commit: 0123456789abcdef\n\nDone by hand.\n"
    )
    history.commit(bumped, timedelta(hours=1), quoted)
    run = _ok(_run(tmp_path, github, "why", "--env", "production", "--app", "web", "--output",
                   "json"))  # fmt: skip
    (link,) = json.loads(run.stdout)["links"]
    assert link["version"] == "1.5.0"
    assert link["by_promoter"] is False
    assert link["source_commit"] is None


def test_a_human_commit_quoting_promoters_trailer_is_not_forced_over(
    promoter: Promoter, bare: Path, tmp_path: Path
) -> None:
    """The promotion branch's guard reads the final trailer block only: a human commit
    whose body quotes `Promoted-by: promoter` is still someone else's work (issue 19)."""
    production = ("--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
    branch = "refs/heads/promote/production/web"
    assert promoter.run("--config-repo", str(bare), *production).returncode == 0
    work = tmp_path / "human"
    git(tmp_path, "clone", "-q", "-b", "promote/production/web", str(bare), str(work))
    (work / "NOTE.md").write_text("please keep\n")
    git(work, "add", "NOTE.md")
    message = "Keep a note\n\nPromoted-by: promoter\n\nas quoted from the bot's commit above"
    git(work, "-c", "user.name=Alice", "-c", "user.email=a@example.com", "commit", "-qm", message)
    git(work, "push", "-q", "origin", "HEAD:promote/production/web")
    human = rev(bare, branch)

    run = promoter.run(
        "--config-repo", str(bare), "--env", "production", "--image", "ghcr.io/acme/web:1.5.1"
    )

    assert run.returncode == 1, run.stderr
    assert "did not make" in run.stderr
    assert rev(bare, branch) == human


def test_a_freeze_file_holds_without_promoter_yaml(promoter: Promoter, tmp_path: Path) -> None:
    """Zero-config: `.promoter/freeze.yaml` in the repository freezes its environments too
    (it was read only when promoter.yaml declared the environment, issue 19)."""
    files = {k: v for k, v in fixture_files().items() if k != "promoter.yaml"}
    files[".promoter/freeze.yaml"] = b"- reason: Incident 4711\n  environments: [staging]\n"
    bare = make_bare_repo(tmp_path / "srv", "config.git", files)
    before = rev(bare, "main")

    run = promoter.run(
        "--config-repo", str(bare), "--env", "staging", "--image", "ghcr.io/acme/web:9.9.9"
    )

    assert run.returncode == 3, (run.stdout, run.stderr)
    assert "Incident 4711" in run.stdout + run.stderr
    assert rev(bare, "main") == before
