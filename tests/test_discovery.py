"""`directory:` targets and the path-escape check (zero-config discovery: tests/environments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.discovery import (
    normalize_relative,
    resolve_in_repo,
    search_directory,
)
from promoter.errors import PathEscapeError, TargetNotFoundError
from promoter.imageref import parse_image_ref

CONFIG_REPO = Path(__file__).resolve().parent.parent / "promoter" / "demo_repo"
WEB = parse_image_ref("ghcr.io/acme/web")


def write(root: Path, relative: str, text: str = "image: ghcr.io/acme/web:1.0\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- directory targets -----------------------------------------------------------------------


def test_search_directory_finds_files_mentioning_image() -> None:
    assert search_directory(CONFIG_REPO, "clusters/staging", WEB) == [
        CONFIG_REPO / "clusters/staging/flux-image-marker.yaml"
    ]
    assert search_directory(CONFIG_REPO, "./apps/web/", WEB) == [
        CONFIG_REPO / "apps/web/base/deployment.yaml",
        CONFIG_REPO / "apps/web/base/service.yaml",
        CONFIG_REPO / "apps/web/overlays/dev/kustomization.yaml",
        CONFIG_REPO / "apps/web/overlays/production/kustomization.yaml",
        CONFIG_REPO / "apps/web/overlays/staging/kustomization.yaml",
    ]


def test_search_directory_missing(tmp_path: Path) -> None:
    with pytest.raises(TargetNotFoundError) as info:
        search_directory(tmp_path, "clusters/qa", WEB)
    assert str(info.value) == "directory 'clusters/qa' not found in the repository"


def test_search_directory_nothing_mentions_image(tmp_path: Path) -> None:
    write(tmp_path, "clusters/qa/a.yaml", "kind: Namespace\n")
    with pytest.raises(TargetNotFoundError) as info:
        search_directory(tmp_path, "clusters/qa", WEB)
    assert (
        str(info.value)
        == "no file under 'clusters/qa' mentions 'web' (looked at clusters/qa/a.yaml)"
    )


def test_search_directory_symlink_escape(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    write(tmp_path, "outside/web.yaml")
    (tmp_path / "repo" / "clusters").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(PathEscapeError):
        search_directory(tmp_path / "repo", "clusters", WEB)


# --- the path-escape check -------------------------------------------------------------------


def test_resolve_in_repo_plain_path(tmp_path: Path) -> None:
    assert resolve_in_repo(tmp_path, "./a//b.yaml") == tmp_path / "a" / "b.yaml"
    assert resolve_in_repo(tmp_path, ".") == tmp_path


def test_resolve_in_repo_keeps_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_in_repo(Path("."), "a/b.yaml") == Path("a/b.yaml")


def test_resolve_in_repo_symlink_inside_is_allowed(tmp_path: Path) -> None:
    write(tmp_path, "real/values.yaml")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real" / "values.yaml")
    assert resolve_in_repo(tmp_path, "link.yaml") == tmp_path / "link.yaml"


def test_resolve_in_repo_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "secrets.yaml").symlink_to("/etc/passwd")
    with pytest.raises(PathEscapeError) as info:
        resolve_in_repo(root, "secrets.yaml", field="apps.web.targets.dev.file")
    assert str(info.value) == (
        "apps.web.targets.dev.file: 'secrets.yaml' resolves outside the repository through a "
        "symlink"
    )


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        (
            "/etc/passwd",
            "expected a path relative to the repository root, got absolute '/etc/passwd'",
        ),
        ("C:/x.yaml", "expected a path relative to the repository root, got absolute 'C:/x.yaml'"),
        ("../x.yaml", "'../x.yaml' must stay inside the repository ('..' is not allowed)"),
        ("a/../../x", "'a/../../x' must stay inside the repository ('..' is not allowed)"),
        ("a\\b.yaml", "use '/' to separate directories in 'a\\\\b.yaml'"),
        ("", "expected a relative path, got an empty string"),
    ],
)
def test_resolve_in_repo_refuses_lexical_escapes(
    tmp_path: Path, relative: str, message: str
) -> None:
    with pytest.raises(PathEscapeError) as info:
        resolve_in_repo(tmp_path, relative)
    assert str(info.value) == message


def test_normalize_relative_cleans_path() -> None:
    assert normalize_relative("./a//b/") == "a/b"
    assert normalize_relative("a/./b.yaml") == "a/b.yaml"
    assert normalize_relative("./") == "."
