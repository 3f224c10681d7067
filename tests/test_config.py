"""promoter.yaml: the model it loads to, one precise message per mistake, and the JSON Schema."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor

from promoter.config import (
    BRANCH_PATTERN,
    DURATION_PATTERN,
    HELM_KEY_PATTERN,
    LABEL_PATTERN,
    MODES,
    MOMENT_PATTERN,
    NAME_PATTERN,
    POINTER_PATTERN,
    REVIEWER_PATTERN,
    App,
    Config,
    Environment,
    FreezeWindow,
    Policies,
    Target,
    environment,
    find_app,
    find_config,
    load_config,
    parse_config,
)
from promoter.errors import (
    ConfigError,
    ImageRefError,
    PathEscapeError,
    PromoterError,
    YamlError,
)
from promoter.imageref import parse_image_ref

CONFIG_REPO = Path(__file__).resolve().parent.parent / "promoter" / "demo_repo"
UTC = timezone.utc


def snippet(
    environment: str = "{}",
    target: str = "{kustomize: overlays/dev/kustomization.yaml}",
    top: str = "",
    image: str = "ghcr.io/acme/web",
) -> str:
    """A small config; line 3 is the `dev` environment, line 9 the `dev` target."""
    return (
        f"version: 1\n{top}"
        "environments:\n"
        f"  dev: {environment}\n"
        "  prod: {source: dev}\n"
        "apps:\n"
        "  web:\n"
        f"    image: {image}\n"
        "    targets:\n"
        f"      dev: {target}\n"
    )


TWO_APPS_ONE_IMAGE = snippet() + (
    "  api:\n"
    "    image: ghcr.io/acme/web\n"
    "    targets:\n"
    "      prod: {kustomize: overlays/prod/kustomization.yaml}\n"
)


def error_of(text: str) -> PromoterError:
    with pytest.raises(PromoterError) as info:
        parse_config(text, "promoter.yaml")
    return info.value


# --- the model -------------------------------------------------------------------------------


def test_load_config_fixture_repo_environments() -> None:
    config = load_config(CONFIG_REPO / "promoter.yaml", root=CONFIG_REPO)
    assert config.name == "promoter.yaml"
    assert config.version == 1
    assert list(config.environments) == ["dev", "staging", "production"]
    inherited = Policies(no_downgrade=True)
    assert config.environments["dev"] == Environment(
        "dev", "push", "main", ("promotion",), (), None, inherited
    )
    assert config.environments["staging"] == Environment(
        "staging", "push", "main", ("promotion",), (), "dev", inherited
    )
    assert config.environments["production"] == Environment(
        name="production",
        mode="pull-request",
        base="main",
        labels=("promotion", "production"),
        reviewers=("acme/sre", "alice"),
        source="staging",
        policies=Policies(no_downgrade=True),
    )


def test_load_config_fixture_repo_apps_use_every_target_form() -> None:
    config = load_config(CONFIG_REPO / "promoter.yaml", root=CONFIG_REPO)
    assert list(config.apps) == ["web", "api", "frontend", "backend", "worker"]
    assert config.apps["web"] == App(
        "web",
        parse_image_ref("ghcr.io/acme/web"),
        {
            "dev": (Target("kustomize", "apps/web/overlays/dev/kustomization.yaml"),),
            "staging": (
                Target("kustomize", "apps/web/overlays/staging/kustomization.yaml"),
                Target("directory", "clusters/staging"),
            ),
            "production": (Target("kustomize", "apps/web/overlays/production/kustomization.yaml"),),
        },
    )
    assert config.apps["api"].targets == {
        "dev": (Target("helm", "charts/api/values-dev.yaml", "image.tag"),),
        "staging": (Target("helm", "charts/api/values-staging.yaml", "image.tag"),),
        "production": (Target("helm", "charts/api/values-production.yaml"),),
    }
    assert config.apps["frontend"].targets == {
        "production": (Target("file", "charts/platform/values.yaml", "/frontend/image"),)
    }
    assert config.apps["worker"].targets["production"] == (
        Target("file", "apps/worker/production/deployment.yaml"),
        Target("helm", "charts/platform/values.yaml"),
    )
    kinds = {t.kind for app in config.apps.values() for ts in app.targets.values() for t in ts}
    assert kinds == {"kustomize", "helm", "file", "directory"}
    assert any(t.kind == "file" and t.key for t in config.apps["frontend"].targets["production"])


def test_load_config_fixture_targets_exist() -> None:
    config = load_config(CONFIG_REPO / "promoter.yaml", root=CONFIG_REPO)
    for app in config.apps.values():
        for targets in app.targets.values():
            for target in targets:
                assert (CONFIG_REPO / target.path).exists(), target.path


def test_parse_config_minimal_uses_defaults() -> None:
    config = parse_config("version: 1\nenvironments:\n  dev:\n", "promoter.yaml")
    assert config == Config("promoter.yaml", {"dev": Environment("dev")}, {}, 1)
    assert config.environments["dev"].mode == "pull-request"
    assert config.environments["dev"].base is None


def test_parse_config_environment_replaces_lists_and_merges_policies() -> None:
    text = (
        "version: 1\n"
        "defaults:\n"
        "  labels: [promotion, bot]\n"
        "  policies: {no_downgrade: true, soak: 1h}\n"
        "environments:\n"
        "  dev: {labels: [dev]}\n"
        "  prod: {policies: {soak: 2d}, base: null}\n"
    )
    config = parse_config(text, "promoter.yaml")
    assert config.environments["dev"].labels == ("dev",)
    assert config.environments["dev"].policies == Policies(timedelta(hours=1), (), True)
    assert config.environments["prod"].labels == ("promotion", "bot")
    assert config.environments["prod"].policies == Policies(timedelta(days=2), (), True)
    assert config.environments["prod"].base is None


def test_parse_config_version_order_none_and_tags_merge_from_defaults() -> None:
    text = (
        "version: 1\n"
        "defaults:\n"
        "  policies: {version_order: none}\n"
        "environments:\n"
        "  dev: {}\n"
        "  prod:\n"
        "    policies:\n"
        "      tags: '^v?\\d+\\.\\d+\\.\\d+$'\n"
    )
    config = parse_config(text, "promoter.yaml")
    dev, prod = config.environments["dev"].policies, config.environments["prod"].policies
    assert (dev.version_order, dev.tags) == ("none", None)
    assert (prod.version_order, prod.tags) == ("none", r"^v?\d+\.\d+\.\d+$")


def test_parse_config_merge_keys_and_anchors() -> None:
    text = (
        "version: 1\n"
        "environments:\n"
        "  staging: &pushed {mode: push, labels: [promotion]}\n"
        "  dev:\n"
        "    <<: *pushed\n"
        "    labels: [dev]\n"
    )
    config = parse_config(text, "promoter.yaml")
    assert config.environments["dev"] == Environment("dev", "push", labels=("dev",))
    assert config.environments["staging"] == Environment("staging", "push", labels=("promotion",))


def test_parse_config_soak_durations() -> None:
    def soak(text: str) -> timedelta | None:
        config = parse_config(snippet(f"{{policies: {{soak: {text}}}}}"), "promoter.yaml")
        return config.environments["dev"].policies.soak

    assert soak("30m") == timedelta(minutes=30)
    assert soak("1h30m") == timedelta(minutes=90)
    assert soak("2d") == timedelta(days=2)
    assert soak("1w") == timedelta(days=7)
    assert soak("45s") == timedelta(seconds=45)


def test_parse_config_freeze_naive_datetime_is_utc() -> None:
    text = snippet("{policies: {freeze: [{start: 2026-12-20T18:00, end: '2026-12-21 06:30'}]}}")
    window = parse_config(text, "promoter.yaml").environments["dev"].policies.freeze[0]
    assert window == FreezeWindow(
        datetime(2026, 12, 20, 18, tzinfo=UTC), datetime(2026, 12, 21, 6, 30, tzinfo=UTC)
    )


def test_parse_config_paths_are_normalised() -> None:
    target = "[{kustomize: ./overlays//dev/kustomization.yaml}, {directory: ./}]"
    config = parse_config(snippet(target=target), "promoter.yaml")
    assert config.apps["web"].targets["dev"] == (
        Target("kustomize", "overlays/dev/kustomization.yaml"),
        Target("directory", "."),
    )


def test_parse_config_docker_hub_image_and_find_app() -> None:
    config = parse_config(snippet(image="nginx"), "promoter.yaml")
    assert find_app(config, parse_image_ref("docker.io/library/nginx:1.27")) is config.apps["web"]
    assert find_app(config, parse_image_ref("ghcr.io/acme/nginx:1.27")) is None


# --- one precise message per mistake ---------------------------------------------------------

ERRORS = [
    pytest.param(
        snippet("{lables: [x]}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.lables: unknown key (did you mean 'labels'?)",
        id="unknown-key",
    ),
    pytest.param(
        snippet("{colour: red}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.colour: unknown key; expected one of: mode, base, "
        "labels, reviewers, squash, group, policies, templates, from, source",
        id="unknown-key-no-close-match",
    ),
    pytest.param(
        "version: 1\nenvironments: {dev: {}}\nappz: {}\n",
        ConfigError,
        "promoter.yaml:3: appz: unknown key (did you mean 'apps'?)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        snippet("{mode: merge}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.mode: expected 'push' or 'pull-request', got 'merge'",
        id="bad-mode",
    ),
    pytest.param(
        snippet(top="defaults: {mode: merge}\n"),
        ConfigError,
        "promoter.yaml:2: defaults.mode: expected 'push' or 'pull-request', got 'merge'",
        id="bad-default-mode",
    ),
    pytest.param(
        snippet(image="ghcr.io/acme/web:1.4"),
        ConfigError,
        "promoter.yaml:7: apps.web.image: expected a repository without tag or digest, "
        "got 'ghcr.io/acme/web:1.4' (use 'ghcr.io/acme/web')",
        id="image-with-tag",
    ),
    pytest.param(
        snippet(image="ghcr.io/Acme/web"),
        ConfigError,
        "promoter.yaml:7: apps.web.image: invalid image reference 'ghcr.io/Acme/web': "
        "bad path component 'Acme' (must be lowercase)",
        id="image-uppercase",
    ),
    pytest.param(
        snippet(target="{kustomize: a.yaml}").replace("      dev:", "      stagin:"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.stagin: unknown environment 'stagin'; known: dev, prod",
        id="target-unknown-environment",
    ),
    pytest.param(
        snippet(target="{kustomize: a.yaml}").replace("      dev:", "      prd:"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.prd: unknown environment 'prd'; "
        "known: dev, prod (did you mean 'prod'?)",
        id="target-unknown-environment-hint",
    ),
    pytest.param(
        snippet(target="{kustomize: /etc/kustomization.yaml}"),
        PathEscapeError,
        "promoter.yaml:9: apps.web.targets.dev.kustomize: expected a path relative to the "
        "repository root, got absolute '/etc/kustomization.yaml'",
        id="absolute-path",
    ),
    pytest.param(
        snippet(target="[{helm: a.yaml}, {file: ../other/values.yaml}]"),
        PathEscapeError,
        "promoter.yaml:9: apps.web.targets.dev[1].file: '../other/values.yaml' must stay inside "
        "the repository ('..' is not allowed)",
        id="dotdot-escape",
    ),
    pytest.param(
        snippet(target='{directory: "C:\\\\deploy"}'),
        PathEscapeError,
        "promoter.yaml:9: apps.web.targets.dev.directory: use '/' to separate directories in "
        "'C:\\\\deploy'",
        id="windows-path",
    ),
    pytest.param(
        snippet(target="{file: .git/config}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.file: '.git/config' points into .git",
        id="git-dir",
    ),
    pytest.param(
        snippet(target="{kustomize: ./}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.kustomize: expected a file, got './'",
        id="file-is-root",
    ),
    pytest.param(
        snippet(target="{helm: a.yaml, file: b.yaml}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev: expected exactly one of kustomize, helm, file, "
        "directory; got helm and file",
        id="two-target-kinds",
    ),
    pytest.param(
        snippet(target="{key: image.tag}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev: expected exactly one of kustomize, helm, file, "
        "directory; got none",
        id="no-target-kind",
    ),
    pytest.param(
        snippet(target="{file: a.yaml, pointer: /spec/image, create: true}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.create: only valid with kustomize or helm",
        id="create-with-file",
    ),
    pytest.param(
        snippet(target="{helm: values.yaml, create: true}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.create: needs key: the values key to create",
        id="create-helm-without-key",
    ),
    pytest.param(
        snippet(target="{kustomize: a.yaml, create: yes please}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.create: expected true or false, got 'yes please'",
        id="create-not-boolean",
    ),
    pytest.param(
        snippet(target="{kustomize: a.yaml, key: image.tag}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.key: only valid with helm",
        id="key-without-helm",
    ),
    pytest.param(
        snippet(target="{file: a.yaml, pointer: spec/image}"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev.pointer: 'spec/image' is not a valid JSON "
        "pointer (use e.g. /spec/image)",
        id="bad-pointer",
    ),
    pytest.param(
        snippet(target="[]"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev: expected at least one target",
        id="empty-target-list",
    ),
    pytest.param(
        snippet(target="[{helm: a.yaml}, {helm: ./a.yaml}]"),
        ConfigError,
        "promoter.yaml:9: apps.web.targets.dev[1]: duplicate target",
        id="duplicate-target",
    ),
    pytest.param(
        snippet("{base: 1.10}"),
        ConfigError,
        'promoter.yaml:3: environments.dev.base: expected a string, got 1.10 (quote it: "1.10")',
        id="base-is-a-number",
    ),
    pytest.param(
        snippet("{base: 'release..1'}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.base: 'release..1' is not a valid branch name",
        id="bad-branch",
    ),
    pytest.param(
        snippet("{labels: promotion}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.labels: expected a list, got 'promotion'",
        id="labels-not-a-list",
    ),
    pytest.param(
        snippet("{labels: [ok, 'a,b']}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.labels[1]: 'a,b' is not a valid label",
        id="label-with-comma",
    ),
    pytest.param(
        snippet("{reviewers: [alice bob]}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.reviewers[0]: 'alice bob' is not a valid reviewer",
        id="bad-reviewer",
    ),
    pytest.param(
        snippet("{source: dev}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.source: unknown environment 'dev'; known: prod",
        id="source-is-itself",
    ),
    pytest.param(
        snippet("{source: prod}"),
        ConfigError,
        "promoter.yaml:4: environments.prod.source: cycle: dev → prod → dev",
        id="source-cycle",
    ),
    pytest.param(
        snippet("{policies: {soak: 1 day}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.soak: '1 day' is not a valid duration "
        "(use e.g. 30m, 24h, 2d)",
        id="bad-soak",
    ),
    pytest.param(
        snippet("{policies: {no_downgrade: 'yes'}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.no_downgrade: expected true or false, "
        "got 'yes'",
        id="no-downgrade-not-bool",
    ),
    pytest.param(
        snippet("{squash: 'on'}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.squash: expected true or false, got 'on'",
        id="squash-not-bool",
    ),
    pytest.param(
        snippet("{policies: {freeze: [{start: 2026-12-20}]}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.freeze[0].end: missing required key "
        "(a date or datetime)",
        id="freeze-without-end",
    ),
    pytest.param(
        snippet("{policies: {freeze: [{start: 2026-12-20, end: 2026-12-19}]}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.freeze[0].end: must be after start",
        id="freeze-end-before-start",
    ),
    pytest.param(
        snippet("{policies: {freeze: [{start: 2026-02-30, end: 2026-03-02}]}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.freeze[0].start: invalid date "
        "'2026-02-30': day is out of range for month",
        id="freeze-impossible-date",
    ),
    pytest.param(
        snippet("{policies: {freeze: [{start: next friday, end: 2026-03-02}]}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.freeze[0].start: expected a date "
        "(2026-12-20) or datetime, got 'next friday'",
        id="freeze-not-a-date",
    ),
    pytest.param(
        TWO_APPS_ONE_IMAGE,
        ConfigError,
        "promoter.yaml:11: apps.api.image: ghcr.io/acme/web is already the image of app 'web' "
        "(list all of its files under one app)",
        id="duplicate-image",
    ),
    pytest.param(
        "version: 1\nenvironments:\n  dev: {}\n  dev: {mode: push}\n",
        ConfigError,
        "promoter.yaml:4: environments.dev: duplicate key (first at line 3)",
        id="duplicate-key",
    ),
    pytest.param(
        "version: 1\nenvironments:\n  'pre prod': {}\n",
        ConfigError,
        "promoter.yaml:3: environments.pre prod: 'pre prod' is not a valid name (letters, "
        "digits, '-' and '_'; at most 63 characters)",
        id="bad-environment-name",
    ),
    pytest.param(
        "environments:\n  dev: {}\n",
        ConfigError,
        "promoter.yaml:1: version: missing required key (add 'version: 1')",
        id="missing-version",
    ),
    pytest.param(
        "version: 2\nenvironments:\n  dev: {}\n",
        ConfigError,
        "promoter.yaml:1: version: unsupported version 2 (this promoter reads version 1)",
        id="future-version",
    ),
    pytest.param(
        "version: 1\n",
        ConfigError,
        "promoter.yaml:1: environments: missing required key (declare at least one)",
        id="missing-environments",
    ),
    pytest.param(
        "version: 1\nenvironments:\n  dev: {}\napps:\n  web:\n    image: ghcr.io/acme/web\n"
        "    targets: {}\n",
        ConfigError,
        "promoter.yaml:7: apps.web.targets: expected at least one environment",
        id="empty-targets",
    ),
    pytest.param(
        "# nothing yet\n",
        ConfigError,
        "promoter.yaml: empty config; expected 'version: 1', 'environments' and 'apps'",
        id="empty",
    ),
    pytest.param(
        "- version: 1\n",
        ConfigError,
        "promoter.yaml:1: expected a mapping, got a list",
        id="not-a-mapping",
    ),
    pytest.param(
        "version: 1\nenvironments: {dev: {}}\n---\nversion: 1\n",
        ConfigError,
        "promoter.yaml:4: expected one YAML document, got 2",
        id="two-documents",
    ),
    pytest.param(
        "version: 1\nenvironments:\n  dev: {mode: push\n  prod: {}\n",
        YamlError,
        "promoter.yaml:4: not valid YAML: expected ',' or '}', but got ':'",
        id="broken-yaml",
    ),
    pytest.param(
        "version: 1\nenvironments:\n\tdev: {}\n",
        YamlError,
        "promoter.yaml:3: not valid YAML: found character '\\t' that cannot start any token",
        id="tab-indent",
    ),
    pytest.param(
        snippet("{policies: {version_order: newest}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.version_order: expected semver, numeric, "
        "lexical or none, got 'newest'",
        id="version-order-unknown",
    ),
    pytest.param(
        snippet("{policies: {tags: '^v?(\\d+$'}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.tags: not a valid regular expression: "
        "missing ), unterminated subpattern at position 3",
        id="tags-not-a-regex",
    ),
    pytest.param(
        snippet("{policies: {semver: '>=1.0 <2.x.y'}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.semver: not a SemVer range: not a "
        "version: '2.x.y'",
        id="semver-not-a-range",
    ),
    pytest.param(
        snippet("{policies: {semver: '>=1 ||'}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.semver: not a SemVer range: an empty "
        "alternative between '||'",
        id="semver-empty-alternative",
    ),
    pytest.param(
        snippet("{policies: {tags: ''}}"),
        ConfigError,
        "promoter.yaml:3: environments.dev.policies.tags: expected a pattern of 1 to 256 "
        "characters",
        id="tags-empty",
    ),
]


@pytest.mark.parametrize(("text", "kind", "message"), ERRORS)
def test_parse_config_error_names_file_line_field(
    text: str, kind: type[PromoterError], message: str
) -> None:
    error = error_of(text)
    assert type(error) is kind
    assert str(error) == message
    assert error.path == "promoter.yaml"
    assert error.exit_code == 2


def test_parse_config_error_keeps_field_and_line_attributes() -> None:
    error = error_of(snippet("{mode: merge}"))
    assert (error.path, error.line, error.field) == ("promoter.yaml", 3, "environments.dev.mode")


def test_load_config_symlink_escape_names_the_field(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "overlays").mkdir(parents=True)
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("images: []\n")
    (repo / "overlays" / "dev").symlink_to(outside, target_is_directory=True)
    config = repo / "promoter.yaml"
    config.write_text(snippet())
    with pytest.raises(PathEscapeError) as info:
        load_config(config, root=repo)
    assert str(info.value) == (
        "promoter.yaml:9: apps.web.targets.dev.kustomize: 'overlays/dev/kustomization.yaml' "
        "resolves outside the repository through a symlink"
    )


def test_load_config_symlink_inside_repo_is_fine(tmp_path: Path) -> None:
    (tmp_path / "overlays" / "real").mkdir(parents=True)
    (tmp_path / "overlays" / "dev").symlink_to("real", target_is_directory=True)
    (tmp_path / "promoter.yaml").write_text(snippet())
    config = load_config(tmp_path / "promoter.yaml", root=tmp_path)
    assert config.apps["web"].targets["dev"] == (
        Target("kustomize", "overlays/dev/kustomization.yaml"),
    )


def test_load_config_outside_root_is_named_as_given(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    config = tmp_path / "elsewhere.yaml"
    config.write_text(snippet("{mode: merge}"))
    with pytest.raises(ConfigError) as info:
        load_config(config, root=repo)
    assert info.value.path == str(config)
    assert info.value.line == 3


def test_load_config_nested_config_is_named_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    config = tmp_path / "deploy" / "promoter.yaml"
    config.write_text("version: 1\nenvironments: {dev: {mode: merge}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config, root=tmp_path)
    assert str(info.value) == (
        "deploy/promoter.yaml:2: environments.dev.mode: expected 'push' or 'pull-request', "
        "got 'merge'"
    )


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "promoter.yaml", root=tmp_path)
    assert str(info.value) == "promoter.yaml: cannot read config: No such file or directory"


def test_load_config_not_utf8_names_line(tmp_path: Path) -> None:
    (tmp_path / "promoter.yaml").write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(YamlError) as info:
        load_config(tmp_path / "promoter.yaml", root=tmp_path)
    assert str(info.value) == "promoter.yaml:2: not UTF-8 text"


def test_load_config_bom_and_crlf_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + "version: 1\r\nenvironments:\r\n  dev: {mode: push}\r\n"
    (tmp_path / "promoter.yaml").write_bytes(text.encode())
    config = load_config(tmp_path / "promoter.yaml", root=tmp_path)
    assert config.environments == {"dev": Environment("dev", "push")}


def test_environment_unknown_lists_known_with_hint() -> None:
    config = load_config(CONFIG_REPO / "promoter.yaml", root=CONFIG_REPO)
    assert environment(config, "staging") is config.environments["staging"]
    with pytest.raises(ConfigError) as info:
        environment(config, "stagin")
    assert str(info.value) == (
        "unknown environment 'stagin'; known: dev, production, staging (did you mean 'staging'?)"
    )
    with pytest.raises(ConfigError) as info:
        environment(config, "qa")
    assert str(info.value) == "unknown environment 'qa'; known: dev, production, staging"


def test_find_config_prefers_promoter_yaml(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    (tmp_path / "promoter.yml").write_text("")
    assert find_config(tmp_path) == tmp_path / "promoter.yml"
    (tmp_path / ".promoter.yaml").write_text("")
    assert find_config(tmp_path) == tmp_path / ".promoter.yaml"
    (tmp_path / "promoter.yaml").write_text("")
    assert find_config(tmp_path) == tmp_path / "promoter.yaml"


def test_find_config_ignores_directory(tmp_path: Path) -> None:
    (tmp_path / "promoter.yaml").mkdir()
    assert find_config(tmp_path) is None


# --- JSON Schema -----------------------------------------------------------------------------


class _JsonConstructor(SafeConstructor):
    """Reads YAML as the JSON a schema validator sees; dates stay the strings written."""


_JsonConstructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def as_json(text: str) -> Any:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _JsonConstructor
    return yaml.load(text)


def load_schema() -> Any:
    """The schema as shipped: package data, not a path into the source tree."""
    return json.loads(
        resources.files("promoter").joinpath("schema/promoter.schema.json").read_text()
    )


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_accepts_fixture_config(validator: jsonschema.protocols.Validator) -> None:
    data = as_json((CONFIG_REPO / "promoter.yaml").read_text())
    assert list(validator.iter_errors(data)) == []


def test_schema_rejects_invalid_configs(validator: jsonschema.protocols.Validator) -> None:
    data = as_json((CONFIG_REPO / "promoter.yaml").read_text())
    data["environments"]["production"]["mode"] = "merge"
    errors = list(validator.iter_errors(data))
    assert [list(e.absolute_path) for e in errors] == [["environments", "production", "mode"]]
    data = as_json((CONFIG_REPO / "promoter.yaml").read_text())
    data["apps"]["web"]["targets"]["dev"]["kustomize"] = "../outside/kustomization.yaml"
    assert not validator.is_valid(data)
    data = as_json((CONFIG_REPO / "promoter.yaml").read_text())
    data["apps"]["web"]["imag"] = data["apps"]["web"].pop("image")
    assert not validator.is_valid(data)


ROOT = CONFIG_REPO.parent.parent
MODELINE = "# yaml-language-server: $schema="


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def raw_url(path: str, ref: str = "main") -> str:
    """Where `path` of the project's repository ([project.urls] Source) is served raw."""
    pyproject = read(ROOT / "pyproject.toml")
    source = re.search(r'^Source = "https://github\.com/([^"/]+/[^"/]+)"$', pyproject, re.M)
    assert source is not None
    return f"https://raw.githubusercontent.com/{source[1]}/{ref}/{path}"


