"""A fresh virtual environment for installing promoter the way a user or a CI job does.

It holds no promoter: only its dependencies are visible, through one `.pth` line naming a
directory of links to this test environment's site-packages, promoter's own entries (its
metadata, the editable install's hook) left out, so neither `import promoter` nor pip
finds any promoter but the one installed into it. pip installs into it offline: no index,
no build isolation (setuptools is among the linked packages).
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path


def create(path: Path) -> Path:
    """A venv at `path` seeing the test environment's dependencies; returns its `bin`."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    (lib,) = (path / "lib").glob("python*/site-packages")
    linked = path / "test-dependencies"
    linked.mkdir()
    for shared in (Path(p) for p in site.getsitepackages() if Path(p).is_dir()):
        for entry in shared.iterdir():
            own = entry.name.lower().startswith(("promoter", "__editable__"))
            if not own and not entry.name.endswith(".pth") and not (linked / entry.name).exists():
                (linked / entry.name).symlink_to(entry)
    (lib / "promoter-test-dependencies.pth").write_text(f"{linked}\n")
    return path / "bin"


def checkout_files(root: Path) -> dict[str, bytes]:
    """The files of the checkout at `root` as a clone of it would hold them: tracked ones
    and new ones git does not ignore (what a release tag of this working tree would be)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True,
        check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    return {p: (root / p).read_bytes() for p in listed if p and (root / p).is_file()}


def pip_environment() -> dict[str, str]:
    """Variables that make pip work offline against the dependencies already visible."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this variable inverted: 0 = no isolation
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
    }


def clean_environment(home: Path, bin_dir: Path) -> dict[str, str]:
    """A job's environment: the fresh venv first on PATH, no promoter or git settings
    inherited from the developer's shell."""
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR", "TERM")}
    return keep | {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home)}


def pip_install(bin_dir: Path, requirement: str, env: dict[str, str]) -> None:
    """`python -m pip install requirement` into the fresh venv, with this environment's
    pip (the fresh one has none)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
         "--quiet", "--no-deps", requirement],
        env=env | pip_environment(), check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
