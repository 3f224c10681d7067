"""GitHub Actions hand-off: step outputs, step summary and masks, from a run's Result."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.ci import mask_commands, write_github_outputs
from promoter.forges import token_variables
from promoter.promotion.report import outputs, summary
from promoter.promotion.result import (
    Change,
    EnvironmentResult,
    PullRequestInfo,
    Result,
    Status,
)

CHANGE = Change("k.yaml", 3, "/images/0/newTag", "1.4.1", "1.4.2", "ghcr.io/acme/web", "kustomize")


def _result() -> Result:
    staging = EnvironmentResult(
        "staging", Status.CHANGED, (CHANGE,), mode="push", branch="main",
        commit="a" * 40, pushed=True,
    )  # fmt: skip
    production = EnvironmentResult(
        "production", Status.CHANGED, (CHANGE,), mode="pull-request",
        branch="promote/production/web", commit="b" * 40, pushed=True,
        pull_request=PullRequestInfo(7, "https://github.com/acme/config/pull/7", "created"),
    )  # fmt: skip
    return Result(Status.CHANGED, (staging, production))


def test_outputs_name_the_request_and_last_commit() -> None:
    assert outputs(_result()) == {
        "changed": "true",
        "status": "changed",
        "commit-sha": "b" * 40,
        "request-url": "https://github.com/acme/config/pull/7",
        "request-number": "7",
        "operation": "created",
        "skipped": "false",
        "skip-reason": "",
        "pr-url": "https://github.com/acme/config/pull/7",
        "pr-number": "7",
    }


def test_dotenv_reports_every_shared_output_and_gitlabs_names() -> None:
    from promoter.promotion.report import OUTPUTS, dotenv

    values = dotenv(_result())
    assert values == {
        "PROMOTE_CHANGED": "true",
        "PROMOTE_STATUS": "changed",
        "PROMOTE_COMMIT_SHA": "b" * 40,
        "PROMOTE_REQUEST_URL": "https://github.com/acme/config/pull/7",
        "PROMOTE_REQUEST_NUMBER": "7",
        "PROMOTE_OPERATION": "created",
        "PROMOTE_SKIPPED": "false",
        "PROMOTE_SKIP_REASON": "",
        "PROMOTE_MR_URL": "https://github.com/acme/config/pull/7",
        "PROMOTE_MR_IID": "7",
    }
    assert len(OUTPUTS) == len(set(OUTPUTS)) == 8


def test_outputs_of_a_skipped_run() -> None:
    env = EnvironmentResult("dev", Status.SKIPPED)
    result = Result(Status.SKIPPED, (env,), skip=("bot-author", "promoter made the commit"))
    found = outputs(result)
    assert found["skipped"] == "true"
    assert found["skip-reason"] == "bot-author: promoter made the commit"
    assert found["status"] == "skipped"
    assert found["changed"] == "false"
    assert result.as_json()["skipped"] == {
        "guard": "bot-author",
        "reason": "promoter made the commit",
    }


def test_outputs_of_a_no_op() -> None:
    env = EnvironmentResult("staging", Status.UNCHANGED)
    assert outputs(Result(Status.UNCHANGED, (env,)))["changed"] == "false"
    assert outputs(Result(Status.UNCHANGED, (env,)))["operation"] == "none"


def test_summary_is_a_markdown_table() -> None:
    text = summary(_result())
    assert "| staging | changed | web 1.4.1 → 1.4.2 | `aaaaaaaaaaaa` on main |" in text
    assert "[&#35;7](https://github.com/acme/config/pull/7)" in text


def test_write_github_outputs_appends_only_under_actions(tmp_path: Path) -> None:
    out, step = tmp_path / "out", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(step)}
    write_github_outputs({"changed": "true"}, "# hi\n", env)
    assert not out.exists()
    out.write_text("earlier=1\n")
    write_github_outputs(
        {"changed": "true", "multi": "a\nb"}, "# hi\n", env | {"GITHUB_ACTIONS": "true"}
    )
    lines = out.read_text().splitlines()
    assert lines[:2] == ["earlier=1", "changed=true"]
    assert lines[2:] == ["multi=a\\nb"]  # one line each: a value never adds a key
    assert step.read_text() == "# hi\n"


@pytest.mark.parametrize("actions", ["true", None])
def test_mask_commands_cover_every_token_variable(actions: str | None) -> None:
    env = {"PROMOTER_TOKEN": "p-123", "GITHUB_TOKEN": "g-456", "CI_JOB_TOKEN": " "}
    if actions:
        env["GITHUB_ACTIONS"] = actions
    expected = ["::add-mask::p-123", "::add-mask::g-456"] if actions else []
    assert mask_commands(env, token_variables()) == expected