def test_schema_id_is_the_raw_url_of_its_own_path() -> None:
    schemas = sorted((ROOT / "promoter" / "schema").glob("*.json"))
    assert schemas
    for path in schemas:
        assert json.loads(read(path))["$id"] == raw_url(path.relative_to(ROOT).as_posix())


def test_schema_modeline_in_the_docs_names_the_shipped_schema() -> None:
    """docs/configuration.md's modeline (and the fixture's first line) is the `$id` of the
    schema promoter ships for promoter.yaml (a file that exists); a release's copy is at
    the same path under its tag."""
    docs = read(ROOT / "docs" / "configuration.md")
    urls = [line.removeprefix(MODELINE) for line in docs.splitlines() if line.startswith(MODELINE)]
    schema_id = load_schema()["$id"]
    assert urls == [schema_id]
    assert read(CONFIG_REPO / "promoter.yaml").splitlines()[0] == MODELINE + schema_id
    path = schema_id.removeprefix(raw_url(""))
    assert (ROOT / path).is_file()
    assert f"`{raw_url(path, ref='vX.Y.Z')}`" in docs


def test_schema_patterns_are_the_validator_constants() -> None:
    defs = load_schema()["$defs"]
    assert defs["name"]["pattern"] == NAME_PATTERN
    assert defs["base"]["pattern"] == BRANCH_PATTERN
    assert defs["labels"]["items"]["pattern"] == LABEL_PATTERN
    assert defs["reviewers"]["items"]["pattern"] == REVIEWER_PATTERN
    assert defs["policies"]["properties"]["soak"]["pattern"] == DURATION_PATTERN
    assert defs["moment"]["pattern"] == MOMENT_PATTERN
    helm, file = defs["target"]["oneOf"][1:3]
    assert helm["properties"]["key"]["pattern"] == HELM_KEY_PATTERN
    assert file["properties"]["pointer"]["pattern"] == POINTER_PATTERN
    assert defs["mode"]["enum"] == list(MODES)


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "library/nginx",
        "ghcr.io/acme/web",
        "ghcr.io/acme/team/web-app",
        "localhost/web",
        "localhost:5000/web",
        "[::1]:5000/web",
        "Registry/web",
        "my_reg.io/web",
        "my_reg/web",
        "a__b/c",
        "a___b/c",
        "a.b-c/d.e_f",
        "web_",
        "-web",
        "Web",
        "ghcr.io/acme/Web",
        "ghcr.io/acme/web:1.4",
        "ghcr.io/acme/web@sha256:" + "a" * 64,
        "ghcr.io/",
        "ghcr.io//web",
        "registry-.io/web",
        "ghcr.io:x/web",
        "web" * 90,
    ],
)
def test_schema_image_pattern_agrees_with_parse_image_ref(image: str) -> None:
    schema = {"$schema": load_schema()["$schema"], **load_schema()["$defs"]["image"]}
    try:
        ref = parse_image_ref(image)
        python = ref.tag is None and ref.digest is None
    except ImageRefError:
        python = False
    assert jsonschema.Draft202012Validator(schema).is_valid(image) == python


