"""The listing's indexes (`layout.Layout`) answer exactly what discovery computed per
app before them, for any listing: the scope (wide directories' siblings left out) and the
files set aside; `inventory.app_names` likewise against its pairwise definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.config import CONFIG_NAMES
from promoter.environments import naming
from promoter.environments.inventory import app_names
from promoter.environments.layout import Layout, is_yaml, layout_of
from promoter.imageref import ImageRef, parse_image_ref
from promoter.tree import WIDE_DIRECTORY


def _scope_by_definition(paths: list[str], app: str) -> list[str]:
    """Discovery's scope as it was computed per app (before `Layout`)."""
    deployment = naming.deployment_paths(paths)
    yaml_paths = [p for p in deployment if p not in CONFIG_NAMES]
    children: dict[tuple[str, ...], set[str]] = {}
    for path in yaml_paths:
        parts = tuple(path.split("/")[:-1])
        for index in range(len(parts)):
            children.setdefault(parts[:index], set()).add(parts[index])
    parents = {p for p, names in children.items() if app in names and len(names) > WIDE_DIRECTORY}
    if not parents:
        return yaml_paths
    kept = []
    for path in yaml_paths:
        directories = path.split("/")[:-1]
        if not any(
            tuple(directories[:index]) in parents and directories[index] != app
            for index in range(len(directories))
        ):
            kept.append(path)
    return kept


def _monorepo(apps: int, nested: bool = False) -> list[str]:
    paths = ["promoter.yaml", "README.md", "clusters/staging/kustomization.yaml"]
    for index in range(apps):
        name = f"app-{index:03}"
        paths += [f"apps/{name}/base/kustomization.yaml", f"apps/{name}/base/deployment.yaml",
                  f"apps/{name}/staging/kustomization.yaml", f"apps/{name}/chart/Chart.yaml",
                  f"apps/{name}/chart/templates/deployment.yaml"]  # fmt: skip
        if nested:  # a wide directory inside each app's
            paths += [f"apps/{name}/jobs/job-{j:02}/job.yaml" for j in range(WIDE_DIRECTORY + 2)]
    return sorted(paths)


def test_scope_of_a_monorepo_is_the_apps_own_and_the_shared_files() -> None:
    paths = _monorepo(WIDE_DIRECTORY + 5)
    layout = Layout(paths)
    scope = layout.scope("app-007")
    assert scope == _scope_by_definition(paths, "app-007")
    assert "clusters/staging/kustomization.yaml" in scope
    assert all(p.startswith("apps/app-007/") for p in scope if p.startswith("apps/"))
    assert "apps/app-007/base/deployment.yaml" in scope
    # Not an app of the wide directory: everything is in scope.
    assert layout.scope("clusters") == _scope_by_definition(paths, "clusters")
    aside = layout.set_aside("app-007")
    assert aside == ["apps/app-007/chart/templates/deployment.yaml"]


def test_scope_with_wide_directories_inside_wide_directories() -> None:
    paths = _monorepo(WIDE_DIRECTORY + 2, nested=True)
    layout = Layout(paths)
    for app in ("app-000", "job-03", "app-033", "staging", "nothing"):
        assert layout.scope(app) == _scope_by_definition(paths, app), app


_SEGMENTS = st.sampled_from(["apps", "base", "staging", "prod", "a", "b", "c", "charts", "web"])


@st.composite
def _listings(draw: st.DrawFn) -> list[str]:
    """Listings with wide directories (many generated siblings) and random files."""
    paths: set[str] = set()
    for _ in range(draw(st.integers(0, 3))):
        parent = "/".join(draw(st.lists(_SEGMENTS, min_size=0, max_size=2)))
        count = draw(st.integers(WIDE_DIRECTORY - 1, WIDE_DIRECTORY + 3))
        file = draw(st.sampled_from(["kustomization.yaml", "values.yaml", "x/deploy.yml"]))
        for index in range(count):
            paths.add(f"{parent}/s{index}/{file}".lstrip("/"))
    names = st.sampled_from(["kustomization.yaml", "values.yaml", "Chart.yaml", "a.yaml", "b.md"])
    for _ in range(draw(st.integers(0, 12))):
        directories = draw(st.lists(_SEGMENTS | st.just("s3"), max_size=4))
        paths.add("/".join([*directories, draw(names)]))
    return sorted(paths)


@settings(max_examples=150, deadline=None)
@given(_listings(), st.sampled_from(["s0", "s3", "web", "staging", "apps", "zzz"]))
def test_scope_is_the_definition_for_any_listing(paths: list[str], app: str) -> None:
    layout = Layout(paths)
    assert layout.scope(app) == _scope_by_definition(paths, app)
    deployment = set(naming.deployment_paths(paths))
    aside = layout.set_aside(app)
    assert all(is_yaml(p) and p not in deployment for p in aside)


def test_one_layout_per_listing() -> None:
    paths = _monorepo(3)
    assert layout_of(paths) is layout_of(paths)
    assert layout_of(list(paths)) is not layout_of(paths)  # another listing: its own


def _names_by_definition(images: list[ImageRef]) -> dict[str, ImageRef]:
    """`app_names` as it was written: rivals counted pairwise."""
    unique = {image.repository: image for image in images}
    names: dict[str, ImageRef] = {}
    for image in unique.values():
        parts = image.repository.split("/")
        for length in range(1, len(parts) + 1):
            tail = "/".join(parts[-length:])
            rivals = [o for o in unique.values() if o.repository.endswith(f"/{tail}")]
            if len(rivals) == 1:
                break
        names["-".join(parts[-length:])] = image
    return dict(sorted(names.items()))


_WORDS = st.sampled_from(["web", "api", "acme", "team", "ghcr.io", "docker.io", "reg"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_WORDS, min_size=1, max_size=4), max_size=12))
def test_app_names_is_the_pairwise_definition(repositories: list[list[str]]) -> None:
    images = [parse_image_ref("/".join(parts) + ":1.0") for parts in repositories]
    assert app_names(images) == _names_by_definition(images)
