"""The reader and ownership that discovery and overrides share: reads, parses, whose a file is."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from promoter.editing import BumpRequest
from promoter.environments import DirectoryFiles
from promoter.environments.ownership import Ownership
from promoter.environments.reader import Reader
from promoter.errors import YamlError
from promoter.imageref import parse_image_ref

REQUEST = BumpRequest(parse_image_ref("ghcr.io/acme/web:2"))


class CountingFiles(DirectoryFiles):
    """A directory that records each batch read from it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.batches: list[list[str]] = []

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        batch = list(paths)
        self.batches.append(batch)
        return super().read(batch)


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_reader_read_batches_only_listed_unread_paths(tmp_path: Path) -> None:
    write(tmp_path, {"base/kustomization.yaml": "resources: [deploy.yaml]\n", "a.yaml": "a: 1\n"})
    files = CountingFiles(tmp_path)
    reader = Reader(files)
    reader.read(["a.yaml", "missing.yaml", "a.yaml", "base/kustomization.yaml"])
    reader.read(["a.yaml"])
    assert files.batches == [["a.yaml", "base/kustomization.yaml"]]
    assert "base/kustomization.yaml" in reader.graph.nodes


def test_reader_parse_error_noted_once_and_raised_only_when_strict(tmp_path: Path) -> None:
    write(tmp_path, {"values-staging.yaml": "image: [unclosed web\n"})
    reader = Reader(DirectoryFiles(tmp_path))
    reader.read(["values-staging.yaml"])
    assert reader.find("values-staging.yaml", REQUEST) == []
    with pytest.raises(YamlError):
        reader.find("values-staging.yaml", REQUEST, strict=True)
    assert len(reader.notes) == 1


def test_reader_invalid_file_not_mentioning_the_image_is_skipped_even_strict(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"values-staging.yaml": "slack: [unclosed\n"})
    reader = Reader(DirectoryFiles(tmp_path))
    reader.read(["values-staging.yaml"])
    assert reader.find("values-staging.yaml", REQUEST, strict=True) == []
    assert reader.skipped["values-staging.yaml"].startswith("not YAML")


def test_ownership_shared_file_has_other_readers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "overlays/staging/kustomization.yaml": "resources: [../../staging/patch.yaml]\n",
            "overlays/prod/kustomization.yaml": "resources: [../../staging/patch.yaml]\n",
            "staging/patch.yaml": "a: 1\n",
        },
    )
    reader = Reader(DirectoryFiles(tmp_path))
    reader.read(reader.all_paths)
    owner = Ownership(reader, "staging", "web", ("prod", "staging"))
    entries = ["overlays/staging/kustomization.yaml"]
    assert owner.owns("staging/patch.yaml")
    assert owner.other_readers("staging/patch.yaml", entries) == [
        "overlays/prod/kustomization.yaml"
    ]
    assert owner.is_reached_by_others("staging/patch.yaml")
    assert not owner.owns("overlays/prod/kustomization.yaml")
