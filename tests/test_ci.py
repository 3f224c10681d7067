"""CI variables in: the source build, the forge of a remote, and the token to use."""

from __future__ import annotations

import pytest

from promoter.ci import Source, find_token, infer_forge, read_source


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


@pytest.mark.parametrize(
    ("host", "env", "forge"),
    [
        ("github.com", {}, "github"),
        ("gitlab.com", {}, "gitlab"),
        ("git.acme.internal", {"GITHUB_SERVER_URL": "https://git.acme.internal"}, "github"),
        ("code.acme.internal", {"CI_SERVER_URL": "https://code.acme.internal"}, "gitlab"),
        ("gitlab.acme.internal", {}, "gitlab"),
        ("127.0.0.1", {}, "local"),
        (None, {"GITHUB_ACTIONS": "true"}, "local"),
    ],
)
def test_infer_forge(host: str | None, env: dict[str, str], forge: str) -> None:
    assert infer_forge(host, env) == forge


def test_find_token_prefers_promoter_token() -> None:
    env = {"GITHUB_TOKEN": "gh", "PROMOTER_TOKEN": "p"}
    assert find_token("github", env) == ("PROMOTER_TOKEN", "p")
    assert find_token("github", {"GITHUB_TOKEN": "gh"}) == ("GITHUB_TOKEN", "gh")
    assert find_token("gitlab", {"CI_JOB_TOKEN": "j"}) == ("CI_JOB_TOKEN", "j")
    assert find_token("local", {"GITHUB_TOKEN": "gh"}) is None
    assert find_token("github", {"PROMOTER_TOKEN": "  "}) is None


def test_read_source_drops_values_that_are_not_what_the_variable_holds() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_URL": "javascript:alert(1)//",
        "CI_COMMIT_SHA": "abc\nSource-commit: 0000",
        "CI_PIPELINE_URL": "https://gitlab.com/a/b/-/pipelines/7) [x](javascript:1",
    }
    assert read_source(env) == Source()
