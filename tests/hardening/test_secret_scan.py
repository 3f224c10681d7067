"""Issue 19: a recognisable token, scanned for everywhere a run can leave it: zero hits.

The token (`ghs_SECRETSCAN…`, unique per test so a parallel worker's watcher cannot see
another test's) drives the real `promote` through its commands and failure paths against
the fake GitHub and the loopback git server: a pull-request promotion that is later closed
with a comment, `--dry-run`, `--output json`, `--no-clone`, `status` in every output, `plan`
as a GitHub matrix and a GitLab pipeline, `why`, a push the server refuses (403) or fails
once (500), a revoked token, `--debug` on a failure, and `--config-repo` (or
PROMOTER_CONFIG_REPO) holding the token in its URL.

Each run is watched and then scanned, for the token and its base64 forms (the basic-auth
header `x-access-token:<token>`, and the token's base64 at each alignment, so it is found
inside any longer base64 text):

- stdout and stderr (the one sanctioned line is the Actions runner's `::add-mask::<token>`);
- every process's argv while the run goes (`e2e.test_secrets.ArgvWatcher`, polling /proc),
  every argv of every git that promoter starts (a `git` shim first on PATH logs them all,
  however short-lived), and which `GIT_CONFIG_*` entry of git's env holds the token;
- every file under TMPDIR while the run goes (its clone's `.git/config` included) and after;
  HOME; `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and `$PROMOTER_DOTENV` (GITHUB_ACTIONS=true);
- the remote: its files outside `objects/`, every object's content, every commit message
  (`git log --all --format=%B`) and ref; the fake GitHub's pull requests (titles, bodies,
  labels, comments), every REST request promoter sent (path, query, JSON body) and every git
  request line the servers saw.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import Promoter, Run, fixture_files, git
from e2e.test_secrets import ArgvWatcher, files_under, forms
from fakes.githttp import GitHttpServer
from fakes.github import FakeGitHub

WEB = "ghcr.io/acme/web"
RUN_TIMEOUT = 120.0


@pytest.fixture
def token() -> str:
    """Recognisable, and unique per test: watchers in parallel workers see every process."""
    return f"ghs_SECRETSCAN{secrets.token_hex(8)}"


def needles(token: str) -> list[str]:
    """The token as typed, its basic-auth header value, and the base64 of the token at each
    of the three byte alignments (only the characters that depend on the token alone)."""
    found = dict.fromkeys(forms(token))
    raw = token.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        first = -(-shift // 3)  # the first 3-byte group wholly inside the token
        last = (shift + len(raw)) // 3  # one past the last such group
        found[encoded[first * 4 : last * 4]] = None
    return list(found)


@dataclass
class Scan:
    """Hits (where, and the text around the token with the token replaced) and what was read."""

    token: str
    needles: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    places: int = 0

    def __post_init__(self) -> None:
        self.needles = needles(self.token)

    def text(self, where: str, text: str) -> None:
        self.places += 1
        for needle in self.needles:
            start = text.find(needle)
            if start >= 0:
                around = text[max(0, start - 60) : start + len(needle) + 60]
                self.hits.append(f"{where}: …{around.replace(needle, '<TOKEN>')!r}…")

    def file(self, where: str, path: Path) -> None:
        with contextlib.suppress(OSError):  # removed while the run goes
            self.text(where, path.read_bytes().decode("utf-8", "replace"))

    def tree(self, where: str, root: Path, *, skip: tuple[str, ...] = ()) -> None:
        if root.is_dir():
            for path in files_under(root, skip=skip):
                self.file(f"{where}/{path.relative_to(root)}", path)

    def remote(self, bare: Path) -> None:
        """A bare repository: every file but packed objects, every object, commits, refs."""
        self.tree(f"remote {bare.name}", bare, skip=("objects",))
        self.text(f"remote {bare.name}: commit messages", git(bare, "log", "--all", "--format=%B"))
        people = git(bare, "log", "--all", "--format=%an %ae %cn %ce")
        self.text(f"remote {bare.name}: authors", people)
        self.text(f"remote {bare.name}: refs", git(bare, "for-each-ref", "--format=%(refname)"))
        objects = subprocess.run(
            ["git", "cat-file", "--batch-all-objects", "--batch"],
            cwd=bare, capture_output=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        self.text(f"remote {bare.name}: objects", objects.decode("utf-8", "replace"))

    def github(self, fake: FakeGitHub) -> None:
        """What the fake GitHub holds and what promoter sent it."""
        for (owner, name), pulls in fake.pulls.items():
            for pull in pulls:
                where = f"{owner}/{name}#{pull.number}"
                self.text(f"{where} title", pull.title)
                self.text(f"{where} body", pull.body or "")
                self.text(f"{where} labels", " ".join(pull.labels))
                for comment in pull.comments:
                    self.text(f"{where} comment {comment.id}", comment.body)
        for call in fake.calls:
            sent = json.dumps(call.request_json)
            self.text(f"REST {call.method} {call.path}", f"{call.path}?{call.query} {sent}")
        self.requests("git requests to the fake GitHub", fake.git_requests)

    def requests(self, where: str, requests: Sequence[Any]) -> None:
        self.text(where, "\n".join(f"{r.method} {r.path}?{r.query}" for r in requests))


class RunWatcher(ArgvWatcher):
    """`ArgvWatcher` (every process's argv; session git processes' env config), every 10 ms
    as it shares 2 cores with the run, plus each file the run writes under its TMPDIR, read
    while it exists (the temporary clone is gone when the run ends)."""

    def __init__(self, needles: list[str], tmpdir: Path) -> None:
        super().__init__(needles)
        self.tmpdir = tmpdir
        self.file_leaks: set[str] = set()
        self.git_configs: set[str] = set()
        """Repository config files seen in TMPDIR (so a clone was there to be read)."""
        self._seen: set[tuple[str, int, int]] = set()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.scan()
            self.scan_tmpdir()
            self._halt.wait(0.01)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def scan_tmpdir(self) -> None:
        for directory, dirs, names in os.walk(self.tmpdir):  # walk ignores vanishing dirs
            dirs[:] = [d for d in dirs if d != "objects"]
            for name in names:
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                    key = (path, info.st_mtime_ns, info.st_size)
                    if key in self._seen or info.st_size > 1 << 20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                self._seen.add(key)
                relative = os.path.relpath(path, self.tmpdir)
                if name == "config" and os.path.isfile(os.path.join(directory, "HEAD")):
                    self.git_configs.add(relative)
                if any(needle in data for needle in self.needles):
                    self.file_leaks.add(relative)


def git_shim(directory: Path) -> tuple[Path, Path]:
    """A `git` first on PATH that appends its argv to a log, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    directory.mkdir()
    log = directory / "argv.log"
    shim = directory / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return directory, log


