"""SIGKILL at each stage of a run, then a plain rerun: the remote ends as after one clean run.

A throttled server (0.2 s per request) makes each stage long enough to hit: the clone, the
moment the push starts, and the middle of a push (a `pre-receive` hook that sleeps). The
whole process group is killed, so no git child survives to finish the job. Reruns go
through an unthrottled server on the same repositories.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, Request, Throttle

from .conftest import TOKEN, Promoter, add_hook, git, refs, rev

STAGING_ARGS = ("--env", "staging", "--image", "ghcr.io/acme/web:1.5.0")
SLOW = Throttle(bandwidth=5e6, rtt=0.2)


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """Poll (bounded) until `condition`; fail if the run ends first."""
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"run ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def seen(server: GitHttpServer, method: str, service: str) -> Callable[[], bool]:
    def check() -> bool:
        requests: list[Request] = list(server.requests)
        return any(
            r.method == method and (r.path.endswith(service) or service in r.query)
            for r in requests
        )

    return check


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory, fixture_template: Path) -> str:
    """main's tree after one uninterrupted run (on a private copy, over a bare path)."""
    root = tmp_path_factory.mktemp("clean")
    bare = root / "config.git"
    shutil.copytree(fixture_template, bare, symlinks=True)
    tmp = root / "tmp"
    tmp.mkdir()
    Promoter(tmp, token=None).run("--config-repo", str(bare), *STAGING_ARGS).ok()
    return rev(bare, "main^{tree}")


def assert_converged(bare: Path, before: str, clean_tree: str) -> None:
    """One promotion commit on the old tip, the clean run's tree, no stray refs, fsck clean."""
    assert rev(bare, "main^{tree}") == clean_tree
    assert git(bare, "rev-list", "--count", f"{before}..main").strip() == "1"
    assert rev(bare, "main~1") == before
    assert set(refs(bare)) == {"refs/heads/main"}
    fsck = subprocess.run(
        ["git", "fsck", "--full", "--strict"],
        cwd=bare,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert fsck.returncode == 0, fsck.stderr
    problems = [
        line
        for line in (fsck.stdout + fsck.stderr).splitlines()
        if line.startswith(("error", "missing", "broken", "bad", "warning"))
    ]
    assert problems == []


def rerun(promoter: Promoter, srv_root: Path) -> str:
    """The same promotion with no faults; returns its status.

    SIGKILL leaves the killed run's temporary clone in TMPDIR; the rerun must not mind it,
    and must clean up its own.
    """
    stale = promoter.leftovers()
    assert len(stale) <= 1
    with GitHttpServer(srv_root, token=TOKEN) as server:
        args = ("--config-repo", server.repo_url("config.git"), *STAGING_ARGS)
        report = promoter.run(*args, "--output", "json").ok().json()
    assert server.errors == []
    assert promoter.leftovers() == stale
    status = report["status"]
    assert isinstance(status, str)
    return status


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stage", ["clone", "push-start"])
def test_promote_sigkill_before_push_rerun_converges(
    promoter: Promoter, srv_root: Path, bare: Path, clean_tree: str, stage: str
) -> None:
    before = rev(bare, "main")
    # git's transport asks receive-pack's advertisement right before pushing, which makes
    # it the signal; the direct one asks it ahead, alongside the reads.
    env = {"PROMOTER_TRANSPORT": "git"} if stage == "push-start" else None
    with GitHttpServer(srv_root, token=TOKEN, throttle=SLOW) as server:
        url = server.repo_url("config.git")
        proc = promoter.popen("--config-repo", url, *STAGING_ARGS, env=env)
        if stage == "clone":
            wait_until(seen(server, "POST", "/git-upload-pack"), proc, "the first fetch")
        else:  # the commit exists locally; the ref advertisement for the push was asked for
            wait_until(seen(server, "GET", "service=git-receive-pack"), proc, "the push")
        kill_group(proc)
        assert not seen(server, "POST", "/git-receive-pack")()
    assert refs(bare) == {"refs/heads/main": before}  # nothing landed
    assert rerun(promoter, srv_root) == "changed"
    assert_converged(bare, before, clean_tree)


@pytest.mark.timeout(120)
def test_promote_sigkill_mid_push_landed_rerun_unchanged(
    promoter: Promoter, srv_root: Path, bare: Path, clean_tree: str, tmp_path: Path
) -> None:
    before = rev(bare, "main")
    marker = tmp_path / "receiving"
    hook = add_hook(bare, "pre-receive", f"touch '{marker}'\nsleep 2\n")
    with GitHttpServer(srv_root, token=TOKEN, throttle=SLOW) as server:
        proc = promoter.popen("--config-repo", server.repo_url("config.git"), *STAGING_ARGS)
        wait_until(marker.exists, proc, "the pre-receive hook")
        kill_group(proc)
        hook.unlink()
        # The server already holds the whole pack: the push completes without its client.
        wait_for(seen(server, "POST", "/git-receive-pack"), "the killed push to finish")
    assert rev(bare, "main") != before  # the killed run's push landed
    assert rerun(promoter, srv_root) == "unchanged"
    assert_converged(bare, before, clean_tree)


@pytest.mark.timeout(120)
def test_promote_sigkill_mid_push_immediate_rerun_converges(
    promoter: Promoter,
    srv_root: Path,
    bare: Path,
    clean_tree: str,
    tmp_path: Path,
    report_numbers: Callable[[str], None],
) -> None:
    """The rerun races the killed push still sitting in its hook: either may win."""
    before = rev(bare, "main")
    marker = tmp_path / "receiving"
    hook = add_hook(bare, "pre-receive", f"touch '{marker}'\nsleep 2\n")
    with GitHttpServer(srv_root, token=TOKEN, throttle=SLOW) as server:
        proc = promoter.popen("--config-repo", server.repo_url("config.git"), *STAGING_ARGS)
        wait_until(marker.exists, proc, "the pre-receive hook")
        kill_group(proc)
        hook.unlink()
        status = rerun(promoter, srv_root)  # while the killed push is still in flight
        wait_for(seen(server, "POST", "/git-receive-pack"), "the killed push to finish")
    assert status in {"changed", "unchanged"}
    assert_converged(bare, before, clean_tree)
    report_numbers(f"crash: rerun during the killed push: {status}")
