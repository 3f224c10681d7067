"""`promote --env … --image … --config-repo … [--dry-run]` on a copy of promoter/demo_repo."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from promoter.errors import EditRefusedError, InputError, TargetNotFoundError
from promoter.promotion import bump

FIXTURE = Path(__file__).resolve().parents[1] / "promoter" / "demo_repo"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promoter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(FIXTURE, target)
    return target


def test_promotion_dry_run_prints_diff_and_touches_nothing(repo: Path) -> None:
    before = snapshot(repo)
    done = run(
        "--config-repo", str(repo), "--env", "staging",
        "--image", "ghcr.io/acme/web:1.5.0", "--image", "ghcr.io/acme/api:2.5.0", "--dry-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--- a/apps/web/overlays/staging/kustomization.yaml" in done.stdout
    assert "+++ b/charts/api/values-staging.yaml" in done.stdout
    assert "-  tag: 2.4.0\n+  tag: 2.5.0\n" in done.stdout
    assert "dry run: 3 change(s) in 3 file(s); nothing written" in done.stdout
    assert snapshot(repo) == before


def test_promotion_dry_run_json_lists_every_change(repo: Path) -> None:
    done = run(
        "--config-repo", str(repo), "--env", "staging", "--env", "production",
        "--image", "ghcr.io/acme/web:1.5.0", "--dry-run", "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "changed"
    envs = {e["env"]: e for e in report["environments"]}
    assert set(envs) == {"staging", "production"}
    assert envs["staging"]["mode"] == "push"
    assert envs["production"]["mode"] == "pull-request"
    files = {c["file"] for c in report["changes"]}
    assert files == {
        "apps/web/overlays/staging/kustomization.yaml",
        "clusters/staging/flux-image-marker.yaml",
        "apps/web/overlays/production/kustomization.yaml",
    }
    for change in report["changes"]:
        assert change["new"].endswith("1.5.0")
        assert change["line"] >= 1


def test_promotion_without_dry_run_writes_only_changed_bytes(repo: Path) -> None:
    path = repo / "charts/api/values-staging.yaml"
    before = path.read_bytes()
    done = run("--config-repo", str(repo), "--env", "staging", "--image", "ghcr.io/acme/api:2.5.0")
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == before.replace(b"tag: 2.4.0", b"tag: 2.5.0")
    again = run("--config-repo", str(repo), "--env", "staging", "--image", "ghcr.io/acme/api:2.5.0")
    assert again.returncode == 0
    assert "unchanged" in again.stdout


def test_promotion_unknown_environment_lists_known(repo: Path) -> None:
    done = run("--config-repo", str(repo), "--env", "stagin", "--image", "ghcr.io/acme/web:1.5.0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "unknown environment 'stagin'" in done.stderr
    assert "staging" in done.stderr


def test_promotion_zero_config_discovery(repo: Path) -> None:
    (repo / "promoter.yaml").unlink()
    done = run(
        "--config-repo", str(repo), "--env", "staging",
        "--image", "ghcr.io/acme/api:2.5.0", "--dry-run", "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = {c["file"] for c in json.loads(done.stdout)["changes"]}
    assert files == {"charts/api/values-staging.yaml"}
    unknown = run("--config-repo", str(repo), "--env", "qa", "--image", "ghcr.io/acme/api:2.5.0")
    assert unknown.returncode == 2
    assert "environments found: dev, production, staging" in unknown.stderr


def _config_with_target(repo: Path, target: str) -> None:
    text = (repo / "promoter.yaml").read_text()
    text = text.replace("apps/web/overlays/dev/kustomization.yaml", target)
    (repo / "promoter.yaml").write_text(text)


@pytest.mark.parametrize("target", ["../outside/kustomization.yaml", "/etc/passwd"])
def test_promotion_path_escape_refused(repo: Path, target: str) -> None:
    _config_with_target(repo, target)
    before = snapshot(repo)
    done = run("--config-repo", str(repo), "--env", "dev", "--image", "ghcr.io/acme/web:1.5.0")
    assert done.returncode == 2
    assert "promoter.yaml" in done.stderr
    assert done.stderr.count("\n") == 1
    assert snapshot(repo) == before


def test_promotion_symlink_escape_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text(
        "images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n"
    )
    (repo / "apps/link").symlink_to(outside)
    _config_with_target(repo, "apps/link/kustomization.yaml")
    done = run("--config-repo", str(repo), "--env", "dev", "--image", "ghcr.io/acme/web:1.5.0")
    assert done.returncode == 2, done.stderr
    assert "outside" in done.stderr
    assert (outside / "kustomization.yaml").read_text().endswith("newTag: 1.0.0\n")


def test_promotion_missing_target_file_exit_2(repo: Path) -> None:
    (repo / "apps/web/overlays/dev/kustomization.yaml").unlink()
    done = run("--config-repo", str(repo), "--env", "dev", "--image", "ghcr.io/acme/web:1.5.0")
    assert done.returncode == 2
    assert "apps/web/overlays/dev/kustomization.yaml" in done.stderr


def test_promotion_missing_config_repo_exit_2(tmp_path: Path) -> None:
    done = run("--config-repo", str(tmp_path / "nope"), "--env", "dev", "--image", "a/b:1")
    assert done.returncode == 2


def test_promotion_in_place_second_environment_bad_writes_nothing(repo: Path) -> None:
    (repo / "promoter.yaml").unlink()
    before = snapshot(repo)
    done = run(
        "--config-repo", str(repo), "--env", "dev", "--env", "stagin",
        "--image", "ghcr.io/acme/api:9.9.9",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "promote: error: no files for environment 'stagin'; environments found: dev, "
        "production, staging (did you mean 'staging'?)"
    ]
    assert snapshot(repo) == before


def test_promotion_directory_target_without_reference_is_refused(repo: Path) -> None:
    """A `directory:` target whose files only mention the app is never 'up to date'."""
    (repo / "mentions").mkdir()
    (repo / "mentions" / "notes.yaml").write_text("owner: web team\nname: web\n")
    config = (repo / "promoter.yaml").read_text()
    config = config.replace(
        "      dev: {kustomize: apps/web/overlays/dev/kustomization.yaml}",
        "      dev: {directory: mentions}",
    )
    assert "{directory: mentions}" in config
    (repo / "promoter.yaml").write_text(config)
    before = snapshot(repo)
    done = run("--config-repo", str(repo), "--env", "dev", "--image", "ghcr.io/acme/web:9.9.9")
    assert done.returncode == 2, done.stderr
    assert "no reference to ghcr.io/acme/web found" in done.stderr
    assert snapshot(repo) == before


def test_promotion_insertion_never_moves_the_inherited_version_backwards(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base/deployment.yaml").write_text(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "        - name: web\n          image: ghcr.io/acme/web:3.0.0\n"
    )
    (tmp_path / "base/kustomization.yaml").write_text("resources:\n  - deployment.yaml\n")
    (tmp_path / "overlays/prod").mkdir(parents=True)
    overlay = tmp_path / "overlays/prod/kustomization.yaml"
    overlay.write_text("resources:\n  - ../../base\n")
    args = ("--config-repo", str(tmp_path), "--env", "prod", "--image", "ghcr.io/acme/web:2.0.0")
    done = run(*args, "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "superseded"
    assert overlay.read_text() == "resources:\n  - ../../base\n"
    done = run(*args, "--allow-downgrade")
    assert done.returncode == 0, done.stderr
    assert "newTag: 2.0.0" in overlay.read_text()


# -- `bump`: editing files in place through the plan production uses ---------------------------

_KUSTOMIZATION = "images:\n- name: ghcr.io/acme/web\n  newTag: v1.0.0\n"


def test_promotion_bump_missing_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(TargetNotFoundError) as info:
        bump([tmp_path / "nope.yaml"], "ghcr.io/acme/web:1")
    assert info.value.message == "file not found"
    assert info.value.path == str(tmp_path / "nope.yaml")


def test_promotion_bump_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        bump([tmp_path], "ghcr.io/acme/web:1")
    assert not isinstance(info.value, TargetNotFoundError)
    assert info.value.message == "is a directory, expected a YAML file"


def test_promotion_bump_writes_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_text(_KUSTOMIZATION)
    target.chmod(0o640)
    result = bump([target], "ghcr.io/acme/web:v2")
    assert result.status.value == "changed"
    assert target.read_text() == _KUSTOMIZATION.replace("v1.0.0", "v2")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kustomization.yaml"]


def test_promotion_bump_unchanged_does_not_replace_the_file(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_text(_KUSTOMIZATION)
    inode = target.stat().st_ino
    assert bump([target], "ghcr.io/acme/web:v1.0.0").status.value == "unchanged"
    assert target.stat().st_ino == inode


def test_promotion_bump_refusal_in_a_later_file_writes_none(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "kustomization.yaml", tmp_path / "b" / "kustomization.yaml"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text(_KUSTOMIZATION)
    pinned = _KUSTOMIZATION + "  digest: sha256:" + "a" * 64 + "\n"
    second.write_text(pinned)
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        bump([first, second], "ghcr.io/acme/web:v2")
    assert first.read_text() == _KUSTOMIZATION
    assert second.read_text() == pinned
