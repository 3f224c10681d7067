"""The oracle's own logic, so that a broken oracle fails here rather than passing every case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from . import oracle
from .oracle import (
    ImageRef,
    acceptable_leaf,
    find_shared,
    flatten,
    helm_merge,
    image_refs,
    judge,
    leaf_problems,
    load_cases,
    load_documents,
    parse_image_ref,
    repo_snapshot,
    same,
    stale_refs,
)

DIGEST = "sha256:" + "ab" * 32


def test_helm_merge_recurses_replaces_and_null_deletes() -> None:
    base: dict[str, Any] = {
        "image": {"repository": "web", "tag": "1.0", "pullPolicy": "Always"},
        "a": [1, 2],
    }
    override = {"image": {"tag": "2.0", "pullPolicy": None}, "a": [3], "b": {"c": 1}}
    assert helm_merge(base, override) == {
        "image": {"repository": "web", "tag": "2.0"},
        "a": [3],
        "b": {"c": 1},
    }
    assert base["image"]["pullPolicy"] == "Always"  # inputs untouched
    assert helm_merge({"x": {"y": 1}}, {"x": "flat"}) == {"x": "flat"}


def test_yaml_1_1_merge_keys_and_repeated_keys() -> None:
    text = (
        "base: &b {tag: '1', keep: on}\n"
        "env:\n  !!merge <<: *b\n  tag: '2'\n"
        "env2: {a: 1}\nenv2: {a: 2}\n"
    )
    (doc,) = load_documents(text)
    assert doc["env"] == {"tag": "2", "keep": True}
    assert doc["env2"] == {"a": 2}  # the later key overrides, as in go-yaml
    assert load_documents("t: 1.20\n") == [{"t": 1.2}]


@pytest.mark.parametrize(
    "spelling", ["redis", "docker.io/redis", "docker.io/library/redis", "index.docker.io/redis:7"]
)
def test_docker_hub_names_are_one_repository(spelling: str) -> None:
    ref = parse_image_ref(spelling)
    assert ref is not None
    assert ref.repository == "docker.io/library/redis"
    assert ref.same_repository(ImageRef(None, "redis"))


def test_different_registries_are_different_repositories() -> None:
    short = parse_image_ref("accounts-db")
    long = parse_image_ref("us-central1-docker.pkg.dev/proj/repo/accounts-db:v1")
    assert short is not None
    assert long is not None
    assert not short.same_repository(long)
    assert parse_image_ref(f"busybox:1.38.1@{DIGEST}") == ImageRef(
        None, "busybox", "1.38.1", DIGEST
    )
    assert parse_image_ref("Not An Image") is None


def test_same_compares_types() -> None:
    assert same({"a": [1, "x"], "b": None}, {"b": None, "a": [1, "x"]})
    assert not same({"a": 1}, {"a": True})
    assert not same([1.0], [1])
    assert not same("1", 1)


def test_flatten_uses_escaped_json_pointers() -> None:
    value = {"a/b": {"c~d": [1, {"e": None}]}, "empty": {}, "list": []}
    assert flatten(value) == {
        "/a~1b/c~0d/0": 1,
        "/a~1b/c~0d/1/e": None,
        "/empty": {},
        "/list": [],
    }


def test_leaf_rules_and_stale_references() -> None:
    image = parse_image_ref("ghcr.io/acme/web:2.0")
    assert image is not None
    before = {
        "image": {"repository": "ghcr.io/acme/web", "tag": "1.0"},
        "side": "ghcr.io/acme/web:1.0",
    }
    good = {
        "image": {"repository": "ghcr.io/acme/web", "tag": "2.0"},
        "side": "ghcr.io/acme/web:2.0",
    }
    assert leaf_problems(before, good, image, "ghcr.io/acme/web:2.0") == []
    assert acceptable_leaf(2.0, image, "ghcr.io/acme/web:2.0") is not None  # a number, not a tag
    assert acceptable_leaf("ghcr.io/acme/api:2.0", image, "x") is not None  # another repository
    assert leaf_problems(before, {"image": good["image"]}, image, "x") == [
        "/side: leaf 'ghcr.io/acme/web:1.0' disappeared"
    ]
    half = {
        "image": good["image"],
        "sideImage": "ghcr.io/acme/web:1.0",
        "initImage": "ghcr.io/acme/web",
        "notes": "ghcr.io/acme/web:1.0",  # not under an image key: not a reference
        "otherImage": "ghcr.io/acme/api:1.0",  # another repository
    }
    assert sorted(stale_refs(half, image)) == ["/initImage still (no tag)", "/sideImage still 1.0"]
    assert stale_refs(good, image) == []


def test_image_reference_shapes() -> None:
    render = {
        "spec": {"containers": [{"image": "redis:7"}]},
        "values": {"redis": {"registry": "docker.io", "repository": "library/redis", "tag": "7"}},
        "helm": {"parameters": [{"name": "image.full", "value": "redis:6"}]},
        "kustomize": {"images": ["redis=docker.io/redis:5"]},
        "notes": "redis:1",
    }
    found = sorted((p, r.tag) for p, r in image_refs(render))
    assert found == [
        ("/helm/parameters/0/value", "6"),
        ("/kustomize/images/0", "5"),
        ("/kustomize/images/0", "5"),
        ("/spec/containers/0/image", "7"),
        ("/values/redis", "7"),
    ]


# --- judge() end to end over a real snapshot, with promoter replaced by scripted edits ---------

GPR_VALUES = "cmd/demo/helm-guestbook"


def _gpr_case(case_id: str) -> dict[str, Any]:
    shared = find_shared()
    case = next((c for c in load_cases(shared) if c["id"] == case_id), None)
    if case is None or not repo_snapshot(case, shared).is_dir():
        pytest.skip(f"{case_id} or its repository is not in shared/realworld")
    return case


def _scripted(
    monkeypatch: pytest.MonkeyPatch, edits: dict[str, tuple[str, str]], *runs: oracle.Run
) -> None:
    """Replace promoter: the first run applies `edits` (file: (old, new)) and commits."""
    queue = list(runs)

    def fake(
        case: Mapping[str, Any], repo: Path, workdir: Path, env: Mapping[str, str]
    ) -> oracle.Run:
        if len(queue) == len(runs) and edits:
            for relative, (old, new) in edits.items():
                path = repo / GPR_VALUES / relative
                path.write_text(path.read_text().replace(old, new, 1))
            identity = {**env, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x.invalid"}
            identity |= {"GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x.invalid"}
            oracle.git(repo, identity, "commit", "-qam", "scripted")
        return queue.pop(0)

    monkeypatch.setattr(oracle, "run_promote", fake)


CHANGED = oracle.Run(0, "changed", '{"status": "changed"}', "")
UNCHANGED = oracle.Run(0, "unchanged", '{"status": "unchanged"}', "")


@pytest.mark.parametrize(
    ("edits", "runs", "passed", "outcome"),
    [
        ({"staging-values.yaml": ("tag: v5", "tag: v6")}, [CHANGED, UNCHANGED], True, "promote"),
        ({"staging-values.yaml": ("tag: v5", "tag: v7")}, [CHANGED, UNCHANGED], False, "promote"),
        ({"staging-values.yaml": ("tag: v5", "tag: v6")}, [CHANGED, CHANGED], False, "promote"),
        ({"values.yaml": ("tag: v5", "tag: v6")}, [CHANGED, UNCHANGED], False, "wrong-env"),
        ({}, [UNCHANGED], False, "false-success"),
        (
            {"staging-values.yaml": ("tag: v5", "tag: v6")},
            [oracle.Run(2, None, "", "no\n")],
            False,
            "other failure",
        ),
    ],
    ids=["right-file", "wrong-tag", "rerun-changes", "shared-file", "unchanged", "partial-refusal"],
)
def test_judge_catches_each_failure(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    edits: dict[str, tuple[str, str]],
    runs: list[oracle.Run],
    passed: bool,
    outcome: str,
) -> None:
    case = _gpr_case("gpr-staging-env-values")
    _scripted(monkeypatch, edits, *runs)
    verdict = judge(case, find_shared(), tmp_path)
    assert (verdict.passed, verdict.outcome) == (passed, outcome), verdict.reason


@pytest.mark.parametrize(
    ("stderr", "passed"),
    [
        ("promote: error: ambiguous\n", True),
        ("line one\nline two\n", False),
        ("Traceback (most recent call last):\n", False),
    ],
)
def test_judge_refusal_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stderr: str, passed: bool
) -> None:
    case = _gpr_case("gpr-production-ambiguous")
    _scripted(monkeypatch, {}, oracle.Run(2, "error", "{}", stderr))
    verdict = judge(case, find_shared(), tmp_path)
    assert (verdict.passed, verdict.outcome) == (passed, "refuse"), verdict.reason


def test_appset_render_fills_the_matching_element(tmp_path: Path) -> None:
    (tmp_path / "appset.yaml").write_text(
        "kind: ApplicationSet\nmetadata: {name: web}\nspec:\n"
        "  generators:\n  - list:\n      elements:\n"
        "      - {env: dev, tag: '1.0'}\n      - {env: prod, tag: '2.0'}\n"
        "  template:\n    metadata: {name: 'web-{{env}}'}\n"
        "    spec: {source: {helm: {parameters: [{name: image.tag, value: '{{ tag }}'}]}}}\n"
    )
    spec = {"kind": "appset", "file": "appset.yaml", "name": "web", "element": {"env": "prod"}}
    assert oracle.render(tmp_path, spec) == {
        "metadata": {"name": "web-prod"},
        "spec": {"source": {"helm": {"parameters": [{"name": "image.tag", "value": "2.0"}]}}},
    }
