"""`ci.read_trigger` on real-shaped CI environments and event payloads (`fixtures/ci/`).

Each `<case>.env` is the variable set a runner gives a job (`{fixture}` stands for the
directory, `\\n` for a newline in a multi-line value); GitHub's `<case>.json` is the event
payload `GITHUB_EVENT_PATH` points at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.ci import Person, Trigger, read_trigger
from promoter.errors import ConfigError

CI = Path(__file__).resolve().parents[1] / "fixtures" / "ci"


def load(name: str) -> dict[str, str]:
    path = CI / f"{name}.env"
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value.replace("{fixture}", str(path.parent)).replace("\\n", "\n")
    return env


def test_trigger_fixtures_cover_every_event_kind() -> None:
    names = sorted(p.relative_to(CI).with_suffix("").as_posix() for p in CI.rglob("*.env"))
    assert names == [
        "github/pull_request_merged", "github/push", "github/push-bot", "github/schedule",
        "github/workflow_dispatch", "gitlab/merge_request_event", "gitlab/push",
        "gitlab/push-bot", "gitlab/schedule", "gitlab/web",
    ]  # fmt: skip


def test_trigger_github_push_lists_changed_files_of_every_commit() -> None:
    trigger = read_trigger(load("github/push"))
    assert trigger.system == "github"
    assert trigger.event == "push"
    assert trigger.commit == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert trigger.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert trigger.changed == ("src/health.py", "src/app.py", "docs/health.md", "README.md")
    assert trigger.message == "Document the health endpoint"
    assert trigger.author == Person("Mona Lisa", "mona@example.com")
    assert trigger.committer == Person("GitHub", "noreply@github.com")
    assert trigger.actors == ("octocat",)
    assert trigger.source.pipeline_url == "https://github.com/acme/web/actions/runs/7012345678"


def test_trigger_github_push_by_promoter() -> None:
    trigger = read_trigger(load("github/push-bot"))
    assert trigger.author == Person("promoter[bot]", "promoter[bot]@users.noreply.github.com")
    assert "Promoted-by: promoter" in (trigger.message or "").splitlines()
    assert trigger.actors == ("acme-promoter[bot]",)
    assert trigger.changed == ("deploy/dev/kustomization.yaml",)


@pytest.mark.parametrize("name", ["github/workflow_dispatch", "github/schedule"])
def test_trigger_github_events_without_a_push_know_no_files(name: str) -> None:
    trigger = read_trigger(load(name))
    assert trigger.event == name.split("/")[1]
    assert trigger.changed is None
    assert trigger.message is None
    assert trigger.commit is not None


def test_trigger_github_merged_pull_request_reads_title_and_body() -> None:
    trigger = read_trigger(load("github/pull_request_merged"))
    assert trigger.event == "pull_request"
    assert trigger.message == "Add caching [skip promote]\n\nCaches the catalogue for five minutes."
    assert trigger.actors == ("octocat",)
    assert trigger.changed is None


def test_trigger_github_push_of_twenty_commits_does_not_claim_to_know_the_files(
    tmp_path: Path,
) -> None:
    commits = ",".join(
        f'{{"id": "{i:040x}", "modified": ["src/f{i}.py"], "added": [], "removed": []}}'
        for i in range(20)
    )
    (tmp_path / "event.json").write_text(f'{{"before": "{1:040x}", "commits": [{commits}]}}')
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}
    trigger = read_trigger(env | {"GITHUB_EVENT_PATH": str(tmp_path / "event.json")})
    assert trigger.changed is None  # GitHub lists at most 20: more may be missing


@pytest.mark.parametrize("content", ["{not json", ""])
def test_trigger_github_bad_payload_is_a_clear_error(content: str, tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text(content)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH: not JSON"):
        read_trigger(env)


def test_trigger_github_missing_payload_is_a_clear_error(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(tmp_path / "gone.json")}
    with pytest.raises(ConfigError, match="cannot read the event payload"):
        read_trigger(env)


def test_trigger_gitlab_push() -> None:
    trigger = read_trigger(load("gitlab/push"))
    assert trigger.system == "gitlab"
    assert trigger.event == "push"
    assert trigger.before == "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    assert trigger.author == Person("Mona Lisa", "mona@example.com")
    assert trigger.actors == ("mona",)
    assert trigger.changed is None  # GitLab's variables list no files: git diff decides
    assert trigger.source.pipeline_url == "https://gitlab.com/acme/web/-/pipelines/1123581321"


def test_trigger_gitlab_push_by_promoter_has_the_trailer() -> None:
    trigger = read_trigger(load("gitlab/push-bot"))
    assert "Promoted-by: promoter" in (trigger.message or "").splitlines()
    assert trigger.author == Person("promoter[bot]", "promoter[bot]@users.noreply.github.com")


@pytest.mark.parametrize("name", ["gitlab/merge_request_event", "gitlab/schedule", "gitlab/web"])
def test_trigger_gitlab_new_branch_or_no_push_has_no_before(name: str) -> None:
    trigger = read_trigger(load(name))
    assert trigger.event == name.split("/")[1]
    assert trigger.before is None  # CI_COMMIT_BEFORE_SHA is all zeros there


def test_trigger_other_ci_is_empty() -> None:
    assert read_trigger({"CI": "true", "JENKINS_URL": "https://ci.example.com/"}) == Trigger()


def _repo_with_two_commits(tmp_path: Path, changed: str) -> tuple[Path, str, str]:
    import subprocess

    repo = tmp_path / "checkout"
    repo.mkdir()

    def git(*args: str) -> str:
        who = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
        done = subprocess.run(
            ["git", *who, "-c", "commit.gpgSign=false", *args],
            cwd=repo, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    git("init", "-q")
    (repo / "src").mkdir()
    (repo / "docs").mkdir()
    (repo / "src" / "app.py").write_text("1\n")
    (repo / "docs" / "a.md").write_text("1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    before = git("rev-parse", "HEAD")
    (repo / changed).write_text("2\n")
    git("commit", "-qam", "two")
    return repo, before, git("rev-parse", "HEAD")


@pytest.mark.parametrize(("changed", "code"), [("docs/a.md", 10), ("src/app.py", 0)])
def test_trigger_gitlab_changed_files_come_from_the_ci_checkout(
    changed: str, code: int, tmp_path: Path
) -> None:
    """GitLab's variables list no files: `git diff before..after` in CI_PROJECT_DIR does."""
    import json
    import subprocess
    import sys

    repo, before, after = _repo_with_two_commits(tmp_path, changed)
    env = load("gitlab/push") | {
        "CI_PROJECT_DIR": str(repo),
        "CI_COMMIT_BEFORE_SHA": before,
        "CI_COMMIT_SHA": after,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "guard", "--ignore", "docs/**"],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    verdict = json.loads(done.stdout)
    if code:
        assert verdict["guard"] == "paths"
        assert "docs/a.md" in verdict["reason"]
    else:
        assert verdict["go"] is True


