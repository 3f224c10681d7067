"""The loopback git smart-HTTP server, exercised with the plain git CLI (the system under test
here is the fake itself, so raw subprocesses are fine; promoter code goes through `repo`)."""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .githttp import GitHttpServer, Request, Throttle, make_bare_repo

TOKEN = "s3cret"
FILES = {
    "README.md": b"config repo\n",
    "apps/web/kustomization.yaml": b"images:\n- name: web\n  newTag: v1.0.0\n",
    "apps/api/values.yaml": b"image:\n  tag: v2.0.0\n",
}
IDENTITY = ("-c", "user.name=t", "-c", "user.email=t@example.com")
AUTH_FAILURES = ("Authentication failed", "401", "terminal prompts disabled")


def basic(token: str, user: str = "x-access-token") -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def git(
    *args: str,
    cwd: Path | None = None,
    auth: str | None = basic(TOKEN),
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run git with auth in env-scoped config (never argv); conftest already scrubbed GIT_*."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    if auth is not None:
        full_env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: {auth}",
        }
    result = subprocess.run(
        ["git", *IDENTITY, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def missing_objects(clone: Path) -> list[str]:
    """Objects a partial clone references but does not have (lists them without fetching)."""
    out = git("rev-list", "--objects", "--all", "--missing=print", cwd=clone).stdout
    return [line[1:] for line in out.splitlines() if line.startswith("?")]


def blob_oids(server: GitHttpServer, tree: str) -> list[str]:
    """Every blob under `tree`, read straight from the bare repository on the server side."""
    listing = git("ls-tree", "-r", tree, cwd=server.root / "config.git").stdout
    return [line.split()[2] for line in listing.splitlines()]


def add_local_commits(clone: Path, count: int) -> None:
    """Chain `count` commits dated after main onto refs/heads/local, in one fast-import run."""
    commits = []
    for n in range(count):
        parent = "from refs/heads/main^0\n" if n == 0 else ""
        when = 4_000_000_000 + n  # newer than main, so negotiation offers these haves first
        commits.append(f"commit refs/heads/local\ncommitter t <t@e> {when} +0000\ndata 0\n{parent}")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=clone,
        input="".join(commits),
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


def pack_bytes(clone: Path) -> int:
    return sum(p.stat().st_size for p in (clone / ".git" / "objects" / "pack").glob("*.pack"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "srv"
    make_bare_repo(root, "config.git", FILES)
    return root


@pytest.fixture
def server(root: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(root, token=TOKEN) as server:
        yield server
    assert server.errors == []


def test_make_bare_repo_one_commit_on_branch(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path, "x.git", {"a/b.txt": b"b\n"}, branch="trunk")
    assert git("rev-parse", "--is-bare-repository", cwd=bare).stdout.strip() == "true"
    assert git("symbolic-ref", "HEAD", cwd=bare).stdout.strip() == "refs/heads/trunk"
    assert git("rev-list", "--count", "trunk", cwd=bare).stdout.strip() == "1"
    assert git("show", "trunk:a/b.txt", cwd=bare).stdout == "b\n"


def test_clone_basic_token_files_match(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone))
    for relpath, content in FILES.items():
        assert (clone / relpath).read_bytes() == content
    assert server.requests
    assert all(r.auth_ok and r.status == 200 for r in server.requests)


def test_clone_bearer_token_works(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone), auth=f"Bearer {TOKEN}")
    assert (clone / "README.md").read_bytes() == FILES["README.md"]
    assert all(r.auth_ok for r in server.requests)


@pytest.mark.parametrize(
    "auth", [basic("wrong"), "Bearer wrong", None], ids=["basic", "bearer", "none"]
)
def test_clone_bad_token_fails_401(server: GitHttpServer, tmp_path: Path, auth: str | None) -> None:
    result = git(
        "clone", server.repo_url("config.git"), str(tmp_path / "c"), auth=auth, check=False
    )
    assert result.returncode != 0
    # git 2.39 with GIT_TERMINAL_PROMPT=0 reports "could not read Username ... terminal prompts
    # disabled" after a 401, not "Authentication failed" (it wants to ask for credentials).
    assert any(text in result.stderr for text in AUTH_FAILURES), result.stderr
    assert server.requests
    assert all(r.status == 401 and not r.auth_ok for r in server.requests)
    assert not (tmp_path / "c").exists()


def test_requests_never_hold_token(server: GitHttpServer) -> None:
    git("ls-remote", server.repo_url("config.git"))
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    recorded = repr(server.requests) + repr(server)
    assert TOKEN not in recorded
    assert encoded not in recorded


def test_push_new_commit_moves_ref(server: GitHttpServer, root: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone))
    (clone / "apps/web/kustomization.yaml").write_bytes(b"images:\n- name: web\n  newTag: v1.1\n")
    git("commit", "-q", "-am", "Promote web to v1.1", cwd=clone)
    head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    assert git("rev-parse", "main", cwd=root / "config.git").stdout.strip() == head
    assert any(r.path.endswith("/git-receive-pack") and r.status == 200 for r in server.requests)


def test_push_large_body_chunked(server: GitHttpServer, root: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone))
    (clone / "blob.bin").write_bytes(os.urandom(2_500_000))
    git("add", "blob.bin", cwd=clone)
    git("commit", "-q", "-m", "Big blob", cwd=clone)
    head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    trace = tmp_path / "curl.trace"
    curl_trace = {"GIT_TRACE_CURL": str(trace), "GIT_TRACE_CURL_NO_DATA": "1"}
    git("push", "-q", "origin", "HEAD:main", cwd=clone, env=curl_trace)
    assert git("rev-parse", "main", cwd=root / "config.git").stdout.strip() == head
    # Proof that the body went chunked (> http.postBuffer, 1 MiB) and we de-chunked it.
    assert "Transfer-Encoding: chunked" in trace.read_text(errors="replace")
    pushes = [r for r in server.requests if r.path.endswith("/git-receive-pack")]
    assert max(r.bytes_in for r in pushes) > 2_500_000
    assert server.bytes_received > 2_500_000


def test_fetch_gzipped_negotiation_works(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone))
    # Local-only commits newer than main make git send > 1 KiB of "have" lines, gzipped.
    add_local_commits(clone, 40)
    pusher = tmp_path / "pusher"
    git("clone", "-q", server.repo_url("config.git"), str(pusher))
    git("commit", "-q", "--allow-empty", "-m", "Upstream", cwd=pusher)
    git("push", "-q", "origin", "HEAD:main", cwd=pusher)
    trace = tmp_path / "curl.trace"
    git(
        "fetch",
        "-q",
        "origin",
        cwd=clone,
        env={"GIT_TRACE_CURL": str(trace), "GIT_TRACE_CURL_NO_DATA": "1"},
    )
    # The backend only parses a gzipped body if HTTP_CONTENT_ENCODING reached it.
    assert "Content-Encoding: gzip" in trace.read_text(errors="replace")
    upstream = git("rev-parse", "HEAD", cwd=pusher).stdout
    assert git("rev-parse", "origin/main", cwd=clone).stdout == upstream


