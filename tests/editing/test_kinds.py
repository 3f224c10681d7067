"""kinds.py and helm_layers.py: the registry of file kinds, and the one rule for which chart
values a Helm environment values file layers over (engine, environments and fetch plan)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.editing import BumpRequest, Context, edit_bytes, helm_layers, kinds
from promoter.editing.engine import load_context
from promoter.editing.model import Found
from promoter.editing.source import YamlFile
from promoter.imageref import parse_image_ref

WEB = parse_image_ref("ghcr.io/acme/web:1.4.2")


# -- the registry ------------------------------------------------------------------------


def test_kinds_registered_in_conflict_order() -> None:
    assert list(kinds.KINDS)[:5] == ["setters", "kustomize", "helm", "workloads", "argocd"]
    assert kinds.finders(BumpRequest(WEB)) == tuple(k.find for k in kinds.KINDS.values())


def test_kinds_keyed_request_asks_the_pointer_kind_alone() -> None:
    assert kinds.finders(BumpRequest(WEB, key="image.tag")) == (kinds.KEYED.find,)


def test_kinds_helm_reads_the_chart_values_and_the_others_nothing() -> None:
    paths = {"charts/api/values.yaml", "charts/api/values-staging.yaml"}
    target = "charts/api/values-staging.yaml"
    helm = kinds.KINDS["helm"]
    assert helm.companions(target, paths, (), None) == ["charts/api/values.yaml"]
    assert "charts/api/values.yaml" in helm.candidates(target)
    for name in ("setters", "kustomize", "workloads", "argocd"):
        kind = kinds.KINDS[name]
        assert (kind.companions(target, paths, (), None), kind.candidates(target)) == ([], [])
    assert "charts/api/values.yaml" in kinds.companions(target, paths)


def _reads_defaults(
    path: str, paths: Collection[str], listing: Iterable[str], app: str | None
) -> list[str]:
    return [c for c in _defaults(path) if c in paths]


def _defaults(path: str) -> list[str]:
    return ["defaults.yaml"] if path.endswith("pin.yaml") else []


def _find_nothing(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    assert [b.name for b in context.base_values] == ["defaults.yaml"]
    return []


@pytest.fixture
def stub() -> Iterator[kinds.EditorKind]:
    kind = kinds.register(kinds.EditorKind("stub", _find_nothing, _reads_defaults, _defaults))
    try:
        yield kind
    finally:
        del kinds.KINDS["stub"]


def test_kinds_registered_stub_is_asked_last_and_its_companions_are_read(
    stub: kinds.EditorKind, tmp_path: Path
) -> None:
    assert list(kinds.KINDS)[-1] == "stub"
    assert kinds.candidates("pin.yaml")[-1] == "defaults.yaml"
    (tmp_path / "defaults.yaml").write_text("artifact: ghcr.io/acme/web\n")
    (tmp_path / "pin.yaml").write_text("image: ghcr.io/acme/web:1.4.1\n")
    context = load_context(tmp_path / "pin.yaml", tmp_path)
    assert [b.name for b in context.base_values] == ["defaults.yaml"]
    done = edit_bytes(b"image: ghcr.io/acme/web:1.4.1\n", "pin.yaml", BumpRequest(WEB), context)
    assert done.after == b"image: ghcr.io/acme/web:1.4.2\n"


# -- the one rule: which chart values a values file layers over --------------------------


@pytest.mark.parametrize(
    ("path", "paths", "expected"),
    [
        ("charts/api/values-staging.yaml", {"charts/api/values.yaml"}, ["charts/api/values.yaml"]),
        ("values-staging.yaml", {"values.yaml", "values.yml"}, ["values.yaml"]),
        ("values.yml", {"values.yaml"}, ["values.yaml"]),
        ("a/b/values-staging.yaml", {"values.yaml"}, ["values.yaml"]),
        ("a/b/c/values-staging.yaml", {"values.yaml"}, []),
        ("a/b/values-staging.yaml", {"a/values.yml", "values.yaml"}, ["a/values.yml"]),
        ("envs/staging/values.yaml", {"envs/staging/values.yaml"}, []),
        ("charts/api/kustomization.yaml", {"charts/api/values.yaml"}, []),
        ("charts/api/notes.txt", {"charts/api/values.yaml"}, []),
    ],
)
def test_chart_values_nearest_within_three_directories(
    path: str, paths: set[str], expected: list[str]
) -> None:
    assert helm_layers.chart_values(path, paths) == expected
    assert set(expected) <= set(helm_layers.candidates(path))


def test_chart_values_listing_names_the_chart_beside_or_after_the_app() -> None:
    listing = ["charts/web/Chart.yaml", "charts/web/values.yaml", "envs/staging/values.yaml"]
    paths = set(listing)
    assert kinds.companions("envs/staging/values.yaml", paths, listing, "web") == [
        "charts/web/values.yaml"
    ]
    # the repository's only chart, for a file named as values; never for another's values
    assert kinds.companions("envs/staging/values.yaml", paths, listing, "api") == [
        "charts/web/values.yaml"
    ]
    assert kinds.companions("envs/prod/redis.yaml", paths, listing, "api") == []
    # a path that names a chart layers over that one, not over the app's
    two = [
        *listing,
        "charts/api/Chart.yaml",
        "charts/api/values.yaml",
        "envs/qa/api.yaml",
        "envs/qa/api-values.yaml",
    ]
    assert kinds.companions("envs/qa/api.yaml", set(two), two, "web") == ["charts/api/values.yaml"]
    assert kinds.companions("envs/qa/api-values.yaml", set(two), two, "web") == [
        "charts/api/values.yaml"
    ]
    # a vendored chart (a dependency copied in) is nobody's layering, and layers over nothing
    vendored = [*listing, "vendor/charts/pg/Chart.yaml", "vendor/charts/pg/values-production.yaml"]
    assert kinds.companions("envs/staging/values.yaml", set(vendored), vendored, "pg") == [
        "charts/web/values.yaml"
    ]
    assert (
        kinds.companions("vendor/charts/pg/values-production.yaml", set(vendored), vendored, "pg")
        == []
    )
    beside = ["Chart.yaml", "web/Chart.yaml", "web/values.yaml", "api/Chart.yaml"]
    assert kinds.companions("values-staging.yaml", set(beside), beside, "web") == [
        "web/values.yaml"
    ]
    # without a listing (files named before the tree is known) no chart is searched for
    assert helm_layers.chart_values("envs/staging/values.yaml", paths) == []


def test_chart_values_never_names_the_file_itself() -> None:
    listing = ["charts/staging/Chart.yaml", "charts/staging/values.yaml"]
    assert kinds.companions("charts/staging/values.yaml", set(listing), listing, "web") == []


_PARTS = st.sampled_from(["a", "b", "charts", "web", "envs"])
_NAMES = st.sampled_from(["values.yaml", "values.yml", "values-staging.yaml", "x.yaml"])
_FILES = st.builds(lambda dirs, name: "/".join([*dirs, name]), st.lists(_PARTS, max_size=4), _NAMES)


@given(path=_FILES, paths=st.sets(_FILES, max_size=12))
def test_companions_without_listing_are_candidates_that_exist(path: str, paths: set[str]) -> None:
    """What a fetch plan brings (`candidates`) covers whatever the kinds then read; the
    Helm kind reads the nearest chart values."""
    assert set(kinds.companions(path, paths)) <= set(kinds.candidates(path)) & paths
    nearest = [c for c in helm_layers.candidates(path) if c in paths][:1]
    assert helm_layers.chart_values(path, paths) == nearest


# -- load_context: the disk answers which candidates exist -------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_load_context_reads_the_chart_values_named_from_the_root(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "values.yaml": "root: true\n",
            "charts/api/values.yaml": "image: {repository: acme/api, tag: 1}\n",
            "charts/api/values-staging.yaml": "image: {tag: 2}\n",
            "charts/api/kustomization.yaml": "resources: []\n",
            "deep/a/b/values-staging.yaml": "image: {tag: 2}\n",
            "broken/values.yaml": "a: [\n",
            "broken/values-staging.yaml": "image: {tag: 2}\n",
        },
    )
    names = {
        target: [b.name for b in load_context(tmp_path / target, tmp_path).base_values]
        for target in (
            "charts/api/values-staging.yaml",
            "charts/api/kustomization.yaml",
            "deep/a/b/values-staging.yaml",
            "broken/values-staging.yaml",
        )
    }
    assert names == {
        "charts/api/values-staging.yaml": ["charts/api/values.yaml"],
        "charts/api/kustomization.yaml": [],
        "deep/a/b/values-staging.yaml": [],  # the root is three directories up
        "broken/values-staging.yaml": [],  # not YAML: left to the target's own edit
    }


def test_load_context_without_root_names_bases_as_the_target_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path, {"values.yaml": "a: 1\n", "env/values-staging.yaml": "a: 2\n"})
    monkeypatch.chdir(tmp_path / "env")
    assert [b.name for b in load_context(Path("values-staging.yaml")).base_values] == [
        "../values.yaml"
    ]
    absolute = tmp_path / "env" / "values-staging.yaml"
    assert [b.name for b in load_context(absolute).base_values] == [
        (tmp_path / "values.yaml").as_posix()
    ]
