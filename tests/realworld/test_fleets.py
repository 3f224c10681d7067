"""The render oracle over the project's own real-shaped repositories (`fixtures/fleets/`).

Each repository reproduces a shape seen on real fleets (SOPS secrets per environment, a
chart's `templates/` beside its values, an `images:` entry over a digest-pinned base,
`<env>/base` over per-cluster leaves, a vendored chart with variant values files, a helmfile
with `environments:`, an ApplicationSet matrix generator with `valueFiles`); its cases are
judged exactly like shared/realworld's, minimal-diff check included.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from .oracle import find_shared, judge, load_fleet_cases

CASES = load_fleet_cases()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("case", CASES, ids=[str(case["id"]) for case in CASES])
def test_fleet_case(case: dict[str, Any], tmp_path: Path) -> None:
    verdict = judge(case, find_shared(), tmp_path)
    assert verdict.passed, f"{verdict.outcome}: {verdict.reason}"
