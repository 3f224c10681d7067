"""Helm editor: image blocks and image strings, located and rewritten byte for byte."""

from __future__ import annotations

import pytest

from promoter.editing import BumpRequest, Context, edit_bytes, helm
from promoter.editing.model import Found
from promoter.editing.source import parse_text
from promoter.errors import EditRefusedError, TargetNotFoundError
from promoter.imageref import parse_image_ref

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def _bump(text: str, image: str, *, base: str | None = None, name: str = "values.yaml") -> str:
    context = Context(base_values=(parse_text(base, "values.yaml"),)) if base else None
    result = edit_bytes(text.encode(), name, BumpRequest(parse_image_ref(image)), context)
    return result.after.decode()


def _find(text: str, image: str) -> list[Found]:
    request = BumpRequest(parse_image_ref(image))
    return helm.find(parse_text(text, "values.yaml"), request, Context())


def test_bump_repository_tag_sets_tag() -> None:
    text = "image:\n  repository: ghcr.io/acme/web\n  tag: 1.4.1\n  pullPolicy: IfNotPresent\n"
    assert _bump(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")


def test_bump_bitnami_registry_repository_tag_matches_joined_name() -> None:
    text = (
        "image:\n"
        "  registry: docker.io\n"
        "  repository: bitnami/nginx\n"
        "  tag: 1.27.3-debian-12-r5\n"
        '  digest: ""\n'
    )
    assert _bump(text, "bitnami/nginx:1.27.4-debian-12-r0") == text.replace(
        "1.27.3-debian-12-r5", "1.27.4-debian-12-r0"
    )


def test_bump_registry_does_not_match_repository_alone() -> None:
    text = "image:\n  registry: quay.io\n  repository: acme/web\n  tag: '1.0'\n"
    with pytest.raises(TargetNotFoundError):
        _bump(text, "acme/web:1.1")
    assert _bump(text, "quay.io/acme/web:1.1") == text.replace("1.0", "1.1")


@pytest.mark.parametrize("registry", ['  registry: ""\n', "  registry: null\n", ""])
def test_bump_empty_registry_uses_full_repository(registry: str) -> None:
    text = f"image:\n{registry}  repository: quay.io/acme/web\n  tag: v1\n"
    assert _bump(text, "quay.io/acme/web:v2") == text.replace("v1", "v2")


def test_bump_image_key_with_tag_sibling_sets_tag_only() -> None:
    text = "web:\n  image: acme/web\n  tag: v1 # pinned by CI\n"
    assert _bump(text, "acme/web:v2") == "web:\n  image: acme/web\n  tag: v2 # pinned by CI\n"


def test_bump_image_with_image_tag_sibling_sets_image_tag() -> None:
    text = "logstash:\n  image: grafana/logstash-output-loki\n  imageTag: 1.0.1\n"
    assert _bump(text, "grafana/logstash-output-loki:1.0.2") == text.replace("1.0.1", "1.0.2")


def test_bump_name_key_under_image_counts() -> None:
    text = "server:\n  image:\n    name: acme/api\n    tag: v1\n"
    assert _bump(text, "acme/api:v2") == text.replace("v1", "v2")


def test_find_name_key_outside_image_ignored() -> None:
    assert _find("server:\n  name: acme/api\n  tag: v1\n", "acme/api:v2") == []


def test_bump_nested_components_each_by_repository() -> None:
    text = (
        "frontend:\n"
        "  image:\n"
        "    repository: acme/front\n"
        "    tag: 2.0.0\n"
        "backend:\n"
        "  image:\n"
        "    repository: acme/api\n"
        "    tag: 3.1.0\n"
        "sidecars:\n"
        "  - name: proxy\n"
        "    image: acme/api:3.1.0\n"
    )
    assert _bump(text, "acme/api:3.2.0") == text.replace("3.1.0", "3.2.0")


def test_bump_image_string_keeps_name_as_written() -> None:
    text = "test_pod:\n  image: docker.io/library/bats:1.8.2\n"
    assert _bump(text, "bats:1.9.0") == "test_pod:\n  image: docker.io/library/bats:1.9.0\n"


def test_bump_image_string_bare_gets_tag_appended() -> None:
    assert _bump("proxy:\n  image: nginx\n", "nginx:1.27") == "proxy:\n  image: nginx:1.27\n"


@pytest.mark.parametrize("key", ["busyboxImage", "configReloaderimage", "imageName"])
def test_bump_image_like_keys(key: str) -> None:
    text = f"spec:\n  {key}: 'ghcr.io/acme/tool:1.0'\n"
    assert _bump(text, "ghcr.io/acme/tool:1.1") == text.replace("1.0", "1.1")


@pytest.mark.parametrize("lists", ["containers", "initContainers", "ephemeralContainers"])
def test_find_container_list_entries_left_to_workloads(lists: str) -> None:
    text = f"spec:\n  {lists}:\n    - name: web\n      image: acme/web:1.0\n"
    assert _find(text, "acme/web:1.1") == []


def test_find_status_of_kubernetes_object_skipped() -> None:
    text = (
        "apiVersion: acme.io/v1\nkind: Tool\nspec:\n  image: acme/tool:1.0\n"
        "status:\n  image: acme/tool:1.0\n"
    )
    assert _bump(text, "acme/tool:1.1") == text.replace("1.0", "1.1", 1)


def test_bump_helm_release_values() -> None:
    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "kind: HelmRelease\n"
        "spec:\n"
        "  values:\n"
        "    redis:\n"
        "      repository: public.ecr.aws/docker/library/redis\n"
        "      tag: 8.6.2\n"
    )
    assert _bump(text, "public.ecr.aws/docker/library/redis:8.6.3") == text.replace(
        "8.6.2", "8.6.3"
    )


