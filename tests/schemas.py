"""check-jsonschema's builtin schemas (GitHub workflows and actions, GitLab CI), run on a
file the way CI linting would: the one place tests call it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def check_builtin(schema: str, path: Path) -> None:
    """Assert that `path` validates against check-jsonschema's builtin `schema`."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    assert checker.exists(), "check-jsonschema is a test dependency; reinstall with '.[test]'"
    done = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
