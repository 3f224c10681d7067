"""Promotions in flight, visible everywhere: an open promotion branch and its pull request
show in `status` (text, JSON, and the HTML page read back in headless Chromium), `why` and
`plan`; a rerun that only (re)creates the request says so. Over the fake GitHub, and over
a plain file:// remote, where the branch is the request."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.githttp import make_bare_repo
from fakes.github import FakeGitHub

from .conftest import Promoter, fixture_files, git, run_on_github
from .test_environment_promotion import History, _config, _repo, _stage
from .test_status import _chromium, _Matrix

TOKEN = "ghs_e2e_in_flight_token"
TO_WEB = ("--to", "production", "--app", "web")


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _ok(tmp_path: Path, github: FakeGitHub, *args: str) -> str:
    run = run_on_github(tmp_path, github, TOKEN, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _proposed(github: FakeGitHub, tmp_path: Path) -> History:
    """Staging has run web 1.5.0 long enough; production's promotion to it waits in #1."""
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=30))
    _ok(tmp_path, github, *TO_WEB)
    (pull,) = github.pulls[("acme", "config")]
    assert (pull.number, pull.head) == (1, "promote/production/web")
    return history


def test_status_shows_the_promotion_waiting_in_its_request(
    github: FakeGitHub, tmp_path: Path
) -> None:
    _proposed(github, tmp_path)
    table = _ok(tmp_path, github, "status")
    web = next(line for line in table.splitlines() if line.startswith("web "))
    assert web.rstrip().endswith("1.4.1 (30d) ↓ → 1.5.0 in #1"), web
    report: Any = json.loads(_ok(tmp_path, github, "status", "--output", "json"))
    cells = {(c["app"], c["env"]): c for c in report["cells"]}
    assert cells[("web", "production")]["in_flight"] == {
        "version": "1.5.0", "reference": "ghcr.io/acme/web:1.5.0",
        "branch": "promote/production/web", "request": 1,
        "url": cells[("web", "production")]["in_flight"]["url"],
    }  # fmt: skip
    assert cells[("web", "production")]["in_flight"]["url"].endswith("/pull/1")
    assert cells[("web", "staging")]["in_flight"] is None
    markdown = _ok(tmp_path, github, "status", "--output", "markdown")
    assert "→ 1.5.0 in &#35;1" in markdown  # `#` as a character reference: no issue link
    page = tmp_path / "status.html"
    page.write_text(_ok(tmp_path, github, "status", "--output", "html"))
    done = subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = _Matrix()
    parsed.feed(done.stdout)
    assert "inflight" in parsed.rows["web"]["production"][1]
    assert 'data-in-flight="1.5.0"' in done.stdout


def test_why_and_plan_name_the_waiting_request(github: FakeGitHub, tmp_path: Path) -> None:
    history = _proposed(github, tmp_path)
    why = _ok(tmp_path, github, "why", "--env", "production", "--app", "web")
    assert "waiting: 1.5.0 in #1 (promote/production/web)" in why
    report = json.loads(
        _ok(tmp_path, github, "why", "--env", "production", "--app", "web", "--output", "json")
    )
    assert report["in_flight"]["request"] == 1
    # Nothing new in staging: the plan proposes nothing (the request already holds it).
    assert json.loads(_ok(tmp_path, github, "plan", *TO_WEB, "--output", "json"))["pending"] == []
    _stage(history, "1.5.0", "1.6.0", timedelta(hours=26))
    plan = json.loads(_ok(tmp_path, github, "plan", *TO_WEB, "--output", "json"))
    (pending,) = plan["pending"]
    assert (pending["version"], pending["in_flight"]["request"]) == ("1.6.0", 1)
    text = _ok(tmp_path, github, "plan", *TO_WEB)
    assert "updates 1.5.0 in #1" in text


def test_a_rerun_that_only_recreates_the_request_says_so(
    github: FakeGitHub, tmp_path: Path
) -> None:
    _proposed(github, tmp_path)
    (pull,) = github.pulls[("acme", "config")]
    pull.state = "closed"  # closed by hand; the branch still holds the promotion
    run = run_on_github(tmp_path, github, TOKEN, *TO_WEB, "--output", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    (env,) = run.json()["environments"]
    assert env["status"] == "unchanged"  # the branch content did not change
    assert env["pull_request"]["operation"] == "created"  # but a request appeared
    assert [p.state for p in github.pulls[("acme", "config")]] == ["closed", "open"]


def test_in_flight_on_a_remote_without_requests(tmp_path: Path) -> None:
    files = {k: v for k, v in fixture_files().items() if k != "promoter.yaml"}
    bare = make_bare_repo(tmp_path, "config.git", files)
    promoter = Promoter(tmp_path / "run", token=None)
    promoter.tmpdir.mkdir()
    url = bare.as_uri()
    image = "ghcr.io/acme/web:1.6.0"
    promoter.run("--config-repo", url, "--env", "production", "--image", image).ok()
    assert git(bare, "branch", "--list", "promote/*").split() == ["promote/production/web"]
    report = promoter.run("status", "--config-repo", url, "--output", "json").ok().json()
    cells = {(c["app"], c["env"]): c for c in report["cells"]}
    assert cells[("web", "production")]["in_flight"]["request"] is None
    assert cells[("web", "production")]["in_flight"]["version"] == "1.6.0"
    table = promoter.run("status", "--config-repo", url).ok().stdout
    assert "→ 1.6.0 on promote/production/web" in table


def test_status_says_which_policy_keeps_a_behind_cell_behind(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=2))  # production soaks 24h
    report: Any = json.loads(_ok(tmp_path, github, "status", "--output", "json"))
    cells = {(c["app"], c["env"]): c for c in report["cells"]}
    web = cells[("web", "production")]
    assert web["behind"] == "staging"
    assert web["blocked"].startswith("soak: web 1.5.0 has run in staging for 2h")
    until = datetime.fromisoformat(web["blocked_until"])
    assert timedelta(hours=21) < until - datetime.now(UTC) < timedelta(hours=23)
    assert cells[("api", "production")]["blocked"] is None  # behind, and free to go
    text = _ok(tmp_path, github, "status")
    assert "web in production: blocked (soak: web 1.5.0 has run in staging for 2h" in text
    # The prediction is the run's: promote --to says the same.
    run = run_on_github(tmp_path, github, TOKEN, *TO_WEB)
    assert run.returncode == 3
    assert web["blocked"] in run.stdout
