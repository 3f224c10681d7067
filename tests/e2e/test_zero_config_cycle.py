"""The whole promotion cycle on a config repository as it is: no promoter.yaml (and the
same with a promoter.yaml naming only images), over real git and loopback smart HTTP.

Kustomize overlays on a base that production inherits, Helm values per environment, raw
manifests per environment directory; dev → staging → production inferred from the names.
status, plan, `--from staging --to production --all`, a scheduled rerun, why, a rollback
that sticks and its release, each checked against what the repository then holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

from .conftest import TOKEN, Promoter, Run, git, show

WEB_BASE = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
    "    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n"
)
FILES = {
    "apps/web/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "apps/web/base/deployment.yaml": WEB_BASE,
    "apps/web/overlays/dev/kustomization.yaml": (
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.3.0\n"
    ),
    "apps/web/overlays/staging/kustomization.yaml": (
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.2.0\n"
    ),
    "apps/web/overlays/production/kustomization.yaml": (
        "# production runs the base's version\nresources:\n  - ../../base\n"
    ),
    "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    "charts/api/values.yaml": (
        'replicaCount: 1\nimage:\n  repository: ghcr.io/acme/api\n  tag: "2.0.0"\n'
    ),
    "charts/api/values-dev.yaml": 'image:\n  tag: "2.2.0"\n',
    "charts/api/values-staging.yaml": 'replicaCount: 2\nimage:\n  tag: "2.1.0"  # staged\n',
    "charts/api/values-production.yaml": 'replicaCount: 3\nimage:\n  tag: "2.0.0"\n',
    "charts/api/templates/deployment.yaml": (
        'image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    ),
}
for _env, _version in (("dev", "0.3.0"), ("staging", "0.2.0"), ("production", "0.1.0")):
    FILES[f"worker/{_env}/deployment.yaml"] = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: worker\n"
        f"          image: ghcr.io/acme/worker:{_version}\n"
    )
IMAGES_ONLY = """version: 1
environments:
  dev: {}
  staging: {from: dev}
  production: {from: staging}
apps:
  web: {image: ghcr.io/acme/web}
  api: {image: ghcr.io/acme/api}
  worker: {image: ghcr.io/acme/worker}
"""
PRODUCTION = {
    "apps/web/overlays/production/kustomization.yaml",
    "charts/api/values-production.yaml",
    "worker/production/deployment.yaml",
}


@pytest.fixture(params=["no-config", "images-only"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    files = {path: text.encode() for path, text in FILES.items()}
    if request.param == "images-only":
        files["promoter.yaml"] = IMAGES_ONLY.encode()
    root = tmp_path / "srv"
    root.mkdir()
    bare = make_bare_repo(root, "config.git", files)
    with GitHttpServer(root, token=TOKEN) as server:
        yield server.repo_url("config.git"), bare
    assert server.errors == []


def _run(promoter: Promoter, url: str, *args: str, code: int = 0) -> Run:
    run = promoter.run(*args, "--config-repo", url)
    assert run.returncode == code, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run


def _versions(promoter: Promoter, url: str) -> dict[tuple[str, str], str]:
    report = _run(promoter, url, "status", "--output", "json").json()
    return {(c["app"], c["env"]): c["version"] for c in report["cells"]}


def _promote_all(promoter: Promoter, url: str, code: int = 0) -> dict[str, Any]:
    args = ("--from", "staging", "--to", "production", "--all", "--mode", "push")
    return _run(promoter, url, *args, "--output", "json", code=code).json()


def test_zero_config_cycle(remote: tuple[str, Path], promoter: Promoter) -> None:
    url, bare = remote
    before = _versions(promoter, url)
    assert before == {
        ("api", "dev"): "2.2.0", ("api", "staging"): "2.1.0", ("api", "production"): "2.0.0",
        ("web", "dev"): "1.3.0", ("web", "staging"): "1.2.0", ("web", "production"): "1.0.0",
        ("worker", "dev"): "0.3.0", ("worker", "staging"): "0.2.0",
        ("worker", "production"): "0.1.0",
    }  # fmt: skip

    matrix = json.loads(_run(promoter, url, "plan", "--to", "production", "--all",
                             "--output", "github-matrix").stdout)  # fmt: skip
    planned = sorted(app for entry in matrix["include"] for app in entry["apps"].split())
    assert planned == ["api", "web", "worker"]

    tip = git(bare, "rev-parse", "main").strip()
    report = _promote_all(promoter, url)
    assert {e["status"] for e in report["environments"]} == {"changed"}
    changed = set(git(bare, "diff", "--name-only", tip, "main").split())
    assert changed == PRODUCTION  # only production's own files, the shared base untouched
    after = _versions(promoter, url)
    for app in ("api", "web", "worker"):
        assert after[(app, "production")] == before[(app, "staging")]
        assert after[(app, "staging")] == before[(app, "staging")]
    diff = git(bare, "diff", "-U0", tip, "main", "--", "charts/api/values-production.yaml")
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]\
        == ['-  tag: "2.0.0"', '+  tag: "2.1.0"']  # fmt: skip
    inherited = show(bare, "main", "apps/web/overlays/production/kustomization.yaml")
    assert inherited.startswith("# production runs the base's version\nresources:\n")
    assert "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.2.0\n" in inherited

    rerun = _promote_all(promoter, url)  # the scheduled run again: nothing to do
    assert {e["status"] for e in rerun["environments"]} == {"unchanged"}

    why = _run(promoter, url, "why", "--env", "production", "--app", "web", "--output", "json")
    link = json.loads(why.stdout)["links"][0]
    web_commit = next(
        e["commit"]
        for e in report["environments"]
        if any(c["image"] == "ghcr.io/acme/web" for c in e["changes"])
    )
    assert link["config_commit"] == web_commit
    assert link["version"] == "1.2.0"

    # A rollback restores the previous version and holds it: the next --all leaves it.
    rolled = _run(promoter, url, "--env", "production", "--app", "worker", "--rollback",
                  "--mode", "push", "--output", "json").json()  # fmt: skip
    (env,) = rolled["environments"]
    assert [(c["old"], c["new"]) for c in env["changes"]] == [
        ("ghcr.io/acme/worker:0.2.0", "ghcr.io/acme/worker:0.1.0")
    ]
    assert "worker" in show(bare, "main", ".promoter/holds.yaml")
    held = _promote_all(promoter, url, code=3)
    assert sorted(e["status"] for e in held["environments"]) == [
        "blocked", "unchanged", "unchanged"
    ]  # fmt: skip
    assert any("hold: worker is held at 0.1.0" in (e["skip_reason"] or "")
               for e in held["environments"])  # fmt: skip
    worker = "worker/production/deployment.yaml"
    assert "ghcr.io/acme/worker:0.1.0" in show(bare, "main", worker)
    _run(promoter, url, "release-hold", "--env", "production", "--app", "worker",
         "--mode", "push")  # fmt: skip
    assert "worker" not in show(bare, "main", ".promoter/holds.yaml")
    _promote_all(promoter, url)
    assert "ghcr.io/acme/worker:0.2.0" in show(bare, "main", worker)
