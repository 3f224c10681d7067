"""Every exception the libraries on promoter's paths can raise becomes a `PromoterError`.

In the style of httpx's `test_httpcore_all_exceptions_mapped`: the classes are
enumerated from the libraries themselves (PyGithub, requests) and from the git wrapper's
failure modes, so a class added upstream fails here until the map knows it. A dropped
connection and a timeout are retried as transient against a real PyGithub client and the
fake GitHub; the error left after the retries is one line, exit 1, and not retried again.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests.exceptions
from fakes.github import FakeGitHub

from promoter.errors import ForgeAuthError, ForgeError, GitError, PromoterError
from promoter.forges.github import GitHubForge, is_transient, translate
from promoter.redact import Secret
from promoter.repo import ObjectReader, run_git

GITHUB_EXCEPTIONS = importlib.import_module("github.GithubException")
FULL_NAME = "acme/config"


def _classes(module: object, base: type[BaseException]) -> list[type[BaseException]]:
    return sorted(
        (
            c
            for c in vars(module).values()
            if inspect.isclass(c)
            and issubclass(c, base)
            and c.__module__ == getattr(module, "__name__", "")
        ),
        key=lambda c: c.__name__,
    )


PYGITHUB = _classes(GITHUB_EXCEPTIONS, Exception)
REQUESTS = _classes(requests.exceptions, requests.exceptions.RequestException)
TRANSIENT_REQUESTS = {
    "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "ChunkedEncodingError",
}  # fmt: skip


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance as the library raises it: GithubException(status, data, headers)."""
    if cls.__name__ == "BadAttributeException":
        return cls("yes", str, None)  # type: ignore[call-arg]
    if issubclass(cls, GITHUB_EXCEPTIONS.GithubException):
        status = {"BadCredentialsException": 401, "UnknownObjectException": 404}
        code = status.get(cls.__name__, 403)
        return cls(code, {"message": f"{cls.__name__} from GitHub"}, {})  # type: ignore[call-arg]
    text = f"{cls.__name__}: HTTPSConnectionPool(host='api.github.com', port=443)"
    if cls.__name__ == "JSONDecodeError":
        return cls(text, "{", 1)  # type: ignore[call-arg]
    return cls(text)


def _one_line(error: PromoterError) -> None:
    assert error.message.strip()
    assert "\n" not in error.message
    assert "Traceback" not in error.message


def test_exception_map_enumerates_the_libraries() -> None:
    """The enumeration finds what it must, so the tests below cannot pass on nothing."""
    names = {c.__name__ for c in PYGITHUB}
    assert {"GithubException", "BadCredentialsException", "BadAttributeException"} <= names
    assert len(PYGITHUB) >= 8
    assert {"ConnectionError", "ReadTimeout", "SSLError", "HTTPError"} <= {
        c.__name__ for c in REQUESTS
    }
    assert len(REQUESTS) >= 15


@pytest.mark.parametrize("cls", PYGITHUB, ids=lambda c: c.__name__)
def test_exception_map_every_pygithub_exception_is_mapped(cls: type[BaseException]) -> None:
    found = translate(_instance(cls), FULL_NAME)
    assert isinstance(found, ForgeError)
    assert found.exit_code == 1
    _one_line(found)
    if cls.__name__ == "BadCredentialsException":
        assert isinstance(found, ForgeAuthError)
        assert "PROMOTER_TOKEN" in found.message


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
def test_exception_map_every_requests_exception_is_mapped(cls: type[BaseException]) -> None:
    error = _instance(cls)
    found = translate(error, FULL_NAME)
    assert isinstance(found, ForgeError)
    assert found.exit_code == 1
    _one_line(found)
    assert FULL_NAME in found.message
    assert is_transient(error) is (cls.__name__ in TRANSIENT_REQUESTS)
    assert found.transient is (cls.__name__ in TRANSIENT_REQUESTS)


def test_exception_map_leaves_foreign_exceptions_alone() -> None:
    assert translate(KeyError("x"), FULL_NAME) is None
    assert translate(ValueError("x"), FULL_NAME) is None


# -- retried as transient, against a real client and the fake GitHub -------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "forge", lifetime=120) as fake:
        fake.create_repo("acme", "config", {"README.md": b"config\n"})
        yield fake
        assert fake.errors == []


def _forge(github: FakeGitHub, timeout: int = 30) -> tuple[GitHubForge, list[float]]:
    waits: list[float] = []
    forge = GitHubForge(
        github.git_url("acme", "config"),
        token=Secret(github.token),
        api_url=github.api_url,
        sleep=waits.append,
        write_interval=0,
        timeout=timeout,
    )
    return forge, waits


def test_exception_map_dropped_connection_is_retried(github: FakeGitHub) -> None:
    forge, waits = _forge(github)
    github.drop_next("GET", r"/pulls$")
    assert forge.find_open("promote/staging/web", "main") is None
    assert forge.calls >= 2  # the repository, then the dropped list and its retry
    assert len(waits) == 1


