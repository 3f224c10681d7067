"""The registry of forge kinds: host inference, tokens, compare pages, and a new kind picked
up everywhere by one `register` call."""

from __future__ import annotations

import ast
import base64
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from promoter import forges, redact
from promoter.errors import ConfigError, ForgeAuthError
from promoter.forges import ForgeKind, compare_url, infer, kind
from promoter.promotion.opening import find_credentials, forge_kind
from promoter.redact import Secret
from promoter.repo import parse_remote

PACKAGE = Path(__file__).resolve().parents[2] / "promoter"


def _infer(host: str | None, env: Mapping[str, str]) -> str:
    """As a run infers it: the CI's server hosts and the CI running the job."""
    from promoter import ci

    return infer(host, servers=ci.server_hosts(env), running=ci.read_system(env)).name


@pytest.mark.parametrize(
    ("host", "env", "forge"),
    [
        ("github.com", {}, "github"),
        ("gitlab.com", {}, "gitlab"),
        ("git.acme.internal", {"GITHUB_SERVER_URL": "https://git.acme.internal"}, "github"),
        ("code.acme.internal", {"CI_SERVER_URL": "https://code.acme.internal"}, "gitlab"),
        ("gitlab.acme.internal", {}, "gitlab"),
        ("acme.ghe.com", {}, "github"),
        ("127.0.0.1", {}, "local"),
        ("127.0.0.1", {"GITLAB_CI": "true"}, "gitlab"),
        (None, {"GITHUB_ACTIONS": "true"}, "local"),
    ],
)
def test_infer_host_and_ci(host: str | None, env: dict[str, str], forge: str) -> None:
    assert _infer(host, env) == forge


def test_find_token_prefers_promoter_token() -> None:
    env = {"GITHUB_TOKEN": "gh", "PROMOTER_TOKEN": "p"}
    assert kind("github").find_token(env) == ("PROMOTER_TOKEN", "p")
    assert kind("github").find_token({"GITHUB_TOKEN": "gh"}) == ("GITHUB_TOKEN", "gh")
    assert kind("gitlab").find_token({"CI_JOB_TOKEN": "j"}) == ("CI_JOB_TOKEN", "j")
    assert kind("local").find_token({"GITHUB_TOKEN": "gh"}) is None
    assert kind("github").find_token({"PROMOTER_TOKEN": "  "}) is None


def test_kind_unknown_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown forge 'nope'"):
        kind("nope")


def test_credentials_users_per_kind_and_variable() -> None:
    remote = parse_remote("https://gitlab.example.com/acme/config.git")
    env = {"GITLAB_TOKEN": "glpat-123456"}
    found = find_credentials(kind("gitlab"), remote, env, None)
    assert found is not None
    assert (found.user, found.variable) == ("oauth2", "GITLAB_TOKEN")
    job = {"CI_JOB_TOKEN": "job-123456", "CI_PROJECT_PATH": "acme/config"}
    found = find_credentials(kind("gitlab"), remote, job, None)
    assert found is not None
    assert (found.user, found.variable) == ("gitlab-ci-token", "CI_JOB_TOKEN")
    with pytest.raises(ForgeAuthError, match="CI_JOB_TOKEN of acme/web cannot push"):
        find_credentials(kind("gitlab"), remote, job | {"CI_PROJECT_PATH": "acme/web"}, None)
    found = find_credentials(kind("github"), remote, {"GH_TOKEN": "ghp-123456"}, None)
    assert found is not None
    assert (found.user, found.variable) == ("x-access-token", "GH_TOKEN")
    assert find_credentials(kind("github"), parse_remote("/tmp/config"), env, None) is None


def test_compare_url_forms() -> None:
    old, new = "a" * 40, "b" * 40
    assert compare_url("https://github.com/acme/web", old, new) == (
        f"https://github.com/acme/web/compare/{old}...{new}"
    )
    assert compare_url("https://code.gitlab.acme/acme/web/", old, new) == (
        f"https://code.gitlab.acme/acme/web/-/compare/{old}...{new}"
    )
    assert compare_url("https://git.example.com/acme/web", old, new) == (
        f"https://git.example.com/acme/web/compare/{old}...{new}"
    )
    assert kind("local").compare_url("/srv/web", old, new) is None


def test_skip_ci_push_options_only_where_the_forge_has_them() -> None:
    assert kind("gitlab").skip_ci_push_options == ("ci.skip",)
    assert kind("github").skip_ci_push_options == ()


def test_stores_import_no_forge_adapter() -> None:
    """The API stores take a narrow client protocol: no store → forge import, even for
    type checking (the two cycles of issue 20)."""
    for store in ("github_store.py", "gitlab_store.py"):
        tree = ast.parse((PACKAGE / "forges" / store).read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not modules & {"promoter.forges.github", "promoter.forges.gitlab"}, store


# -- a new kind: one register call -------------------------------------------------------

STUB = """
from promoter.forges import ForgeKind, register
from promoter.forges.local import LocalForge


def _open(repository_url, *, token, api_url, environ):
    return LocalForge(repository_url)


register(
    ForgeKind(
        name="stub",
        opener=_open,
        is_host=lambda host: host.endswith(".stub.example"),
        token_variables=("PROMOTER_TOKEN", "STUB_TOKEN"),
        basic_auth_user="stub-user",
        compare_path="/diff/{old}..{new}",
        skip_ci_push_options=("stub.skip",),
    )
)
"""


@pytest.fixture
def stub() -> Iterator[ForgeKind]:
    namespace: dict[str, object] = {}
    exec(STUB, namespace)
    try:
        yield kind("stub")
    finally:
        del forges.KINDS["stub"]


def test_stub_kind_is_picked_up_by_inference_credentials_and_redaction(
    stub: ForgeKind,
) -> None:
    remote = parse_remote("https://git.stub.example/acme/config.git")
    assert forge_kind(None, remote, {}) is stub
    assert forge_kind("stub", parse_remote("/tmp/config"), {}) is stub
    found = find_credentials(stub, remote, {"STUB_TOKEN": "stub-secret-123"}, None)
    assert found is not None
    assert (found.user, found.variable) == ("stub-user", "STUB_TOKEN")
    basic = base64.b64encode(b"stub-user:stub-secret-123").decode()
    assert redact.redact(f"Authorization: Basic {basic}") == "Authorization: Basic ***"
    assert "STUB_TOKEN" in forges.token_variables()
    assert stub.compare_url("https://git.stub.example/acme/web", "a", "b") == (
        "https://git.stub.example/acme/web/diff/a..b"
    )
    assert stub.open("https://git.stub.example/acme/config.git").has_requests is False


def test_redaction_covers_a_user_registered_after_the_secret() -> None:
    Secret("early-secret-456")
    redact.add_basic_auth_user("late-user")
    basic = base64.b64encode(b"late-user:early-secret-456").decode()
    assert redact.redact(basic) == "***"


def test_stub_kind_is_a_forge_choice_of_the_cli(tmp_path: Path) -> None:
    """A kind registered before the command loads (here by `sitecustomize`) is a `--forge`
    choice, and a choice the command accepts."""
    (tmp_path / "sitecustomize.py").write_text(STUB)
    path = os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "[github|gitlab|local|stub]" in done.stdout
