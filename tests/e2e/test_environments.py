"""End to end through a real clone: zero-config environments, refusals that write nothing,
multi-environment atomicity, and messages that name the user's repository, never a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

from .conftest import Promoter, add_hook, fixture_files, refs, rev, show, touched

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop:1.0.0
"""
OVERLAYS = {
    "base/deployment.yaml": DEPLOYMENT.encode(),
    "base/kustomization.yaml": b"resources:\n  - deployment.yaml\n",
    "overlays/dev/kustomization.yaml": b"resources:\n  - ../../base\n",
    "overlays/pre-prod/kustomization.yaml": b"resources:\n  - ../../base\n",
    "overlays/prod/kustomization.yaml": b"# prod\nresources:\n  - ../../base\n",
}


@pytest.fixture
def zero_config(tmp_path: Path) -> Path:
    """The fixture config repo without promoter.yaml, as a bare repository."""
    files = {k: v for k, v in fixture_files().items() if k != "promoter.yaml"}
    return make_bare_repo(tmp_path / "srv", "config.git", files)


@pytest.fixture
def overlays(tmp_path: Path) -> Path:
    return make_bare_repo(tmp_path / "srv", "shop.git", OVERLAYS)


def assert_refused(run_stderr: str, returncode: int, tmpdir: Path) -> str:
    assert returncode == 2, run_stderr
    lines = run_stderr.strip().splitlines()
    assert len(lines) == 1, run_stderr
    assert "Traceback" not in run_stderr
    assert str(tmpdir) not in run_stderr
    assert "/tree-" not in run_stderr
    return lines[0]


def test_promote_zero_config_http_edits_own_setting_then_unchanged(
    promoter: Promoter, zero_config: Path
) -> None:
    with GitHttpServer(zero_config.parent, token="s3cret-e2e-token") as server:
        url = server.repo_url("config.git")
        args = ("--config-repo", url, "--env", "staging", "--image", "ghcr.io/acme/api:2.9.0")
        first = promoter.run(*args, "--mode", "push", "--output", "json").ok().json()
        assert first["status"] == "changed"
        assert touched(zero_config, "main") == ["charts/api/values-staging.yaml"]
        again = promoter.run(*args, "--mode", "push", "--output", "json").ok().json()
    assert again["status"] == "unchanged"
    assert server.errors == []


def test_promote_zero_config_inherited_image_inserts_override(
    promoter: Promoter, overlays: Path
) -> None:
    promoter.token = None
    args = ("--config-repo", str(overlays), "--env", "prod", "--image", "ghcr.io/acme/shop:1.1.0")
    report = promoter.run(*args, "--mode", "push", "--output", "json").ok().json()
    assert report["status"] == "changed"
    assert touched(overlays, "main") == ["overlays/prod/kustomization.yaml"]
    text = show(overlays, "main", "overlays/prod/kustomization.yaml")
    assert text.startswith("# prod\nresources:\n  - ../../base\n")
    assert "name: ghcr.io/acme/shop" in text
    assert "1.1.0" in text
    head = rev(overlays, "main")
    again = promoter.run(*args, "--mode", "push", "--output", "json").ok().json()
    assert again["status"] == "unchanged"
    assert rev(overlays, "main") == head


def test_promote_multi_env_second_unknown_pushes_nothing(
    promoter: Promoter, zero_config: Path
) -> None:
    promoter.token = None
    before = refs(zero_config)
    run = promoter.run(
        "--config-repo",
        str(zero_config),
        "--env",
        "dev",
        "--env",
        "stagin",
        "--image",
        "ghcr.io/acme/api:2.9.0",
        "--mode",
        "push",
    )
    line = assert_refused(run.stderr, run.returncode, promoter.tmpdir)
    assert "'stagin'" in line
    assert "did you mean 'staging'?" in line
    assert refs(zero_config) == before
    assert promoter.leftovers() == []


