"""The apps a repository names without promoter.yaml, and the order of its environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.environments.files import DirectoryFiles
from promoter.environments.inventory import app_names, repositories
from promoter.environments.order import infer_sources, ordered
from promoter.imageref import parse_image_ref

FILES = {
    "base/deployment.yaml": (
        "kind: Deployment\napiVersion: apps/v1\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n"
        "      initContainers:\n        - name: init\n          image: busybox@sha256:"
        + "a" * 64
        + "\n"
    ),
    "overlays/prod/kustomization.yaml": (
        "images:\n  - name: web\n    newName: ghcr.io/acme/web-renamed\n    newTag: '2'\n"
    ),
    "charts/api/values.yaml": "image:\n  registry: quay.io\n  repository: acme/api\n  tag: '1'\n",
    "charts/api/templates/deployment.yaml": "image: {{ .Values.image.repository }}\n",
    "charts/api/Chart.yaml": (
        "apiVersion: v2\nname: api\ndependencies:\n  - name: redis\n"
        "    repository: https://charts.example.com\n    version: 1.0.0\n"
    ),
    "patch.yaml": (
        "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: nginx:1.25\n"
    ),
    "broken.yaml": "image: [unclosed\n",
    "templated.yaml": "image: ${REGISTRY}/web:latest\n",
}


def test_repositories_names_each_way_a_deployment_names_an_image(tmp_path: Path) -> None:
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    found = [image.name for image in repositories(DirectoryFiles(tmp_path))]
    assert found == [
        "busybox", "ghcr.io/acme/web", "ghcr.io/acme/web-renamed", "nginx", "quay.io/acme/api",
    ]  # fmt: skip
    assert all(image.tag is None and image.digest is None for image in repositories(
        DirectoryFiles(tmp_path)))  # fmt: skip


def test_app_names_last_component_unless_two_share_it() -> None:
    images = [parse_image_ref(t) for t in ("ghcr.io/acme/web", "ghcr.io/other/web", "nginx")]
    assert {n: str(i) for n, i in app_names(images).items()} == {
        "acme-web": "ghcr.io/acme/web", "other-web": "ghcr.io/other/web", "nginx": "nginx",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("envs", "sources", "order"),
    [
        (["production", "dev", "staging"], {"dev": None, "staging": "dev",
         "production": "staging"}, ["dev", "staging", "production"]),
        (["dev", "qa", "uat", "prod"], {"dev": None, "qa": "dev", "uat": "qa", "prod": "uat"},
         ["dev", "qa", "uat", "prod"]),
        (["dev", "prod"], {"dev": None, "prod": "dev"}, ["dev", "prod"]),
        # two names of one stage, or names of no known stage: no source is inferred
        (["stage", "staging", "prod"], {"stage": None, "staging": None, "prod": None},
         ["stage", "staging", "prod"]),
        (["eu-prod", "us-prod"], {"eu-prod": None, "us-prod": None}, ["eu-prod", "us-prod"]),
    ],
)  # fmt: skip
def test_order_is_inferred_from_stage_names_only_when_certain(
    envs: list[str], sources: dict[str, str | None], order: list[str]
) -> None:
    assert infer_sources(envs) == sources
    assert ordered(envs, infer_sources(envs)) == order
