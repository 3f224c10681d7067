"""`promote` against real remotes: smart HTTP with a token, `file://`, a bare path.

Each test runs the installed script as a subprocess and then reads the remote with plain
git: which commits arrived, what they touch, who wrote them, which refs moved.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer

from .conftest import (
    BOT,
    TOKEN,
    Promoter,
    add_hook,
    diff_lines,
    git,
    refs,
    rev,
    show,
    touched,
)

WEB_150 = "ghcr.io/acme/web:1.5.0"
STAGING_KUSTOMIZATION = "apps/web/overlays/staging/kustomization.yaml"
STAGING_EDGE = "clusters/staging/flux-image-marker.yaml"
PRODUCTION_KUSTOMIZATION = "apps/web/overlays/production/kustomization.yaml"
STAGING_DIFF = [
    f"diff --git a/{STAGING_KUSTOMIZATION} b/{STAGING_KUSTOMIZATION}",
    f"--- a/{STAGING_KUSTOMIZATION}",
    f"+++ b/{STAGING_KUSTOMIZATION}",
    "@@ -11 +11 @@ images:",
    "-    newTag: 1.4.2",
    "+    newTag: 1.5.0",
    f"diff --git a/{STAGING_EDGE} b/{STAGING_EDGE}",
    f"--- a/{STAGING_EDGE}",
    f"+++ b/{STAGING_EDGE}",
    "@@ -20 +20 @@ spec:",
    '-          image: ghcr.io/acme/web:1.4.2 # {"$imagepolicy": "flux-system:web"}',
    '+          image: ghcr.io/acme/web:1.5.0 # {"$imagepolicy": "flux-system:web"}',
]
STAGING_ARGS = ("--env", "staging", "--image", WEB_150)


def trailer(repo: Path, commit: str, key: str) -> list[str]:
    out = git(repo, "log", "-1", f"--format=%(trailers:key={key},valueonly)", commit)
    return [line for line in out.splitlines() if line]


def assert_staging_promoted(bare: Path, before: str, author: str = BOT) -> str:
    """main moved by exactly one commit on `before` with the staging 1.5.0 diff; returns it."""
    tip = rev(bare, "main")
    assert tip != before
    assert git(bare, "rev-list", "--parents", "-n", "1", tip).split() == [tip, before]
    assert diff_lines(bare, tip) == STAGING_DIFF
    assert trailer(bare, tip, "Promoted-by") == ["promoter"]
    assert trailer(bare, tip, "Promoted-image") == [WEB_150]
    assert git(bare, "log", "-1", "--format=%an <%ae>%n%cn <%ce>", tip).splitlines() == [
        author,
        author,
    ]
    assert git(bare, "log", "-1", "--format=%s", tip).strip() == (
        "Promote web to staging: 1.4.2 → 1.5.0"
    )
    return tip


def test_promote_http_push_commits_expected_diff(
    promoter: Promoter, bare: Path, url: str, server: GitHttpServer
) -> None:
    before = rev(bare, "main")
    run = promoter.run("--config-repo", url, *STAGING_ARGS, "--output", "json").ok()
    tip = assert_staging_promoted(bare, before)
    report = run.json()
    assert report["status"] == "changed"
    (env,) = report["environments"]
    assert (env["env"], env["mode"], env["branch"], env["commit"], env["pushed"]) == (
        "staging",
        "push",
        "main",
        tip,
        True,
    )
    stats = report["stats"]
    assert stats["bytes_fetched"] > 0
    assert stats["git_calls"] > 0
    assert stats["bytes_sent"] > 0
    assert stats["attempts"] == 1
    assert set(refs(bare)) == {"refs/heads/main"}
    assert all(r.auth_ok for r in server.requests)
    assert sum(r.path.endswith("/git-receive-pack") for r in server.requests) == 1
    assert promoter.leftovers() == []


@pytest.mark.parametrize("token", ["not-the-token", None], ids=["wrong", "missing"])
def test_promote_http_bad_token_fails_without_push(
    promoter: Promoter, bare: Path, url: str, server: GitHttpServer, token: str | None
) -> None:
    before = refs(bare)
    promoter.token = token
    run = promoter.run("--config-repo", url, *STAGING_ARGS)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("promote: error: ")
    assert "credentials" in lines[0]
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert refs(bare) == before
    assert server.requests
    assert not any(r.auth_ok for r in server.requests)
    discovery = [r for r in server.requests if r.query == "service=git-upload-pack"]
    assert len(discovery) == 1  # refused credentials are not retried: one try
    assert promoter.leftovers() == []


@pytest.mark.parametrize("form", ["file-url", "bare-path"])
def test_promote_local_remote_push_commits_expected_diff(
    promoter: Promoter, bare: Path, form: str
) -> None:
    before = rev(bare, "main")
    target = bare.as_uri() if form == "file-url" else str(bare)
    author = "Jane Doe <jane@example.com>"
    promoter.token = None
    promoter.run("--config-repo", target, *STAGING_ARGS, "--author", author).ok()
    assert_staging_promoted(bare, before, author=author)
    assert set(refs(bare)) == {"refs/heads/main"}


def test_promote_pull_request_mode_branch_lifecycle(
    promoter: Promoter, bare: Path, url: str
) -> None:
    branch = "refs/heads/promote/production/web"
    main = rev(bare, "main")

    def production(tag: str) -> dict[str, object]:
        image = f"ghcr.io/acme/web:{tag}"
        args = ("--config-repo", url, "--env", "production", "--image", image, "--output", "json")
        before = refs(bare)
        (predicted,) = promoter.run(*args, "--dry-run").ok().json()["environments"]
        assert refs(bare) == before  # a dry run pushes nothing
        report = promoter.run(*args).ok().json()
        assert rev(bare, "main") == main  # main is never touched in pull-request mode
        (env,) = report["environments"]
        assert env["mode"] == "pull-request"
        # The dry run predicted what the run did, the promotion branch's verdict included.
        assert (predicted["status"], predicted["superseded"]) == (env["status"], env["superseded"])
        return env

    created = production("1.5.0")
    head = rev(bare, branch)
    assert (created["status"], created["branch"], created["commit"]) == (
        "changed",
        "promote/production/web",
        head,
    )
    assert git(bare, "rev-list", "--parents", "-n", "1", head).split() == [head, main]
    assert touched(bare, head) == [PRODUCTION_KUSTOMIZATION]
    assert 'newTag: "1.5.0"' in show(bare, branch, PRODUCTION_KUSTOMIZATION)
    commits = git(bare, "rev-list", "--all", "--count")

    again = production("1.5.0")
    assert again["status"] == "unchanged"
    assert rev(bare, branch) == head
    assert git(bare, "rev-list", "--all", "--count") == commits

    newer = production("1.5.1")
    updated = rev(bare, branch)
    assert newer["status"] == "changed"
    assert updated != head
    assert git(bare, "rev-list", "--parents", "-n", "1", updated).split() == [updated, main]
    assert git(bare, "rev-list", "--count", f"main..{branch}").strip() == "1"
    assert 'newTag: "1.5.1"' in show(bare, branch, PRODUCTION_KUSTOMIZATION)

    older = production("1.5.0")
    assert older["status"] == "superseded"
    assert older["superseded"] == [
        {
            "file": PRODUCTION_KUSTOMIZATION,
            "image": "ghcr.io/acme/web",
            "current": "1.5.1",
            "wanted": "1.5.0",
            "line": 14,
            "branch": "promote/production/web",
        }
    ]
    assert rev(bare, branch) == updated
    assert set(refs(bare)) == {"refs/heads/main", branch}


def test_promote_push_rerun_unchanged_sends_nothing(
    promoter: Promoter, bare: Path, url: str, server: GitHttpServer
) -> None:
    promoter.run("--config-repo", url, *STAGING_ARGS).ok()
    tip = rev(bare, "main")
    server.reset_stats()
    report = promoter.run("--config-repo", url, *STAGING_ARGS, "--output", "json").ok().json()
    assert report["status"] == "unchanged"
    assert report["changes"] == []
    stats = report["stats"]
    assert stats["bytes_sent"] == 0
    assert stats["bytes_fetched"] > 0
    assert rev(bare, "main") == tip
    # A run that may push asks receive-pack's advertisement ahead (it overlaps the reads);
    # nothing is pushed: no receive-pack request with a body.
    assert not any(r.path.endswith("/git-receive-pack") for r in server.requests)
    assert not any(r.bytes_in for r in server.requests if "receive-pack" in r.query)


def test_promote_multi_env_multi_image_one_commit_per_env(
    promoter: Promoter, bare: Path, url: str
) -> None:
    before = rev(bare, "main")
    images = ("--image", "ghcr.io/acme/web:1.6.0", "--image", "ghcr.io/acme/api:2.6.0")
    run = promoter.run(
        "--config-repo", url, "--env", "dev", "--env", "staging", *images, "--output", "json"
    )
    report = run.ok().json()
    assert [e["status"] for e in report["environments"]] == ["changed", "changed"]
    assert git(bare, "rev-list", "--count", f"{before}..main").strip() == "2"
    assert report["stats"]["attempts"] == 2  # staging built on dev's
    assert rev(bare, "main~2") == before
    expected = {
        "dev": ["apps/web/overlays/dev/kustomization.yaml", "charts/api/values-dev.yaml"],
        "staging": [STAGING_KUSTOMIZATION, "charts/api/values-staging.yaml", STAGING_EDGE],
    }
    seen = {}
    for commit in git(bare, "rev-list", f"{before}..main").split():
        subject = git(bare, "log", "-1", "--format=%s", commit).strip()
        env = subject.removeprefix("Promote to ").split(":", 1)[0]
        seen[env] = sorted(touched(bare, commit))
        assert trailer(bare, commit, "Promoted-image") == [
            "ghcr.io/acme/web:1.6.0",
            "ghcr.io/acme/api:2.6.0",
        ]
    assert seen == {env: sorted(files) for env, files in expected.items()}
    assert "newTag: 1.6.0" in show(bare, "main", STAGING_KUSTOMIZATION)
    assert "tag: 2.6.0" in show(bare, "main", "charts/api/values-dev.yaml")
    assert show(bare, "main", PRODUCTION_KUSTOMIZATION) == show(
        bare, before, PRODUCTION_KUSTOMIZATION
    )


def test_promote_skip_ci_and_ci_source_trailers(promoter: Promoter, bare: Path, url: str) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/web",
        "GITHUB_SHA": sha,
        "GITHUB_RUN_ID": "4242",
    }
    promoter.run("--config-repo", url, *STAGING_ARGS, "--skip-ci", env=ci).ok()
    tip = rev(bare, "main")
    assert git(bare, "log", "-1", "--format=%s", tip).strip().endswith(" [skip ci]")
    assert trailer(bare, tip, "Promoted-by") == ["promoter"]
    assert trailer(bare, tip, "Source-repository") == ["https://github.com/acme/web"]
    assert trailer(bare, tip, "Source-commit") == [sha]
    assert trailer(bare, tip, "Pipeline-url") == ["https://github.com/acme/web/actions/runs/4242"]


def test_promote_server_without_filter_full_fetch_works(
    promoter: Promoter, srv_root: Path, bare: Path
) -> None:
    before = rev(bare, "main")
    with GitHttpServer(srv_root, token=TOKEN, allow_filter=False) as server:
        url = server.repo_url("config.git")
        report = promoter.run("--config-repo", url, *STAGING_ARGS, "--output", "json").ok().json()
    assert server.errors == []
    assert_staging_promoted(bare, before)
    stats = report["stats"]
    assert stats["notes"] == ["server does not support partial clone; fetched the full tip"]


def test_promote_dry_run_url_prints_diff_pushes_nothing(
    promoter: Promoter, bare: Path, url: str, server: GitHttpServer
) -> None:
    before = refs(bare)
    run = promoter.run("--config-repo", url, *STAGING_ARGS, "--dry-run").ok()
    changed = [line for line in STAGING_DIFF if line.startswith(("-  ", "+  "))]
    assert len(changed) == 4
    assert set(changed) <= set(run.stdout.splitlines())
    assert f"+++ b/{STAGING_KUSTOMIZATION}" in run.stdout
    assert "dry run: 2 change(s) in 2 file(s); nothing written" in run.stdout
    assert refs(bare) == before
    assert not any("receive-pack" in f"{r.path}?{r.query}" for r in server.requests)
    assert promoter.leftovers() == []


HOOK_REJECTS = "echo 'policy: pushes to main are closed' >&2\nexit 1\n"


def test_promote_push_hook_rejection_fails_once(
    promoter: Promoter, bare: Path, url: str, server: GitHttpServer
) -> None:
    add_hook(bare, "pre-receive", HOOK_REJECTS)
    before = refs(bare)
    run = promoter.run("--config-repo", url, *STAGING_ARGS)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("promote: error: ")
    assert "push" in lines[0]
    assert refs(bare) == before
    # A declined push is not a lost race: no retry.
    assert sum(r.path.endswith("/git-receive-pack") for r in server.requests) == 1
    assert promoter.leftovers() == []


def test_promote_push_hook_rejection_message_says_why(
    promoter: Promoter, bare: Path, url: str
) -> None:
    add_hook(bare, "pre-receive", HOOK_REJECTS)
    run = promoter.run("--config-repo", url, *STAGING_ARGS)
    assert run.returncode == 1, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert "pre-receive hook declined" in line or "pushes to main are closed" in line


@pytest.mark.parametrize(
    ("forge", "code", "says"), [("gitlab", 2, "https:// URL"), ("github", 1, "token")]
)
def test_promote_forge_unusable_for_pull_request_pushes_nothing(
    promoter: Promoter, bare: Path, forge: str, code: int, says: str
) -> None:
    before = refs(bare)
    run = promoter.run(
        "--config-repo", str(bare), "--forge", forge,
        "--env", "production", "--image", "ghcr.io/acme/web:1.5.0",
    )  # fmt: skip
    assert run.returncode == code, run.stderr
    assert says in run.stderr
    assert refs(bare) == before
