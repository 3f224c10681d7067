"""`--sign` uses the user's own git signing configuration (here an SSH key)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from promoter.promotion import Delivery, PromoteRequest, RepositoryRef, RetryPolicy, promote

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env
    ).stdout


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_promote_sign_uses_git_signing_config(tmp_path: Path) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    gitconfig = Path(os.environ["GIT_CONFIG_GLOBAL"])
    gitconfig.write_text(f"[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = {key}\n")
    work = tmp_path / "work"
    shutil.copytree(ROOT / "promoter/demo_repo", work)
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    remote = tmp_path / "remote.git"
    _git("clone", "-q", "--bare", str(work), str(remote), cwd=tmp_path)

    result = promote(
        PromoteRequest(
            RepositoryRef(str(remote)),
            envs=("staging",),
            images=("ghcr.io/acme/web:1.5.0",),
            delivery=Delivery(sign=True, retry=RetryPolicy(attempts=1)),
        )
    )

    commit = result.environments[0].commit
    assert commit is not None
    raw = _git("cat-file", "commit", commit, cwd=remote)
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in raw
    allowed = tmp_path / "allowed"
    allowed.write_text(
        f"promoter[bot]@users.noreply.github.com {(key.with_suffix('.pub')).read_text()}"
    )
    verified = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", commit],
        cwd=remote,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
