"""GitLab's API root from the CI variables, and rate limits: python-gitlab's own unbounded
429 sleeping is off, and the forge's one retry layer waits what the answer says
(`Retry-After`, else `RateLimit-Reset`), capped, against the fake GitLab with the real
client. The merge call's 405 (pipeline being created) is retried by that same layer, so
a merge that keeps failing is tried `ATTEMPTS` times in all, not once per layer."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.gitlab import FakeGitLab

from promoter.errors import ForgeError
from promoter.forges import ChangeRequestSpec, CommitCheck
from promoter.forges.gitlab import GitLabForge, api_root, project_path, wait_for
from promoter.forges.retry import ATTEMPTS
from promoter.redact import Secret

TOKEN = "glpat-retry-token"


@pytest.mark.parametrize(
    ("headers", "attempt", "expected"),
    [
        ({"Retry-After": "3"}, 1, 3.0),
        ({"Retry-After": "3600"}, 1, 60.0),  # capped: the layer bounds the total too
        ({"RateLimit-Reset": "1005"}, 1, 5.0),
        ({"RateLimit-Reset": "900"}, 1, 0.0),  # already past
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, 2, 2.0),  # not seconds: backoff
        ({}, 1, 1.0),
        ({}, 3, 4.0),
        ({}, 9, 8.0),
    ],
)
def test_wait_for_reads_the_rate_limit_headers(
    headers: dict[str, str], attempt: int, expected: float
) -> None:
    state = SimpleNamespace(attempt_number=attempt)
    assert wait_for(state, headers, now=lambda: 1000.0) == expected


def _forge(fake: FakeGitLab, slept: list[float]) -> GitLabForge:
    return GitLabForge(
        fake.git_url("acme/config"), token=Secret(TOKEN), api_url=fake.url, sleep=slept.append
    )


def test_429_with_ratelimit_reset_waits_once_then_succeeds(tmp_path: Path) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        fake.create_project("acme/config", {"a.txt": b"a\n"})
        fake.fault_headers[429] = {"RateLimit-Reset": str(int(time.time()) + 30)}
        fake.fail_next("GET", r"/merge_requests$", 429)
        slept: list[float] = []
        assert _forge(fake, slept).find_open("promote/x", "main") is None
        assert [c.status for c in fake.calls] == [429, 200]  # python-gitlab did not retry
        assert len(slept) == 1
        assert 25 <= slept[0] <= 31


def test_429_that_never_ends_fails_after_bounded_attempts(tmp_path: Path) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        fake.create_project("acme/config", {"a.txt": b"a\n"})
        fake.fault_headers[429] = {"Retry-After": "7200"}
        for _ in range(10):
            fake.fail_next("GET", r"/merge_requests$", 429)
        slept: list[float] = []
        with pytest.raises(ForgeError, match="HTTP 429") as raised:
            _forge(fake, slept).find_open("promote/x", "main")
        assert not raised.value.transient
        assert len(fake.calls) == 5
        assert slept == [60.0] * 4


@pytest.mark.parametrize(
    "statuses",
    [[503] * 10, [405] * 10, [405, 503] * 5, ([503] * 4 + [405]) * 2],
    ids=["503", "405", "405-503", "503x4-405"],
)
def test_merge_that_keeps_failing_is_tried_attempts_times_in_all(
    statuses: list[int], tmp_path: Path
) -> None:
    """One retry layer: before, a loop of 4 tries for 405 ran around the layer's 5 tries
    for 5xx, so a merge answered `503 x4, 405` over and over was sent 20 times."""
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", {"a.txt": b"a\n"})
        project.git("branch", "promote/x", "main")
        slept: list[float] = []
        forge = _forge(fake, slept)
        _, request = forge.open_or_update(
            ChangeRequestSpec(head="promote/x", base="main", title="t", body="b")
        )
        for status in statuses:
            fake.fail_next("PUT", r"/merge$", status)
        with pytest.raises(ForgeError, match=f"HTTP {statuses[ATTEMPTS - 1]}") as raised:
            forge.enable_auto_merge(request)
        assert not raised.value.transient
        merges = [c.status for c in fake.calls if c.path.endswith("/merge")]
        assert merges == statuses[:ATTEMPTS]
        assert len(slept) == ATTEMPTS - 1
        assert not fake.open_requests("acme/config")[0].auto_merge


def test_merge_after_405s_lands_within_the_one_layer(tmp_path: Path) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", {"a.txt": b"a\n"})
        project.git("branch", "promote/x", "main")
        slept: list[float] = []
        forge = _forge(fake, slept)
        _, request = forge.open_or_update(
            ChangeRequestSpec(head="promote/x", base="main", title="t", body="b")
        )
        for status in (405, 503, 405):
            fake.fail_next("PUT", r"/merge$", status)
        forge.enable_auto_merge(request)
        merges = [c.status for c in fake.calls if c.path.endswith("/merge")]
        assert merges == [405, 503, 405, 200]
        assert slept == [1.0, 2.0, 4.0]
        assert fake.open_requests("acme/config")[0].auto_merge


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "https://gitlab.example.com"),
        ({"CI_SERVER_URL": "https://gitlab.example.com/git"}, "https://gitlab.example.com/git"),
        (
            {"CI_API_V4_URL": "https://gitlab.example.com/git/api/v4"},
            "https://gitlab.example.com/git",
        ),
        ({"CI_SERVER_URL": "https://other.example.com"}, "https://gitlab.example.com"),
    ],
)
def test_api_root_from_the_ci_variables_of_the_same_host(
    env: dict[str, str], expected: str
) -> None:
    url = "https://gitlab.example.com/git/acme/platform/config.git"
    assert api_root(url, env) == expected
    assert project_path("https://gitlab.example.com/acme/platform/config.git") == (
        "acme/platform/config"
    )


def _states(checks: tuple[CommitCheck, ...]) -> list[tuple[str, str, str]]:
    return [(c.label, c.word, c.state.value) for c in checks]


def test_commit_checks_reads_last_pipeline_through_the_retry_layer(tmp_path: Path) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", {"a.txt": b"a\n"})
        tip = project.tip("main")
        assert tip is not None
        slept: list[float] = []
        forge = _forge(fake, slept)
        assert forge.commit_checks(tip) == ()  # no pipeline: null in the answer
        fake.set_pipeline("acme/config", tip, "running")
        fake.fail_next("GET", r"/repository/commits/[0-9a-f]{40}$", 502)
        assert _states(forge.commit_checks(tip)) == [("pipeline", "running", "waiting")]
        assert len(slept) == 1  # the 502 was retried once by the forge's own layer
        fake.set_pipeline("acme/config", tip, "success")
        assert _states(forge.commit_checks(tip)) == [("pipeline", "success", "success")]
        fake.set_pipeline("acme/config", tip, "skipped")
        assert _states(forge.commit_checks(tip)) == [("pipeline", "skipped", "failed")]
        assert [c.status for c in fake.calls] == [200, 502, 200, 200, 200]  # one GET per ask
        commit = f"/api/v4/projects/acme%2Fconfig/repository/commits/{tip}"
        assert {c.path for c in fake.calls} == {commit}
        assert fake.errors == []


def test_commit_checks_by_name_read_the_latest_job_of_each_name(tmp_path: Path) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", {"a.txt": b"a\n"})
        tip = project.tip("main")
        assert tip is not None
        forge = _forge(fake, [])
        fake.set_job("acme/config", tip, "e2e", "failed")
        fake.set_job("acme/config", tip, "lint", "success")
        fake.set_job("acme/config", tip, "e2e", "running")  # the rerun is what counts
        for n in range(120):  # past one page: the listing is read in full
            fake.set_job("acme/config", tip, f"other-{n}", "failed")
        fake.set_job("acme/config", tip, "scan", "manual")
        found = forge.commit_checks(tip, ("e2e", "scan", "lint", "absent"))
        assert _states(found) == [
            ("job 'e2e'", "running", "waiting"),
            ("job 'scan'", "manual", "failed"),
            ("job 'lint'", "success", "success"),
        ]
        listed = [c for c in fake.calls if c.path.endswith(f"/repository/commits/{tip}/statuses")]
        assert len(listed) == 2  # 124 latest jobs, 100 per page
        assert fake.errors == []


def test_commit_checks_are_refused_where_the_forge_reports_none() -> None:
    from promoter.errors import UnsupportedByForgeError
    from promoter.forges.local import LocalForge

    with pytest.raises(UnsupportedByForgeError, match="no commit checks"):
        LocalForge("file:///tmp/config").commit_checks("0" * 40)
