"""The environment model: entry points, owned and shared files, edit/insert/refuse decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.editing.source import parse_text
from promoter.environments import DirectoryFiles, EnvironmentView, discover
from promoter.environments.layering import declared_layers
from promoter.errors import YamlError
from promoter.imageref import parse_image_ref

CONFIG_REPO = Path(__file__).resolve().parents[2] / "promoter" / "demo_repo"
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
          image: {image}
"""


def view(root: Path, env: str, image: str) -> EnvironmentView:
    return discover(DirectoryFiles(root), env, parse_image_ref(image))


def described(result: EnvironmentView) -> list[str]:
    return [action.describe() for action in result.actions]


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("env", "image", "expected"),
    [
        ("dev", "ghcr.io/acme/web:2", ["edit apps/web/overlays/dev/kustomization.yaml"]),
        (
            "staging",
            "ghcr.io/acme/web:1.4.3",
            [
                "edit apps/web/overlays/staging/kustomization.yaml",
                "edit clusters/staging/flux-image-marker.yaml",
            ],
        ),
        (
            "production",
            "ghcr.io/acme/web:2",
            ["edit apps/web/overlays/production/kustomization.yaml"],
        ),
        ("dev", "ghcr.io/acme/api:2", ["edit charts/api/values-dev.yaml"]),
        ("staging", "ghcr.io/acme/api:2", ["edit charts/api/values-staging.yaml"]),
        ("production", "ghcr.io/acme/api:2.4.0", ["edit charts/api/values-production.yaml"]),
        ("production", "ghcr.io/acme/worker:2", ["edit apps/worker/production/deployment.yaml"]),
    ],
)
def test_discover_config_repo_edits_the_environments_own_setting(
    env: str, image: str, expected: list[str]
) -> None:
    result = view(CONFIG_REPO, env, image)
    assert result.refusal is None
    assert described(result) == expected


def test_discover_unknown_environment_lists_known() -> None:
    result = view(CONFIG_REPO, "qa", "ghcr.io/acme/web:2")
    assert result.actions == ()
    assert result.refusal == (
        "no files for environment 'qa'; environments found: dev, production, staging"
    )


def test_discover_misspelt_environment_hints() -> None:
    result = view(CONFIG_REPO, "producton", "ghcr.io/acme/web:2")
    assert result.refusal is not None
    assert result.refusal.endswith("(did you mean 'production'?)")


def test_discover_prod_is_not_an_alias_of_production() -> None:
    result = view(CONFIG_REPO, "prod", "ghcr.io/acme/web:2")
    assert result.actions == ()
    assert result.refusal is not None


def test_discover_image_not_in_environment_says_where_it_is_set() -> None:
    result = view(CONFIG_REPO, "dev", "ghcr.io/acme/worker:2")
    assert result.actions == ()
    assert result.refusal is not None
    assert "apps/worker/production/deployment.yaml:" in result.refusal
    assert "promoter.yaml (apps.<app>.targets.dev" in result.refusal
    assert "/tmp" not in result.refusal


