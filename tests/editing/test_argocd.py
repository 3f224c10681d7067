"""Argo CD image overrides: byte-exact edits of Applications and `.argocd-source*.yaml` files."""

from __future__ import annotations

import pytest

from promoter.editing import BumpRequest, FileEdit, edit_bytes
from promoter.editing.argocd import find, is_write_back_file
from promoter.editing.model import Context
from promoter.editing.source import parse_text
from promoter.errors import EditRefusedError, TargetNotFoundError
from promoter.imageref import parse_image_ref

DIGEST_OLD = "sha256:" + "a" * 64
DIGEST_NEW = "sha256:" + "b" * 64


def _bump(text: str, image: str, name: str = "app.yaml") -> FileEdit:
    return edit_bytes(text.encode(), name, BumpRequest(parse_image_ref(image)))


def _after(text: str, image: str, name: str = "app.yaml") -> str:
    return _bump(text, image, name).after.decode()


APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  source:
    repoURL: https://github.com/acme/config
    path: apps/web
    kustomize:
      images:
      - quay.io/acme/web:0.2  # current release
      - my-app=gcr.io/acme/my-app:0.1
      - ghcr.io/acme/worker
"""


def test_find_application_kustomize_image_changes_only_its_tag() -> None:
    result = _bump(APPLICATION, "quay.io/acme/web:0.3")

    assert result.after.decode() == APPLICATION.replace("web:0.2", "web:0.3")
    assert [(e.pointer, e.line, e.kind) for e in result.edits] == [
        ("/spec/source/kustomize/images/0", 11, "argocd-kustomize-images")
    ]


def test_find_override_matched_by_new_name() -> None:
    assert _after(APPLICATION, "gcr.io/acme/my-app:0.2") == APPLICATION.replace(
        "my-app:0.1", "my-app:0.2"
    )


def test_find_override_matched_by_old_name_sets_new_names_tag() -> None:
    assert _after(APPLICATION, "my-app:1.10") == APPLICATION.replace("my-app:0.1", "my-app:1.10")


def test_find_image_without_tag_gets_one() -> None:
    assert _after(APPLICATION, "ghcr.io/acme/worker:2.0") == APPLICATION.replace(
        "acme/worker", "acme/worker:2.0"
    )


def test_find_kustomize_image_other_repository_not_found() -> None:
    with pytest.raises(TargetNotFoundError):
        _bump(APPLICATION, "quay.io/acme/web-ui:0.3")


def test_find_folded_override_changes_the_content_line() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    kustomize:
      images:
        - >-
          ghcr.io/acme/ai=ghcr.io/acme/ai:2.2.0
        - >-
          ghcr.io/acme/store=ghcr.io/acme/store:2.2.0
"""
    result = _bump(text, "ghcr.io/acme/store:2.3.0")

    assert result.after.decode() == text.replace("store:2.2.0", "store:2.3.0")
    assert result.edits[0].line == 10


def test_find_pinned_override_tag_only_refused() -> None:
    text = APPLICATION.replace("web:0.2", f"web:0.2@{DIGEST_OLD}")

    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _bump(text, "quay.io/acme/web:0.3")


def test_find_pinned_override_tag_and_digest_updates_both() -> None:
    text = APPLICATION.replace("web:0.2", f"web:0.2@{DIGEST_OLD}")

    assert _after(text, f"quay.io/acme/web:0.3@{DIGEST_NEW}") == APPLICATION.replace(
        "web:0.2", f"web:0.3@{DIGEST_NEW}"
    )


MULTI_SOURCE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  sources:
  - repoURL: https://charts.example.com
    chart: web
    targetRevision: 1.0.0
    helm:
      parameters:
      - name: image.repository
        value: ghcr.io/acme/web
      - name: image.tag
        value: '1.4.1'
      - name: worker.image.registry
        value: ghcr.io
      - name: worker.image.repository
        value: acme/worker
      - name: worker.image.tag
        value: 0.9
  - repoURL: https://github.com/acme/config
    path: overlays/prod
    kustomize:
      images: ['ghcr.io/acme/web:1.4.1']
"""


def test_find_multi_source_edits_helm_parameter_and_kustomize_image() -> None:
    result = _bump(MULTI_SOURCE, "ghcr.io/acme/web:1.4.2")

    assert result.after.decode() == MULTI_SOURCE.replace("1.4.1", "1.4.2")
    assert [(e.pointer, e.kind) for e in result.edits] == [
        ("/spec/sources/0/helm/parameters/1/value", "argocd-helm-parameter"),
        ("/spec/sources/1/kustomize/images/0", "argocd-kustomize-images"),
    ]


def test_find_parameter_with_registry_parameter_quotes_numeric_tag() -> None:
    assert _after(MULTI_SOURCE, "ghcr.io/acme/worker:1.10") == MULTI_SOURCE.replace(
        "value: 0.9", "value: '1.10'"
    )


def test_find_image_updater_name_parameter() -> None:
    text = """\
helm:
  parameters:
  - name: image.name
    value: nginx
    forcestring: true
  - name: image.tag
    value: 1.25.3
    forcestring: true
