"""`promote` over the direct smart-HTTP transport: what crossed the wire, end to end.

A push-mode promotion of one app in a wide repository (the benchmark's shape) is the
discovery (`info/refs` and `ls-refs` at once), the tip, the path below `apps/`,
receive-pack's advertisement and the push: five sequential exchanges, six requests. git's
own transport, pinned for the comparison, needs a discovery request per fetch.
"""

from __future__ import annotations

import secrets
import sys
from collections import Counter
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, Request, Throttle, sequential_exchanges

from .conftest import ROOT, TOKEN, Promoter, git, refs, rev
from .test_secrets import ArgvWatcher, assert_absent, forms

sys.path.insert(0, str(ROOT))
from benchmarks import configrepo

APPS = 60
APP = configrepo.benchmark_app(APPS)


@pytest.fixture(scope="module")
def wide_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return configrepo.generate(tmp_path_factory.mktemp("wide") / "config.git", APPS, 5)


def _kinds(requests: list[Request]) -> Counter[str]:
    return Counter(f"{r.method} {r.path.rsplit('/', 1)[-1]} {r.query}".strip() for r in requests)


def _promote(promoter: Promoter, url: str, transport: str) -> dict[str, object]:
    image = f"{configrepo.image_name(APP)}:2.0.0"
    args = ("--config-repo", url, "--env", "staging", "--image", image, "--mode", "push")
    run = promoter.run(*args, "--output", "json", env={"PROMOTER_TRANSPORT": transport})
    report = run.ok().json()
    assert report["status"] == "changed"
    stats = report["stats"]
    assert isinstance(stats, dict)
    return stats


@pytest.mark.parametrize("transport", ["auto", "git"])
def test_promote_push_over_direct_transport_is_four_round_trips(
    promoter: Promoter, tmp_path: Path, wide_template: Path, transport: str
) -> None:
    root = tmp_path / "srv"
    bare = root / "config.git"
    git(tmp_path, "clone", "-q", "--bare", str(wide_template), str(bare))
    before = rev(bare, "main")
    with GitHttpServer(root, token=TOKEN, throttle=Throttle(rtt=0.05)) as server:
        stats = _promote(promoter, server.repo_url("config.git"), transport)
        requests = list(server.requests)
    assert server.errors == []
    tip = rev(bare, "main")
    assert git(bare, "rev-list", "--parents", "-n", "1", tip).split() == [tip, before]
    changed = git(bare, "diff-tree", "-r", "--name-only", "--no-commit-id", tip).split()
    assert changed == [configrepo.overlay_path(APP, "staging")]
    assert 'newTag: "2.0.0"' in git(bare, "show", f"main:{changed[0]}")
    git(bare, "fsck", "--strict", "--no-dangling")
    assert all(r.auth_ok and r.status == 200 for r in requests)
    if transport == "auto":  # the direct path
        assert _kinds(requests) == {
            "GET refs service=git-upload-pack": 1,  # with ls-refs: one round trip
            "POST git-upload-pack": 3,  # ls-refs, the tip, the path below apps/
            "GET refs service=git-receive-pack": 1,
            "POST git-receive-pack": 1,
        }
        assert stats["git_calls"] == 6  # HTTP requests: no git process ran
        # discovery and ls-refs together; the tip; the path below apps/ while receive-pack's
        # advertisement is out (asked when the store opened); the push
        assert sequential_exchanges(requests) == 4
        assert stats["transport"] == "direct"
    else:
        assert _kinds(requests)["GET refs service=git-upload-pack"] == 2
        assert _kinds(requests)["GET refs service=git-receive-pack"] == 1
        assert len(requests) == 7
        assert sequential_exchanges(requests) == 7  # every git process discovers first
        assert stats["transport"] == "git (PROMOTER_TRANSPORT=git)"