@dataclass
class Session:
    """Runs `promote` again and again in one test, watching and scanning each run."""

    tmp_path: Path
    token: str
    scan: Scan
    origin: str = ""
    """The git origin (`http://127.0.0.1:port`) whose extraHeader may carry the token."""
    runs: int = 0
    git_runs: int = 0
    masks: int = 0

    def __post_init__(self) -> None:
        self.shim, self.git_log = git_shim(self.tmp_path / "shim")
        self.ci = self.tmp_path / "ci"
        self.ci.mkdir()

    def ci_env(self) -> dict[str, str]:
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.ci / "github-output"),
            "GITHUB_STEP_SUMMARY": str(self.ci / "step-summary.md"),
            "PROMOTER_DOTENV": str(self.ci / "promote.env"),
            "PROMOTER_GITHUB_WRITE_INTERVAL": "0",
            "PATH": f"{self.shim}{os.pathsep}{os.environ['PATH']}",
            # The scan reads the git CLI's own traces (argv, env config, its clone); the
            # direct transport's token hygiene is tests/e2e/test_direct_promotion.py's.
            "PROMOTER_TRANSPORT": "git",
        }

    def run(
        self,
        *args: str,
        code: int,
        env: Mapping[str, str] | None = None,
        token_in_argv: bool = False,
    ) -> Run:
        """One watched run; `token_in_argv`: the user typed the token into promote's own
        argv (a URL with credentials), which must go no further than that process."""
        self.runs += 1
        label = f"run {self.runs} ({' '.join(a for a in args if self.token not in a)})"
        tmpdir = self.tmp_path / f"run-{self.runs}"
        tmpdir.mkdir()
        logged = self.git_log.stat().st_size if self.git_log.exists() else 0
        watcher = RunWatcher(self.scan.needles, tmpdir)
        watcher.start()
        try:
            proc = Promoter(tmpdir, token=self.token).popen(
                *args, env={**self.ci_env(), **(env or {})}
            )
            watcher.session = proc.pid
            stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
        finally:
            watcher.stop()
        run = Run(tuple(args), proc.returncode, stdout, stderr)
        assert run.returncode == code, f"{label}: exit {run.returncode}\n{stdout}\n{stderr}"
        self._streams(label, run)
        leaks = dict.fromkeys(tuple(argv) for argv in watcher.leaks)  # once per process
        if token_in_argv:  # the user's own promote process holds it; no child may
            leaks = {argv: None for argv in leaks if argv[1:3] != ("-m", "promoter")}
        for argv in leaks:
            self.scan.hits.append(f"{label}: argv of {os.path.basename(argv[0])}: {argv[1:4]}")
        for name in sorted(watcher.file_leaks):
            self.scan.hits.append(f"{label}: TMPDIR file while running: {name}")
        unexpected = watcher.env_config - {f"http.{self.origin}/.extraHeader"}
        for key in sorted(unexpected):
            self.scan.hits.append(f"{label}: git env config {key}")
        if self.git_log.exists() and self.git_log.stat().st_size > logged:
            self.git_runs += 1
            with self.git_log.open("rb") as handle:
                handle.seek(logged)
                self.scan.text(f"{label}: git argv", handle.read().decode("utf-8", "replace"))
            if code == 0:
                assert watcher.git_configs, f"{label}: the watcher saw no clone to read"
        self.scan.tree(f"{label}: TMPDIR", tmpdir)
        assert not any(p.name.startswith("promoter-") for p in tmpdir.iterdir()), label
        return run

    def _streams(self, label: str, run: Run) -> None:
        mask = f"::add-mask::{self.token}"
        for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            lines = text.splitlines()
            self.masks += lines.count(mask)  # the runner consumes it; never shown
            self.scan.text(f"{label}: {name}", "\n".join(line for line in lines if line != mask))

    def finish(self) -> None:
        """What outlives the runs: CI output files and HOME (git's global config)."""
        self.scan.tree("CI outputs", self.ci)
        self.scan.tree("HOME", Path(os.environ["HOME"]))
        self.scan.text("git shim log", self.git_log.read_text() if self.git_log.exists() else "")