@pytest.fixture
def overlays(tmp_path: Path) -> Path:
    """A shared base and three overlays without `images:`; `pre-prod` qualifies `prod`."""
    write(tmp_path, "base/deployment.yaml", DEPLOYMENT.format(image="ghcr.io/acme/web:1.0"))
    write(tmp_path, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    for env in ("dev", "pre-prod", "prod"):
        write(tmp_path, f"overlays/{env}/kustomization.yaml", "resources:\n  - ../../base\n")
    return tmp_path


def test_discover_inherited_image_inserts_into_own_entry(overlays: Path) -> None:
    result = view(overlays, "prod", "ghcr.io/acme/web:2.0")
    assert result.entries == ("overlays/prod/kustomization.yaml",)
    assert described(result) == [
        "insert images: entries (ghcr.io/acme/web) into overlays/prod/kustomization.yaml"
    ]
    [setting] = result.settings
    assert (setting.path, setting.line, setting.owned) == ("base/deployment.yaml", 10, False)
    assert "overlays/pre-prod" in setting.readers


def test_discover_overlay_with_own_images_entry_edits_it(overlays: Path) -> None:
    write(
        overlays,
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.1\n",
    )
    assert described(view(overlays, "prod", "ghcr.io/acme/web:2.0")) == [
        "edit overlays/prod/kustomization.yaml"
    ]


def test_discover_own_entry_covers_only_its_spelling(overlays: Path) -> None:
    write(
        overlays,
        "base/cache.yaml",
        DEPLOYMENT.format(image="docker.io/redis:7").replace("name: web", "name: cache"),
    )
    write(overlays, "base/other.yaml", DEPLOYMENT.format(image="redis:7"))
    write(
        overlays,
        "base/kustomization.yaml",
        "resources:\n  - deployment.yaml\n  - cache.yaml\n  - other.yaml\n",
    )
    write(
        overlays,
        "overlays/dev/kustomization.yaml",
        "resources:\n  - ../../base\nimages:\n  - name: redis\n    newTag: '7'\n",
    )
    result = view(overlays, "dev", "redis:8")
    assert described(result) == [
        "edit overlays/dev/kustomization.yaml",
        "insert images: entries (docker.io/redis) into overlays/dev/kustomization.yaml",
    ]


def test_discover_component_mixin_is_not_an_environment(tmp_path: Path) -> None:
    write(tmp_path, "app/deployment.yaml", DEPLOYMENT.format(image="ghcr.io/acme/web:1.0"))
    write(tmp_path, "app/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(
        tmp_path,
        "mixins/envs/prd/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: prd-\n",
    )
    for env in ("prd-1", "prd-2"):
        write(
            tmp_path,
            f"environments/{env}/kustomization.yaml",
            "resources:\n  - ../../app\ncomponents:\n  - ../../mixins/envs/prd\n",
        )
    result = view(tmp_path, "prd", "ghcr.io/acme/web:2")
    assert result.actions == ()
    assert result.refusal is not None
    assert result.refusal.startswith("'prd' is not an environment: mixins/envs/prd/")
    assert described(view(tmp_path, "prd-1", "ghcr.io/acme/web:2")) == [
        "insert images: entries (ghcr.io/acme/web) into environments/prd-1/kustomization.yaml"
    ]


def test_discover_helm_env_values_without_tag_inserts_chart_key(tmp_path: Path) -> None:
    write(tmp_path, "chart/Chart.yaml", "name: web\n")
    write(
        tmp_path,
        "chart/values.yaml",
        "image:\n  repository: ghcr.io/acme/web\n  tag: 1.0\nreplicas: 1\n",
    )
    write(tmp_path, "chart/values-east.yaml", "replicas: 3\n")
    write(tmp_path, "chart/values-west.yaml", "image:\n  tag: 1.1\n")
    east = view(tmp_path, "east", "ghcr.io/acme/web:2.0")
    assert described(east) == ["insert image.tag into chart/values-east.yaml"]
    assert east.actions[0].value == "2.0"
    assert described(view(tmp_path, "west", "ghcr.io/acme/web:2.0")) == [
        "edit chart/values-west.yaml"
    ]


@pytest.mark.parametrize(
    "layout",
    ["chart/staging-values.yaml", "chart/envs/staging/values.yaml", "chart/values/staging.yaml"],
)
def test_discover_helm_values_naming_layouts(tmp_path: Path, layout: str) -> None:
    write(tmp_path, "chart/Chart.yaml", "name: web\n")
    write(tmp_path, "chart/values.yaml", "image:\n  repository: ghcr.io/acme/web\n  tag: 1.0\n")
    write(tmp_path, layout, "image:\n  tag: 1.1\n")
    assert described(view(tmp_path, "staging", "ghcr.io/acme/web:2.0")) == [f"edit {layout}"]


def test_discover_chart_values_alone_is_shared_and_refused(tmp_path: Path) -> None:
    write(tmp_path, "chart/Chart.yaml", "name: web\n")
    write(tmp_path, "chart/values.yaml", "image:\n  repository: ghcr.io/acme/web\n  tag: 1.0\n")
    write(tmp_path, "chart/values-prod.yaml", "image:\n  tag: 1.1\n")
    result = view(tmp_path, "dev", "ghcr.io/acme/web:2.0")
    assert result.actions == ()


def test_discover_helmrelease_patch_gets_the_shared_key_path(tmp_path: Path) -> None:
    release = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n"
        "spec:\n  values:\n    image:\n      repository: ghcr.io/acme/web\n      tag: 1.0\n"
    )
    write(tmp_path, "apps/base/release.yaml", release)
    write(tmp_path, "apps/base/kustomization.yaml", "resources:\n  - release.yaml\n")
    patch = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n"
        "spec:\n  values:\n    replicas: 2\n"
    )
    for env in ("staging", "production"):
        write(tmp_path, f"apps/{env}/patch.yaml", patch)
        write(
            tmp_path,
            f"apps/{env}/kustomization.yaml",
            "resources:\n  - ../base\npatches:\n  - path: patch.yaml\n",
        )
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert described(result) == ["insert spec.values.image.tag into apps/staging/patch.yaml"]
    write(tmp_path, "apps/staging/patch.yaml", patch + "    image:\n      tag: 1.5\n")
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert described(result) == ["edit apps/staging/patch.yaml at /spec/values/image/tag"]


