"""Container lists of Kubernetes workloads: byte-exact edits of `image:` in each structure."""

from __future__ import annotations

import pytest

from promoter.editing import BumpRequest, FileEdit, edit_bytes
from promoter.editing.engine import find_all
from promoter.editing.model import Context, Target
from promoter.editing.source import parse_text
from promoter.editing.workloads import CONTAINER_LISTS, find
from promoter.errors import EditRefusedError, TargetNotFoundError
from promoter.imageref import parse_image_ref

DIGEST_OLD = "sha256:" + "a" * 64
DIGEST_NEW = "sha256:" + "b" * 64


def _bump(text: str, image: str, name: str = "deploy.yaml") -> FileEdit:
    return edit_bytes(text.encode(), name, BumpRequest(parse_image_ref(image)))


def _after(text: str, image: str, name: str = "deploy.yaml") -> str:
    return _bump(text, image, name).after.decode()


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.1
          ports:
            - containerPort: 8080
        - name: proxy
          image: ghcr.io/acme/proxy:2.0.0
"""


def test_find_deployment_container_changes_only_its_tag() -> None:
    result = _bump(DEPLOYMENT, "ghcr.io/acme/web:1.4.2")

    assert result.after.decode() == DEPLOYMENT.replace("web:1.4.1", "web:1.4.2")
    assert [(e.pointer, e.line, e.old, e.new, e.kind) for e in result.edits] == [
        (
            "/spec/template/spec/containers/0/image",
            10,
            "ghcr.io/acme/web:1.4.1",
            "ghcr.io/acme/web:1.4.2",
            "container-image",
        )
    ]


def test_find_other_repository_not_found() -> None:
    with pytest.raises(TargetNotFoundError):
        _bump(DEPLOYMENT, "ghcr.io/acme/webhook:1.0")


def test_find_multi_document_with_markers_edits_every_document() -> None:
    text = """\
%YAML 1.2
---
apiVersion: v1
kind: Service
metadata:
  name: web
...
---
apiVersion: apps/v1
kind: StatefulSet
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.4.1
...
---
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: web
    image: ghcr.io/acme/web:1.4.1
"""
    result = _bump(text, "ghcr.io/acme/web:1.5.0")

    assert result.after.decode() == text.replace("web:1.4.1", "web:1.5.0")
    assert [e.pointer for e in result.edits] == [
        "/1/spec/template/spec/containers/0/image",
        "/2/spec/containers/0/image",
    ]


def test_find_cronjob_job_template() -> None:
    text = """\
apiVersion: batch/v1
kind: CronJob
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: report
            image: registry.example.com/tools/report:0.9
          restartPolicy: OnFailure
"""
    result = _bump(text, "registry.example.com/tools/report:1.0")

    assert result.after.decode() == text.replace("report:0.9", "report:1.0")
    assert result.edits[0].pointer == "/spec/jobTemplate/spec/template/spec/containers/0/image"


def test_find_init_and_ephemeral_containers() -> None:
    text = """\
spec:
  initContainers:
  - name: migrate
    image: ghcr.io/acme/web:1.4.1
    command: [migrate]
  containers:
  - name: web
    image: ghcr.io/acme/web:1.4.1
  ephemeralContainers:
  - name: debug
    image: ghcr.io/acme/web:1.4.1
"""
    assert _after(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")


def test_find_values_file_sidecar_lists() -> None:
    text = """\
replicaCount: 2
extraContainers:
  - name: exporter
    image: quay.io/acme/exporter:0.3.0
sidecars:
  - name: exporter
    image: quay.io/acme/exporter:0.3.0
extraInitContainers: []
"""
    assert _after(text, "quay.io/acme/exporter:0.4.0", "values.yaml") == text.replace(
        "0.3.0", "0.4.0"
    )


def test_find_flow_style_containers() -> None:
    text = "spec: {containers: [{name: a, image: \"nginx:1.25\"}, {name: b, image: 'redis:7'}]}\n"

    assert _after(text, "nginx:1.26") == text.replace("nginx:1.25", "nginx:1.26")


def test_find_quoted_images_keep_their_quotes() -> None:
    text = """\