AGREEMENT = [
    # valid
    snippet(),
    snippet("{mode: push, base: release/2026.1, labels: [promotion, 'area: web']}"),
    snippet("{base: null, reviewers: ['@alice', acme/sre, group/sub/team]}"),
    snippet("{policies: {soak: 1h30m, no_downgrade: false}}"),
    snippet("{policies: {freeze: [{start: 2026-12-20, end: 2027-01-03, reason: holidays}]}}"),
    snippet("{policies: {freeze: [{start: '2026-12-20T10:00:00Z', end: 2026-12-21T10:00+01:00}]}}"),
    snippet("{policies: null}"),
    snippet("{policies: {version_order: none, tags: '^v?\\d+\\.\\d+\\.\\d+$'}}"),
    snippet("null"),
    snippet(target="{helm: charts/web/values-dev.yaml, key: image.tag}"),
    snippet(target="{file: raw/dev.yaml, pointer: /spec/template/spec/containers/0/image}"),
    snippet(target="{file: raw/dev.yaml, pointer: /metadata/annotations/a~1b}"),
    snippet(target="{file: raw/dev.yaml}"),
    snippet(target="{directory: .}"),
    snippet(target="[{file: .gitignore.yaml}, {directory: .github}]"),
    snippet(target="{file: a.yaml, pointer: /}"),
    snippet(target="[{kustomize: ./k/kustomization.yaml}, {directory: clusters/dev/}]"),
    snippet(image="localhost:5000/team/web"),
    snippet(image="nginx"),
    snippet(top="defaults: {mode: push, labels: []}\n"),
    "version: 1\nenvironments:\n  dev:\napps:\n",
    # invalid
    snippet("{mode: merge}"),
    snippet("{mode: PUSH}"),
    snippet("{base: 1.10}"),
    snippet("{base: -main}"),
    snippet("{base: main.lock}"),
    snippet("{base: 'a b'}"),
    snippet("{base: 'a/.hidden'}"),
    snippet("{labels: promotion}"),
    snippet("{labels: ['a,b']}"),
    snippet("{labels: [' padded']}"),
    snippet("{labels: [1]}"),
    snippet("{reviewers: ['alice bob']}"),
    snippet("{lables: [x]}"),
    snippet("{source: 1}"),
    snippet("{policies: {soak: 1 day}}"),
    snippet("{policies: {soak: 24}}"),
    snippet("{policies: {soak: 24H}}"),
    snippet("{policies: {no_downgrade: 'yes'}}"),
    snippet("{policies: {freeze: {start: 2026-12-20, end: 2026-12-21}}}"),
    snippet("{policies: {freeze: [{start: 2026/12/20, end: 2026-12-21}]}}"),
    snippet("{policies: {freeze: [{start: 2026-12-20}]}}"),
    snippet("{policies: {freeze: [{start: 2026-12-20, end: 2026-12-21, why: x}]}}"),
    snippet("{policies: {freeze: [{start: 2026-13-01, end: 2027-01-02}]}}"),
    snippet("{policies: {freeze: [{start: '2026-12-20T25:00', end: 2027-01-02}]}}"),
    snippet("{policies: {window: 1h}}"),
    snippet("{policies: {version_order: newest}}"),
    snippet("{policies: {tags: ''}}"),
    snippet("{policies: {tags: [release]}}"),
    snippet(target="{helm: a.yaml, file: b.yaml}"),
    snippet(target="{kustomize: a.yaml, key: image.tag}"),
    snippet(target="{helm: a.yaml, pointer: /image}"),
    snippet(target="{helm: a.yaml, key: 'image tag'}"),
    snippet(target="{file: a.yaml, pointer: image}"),
    snippet(target="{file: a.yaml, pointer: /a~2b}"),
    snippet(target="{kustomize: /abs/kustomization.yaml}"),
    snippet(target="{kustomize: ../up/kustomization.yaml}"),
    snippet(target="{kustomize: a/../../up.yaml}"),
    snippet(target="{directory: a/..}"),
    snippet(target="{file: C:/x.yaml}"),
    snippet(target="{file: 'a\\\\b.yaml'}"),
    snippet(target="{file: .git/config}"),
    snippet(target="{file: a/.git/hooks/x}"),
    snippet(target="{file: .}"),
    snippet(target="{file: ''}"),
    snippet(target="{file: 12}"),
    snippet(target="[]"),
    snippet(target="{}"),
    snippet(target="overlays/dev/kustomization.yaml"),
    snippet(image="ghcr.io/acme/web:1.4"),
    snippet(image="ghcr.io/acme/web@sha256:" + "a" * 64),
    snippet(image="ghcr.io/Acme/web"),
    snippet(image="my_reg.io/web"),
    snippet(image="ghcr.io/acme/web/"),
    snippet(image="ghcr.io/acme/web".ljust(300, "x")),
    snippet(top="defaults: {source: dev}\n"),
    snippet(top="defaults: {mode: merge}\n"),
    "version: 2\nenvironments:\n  dev:\n",
    "version: '1'\nenvironments:\n  dev:\n",
    "version: 1\n",
    "version: 1\nenvironments: {}\n",
    "version: 1\nenvironments:\n  pre prod:\n",
    "version: 1\nenvironments:\n  dev:\napps:\n  web app:\n    image: web\n    targets:\n"
    "      dev: {directory: .}\n",
    "version: 1\nenvironments:\n  dev:\napps:\n  web:\n    image: web\n",
    "version: 1\nenvironments:\n  dev:\napps:\n  web:\n    image: web\n    targets: {}\n",
]
"""Snippets on which the schema and promoter must agree (valid or not)."""

