"""Loop simulation: a repository holding app and config, CI rounds that run promoter on its
newest commit the way an `on: push` workflow does, over the loopback git server.

Each round builds the GitHub push event of the newest commit (head commit, author,
committer, changed files, sender) and runs the real `promote` with it. Without guards this
is the classic GitOps commit loop: every round's bot commit triggers the next round.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

from .conftest import TOKEN, Promoter, git, rev

IMAGE = "ghcr.io/acme/web"
FILES = {
    "src/app.py": b"print('hello')\n",
    "docs/README.md": b"# web\n",
    "deploy/base/kustomization.yaml": b"resources:\n- deployment.yaml\n",
    "deploy/base/deployment.yaml": (
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        b"  template:\n    spec:\n      containers:\n      - name: web\n"
        b"        image: ghcr.io/acme/web:0.0.0\n"
    ),
    "deploy/dev/kustomization.yaml": (
        b"resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n  newTag: 0.0.0\n"
    ),
}
HUMAN = ("Mona Lisa", "mona@example.com")


@pytest.fixture
def mono(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path, Path]]:
    """(server, bare repository, a developer's working clone) of one app+config repo."""
    root = tmp_path / "srv"
    root.mkdir()
    bare = make_bare_repo(root, "web.git", FILES)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    with GitHttpServer(root, token=TOKEN) as server:
        yield server, bare, work
    assert server.errors == []


def _human_push(work: Path, path: str, text: str, message: str) -> None:
    git(work, "pull", "-q", "--ff-only")
    (work / path).write_text(text)
    who = ["-c", f"user.name={HUMAN[0]}", "-c", f"user.email={HUMAN[1]}"]
    git(work, *who, "-c", "commit.gpgSign=false", "commit", "-qam", message)
    git(work, "push", "-q", "origin", "HEAD:main")


def _event(bare: Path, commit: str, tmp: Path) -> dict[str, str]:
    """The env of a GitHub Actions run triggered by pushing `commit` (payload from git)."""
    fields = git(bare, "show", "-s", "--format=%an%x00%ae%x00%cn%x00%ce%x00%B", commit)
    author_name, author_email, committer_name, committer_email, message = fields.split("\0", 4)
    parent = git(bare, "rev-parse", f"{commit}^").strip()
    files = git(bare, "diff", "--name-only", parent, commit).split()
    bot = "Promoted-by: promoter" in message
    sender = "acme-promoter[bot]" if bot else "mona"
    head = {
        "id": commit,
        "message": message,
        "author": {"name": author_name, "email": author_email},
        "committer": {"name": committer_name, "email": committer_email},
        "added": [],
        "removed": [],
        "modified": files,
    }
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": parent,
        "after": commit,
        "commits": [head],
        "head_commit": head,
        "sender": {"login": sender, "type": "Bot" if bot else "User"},
    }
    path = tmp / f"event-{commit[:12]}.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_SHA": commit,
        "GITHUB_REPOSITORY": "acme/web",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1",
        "GITHUB_ACTOR": sender,
    }


def _round(
    promoter: Promoter, server: GitHttpServer, bare: Path, tmp: Path, *extra: str, code: int = 0
) -> dict[str, Any]:
    """One CI round: build (tag = the newest commit), then promote dev in push mode."""
    newest = rev(bare, "main")
    run = promoter.run(
        "--config-repo", server.repo_url("web.git"), "--env", "dev",
        "--image", f"{IMAGE}:{newest[:12]}", "--mode", "push", "--output", "json", *extra,
        env=_event(bare, newest, tmp),
    )  # fmt: skip
    assert run.returncode == code, run.stderr
    return run.json()


def _bot_commits(bare: Path) -> list[str]:
    log = git(bare, "log", "--format=%H%x00%B%x01", "main")
    return [e.split("\0")[0].strip() for e in log.split("\x01") if "Promoted-by: promoter" in e]


