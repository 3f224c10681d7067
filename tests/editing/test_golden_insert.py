"""Golden insertions: `fixtures/edits/insert-*/` adds an `images:` entry or a values key path.

A case's `case.json`:
  {"function": "images", "file": "kustomization.yaml",
   "entries": [{"name": "ghcr.io/acme/web", "new_tag": "1.10"}], "render": true}
  {"function": "value", "file": "values.yaml", "doc": 0, "path": ["image", "tag"],
   "value": "1.10"}
The bytes must equal `expected/`; with `"error"`, the insertion is refused and nothing comes
back. Re-parsing must show the old data plus exactly the new entry or leaf, and a
kustomization marked `render` is built with `kubectl kustomize`: every container of the
image must carry the new tag.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from promoter.editing.insert import ImageEntry, insert_image_entries, insert_value
from promoter.editing.source import parse_bytes, to_data
from promoter.errors import InputError

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "edits"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.glob("insert-*") if (p / "case.json").is_file())


def _run(spec: dict[str, Any], raw: bytes) -> bytes:
    name = spec["file"]
    if spec["function"] == "images":
        entries = [
            ImageEntry(e["name"], e.get("new_tag"), e.get("digest")) for e in spec["entries"]
        ]
        return insert_image_entries(raw, name, entries).after
    return insert_value(raw, name, spec["doc"], spec["path"], spec["value"]).after


def _expected_data(spec: dict[str, Any], before: list[Any]) -> list[Any]:
    data = copy.deepcopy(before)
    if spec["function"] == "images":
        index = next(i for i, d in enumerate(data) if isinstance(d, dict))
        listed = data[index].get("images")
        listed = listed if isinstance(listed, list) else []
        data[index]["images"] = [
            *listed,
            *(
                {
                    key: value
                    for key, value in (
                        ("name", e["name"]),
                        ("newTag", e.get("new_tag")),
                        ("digest", e.get("digest")),
                    )
                    if value is not None
                }
                for e in spec["entries"]
            ),
        ]
        return data
    if not data:
        data = [None]
    if data[spec["doc"]] is None:
        data[spec["doc"]] = {}
    node = data[spec["doc"]]
    for key in spec["path"][:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[spec["path"][-1]] = spec["value"]
    return data


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_insert_case(case: Path, tmp_path: Path) -> None:
    spec = json.loads((case / "case.json").read_text())
    raw = (case / "input" / spec["file"]).read_bytes()
    if spec.get("error"):
        with pytest.raises(InputError) as info:
            _run(spec, raw)
        assert spec["error"] in str(info.value)
        return
    after = _run(spec, raw)
    assert after == (case / "expected" / spec["file"]).read_bytes(), case.name
    before_data = to_data(parse_bytes(raw, spec["file"]))
    after_data = to_data(parse_bytes(after, spec["file"]))
    assert after_data == _expected_data(spec, before_data)
    # A pure insertion: the old bytes are a prefix and a suffix of the new ones.
    pairs = zip(raw, after, strict=False)
    prefix = next((i for i, (a, b) in enumerate(pairs) if a != b), len(raw))
    reverse = zip(reversed(raw), reversed(after), strict=False)
    suffix = next((i for i, (a, b) in enumerate(reverse) if a != b), len(raw))
    assert prefix + suffix >= len(raw), "bytes outside the insertion changed"
    if spec.get("render"):
        _check_render(case, spec, tmp_path)


def _check_render(case: Path, spec: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    work = tmp_path / "render"
    shutil.copytree(case / "expected", work)
    done = subprocess.run(
        ["kubectl", "kustomize", str(work)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    images = [
        line.split("image:", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.strip().removeprefix("- ").startswith("image:")
    ]
    for entry in spec["entries"]:
        name = entry["name"]
        ours = [i for i in images if i.rsplit(":", 1)[0] == name]
        assert ours, f"{name} not rendered: {images}"
        assert all(i == f"{name}:{entry['new_tag']}" for i in ours), images


def test_golden_insert_cases_exist() -> None:
    assert len(_cases()) >= 16
