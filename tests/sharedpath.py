"""Where `../shared` is: beside the repository, and nowhere else.

STYLE: tests read shared/ through `../shared` relative to the repository and skip with a
reason where it is absent, never through a machine path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def require(*parts: str) -> Path:
    """`SHARED/parts`, or skip the calling test saying what is missing and where."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{'/'.join(('..', 'shared', *parts))} not found beside the repository")
    return path