def test_trigger_github_long_push_files_come_from_the_compare_api(tmp_path: Path) -> None:
    """A push of more commits than the event lists, and no checkout to diff: the source
    repository's compare API (real PyGithub against the fake GitHub) names the files."""
    import json
    import subprocess
    import sys

    from fakes.github import FakeGitHub

    with FakeGitHub(tmp_path / "gh", lifetime=120) as github:
        github.create_repo("acme", "web", {"src/app.py": b"1\n", "docs/a.md": b"1\n"})
        bare = Path(github.root) / "acme" / "web.git"
        work = tmp_path / "work"
        who = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]

        def git(*args: str, cwd: Path = work) -> str:
            done = subprocess.run(
                ["git", *who, "-c", "commit.gpgSign=false", *args],
                cwd=cwd, capture_output=True, text=True, check=True,
            )  # fmt: skip
            return done.stdout.strip()

        git("clone", "-q", str(bare), str(work), cwd=tmp_path)
        before = git("rev-parse", "HEAD")
        for number in range(21):
            (work / "docs" / "a.md").write_text(f"{number}\n")
            git("commit", "-qam", f"docs {number}")
        after = git("rev-parse", "HEAD")
        git("push", "-q", "origin", "HEAD")
        commits = [
            {"id": f"{i:040x}", "added": [], "removed": [], "modified": ["docs/a.md"]}
            for i in range(20)
        ]
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"before": before, "after": after, "commits": commits}))
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": after,
            "GITHUB_REPOSITORY": "acme/web",
            "GITHUB_SERVER_URL": github.url,
            "GITHUB_API_URL": github.api_url,
            "GITHUB_TOKEN": github.token,
        }
        done = subprocess.run(
            [sys.executable, "-m", "promoter", "guard", "--ignore", "docs/**"],
            env=env, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert done.returncode == 10, done.stdout + done.stderr
        assert json.loads(done.stdout)["guard"] == "paths"
        watched = subprocess.run(
            [sys.executable, "-m", "promoter", "guard", "--watch", "src/**"],
            env=env | {"GITHUB_TOKEN": "wrong"}, capture_output=True, text=True,
            check=False, timeout=60,
        )  # fmt: skip
        assert watched.returncode == 0, watched.stderr  # unreadable: files unknown, no skip
        assert github.errors == []
