"""End-to-end scenarios: the real `promote` script as a subprocess, real git, real remotes.

Remotes are bare repositories in `tmp_path`, served over loopback smart HTTP by
`fakes.githttp` (token auth) or reached as `file://` URLs and paths. Each run gets its own
`TMPDIR`, so a test can check that promoter left no temporary clone (or secret) behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FIXTURE = ROOT / "promoter" / "demo_repo"
TOKEN = "s3cret-e2e-token"
BOT = "promoter[bot] <promoter[bot]@users.noreply.github.com>"
PROMOTE_TIMEOUT = 120.0
_NUMBERS: list[str] = []
"""Measurements tests report (attempts, wall time), shown in the terminal summary."""


def fixture_files(source: Path = CONFIG_FIXTURE) -> dict[str, bytes]:
    """Every file of a directory tree, by POSIX relative path."""
    return {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file()
    }


def git(repo: Path, *args: str) -> str:
    """Plain git on a test repository (never promoter's wrapper); returns stdout."""
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def rev(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", "--verify", "--quiet", ref).strip()


def refs(repo: Path) -> dict[str, str]:
    """Every ref of a repository: name → oid."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    pairs = (line.partition(" ") for line in out.splitlines())
    return {name: oid for name, _, oid in pairs}


def show(repo: Path, ref: str, path: str) -> str:
    return git(repo, "show", f"{ref}:{path}")


def touched(repo: Path, commit: str) -> list[str]:
    """Files a (non-merge) commit changes relative to its parent."""
    return git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split()


def diff_lines(repo: Path, commit: str) -> list[str]:
    """A commit's `-U0` patch without `index` lines (blob ids carry no extra meaning)."""
    patch = git(repo, "show", "--format=", "-U0", commit)
    return [line for line in patch.splitlines() if not line.startswith("index ")]


def add_hook(bare: Path, name: str, script: str) -> Path:
    hook = bare / "hooks" / name
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)
    return hook


@dataclass
class Run:
    """One finished `promote` run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The one JSON object on stdout (`--output json`)."""
        try:
            report = json.loads(self.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"not one JSON object on stdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        assert isinstance(report, dict)
        return report

    def ok(self) -> Run:
        assert self.returncode == 0, f"exit {self.returncode}\n{self.stdout}\n{self.stderr}"
        return self


@dataclass
class Promoter:
    """Runs `python -m promoter` with the scrubbed test env plus a token and its own TMPDIR."""

    tmpdir: Path
    token: str | None = TOKEN

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["TMPDIR"] = str(self.tmpdir)
        if self.token is not None:
            env["PROMOTER_TOKEN"] = self.token
        env.update(extra or {})
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "promoter", *args]

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = PROMOTE_TIMEOUT,
    ) -> Run:
        done = subprocess.run(
            self.argv(*args),
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.tmpdir,
        )
        return Run(tuple(args), done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a run in its own session (so its whole process group can be killed)."""
        return subprocess.Popen(
            self.argv(*args),
            env=self.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.tmpdir,
            start_new_session=True,
        )

    def leftovers(self) -> list[str]:
        """promoter's temporary directories still in TMPDIR (a clean run leaves none)."""
        return sorted(p.name for p in self.tmpdir.iterdir() if p.name.startswith("promoter-"))


@pytest.fixture(scope="session")
def fixture_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture config repo as a bare repository, built once per worker and copied."""
    root = tmp_path_factory.mktemp("template")
    return make_bare_repo(root, "config.git", fixture_files())


@pytest.fixture
def srv_root(tmp_path: Path, fixture_template: Path) -> Path:
    """Directory served over HTTP; holds `config.git`, a fresh copy of the fixture repo."""
    root = tmp_path / "srv"
    root.mkdir()
    shutil.copytree(fixture_template, root / "config.git", symlinks=True)
    return root


@pytest.fixture
def bare(srv_root: Path) -> Path:
    return srv_root / "config.git"


@pytest.fixture
def server(srv_root: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(srv_root, token=TOKEN) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def url(server: GitHttpServer) -> str:
    return server.repo_url("config.git")


@pytest.fixture
def promoter(tmp_path: Path) -> Promoter:
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir()
    return Promoter(tmpdir)


@pytest.fixture
def report_numbers(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Print a measurement and carry it to the summary (xdist workers' prints are dropped)."""

    def report(line: str) -> None:
        print(f"\n{line}")
        record_property("e2e-numbers", line)

    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _NUMBERS.extend(str(v) for k, v in report.user_properties if k == "e2e-numbers")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NUMBERS:
        terminalreporter.section("e2e numbers")
        for line in _NUMBERS:
            terminalreporter.write_line(line)


def run_on_github(tmp_path: Path, github: Any, token: str, *args: str) -> Run:
    """`promote` (or a subcommand, named first in `args`) against the fake GitHub's
    acme/config, GitHub forge, no write pacing; the repository options go before it."""
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir(exist_ok=True)
    return Promoter(tmpdir, token=token).run(
        "--config-repo", github.git_url("acme", "config"), "--forge", "github",
        "--api-url", github.api_url, *args, env={"PROMOTER_GITHUB_WRITE_INTERVAL": "0"},
    )  # fmt: skip
