"""Golden tests: each `fixtures/edits/<case>/` edits `input/`; the bytes must equal `expected/`.

A case is a folder with `case.json`:
  {"image": "ghcr.io/acme/web:1.4.2", "files": ["values-staging.yaml"],
   "key": null, "setter": null, "error": null}
`input/` holds the files (plus any context such as the chart's `values.yaml`);
`expected/` holds the edited files. With `"error": "text"`, the edit must be refused with a
message containing that text, and the input must stay byte-identical. Each file goes
through `promotion.bump`: the plan, edit and atomic write that `promote` itself uses.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.promotion import bump

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "edits"


def _cases() -> list[Path]:
    return sorted(
        p
        for p in CASES.iterdir()
        if (p / "case.json").is_file() and not p.name.startswith("insert-")
    )


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_case(case: Path, tmp_path: Path) -> None:
    spec = json.loads((case / "case.json").read_text())
    work = tmp_path / "work"
    shutil.copytree(case / "input", work)
    options = {"key": spec.get("key"), "setter": spec.get("setter")}
    for name in spec["files"]:
        target = work / name
        before = target.read_bytes()
        if spec.get("error"):
            with pytest.raises(InputError) as info:
                bump([target], spec["image"], **options)
            assert spec["error"] in str(info.value)
            assert target.read_bytes() == before
            continue
        bump([target], spec["image"], **options)
        expected = (case / "expected" / name).read_bytes()
        assert target.read_bytes() == expected, f"{case.name}/{name} differs from golden"


def test_golden_cases_exist() -> None:
    assert len(_cases()) >= 1