def test_bump_multi_document_edits_each_document() -> None:
    text = (
        "image:\n  repository: acme/web\n  tag: v1\n"
        "---\n"
        "other:\n  image: acme/db:v1\n"
        "---\n"
        "web:\n  image: acme/web:v1\n"
    )
    expected = (
        "image:\n  repository: acme/web\n  tag: v2\n"
        "---\n"
        "other:\n  image: acme/db:v1\n"
        "---\n"
        "web:\n  image: acme/web:v2\n"
    )
    assert _bump(text, "acme/web:v2") == expected


def test_bump_anchor_edited_once_alias_untouched() -> None:
    text = (
        "image: &image\n"
        "  registry: docker.io\n"
        "  repository: grafana/enterprise-logs\n"
        "  tag: v1.5.2\n"
        "loki:\n"
        "  image: *image\n"
    )
    assert _bump(text, "grafana/enterprise-logs:v1.6.0") == text.replace("v1.5.2", "v1.6.0")


def test_bump_merge_key_block_edits_anchor() -> None:
    text = (
        "base: &base\n  repository: acme/web\n  tag: v1\nweb:\n  <<: *base\n  pullPolicy: Always\n"
    )
    assert _bump(text, "acme/web:v2") == text.replace("v1", "v2")


def test_bump_alias_to_non_image_anchor_refused() -> None:
    text = "versions:\n  web: &web acme/web:v1\nweb:\n  image: *web\n"
    with pytest.raises(EditRefusedError, match="alias"):
        _bump(text, "acme/web:v2")


def test_bump_tag_only_against_digest_refused() -> None:
    text = f"image:\n  repository: acme/web\n  tag: v1\n  digest: {DIGEST_A}\n"
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _bump(text, "acme/web:v2")
    assert info.value.line == 4


def test_bump_tag_only_with_empty_digest_sets_tag() -> None:
    text = "image:\n  repository: acme/web\n  tag: v1\n  digest: ''\n"
    assert _bump(text, "acme/web:v2") == text.replace("v1", "v2")


def test_bump_tag_and_digest_sets_both() -> None:
    text = f"image:\n  repository: acme/web\n  tag: v1\n  digest: {DIGEST_A}\n"
    expected = f"image:\n  repository: acme/web\n  tag: v2\n  digest: {DIGEST_B}\n"
    assert _bump(text, f"acme/web:v2@{DIGEST_B}") == expected


def test_bump_digest_request_without_digest_key_sets_tag_only() -> None:
    text = "image:\n  repository: acme/web\n  tag: v1\n"
    assert _bump(text, f"acme/web:v2@{DIGEST_B}") == text.replace("v1", "v2")


def test_bump_digest_only_request_without_digest_key_refused() -> None:
    with pytest.raises(EditRefusedError, match="no digest key"):
        _bump("image:\n  repository: acme/web\n  tag: v1\n", f"acme/web@{DIGEST_B}")


def test_bump_sha_key_gets_bare_hex() -> None:
    text = 'image:\n  repository: acme/web\n  tag: v1\n  sha: ""\n'
    expected = f'image:\n  repository: acme/web\n  tag: v2\n  sha: "{"b" * 64}"\n'
    assert _bump(text, f"acme/web:v2@{DIGEST_B}") == expected


def test_bump_image_string_pinned_refused() -> None:
    with pytest.raises(EditRefusedError, match="pinned by digest"):
        _bump(f"tool:\n  image: acme/tool:1.0@{DIGEST_A}\n", "acme/tool:1.1")


def test_bump_image_string_pinned_with_digest_request() -> None:
    text = f"tool:\n  image: acme/tool:1.0@{DIGEST_A}\n"
    assert _bump(text, f"acme/tool:1.1@{DIGEST_B}") == (
        f"tool:\n  image: acme/tool:1.1@{DIGEST_B}\n"
    )


def test_bump_missing_tag_inserted_after_last_key() -> None:
    text = "image:\n  repository: acme/web\n  # tag: v1\n  pullPolicy: Always\nreplicas: 2\n"
    expected = (
        "image:\n  repository: acme/web\n  # tag: v1\n  pullPolicy: Always\n"
        "  tag: v2\nreplicas: 2\n"
    )
    assert _bump(text, "acme/web:v2") == expected


