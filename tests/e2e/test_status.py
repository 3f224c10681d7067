"""`promote status` on a config repository with dated history over the fake GitHub: the
matrix through the environment model, ages, what is behind, holds and freezes; the HTML
page loaded in headless Chromium and its matrix read back from the DOM."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub

from .conftest import Run, git, run_on_github
from .test_environment_promotion import PRODUCTION_WEB, History, _config, _repo, _stage

TOKEN = "ghs_e2e_status_token"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _status(tmp_path: Path, github: FakeGitHub, *args: str) -> Run:
    run = run_on_github(tmp_path, github, TOKEN, "status", *args)
    assert run.returncode == 0, run.stderr
    return run


def _scene(github: FakeGitHub, tmp_path: Path) -> History:
    """Staging at web 1.5.0 for 30 hours; production rolled back to 1.4.0 and held; a
    freeze on production now."""
    now = datetime.now(UTC)
    end = (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    freeze = f"    policies:\n      freeze: [{{start: '{start}', end: '{end}', reason: Launch}}]\n"
    history = _repo(github, tmp_path, _config(freeze))
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=30))
    changes = history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.4.0"')
    changes[".promoter/holds.yaml"] = (
        '- {env: "production", app: "web", version: "1.4.0", reason: "rollback from 1.4.1"}\n'
    )
    history.commit(changes, timedelta(hours=3), "roll back web")
    return history


def test_status_table_markdown_and_json(github: FakeGitHub, tmp_path: Path) -> None:
    _scene(github, tmp_path)
    table = _status(tmp_path, github).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["app", "dev", "staging", "production"]
    web = next(line for line in lines if line.startswith("web "))
    assert "1.5.0 (30h)" in web  # staging, since its files changed 30 hours ago
    assert "1.4.0 (3h) ↓ held" in web  # production: behind staging, held
    assert "hold: web in production at 1.4.0 (rollback from 1.4.1)" in table
    assert "production: freeze: frozen until" in table
    assert "(Launch); passes at" in table
    markdown = _status(tmp_path, github, "--output", "markdown").stdout
    assert markdown.startswith("| app | dev | staging | production |\n|---|---|---|---|\n")
    assert "| web | 1.5.0-rc.1 (" in markdown
    report = json.loads(_status(tmp_path, github, "--output", "json").stdout)
    cells = {(c["app"], c["env"]): c for c in report["cells"]}
    assert cells[("web", "production")]["version"] == "1.4.0"
    assert cells[("web", "production")]["behind"] == "staging"
    assert cells[("api", "staging")]["version"] == "2.4.0"
    assert ("frontend", "staging") not in cells  # no target there
    since = datetime.fromisoformat(cells[("web", "staging")]["since"])
    assert timedelta(hours=29) < datetime.now(UTC) - since < timedelta(hours=31)


class _Matrix(HTMLParser):
    """The `#status` table of a DOM dump: app → env → (version, classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, tuple[str, str]]] = {}
        self._app: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-app"):
            self._app = found["data-app"]
            self.rows[self._app or ""] = {}
        if tag == "td" and self._app is not None:
            env = found.get("data-env") or ""
            self.rows[self._app][env] = (found.get("data-version") or "", found.get("class") or "")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return found


def test_status_html_page_read_back_in_headless_chromium(
    github: FakeGitHub, tmp_path: Path
) -> None:
    _scene(github, tmp_path)
    page = tmp_path / "status.html"
    page.write_text(_status(tmp_path, github, "--output", "html").stdout)
    assert "http" not in page.read_text().split("<body>", 1)[0]  # no external assets
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = _Matrix()
    parsed.feed(done.stdout)
    report: Any = json.loads(_status(tmp_path, github, "--output", "json").stdout)
    expected = {(c["app"], c["env"]): c["version"] or "" for c in report["cells"]}
    read = {(app, env): v for app, cells in parsed.rows.items() for env, (v, _) in cells.items()}
    assert {k: v for k, v in read.items() if v} == {k: v for k, v in expected.items() if v}
    assert "behind" in parsed.rows["web"]["production"][1]
    assert "held" in parsed.rows["web"]["production"][1]


def _promote(tmp_path: Path, github: FakeGitHub, *args: str) -> None:
    run = run_on_github(tmp_path, github, TOKEN, *args)
    assert run.returncode == 0, run.stdout + run.stderr


def _build(version: str, commit: str, run: int) -> tuple[str, ...]:
    return (
        "--image", f"ghcr.io/acme/web:{version}", "--source-repo", "https://github.com/acme/web",
        "--source-commit", commit * 40, "--pipeline-url",
        f"https://github.com/acme/web/actions/runs/{run}",
    )  # fmt: skip


def test_why_follows_the_merged_request_to_the_build_and_its_source_range(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path)
    _promote(tmp_path, github, "--env", "staging", *_build("1.5.0", "a", 1))
    _promote(tmp_path, github, "--env", "production", "--mode", "push", *_build("1.4.9", "1", 0))
    _promote(tmp_path, github, "--env", "staging", *_build("1.6.0", "b", 2))
    _promote(tmp_path, github, "--to", "production", "--app", "web")
    (pull,) = github.pulls[("acme", "config")]
    compare = "https://github.com/acme/web/compare/" + "1" * 40 + "..." + "b" * 40
    assert "What **staging** runs now. Source changes: [" in pull.body
    assert f"]({compare})" in pull.body
    # A reviewer merges it with a merge commit, as GitHub does.
    history.pull()
    git(history.work, "fetch", "-q", "origin", "promote/production/web")
    git(
        history.work, "-c", "user.name=R", "-c", "user.email=r@example.com", "merge", "-q",
        "--no-ff", "-m", "Merge pull request #1 from acme/promote/production/web", "FETCH_HEAD",
    )  # fmt: skip
    git(history.work, "push", "-q", "origin", "HEAD:main")
    text = _why(tmp_path, github, "--env", "production", "--app", "web")
    assert text.startswith("production runs 1.6.0\n")
    assert "Merge pull request #1 from acme/promote/production/web" in text
    assert "merged through request #1" in text
    assert "built from source commit bbbbbbbbbbbb of https://github.com/acme/web" in text
    assert "pipeline: https://github.com/acme/web/actions/runs/2" in text
    assert f"replaced 1.4.9\n  source changes: {compare}\n  promoted from staging:" in text
    assert "staging runs 1.6.0" in text
    report = json.loads(
        _why(tmp_path, github, "--env", "production", "--app", "web", "--output", "json")
    )
    assert report["schema_version"] == 1
    links = report["links"]
    assert datetime.fromisoformat(links[0]["committed"]).tzinfo is not None
    assert [link["env"] for link in links] == ["production", "staging"]
    assert links[1]["compare_url"].endswith("a" * 40 + "..." + "b" * 40)


def _why(tmp_path: Path, github: FakeGitHub, *args: str) -> str:
    run = run_on_github(tmp_path, github, TOKEN, "why", *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_compare_url_forms() -> None:
    from promoter.promotion.provenance import Link, compare_url

    link = Link(
        "production", "1.6.0", "c" * 40, 0.0, "s", True,
        source_repository="https://gitlab.example.com/acme/web", source_commit="b" * 40,
        replaced_source_commit="a" * 40,
    )  # fmt: skip
    assert compare_url(link) == (
        "https://gitlab.example.com/acme/web/-/compare/" + "a" * 40 + "..." + "b" * 40
    )
