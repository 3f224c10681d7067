"""Version order end to end (issue 21): tags without a certain order promote, a real
`superseded` says which version beat the request and where, `version_order: none` and a
`tags:` filter; `promote` against the fake GitHub over loopback git."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub

from .conftest import Run, git
from .test_environment_promotion import (
    PRODUCTION_WEB,
    TOKEN,
    History,
    _config,
    _repo,
    _run,
    _stage,
)  # fmt: skip

BRANCH = "promote/production/web"
TAG_LINE = 14
"""The line of `newTag:` in the fixture's production overlay."""


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _production(history: History, tag: str) -> None:
    """Production's base runs web `tag` (a commit on main, not through promoter)."""
    changes = history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"', f'newTag: "{tag}"')
    history.commit(changes, timedelta(hours=1), f"production web {tag}")


def _promote(tmp_path: Path, github: FakeGitHub, tag: str, *args: str) -> Run:
    image = f"ghcr.io/acme/web:{tag}"
    return _run(tmp_path, github, "--env", "production", "--image", image, *args)


def _report(run: Run, code: int = 0) -> dict[str, Any]:
    assert run.returncode == code, run.stdout + run.stderr
    (env,) = run.json()["environments"]
    return dict(env)


def _on_branch(history: History) -> str:
    return git(history.bare, "show", f"{BRANCH}:{PRODUCTION_WEB}")


def test_commit_id_suffixes_are_unordered_and_promote(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path, _config(""))
    _production(history, "1.5.1-f00d123")
    for tag in ("1.5.1-0abc456", "v1.5.1-10-g0abc45"):
        env = _report(_promote(tmp_path, github, tag, "--output", "json"))
        assert env["status"] == "changed", env
        assert env["superseded"] == []
        assert [(c["old"], c["new"]) for c in env["changes"]] == [("1.5.1-f00d123", tag)]
        assert f'newTag: "{tag}"' in _on_branch(history)


def test_superseded_on_the_base_names_the_newer_version_and_its_line(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, _config(""))
    _production(history, "1.6.0")
    before = git(history.bare, "for-each-ref")
    text = _promote(tmp_path, github, "1.5.0")
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.strip() == (
        "production: superseded: already at a newer version "
        f"(web 1.6.0 at {PRODUCTION_WEB}:{TAG_LINE}); nothing pushed"
    )
    env = _report(_promote(tmp_path, github, "1.5.0", "--output", "json"))
    assert env["status"] == "superseded"
    assert env["superseded"] == [
        {
            "file": PRODUCTION_WEB,
            "image": "ghcr.io/acme/web",
            "current": "1.6.0",
            "wanted": "1.5.0",
            "line": TAG_LINE,
            "branch": None,
        }
    ]
    assert git(history.bare, "for-each-ref") == before


def test_superseded_on_the_promotion_branch_names_the_branch(
    github: FakeGitHub, tmp_path: Path
) -> None:
    history = _repo(github, tmp_path, _config(""))
    assert _report(_promote(tmp_path, github, "1.6.0", "--output", "json"))["status"] == "changed"
    tip = git(history.bare, "rev-parse", BRANCH)
    text = _promote(tmp_path, github, "1.5.0")
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"(web 1.6.0 at {PRODUCTION_WEB}:{TAG_LINE} on {BRANCH}); nothing pushed" in text.stdout
    env = _report(_promote(tmp_path, github, "1.5.0", "--output", "json"))
    assert env["status"] == "superseded"
    (found,) = env["superseded"]
    assert (found["current"], found["file"], found["line"], found["branch"]) == (
        "1.6.0",
        PRODUCTION_WEB,
        TAG_LINE,
        BRANCH,
    )
    assert git(history.bare, "rev-parse", BRANCH) == tip


def test_version_order_none_is_never_superseded(github: FakeGitHub, tmp_path: Path) -> None:
    history = _repo(github, tmp_path, _config("    policies:\n      version_order: none\n"))
    _production(history, "1.6.0")
    env = _report(_promote(tmp_path, github, "1.5.0", "--output", "json"))
    assert env["status"] == "changed"
    assert 'newTag: "1.5.0"' in _on_branch(history)


def test_tags_filter_blocks_other_tags_and_force_records_it(
    github: FakeGitHub, tmp_path: Path
) -> None:
    releases = "    policies:\n      tags: '^v?\\d+\\.\\d+\\.\\d+$'\n"
    history = _repo(github, tmp_path, _config(releases))
    before = git(history.bare, "for-each-ref")
    blocked = _promote(tmp_path, github, "1.5.1-f00d123")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert blocked.stdout.strip() == (
        r"production: blocked (tags: production takes only tags matching ^v?\d+\.\d+\.\d+$ "
        "(environments.production.policies.tags); web 1.5.1-f00d123 does not match); "
        "nothing pushed"
    )
    env = _report(_promote(tmp_path, github, "1.5.1-f00d123", "--output", "json"), 3)
    assert env["status"] == "blocked"
    assert env["skip_reason"].startswith("tags: production takes only tags matching")
    assert git(history.bare, "for-each-ref") == before
    forced = _promote(tmp_path, github, "1.5.1-f00d123", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    message = git(history.bare, "log", "-1", "--format=%B", BRANCH)
    assert "Promoter-policy-override: tags: production takes only tags matching" in message
    release = _report(_promote(tmp_path, github, "v1.5.2", "--output", "json"))
    assert release["status"] == "changed"
    assert 'newTag: "v1.5.2"' in _on_branch(history)


def test_semver_range_blocks_a_pre_release_on_every_path_that_promotes(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """`semver: '>=1.0.0'` on production: no pre-release past staging, whether the version
    is named (`--env --image`) or read from staging (`--to`), and a release passes."""
    rule = "    policies:\n      semver: '>=1.0.0 <2'\n"
    history = _repo(github, tmp_path, _config(rule))
    before = git(history.bare, "for-each-ref")
    blocked = _promote(tmp_path, github, "1.6.0-rc.1")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert blocked.stdout.strip().splitlines()[-1] == (
        "production: blocked (semver: production takes only versions in '>=1.0.0 <2' "
        "(environments.production.policies.semver); web 1.6.0-rc.1 is a pre-release "
        "outside it); nothing pushed"
    )
    major = _report(_promote(tmp_path, github, "2.0.0", "--output", "json"), 3)
    assert major["skip_reason"].endswith("web 2.0.0 is outside it")
    assert git(history.bare, "for-each-ref") == before
    _stage(history, "1.4.2", "1.6.0-rc.1", timedelta(hours=1))
    before = git(history.bare, "for-each-ref")
    from_staging = _run(tmp_path, github, "--to", "production", "--app", "web")
    assert from_staging.returncode == 3, from_staging.stdout + from_staging.stderr
    assert "semver: production takes only versions in '>=1.0.0 <2'" in from_staging.stdout
    assert git(history.bare, "for-each-ref") == before
    release = _report(_promote(tmp_path, github, "1.6.0", "--output", "json"))
    assert release["status"] == "changed"
    assert 'newTag: "1.6.0"' in _on_branch(history)