def test_bump_missing_tag_flow_mapping_inserted() -> None:
    text = "image: {repository: acme/web}\n"
    assert _bump(text, "acme/web:v2") == "image: {repository: acme/web, tag: v2}\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("tag: null", "tag: v2"),
        ("tag: ~", "tag: v2"),
        ('tag: ""', 'tag: "v2"'),
        ("tag: ''", "tag: 'v2'"),
        ("tag:", "tag: v2"),
    ],
)
def test_bump_empty_or_null_tag_filled(before: str, after: str) -> None:
    text = f"image:\n  repository: acme/web\n  {before}\n  pullPolicy: Always\n"
    assert _bump(text, "acme/web:v2") == text.replace(before, after)


def test_bump_numeric_tag_quoted_when_new_tag_is_numeric() -> None:
    text = "image:\n  repository: acme/web\n  tag: 0.1\n"
    assert _bump(text, "acme/web:1.10") == 'image:\n  repository: acme/web\n  tag: "1.10"\n'


def test_bump_numeric_tag_stays_plain_when_new_tag_is_string() -> None:
    text = "image:\n  repository: acme/web\n  tag: 0.1\n"
    assert _bump(text, "acme/web:0.2-rc1") == "image:\n  repository: acme/web\n  tag: 0.2-rc1\n"


def test_bump_template_values() -> None:
    """A templated registry names no image; a templated tag of the image is refused by the
    engine (issue 19), not skipped."""
    templated_name = "b:\n  image: '{{ .Values.registry }}/acme/web:v1'\n"
    with pytest.raises(TargetNotFoundError):
        _bump(templated_name, "acme/web:v2")
    text = "a:\n  repository: acme/web\n  tag: '{{ .Chart.AppVersion }}'\n" + templated_name
    with pytest.raises(EditRefusedError, match=r"not a tag or digest \(a template\?\)") as info:
        _bump(text, "acme/web:v2")
    assert (info.value.line, info.value.field) == (3, "/a/tag")


def test_bump_env_override_found_through_base_values() -> None:
    base = "image:\n  registry: ghcr.io\n  repository: acme/web\n  tag: 1.4.0\n"
    env = "replicas: 3\nimage:\n  tag: 1.4.1 # staging\n"
    result = _bump(env, "ghcr.io/acme/web:1.4.2", base=base, name="values-staging.yaml")
    assert result == "replicas: 3\nimage:\n  tag: 1.4.2 # staging\n"


def test_bump_env_override_other_repository_not_found() -> None:
    base = "image:\n  repository: acme/api\n  tag: 1.4.0\n"
    with pytest.raises(TargetNotFoundError):
        _bump("image:\n  tag: 1.4.1\n", "acme/web:1.4.2", base=base)


def test_bump_env_override_inherited_digest_refused_at_base_line() -> None:
    base = f"image:\n  repository: acme/web\n  tag: v1\n  digest: {DIGEST_A}\n"
    with pytest.raises(EditRefusedError, match="pinned by digest") as info:
        _bump("image:\n  tag: v1\n", "acme/web:v2", base=base, name="values-prod.yaml")
    assert (info.value.path, info.value.line) == ("values.yaml", 4)


def test_bump_env_override_inherited_digest_added_with_digest_request() -> None:
    base = f"image:\n  repository: acme/web\n  tag: v1\n  digest: {DIGEST_A}\n"
    result = _bump("image:\n  tag: v1\n", f"acme/web:v2@{DIGEST_B}", base=base)
    assert result == f"image:\n  tag: v2\n  digest: {DIGEST_B}\n"


def test_bump_image_not_present_raises_target_not_found() -> None:
    text = "image:\n  repository: acme/api\n  tag: v1\nworker:\n  image: acme/worker:v1\n"
    with pytest.raises(TargetNotFoundError, match="acme/web"):
        _bump(text, "acme/web:v2")


def test_bump_already_at_tag_unchanged() -> None:
    text = "image:\n  repository: acme/web\n  tag: v2\n"
    result = edit_bytes(text.encode(), "values.yaml", BumpRequest(parse_image_ref("acme/web:v2")))
    assert (result.changed, result.matched, result.after) == (False, 1, text.encode())


def test_bump_crlf_preserved() -> None:
    text = "image:\r\n  repository: acme/web\r\n  tag: v1 # keep\r\n"
    assert _bump(text, "acme/web:v2") == text.replace("v1", "v2")


def test_bump_global_image_registry_joins_short_repository() -> None:
    text = "global:\n  imageRegistry: ghcr.io\nimage:\n  repository: acme/web\n  tag: 1.4.1\n"
    assert _bump(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")
    with pytest.raises(TargetNotFoundError):
        _bump(text, "docker.io/acme/web:1.4.2")


def test_bump_registry_prefix_with_shared_tag() -> None:
    text = "images:\n  repository: ghcr.io/acme\n  tag: 1.4.1\n  pullPolicy: Always\n"
    assert _bump(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")
    with pytest.raises(TargetNotFoundError):
        _bump(text, "ghcr.io/other/web:1.4.2")


def test_bump_registry_prefix_ignored_when_the_image_is_named() -> None:
    text = (
        "images:\n  repository: ghcr.io/acme\n  tag: 1.0.0\n"
        "web:\n  image:\n    repository: ghcr.io/acme/web\n    tag: 1.4.1\n"
    )
    assert _bump(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")