@pytest.mark.parametrize(
    ("env", "image", "expected"),
    [
        ("qa", "ghcr.io/acme/web:9.9.9", "no files for environment 'qa'"),
        ("dev", "ghcr.io/acme/worker:9.9.9", "apps/worker/production/deployment.yaml:"),
        ("staging", "ghcr.io/acme/nothing:9.9.9", "no file of the repository references"),
    ],
)
def test_promote_refusal_names_repository_paths_only(
    promoter: Promoter, zero_config: Path, env: str, image: str, expected: str
) -> None:
    promoter.token = None
    before = refs(zero_config)
    for output in ("text", "json"):
        run = promoter.run(
            "--config-repo", str(zero_config), "--env", env, "--image", image, "--output", output
        )
        line = assert_refused(run.stderr, run.returncode, promoter.tmpdir)
        assert expected in line
        assert str(promoter.tmpdir) not in run.stdout
        if output == "json":
            assert run.json()["status"] == "error"
    assert refs(zero_config) == before


def test_promote_failure_after_a_push_reports_every_environment(
    promoter: Promoter, zero_config: Path
) -> None:
    """The second environment's push is refused by the server: the first has landed."""
    promoter.token = None
    marker = zero_config.parent / "pushed-once"
    add_hook(
        zero_config,
        "pre-receive",
        f'if [ -e "{marker}" ]; then echo "frozen by policy" >&2; exit 1; fi\n'
        f'touch "{marker}"\n',
    )
    run = promoter.run(
        "--config-repo",
        str(zero_config),
        "--env",
        "dev",
        "--env",
        "staging",
        "--image",
        "ghcr.io/acme/api:2.9.0",
        "--mode",
        "push",
        "--output",
        "json",
    )
    assert run.returncode == 1, run.stderr
    report = run.json()
    assert report["status"] == "error"
    assert [e["env"] for e in report["environments"]] == ["dev"]
    assert report["environments"][0]["pushed"] is True
    assert report["changes"]
    assert "already landed: dev changed" in report["error"]["message"]
    assert touched(zero_config, "main") == ["charts/api/values-dev.yaml"]


def test_explain_zero_config_json(promoter: Promoter, overlays: Path) -> None:
    promoter.token = None
    run = promoter.run(
        "explain",
        "--config-repo",
        str(overlays),
        "--env",
        "prod",
        "--env",
        "pre-prod",
        "--image",
        "ghcr.io/acme/shop:1.1.0",
        "--output",
        "json",
    ).ok()
    report = run.json()
    assert report["environments_found"] == ["dev", "pre-prod", "prod"]
    prod, pre_prod = report["explanations"]
    assert prod["entry_points"] == ["overlays/prod/kustomization.yaml"]
    assert prod["settings"] == [
        {
            "path": "base/deployment.yaml",
            "line": 10,
            "owned": False,
            "shared_by": ["overlays/prod", "overlays/dev", "overlays/pre-prod"],
        }
    ]
    assert [a["action"] for a in prod["actions"]] == ["insert-images"]
    assert pre_prod["entry_points"] == ["overlays/pre-prod/kustomization.yaml"]
    assert promoter.leftovers() == []


def test_promote_zero_config_wide_monorepo_lists_a_shared_sibling_on_demand(
    promoter: Promoter, tmp_path: Path
) -> None:
    """`apps/` holds 40 apps: siblings of `apps/shop` are not listed up front, but the
    shared base its overlay reaches is, when reached; and the shop overlay gets its entry."""
    files = {
        f"apps/app-{i:02d}/overlays/prod/kustomization.yaml": b"resources: []\n" for i in range(40)
    }
    files["apps/shared/base/deployment.yaml"] = DEPLOYMENT.encode()
    files["apps/shared/base/kustomization.yaml"] = b"resources:\n  - deployment.yaml\n"
    for env in ("dev", "prod"):
        files[f"apps/shop/overlays/{env}/kustomization.yaml"] = (
            b"resources:\n  - ../../../shared/base\n"
        )
    bare = make_bare_repo(tmp_path / "srv", "mono.git", files)
    promoter.token = None
    args = ("--config-repo", str(bare), "--env", "prod", "--image", "ghcr.io/acme/shop:1.1.0")
    report = promoter.run(*args, "--mode", "push", "--output", "json").ok().json()
    assert report["status"] == "changed"
    assert touched(bare, "main") == ["apps/shop/overlays/prod/kustomization.yaml"]
    assert "newTag: 1.1.0" in show(bare, "main", "apps/shop/overlays/prod/kustomization.yaml")