PYTHON_ONLY = [
    snippet(target="{kustomize: a.yaml}").replace("      dev:", "      qa:"),
    snippet("{source: nowhere}"),
    snippet("{source: prod}"),
    snippet("{policies: {freeze: [{start: 2026-12-20, end: 2026-12-19}]}}"),
    snippet("{policies: {freeze: [{start: 2026-02-30, end: 2026-03-02}]}}"),
    snippet("{policies: {tags: '^v?(\\d+$'}}"),
    TWO_APPS_ONE_IMAGE,
]
"""Cross-references and calendar checks a JSON Schema cannot express: only promoter rejects."""


def python_accepts(text: str) -> bool:
    try:
        parse_config(text, "promoter.yaml")
    except PromoterError:
        return False
    return True


@pytest.mark.parametrize("text", AGREEMENT)
def test_schema_agrees_with_validator(validator: jsonschema.protocols.Validator, text: str) -> None:
    assert validator.is_valid(as_json(text)) == python_accepts(text)


def test_schema_agreement_table_has_both_outcomes() -> None:
    outcomes = [python_accepts(text) for text in AGREEMENT]
    assert outcomes.count(True) >= 15
    assert outcomes.count(False) >= 40


@pytest.mark.parametrize("text", PYTHON_ONLY)
def test_schema_accepts_what_only_validator_rejects(
    validator: jsonschema.protocols.Validator, text: str
) -> None:
    assert validator.is_valid(as_json(text))
    assert not python_accepts(text)