def test_partial_clone_blob_none_omits_blobs(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(
        "clone",
        "-q",
        "--no-checkout",
        "--filter=blob:none",
        server.repo_url("config.git"),
        str(clone),
    )
    assert len(missing_objects(clone)) == len(FILES)
    assert git("config", "remote.origin.promisor", cwd=clone).stdout.strip() == "true"


def test_partial_clone_without_server_filter_degrades(root: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    with GitHttpServer(root, token=TOKEN, allow_filter=False) as server:
        result = git(
            "clone",
            "--no-checkout",
            "--filter=blob:none",
            server.repo_url("config.git"),
            str(clone),
        )
    assert "filtering not recognized by server" in result.stderr
    assert missing_objects(clone) == []


def test_protocol_v2_reaches_backend(server: GitHttpServer) -> None:
    url = server.repo_url("config.git")
    v2 = git("ls-remote", url, env={"GIT_TRACE_PACKET": "1"})  # git 2.39 defaults to v2
    # "git< version 2" is the backend's reply; without GIT_PROTOCOL it would answer v0.
    assert "git< version 2" in v2.stderr
    assert "command=ls-refs" in v2.stderr
    assert "refs/heads/main" in v2.stdout
    v0 = git("-c", "protocol.version=0", "ls-remote", url, env={"GIT_TRACE_PACKET": "1"})
    assert "version 2" not in v0.stderr
    assert v0.stdout == v2.stdout


def test_fetch_tree_by_oid_in_partial_clone(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(
        "clone", "-q", "--no-checkout", "--filter=tree:0", server.repo_url("config.git"), str(clone)
    )
    tree = git("log", "-1", "--format=%T", cwd=clone).stdout.strip()  # reads only the commit
    assert tree in missing_objects(clone)
    fetched = git(
        "fetch",
        "--no-tags",
        "--filter=tree:0",
        "origin",
        tree,
        cwd=clone,
        env={"GIT_TRACE_PACKET": "1"},
    )
    assert "version 2" in fetched.stderr
    assert f"want {tree}" in fetched.stderr  # a non-tip, non-commit want was accepted
    # git 2.39 lazy-fetches the named oid itself first (promisor fetch, hard-coded
    # --filter=blob:none), so the tree arrives with its subtrees and without any blob.
    assert sorted(missing_objects(clone)) == sorted(blob_oids(server, tree))
    before = len(server.requests)
    assert git("ls-tree", "--name-only", tree, cwd=clone).stdout.split() == ["README.md", "apps"]
    assert len(server.requests) == before  # the tree is local now: no lazy fetch


@pytest.mark.timeout(60)
def test_throttle_slows_clone(root: Path, tmp_path: Path) -> None:
    make_bare_repo(root, "big.git", {"blob.bin": os.urandom(400_000)})
    with GitHttpServer(root, token=TOKEN, throttle=Throttle(bandwidth=200_000, rtt=0.05)) as srv:
        start = time.monotonic()
        git("clone", "-q", srv.repo_url("big.git"), str(tmp_path / "clone"))
        elapsed = time.monotonic() - start
    assert srv.bytes_sent >= 400_000
    assert elapsed >= 1.5


def test_unthrottled_clone_fast(root: Path, tmp_path: Path) -> None:
    make_bare_repo(root, "big.git", {"blob.bin": os.urandom(400_000)})
    with GitHttpServer(root, token=TOKEN) as srv:
        start = time.monotonic()
        git("clone", "-q", srv.repo_url("big.git"), str(tmp_path / "clone"))
        elapsed = time.monotonic() - start
    assert srv.bytes_sent >= 400_000
    assert elapsed < 1.0


@pytest.mark.timeout(90)
def test_concurrent_ls_remote_all_succeed(server: GitHttpServer) -> None:
    url = server.repo_url("config.git")
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: git("ls-remote", url, check=False), range(20)))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results]
    assert all("refs/heads/main" in r.stdout for r in results)
    adverts = [r for r in server.requests if r.path.endswith("/info/refs")]
    assert len(adverts) == 20
    assert all(r.status == 200 for r in server.requests)


