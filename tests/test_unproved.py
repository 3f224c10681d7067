"""Plans that skip the proof (`Options(prove=False)`, what `status` and `plan` read with)
find and splice exactly what a proved plan does, and are never committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from promoter.imageref import parse_image_ref
from promoter.promotion import steps
from promoter.promotion.requests import RepositoryRef
from promoter.promotion.unit import Unit
from promoter.promotion.workspace import Options, open_workspace

CONFIG = b"""version: 1
environments:
  staging: {mode: push}
apps:
  web:
    image: ghcr.io/acme/web
    targets:
      staging: {kustomize: apps/web/staging/kustomization.yaml}
"""
OVERLAY = b"""# staging overlay
resources: [../base]
images:
  - name: ghcr.io/acme/web
    newTag: '1.4.1'   # bumped by CI
"""


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)  # fmt: skip


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "apps/web/staging").mkdir(parents=True)
    (work / "promoter.yaml").write_bytes(CONFIG)
    (work / "apps/web/staging/kustomization.yaml").write_bytes(OVERLAY)
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    bare = tmp_path / "remote.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare


def _plan(remote: Path, options: Options) -> tuple[bytes, str]:
    """The planned bytes of the overlay and the commit attempt's outcome."""
    unit = Unit("staging", "web", (parse_image_ref("ghcr.io/acme/web:1.5.0"),))
    with open_workspace(RepositoryRef(remote.as_uri()), options) as ws:
        checkout = steps.check_out(ws, "staging", fresh=False)
        planned = steps.plan(ws, checkout, unit)
        (data,) = planned.plan.changed_files().values()
        try:
            commit = steps.commit(ws, planned, steps.build_tree(planned))
        except AssertionError as refused:
            return data, f"refused: {refused}"
        return data, f"committed {commit[:7]}"


def test_an_unproved_plan_splices_the_same_bytes_and_is_never_committed(remote: Path) -> None:
    proved, landed = _plan(remote, Options(dry_run=False, mode="push"))
    unproved, refused = _plan(remote, Options(dry_run=False, mode="push", prove=False))
    assert proved == unproved == OVERLAY.replace(b"'1.4.1'", b"'1.5.0'")
    assert landed.startswith("committed ")
    assert refused == "refused: a workspace whose plans are not proved never commits"
