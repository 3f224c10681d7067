"""`promote --verify-image` and promoter.yaml's `policies.verify_image` (issue 24): the real
`promote` against a config repository served over loopback git, whose app's image lives in
the fake OCI registry behind its token flow. A missing image fails the run (exit 2) before
anything is pushed, on every path that promotes (`--env`, `--to`, `--rollback`, a dry run);
an image that is there lands. No password or token reaches the output.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo
from fakes.registry import FakeRegistry

from .conftest import TOKEN, Promoter, Run, refs, show

REPO = "acme/web"
STAGING = "apps/web/staging/kustomization.yaml"
PRODUCTION = "apps/web/production/kustomization.yaml"


def _files(image: str) -> dict[str, bytes]:
    """A config repository of one app at 1.4.1 in staging and production; only production
    asks for the registry check."""
    config = f"""version: 1
defaults:
  mode: push
  base: main
environments:
  staging: {{}}
  production:
    from: staging
    policies:
      verify_image: true
apps:
  web:
    image: {image}
    targets:
      staging: {{kustomize: {STAGING}}}
      production: {{kustomize: {PRODUCTION}}}
"""

    def overlay(tag: str) -> bytes:
        return f"images:\n  - name: {image}\n    newTag: {tag}\n".encode()

    return {
        "promoter.yaml": config.encode(),
        STAGING: overlay("1.4.1"),
        PRODUCTION: overlay("1.4.1"),
    }


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with FakeRegistry(auth="bearer") as fake:
        fake.push(REPO, "1.4.1")
        fake.push(REPO, "1.4.2")
        yield fake
    assert fake.errors == []


@pytest.fixture
def bare(tmp_path: Path, registry: FakeRegistry) -> Path:
    root = tmp_path / "srv"
    root.mkdir()
    return make_bare_repo(root, "config.git", _files(f"{registry.host}/{REPO}"))


@pytest.fixture
def url(bare: Path) -> Iterator[str]:
    with GitHttpServer(bare.parent, token=TOKEN) as server:
        yield server.repo_url("config.git")
    assert server.errors == []


def _promote(promoter: Promoter, url: str, registry: FakeRegistry, *args: str) -> Run:
    credentials = {
        "PROMOTER_REGISTRY_USERNAME": registry.username,
        "PROMOTER_REGISTRY_PASSWORD": registry.password,
        "PROMOTER_REGISTRY_HOST": registry.host,
    }
    run = promoter.run("--config-repo", url, *args, env=credentials)
    basic = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    for secret in (registry.password, basic, *registry.issued):
        assert secret not in run.stdout + run.stderr, "a registry secret reached the output"
    return run


def _refused(run: Run, registry: FakeRegistry, version: str) -> None:
    """Exit 2 and one error line naming the image and the registry."""
    host = registry.host
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines()[-1] == (
        f"promote: error: image {host}/{REPO}:{version} not found in {host} (manifest unknown)"
    )


def test_verify_image_refuses_a_tag_never_pushed(
    promoter: Promoter, url: str, bare: Path, registry: FakeRegistry
) -> None:
    before = refs(bare)
    image = f"{registry.host}/{REPO}:1.4.3"
    for dry_run in ((), ("--dry-run",)):  # a dry run predicts the refusal
        run = _promote(promoter, url, registry, "--env", "staging", "--image", image,
                       "--verify-image", *dry_run)  # fmt: skip
        _refused(run, registry, "1.4.3")
    assert refs(bare) == before  # nothing pushed
    manifest = f"/v2/{REPO}/manifests/1.4.3"
    assert [(r.method, r.path, r.status, r.authorization) for r in registry.requests[:3]] == [
        ("HEAD", manifest, 401, "none"),
        ("GET", "/token", 200, "basic"),
        ("HEAD", manifest, 404, "bearer"),
    ]
    assert registry.count() == 6


def test_verify_image_passes_a_pushed_tag(
    promoter: Promoter, url: str, bare: Path, registry: FakeRegistry
) -> None:
    before = refs(bare)["refs/heads/main"]
    image = f"{registry.host}/{REPO}:1.4.2"
    run = _promote(promoter, url, registry, "--env", "staging", "--image", image,
                   "--verify-image", "--output", "json")  # fmt: skip
    assert run.ok().json()["status"] == "changed"
    assert refs(bare)["refs/heads/main"] != before
    assert "newTag: 1.4.2" in show(bare, "main", STAGING)
    assert registry.count("HEAD", "/manifests/1.4.2$") == 2  # challenged, then answered 200


def test_verify_image_policy_checks_its_environment_before_any_push(
    promoter: Promoter, url: str, bare: Path, registry: FakeRegistry
) -> None:
    """`verify_image: true` on production alone: a run to staging and production checks
    production's image before the first push (staging lands nothing either); staging on
    its own is not checked; `--to production` checks what staging runs."""
    before = refs(bare)
    image = f"{registry.host}/{REPO}:1.4.3"
    both = _promote(promoter, url, registry, "--env", "staging", "--env", "production",
                    "--image", image)  # fmt: skip
    _refused(both, registry, "1.4.3")
    assert refs(bare) == before
    asked = registry.count()
    assert asked > 0
    _promote(promoter, url, registry, "--env", "staging", "--image", image).ok()
    assert "newTag: 1.4.3" in show(bare, "main", STAGING)
    assert registry.count() == asked  # staging has no such policy
    tip = refs(bare)
    to = _promote(promoter, url, registry, "--to", "production", "--app", "web")
    _refused(to, registry, "1.4.3")
    assert refs(bare) == tip


def test_verify_image_policy_covers_a_rollback(
    promoter: Promoter, url: str, bare: Path, registry: FakeRegistry
) -> None:
    image = f"{registry.host}/{REPO}:1.4.2"
    _promote(promoter, url, registry, "--env", "production", "--image", image).ok()
    assert "newTag: 1.4.2" in show(bare, "main", PRODUCTION)
    registry.delete(REPO, "1.4.1")  # the version a rollback restores is gone
    tip = refs(bare)
    run = _promote(promoter, url, registry, "--env", "production", "--app", "web", "--rollback")
    _refused(run, registry, "1.4.1")
    assert refs(bare) == tip


def test_verify_image_in_a_plain_directory(
    promoter: Promoter, tmp_path: Path, registry: FakeRegistry
) -> None:
    """A directory that is not a git repository is edited in place: only after the check."""
    root = tmp_path / "checkout"
    for name, data in _files(f"{registry.host}/{REPO}").items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    missing = f"{registry.host}/{REPO}:1.4.3"
    _refused(_promote(promoter, str(root), registry, "--env", "production", "--image", missing),
             registry, "1.4.3")  # fmt: skip
    assert "newTag: 1.4.1" in (root / PRODUCTION).read_text()
    pushed = f"{registry.host}/{REPO}:1.4.2"
    _promote(promoter, str(root), registry, "--env", "production", "--image", pushed).ok()
    assert "newTag: 1.4.2" in (root / PRODUCTION).read_text()