def test_parse_config_create_targets() -> None:
    config = parse_config(
        snippet(target="[{kustomize: k.yaml, create: true}, {helm: v.yaml, key: image.tag, "
        "create: true}, {helm: w.yaml}]"),
        "promoter.yaml",
    )
    assert [t.create for t in config.apps["web"].targets["dev"]] == [True, True, False]


def test_config_guards_and_app_paths() -> None:
    from promoter.config import Guards, parse_config

    text = (
        "version: 1\nenvironments: {dev: {}}\n"
        "guards: {bot_actors: ['renovate*'], ignore: ['docs/**']}\n"
        "apps:\n  web:\n    image: ghcr.io/acme/web\n    watch: ['src/**', Dockerfile]\n"
        "    targets: {dev: {kustomize: k/kustomization.yaml}}\n"
    )
    config = parse_config(text, "promoter.yaml")
    assert config.guards == Guards(bot_actors=("renovate*",), ignore=("docs/**",))
    assert config.apps["web"].watch == ("src/**", "Dockerfile")
    assert config.apps["web"].ignore == ()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("guards: {paths: [a]}", "promoter.yaml:3: guards.paths: unknown key"),
        ("guards: {watch: src}", "promoter.yaml:3: guards.watch: expected a list"),
        ("guards: {ignore: ['']}", "guards.ignore[0]: '' is not a valid glob"),
    ],
)
def test_config_guards_errors(snippet: str, message: str) -> None:
    from promoter.config import parse_config

    text = f"version: 1\nenvironments: {{dev: {{}}}}\n{snippet}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "promoter.yaml")
    assert message in str(caught.value)


