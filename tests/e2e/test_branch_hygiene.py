"""Promotion branches are promoter's alone: retired when pointless, never forced over others."""

from __future__ import annotations

from pathlib import Path

from .conftest import Promoter, git, refs, rev

PRODUCTION = ("--env", "production", "--image", "ghcr.io/acme/web:1.5.0")
BRANCH = "refs/heads/promote/production/web"


def test_promote_base_already_holds_change_deletes_promotion_branch(
    promoter: Promoter, bare: Path
) -> None:
    assert promoter.run("--config-repo", str(bare), *PRODUCTION).returncode == 0
    assert BRANCH in refs(bare)
    pushed = promoter.run("--config-repo", str(bare), *PRODUCTION, "--mode", "push", "--skip-ci")
    assert pushed.returncode == 0, pushed.stderr
    main = rev(bare, "main")

    again = promoter.run("--config-repo", str(bare), *PRODUCTION, "--output", "json")

    assert again.returncode == 0, again.stderr
    assert again.json()["environments"][0]["status"] == "unchanged"
    assert BRANCH not in refs(bare)
    assert rev(bare, "main") == main


def test_promote_refuses_to_force_over_someone_elses_commit(
    promoter: Promoter, bare: Path, tmp_path: Path
) -> None:
    assert promoter.run("--config-repo", str(bare), *PRODUCTION).returncode == 0
    work = tmp_path / "human"
    git(tmp_path, "clone", "-q", "-b", "promote/production/web", str(bare), str(work))
    (work / "NOTE.md").write_text("please keep\n")
    git(work, "add", "NOTE.md")
    git(work, "-c", "user.name=Alice", "-c", "user.email=a@example.com", "commit", "-qm", "note")
    git(work, "push", "-q", "origin", "HEAD:promote/production/web")
    human = rev(bare, BRANCH)

    run = promoter.run(
        "--config-repo", str(bare), "--env", "production", "--image", "ghcr.io/acme/web:1.5.1"
    )

    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert "promote/production/web" in line
    assert "did not make" in line
    assert rev(bare, BRANCH) == human


def test_promote_into_a_working_tree_commits_and_updates_its_files(
    promoter: Promoter, tmp_path: Path, bare: Path
) -> None:
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    overlay = work / "apps/web/overlays/staging/kustomization.yaml"
    before = overlay.read_text()

    run = promoter.run(
        "--config-repo", str(work), "--env", "staging", "--image", "ghcr.io/acme/web:1.5.0"
    )

    assert run.returncode == 0, run.stderr
    assert git(work, "log", "-1", "--format=%s").strip() == "Promote web to staging: 1.4.2 → 1.5.0"
    assert overlay.read_text() == before.replace("newTag: 1.4.2", "newTag: 1.5.0")
    assert git(work, "status", "--porcelain") == ""


def test_promote_into_a_dirty_working_tree_is_refused_clearly(
    promoter: Promoter, tmp_path: Path, bare: Path
) -> None:
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    (work / "promoter.yaml").write_text((work / "promoter.yaml").read_text() + "# local edit\n")
    head = rev(work, "HEAD")

    run = promoter.run(
        "--config-repo", str(work), "--env", "staging", "--image", "ghcr.io/acme/web:1.5.0"
    )

    assert run.returncode == 1
    assert "unstaged changes" in run.stderr
    assert rev(work, "HEAD") == head
