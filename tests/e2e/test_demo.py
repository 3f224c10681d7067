"""`promote demo`: the whole flow on a throwaway local remote, with no token and no network."""

from __future__ import annotations

import time

import pytest

from .conftest import Promoter


@pytest.mark.timeout(60)
def test_demo_runs_offline_without_token(promoter: Promoter) -> None:
    promoter.token = None
    offline = {  # any attempt to reach the network goes to a closed local port
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    started = time.monotonic()
    run = promoter.run("demo", env=offline, timeout=60)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert elapsed < 30
    assert "PROMOTER_TOKEN" not in promoter.env(offline)
    out = run.stdout.splitlines()
    for needle in (
        "-    newTag: 1.4.2",
        "+    newTag: 1.5.0",
        '-    newTag: "1.4.1"   # promoted via pull request; see CODEOWNERS',
        '+    newTag: "1.5.0"   # promoted via pull request; see CODEOWNERS',
        '+    newTag: "1.5.1"   # promoted via pull request; see CODEOWNERS',
        "staging: unchanged: already up to date",
    ):
        assert needle in out, needle
    assert "pushed" in run.stdout
    assert "unchanged" in run.stdout
    assert "promote/production/web" in run.stdout
    assert sum(line.startswith("== ") for line in out) == 4
    assert [p.name for p in promoter.tmpdir.iterdir() if p.name.startswith("promoter")] == []


def test_demo_json_is_one_document_of_its_steps(promoter: Promoter) -> None:
    report = promoter.run("demo", "--output", "json").ok().json()
    assert report["schema_version"] == 1
    statuses = [step["result"]["status"] for step in report["steps"]]
    assert statuses == ["changed", "unchanged", "changed", "changed"]
    assert report["steps"][0]["command"].startswith("promote --config-repo ")
