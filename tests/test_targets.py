"""promotion/targets.py: what promoter.yaml names for an environment, and the files a plan
of it may read, named before the tree is known (a superset of what the kinds then read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter import config as configuration
from promoter.editing import kinds
from promoter.editing.engine import load_context
from promoter.imageref import parse_image_ref
from promoter.promotion.plan import needed_paths, plan_environment

FIXTURE = Path(__file__).resolve().parents[1] / "promoter" / "demo_repo"
API = parse_image_ref("ghcr.io/acme/api:2.5.0")

CONFIG = """\
version: 1
environments: {staging: {}}
apps:
  api:
    image: ghcr.io/acme/api
    targets:
      staging:
        - helm: values-staging.yaml
        - helm: envs/staging/deep/values-staging.yaml
        - file: charts/api/templates/deployment.yaml
        - kustomize: overlays/staging/kustomization.yaml
        - directory: clusters/staging
"""


def test_needed_paths_brings_what_each_target_kind_may_read() -> None:
    config = configuration.parse_config(CONFIG, "promoter.yaml")
    files, directories = needed_paths(config, "staging", [API], None)
    assert directories == ["clusters/staging"]
    helm = [
        "values-staging.yaml",
        "values.yaml",  # the root counts: a chart's own values beside its env files
        "values.yml",
        "envs/staging/deep/values-staging.yaml",
        "envs/staging/deep/values.yaml",
        "envs/staging/deep/values.yml",
        "envs/staging/values.yaml",
        "envs/staging/values.yml",
        "envs/values.yaml",
        "envs/values.yml",
        "charts/api/templates/deployment.yaml",
        "charts/api/Chart.yaml",  # what makes the target a template
        "charts/api/templates/values.yaml",
        "charts/api/templates/values.yml",
        "charts/api/values.yaml",
        "charts/api/values.yml",
        "charts/values.yaml",
        "charts/values.yml",
        "overlays/staging/kustomization.yaml",
        "clusters/staging/values.yaml",  # a file directly in the directory target
        "clusters/staging/values.yml",
        "clusters/values.yaml",
        "clusters/values.yml",
    ]
    assert [f for f in files if f in helm] == helm
    assert not [f for f in files if f.startswith("overlays/") and "values" in f]


def test_needed_paths_without_config_reads_every_directory() -> None:
    assert needed_paths(None, "staging", [API], None) == ([], [""])


def test_needed_paths_cover_every_companion_the_plan_reads() -> None:
    """The fixture's full tree: whatever `load_context` reads for a target was fetched."""
    config = configuration.load_config(FIXTURE / "promoter.yaml", root=FIXTURE)
    every = sorted(p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*") if p.is_file())
    for env in ("dev", "staging", "production"):
        for app in config.apps.values():
            if not app.targets.get(env):
                continue
            files, directories = needed_paths(config, env, [app.image], app.name)
            fetched = set(files) | {f for d in directories for f in every if f.startswith(d)}
            for target in files:
                read = [b.name for b in load_context(FIXTURE / target, FIXTURE).base_values]
                assert set(read) <= fetched, (env, target)
                assert set(read) <= set(kinds.candidates(target))


@pytest.mark.parametrize("depth", ["", "a/", "a/b/"])
def test_plan_environment_reads_chart_values_up_to_two_directories_above(
    tmp_path: Path, depth: str
) -> None:
    (tmp_path / "values.yaml").write_text("image:\n  repository: ghcr.io/acme/api\n  tag: 2.4.0\n")
    env_file = tmp_path / depth / "values-staging.yaml"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text("image:\n  tag: 2.4.1 # staging\n")
    head = CONFIG.partition("        - helm:")[0]
    text = f"{head}        - helm: {depth}values-staging.yaml\n"
    config = configuration.parse_config(text, "promoter.yaml")
    plan = plan_environment(tmp_path, config, "staging", [API], None)
    assert plan.changed_files() == {env_file: b"image:\n  tag: 2.5.0 # staging\n"}