@pytest.fixture
def github(tmp_path: Path, token: str) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "gh", token=token, validate=False) as fake:
        fake.create_repo("acme", "config", fixture_files())
        yield fake
    assert fake.errors == []


@pytest.fixture
def session(tmp_path: Path, token: str, github: FakeGitHub) -> Session:
    return Session(tmp_path, token, Scan(token), origin=github.url)


def on_github(github: FakeGitHub, *args: str) -> tuple[str, ...]:
    """`run_on_github`'s arguments (the repository options before any subcommand); the
    session runs them itself to watch the process and set the CI environment."""
    return (
        "--config-repo", github.git_url("acme", "config"), "--forge", "github",
        "--api-url", github.api_url, *args,
    )  # fmt: skip


def assert_no_hits(scan: Scan) -> None:
    assert scan.places > 10, "the scan read (almost) nothing"
    assert scan.hits == [], "token found:\n" + "\n".join(scan.hits)


@pytest.mark.timeout(240)
def test_secret_scan_github_writes_leave_no_token(session: Session, github: FakeGitHub) -> None:
    production = ("--env", "production", "--image", f"{WEB}:1.5.0")
    session.run(*on_github(github, *production), code=0)
    session.run(*on_github(github, "--env", "production", "--image", f"{WEB}:1.5.1",
                           "--dry-run"), code=0)  # fmt: skip
    report = session.run(
        *on_github(github, "--env", "staging", "--image", f"{WEB}:1.5.0", "--output", "json"),
        code=0,
    ).json()
    assert report["status"] == "changed"
    session.run(*on_github(github, "--env", "staging", "--image", f"{WEB}:1.5.1",
                           "--no-clone"), code=0)  # fmt: skip
    # main gets the change by hand; the next run closes the PR with a comment of promoter's
    session.run(*on_github(github, *production, "--mode", "push", "--skip-ci"), code=0)
    session.run(*on_github(github, *production), code=0)
    (pull,) = github.pulls[("acme", "config")]
    assert pull.state == "closed"
    assert pull.comments, "no comment to scan"
    session.finish()
    session.scan.github(github)
    session.scan.remote(github.root / "acme" / "config.git")
    assert (session.ci / "github-output").read_text()
    assert (session.ci / "step-summary.md").read_text()
    assert (session.ci / "promote.env").read_text()
    assert session.masks >= 5  # each promote run asked the runner to mask the token
    assert session.git_runs >= 4
    assert_no_hits(session.scan)


@pytest.mark.timeout(240)
def test_secret_scan_github_read_commands_leave_no_token(
    session: Session, github: FakeGitHub
) -> None:
    for output in ("table", "markdown", "json", "html"):
        session.run(*on_github(github, "status", "--output", output), code=0)
    for output in ("github-matrix", "gitlab-pipeline"):
        session.run(*on_github(github, "plan", "--to", "production", "--all", "--output",
                               output), code=0)  # fmt: skip
    session.run(*on_github(github, "why", "--env", "staging", "--app", "web"), code=0)
    session.finish()
    session.scan.github(github)
    session.scan.remote(github.root / "acme" / "config.git")
    assert session.git_runs == 7
    assert_no_hits(session.scan)