def test_counters_cover_pack_and_reset(server: GitHttpServer, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("config.git"), str(clone))
    assert server.bytes_sent > 0
    assert server.bytes_sent >= pack_bytes(clone) > 0
    assert server.bytes_sent == sum(r.bytes_out for r in server.requests)
    assert server.bytes_received == sum(r.bytes_in for r in server.requests) > 0
    server.reset_stats()
    assert (server.bytes_sent, server.bytes_received, server.requests) == (0, 0, [])


def test_lifetime_expiry_refuses_connections(root: Path) -> None:
    with GitHttpServer(root, token=None, lifetime=0.3) as server:
        probe = f"{server.repo_url('config.git')}/info/refs?service=git-upload-pack"
        with urllib.request.urlopen(probe, timeout=5) as response:
            assert response.status == 200
        time.sleep(0.8)
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(probe, timeout=5)
    assert server.requests == [
        Request(
            "GET",
            "/config.git/info/refs",
            "service=git-upload-pack",
            200,
            True,
            0,
            server.requests[0].bytes_out,
        )
    ]


def test_exit_stops_serving_promptly(root: Path) -> None:
    start = time.monotonic()
    with GitHttpServer(root, token=None) as server:
        url = server.repo_url("config.git")
        assert git("ls-remote", url, auth=None).returncode == 0
    assert time.monotonic() - start < 5
    assert git("ls-remote", url, auth=None, check=False).returncode != 0
