"""Merge requests on a fake GitLab (real python-gitlab, real git over smart HTTP, the real
`promote` subprocess): created, updated in place, unchanged with no write, auto-merge
guarded by the head sha, and a pointless one closed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.gitlab import FakeGitLab

from .conftest import Promoter, add_hook, fixture_files, git

WEB = "ghcr.io/acme/web"
TOKEN = "glpat-e2e-token"


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        fake.create_project("acme/config", fixture_files())
        yield fake
        assert fake.errors == []


@pytest.fixture
def gl_promoter(tmp_path: Path) -> Promoter:
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir()
    return Promoter(tmpdir, token=TOKEN)


def _promote(promoter: Promoter, gitlab: FakeGitLab, tag: str, *extra: str) -> dict[str, Any]:
    run = promoter.run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:{tag}",
        "--output", "json", *extra,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert TOKEN not in run.stdout + run.stderr
    (env,) = run.json()["environments"]
    return dict(env)


def test_gitlab_merge_request_created_then_updated_in_place(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    created = _promote(gl_promoter, gitlab, "1.5.0")
    assert created["status"] == "changed"
    assert len(gitlab.calls) <= 6  # find, the reviewer's id, create
    assert created["pull_request"]["operation"] == "created"
    (request,) = gitlab.open_requests("acme/config")
    assert request.source_branch == "promote/production/web"
    assert request.target_branch == "main"
    assert request.title == "Promote web to production: 1.4.1 → 1.5.0"
    assert "<!-- promoter -->" in request.description
    assert request.labels == ["promotion", "production"]
    assert request.reviewer_ids == [12]  # @alice; the group acme/sre is no GitLab reviewer
    assert request.remove_source_branch
    assert created["pull_request"]["url"].endswith("/acme/config/-/merge_requests/1")

    updated = _promote(gl_promoter, gitlab, "1.6.0")
    assert updated["pull_request"]["operation"] == "updated"
    (request,) = gitlab.open_requests("acme/config")
    assert request.title == "Promote web to production: 1.4.1 → 1.6.0"
    assert request.iid == 1
    bare = gitlab.projects["acme/config"].bare
    assert "1.6.0" in git(
        bare, "show", "promote/production/web:apps/web/overlays/production/kustomization.yaml"
    )


def test_gitlab_same_tag_again_is_unchanged_with_no_write_call(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    _promote(gl_promoter, gitlab, "1.5.0")
    writes = len(gitlab.write_calls())
    calls = len(gitlab.calls)
    again = _promote(gl_promoter, gitlab, "1.5.0")
    assert again["status"] == "unchanged"
    assert again["pull_request"]["operation"] == "unchanged"
    assert len(gitlab.write_calls()) == writes
    assert len(gitlab.calls) - calls == 1  # one list call: the MR as it should be


def test_gitlab_auto_merge_passes_the_head_sha(gitlab: FakeGitLab, gl_promoter: Promoter) -> None:
    env = _promote(gl_promoter, gitlab, "1.5.0", "--auto-merge")
    (request,) = gitlab.open_requests("acme/config")
    assert request.auto_merge
    assert request.merge_sha == env["commit"]
    merge = [c for c in gitlab.calls if c.path.endswith("/merge")]
    assert [c.query.get("sha") for c in merge] == [env["commit"]]


def test_gitlab_pointless_merge_request_is_closed(
    gitlab: FakeGitLab, gl_promoter: Promoter, tmp_path: Path
) -> None:
    _promote(gl_promoter, gitlab, "1.5.0")
    bare = gitlab.projects["acme/config"].bare
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "merge", "-q", "--ff-only", "origin/promote/production/web")
    git(work, "push", "-q", "origin", "HEAD:main")
    closed = _promote(gl_promoter, gitlab, "1.5.0")
    assert closed["status"] == "unchanged"
    assert gitlab.open_requests("acme/config") == []
    (request,) = gitlab.projects["acme/config"].merge_requests
    assert request.state == "closed"
    assert len(request.notes) == 1
    assert "already holds this version" in request.notes[0]
    assert "promote/production/web" not in git(bare, "branch", "--list")


def test_gitlab_bad_token_is_one_line_exit_1_with_nothing_opened(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    tmpdir = tmp_path / "bad"
    tmpdir.mkdir()
    run = Promoter(tmpdir, token="glpat-wrong").run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:1.5.0",
    )  # fmt: skip
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("promote: error: ")
    assert "glpat-wrong" not in run.stderr
    assert gitlab.open_requests("acme/config") == []


def test_gitlab_lost_create_race_is_found_and_updated(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    gitlab.race_create("acme/config")
    env = _promote(gl_promoter, gitlab, "1.5.0")
    assert env["pull_request"]["operation"] == "updated"
    (request,) = gitlab.open_requests("acme/config")
    assert request.title == "Promote web to production: 1.4.1 → 1.5.0"  # the racer's, fixed
    assert [c.status for c in gitlab.calls if c.method == "POST"] == [409]  # ours lost


def test_gitlab_502_and_429_are_retried(gitlab: FakeGitLab, gl_promoter: Promoter) -> None:
    gitlab.fault_headers[429] = {"Retry-After": "0"}
    gitlab.fail_next("GET", r"/merge_requests$", 502)
    gitlab.fail_next("POST", r"/merge_requests$", 429, {"message": "429 Too Many Requests"})
    env = _promote(gl_promoter, gitlab, "1.5.0")
    assert env["pull_request"]["operation"] == "created"
    statuses = [c.status for c in gitlab.calls if c.path.endswith("/merge_requests")]
    assert statuses[:2] == [502, 200]
    assert [c.status for c in gitlab.calls if c.method == "POST"] == [429, 201]
    assert len(gitlab.open_requests("acme/config")) == 1


def test_gitlab_job_token_of_another_project_is_refused_before_anything(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    tmpdir = tmp_path / "job"
    tmpdir.mkdir()
    bare = gitlab.projects["acme/config"].bare
    before = git(bare, "for-each-ref")
    run = Promoter(tmpdir, token=None).run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "dev", "--image", f"{WEB}:1.5.0", "--mode", "push",
        env={"GITLAB_CI": "true", "CI_JOB_TOKEN": TOKEN, "CI_PROJECT_PATH": "acme/web"},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert "CI_JOB_TOKEN of acme/web cannot push to acme/config" in line
    assert "project access token" in line
    assert git(bare, "for-each-ref") == before
    assert gitlab.calls == []


def test_gitlab_push_mode_skip_ci_is_a_push_option_not_a_marker(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    bare = gitlab.projects["acme/config"].bare
    add_hook(
        bare,
        "pre-receive",
        '#!/bin/sh\ni=0\nwhile [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do\n'
        '  eval "echo \\$GIT_PUSH_OPTION_$i" >> "$GIT_DIR/push-options.log"\n'
        "  i=$((i + 1))\ndone\n",
    )
    run = gl_promoter.run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "dev", "--image", f"{WEB}:1.5.0", "--mode", "push",
        "--skip-ci", "--output", "json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.json()["status"] == "changed"
    assert (bare / "push-options.log").read_text().split() == ["ci.skip"]
    subject = git(bare, "show", "-s", "--format=%s", "main")
    assert "[skip ci]" not in subject
    assert gitlab.calls == []  # push mode opens no forge client at all


def test_gitlab_auto_merge_on_an_older_server_and_after_405(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    """Before 17.11 `auto_merge` is unknown (and would merge at once): promoter sends
    `merge_when_pipeline_succeeds` with the sha; 405s while the pipeline is being created
    are retried."""
    gitlab.version = "17.4.1"
    gitlab.fail_next("PUT", r"/merge$", 405, {"message": "405 Method Not Allowed"})
    gitlab.fail_next("PUT", r"/merge$", 405, {"message": "405 Method Not Allowed"})
    env = _promote(gl_promoter, gitlab, "1.5.0", "--auto-merge")
    (request,) = gitlab.open_requests("acme/config")  # still open: not merged at once
    assert request.auto_merge
    assert request.merge_sha == env["commit"]
    merges = [c for c in gitlab.calls if c.path.endswith("/merge")]
    assert [c.status for c in merges] == [405, 405, 200]
    assert merges[-1].body.get("merge_when_pipeline_succeeds") is True
    assert merges[-1].query.get("sha") == env["commit"]


def _tree_bytes(bare: Path, ref: str) -> dict[str, str]:
    listing = git(bare, "ls-tree", "-r", ref)
    return {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}


def _run_json(promoter: Promoter, fake: FakeGitLab, *args: str) -> dict[str, Any]:
    run = promoter.run(
        "--config-repo", fake.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", fake.url, "--output", "json", *args,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert TOKEN not in run.stdout + run.stderr
    return dict(run.json())


@pytest.mark.parametrize("env_name", ["staging", "production"])
def test_gitlab_no_clone_writes_the_same_bytes_as_the_clone_path(
    gl_promoter: Promoter, tmp_path: Path, env_name: str
) -> None:
    """staging is push mode and changes two files (an overlay and a Flux marker file);
    production opens a merge request. Both through the commits API, with no git at all."""
    trees = {}
    for mode in ("clone", "no-clone"):
        with FakeGitLab(tmp_path / mode, token=TOKEN) as fake:
            project = fake.create_project("acme/config", fixture_files())
            extra = ("--no-clone",) if mode == "no-clone" else ()
            args = ("--env", env_name, "--image", f"{WEB}:1.5.0", *extra)
            report = _run_json(gl_promoter, fake, *args)
            (env,) = report["environments"]
            assert env["status"] == "changed"
            assert env["commit"] == project.tip(env["branch"])
            trees[mode] = _tree_bytes(project.bare, env["branch"])
            if mode == "no-clone":
                assert report["stats"]["git_calls"] == 0
                assert report["stats"]["bytes_fetched"] == 0
                assert fake.git_requests_count() == 0
                writes = len(fake.write_calls())
                assert [c.method for c in fake.write_calls()].count("POST") >= 1
                again = _run_json(gl_promoter, fake, *args)
                assert again["status"] == "unchanged"
                assert len(fake.write_calls()) == writes  # an unchanged run writes nothing
    assert trees["clone"] == trees["no-clone"]
    changed = {p for p, oid in trees["clone"].items() if fixture_blob(p) != oid}
    assert changed  # the promotion changed something, and both paths changed the same


def fixture_blob(path: str) -> str:
    data = fixture_files().get(path, b"")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_gitlab_no_clone_lost_race_is_replanned_on_the_new_tip(
    gitlab: FakeGitLab, gl_promoter: Promoter, tmp_path: Path
) -> None:
    """A commit lands on main between promoter's read and its write: GitLab refuses the
    stale `last_commit_id`, and promoter re-plans on the new tip; nothing is overwritten."""
    project = gitlab.projects["acme/config"]
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(project.bare), str(work))
    overlay = work / "apps/web/overlays/dev/kustomization.yaml"
    overlay.write_text(overlay.read_text() + "# a colleague's note\n")
    git(work, "-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "-qam", "note")
    moved = {"done": False}

    def push_first(method: str, path: str) -> None:
        if method == "POST" and path.endswith("/repository/commits") and not moved["done"]:
            moved["done"] = True
            git(work, "push", "-q", "origin", "HEAD:main")

    gitlab.before_request = push_first
    report = _run_json(gl_promoter, gitlab, "--env", "dev", "--image", f"{WEB}:1.5.0", "--no-clone")
    assert report["status"] == "changed"
    statuses = [c.status for c in gitlab.calls if c.path.endswith("/repository/commits")]
    assert statuses == [400, 201]
    text = git(project.bare, "show", "main:apps/web/overlays/dev/kustomization.yaml")
    assert "# a colleague's note" in text
    assert "1.5.0" in text
    assert git(project.bare, "show", "-s", "--format=%s", "main~1") == "note\n"


def test_gitlab_no_clone_merge_request_auto_merges_the_server_commit(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    report = _run_json(
        gl_promoter, gitlab, "--env", "production", "--image", f"{WEB}:1.5.0",
        "--no-clone", "--auto-merge",
    )  # fmt: skip
    (env,) = report["environments"]
    (request,) = gitlab.open_requests("acme/config")
    assert (
        request.merge_sha
        == env["commit"]
        == gitlab.projects["acme/config"].tip("promote/production/web")
    )
    newer = _run_json(
        gl_promoter, gitlab, "--env", "production", "--image", f"{WEB}:1.6.0", "--no-clone"
    )
    (env,) = newer["environments"]
    assert env["pull_request"]["operation"] == "updated"
    assert len(gitlab.projects["acme/config"].merge_requests) == 1
    created = [c for c in gitlab.calls if c.method == "POST" and "commits" in c.path]
    assert created[-1].body["force"] is True  # the branch rebuilt from main's tip
    assert created[-1].body["start_sha"] == gitlab.projects["acme/config"].tip("main")


def test_gitlab_no_clone_skip_ci_is_refused_before_any_write(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    run = gl_promoter.run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "dev", "--image", f"{WEB}:1.5.0",
        "--no-clone", "--skip-ci",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "ci.skip" in run.stderr
    assert gitlab.write_calls() == []


def _with_squash(files: dict[str, bytes]) -> dict[str, bytes]:
    config = files["promoter.yaml"].decode()
    marker = '    reviewers: [acme/sre, "@alice"]\n'
    assert marker in config
    files["promoter.yaml"] = config.replace(marker, marker + "    squash: true\n").encode()
    return files


def test_gitlab_squash_by_configuration_and_merge_trains(
    gl_promoter: Promoter, tmp_path: Path
) -> None:
    """`squash: true` in promoter.yaml is set on the merge request and sent with the
    auto-merge; a project with merge trains is queued through the merge-train API (with the
    head sha), not the merge call, which can bypass the train."""
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", _with_squash(fixture_files()))
        project.merge_trains = True
        env = _promote(gl_promoter, fake, "1.5.0", "--auto-merge")
        (request,) = fake.open_requests("acme/config")
        assert request.squash is True
        trains = [c for c in fake.calls if "/merge_trains/" in c.path]
        assert [c.method for c in trains] == ["POST"]
        assert trains[0].query["sha"] == env["commit"]
        assert trains[0].query["auto_merge"] == "True"
        assert trains[0].query["squash"] == "True"
        assert not [c for c in fake.calls if c.path.endswith("/merge")]
        assert request.merge_options["train"] == "true"


def test_gitlab_squash_changed_in_configuration_updates_the_request(
    gitlab: FakeGitLab, gl_promoter: Promoter, tmp_path: Path
) -> None:
    _promote(gl_promoter, gitlab, "1.5.0")
    (request,) = gitlab.open_requests("acme/config")
    assert request.squash is False
    bare = gitlab.projects["acme/config"].bare
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    (work / "promoter.yaml").write_bytes(_with_squash(fixture_files())["promoter.yaml"])
    git(work, "-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "-qam", "squash")
    git(work, "push", "-q", "origin", "HEAD:main")
    _promote(gl_promoter, gitlab, "1.6.0")
    (request,) = gitlab.open_requests("acme/config")
    assert request.squash is True
    puts = [c for c in gitlab.calls if c.method == "PUT"]
    assert puts[-1].body["squash"] is True


def test_gitlab_revoked_token_is_one_line_and_nothing_changes(
    gitlab: FakeGitLab, gl_promoter: Promoter
) -> None:
    _promote(gl_promoter, gitlab, "1.5.0")
    bare = gitlab.projects["acme/config"].bare
    before = git(bare, "for-each-ref")
    gitlab.revoke()
    for extra in ((), ("--no-clone",)):
        run = gl_promoter.run(
            "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
            "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:1.6.0", *extra,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        (line,) = run.stderr.strip().splitlines()
        assert "PROMOTER_TOKEN" in line
        assert TOKEN not in run.stderr
    assert git(bare, "for-each-ref") == before
    (request,) = gitlab.open_requests("acme/config")
    assert request.title.endswith("1.5.0")


def test_gitlab_missing_api_scope_names_it(gitlab: FakeGitLab, gl_promoter: Promoter) -> None:
    gitlab.fail_next("POST", r"/merge_requests$", 403, {"message": "403 Forbidden"})
    run = gl_promoter.run(
        "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
        "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:1.5.0",
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert "api scope" in line
    assert "Developer" in line


def test_gitlab_foreign_commit_on_the_promotion_branch_stops_the_run(
    gitlab: FakeGitLab, gl_promoter: Promoter, tmp_path: Path
) -> None:
    _promote(gl_promoter, gitlab, "1.5.0")
    bare = gitlab.projects["acme/config"].bare
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", "-b", "promote/production/web", str(bare), str(work))
    (work / "NOTES.md").write_text("a reviewer's fix\n")
    git(work, "add", "NOTES.md")
    git(work, "-c", "user.name=R", "-c", "user.email=r@example.com", "commit", "-qm", "fix")
    git(work, "push", "-q", "origin", "HEAD:promote/production/web")
    tip = gitlab.projects["acme/config"].tip("promote/production/web")
    for extra in ((), ("--no-clone",)):
        run = gl_promoter.run(
            "--config-repo", gitlab.git_url("acme/config"), "--forge", "gitlab",
            "--api-url", gitlab.url, "--env", "production", "--image", f"{WEB}:1.6.0", *extra,
        )  # fmt: skip
        assert run.returncode != 0
        assert "has commits promoter did not make" in run.stderr
    assert gitlab.projects["acme/config"].tip("promote/production/web") == tip


FILLERS = 150
"""Apps beside the fixture's under `apps/`: two pages of GitLab's tree listing."""


def _wide_files() -> dict[str, bytes]:
    files = fixture_files()
    for index in range(FILLERS):
        files[f"apps/filler-{index:03d}/kustomization.yaml"] = b"resources: []\n"
    return files


def _tree_requests(fake: FakeGitLab) -> list[tuple[str, str]]:
    return [
        (c.query.get("path", ""), c.query.get("page", "1"))
        for c in fake.calls
        if c.path.endswith("/repository/tree")
    ]


def _narrow_calls(promoter: Promoter, tmp_path: Path, args: tuple[str, ...]) -> int:
    """REST calls of the same promotion on the fixture alone (`apps/` of two apps)."""
    with FakeGitLab(tmp_path / "narrow", token=TOKEN) as fake:
        fake.create_project("acme/config", fixture_files())
        assert _run_json(promoter, fake, *args)["status"] == "changed"
        return len(fake.calls)


@pytest.mark.parametrize("env_name", ["staging", "production"])
def test_gitlab_no_clone_wide_directory_is_read_by_path_in_few_calls(
    gl_promoter: Promoter, tmp_path: Path, env_name: str
) -> None:
    """Issue 23: `apps/` holds 150 apps; `--no-clone` never lists it, makes as many REST
    calls as on the narrow fixture (push mode: 11, for two files in two directories),
    writes what the clone path writes, and a second run finds the change already there
    (the merge request's branch read back as the very tree it would build), no write."""
    trees = {}
    for mode in ("clone", "no-clone"):
        with FakeGitLab(tmp_path / mode, token=TOKEN) as fake:
            project = fake.create_project("acme/config", _wide_files())
            extra = ("--no-clone",) if mode == "no-clone" else ()
            args = ("--env", env_name, "--image", f"{WEB}:1.5.0", *extra)
            report = _run_json(gl_promoter, fake, *args)
            (env,) = report["environments"]
            assert env["status"] == "changed"
            trees[mode] = _tree_bytes(project.bare, env["branch"])
            if mode == "no-clone":
                assert fake.git_requests_count() == 0
                assert ("apps", "1") not in _tree_requests(fake)
                assert all(page == "1" for _, page in _tree_requests(fake))
                if env_name == "staging":  # the overlay and the directory target's file
                    assert len(fake.calls) <= 11, [c.path for c in fake.calls]
                    assert len(fake.calls) == _narrow_calls(gl_promoter, tmp_path, args)
                writes, calls = len(fake.write_calls()), len(fake.calls)
                again = _run_json(gl_promoter, fake, *args)
                assert again["status"] == "unchanged"
                assert len(fake.write_calls()) == writes
                assert ("apps", "1") not in _tree_requests(fake)
                assert len(fake.calls) - calls <= 12
    assert trees["clone"] == trees["no-clone"]


def test_gitlab_no_clone_file_served_with_other_bytes_stops_the_run(
    gl_promoter: Promoter, tmp_path: Path
) -> None:
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", _wide_files())
        path = "apps/web/overlays/staging/kustomization.yaml"
        project.served[path] = (
            project.git("show", f"main:{path}").replace("newTag", "newTag: 6.6.6\n  # was").encode()
        )
        before = project.tip("main")
        run = gl_promoter.run(
            "--config-repo", fake.git_url("acme/config"), "--forge", "gitlab",
            "--api-url", fake.url, "--env", "staging", "--image", f"{WEB}:1.5.0", "--no-clone",
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        assert f"GitLab served {path}" in run.stderr
        assert "with other bytes" in run.stderr
        assert fake.write_calls() == []
        assert project.tip("main") == before


def test_gitlab_no_clone_wide_concurrent_change_to_the_same_file_is_kept(
    gl_promoter: Promoter, tmp_path: Path
) -> None:
    """A colleague's commit to the very overlay lands between promoter's read and its
    commit, below a wide `apps/`: GitLab refuses the stale `last_commit_id`, promoter
    re-plans on the new tip, and both changes survive (no lost update)."""
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as fake:
        project = fake.create_project("acme/config", _wide_files())
        path = "apps/web/overlays/staging/kustomization.yaml"
        work = tmp_path / "work"
        git(tmp_path, "clone", "-q", str(project.bare), str(work))
        (work / path).write_text((work / path).read_text() + "# a colleague's note\n")
        git(work, "-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "-qam", "note")
        moved = {"done": False}

        def push_first(method: str, request: str) -> None:
            if method == "POST" and request.endswith("/repository/commits") and not moved["done"]:
                moved["done"] = True
                git(work, "push", "-q", "origin", "HEAD:main")

        fake.before_request = push_first
        args = ("--env", "staging", "--image", f"{WEB}:1.5.0", "--no-clone")
        report = _run_json(gl_promoter, fake, *args)
        assert report["status"] == "changed"
        statuses = [c.status for c in fake.calls if c.path.endswith("/repository/commits")]
        assert statuses == [400, 201]
        text = git(project.bare, "show", f"main:{path}")
        assert "# a colleague's note" in text
        assert "1.5.0" in text
        assert ("apps", "1") not in _tree_requests(fake)


def test_gitlab_no_clone_status_matches_the_clone(gl_promoter: Promoter, tmp_path: Path) -> None:
    """Issue 23: `status --no-clone` dates every cell through the store's reads by path, and
    says what the clone path says of the same project, ages included. (The fixture's
    discovered apps still list the tree: zero-config discovery reads its structure.)"""
    boards = {}
    with FakeGitLab(tmp_path, token=TOKEN) as fake:
        fake.create_project("acme/config", _wide_files())
        for mode in ("clone", "no-clone"):
            extra = ("--no-clone",) if mode == "no-clone" else ()
            before = fake.git_requests_count()
            run = gl_promoter.run(
                "status", "--config-repo", fake.git_url("acme/config"), "--forge", "gitlab",
                "--api-url", fake.url, "--output", "json", *extra,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            board = dict(run.json())
            board.pop("generated")
            boards[mode] = board
            if mode == "no-clone":
                assert fake.git_requests_count() == before
    cells = boards["clone"]["cells"]
    assert cells
    assert all(c.get("since") for c in cells if c.get("version"))
    assert boards["no-clone"] == boards["clone"]