@pytest.mark.timeout(240)
def test_secret_scan_github_failures_leave_no_token(session: Session, github: FakeGitHub) -> None:
    production = ("--env", "production", "--image", f"{WEB}:1.5.0")
    refused = {"message": "Resource not accessible by integration", "status": "403"}
    github.fail_next("POST", r"/pulls$", 403, body=refused)
    session.run(*on_github(github, *production, "--output", "json"), code=1)
    github.fail_next("POST", r"/pulls$", 403, body=refused)
    session.run(*on_github(github, *production, "--debug"), code=1)
    github.bad_credentials(revoked=True)
    for extra in ((), ("--output", "json"), ("--debug",)):
        session.run(*on_github(github, *production, *extra), code=1)
    session.run(*on_github(github, "status", "--output", "json"), code=1)
    session.finish()
    session.scan.github(github)
    session.scan.remote(github.root / "acme" / "config.git")
    assert_no_hits(session.scan)


class FaultyGitServer(GitHttpServer):
    """Answers `git-receive-pack` (its ref advertisement, or the push itself) with `status`
    and a body that echoes the request's Authorization header, as a proxy's error page
    might: what git makes of it must come out of promoter redacted."""

    def __init__(self, root: Path, *, token: str, status: int, post_only: bool, times: int):
        super().__init__(root, token=token)
        self.status, self.post_only, self.times = status, post_only, times
        self._header = threading.local()

    def authenticate(self, header: str | None) -> tuple[bool, str | None]:
        self._header.value = header or ""
        return super().authenticate(header)

    def run_backend(self, env: dict[str, str], body: bytes) -> tuple[bytes, bytes, int | None]:
        pushing = "git-receive-pack" in env["PATH_INFO"] + env["QUERY_STRING"]
        if pushing and self.times and (env["REQUEST_METHOD"] == "POST" or not self.post_only):
            self.times -= 1
            page = (
                f"Status: {self.status} Refused\r\nContent-Type: text/plain\r\n\r\n"
                f"refused; you sent Authorization: {self._header.value}\n"
            )
            return page.encode(), b"", 0
        return super().run_backend(env, body)


@pytest.mark.timeout(240)
def test_secret_scan_git_push_refused_or_failing_leaves_no_token(
    tmp_path: Path, token: str, srv_root: Path, bare: Path
) -> None:
    staging = ("--env", "staging", "--image", f"{WEB}:1.5.0")
    scan = Scan(token)
    with FaultyGitServer(srv_root, token=token, status=403, post_only=False, times=-1) as server:
        session = Session(tmp_path, token, scan, origin=server.url)
        url = server.repo_url("config.git")
        for extra in ((), ("--output", "json"), ("--debug",)):
            session.run("--config-repo", url, *staging, *extra, code=1)
        scan.requests("git requests (403)", server.requests)
    with FaultyGitServer(srv_root, token=token, status=500, post_only=True, times=1) as server:
        session.origin = server.url
        url = server.repo_url("config.git")
        report = session.run("--config-repo", url, *staging, "--output", "json", code=0).json()
        assert report["stats"]["attempts"] == 2  # the 500 was met, then retried
        scan.requests("git requests (500)", server.requests)
    session.finish()
    scan.remote(bare)
    assert session.git_runs == 4
    assert_no_hits(scan)


@pytest.mark.timeout(120)
def test_secret_scan_config_repo_url_with_token_is_refused_unechoed(
    session: Session, github: FakeGitHub, token: str
) -> None:
    """The user's mistake: the token inside `--config-repo` (https and the fake's http)."""
    staging = ("--env", "staging", "--image", f"{WEB}:1.5.0")
    urls = (
        f"https://x-access-token:{token}@github.com/acme/config.git",
        github.git_url("acme", "config").replace("http://", f"http://x-access-token:{token}@"),
    )
    for url in urls:
        for extra in ((), ("--output", "json"), ("--debug",)):
            run = session.run("--config-repo", url, *staging, *extra, code=2, token_in_argv=True)
            assert "credentials" in run.stderr
    session.run("--config-repo", urls[1], "status", "--output", "json", code=2, token_in_argv=True)
    session.run(*staging, code=2, env={"PROMOTER_CONFIG_REPO": urls[0]})
    assert github.git_requests == []  # refused before any request
    assert github.calls == []
    session.finish()
    assert session.git_runs == 0
    assert_no_hits(session.scan)


def test_needles_find_the_token_in_any_base64_alignment(token: str) -> None:
    """The scan's own check: the token base64-encoded after any prefix is found."""
    scan = Scan(token)
    for prefix in ("", "a", "ab", "abc", "user:", "x-access-token:"):
        scan.text(prefix, base64.b64encode(f"{prefix}{token}".encode()).decode())
    assert len(scan.hits) >= 6
    clean = Scan(token)
    clean.text("other", base64.b64encode(f"x-access-token:{token[:-1]}X".encode()).decode())
    clean.text("other", sys.version)
    assert clean.hits == []
