"""Opening the store in a thread as soon as the command line is parsed (`opening.begin`):
the workspace takes the store that thread opened, an error opening it is raised where the
workspace opens, and a store begun and never used is closed with its directory.

Opening is retried when the remote fails transiently, against the smart-HTTP fake with
injected 503s (the direct store and git's clone alike), and never for refused credentials
or a missing repository: the fake's request log counts the tries, one upload-pack
`info/refs` each."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo
from test_unproved import CONFIG, OVERLAY  # one promoter.yaml and overlay for both

from promoter.cli import main
from promoter.errors import GitAuthError, GitError, PromoterError, TargetNotFoundError
from promoter.promotion import opening
from promoter.promotion.requests import RepositoryRef
from promoter.promotion.workspace import open_workspace


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    files = {"promoter.yaml": CONFIG, "apps/web/staging/kustomization.yaml": OVERLAY}
    bare = make_bare_repo(tmp_path, "remote.git", files)
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
        subprocess.run(["git", "config", key, "true"], cwd=bare, check=True)
    return bare


def _opened(where: opening.Where) -> opening.Opened:
    """Wait (bounded) for the store begun for `where`, without taking it."""
    future = opening._BEGUN[opening._key(where)]
    return future.result(timeout=60)


def test_the_workspace_takes_the_store_the_thread_opened(remote: Path) -> None:
    environ: dict[str, str] = {}
    opening.begin(opening.Where(remote.as_uri(), environ=environ))
    _opened(opening.Where(remote.as_uri(), environ=environ))
    moved = remote.with_name("gone.git")
    remote.rename(moved)  # opening it now would fail: only the store opened before works
    repo = RepositoryRef(remote.as_uri(), environ=environ)
    with open_workspace(repo) as ws:
        checkout = ws.check_out(ws.default_branch, fetch=False)
        assert checkout.config is not None
        assert list(checkout.config.apps) == ["web"]
        workdir = ws.workdir
        assert workdir.is_dir()
    assert not workdir.exists()
    assert opening._BEGUN == {}
    # Without `begin`, the same reference opens inline, and fails on the moved remote.
    with pytest.raises(PromoterError), open_workspace(repo):
        pass


def test_another_environment_is_another_reference(remote: Path) -> None:
    """A reference read from another environment (another credential) never gets the
    store begun for the first: it opens its own."""
    first: dict[str, str] = {}
    opening.begin(opening.Where(remote.as_uri(), environ=first))
    begun = _opened(opening.Where(remote.as_uri(), environ=first))
    with open_workspace(RepositoryRef(remote.as_uri(), environ={})) as ws:
        assert ws.workdir != begun.workdir
    assert begun.workdir.is_dir()  # still waiting for its own run
    opening.discard()
    assert not begun.workdir.exists()


def test_an_error_opening_is_raised_where_the_workspace_opens(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    environ: dict[str, str] = {}
    opening.begin(opening.Where(str(missing), environ=environ))  # raises nothing here
    with pytest.raises(TargetNotFoundError, match="config repository not found"):
        opening.take(RepositoryRef(str(missing), environ=environ))
    assert opening._BEGUN == {}


def test_a_store_begun_and_never_used_is_closed(remote: Path) -> None:
    where = opening.Where(remote.as_uri(), environ={})
    opening.begin(where)
    workdir = _opened(where).workdir
    assert workdir.is_dir()
    opening.discard()
    assert not workdir.exists()
    assert opening._BEGUN == {}


def test_a_run_that_fails_after_beginning_leaves_nothing_behind(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line begins opening, then the run refuses its input before it opens
    the workspace: the begun store is closed, its directory removed, when the command
    ends."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    args = ["--env", "staging", "--image", "ghcr.io/acme/web:1.5.0",
            "--config-repo", remote.as_uri(), "--author", "not an identity"]  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    assert opening._BEGUN == {}
    assert list(scratch.iterdir()) == []


_BEGIN_PROBE = """
import json, sys
import promoter.promotion.opening as opening
seen = []
original = opening.begin
def begin(*args, **kwargs):
    seen.append(sorted(m for m in sys.modules if m.startswith("promoter.queries.")
                       or m in ("promoter.promotion.flow", "promoter.promotion.workspace")))
    return original(*args, **kwargs)