containers:
- image: 'ghcr.io/acme/web:1.4.1'
- image: "ghcr.io/acme/web:1.4.1"
"""
    assert _after(text, "ghcr.io/acme/web:1.10") == text.replace("1.4.1", "1.10")


def test_find_folded_block_scalar_changes_the_content_line() -> None:
    text = """\
containers:
- name: web
  image: >-
    ghcr.io/acme/web:1.4.1
  args: []
"""
    result = _bump(text, "ghcr.io/acme/web:1.4.2")

    assert result.after.decode() == text.replace("1.4.1", "1.4.2")
    assert result.edits[0].line == 4


def test_find_literal_block_scalar_keeps_its_final_newline() -> None:
    text = "containers:\n- image: |\n    nginx:1.25\n  name: web\n"

    assert _after(text, "nginx:1.26") == text.replace("1.25", "1.26")


def test_find_comment_after_reference_is_kept() -> None:
    text = "containers:\n- image: nginx:1.25 # pinned for CVE-2024-1\n  name: web\n"

    assert _after(text, "nginx:1.26") == text.replace("1.25", "1.26")


def test_find_bare_image_gets_tag_appended() -> None:
    text = "containers:\n- name: web\n  image: nginx  # latest\n"

    assert _after(text, "nginx:1.26") == "containers:\n- name: web\n  image: nginx:1.26  # latest\n"


def test_find_status_copy_is_left_alone() -> None:
    text = """\
spec:
  containers:
  - image: nginx:1.25
status:
  containers:
  - image: nginx:1.25
"""
    result = _bump(text, "nginx:1.26")

    assert result.after.decode() == text.replace("1.25", "1.26", 1)
    assert [e.pointer for e in result.edits] == ["/spec/containers/0/image"]


def test_find_status_of_list_items_is_left_alone() -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  spec:
    containers:
    - image: nginx:1.25
  status:
    containers:
    - image: nginx:1.25
"""
    result = _bump(text, "nginx:1.26")

    assert result.after.decode() == text.replace("1.25", "1.26", 1)
    assert [e.pointer for e in result.edits] == ["/items/0/spec/containers/0/image"]


def test_find_only_in_status_not_found() -> None:
    text = "status:\n  containers:\n  - image: nginx:1.25\n"

    with pytest.raises(TargetNotFoundError):
        _bump(text, "nginx:1.26")


def test_find_digest_pinned_tag_only_request_refused() -> None:
    text = f"containers:\n- image: busybox:1.37.0@{DIGEST_OLD}\n"

    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _bump(text, "busybox:1.38.0")
    assert info.value.line == 2


def test_find_digest_pinned_tag_and_digest_request_updates_both() -> None:
    text = f"containers:\n- image: busybox:1.37.0@{DIGEST_OLD}  # pinned\n"

    assert _after(text, f"busybox:1.38.0@{DIGEST_NEW}") == (
        f"containers:\n- image: busybox:1.38.0@{DIGEST_NEW}  # pinned\n"
    )


@pytest.mark.parametrize(
    ("written", "requested", "expected"),
    [
        ("nginx:1.25", "docker.io/library/nginx:1.26", "nginx:1.26"),
        ("docker.io/library/nginx:1.25", "nginx:1.26", "docker.io/library/nginx:1.26"),
        ("index.docker.io/library/nginx:1.25", "nginx:1.26", "index.docker.io/library/nginx:1.26"),
    ],
)
def test_find_docker_hub_normalisation_keeps_the_written_name(
    written: str, requested: str, expected: str
) -> None:
    text = f"containers:\n- image: {written}\n"

    assert _after(text, requested) == f"containers:\n- image: {expected}\n"


def test_find_docker_hub_user_repository_differs_from_library() -> None:
    with pytest.raises(TargetNotFoundError):
        _bump("containers:\n- image: bitnami/nginx:1.25\n", "nginx:1.26")


def test_find_template_value_found_and_refused() -> None:
    """Found (its name is the image's), then refused by the engine (issue 19)."""
    text = 'containers:\n- image: "nginx:{{ .Values.tag }}"\n'

    request = BumpRequest(parse_image_ref("nginx:1"))

    assert [t.path for t in find(parse_text(text, "t.yaml"), request, Context())] == [
        ("containers", 0, "image")
    ]
    with pytest.raises(EditRefusedError, match=r"is not an image reference \(a template\?\)"):
        _bump(text, "nginx:1")


