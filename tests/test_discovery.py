"""Zero-config discovery: environment files by layout convention, and the path-escape check."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.discovery import (
    discover_targets,
    list_environments,
    normalize_relative,
    resolve_in_repo,
    search_directory,
)
from promoter.errors import PathEscapeError, TargetNotFoundError
from promoter.imageref import parse_image_ref

CONFIG_REPO = Path(__file__).resolve().parent.parent / "fixtures" / "configrepo"
WEB = parse_image_ref("ghcr.io/acme/web")


def found(root: Path, env: str, image: str) -> list[str]:
    return [
        p.relative_to(root).as_posix() for p in discover_targets(root, env, parse_image_ref(image))
    ]


def write(root: Path, relative: str, text: str = "image: ghcr.io/acme/web:1.0\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the demo config repo, as if it had no promoter.yaml -------------------------------------


@pytest.mark.parametrize(
    ("env", "image", "expected"),
    [
        ("dev", "ghcr.io/acme/web", ["apps/web/overlays/dev/kustomization.yaml"]),
        (
            "staging",
            "ghcr.io/acme/web:1.4.3",
            [
                "apps/web/overlays/staging/kustomization.yaml",
                "clusters/staging/flux-image-marker.yaml",
            ],
        ),
        ("production", "ghcr.io/acme/web", ["apps/web/overlays/production/kustomization.yaml"]),
        ("dev", "ghcr.io/acme/api", ["charts/api/values-dev.yaml"]),
        ("staging", "ghcr.io/acme/api", ["charts/api/values-staging.yaml"]),
        ("production", "ghcr.io/acme/api:2.4.0", ["charts/api/values-production.yaml"]),
        ("production", "ghcr.io/acme/worker", ["apps/worker/production/deployment.yaml"]),
    ],
)
def test_discover_targets_config_repo(env: str, image: str, expected: list[str]) -> None:
    assert found(CONFIG_REPO, env, image) == expected


def test_discover_targets_config_repo_aliases() -> None:
    assert found(CONFIG_REPO, "prod", "ghcr.io/acme/web") == [
        "apps/web/overlays/production/kustomization.yaml"
    ]
    assert found(CONFIG_REPO, "stage", "ghcr.io/acme/api") == ["charts/api/values-staging.yaml"]


def test_list_environments_config_repo() -> None:
    assert list_environments(CONFIG_REPO) == ["dev", "production", "staging"]


def test_discover_targets_unknown_environment_lists_known() -> None:
    with pytest.raises(TargetNotFoundError) as info:
        discover_targets(CONFIG_REPO, "qa", WEB)
    assert str(info.value) == (
        f"no files for environment 'qa' in {CONFIG_REPO}; "
        "environments found: dev, production, staging"
    )
    assert info.value.exit_code == 2


def test_discover_targets_misspelt_environment_hints() -> None:
    with pytest.raises(TargetNotFoundError) as info:
        discover_targets(CONFIG_REPO, "producton", WEB)
    assert str(info.value) == (
        f"no files for environment 'producton' in {CONFIG_REPO}; "
        "environments found: dev, production, staging (did you mean 'production'?)"
    )


def test_discover_targets_image_in_no_file_of_environment() -> None:
    with pytest.raises(TargetNotFoundError) as info:
        discover_targets(CONFIG_REPO, "dev", parse_image_ref("ghcr.io/acme/worker"))
    assert str(info.value) == (
        f"no file for environment 'dev' in {CONFIG_REPO} mentions 'worker' (looked at "
        "apps/web/overlays/dev/kustomization.yaml, charts/api/values-dev.yaml)"
    )


# --- conventions on a tree of their own ------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative in (
        "charts/web/values-staging.yaml",
        "charts/web/values.staging.yaml",
        "charts/web/staging-values.yaml",
        "envs/staging/web.yaml",
        "clusters/staging/apps/deep/web.yml",
        "staging/Kustomization",
        "deploy/staging.yaml",
        "deploy/web-staging.yaml",
        # not staging
        "envs/dev/web.yaml",
        "charts/web/values-pre-staging.yaml",
        "staging-tools/web.yaml",
        "apps/web/base/deployment.yaml",
        ".github/staging/web.yaml",
        "envs/.hidden/staging/web.yaml",
        "envs/staging/.web.yaml",
        "envs/staging/notes.txt",
    ):
        write(root, relative)
    write(root, ".git/staging.yaml")
    write(root, "envs/staging/other.yaml", "image: ghcr.io/acme/webhook:1.0\n")
    write(root, "envs/staging/Chart.yaml", "name: web\n")
    return root


def test_discover_targets_staging_conventions(tree: Path) -> None:
    assert found(tree, "staging", "ghcr.io/acme/web") == [
        "charts/web/staging-values.yaml",
        "charts/web/values-staging.yaml",
        "charts/web/values.staging.yaml",
        "clusters/staging/apps/deep/web.yml",
        "deploy/staging.yaml",
        "deploy/web-staging.yaml",
        "envs/staging/web.yaml",
        "staging/Kustomization",
    ]


def test_discover_targets_values_override_screened_through_chart_values(tmp_path: Path) -> None:
    write(tmp_path, "charts/api/values.yaml", "image:\n  repository: ghcr.io/acme/api\n")
    write(tmp_path, "charts/api/values-staging.yaml", "image:\n  tag: 2.4.0\n")
    write(tmp_path, "charts/other/values.yaml", "image:\n  repository: ghcr.io/acme/other\n")
    write(tmp_path, "charts/other/values-staging.yaml", "image:\n  tag: 2.4.0\n")
    write(tmp_path, "envs/staging/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n")
    assert found(tmp_path, "staging", "ghcr.io/acme/api") == ["charts/api/values-staging.yaml"]


def test_discover_targets_hyphenated_environment(tmp_path: Path) -> None:
    write(tmp_path, "values-prod-eu.yaml")
    write(tmp_path, "values-prod.yaml")
    write(tmp_path, "overlays/prod-eu/kustomization.yaml")
    assert found(tmp_path, "prod-eu", "ghcr.io/acme/web") == [
        "overlays/prod-eu/kustomization.yaml",
        "values-prod-eu.yaml",
    ]
    assert found(tmp_path, "prod", "ghcr.io/acme/web") == ["values-prod.yaml"]


def test_discover_targets_exact_name_wins_over_alias(tmp_path: Path) -> None:
    write(tmp_path, "overlays/prod/kustomization.yaml")
    write(tmp_path, "overlays/production/kustomization.yaml")
    assert found(tmp_path, "prod", "ghcr.io/acme/web") == ["overlays/prod/kustomization.yaml"]
    assert found(tmp_path, "production", "ghcr.io/acme/web") == [
        "overlays/production/kustomization.yaml"
    ]


def test_discover_targets_alias_only_when_no_file_matches(tmp_path: Path) -> None:
    write(tmp_path, "envs/staging/web.yaml", "kind: ConfigMap\n")
    write(tmp_path, "envs/stage/web.yaml")
    with pytest.raises(TargetNotFoundError, match="mentions 'web'"):
        discover_targets(tmp_path, "staging", WEB)


def test_discover_targets_skips_symlinks_out_of_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write(outside, "web.yaml")
    write(outside, "staging/web.yaml")
    write(root, "envs/staging/web.yaml")
    (root / "envs/staging/linked.yaml").symlink_to(outside / "web.yaml")
    (root / "envs/staging/linkdir").symlink_to(outside, target_is_directory=True)
    (root / "staging").symlink_to(outside / "staging", target_is_directory=True)
    (root / "envs/staging/inside.yaml").symlink_to(root / "envs/staging/web.yaml")
    assert found(root, "staging", "ghcr.io/acme/web") == [
        "envs/staging/inside.yaml",
        "envs/staging/web.yaml",
    ]


def test_discover_targets_token_is_a_whole_name(tmp_path: Path) -> None:
    write(tmp_path, "envs/dev/a.yaml", "apiVersion: v1\nimage: ghcr.io/acme/api-gateway:1\n")
    write(tmp_path, "envs/dev/b.yaml", "image: 'ghcr.io/acme/api:1'\n")
    write(tmp_path, "envs/dev/c.yaml", "image:\n  repository: acme/api\n")
    assert found(tmp_path, "dev", "ghcr.io/acme/api") == ["envs/dev/b.yaml", "envs/dev/c.yaml"]


def test_discover_targets_docker_hub_short_name(tmp_path: Path) -> None:
    write(tmp_path, "envs/dev/a.yaml", "image: nginx:1.27\n")
    assert found(tmp_path, "dev", "docker.io/library/nginx") == ["envs/dev/a.yaml"]


def test_list_environments_conventions(tree: Path) -> None:
    write(tree, "overlays/base/kustomization.yaml")
    write(tree, "overlays/canary/kustomization.yaml")
    write(tree, "environments/eu-west/web.yaml")
    write(tree, "charts/web/values-qa.yaml")
    write(tree, "charts/web/prod.values.yaml")
    write(tree, "clusters/prod-eu-1/flux-system/gotk-sync.yaml")
    assert list_environments(tree) == [
        "canary",
        "dev",
        "eu-west",
        "pre-staging",
        "prod",
        "prod-eu-1",
        "qa",
        "staging",
    ]


def test_list_environments_empty_repo(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# nothing\n")
    assert list_environments(tmp_path) == []
    with pytest.raises(TargetNotFoundError) as info:
        discover_targets(tmp_path, "dev", WEB)
    assert (
        str(info.value) == f"no files for environment 'dev' in {tmp_path}; environments found: none"
    )


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


def test_search_directory_relative_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CONFIG_REPO)
    assert search_directory(Path("."), "clusters/staging", WEB) == [
        Path("clusters/staging/flux-image-marker.yaml")
    ]
    assert discover_targets(Path("."), "production", WEB) == [
        Path("apps/web/overlays/production/kustomization.yaml")
    ]


def test_search_directory_missing(tmp_path: Path) -> None:
    with pytest.raises(TargetNotFoundError) as info:
        search_directory(tmp_path, "clusters/qa", WEB)
    assert str(info.value) == f"directory 'clusters/qa' not found in {tmp_path}"


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
