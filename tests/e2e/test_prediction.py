"""One prediction: what `--dry-run` and `promote plan` say a `promote --to` run will do is
what the run then does, scenario by scenario of the promotion suite: soaked and not, a
freeze, a hold, a rerun the promotion branch already holds, a promotion branch holding a
newer version, apps that are already where their source is. Over the fake GitHub."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub

from .conftest import run_on_github
from .test_environment_promotion import POLICIES, PRODUCTION_WEB, History, _config, _repo, _stage

TOKEN = "ghs_e2e_prediction_token"
TO_ALL = ("--to", "production", "--all")


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        yield fake
    assert fake.validation_errors == []


def _soaked(github: FakeGitHub, tmp_path: Path) -> History:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=30))
    return history


def _not_soaked(github: FakeGitHub, tmp_path: Path) -> History:
    history = _repo(github, tmp_path, _config())
    _stage(history, "1.4.2", "1.5.0", timedelta(hours=2))
    return history


def _frozen(github: FakeGitHub, tmp_path: Path) -> History:
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    freeze = f"    policies:\n      freeze: [{{start: '{start}', end: '{end}', reason: Launch}}]\n"
    return _repo(github, tmp_path, _config(freeze))


def _held(github: FakeGitHub, tmp_path: Path) -> History:
    history = _soaked(github, tmp_path)
    history.commit(
        {".promoter/holds.yaml": '- {env: "production", app: "web", version: "1.4.1", '
                                 'reason: "rollback from 1.4.2"}\n'},
        timedelta(hours=1), "hold web",
    )  # fmt: skip
    return history


def _already_proposed(github: FakeGitHub, tmp_path: Path) -> History:
    history = _soaked(github, tmp_path)
    assert _run(tmp_path, github, *TO_ALL).returncode == 0  # the branches hold it already
    return history


def _newer_in_flight(github: FakeGitHub, tmp_path: Path) -> History:
    history = _soaked(github, tmp_path)
    newer = _run(
        tmp_path, github, "--env", "production", "--image", "ghcr.io/acme/web:1.6.0", "--force"
    )  # a hand-run promotion past the soak: a newer version waits in review
    assert newer.returncode == 0, newer.stdout + newer.stderr
    return history


def _in_step(github: FakeGitHub, tmp_path: Path) -> History:
    history = _repo(github, tmp_path, _config(POLICIES))
    prod = history.tag(PRODUCTION_WEB, 'newTag: "1.4.1"', 'newTag: "1.4.2"')
    prod |= history.tag("charts/api/values-production.yaml", '"2.3.0"', '"2.4.0"')
    history.commit(prod, timedelta(hours=40), "production caught up")
    return history


SCENARIOS: dict[str, Callable[[FakeGitHub, Path], History]] = {
    "soaked": _soaked,
    "not-soaked": _not_soaked,
    "frozen": _frozen,
    "held": _held,
    "already-proposed": _already_proposed,
    "newer-in-flight": _newer_in_flight,
    "in-step": _in_step,
}


def _run(tmp_path: Path, github: FakeGitHub, *args: str) -> Any:
    return run_on_github(tmp_path, github, TOKEN, *args)


def _outcome(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(image, status, rule) of every unit: what the run did, comparable across runs."""
    found = []
    for env in report["environments"]:
        images = sorted({c["image"] for c in env["changes"]} | {
            s["image"] for s in env["superseded"]})  # fmt: skip
        rule = (env["skip_reason"] or "").partition(":")[0] if env["status"] == "blocked" else ""
        found += [(image, env["status"], rule) for image in images or ["-"]]
    return sorted(found)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_dry_run_and_plan_predict_the_run(
    github: FakeGitHub, tmp_path: Path, scenario: str
) -> None:
    SCENARIOS[scenario](github, tmp_path)
    dry = _run(tmp_path, github, *TO_ALL, "--dry-run", "--output", "json")
    plan = _run(tmp_path, github, "plan", *TO_ALL, "--output", "json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    real = _run(tmp_path, github, *TO_ALL, "--output", "json")
    assert dry.returncode == real.returncode, (dry.stdout, real.stdout)
    predicted, done = _outcome(dry.json()), _outcome(real.json())
    assert predicted == done
    pending = json.loads(plan.stdout)["pending"]
    jobs = sorted(f"ghcr.io/acme/{p['app']}" for p in pending if p["blocked"] is None)
    blocked = sorted(
        (f"ghcr.io/acme/{p['app']}", p["blocked"].partition(":")[0])
        for p in pending
        if p["blocked"] is not None
    )
    assert jobs == sorted(image for image, status, _ in done if status == "changed")
    assert blocked == sorted((image, rule) for image, status, rule in done if status == "blocked")
