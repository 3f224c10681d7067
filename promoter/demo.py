"""`promote demo`: a real promotion into a throwaway repository, with no network at all.

Builds a bare remote from the config repository the package ships (`demo_repo`, package
data: a wheel, pipx or the container runs it too), then runs the same code path
a CI job runs (partial clone, edit, commit, push) four times: a push-mode promotion, the
same one again (the idempotent no-op), a pull-request-mode promotion to a branch, and a
newer tag that updates that branch in place.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import TargetNotFoundError
from promoter.promotion import PromoteRequest, RepositoryRef, Result, promote
from promoter.repo import run_git
from promoter.tree import Identity

FIXTURE = Path(__file__).resolve().parent / "demo_repo"
DEMO_IDENTITY = Identity("Demo Author", "demo@example.com")


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    command: str
    result: Result
    log: str


def run_demo(fixture: Path | None = None, keep: Path | None = None) -> Iterator[Step]:
    """Yield each step as it completes; the temporary repository is removed afterwards."""
    source = fixture or FIXTURE
    if not (source / "promoter.yaml").is_file():
        raise TargetNotFoundError(
            "demo config repository not found (reinstall promoter, or pass --fixture)",
            path=str(source),
        )
    workdir = Path(tempfile.mkdtemp(prefix="promoter-demo-"))
    try:
        remote = _make_remote(source, workdir)
        web, newer = "ghcr.io/acme/web:1.5.0", "ghcr.io/acme/web:1.5.1"
        steps = [
            ("Promote web 1.5.0 to staging (push mode)", "staging", web),
            ("The same promotion again: nothing to do", "staging", web),
            ("Promote web 1.5.0 to production (pull-request mode)", "production", web),
            ("A newer build, 1.5.1: the promotion branch is updated", "production", newer),
        ]
        for title, env, image in steps:
            result = promote(PromoteRequest(RepositoryRef(str(remote)), (env,), (image,)))
            command = f"promote --config-repo {remote} --env {env} --image {image}"
            yield Step(title, command, result, _log(remote))
        if keep is not None:
            shutil.copytree(remote, keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _make_remote(source: Path, workdir: Path) -> Path:
    tree = workdir / "seed"
    shutil.copytree(source, tree)
    environ = {
        "GIT_AUTHOR_NAME": DEMO_IDENTITY.name,
        "GIT_AUTHOR_EMAIL": DEMO_IDENTITY.email,
        "GIT_COMMITTER_NAME": DEMO_IDENTITY.name,
        "GIT_COMMITTER_EMAIL": DEMO_IDENTITY.email,
    }
    run_git(["init", "-q", "-b", "main"], cwd=tree)
    run_git(["add", "-A"], cwd=tree)
    run_git(["commit", "-q", "-m", "Initial config"], cwd=tree, environ=environ)
    remote = workdir / "config.git"
    run_git(["clone", "-q", "--bare", str(tree), str(remote)], cwd=workdir)
    return remote


def _log(remote: Path) -> str:
    out = run_git(["log", "--all", "--format=%h %<(24,trunc)%D %s", "-n", "6"], cwd=remote).stdout
    return out.decode("utf-8", "replace")
