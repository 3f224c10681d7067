"""promote against a fake GitHub on loopback: real PyGithub, real git, one living PR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.github import FakeGitHub

from .conftest import Promoter, Run, fixture_files, git

TOKEN = "ghs_e2e_fake_token_1234"
WEB = "ghcr.io/acme/web"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as fake:
        fake.create_repo("acme", "config", fixture_files())
        yield fake
    assert fake.validation_errors == []


@pytest.fixture
def gh_promoter(tmp_path: Path) -> Promoter:
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir()
    return Promoter(tmpdir, token=TOKEN)


def _run(
    promoter: Promoter, github: FakeGitHub, *args: str, env: dict[str, str] | None = None
) -> Run:
    """`promote` against the fake's repository acme/config, GitHub forge, no write pacing."""
    return promoter.run(
        "--config-repo", github.git_url("acme", "config"), "--forge", "github",
        "--api-url", github.api_url, *args,
        env={"PROMOTER_GITHUB_WRITE_INTERVAL": "0", **(env or {})},
    )  # fmt: skip


def _promote(
    promoter: Promoter, github: FakeGitHub, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    run = _run(promoter, github, "--output", "json", *args, env=env)
    assert run.returncode == 0, run.stderr
    report = run.json()
    shown = [
        line
        for line in (run.stdout + run.stderr).splitlines()
        if not line.startswith("::add-mask::")  # the runner consumes these; never echoed
    ]
    assert not any(TOKEN in line for line in shown)
    return report


def _production(promoter: Promoter, github: FakeGitHub, tag: str, *extra: str) -> dict[str, Any]:
    report = _promote(promoter, github, "--env", "production", "--image", f"{WEB}:{tag}", *extra)
    (env,) = report["environments"]
    return env


def _bare(github: FakeGitHub) -> Path:
    return Path(github.root) / "acme" / "config.git"


def _refused_line(promoter: Promoter, github: FakeGitHub) -> str:
    """Promote web 1.5.0 to production, expecting exit 1 with nothing pushed; the one line."""
    before = git(_bare(github), "for-each-ref").splitlines()
    run = _run(promoter, github, "--env", "production", "--image", f"{WEB}:1.5.0")
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert git(_bare(github), "for-each-ref").splitlines() == before
    return line


def test_github_first_run_creates_pr_with_labels_and_reviewers(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    env = _production(gh_promoter, github, "1.5.0")

    assert env["status"] == "changed"
    assert env["pull_request"]["operation"] == "created"
    (pull,) = github.pulls[("acme", "config")]
    assert pull.head == "promote/production/web"
    assert pull.base == "main"
    assert pull.title == "Promote web to production: 1.4.1 → 1.5.0"
    assert "<!-- promoter -->" in pull.body
    assert "| web | production | `apps/web/overlays/production/kustomization.yaml`" in pull.body
    assert set(pull.labels) == {"promotion", "production"}
    assert pull.requested_reviewers == ["alice"]
    assert pull.requested_teams == ["sre"]
    assert env["pull_request"]["number"] == pull.number
    assert github.count("POST", path_regex=r"/pulls$") == 1
    rest = [c for c in github.calls]
    assert len(rest) <= 6, [f"{c.method} {c.path}" for c in rest]


def test_github_newer_tag_updates_the_same_pr_without_comments(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    _production(gh_promoter, github, "1.5.0")
    first = git(_bare(github), "rev-parse", "promote/production/web").strip()

    env = _production(gh_promoter, github, "1.5.1")

    assert env["pull_request"]["operation"] == "updated"
    (pull,) = github.pulls[("acme", "config")]
    assert pull.title == "Promote web to production: 1.4.1 → 1.5.1"
    assert "`1.5.1`" in pull.body
    assert pull.comments == []
    assert git(_bare(github), "rev-parse", "promote/production/web").strip() != first
    assert github.count("POST", path_regex=r"/pulls$") == 1


def test_github_same_tag_again_is_unchanged_with_zero_writes(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    _production(gh_promoter, github, "1.5.0")
    writes = github.write_calls

    env = _production(gh_promoter, github, "1.5.0")

    assert env["status"] == "unchanged"
    assert env["pull_request"]["operation"] == "unchanged"
    assert github.write_calls == writes


def test_github_racing_run_created_the_pr_first_is_updated(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.race_create_pull("acme", "config")

    env = _production(gh_promoter, github, "1.5.0")

    assert env["pull_request"]["operation"] in ("updated", "unchanged")
    assert len(github.pulls[("acme", "config")]) == 1


def test_github_502_and_secondary_rate_limit_are_retried(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.fail_502("POST", r"/pulls$")
    github.secondary_rate_limit("GET", r"/pulls$", retry_after=1)

    env = _production(gh_promoter, github, "1.5.0")

    assert env["pull_request"]["operation"] == "created"
    assert len(github.pulls[("acme", "config")]) == 1


def test_github_bad_credentials_exit_1_nothing_pushed(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.bad_credentials()
    line = _refused_line(gh_promoter, github)
    assert line.startswith("promote: error:")
    assert TOKEN not in line


def test_github_auto_merge_requested_when_checks_are_pending(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.set_branch_protection(
        "acme", "config", "main", required_signatures=False, required_status_checks=["ci"]
    )
    _production(gh_promoter, github, "1.5.0", "--auto-merge")
    (pull,) = github.pulls[("acme", "config")]
    assert pull.auto_merge is not None
    assert not pull.merged


def test_github_auto_merge_of_a_clean_pr_merges_it_now(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    _production(gh_promoter, github, "1.5.0", "--auto-merge")
    (pull,) = github.pulls[("acme", "config")]
    assert pull.merged
    overlay = "apps/web/overlays/production/kustomization.yaml"
    assert 'newTag: "1.5.0"' in git(_bare(github), "show", f"main:{overlay}")


def test_github_push_mode_commits_to_base_without_a_pr(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    report = _promote(gh_promoter, github, "--env", "staging", "--image", f"{WEB}:1.5.0")
    (env,) = report["environments"]
    assert env["branch"] == "main"
    assert env["pull_request"] is None
    assert github.pulls.get(("acme", "config"), []) == []
    assert git(_bare(github), "rev-parse", "main").strip() == env["commit"]


def test_github_actions_outputs_and_summary(
    gh_promoter: Promoter, github: FakeGitHub, tmp_path: Path
) -> None:
    out, summary = tmp_path / "gh-output", tmp_path / "gh-summary"
    report = _promote(
        gh_promoter, github, "--env", "production", "--image", f"{WEB}:1.5.0",
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out),
             "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    (env,) = report["environments"]
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert values["pr-url"] == env["pull_request"]["url"]
    assert values["pr-number"] == str(env["pull_request"]["number"])
    assert values["operation"] == "created"
    assert values["commit-sha"] == env["commit"]
    assert values["changed"] == "true"
    assert "| production | changed | web 1.4.1 → 1.5.0 |" in summary.read_text()


def test_github_base_requiring_signed_commits_fails_before_pushing(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.set_branch_protection("acme", "config", "main", required_signatures=True)
    line = _refused_line(gh_promoter, github)
    assert "requires signed commits" in line
    assert github.pulls.get(("acme", "config"), []) == []


def test_github_base_already_holding_the_change_closes_the_pr_with_a_comment(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    _production(gh_promoter, github, "1.5.0")
    # --skip-ci: a distinct commit; an identical one in the same second would share the PR
    # head's id, and GitHub (and the fake) would then count the PR as merged, not closed.
    _promote(
        gh_promoter,
        github,
        "--env",
        "production",
        "--image",
        f"{WEB}:1.5.0",
        "--mode",
        "push",
        "--skip-ci",
    )

    env = _production(gh_promoter, github, "1.5.0")

    assert env["status"] == "unchanged"
    (pull,) = github.pulls[("acme", "config")]
    assert pull.state == "closed"
    assert len(pull.comments) == 1
    assert "already holds" in pull.comments[0].body
    assert "promote/production/web" not in git(_bare(github), "branch", "--list", "promote/*")


def _tree_bytes(github: FakeGitHub, ref: str) -> dict[str, str]:
    listing = git(_bare(github), "ls-tree", "-r", ref)
    return {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}


@pytest.mark.parametrize("env_name", ["staging", "production"])
def test_github_no_clone_writes_the_same_bytes_as_the_clone_path(
    gh_promoter: Promoter, tmp_path: Path, env_name: str
) -> None:
    trees = {}
    for mode in ("clone", "no-clone"):
        with FakeGitHub(tmp_path / mode, token=TOKEN, app_token=True) as fake:
            fake.create_repo("acme", "config", fixture_files())
            extra = ("--no-clone",) if mode == "no-clone" else ()
            report = _promote(
                gh_promoter, fake, "--env", env_name, "--image", f"{WEB}:1.5.0", *extra
            )
            (env,) = report["environments"]
            assert env["status"] == "changed"
            ref = env["branch"]
            trees[mode] = _tree_bytes(fake, ref)
            if mode == "no-clone":
                assert report["stats"]["git_calls"] == 0
                assert report["stats"]["bytes_fetched"] == 0
                again = _promote(
                    gh_promoter, fake, "--env", env_name, "--image", f"{WEB}:1.5.0", *extra
                )
                assert again["status"] == "unchanged"
            assert fake.validation_errors == []
    assert trees["clone"] == trees["no-clone"]


@pytest.mark.parametrize(("app_token", "expected"), [(True, 0), (False, 1)])
def test_github_no_clone_signed_only_base_needs_a_verified_api_commit(
    gh_promoter: Promoter, tmp_path: Path, app_token: bool, expected: int
) -> None:
    with FakeGitHub(tmp_path / "gh", token=TOKEN, app_token=app_token) as fake:
        fake.create_repo("acme", "config", fixture_files())
        fake.set_branch_protection("acme", "config", "main", required_signatures=True)
        run = _run(
        gh_promoter, fake, "--env", "production", "--image", f"{WEB}:1.5.0",
            "--no-clone",         )  # fmt: skip
        assert run.returncode == expected, run.stderr
        pulls = fake.pulls.get(("acme", "config"), [])
        if app_token:
            (pull,) = pulls
            assert pull.head == "promote/production/web"
        else:
            assert "did not verify" in run.stderr
            assert pulls == []
            assert "promote/production/web" not in git(_bare(fake), "branch", "--list")


def test_github_api_refusing_the_token_pushes_nothing(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    """git accepts the token but the REST API answers 401: stop before pushing the branch."""
    github.fail_next(
        "*",
        r"/repos/",
        401,
        body={
            "message": "Bad credentials",
            "status": "401",
            "documentation_url": "https://docs.github.com/rest",
        },
        times=50,
    )
    line = _refused_line(gh_promoter, github)
    assert "GitHub rejected the token" in line


def test_github_primary_rate_limit_waits_for_reset(
    gh_promoter: Promoter, github: FakeGitHub
) -> None:
    github.primary_rate_limit("POST", r"/pulls$", reset_in=1)
    env = _production(gh_promoter, github, "1.5.0")
    assert env["pull_request"]["operation"] == "created"
    assert github.count("POST", path_regex=r"/pulls$") == 2


def test_github_enterprise_server_layout(gh_promoter: Promoter, tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "ghes", token=TOKEN, layout="ghes") as fake:
        fake.create_repo("acme", "config", fixture_files())
        assert fake.api_url.endswith("/api/v3")
        env = _production(gh_promoter, fake, "1.5.0")
        assert env["pull_request"]["operation"] == "created"
        assert fake.validation_errors == []


def test_github_app_credentials_mint_the_token_for_git_and_api(
    tmp_path: Path,
) -> None:
    from fakes.test_github import app_key_pair

    private, public = app_key_pair()
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    runner = Promoter(tmp_path / "run-tmp-app", token=None)
    runner.tmpdir.mkdir()
    with FakeGitHub(tmp_path / "gh", token=TOKEN, app_id=321, app_public_key_pem=public) as fake:
        fake.create_repo("acme", "config", fixture_files())
        run = _run(
            runner,
            fake,
            "--env",
            "production",
            "--image",
            f"{WEB}:1.5.0",
            "--no-clone",
            "--output",
            "json",
            env={
                "PROMOTER_GITHUB_APP_ID": "321",
                "PROMOTER_GITHUB_APP_PRIVATE_KEY": str(key_file),
                "PROMOTER_GITHUB_WRITE_INTERVAL": "0",
            },
        )
        assert run.returncode == 0, run.stderr
        (minted,) = fake.minted_tokens
        assert minted not in run.stdout + run.stderr
        assert private.splitlines()[1] not in run.stdout + run.stderr
        (pull,) = fake.pulls[("acme", "config")]
        commit = run.json()["environments"][0]["commit"]
        verified = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/git/commits")]
        assert verified
        assert pull.head == "promote/production/web"
        assert commit
        assert fake.validation_errors == []


def test_github_app_with_the_wrong_key_is_one_clear_line(tmp_path: Path) -> None:
    from fakes.test_github import app_key_pair

    _, public = app_key_pair()
    other, _ = app_key_pair(seed=1)
    runner = Promoter(tmp_path / "run-tmp-app", token=None)
    runner.tmpdir.mkdir()
    with FakeGitHub(tmp_path / "gh", token=TOKEN, app_id=321, app_public_key_pem=public) as fake:
        fake.create_repo("acme", "config", fixture_files())
        run = _run(
            runner,
            fake,
            "--env",
            "production",
            "--image",
            f"{WEB}:1.5.0",
            env={"PROMOTER_GITHUB_APP_ID": "321", "PROMOTER_GITHUB_APP_PRIVATE_KEY": other},
        )
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert "GitHub App 321 could not get a token for acme/config" in line
    assert other.splitlines()[1] not in line


def test_github_pull_request_written_with_github_token_warns(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """GITHUB_TOKEN's pull requests start no workflows: the run says so, and what to use."""
    tmpdir = tmp_path / "run-gh-token"
    tmpdir.mkdir()
    promoter = Promoter(tmpdir, token=None)
    run = _run(
        promoter, github, "--env", "production", "--image", f"{WEB}:1.5.0", "--output", "json",
        env={"GITHUB_TOKEN": TOKEN},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = run.json()
    (warning,) = report["warnings"]
    assert "GITHUB_TOKEN" in warning
    assert "GitHub App installation token" in warning
    assert report["environments"][0]["pull_request"]["operation"] == "created"
    assert (
        f"promote: warning: pull request #{report['environments'][0]['pull_request']['number']}"
        in run.stderr
    )
    again = _run(
        Promoter(tmpdir, token=TOKEN), github, "--env", "production", "--image", f"{WEB}:1.5.0",
        "--output", "json",
    )  # fmt: skip
    assert again.json()["warnings"] == []  # PROMOTER_TOKEN: no warning