def test_exception_map_timeout_is_retried(github: FakeGitHub) -> None:
    forge, waits = _forge(github, timeout=1)
    github.drop_next("GET", r"/pulls$", stall=1.5)
    assert forge.find_open("promote/staging/web", "main") is None
    assert len(waits) == 1


def test_exception_map_connection_that_stays_down_is_one_line_not_retried_again(
    github: FakeGitHub,
) -> None:
    forge, waits = _forge(github)
    github.drop_next("GET", r"/pulls$", times=10)
    with pytest.raises(ForgeError) as caught:
        forge.find_open("promote/staging/web", "main")
    assert len(waits) == 4  # five attempts in all
    assert caught.value.transient is False  # the promotion loop must not retry it again
    _one_line(caught.value)
    assert "connection" in caught.value.message
    assert isinstance(caught.value.__cause__, requests.exceptions.ConnectionError)


# -- the git wrapper ---------------------------------------------------------------------------


def test_exception_map_git_timeout_is_transient(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        run_git(["-c", "alias.pause=!sleep 5", "pause"], cwd=tmp_path, timeout=0.2)
    assert caught.value.transient
    _one_line(caught.value)


def test_exception_map_git_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        run_git(["status"], cwd=tmp_path / "gone")
    assert "does not exist" in caught.value.message
    assert not caught.value.transient


def test_exception_map_git_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError) as caught:
        run_git(["--version"], cwd=tmp_path)
    assert "not installed" in caught.value.message


def test_exception_map_git_failure_is_one_line_with_exit_code(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        run_git(["rev-parse", "--verify", "refs/heads/nope"], cwd=tmp_path)
    assert caught.value.exit_code == 1
    _one_line(caught.value)


def test_exception_map_object_reader_missing_object(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "r.git")], check=True)
    with ObjectReader(tmp_path / "r.git") as reader, pytest.raises(GitError) as caught:
        reader.read(["0" * 40])
    assert "missing" in caught.value.message


def test_exception_map_object_reader_in_missing_directory(tmp_path: Path) -> None:
    with ObjectReader(tmp_path / "gone") as reader, pytest.raises(GitError) as caught:
        reader.read(["0" * 40])
    assert "does not exist" in caught.value.message


def test_exception_map_cli_turns_an_unreachable_forge_into_exit_1(github: FakeGitHub) -> None:
    """Through the real CLI: a TLS failure (HTTPS to a plain-HTTP server, not retried) is
    one `promote: error:` line and exit 1, not the internal-error path."""
    https = github.api_url.replace("http://", "https://")
    done = subprocess.run(
        [
            sys.executable, "-m", "promoter", "--config-repo", github.git_url("acme", "config"),
            "--env", "staging", "--image", "ghcr.io/acme/web:1.2.3", "--no-clone",
            "--forge", "github", "--api-url", https,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PROMOTER_TOKEN": github.token},
        check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]], done.stderr
    assert lines[0].startswith("promote: error: GitHub API unreachable"), done.stderr
    assert "TLS" in lines[0]
    assert github.token not in done.stderr


# -- python-gitlab ---------------------------------------------------------------------------

GITLAB_EXCEPTIONS = importlib.import_module("gitlab.exceptions")
PYGITLAB = _classes(GITLAB_EXCEPTIONS, Exception)


def test_exception_map_enumerates_python_gitlab() -> None:
    names = {c.__name__ for c in PYGITLAB}
    assert {"GitlabError", "GitlabAuthenticationError", "GitlabCreateError"} <= names
    assert len(PYGITLAB) >= 40


@pytest.mark.parametrize("code", [None, 401, 403, 404, 409, 429, 502])
@pytest.mark.parametrize("cls", PYGITLAB, ids=lambda c: c.__name__)
def test_exception_map_every_python_gitlab_exception_is_mapped(
    cls: type[BaseException], code: int | None
) -> None:
    from promoter.forges.gitlab import is_transient as gitlab_transient
    from promoter.forges.gitlab import translate as gitlab_translate

    error = cls(f"{cls.__name__} from GitLab", code)  # type: ignore[call-arg]
    found = gitlab_translate(error, "acme/config")
    assert isinstance(found, ForgeError)
    assert found.exit_code == 1
    _one_line(found)
    assert found.transient is gitlab_transient(error)
    assert gitlab_transient(error) is (code in (429, 502))
    if code == 401:
        assert isinstance(found, ForgeAuthError)
        assert "PROMOTER_TOKEN" in found.message


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
def test_exception_map_requests_under_python_gitlab(cls: type[BaseException]) -> None:
    from promoter.forges.gitlab import translate as gitlab_translate

    found = gitlab_translate(_instance(cls), "acme/config")
    assert isinstance(found, ForgeError)
    _one_line(found)
    assert found.transient is (cls.__name__ in TRANSIENT_REQUESTS)