def test_find_already_current_is_a_match_without_edit() -> None:
    result = _bump(DEPLOYMENT, "ghcr.io/acme/web:1.4.1")

    assert (result.changed, result.edits, result.matched) == (False, (), 1)


def test_find_crlf_file_keeps_line_endings() -> None:
    text = DEPLOYMENT.replace("\n", "\r\n")

    assert _after(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")


def test_find_anchored_container_list_edited_once_at_its_definition() -> None:
    text = """\
containers: &main
- name: web
  image: nginx:1.25
initContainers: *main
"""
    result = _bump(text, "nginx:1.26")

    assert result.after.decode() == text.replace("1.25", "1.26")
    assert [e.pointer for e in result.edits] == ["/containers/0/image"]


def test_find_image_that_is_an_alias_refused_naming_the_anchor() -> None:
    text = "default: &img nginx:1.25\ncontainers:\n- image: *img\n"

    with pytest.raises(EditRefusedError, match="edit its anchor at /default"):
        _bump(text, "nginx:1.26")


def test_find_kustomize_inline_patch_changes_one_line_of_the_block() -> None:
    text = """\
resources:
- rollout.yaml
patches:
- patch: |-
    kind: Rollout
    spec:
      template:
        spec:
          containers:
          - name: guestbook
            image: guestbook-patched:v1
  target:
    kind: Rollout
"""
    result = _bump(text, "guestbook-patched:v2", "kustomization.yaml")

    assert result.after.decode() == text.replace("patched:v1", "patched:v2")
    assert [(e.pointer, e.line) for e in result.edits] == [("/patches/0/patch", 11)]


def test_find_inline_patch_pinned_refusal_points_into_the_block() -> None:
    text = f"patches:\n- patch: |\n    containers:\n    - image: nginx:1@{DIGEST_OLD}\n"

    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _bump(text, "nginx:2", "kustomization.yaml")
    assert info.value.line == 4


def test_find_targets_carry_the_container_kind() -> None:
    yaml_file = parse_text(DEPLOYMENT, "deploy.yaml")
    request = BumpRequest(parse_image_ref("ghcr.io/acme/proxy:2.1.0"))

    found = find_all(yaml_file, request, Context())

    assert [(f.path, f.new, f.kind) for f in found if isinstance(f, Target)] == [
        (
            ("spec", "template", "spec", "containers", 1, "image"),
            "ghcr.io/acme/proxy:2.1.0",
            "container-image",
        )
    ]


def test_container_lists_include_values_file_sidecars() -> None:
    assert {"extraContainers", "sidecars", "extraInitContainers", "sidecarContainers"} <= (
        CONTAINER_LISTS
    )


def test_bump_json6902_patch_file_sets_container_image() -> None:
    text = (
        "- op: replace\n"
        "  path: /spec/template/spec/containers/0/image\n"
        "  value: ghcr.io/acme/web:1.1  # pinned by CI\n"
        "- op: replace\n"
        "  path: /spec/replicas\n"
        "  value: 3\n"
    )
    result = edit_bytes(
        text.encode(), "patch.yaml", BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2"))
    )
    assert result.after.decode() == text.replace("web:1.1", "web:1.4.2")


def test_bump_json6902_inline_patch_in_kustomization() -> None:
    text = (
        "resources:\n  - ../../base\n"
        "patches:\n"
        "  - target: {kind: Deployment, name: web}\n"
        "    patch: |-\n"
        "      - op: add\n"
        "        path: /spec/template/spec/initContainers/0/image\n"
        "        value: ghcr.io/acme/web:1.1\n"
    )
    result = edit_bytes(
        text.encode(), "kustomization.yaml", BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2"))
    )
    assert result.after.decode() == text.replace("web:1.1", "web:1.4.2")


def test_find_json6902_other_paths_and_ops_ignored() -> None:
    text = (
        "- op: remove\n  path: /spec/template/spec/containers/0/image\n"
        "- op: replace\n  path: /metadata/annotations/image\n  value: ghcr.io/acme/web:1.1\n"
    )
    with pytest.raises(TargetNotFoundError):
        edit_bytes(
            text.encode(), "patch.yaml", BumpRequest(parse_image_ref("ghcr.io/acme/web:1.4.2"))
        )
