"""The token never leaks: not in any process's argv, output, temp files or the remote's config.

`PROMOTER_TOKEN` is a fresh random string per test, so finding it anywhere is a leak; the
base64 `x-access-token:<token>` form (what travels in the HTTP header) is searched too.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, Throttle

from .conftest import Promoter, add_hook, refs

STAGING_ARGS = ("--env", "staging", "--image", "ghcr.io/acme/web:1.5.0")


def forms(token: str) -> list[str]:
    """The token as typed and as it travels in a basic-auth header."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return [token, basic]


def assert_absent(token: str, text: str, where: str) -> None:
    for form in forms(token):
        assert form not in text, f"token leaked into {where}"


def files_under(root: Path, *, skip: tuple[str, ...] = ()) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and not any(p in skip for p in path.parts):
            yield path


class ArgvWatcher(threading.Thread):
    """Polls every process's `/proc/<pid>/cmdline` about every 2 ms while a run is going.

    Records any argv holding one of `needles` (from any process, not just ours) and every
    argv of a `git` process in `session` (the run's own session, so the check can fail).
    """

    def __init__(self, needles: list[str]) -> None:
        super().__init__(daemon=True)
        self.needles = [n.encode() for n in needles]
        self.session: int | None = None
        self.leaks: list[list[str]] = []
        self.git_argvs: set[tuple[str, ...]] = set()
        self.env_config: set[str] = set()
        """`GIT_CONFIG_KEY_n` of session git processes whose value holds a needle."""
        self._read_env: set[str] = set()
        self.scans = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.scan()
            self._stop_event.wait(0.002)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def scan(self) -> None:
        self.scans += 1
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    raw = handle.read()
            except OSError:  # gone (or not ours to read)
                continue
            if not raw:
                continue
            argv = [a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0")]
            if any(needle in raw for needle in self.needles):
                self.leaks.append(argv)
            if os.path.basename(argv[0]).startswith("git") and self._in_session(pid):
                self.git_argvs.add(tuple(argv))
                if pid not in self._read_env:
                    self._read_env.add(pid)
                    self._read_config(pid)

    def _read_config(self, pid: str) -> None:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                raw = handle.read()
        except OSError:
            return
        env = dict(item.partition(b"=")[::2] for item in raw.split(b"\0") if item)
        for name, value in env.items():
            if name.startswith(b"GIT_CONFIG_VALUE_") and any(n in value for n in self.needles):
                key = env.get(name.replace(b"VALUE", b"KEY"), b"?")
                self.env_config.add(key.decode("utf-8", "replace"))

    def _in_session(self, pid: str) -> bool:
        if self.session is None:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            return False
        fields = stat.rpartition(b")")[2].split()  # state ppid pgrp session ...
        return len(fields) > 3 and int(fields[3]) == self.session


@pytest.fixture
def token() -> str:
    return f"tok{secrets.token_hex(16)}"


@pytest.mark.timeout(120)
def test_promote_http_run_token_never_in_argv(
    promoter: Promoter,
    srv_root: Path,
    bare: Path,
    token: str,
    report_numbers: Callable[[str], None],
) -> None:
    before = refs(bare)
    promoter.token = token
    watcher = ArgvWatcher(forms(token))
    watcher.start()
    throttle = Throttle(bandwidth=5e6, rtt=0.05)
    try:
        with GitHttpServer(srv_root, token=token, throttle=throttle) as server:
            url = server.repo_url("config.git")
            # git's argv and env config are what this watches: the git transport, pinned
            # (the direct one is tests/e2e/test_direct_promotion.py's ArgvWatcher test).
            git = {"PROMOTER_TRANSPORT": "git"}
            proc = promoter.popen("--config-repo", url, *STAGING_ARGS, env=git)
            watcher.session = proc.pid
            stdout, stderr = proc.communicate(timeout=100)
    finally:
        watcher.stop()
    assert proc.returncode == 0, stderr
    assert refs(bare) != before  # the run really went through the authenticated remote
    assert watcher.leaks == []
    network = [argv for argv in watcher.git_argvs if any(url in a for a in argv)]
    assert network, f"no git process seen talking to {url}: {sorted(watcher.git_argvs)}"
    assert watcher.scans > 50
    # The token did travel, as an origin-scoped header in git's env-only config.
    assert watcher.env_config == {f"http.{server.url}/.extraHeader"}
    assert_absent(token, stdout + stderr, "output")
    report_numbers(f"argv watcher: {watcher.scans} scans, {len(watcher.git_argvs)} git argvs")


def _scenario(
    name: str, promoter: Promoter, srv_root: Path, bare: Path, token: str
) -> tuple[str, ...]:
    """Arrange one failure (or success) path; returns the promote arguments."""
    if name == "wrong-token":
        promoter.token = "not-" + token
        return STAGING_ARGS
    if name == "hook-rejects":
        add_hook(bare, "pre-receive", "echo 'policy: pushes to main are closed' >&2\nexit 1\n")
        return STAGING_ARGS
    if name == "unknown-env":
        return ("--env", "nowhere", "--image", "ghcr.io/acme/web:1.5.0")
    return STAGING_ARGS


EXPECTED_EXIT = {
    "success": 0,
    "wrong-token": 1,
    "hook-rejects": 1,
    "unknown-env": 2,
    "url-credentials": 2,
}
EXPECTED_MESSAGE = {
    "wrong-token": "credentials",
    "hook-rejects": "push",
    "unknown-env": "nowhere",
    "url-credentials": "must not contain credentials",
}


CASES = [
    *((scenario, output) for scenario in EXPECTED_EXIT for output in ("text", "json")),
    *((scenario, "debug") for scenario in EXPECTED_MESSAGE),
    *((scenario, "git-trace") for scenario in ("wrong-token", "hook-rejects")),
]


@pytest.mark.parametrize(("scenario", "output"), CASES)
def test_promote_token_never_in_output_files_or_remote(
    promoter: Promoter,
    srv_root: Path,
    bare: Path,
    token: str,
    scenario: str,
    output: str,
) -> None:
    server_token = token
    promoter.token = token
    args = _scenario(scenario, promoter, srv_root, bare, token)
    leaked = promoter.token  # what the run holds: the one secret that must not come out
    assert leaked is not None
    extra: list[str] = []
    env: dict[str, str] = {}
    if output == "json":
        extra = ["--output", "json"]
    elif output == "debug":
        extra = ["--debug"]
    elif output == "git-trace":  # a user debugging git itself: traces go to git's stderr
        extra = ["--debug"]
        env = {"GIT_TRACE": "1", "GIT_CURL_VERBOSE": "1", "GIT_TRACE_PACKET": "1"}
    with GitHttpServer(srv_root, token=server_token) as server:
        target = server.repo_url("config.git")
        if scenario == "url-credentials":  # the user's mistake; promoter must not echo it
            target = target.replace("http://", f"http://x-access-token:{token}@")
        run = promoter.run("--config-repo", target, *args, *extra, env=env)
    assert server.errors == []
    assert run.returncode == EXPECTED_EXIT[scenario], run.stderr
    if scenario != "success":
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("promote: error: ")
        assert EXPECTED_MESSAGE[scenario] in last
        if output not in {"debug", "git-trace"}:
            assert "Traceback" not in run.stderr
        if output == "json":
            report = run.json()
            assert report["status"] == "error"
            assert_absent(leaked, str(report["error"]), "JSON error")
    elif output == "json":
        assert run.json()["status"] == "changed"
    assert_absent(leaked, run.stdout, "stdout")
    assert_absent(leaked, run.stderr, "stderr")
    assert promoter.leftovers() == []
    for path in files_under(promoter.tmpdir):
        assert_absent(leaked, path.read_text(errors="replace"), str(path))
    assert_absent(leaked, (bare / "config").read_text(), "the remote's config")
    for path in files_under(bare, skip=("objects",)):
        assert_absent(leaked, path.read_text(errors="replace"), str(path))
    for path in files_under(Path(os.environ["HOME"])):
        assert_absent(leaked, path.read_text(errors="replace"), str(path))