def test_loop_ten_rounds_make_one_bot_commit(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    server, bare, work = mono
    _human_push(work, "src/app.py", "print('hello, world')\n", "Say hello to the world")
    results = [_round(promoter, server, bare, tmp_path) for _ in range(10)]
    assert results[0]["status"] == "changed"
    assert len(_bot_commits(bare)) == 1
    for later in results[1:]:
        assert later["status"] == "skipped", later
        assert later["skipped"]["guard"] == "bot-author"
        assert (
            "Promoted-by: promoter" in later["skipped"]["reason"]
            or "promoter[bot]" in (later["skipped"]["reason"])
        )
        assert later["environments"][0]["status"] == "skipped"


def test_loop_without_guards_is_a_loop(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    """The control: with the guards bypassed every round adds a bot commit, and each says
    it was forced."""
    server, bare, work = mono
    _human_push(work, "src/app.py", "print('hello, world')\n", "Say hello to the world")
    results = [_round(promoter, server, bare, tmp_path, "--force") for _ in range(3)]
    assert [r["status"] for r in results] == ["changed"] * 3
    bot = _bot_commits(bare)
    assert len(bot) == 3
    message = git(bare, "show", "-s", "--format=%B", bot[0])
    assert "Promoter-guards: bypassed (--force)" in message


def test_loop_breaker_stops_a_forced_loop_at_five_commits(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    """Guards bypassed in a misconfigured pipeline: the circuit breaker still stops it."""
    server, bare, work = mono
    _human_push(work, "src/app.py", "print('hello, world')\n", "Say hello to the world")
    landed = [_round(promoter, server, bare, tmp_path, "--force") for _ in range(5)]
    assert [r["status"] for r in landed] == ["changed"] * 5
    tip = rev(bare, "main")
    for _ in range(2):
        stopped = _round(promoter, server, bare, tmp_path, "--force", code=1)
        assert stopped["error"]["type"] == "LoopError"
        assert "circuit breaker: 5 consecutive promoter commits" in stopped["error"]["message"]
    assert rev(bare, "main") == tip
    assert len(_bot_commits(bare)) == 5


def test_loop_push_touching_only_ignored_paths_is_skipped(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    server, bare, work = mono
    _human_push(work, "docs/README.md", "# web\n\nNow with docs.\n", "Document web")
    before = rev(bare, "main")
    ignored = _round(promoter, server, bare, tmp_path, "--ignore", "docs/**,deploy/**")
    assert ignored["status"] == "skipped"
    assert ignored["skipped"]["guard"] == "paths"
    assert "docs/README.md" in ignored["skipped"]["reason"]
    assert rev(bare, "main") == before
    watched = _round(promoter, server, bare, tmp_path, "--watch", "src/**")
    assert watched["skipped"]["guard"] == "paths"
    _human_push(work, "src/app.py", "print('hi')\n", "Shorter greeting [skip promote]")
    marked = _round(promoter, server, bare, tmp_path, "--watch", "src/**")
    assert marked["skipped"]["guard"] == "skip-marker"
    _human_push(work, "src/app.py", "print('hey')\n", "Even shorter")
    code = _round(promoter, server, bare, tmp_path, "--watch", "src/**", "--ignore", "docs/**")
    assert code["status"] == "changed"
    assert code["skipped"] is None
    assert len(_bot_commits(bare)) == 1


def test_loop_guard_command_answers_with_its_exit_code(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    server, bare, work = mono
    _human_push(work, "src/app.py", "print('hello, world')\n", "Say hello to the world")
    human = promoter.run("guard", env=_event(bare, rev(bare, "main"), tmp_path))
    assert human.returncode == 0, human.stderr
    assert json.loads(human.stdout) == {
        "schema_version": 1, "go": True, "guard": None, "reason": "no guard applies"
    }  # fmt: skip
    _round(promoter, server, bare, tmp_path)
    bot = promoter.run("guard", env=_event(bare, rev(bare, "main"), tmp_path))
    assert bot.returncode == 10, bot.stderr
    assert json.loads(bot.stdout)["guard"] == "bot-author"
    text = promoter.run(
        "--config-repo", server.repo_url("web.git"), "--env", "dev",
        "--image", f"{IMAGE}:9.9.9", "--mode", "push",
        env=_event(bare, rev(bare, "main"), tmp_path),
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("skipped (bot-author): the triggering commit is by promoter")
    assert "nothing promoted to dev" in text.stdout
    assert "--force" in text.stdout


CONFIGURED = b"""version: 1
environments:
  dev: {mode: push}
guards:
  ignore: ["deploy/**", "promoter.yaml"]
apps:
  web:
    image: ghcr.io/acme/web
    watch: ["src/**"]
    targets:
      dev: {kustomize: deploy/dev/kustomization.yaml}
"""


def test_loop_guards_from_promoter_yaml(tmp_path: Path, promoter: Promoter) -> None:
    """`guards:` and an app's `watch` in promoter.yaml apply without any flag."""
    root = tmp_path / "srv"
    root.mkdir()
    bare = make_bare_repo(root, "web.git", {**FILES, "promoter.yaml": CONFIGURED})
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    with GitHttpServer(root, token=TOKEN) as server:
        _human_push(work, "docs/README.md", "# web\n\nMore docs.\n", "Document web")
        docs = _round(promoter, server, bare, tmp_path)
        assert docs["status"] == "skipped"
        assert docs["skipped"]["guard"] == "paths"
        _human_push(work, "src/app.py", "print('hi')\n", "Greet")
        code = _round(promoter, server, bare, tmp_path)
        assert code["status"] == "changed"
        bot = _round(promoter, server, bare, tmp_path)
        assert bot["skipped"]["guard"] == "bot-author"
        assert len(_bot_commits(bare)) == 1
    assert server.errors == []


def test_loop_rerun_of_an_already_promoted_build_is_skipped(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter, tmp_path: Path
) -> None:
    """A pipeline re-run for a source commit whose build promoter already pushed to this
    environment (a rebuilt tag, say) is skipped; another environment is not."""
    server, bare, work = mono
    # Tags not read as versions: an all-digit sha prefix would make `N-rebuilt` a
    # pre-release of `N`, a downgrade (one run in ~250 failed that way).
    _human_push(work, "src/app.py", "print('hello, world')\\n", "Say hello to the world")
    human = rev(bare, "main")
    event = _event(bare, human, tmp_path)
    first = promoter.run(
        "--config-repo", server.repo_url("web.git"), "--env", "dev",
        "--image", f"{IMAGE}:sha-{human[:12]}", "--mode", "push", "--output", "json", env=event,
    )  # fmt: skip
    assert first.json()["status"] == "changed", first.stderr
    assert f"Source-commit: {human}" in git(bare, "show", "-s", "--format=%B", "main")
    rerun = promoter.run(
        "--config-repo", server.repo_url("web.git"), "--env", "dev",
        "--image", f"{IMAGE}:sha-{human[:12]}-rebuilt", "--mode", "push", "--output", "json",
        env=event,
    )  # fmt: skip
    report = rerun.json()
    assert rerun.returncode == 0, rerun.stderr
    assert report["status"] == "skipped"
    assert report["skipped"]["guard"] == "already-promoted"
    assert human[:12] in report["skipped"]["reason"]
    assert report["environments"][0]["skip_reason"].startswith("already-promoted: ")
    assert len(_bot_commits(bare)) == 1
    forced = promoter.run(
        "--config-repo", server.repo_url("web.git"), "--env", "dev",
        "--image", f"{IMAGE}:sha-{human[:12]}-rebuilt", "--mode", "push", "--output", "json",
        "--force", env=event,
    )  # fmt: skip
    assert forced.json()["status"] == "changed"
    assert len(_bot_commits(bare)) == 2


def test_loop_batch_of_other_builds_does_not_trip_the_breaker(
    mono: tuple[GitHttpServer, Path, Path], promoter: Promoter
) -> None:
    """Seven promotions of seven different builds in a row (a monorepo's services, say) are
    no loop: none was made for the commit before it."""
    server, bare, _ = mono
    for number in range(7):
        run = promoter.run(
            "--config-repo", server.repo_url("web.git"), "--env", "dev",
            "--image", f"{IMAGE}:1.{number}.0", "--mode", "push", "--output", "json",
            "--source-commit", f"{number:040x}", "--source-repo", "https://example.com/acme/web",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert run.json()["status"] == "changed"
    assert len(_bot_commits(bare)) == 7
