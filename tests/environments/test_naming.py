"""Environment names match whole path segments and whole stem parts, never qualifiers."""

from __future__ import annotations

import pytest

from promoter.environments.model import helmfile_environments
from promoter.environments.naming import infer_environments, is_ambiguous, names, qualified


@pytest.mark.parametrize(
    "path",
    [
        "overlays/prod/kustomization.yaml",
        "charts/web/values-prod.yaml",
        "charts/web/prod-values.yaml",
        "charts/web/values.prod.yaml",
        "envs/prod/values.yaml",
        "values/prod.yaml",
        "clusters/prod/web.yaml",
        "deploy/web-prod.yaml",
        "deploy/web_prod.yaml",
        "prod.yaml",
    ],
)
def test_names_whole_segment_or_stem_part_matches(path: str) -> None:
    assert names(path, "prod", "web")


@pytest.mark.parametrize(
    "path",
    [
        "deploy/web-pre-prod.yaml",
        "deploy/web-non-prod.yaml",
        "overlays/pre-prod/kustomization.yaml",
        "overlays/non-prod/kustomization.yaml",
        "overlays/prod-eu/kustomization.yaml",
        "charts/web/values-prod-eu.yaml",
        "charts/web/values-preprod.yaml",
        "products/web.yaml",
        "deploy/api-prod.yaml",
    ],
)
def test_names_hyphenated_qualifier_does_not_match(path: str) -> None:
    assert not names(path, "prod", "web")


def test_names_staging_not_smoke_test_staging() -> None:
    assert not names("tools/smoke-test-staging.yaml", "staging", "web")
    assert names("tools/smoke-test-staging.yaml", "smoke-test-staging", "web")


def test_is_ambiguous_two_environments_claim_one_file() -> None:
    known = ["staging", "prod"]
    assert is_ambiguous("staging/values-prod.yaml", "prod", known)
    assert is_ambiguous("staging/values-prod.yaml", "staging", known)
    assert not is_ambiguous("staging/values.yaml", "staging", known)


def test_infer_environments_app_values_is_not_an_environment() -> None:
    paths = ["apps/staging/podinfo-values.yaml", "charts/web/staging-values.yaml"]
    assert infer_environments(paths) == ["staging"]


def test_infer_environments_containers_and_values_names() -> None:
    paths = [
        "environments/prd-5-aws/web/kustomization.yaml",
        "helm/values-production-east.yaml",
        "overlays/base/kustomization.yaml",
    ]
    assert infer_environments(paths) == ["prd-5-aws", "production-east"]


def test_qualified_lists_hyphenated_variants() -> None:
    assert qualified("production", ["production-east", "production-west", "pre-production"]) == [
        "production-east",
        "production-west",
    ]


def test_infer_only_from_deployment_yaml_not_schemas_templates_or_vendored_charts() -> None:
    paths = [
        "charts/web/Chart.yaml",
        "charts/web/values.yaml",
        "charts/web/values.schema.json",
        "charts/web/templates/values-debug.yaml",
        "vendor/charts/postgresql/Chart.yaml",
        "vendor/charts/postgresql/values-replication.yaml",
        "vendor/charts/postgresql/values-production.yaml",
        "charts/web/charts/redis/Chart.yaml",
        "charts/web/charts/redis/values-sentinel.yaml",
        "deploy/values-staging.yaml",
        "envs/overlays/kustomization.yaml",
    ]
    assert infer_environments(paths) == ["staging"]


def test_infer_directories_beside_a_known_environment_and_declared_names() -> None:
    paths = [
        "apps/base/kustomization.yaml",
        "apps/staging/kustomization.yaml",
        "apps/perf/kustomization.yaml",
        "apps/dr/kustomization.yaml",
        "apps/dr/notes.md",
        "environments/live.yaml",
        "environments/live.secrets.yaml",
    ]
    assert infer_environments(paths, ["qa"]) == ["dr", "live", "perf", "qa", "staging"]


def test_helmfile_environments_read_part_by_part() -> None:
    raw = (
        b"environments:\n  default: {}\n  dev:\n    values: [environments/dev.yaml]\n"
        b"  live: {}\n---\nreleases:\n  - name: web\n    values:\n"
        b"      - replicas: {{ .Values.replicas }}\n"
    )
    assert helmfile_environments(raw) == ["dev", "live"]


def test_infer_same_place_in_the_layout_names_the_same_thing() -> None:
    paths = [
        "staging/apps/kustomization.yaml",
        "staging/infra/kustomization.yaml",
        "hub/apps/kustomization.yaml",
        "lab/infra/kustomization.yaml",
        "docs/apps.md",
        "tools/config.yaml",
        "apps/web/base/kustomization.yaml",
        "apps/web/prod/kustomization.yaml",
    ]
    assert infer_environments(paths) == ["hub", "lab", "prod", "staging"]