def test_promote_lost_race_over_direct_transport_never_loses_an_update(
    promoter: Promoter, tmp_path: Path, wide_template: Path
) -> None:
    """A pre-receive hook moves the branch while the first push is in flight (another
    writer won): the push is refused, promoter re-reads the tip and lands on it."""
    root = tmp_path / "srv"
    bare = root / "config.git"
    git(tmp_path, "clone", "-q", "--bare", str(wide_template), str(bare))
    before = rev(bare, "main")
    who = ("-c", "user.name=Rival", "-c", "user.email=rival@example.com")
    rival = git(bare, *who, "commit-tree", "-p", before, "-m", "rival", f"{before}^{{tree}}")
    rival = rival.strip()
    marker = tmp_path / "raced"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; '
        # Outside the push's quarantine (git refuses ref updates inside it).
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES; "
        f"git update-ref refs/heads/main {rival} {before}; fi\n"
    )
    hook.chmod(0o755)
    with GitHttpServer(root, token=TOKEN) as server:
        stats = _promote(promoter, server.repo_url("config.git"), "auto")
        pushes = [r for r in server.requests if r.path.endswith("/git-receive-pack")]
    assert stats["attempts"] == 2
    assert len(pushes) == 2
    tip = rev(bare, "main")
    assert git(bare, "rev-list", "--parents", "-n", "1", tip).split() == [tip, rival]


@pytest.mark.timeout(120)
def test_promote_http_token_never_in_argv_on_the_direct_transport(
    promoter: Promoter, srv_root: Path, bare: Path
) -> None:
    """The direct path runs no git process near the remote: the token is only an HTTP
    header of promoter's own (test_secrets checks the git transport's env-only config)."""
    token = f"tok{secrets.token_hex(16)}"
    before = refs(bare)
    promoter.token = token
    watcher = ArgvWatcher(forms(token))
    watcher.start()
    try:
        with GitHttpServer(srv_root, token=token) as server:
            url = server.repo_url("config.git")
            proc = promoter.popen(
                "--config-repo", url, "--env", "staging", "--image", "ghcr.io/acme/web:1.5.0",
                env={"PROMOTER_TRANSPORT": "auto"},
            )  # fmt: skip
            watcher.session = proc.pid
            stdout, stderr = proc.communicate(timeout=100)
            requests = list(server.requests)
    finally:
        watcher.stop()
    assert proc.returncode == 0, stderr
    assert refs(bare) != before
    assert watcher.leaks == []
    assert watcher.scans > 10
    assert all(r.auth_ok for r in requests)
    for request in requests:
        assert_absent(token, f"{request.path}?{request.query}", "a URL")
    assert_absent(token, stdout + stderr, "output")
    assert [argv for argv in watcher.git_argvs if any(url in a for a in argv)] == []
    assert watcher.env_config == set()


def test_plan_all_reads_the_promotion_branches_once_not_per_app(
    promoter: Promoter, tmp_path: Path, wide_template: Path
) -> None:
    """`plan --all` predicts each app as the run would, which in pull-request mode reads
    its promotion branch: from the one listing the query made (in-flight), not one
    request per app. Zero-config, so every environment is in pull-request mode."""
    root = tmp_path / "srv"
    bare = root / "config.git"
    git(tmp_path, "clone", "-q", "--bare", str(wide_template), str(bare))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "rm", "-q", "promoter.yaml")
    for index in range(APPS):  # every app's staging ahead of production: all pending
        app = configrepo.app_name(index)
        path = work / configrepo.overlay_path(app, "staging")
        path.write_bytes(configrepo.kustomization(app, "staging", "9.9.9"))
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "zero")
    git(work, "push", "-q", "origin", "HEAD:main")
    with GitHttpServer(root, token=TOKEN) as server:
        url = server.repo_url("config.git")
        args = ("plan", "--to", "production", "--all", "--output", "json", "--config-repo", url)
        report = promoter.run(*args).ok().json()
        requests = list(server.requests)
    assert len(report["pending"]) == APPS  # a prediction per app, each reading its branch
    assert len(requests) <= 8, _kinds(requests)