"""
    assert _after(text, "nginx:1.25.4", ".argocd-source-web.yaml") == text.replace(
        "1.25.3", "1.25.4"
    )


def test_find_lone_tag_parameter_names_no_image() -> None:
    text = "helm:\n  parameters:\n    - name: image.tag\n      value: '0.2'\n"

    with pytest.raises(TargetNotFoundError):
        _bump(text, "quay.io/acme/web:0.3", ".argocd-source.yaml")


def test_find_tag_parameter_matched_by_values_object_block() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    chart: web
    helm:
      parameters:
      - name: image.tag
        value: "1.4.1"
      valuesObject:
        replicaCount: 2
        image:
          repository: ghcr.io/acme/web
          pullPolicy: IfNotPresent
"""
    yaml_file = parse_text(text, "app.yaml")

    found = find(yaml_file, BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2")), Context())

    # The parameter overrides the values, so the block gets no `tag` of its own from here.
    assert [(type(f).__name__, f.path, f.new) for f in found] == [
        ("Target", ("spec", "source", "helm", "parameters", 0, "value"), "1.4.2")
    ]


def test_find_values_object_block_and_string() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    helm:
      valuesObject:
        image:
          registry: docker.io
          repository: bitnami/redis
          tag: 7.2.4  # app
        metrics:
          image: docker.io/bitnami/redis:7.2.4
"""
    assert _after(text, "bitnami/redis:7.2.5") == text.replace("7.2.4", "7.2.5")


def test_find_values_object_image_block_without_tag_gets_one() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    helm:
      valuesObject:
        image:
          repository: ghcr.io/acme/web
        service:
          port: 80
"""
    assert _after(text, "ghcr.io/acme/web:1.10") == text.replace(
        "          repository: ghcr.io/acme/web\n",
        '          repository: ghcr.io/acme/web\n          tag: "1.10"\n',
    )


def test_find_digest_parameter_updated_with_tag_and_digest() -> None:
    text = f"""\
helm:
  parameters:
  - name: image.repository
    value: ghcr.io/acme/web
  - name: image.tag
    value: "1.4.1"
  - name: image.digest
    value: "{DIGEST_OLD}"
"""
    assert _after(text, f"ghcr.io/acme/web:1.4.2@{DIGEST_NEW}", ".argocd-source.yaml") == (
        text.replace("1.4.1", "1.4.2").replace(DIGEST_OLD, DIGEST_NEW)
    )


def test_find_digest_parameter_set_tag_only_refused() -> None:
    text = f"""\
helm:
  parameters:
  - {{name: image.repository, value: ghcr.io/acme/web}}
  - {{name: image.tag, value: "1.4.1"}}
  - {{name: image.digest, value: "{DIGEST_OLD}"}}
"""
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _bump(text, "ghcr.io/acme/web:1.4.2", ".argocd-source.yaml")
    assert info.value.line == 5


def test_find_write_back_file_kustomize_images_without_final_newline() -> None:
    text = "kustomize:\n  images:\n    - quay.io/acme/web:0.2"

    assert _after(text, "quay.io/acme/web:0.3", ".argocd-source-web.yaml") == text.replace(
        "0.2", "0.3"
    )


def test_is_write_back_file_by_name_or_content() -> None:
    images = parse_text("kustomize:\n  images: ['a:1']\n", "x").docs[0]
    kustomization = parse_text("images:\n- name: a\n  newTag: '1'\n", "x").docs[0]
    assert images is not None
    assert kustomization is not None

    assert is_write_back_file("apps/.argocd-source-web.yaml", kustomization)
    assert is_write_back_file("copy.yaml", images)
    assert not is_write_back_file("kustomization.yaml", kustomization)


APPLICATION_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
spec:
  generators:
  - list:
      elements: [{env: prod}]
  template:
    metadata:
      name: 'web-{{env}}'
    spec:
      source:
        kustomize:
          images:
          - ghcr.io/acme/web:1.4.1
"""


def test_find_application_set_template() -> None:
    result = _bump(APPLICATION_SET, "ghcr.io/acme/web:1.4.2")

    assert result.after.decode() == APPLICATION_SET.replace("1.4.1", "1.4.2")
    assert result.edits[0].pointer == "/spec/template/spec/source/kustomize/images/0"


def test_find_application_set_templated_image_refused() -> None:
    """A templated version of the image is the generator's to set (issue 19: refused by the
    engine, never skipped while the other reference is edited)."""
    text = APPLICATION_SET + "          - 'ghcr.io/acme/web:{{tag}}'\n"
    with pytest.raises(EditRefusedError, match="a template") as info:
        _bump(text, "ghcr.io/acme/web:1.4.2")
    assert (info.value.line, info.value.field) == (
        15,
        "/spec/template/spec/source/kustomize/images/1",
    )


def test_find_other_kinds_and_status_ignored() -> None:
    text = """\
apiVersion: example.com/v1
kind: Application
spec:
  source:
    kustomize:
      images: ["ghcr.io/acme/web:1.4.1"]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
status:
  sync:
    comparedTo:
      source:
        kustomize:
          images: ["ghcr.io/acme/web:1.4.1"]
"""
    yaml_file = parse_text(text, "apps.yaml")

    assert find(yaml_file, BumpRequest(parse_image_ref("ghcr.io/acme/web:2")), Context()) == []


def test_find_digest_only_request_without_digest_parameter_refused() -> None:
    text = """\
helm:
  parameters:
  - name: image.repository
    value: ghcr.io/acme/web
  - name: image.tag
    value: "1.4.1"
"""
    with pytest.raises(EditRefusedError, match="digest-only promotion needs a digest key"):
        _bump(text, f"ghcr.io/acme/web@{DIGEST_NEW}", ".argocd-source.yaml")


def test_bump_helm_values_string_block() -> None:
    text = (
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Application\n"
        "metadata:\n  name: web-staging\n"
        "spec:\n"
        "  source:\n"
        "    helm:\n"
        "      values: |\n"
        "        replicas: 2\n"
        "        image:\n"
        "          repository: ghcr.io/acme/web\n"
        "          tag: 1.4.1 # pinned by CI\n"
    )
    result = edit_bytes(
        text.encode(), "app.yaml", BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2"))
    )
    assert result.after.decode() == text.replace("1.4.1", "1.4.2")
    again = edit_bytes(
        result.after, "app.yaml", BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2"))
    )
    assert not again.changed
    assert again.matched == 1