def test_config_thousands_of_apps_one_index_names_the_first_owner() -> None:
    """The duplicate-image check is one lookup per app (it was pairwise: 14 s at 8,000
    apps); the app it names is still the first one holding the image."""
    apps = "".join(f"  app-{i:04d}:\n    image: ghcr.io/acme/app-{i:04d}\n" for i in range(3000))
    text = "version: 1\nenvironments:\n  dev: {}\napps:\n" + apps
    assert len(parse_config(text, "promoter.yaml").apps) == 3000
    clash = "  again:\n    image: ghcr.io/acme/app-1234\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text + clash, "promoter.yaml")
    assert "ghcr.io/acme/app-1234 is already the image of app 'app-1234'" in str(info.value)
    assert str(info.value).startswith(f"promoter.yaml:{4 + 2 * 3000 + 2}: apps.again.image")


def test_config_composed_by_libyaml_or_the_pure_parser_alike() -> None:
    """libyaml composes promoter.yaml when present; what it cannot compose goes the pure
    path, whose error names the line (a tab where indentation belongs)."""
    good = "version: 1\nenvironments:\n  dev: {mode: push}\n"
    assert parse_config(good, "promoter.yaml").environments["dev"].mode == "push"
    with pytest.raises(YamlError) as info:
        parse_config("version: 1\nenvironments:\n\tdev: {}\n", "promoter.yaml")
    assert str(info.value).startswith("promoter.yaml:3: not valid YAML")


def test_a_fleet_sized_promoter_yaml_is_read_and_one_past_four_mib_refused(
    tmp_path: Path,
) -> None:
    """promoter.yaml naming every app of a large fleet (about 150 bytes an app) is read;
    past 4 MiB it is refused unread, naming the file."""
    from promoter.config import read_control_file

    text = (CONFIG_REPO / "promoter.yaml").read_text()
    padding = "# " + "x" * 98 + "\n"
    path = tmp_path / "promoter.yaml"
    path.write_text(text + padding * 30_000)  # 3 MB: 20,000 apps' worth
    assert read_control_file(tmp_path, "promoter.yaml") == path.read_text()
    path.write_text(text + padding * 45_000)  # 4.5 MB
    with pytest.raises(ConfigError, match=r"^promoter.yaml: larger than 4096 KiB; not read$"):
        read_control_file(tmp_path, "promoter.yaml")
