"""`GitHubForge.commit_checks` against the fake GitHub: commit statuses and check runs
read by PyGithub, paged in full, the newest of each name counted, words mapped to where a
check stands (neutral and skipped pass, as for GitHub's required checks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.github import FakeGitHub

from promoter.forges import CommitCheck
from promoter.forges.github import GitHubForge
from promoter.redact import Secret


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh") as fake:
        fake.create_repo("acme", "config", {"a.txt": b"a\n"})
        yield fake
        assert fake.errors == []
        assert fake.validation_errors == []


def _forge(fake: FakeGitHub) -> GitHubForge:
    return GitHubForge(
        fake.git_url("acme", "config"),
        token=Secret(fake.token),
        api_url=fake.api_url,
        sleep=lambda _: None,
    )


def _tip(fake: FakeGitHub) -> str:
    tip = fake.hub.repo("acme", "config").branch_sha("main")  # type: ignore[union-attr]
    assert tip is not None
    return tip


def _states(checks: tuple[CommitCheck, ...]) -> set[tuple[str, str, str]]:
    return {(c.label, c.word, c.state.value) for c in checks}


def test_nothing_reported_is_an_empty_answer(github: FakeGitHub) -> None:
    assert _forge(github).commit_checks(_tip(github)) == ()


def test_statuses_and_check_runs_newest_of_each_name(github: FakeGitHub) -> None:
    tip, forge = _tip(github), _forge(github)
    github.set_status("acme", "config", tip, "ci/build", "pending")
    github.set_status("acme", "config", tip, "ci/build", "success")  # newest wins
    github.set_status("acme", "config", tip, "ci/scan", "error")
    github.set_check_run("acme", "config", tip, "e2e", "completed", "failure")
    github.set_check_run("acme", "config", tip, "e2e", "in_progress")  # a rerun
    github.set_check_run("acme", "config", tip, "docs", "completed", "skipped")
    github.set_check_run("acme", "config", tip, "lint", "completed", "neutral")
    github.set_check_run("acme", "config", tip, "deploy", "completed", "action_required")
    assert _states(forge.commit_checks(tip)) == {
        ("status 'ci/build'", "success", "success"),
        ("status 'ci/scan'", "error", "failed"),
        ("check 'e2e'", "in_progress", "waiting"),
        ("check 'docs'", "skipped", "success"),
        ("check 'lint'", "neutral", "success"),
        ("check 'deploy'", "action_required", "failed"),
    }
    named = forge.commit_checks(tip, ("ci/build", "e2e", "absent"))
    assert _states(named) == {
        ("status 'ci/build'", "success", "success"),
        ("check 'e2e'", "in_progress", "waiting"),
    }
    paths = {c.path.split("?")[0] for c in github.calls}
    assert paths == {
        f"/repos/acme/config/statuses/{tip}",
        f"/repos/acme/config/commits/{tip}/check-runs",
    }  # the commit itself is never fetched (PyGithub's lazy commit)


def test_every_page_is_read(github: FakeGitHub) -> None:
    tip, forge = _tip(github), _forge(github)
    for n in range(130):
        github.set_check_run("acme", "config", tip, f"job-{n}", "completed", "success")
    github.set_check_run("acme", "config", tip, "last", "queued")
    for n in range(40):
        github.set_status("acme", "config", tip, f"ctx-{n}", "success")
    found = forge.commit_checks(tip)
    assert len(found) == 171
    assert ("check 'last'", "queued", "waiting") in _states(found)
    runs = [c for c in github.calls if "/check-runs" in c.path]
    assert len(runs) >= 2  # paged: the last run was on a later page


def test_a_hostile_name_or_word_is_kept_as_data(github: FakeGitHub) -> None:
    tip, forge = _tip(github), _forge(github)
    github.set_check_run("acme", "config", tip, "e2e\n::set-output x" + "y" * 300, "queued")
    (check,) = forge.commit_checks(tip)
    assert len(check.name) == 100
    assert "\\n" in check.label  # repr'd: one line
    assert "\n" not in check.label
