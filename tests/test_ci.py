"""CI variables in: the source build, the CI running the job and its server's host (the
forge of a remote and its token: `tests/forges/test_kinds.py`)."""

from __future__ import annotations

from promoter.ci import Source, read_source, read_system, server_hosts


def test_read_source_github_actions() -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_REPOSITORY": "acme/web",
        "GITHUB_SHA": "abc123" * 6 + "abcd",
        "GITHUB_RUN_ID": "42",
    }
    assert read_source(env) == Source(
        "https://ghe.example.com/acme/web",
        "abc123" * 6 + "abcd",
        "https://ghe.example.com/acme/web/actions/runs/42",
    )


def test_read_source_gitlab_ci() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_URL": "https://gitlab.com/acme/web",
        "CI_COMMIT_SHA": "def0" * 10,
        "CI_PIPELINE_URL": "https://gitlab.com/acme/web/-/pipelines/7",
    }
    assert read_source(env) == Source(
        "https://gitlab.com/acme/web", "def0" * 10, "https://gitlab.com/acme/web/-/pipelines/7"
    )


def test_read_source_outside_ci_is_empty() -> None:
    assert read_source({"GITHUB_SHA": "x"}) == Source()


def test_read_system_names_the_ci_by_its_forge_kind() -> None:
    assert read_system({"GITHUB_ACTIONS": "true"}) == "github"
    assert read_system({"GITLAB_CI": "true"}) == "gitlab"
    assert read_system({"CI": "true"}) is None


def test_server_hosts_from_the_ci_server_urls() -> None:
    env = {"GITHUB_SERVER_URL": "https://GHE.acme.internal/", "CI_SERVER_URL": ""}
    assert server_hosts(env) == {"github": {"ghe.acme.internal"}, "gitlab": set()}


def test_read_source_drops_values_that_are_not_what_the_variable_holds() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_URL": "javascript:alert(1)//",
        "CI_COMMIT_SHA": "abc\nSource-commit: 0000",
        "CI_PIPELINE_URL": "https://gitlab.com/a/b/-/pipelines/7) [x](javascript:1",
    }
    assert read_source(env) == Source()