def test_discover_ambiguous_file_is_never_assigned(tmp_path: Path) -> None:
    write(tmp_path, "staging/values-prod.yaml", "image: ghcr.io/acme/web:1.0\n")
    write(tmp_path, "prod/web.yaml", "image: ghcr.io/acme/web:1.0\n")
    result = view(tmp_path, "prod", "ghcr.io/acme/web:2.0")
    assert described(result) == ["edit prod/web.yaml"]
    assert any("staging/values-prod.yaml also names staging" in n for n in result.notes)


def test_discover_argocd_application_points_at_its_directory(tmp_path: Path) -> None:
    write(tmp_path, "base/deployment.yaml", DEPLOYMENT.format(image="ghcr.io/acme/web:1.0"))
    write(tmp_path, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(tmp_path, "deploy/eu1/kustomization.yaml", "resources:\n  - ../../base\n")
    write(
        tmp_path,
        "argocd/web-staging.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web-staging\n"
        "spec:\n  source:\n    path: deploy/eu1\n",
    )
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert result.entries == ("deploy/eu1/kustomization.yaml",)
    assert described(result) == [
        "insert images: entries (ghcr.io/acme/web) into deploy/eu1/kustomization.yaml"
    ]


def test_discover_argocd_application_named_for_env_outside_env_paths(tmp_path: Path) -> None:
    write(tmp_path, "base/deployment.yaml", DEPLOYMENT.format(image="ghcr.io/acme/web:1.0"))
    write(tmp_path, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    for region in ("eu1", "us1"):
        write(tmp_path, f"deploy/{region}/kustomization.yaml", "resources:\n  - ../../base\n")
    write(
        tmp_path,
        "argocd/apps.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web-qa\n"
        "spec:\n  destination:\n    namespace: web-qa\n  source:\n    path: deploy/us1\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: web\n"
        "spec:\n  generators:\n    - list:\n        elements:\n          - env: stage\n"
        "            region: eu1\n  template:\n    spec:\n      source:\n"
        "        path: 'deploy/{{region}}'\n",
    )
    qa = view(tmp_path, "qa", "ghcr.io/acme/web:2.0")
    assert qa.entries == ("deploy/us1/kustomization.yaml",)
    assert described(qa) == [
        "insert images: entries (ghcr.io/acme/web) into deploy/us1/kustomization.yaml"
    ]
    stage = view(tmp_path, "stage", "ghcr.io/acme/web:2.0")
    assert stage.entries == ("deploy/eu1/kustomization.yaml",)
    assert view(tmp_path, "prod", "ghcr.io/acme/web:2.0").actions == ()


def test_discover_own_file_not_yaml_is_an_error_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "envs/prod/web.yaml", "image: ghcr.io/acme/web:1.0\n  bad: [\n")
    result = view(tmp_path, "prod", "ghcr.io/acme/web:2.0")
    assert isinstance(result.error, YamlError)
    assert str(result.error).startswith("envs/prod/web.yaml:")
    assert result.refusal == str(result.error)
    assert result.actions == ()


def test_discover_files_that_cannot_hold_the_image_block_nothing(tmp_path: Path) -> None:
    """SOPS secrets, a chart's Go templates and invalid YAML that never spell the image
    are skipped and listed; the environment's own values file is still edited."""
    write(tmp_path, "envs/prod/values.yaml", "image:\n  repository: ghcr.io/acme/web\n  tag: 1.0\n")
    write(
        tmp_path,
        "envs/prod/slack.enc.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: slack\n"
        "stringData:\n  token: ENC[AES256_GCM,data:abc=,iv:x=,tag:y=,type:str]\n"
        "sops:\n  mac: ENC[AES256_GCM,data:m=,iv:i=,tag:t=,type:str]\n  version: 3.8.1\n",
    )
    write(tmp_path, "envs/prod/chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    write(tmp_path, "envs/prod/chart/templates/deployment.yaml", "{{- if .Values.on }}\nx: [\n")
    write(tmp_path, "envs/prod/notes.yaml", "key: [unclosed\n")
    result = view(tmp_path, "prod", "ghcr.io/acme/web:2.0")
    assert result.error is None
    assert result.refusal is None
    assert described(result) == ["edit envs/prod/values.yaml"]
    skipped = dict(result.skipped)
    assert skipped["envs/prod/slack.enc.yaml"].startswith("SOPS-encrypted")
    assert skipped["envs/prod/notes.yaml"].startswith("not YAML")
    assert "envs/prod/chart/templates/deployment.yaml" not in result.examined


def test_discover_encrypted_file_holding_the_reference_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "envs/prod/web.yaml",
        "image: ghcr.io/acme/web:1.0\nsops:\n  mac: ENC[AES256_GCM,data:m=]\n",
    )
    result = view(tmp_path, "prod", "ghcr.io/acme/web:2.0")
    assert result.refusal is not None
    assert "SOPS-encrypted" in result.refusal


def test_discover_env_named_file_another_environment_includes_is_shared(
    overlays: Path,
) -> None:
    """`overlays/prod/replicas.yaml` names prod, but pre-prod includes it too: never edited."""
    write(
        overlays,
        "overlays/prod/web.yaml",
        DEPLOYMENT.format(image="ghcr.io/acme/web:1.0").replace("name: web\n", "name: extra\n", 1),
    )
    write(
        overlays,
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\n  - web.yaml\n",
    )
    write(
        overlays,
        "overlays/pre-prod/kustomization.yaml",
        "resources:\n  - ../../base\n  - ../prod/web.yaml\n",
    )
    result = view(overlays, "prod", "ghcr.io/acme/web:2.0")
    assert described(result) == [
        "insert images: entries (ghcr.io/acme/web) into overlays/prod/kustomization.yaml"
    ]
    shared = [s for s in result.settings if s.path == "overlays/prod/web.yaml"]
    assert shared
    assert not shared[0].owned


def test_discover_env_values_beside_several_charts_take_the_apps_chart(tmp_path: Path) -> None:
    for app in ("web", "api"):
        write(tmp_path, f"charts/{app}/Chart.yaml", f"name: {app}\n")
        write(
            tmp_path,
            f"charts/{app}/values.yaml",
            f"image:\n  repository: ghcr.io/acme/{app}\n  tag: 1.0\n",
        )
    write(tmp_path, "charts/staging/web-values.yaml", "replicas: 2\n")
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert described(result) == ["insert image.tag into charts/staging/web-values.yaml"]
    assert [(s.path, s.owned) for s in result.settings] == [("charts/web/values.yaml", False)]


def test_discover_directory_two_environments_deploy_is_never_overridden(tmp_path: Path) -> None:
    """Applications for staging and prod both deploy `deploy/all`: neither owns it."""
    write(tmp_path, "deploy/all/deployment.yaml", DEPLOYMENT.format(image="ghcr.io/acme/web:1"))
    write(tmp_path, "deploy/all/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    application = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web-{env}\n"
        "spec:\n  source:\n    path: deploy/all\n"
    )
    for env in ("staging", "prod"):
        write(tmp_path, f"argocd/{env}/web.yaml", application.format(env=env))
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert result.entries == ("deploy/all/kustomization.yaml",)
    assert result.actions == ()
    assert result.refusal is not None
    assert "deploy/all/deployment.yaml:10" in result.refusal


def test_discover_env_values_far_from_the_chart_named_after_the_app(tmp_path: Path) -> None:
    write(tmp_path, "charts/web/Chart.yaml", "name: web\n")
    write(tmp_path, "charts/web/values.yaml", "image:\n  repository: ghcr.io/acme/web\n  tag: 1\n")
    write(tmp_path, "envs/staging/values.yaml", "replicas: 2\n")
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0")
    assert described(result) == ["insert image.tag into envs/staging/values.yaml"]


def test_discover_own_patch_of_the_container_is_the_setting(overlays: Path) -> None:
    """prod's own strategic-merge patch sets the base container's image: edit it alone; dev
    patches only replicas, so it gets an `images:` entry."""
    patch = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.1\n"
    )
    write(overlays, "overlays/prod/image.yaml", patch)
    write(
        overlays,
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\npatches:\n  - path: image.yaml\n",
    )
    assert described(view(overlays, "prod", "ghcr.io/acme/web:2.0")) == [
        "edit overlays/prod/image.yaml"
    ]
    write(
        overlays,
        "base/worker.yaml",
        DEPLOYMENT.format(image="ghcr.io/acme/web:1.0").replace(
            "name: web\nspec", "name: worker\nspec"
        ),
    )
    write(overlays, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n  - worker.yaml\n")
    assert described(view(overlays, "prod", "ghcr.io/acme/web:2.0")) == [
        "edit overlays/prod/image.yaml",
        "insert images: entries (ghcr.io/acme/web) into overlays/prod/kustomization.yaml",
    ]


DIGEST = "sha256:" + "a" * 64


def _digest_pinned_base(root: Path) -> None:
    write(root, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(
        root,
        "base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: api\n"
        f"          image: ghcr.io/acme/api:1.2.0@{DIGEST}\n",
    )
    write(root, "overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n")
    write(
        root,
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/api\n    newTag: 1.2.0\n",
    )


def test_discover_digest_pin_an_own_images_entry_replaces_is_not_in_force(
    tmp_path: Path,
) -> None:
    """kustomize's `newTag` replaces tag and digest: prod renders no digest, so its own
    entry is edited and the base's pin refuses nothing; dev renders the pin and refuses."""
    _digest_pinned_base(tmp_path)
    prod = view(tmp_path, "prod", "ghcr.io/acme/api:1.3.0")
    assert prod.refusal is None
    assert described(prod) == ["edit overlays/prod/kustomization.yaml"]
    dev = view(tmp_path, "dev", "ghcr.io/acme/api:1.3.0")
    assert dev.refusal is not None
    assert "pinned by digest" in dev.refusal


def test_discover_env_base_over_cluster_leaves_edits_the_one_env_base(tmp_path: Path) -> None:
    """`production/base` overrides the image for every cluster below it: that one line is
    the edit, and no cluster gets an `images:` entry shadowing it."""
    write(tmp_path, "apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(
        tmp_path,
        "apps/web/base/deployment.yaml",
        DEPLOYMENT.format(image="registry.example.com/platform/web:3.2.0"),
    )
    for env in ("production", "staging"):
        write(
            tmp_path,
            f"{env}/base/kustomization.yaml",
            "resources:\n  - ../../apps/web/base\nimages:\n"
            "  - name: registry.example.com/platform/web\n    newTag: 3.2.0\n",
        )
        for cluster in ("eu-west-1", "us-east-1"):
            write(tmp_path, f"{env}/{cluster}/kustomization.yaml", "resources:\n  - ../base\n")
    result = view(tmp_path, "production", "registry.example.com/platform/web:3.3.0")
    assert result.entries == (
        "production/eu-west-1/kustomization.yaml",
        "production/us-east-1/kustomization.yaml",
    )
    assert described(result) == ["edit production/base/kustomization.yaml"]


def test_refusal_names_split_keys_and_the_target_that_promotes_them(tmp_path: Path) -> None:
    write(
        tmp_path,
        "envs/dev/values.yaml",
        "replicas: 1\napp:\n  image_registry: quay.io\n  image_namespace: acme\n"
        "  image_name: web\n  image_version: 1.0.0\n",
    )
    result = view(tmp_path, "dev", "quay.io/acme/web:1.1.0")
    assert result.refusal is not None
    assert "envs/dev/values.yaml:3 spells the image as split keys" in result.refusal
    assert "{file: envs/dev/values.yaml, pointer: /app/image_version}" in result.refusal


def test_refusal_names_values_an_application_layers_over_a_remote_chart(tmp_path: Path) -> None:
    write(tmp_path, "envs/staging/web.yaml", "replicaCount: 2\n")
    write(tmp_path, "envs/prod/web.yaml", "replicaCount: 3\n")
    write(
        tmp_path,
        "bootstrap/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: web\n"
        "spec:\n  generators:\n    - matrix:\n        generators:\n          - list:\n"
        "              elements:\n                - env: staging\n                - env: prod\n"
        "  template:\n    spec:\n      sources:\n        - repoURL: https://charts.acme.dev\n"
        "          chart: web\n          targetRevision: 1.2.0\n          helm:\n"
        "            valueFiles:\n              - $values/envs/{{ .env }}/web.yaml\n"
        "        - repoURL: https://git.acme.dev/deploy.git\n          ref: values\n",
    )
    result = view(tmp_path, "staging", "ghcr.io/acme/web:2.0.0")
    assert result.refusal is not None
    assert (
        "envs/staging/web.yaml is layered by the ApplicationSet in bootstrap/web.yaml"
        in result.refusal
    )
    assert "{helm: envs/staging/web.yaml, key: image.tag, create: true}" in result.refusal


def test_values_layering_an_application_set_declares_names_the_chart(tmp_path: Path) -> None:
    """Neither the file's path nor the image names the chart (`charts/app` deploys
    `orders`): the ApplicationSet's `valueFiles` says which chart the values layer over."""
    for chart, repository in (("app", "ghcr.io/acme/orders"), ("worker", "ghcr.io/acme/jobs")):
        write(tmp_path, f"charts/{chart}/Chart.yaml", f"apiVersion: v2\nname: {chart}\n")
        write(
            tmp_path,
            f"charts/{chart}/values.yaml",
            f"image:\n  repository: {repository}\n  tag: 1.0.0\n",
        )
    write(tmp_path, "envs/staging/settings.yaml", "replicas: 2\n")
    write(tmp_path, "envs/prod/settings.yaml", "replicas: 3\n")
    write(
        tmp_path,
        "argocd/orders.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: orders\n"
        "spec:\n  goTemplate: true\n  generators:\n    - list:\n        elements:\n"
        "          - env: staging\n          - env: prod\n  template:\n    spec:\n"
        "      source:\n        path: charts/app\n        helm:\n          valueFiles:\n"
        "            - values.yaml\n            - ../../envs/{{ .env }}/settings.yaml\n",
    )
    result = view(tmp_path, "staging", "ghcr.io/acme/orders:2.0.0")
    assert result.refusal is None
    assert described(result) == ["insert image.tag into envs/staging/settings.yaml"]
    # a HelmRelease declares it the same way, from the repository's root
    declared = declared_layers(
        parse_text(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: o\n"
            "spec:\n  chart:\n    spec:\n      chart: ./charts/app\n      valuesFiles:\n"
            "        - ./charts/app/values.yaml\n        - ./envs/prod/settings.yaml\n",
            "hr.yaml",
        ).docs[0],
        {"charts/app/Chart.yaml", "charts/app/values.yaml", "envs/prod/settings.yaml"},
    )
    assert declared == {"envs/prod/settings.yaml": "charts/app/values.yaml"}


def test_discover_application_set_matrix_elements_name_the_environment(tmp_path: Path) -> None:
    """No path names `blue`: the ApplicationSet's matrix (environments × regions) deploys
    `deploy/blue-eu1` and `deploy/blue-us1` for it, which take its override."""
    write(tmp_path, "base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(
        tmp_path,
        "base/deployment.yaml",
        DEPLOYMENT.format(image="ghcr.io/acme/web:1.0"),
    )
    for stage in ("blue", "green"):
        for region in ("eu1", "us1"):
            write(
                tmp_path,
                f"deploy/{stage}-{region}/kustomization.yaml",
                "resources:\n  - ../../base\n",
            )
    write(
        tmp_path,
        "argocd/web.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: web\n"
        "spec:\n  generators:\n    - matrix:\n        generators:\n          - list:\n"
        "              elements:\n                - stage: blue\n                - stage: green\n"
        "          - list:\n              elements:\n                - region: eu1\n"
        "                - region: us1\n  template:\n    spec:\n      source:\n"
        "        path: 'deploy/{{stage}}-{{region}}'\n",
    )
    result = view(tmp_path, "blue", "ghcr.io/acme/web:2.0")
    assert result.entries == (
        "deploy/blue-eu1/kustomization.yaml",
        "deploy/blue-us1/kustomization.yaml",
    )
    assert described(result) == [
        "insert images: entries (ghcr.io/acme/web) into deploy/blue-eu1/kustomization.yaml",
        "insert images: entries (ghcr.io/acme/web) into deploy/blue-us1/kustomization.yaml",
    ]


def test_discover_override_goes_to_the_env_base_every_cluster_goes_through(
    tmp_path: Path,
) -> None:
    """`staging/base` sets no image yet: the one `images:` entry goes there (every way
    from each cluster to the shared deployment passes through it), not one per cluster;
    a cluster that bypasses it gets its own."""
    write(tmp_path, "apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
    write(
        tmp_path,
        "apps/web/base/deployment.yaml",
        DEPLOYMENT.format(image="registry.example.com/platform/web:3.2.0"),
    )
    write(tmp_path, "staging/base/kustomization.yaml", "resources:\n  - ../../apps/web/base\n")
    for cluster in ("eu-west-1", "us-east-1"):
        write(tmp_path, f"staging/{cluster}/kustomization.yaml", "resources:\n  - ../base\n")
    write(tmp_path, "staging/edge/kustomization.yaml", "resources:\n  - ../../apps/web/base\n")
    write(tmp_path, "production/kustomization.yaml", "resources:\n  - ../apps/web/base\n")
    result = view(tmp_path, "staging", "registry.example.com/platform/web:3.3.0")
    assert described(result) == [
        "insert images: entries (registry.example.com/platform/web) into "
        "staging/edge/kustomization.yaml",
        "insert images: entries (registry.example.com/platform/web) into "
        "staging/base/kustomization.yaml",
    ]
