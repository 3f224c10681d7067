"""One test per case of shared/realworld/cases.jsonl: `promote` judged by the render oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .oracle import find_shared, judge, load_cases, skip_reason

SHARED = find_shared()
CASES = load_cases(SHARED)


@pytest.mark.parametrize("case", CASES, ids=[str(case["id"]) for case in CASES])
def test_realworld_case(case: dict[str, Any], tmp_path: Path) -> None:
    reason = skip_reason(case, SHARED)
    if reason is not None:
        pytest.skip(reason)
    verdict = judge(case, SHARED, tmp_path)
    assert verdict.passed, f"{verdict.outcome}: {verdict.reason}"