opening.begin = begin
from promoter.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(seen, out)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["plan", "--to", "production", "--all"],
        ["validate"],
        ["why", "--env", "staging", "--app", "web"],
        ["release-hold", "--env", "staging", "--app", "web", "--dry-run"],
    ],
    ids=lambda argv: argv[0],
)
def test_read_commands_begin_opening_before_their_code_imports(
    argv: list[str], remote: Path, tmp_path: Path
) -> None:
    """The store's thread starts before the query (or promotion) imports, not after: the
    overlap is the point of beginning early. Fails with `opt.repository` called after the
    imports, as it was."""
    import json
    import sys

    out = tmp_path / "seen.json"
    subprocess.run(
        [sys.executable, "-c", _BEGIN_PROBE, str(out), *argv, "--config-repo", str(remote)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    seen = json.loads(out.read_text())
    assert seen == [[]]  # begun once, with none of the query's code loaded yet


# -- retrying the first contact with the remote ----------------------------------------------

TOKEN = "tok-" + "0e" * 12
_DISCOVERY = r"/info/refs\?service=git-upload-pack$"
"""The request every try starts with (direct discovery and git's clone alike)."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GitHttpServer]:
    files = {"promoter.yaml": CONFIG, "apps/web/staging/kustomization.yaml": OVERLAY}
    make_bare_repo(tmp_path / "srv", "config.git", files)
    with GitHttpServer(tmp_path / "srv", token=TOKEN) as server:
        yield server
    assert server.errors == []


def _tries(server: GitHttpServer) -> list[int]:
    """The status of each try's first request, in order."""
    return [
        r.status
        for r in server.requests
        if r.path.endswith("/info/refs") and r.query == "service=git-upload-pack"
    ]


@pytest.mark.parametrize("transport", ["direct", "git"])
@pytest.mark.parametrize("failures", [1, 2])
def test_open_store_retries_a_remote_that_answers_503(
    served: GitHttpServer, transport: str, failures: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTER_TRANSPORT", transport)
    served.fail_next(503, _DISCOVERY, times=failures)
    slept: list[float] = []
    where = opening.Where(served.repo_url("config.git"), environ={"PROMOTER_TOKEN": TOKEN})
    opened = opening.open_store(where, sleep=slept.append)
    try:
        assert opened.stats.transport.startswith(transport)
        assert opened.store.ref(opened.store.head_branch())
        assert _tries(served) == [503] * failures + [200]
        assert len(slept) == failures
        assert all(0 <= wait <= min(opening.OPEN_MAX_WAIT, 2**n) for n, wait in enumerate(slept))
        assert len(opened.stats.notes) == failures
        assert "HTTP 503" in opened.stats.notes[0] or "error: 503" in opened.stats.notes[0]
    finally:
        opened.close()


@pytest.mark.parametrize("transport", ["direct", "git"])
def test_open_store_gives_up_after_its_bounded_tries(
    served: GitHttpServer, transport: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMOTER_TRANSPORT", transport)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    served.fail_next(503, _DISCOVERY, times=10)
    slept: list[float] = []
    where = opening.Where(served.repo_url("config.git"), environ={"PROMOTER_TOKEN": TOKEN})
    with pytest.raises(GitError, match="503") as caught:
        opening.open_store(where, sleep=slept.append)
    assert _tries(served) == [503] * opening.OPEN_ATTEMPTS
    assert len(slept) == opening.OPEN_ATTEMPTS - 1
    assert not caught.value.transient  # retried here: nothing above retries it again
    assert TOKEN not in str(caught.value)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("transport", ["direct", "git"])
@pytest.mark.parametrize(
    ("token", "repository", "error", "status"),
    [
        ("not-" + TOKEN, "config.git", GitAuthError, 401),
        (TOKEN, "missing.git", GitError, 404),
    ],
    ids=["401", "404"],
)
def test_open_store_never_retries_refused_credentials_or_a_missing_repository(
    served: GitHttpServer, transport: str, token: str, repository: str,
    error: type[GitError], status: int, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PROMOTER_TRANSPORT", transport)
    slept: list[float] = []
    where = opening.Where(served.repo_url(repository), environ={"PROMOTER_TOKEN": token})
    with pytest.raises(error) as caught:
        opening.open_store(where, sleep=slept.append)
    assert not caught.value.transient
    assert _tries(served) == [status]  # one try
    assert slept == []
