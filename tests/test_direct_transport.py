"""The direct transport: pkt-lines, packs, and the store over real `git http-backend`.

Packs are checked against git itself (git reads what promoter writes, promoter reads what
git writes, deltas included); the store runs against the loopback smart-HTTP fake with a
token, and the server's request log says what crossed the wire.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

from promoter.errors import GitAuthError, GitError, PushRejectedError
from promoter.gitformat import object_id
from promoter.redact import Secret
from promoter.repo import (
    Auth,
    Clone,
    GitStats,
    Identity,
    Snapshot,
    open_clone,
    parse_remote,
    pktline,
)
from promoter.repo.choice import choose_transport
from promoter.repo.direct import DirectStore
from promoter.repo.pack import apply_delta, make_delta, parse_pack, write_pack
from promoter.tree import PreparesPush, Store

BOT = Identity("bot", "bot@example.com")
TOKEN = "tok-" + "5e" * 12
FILES = {
    "promoter.yaml": b"version: 1\n",
    **{
        f"apps/app-{i:03d}/overlays/staging/kustomization.yaml": b"newTag: 1.0.0\n"
        for i in range(40)
    },
    "apps/app-007/overlays/prod/kustomization.yaml": b"newTag: 0.9.0\n",
    "README.md": b"config\n",
}
TARGET = "apps/app-007/overlays/staging/kustomization.yaml"


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        check=True,
    ).stdout


def _open(server: GitHttpServer, tmp_path: Path, stats: GitStats | None = None) -> Store:
    remote = parse_remote(server.repo_url("r.git"))
    auth = Auth(Secret(TOKEN), remote.origin or "")
    tmp_path.mkdir(parents=True, exist_ok=True)
    stats = stats or GitStats()
    return open_clone(remote, tmp_path / "c.git", branch=None, auth=auth, stats=stats)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_bare_repo(tmp_path / "srv", "r.git", FILES)


@pytest.fixture
def server(repo: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(repo.parent, token=TOKEN) as served:
        yield served
    assert served.errors == []


def _promote(store: Store, tag: bytes) -> tuple[str, str]:
    """(tip read, commit made) of one file edit on main."""
    tip = store.ref("main")
    snapshot = Snapshot(store, tip)
    tree = snapshot.write_tree({TARGET: b"newTag: " + tag + b"\n"})
    return tip, store.write_commit(tree, tip, f"Promote {tag.decode()}\n", identity=BOT)


# -- pkt-line --------------------------------------------------------------------------------


def test_pktline_round_trip_and_special_packets() -> None:
    data = pktline.encode("command=fetch", pktline.DELIM, b"want x", pktline.FLUSH)
    assert data == b"0012command=fetch\n0001000awant x0000"
    reader = pktline.PacketReader(data)
    assert [reader.read(), reader.read(), reader.read(), reader.read()] == [
        b"command=fetch\n",
        pktline.DELIM,
        b"want x",
        pktline.FLUSH,
    ]
    assert reader.done
    for broken in (b"00", b"zzzz", b"0003", b"0010short"):
        with pytest.raises(GitError, match="malformed pkt-line"):
            pktline.PacketReader(broken).read()


def test_pktline_side_band_demultiplexed_and_band_3_is_an_error() -> None:
    stream = pktline.encode(b"\x01PACK", b"\x02remote: hello\r", b"\x01data", pktline.FLUSH)
    data, messages = pktline.demultiplex(pktline.until_flush(pktline.PacketReader(stream)))
    assert (data, messages) == (b"PACKdata", ["remote: hello"])
    failed = pktline.encode(b"\x03access denied", pktline.FLUSH)
    with pytest.raises(GitError, match="access denied"):
        pktline.demultiplex(pktline.until_flush(pktline.PacketReader(failed)))


# -- packs -----------------------------------------------------------------------------------


def test_pack_written_is_read_by_git_and_back(tmp_path: Path) -> None:
    objects = [("blob", b"tag: 1\n" * 50), ("blob", b""), ("blob", bytes(range(256)) * 300)]
    pack = write_pack(objects)
    assert parse_pack(pack) == {object_id(k, b): (k, b) for k, b in objects}
    repo = tmp_path / "x.git"
    _git(tmp_path, "init", "-q", "--bare", str(repo))
    _git(repo, "index-pack", "--stdin", "--strict", input=pack)
    for kind, body in objects:
        assert _git(repo, "cat-file", kind, object_id(kind, body)) == body


@pytest.mark.parametrize("offsets", [True, False], ids=["ofs-delta", "ref-delta"])
def test_pack_from_git_with_deltas_parses_to_every_object(tmp_path: Path, offsets: bool) -> None:
    """git's own pack (deltas against other objects of the pack) yields exactly the objects
    git lists, each under the id recomputed from its bytes."""
    work = tmp_path / "w"
    work.mkdir()
    _git(work, "init", "-q")
    for round_ in range(4):
        for i in range(6):
            lines = b"".join(b"line %d %d\n" % (n, i) for n in range(200))
            (work / f"f{i}.yaml").write_bytes(lines + b"v%d\n" % round_)
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", f"round {round_}")
    listed = _git(work, "rev-list", "--objects", "--all").decode().split("\n")
    ids = {line.split()[0] for line in listed if line.strip()}
    flags = ["--delta-base-offset"] if offsets else []
    wanted = "".join(f"{oid}\n" for oid in ids).encode()
    pack = _git(work, "pack-objects", "--stdout", "--window=10", *flags, input=wanted)
    assert pack[12] >> 4 & 7 in (1, 2, 3, 4, 6, 7)
    found = parse_pack(pack)
    assert set(found) == ids
    kinds = {_git(work, "cat-file", "-t", oid).decode().strip() for oid in list(ids)[:5]}
    assert kinds <= {"commit", "tree", "blob"}


def test_thin_pack_deltas_are_small_and_git_completes_them(tmp_path: Path) -> None:
    """A changed listing goes as a delta against the version the receiver has; git's
    `index-pack --fix-thin` (what receive-pack runs) resolves it to the same object."""
    old = b"".join(b"40000 app-%04d\0" % i + hashlib.sha1(b"%d" % i).digest() for i in range(3000))
    new = old.replace(b"app-1500\0" + hashlib.sha1(b"1500").digest(), b"app-1500\0" + bytes(20))
    assert apply_delta(old, make_delta(old, new)) == new
    assert apply_delta(b"abc", make_delta(b"abc", b"")) == b""
    assert apply_delta(b"", make_delta(b"", b"x" * 300)) == b"x" * 300
    pack = write_pack([("tree", new)], bases={object_id("tree", new): ("tree", old)})
    assert len(pack) < 200
    assert parse_pack(pack, known={object_id("tree", old): ("tree", old)}.get) == {
        object_id("tree", new): ("tree", new)
    }
    with pytest.raises(GitError, match="base object is missing"):
        parse_pack(pack)
    repo = tmp_path / "x.git"
    _git(tmp_path, "init", "-q", "--bare", str(repo))
    subprocess.run(
        ["git", "index-pack", "--stdin", "--fix-thin"],
        cwd=repo, input=write_pack([("tree", old)]), capture_output=True, check=True,
    )  # fmt: skip
    subprocess.run(
        ["git", "index-pack", "--stdin", "--fix-thin"],
        cwd=repo, input=pack, capture_output=True, check=True,
    )  # fmt: skip
    assert _git(repo, "cat-file", "tree", object_id("tree", new)) == new


def test_pack_corrupted_object_or_checksum_refused() -> None:
    body = b"newTag: 1.0.0\n" * 20
    pack = write_pack([("blob", body)])
    flipped = bytearray(pack)
    flipped[20] ^= 0xFF
    with pytest.raises(GitError, match="checksum"):
        parse_pack(bytes(flipped))
    resealed = bytes(flipped[:-20]) + hashlib.sha1(bytes(flipped[:-20])).digest()
    with pytest.raises(GitError, match=r"inflate|size"):
        parse_pack(resealed)
    # A well-formed object with other bytes is known only by its own id, never the asked one.
    forged = b"PACK" + struct.pack(">II", 2, 1) + write_pack([("blob", body + b"x")])[12:-20]
    forged += hashlib.sha1(forged).digest()
    assert object_id("blob", body) not in parse_pack(forged)


# -- the store -------------------------------------------------------------------------------


def test_direct_store_promotion_is_five_sequential_exchanges(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    """Discovery (info/refs and ls-refs at once), the tip with its listings, the path below
    the wide directory, receive-pack's advertisement, the push: 6 requests, 5 round trips."""
    stats = GitStats()
    store = _open(server, tmp_path, stats)
    assert isinstance(store, DirectStore)
    assert stats.transport == "direct"
    try:
        tip, commit = _promote(store, b"2.0.0")
        assert store.push(commit, "main", lease=None, force=False) == commit
    finally:
        store.close()
    kinds = [(r.method, r.path.rsplit("/", 1)[-1], r.query) for r in server.requests]
    assert sorted(kinds[:2]) == [
        ("GET", "refs", "service=git-upload-pack"),
        ("POST", "git-upload-pack", ""),
    ]
    assert kinds[2:] == [
        ("POST", "git-upload-pack", ""),
        ("POST", "git-upload-pack", ""),
        ("GET", "refs", "service=git-receive-pack"),
        ("POST", "git-receive-pack", ""),
    ]
    assert all(r.auth_ok and r.status == 200 for r in server.requests)
    assert _git(repo, "rev-parse", "main").decode().strip() == commit
    assert _git(repo, "rev-parse", "main~1").decode().strip() == tip
    assert _git(repo, "show", f"main:{TARGET}") == b"newTag: 2.0.0\n"
    changed = _git(repo, "diff-tree", "-r", "--name-only", "--no-commit-id", "main")
    assert changed.decode().split() == [TARGET]
    _git(repo, "fsck", "--strict", "--no-dangling")
    assert (stats.fetches, stats.calls) == (2, 6)
    assert 0 < stats.bytes_sent < 2048
    assert not (tmp_path / "c.git").exists()  # objects in memory, no working files


def test_direct_store_push_prepared_ahead_is_one_exchange(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    """`prepare_push` (what a run that may push asks right after opening the store) sends
    receive-pack's discovery alongside the reads: the push itself is one request, so a
    promotion is four sequential round trips. A dry run never prepares (flow)."""
    store = _open(server, tmp_path)
    assert isinstance(store, DirectStore)
    assert isinstance(store, PreparesPush)
    try:
        server.reset_stats()
        store.prepare_push()
        _, commit = _promote(store, b"2.0.0")  # the path fetch, while the GET is out
        assert store._advertised is not None
        store._advertised.result(timeout=30)
        before = len(server.requests)
        assert store.push(commit, "main", lease=None, force=False) == commit
        pushed = [(r.method, r.path.rsplit("/", 1)[-1]) for r in server.requests[before:]]
        assert pushed == [("POST", "git-receive-pack")]
        kinds = sorted((r.method, r.query) for r in server.requests)
        assert kinds == [
            ("GET", "service=git-receive-pack"),
            ("POST", ""),  # the path below the wide directory
            ("POST", ""),  # the push
        ]
        # Used once: a retry after a lost race asks for a fresh advertisement.
        _, again = _promote(store, b"3.0.0")
        before = len(server.requests)
        store.push(again, "main", lease=None, force=False)
        assert [r.query for r in server.requests[before:]] == ["service=git-receive-pack", ""]
    finally:
        store.close()
    assert _git(repo, "show", f"main:{TARGET}") == b"newTag: 3.0.0\n"


def test_direct_store_lost_race_is_rejected_then_lands_on_the_new_tip(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    store = _open(server, tmp_path)
    other = _open(server, tmp_path / "o")
    try:
        _, mine = _promote(store, b"2.0.0")
        _, theirs = _promote(other, b"3.0.0")
        other.push(theirs, "main", lease=None, force=False)
        with pytest.raises(PushRejectedError, match="moved since it was read") as caught:
            store.push(mine, "main", lease=None, force=False)
        assert caught.value.transient
        assert _git(repo, "rev-parse", "main").decode().strip() == theirs  # never overwritten
        assert store.update("main") == theirs
        tip, again = _promote(store, b"2.0.0")
        assert tip == theirs
        store.push(again, "main", lease=None, force=False)
        # A forced push with a stale lease is refused too.
        with pytest.raises(PushRejectedError):
            other.push(theirs, "main", lease=theirs, force=True)
    finally:
        store.close()
        other.close()
    assert _git(repo, "rev-list", "--first-parent", "main").decode().split()[:2] == [again, theirs]


def test_direct_store_branch_lifecycle_listing_and_history(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    store = _open(server, tmp_path)
    try:
        _, commit = _promote(store, b"2.0.0")
        store.push(commit, "promote/staging/app-007", lease=None, force=True)
        with pytest.raises(PushRejectedError):  # a lease of "absent" on a branch that exists
            store.push(commit, "promote/staging/app-007", lease=None, force=True)
        assert store.branches("promote/") == {"promote/staging/app-007": commit}
        assert store.remote_branch("promote/staging/app-007") == commit
        assert store.remote_branch("promote/none") is None
        history = store.history(commit, 5)
        assert [h.id for h in history] == [commit, store.ref("main")]
        assert history[0].message == "Promote 2.0.0\n"
        assert history[0].time > 0
        with pytest.raises(PushRejectedError, match="while it was being deleted"):
            store.delete_branch("promote/staging/app-007", lease=store.ref("main"))
        store.delete_branch("promote/staging/app-007", lease=commit)
        assert store.branches("promote/") == {}
    finally:
        store.close()


def test_direct_store_push_options_reach_the_server(tmp_path: Path, repo: Path) -> None:
    hook = repo / "hooks" / "pre-receive"
    seen = repo.parent / "options.txt"
    hook.write_text(f'#!/bin/sh\necho "$GIT_PUSH_OPTION_COUNT $GIT_PUSH_OPTION_0" > {seen}\n')
    hook.chmod(0o755)
    with GitHttpServer(repo.parent, token=TOKEN, push_options=True) as server:
        store = _open(server, tmp_path)
        try:
            _, commit = _promote(store, b"2.0.0")
            store.push(commit, "main", lease=None, force=False, options=("ci.skip",))
        finally:
            store.close()
    assert seen.read_text() == "1 ci.skip\n"
    assert _git(repo, "rev-parse", "main").decode().strip() == commit


def test_direct_store_push_options_unsupported_and_hook_refusal(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    store = _open(server, tmp_path)
    try:
        _, commit = _promote(store, b"2.0.0")
        with pytest.raises(GitError, match="does not support push options"):
            store.push(commit, "main", lease=None, force=False, options=("ci.skip",))
        hook = repo / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'policy: main is closed' >&2\nexit 1\n")
        hook.chmod(0o755)
        with pytest.raises(GitError, match="pre-receive hook declined") as caught:
            store.push(commit, "main", lease=None, force=False)
        assert not isinstance(caught.value, PushRejectedError)
        assert "main is closed" in str(caught.value)
    finally:
        store.close()


def test_direct_store_token_never_in_urls_or_errors(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    store = _open(server, tmp_path)
    store.close()
    remote = parse_remote(server.repo_url("r.git"))
    wrong = Auth(Secret("not-" + TOKEN), remote.origin or "")
    with pytest.raises(GitAuthError, match="credentials") as caught:
        open_clone(remote, tmp_path / "w.git", branch=None, auth=wrong, stats=GitStats())
    text = f"{caught.value} {caught.value!r} {caught.value.stderr} {caught.value.argv}"
    # Another origin never gets the header (an auth scoped elsewhere is not sent).
    elsewhere = Auth(Secret(TOKEN), "http://example.invalid/")
    with pytest.raises(GitAuthError):
        open_clone(remote, tmp_path / "e.git", branch=None, auth=elsewhere, stats=GitStats())
    for request in server.requests:
        assert TOKEN not in f"{request.path}?{request.query}"
        assert basic not in f"{request.path}?{request.query}"
    assert TOKEN not in text
    assert basic not in text
    assert [r.auth_ok for r in server.requests[-4:]] == [False] * 4


# -- the choice ------------------------------------------------------------------------------


def test_transport_falls_back_to_git_for_local_remotes_and_pins(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = GitStats()
    local = parse_remote(repo.as_uri())
    open_clone(local, tmp_path / "a.git", branch=None, auth=None, stats=stats).close()
    assert stats.transport == "git (a local remote)"
    monkeypatch.setenv("PROMOTER_TRANSPORT", "direct")
    with pytest.raises(GitError, match="direct transport cannot reach this remote: a local"):
        open_clone(local, tmp_path / "b.git", branch=None, auth=None, stats=GitStats())
    with GitHttpServer(repo.parent, token=TOKEN) as server:
        monkeypatch.setenv("PROMOTER_TRANSPORT", "git")
        stats = GitStats()
        pinned = _open(server, tmp_path / "g", stats)
        pinned.close()
        assert isinstance(pinned, Clone)
        assert stats.transport == "git (PROMOTER_TRANSPORT=git)"


def test_transport_choice_refuses_proxies_and_tls_settings_git_carries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = parse_remote("https://git.example.com/acme/config.git")
    assert choose_transport(remote, tmp_path).refusal is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert choose_transport(remote, tmp_path).refusal == "a proxy is set (https_proxy)"
    monkeypatch.setenv("NO_PROXY", "localhost,.example.com")
    assert choose_transport(remote, tmp_path).refusal is None
    monkeypatch.setenv("GIT_SSL_CAINFO", "/etc/ssl/custom.pem")
    assert choose_transport(remote, tmp_path).cafile == "/etc/ssl/custom.pem"  # honoured
    _git(tmp_path, "config", "--global", "http.sslVerify", "false")
    assert choose_transport(remote, tmp_path).refusal == "git config sets http.sslverify"
    _git(tmp_path, "config", "--global", "http.sslVerify", "true")
    _git(tmp_path, "config", "--global", "url.https://mirror.example/.insteadOf", "https://git.")
    assert choose_transport(remote, tmp_path).refusal == (
        "git config rewrites the URL (url.https://mirror.example/.insteadof)"
    )


class _ProtocolV0Server(GitHttpServer):
    """http-backend as a server without protocol v2 (the `Git-Protocol` header is dropped)."""

    def cgi_env(self, variables: dict[str, str]) -> dict[str, str]:
        variables.pop("GIT_PROTOCOL", None)
        return super().cgi_env(variables)


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("v0", "the server does not speak git protocol v2"),
        ("no-filter", "the server does not filter fetches"),
    ],
)
def test_transport_falls_back_to_git_for_servers_it_cannot_serve(
    tmp_path: Path, repo: Path, kind: str, why: str
) -> None:
    served = (
        _ProtocolV0Server(repo.parent, token=TOKEN)
        if kind == "v0"
        else GitHttpServer(repo.parent, token=TOKEN, allow_filter=False)
    )
    with served as server:
        stats = GitStats()
        store = _open(server, tmp_path, stats)
        try:
            tip, commit = _promote(store, b"2.0.0")
            store.push(commit, "main", lease=None, force=False)
        finally:
            store.close()
    assert isinstance(store, Clone)
    assert stats.transport == f"git ({why})"
    assert _git(repo, "rev-parse", "main~1").decode().strip() == tip
    assert os.path.exists(tmp_path / "c.git")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_direct_store_signed_commit_made_by_git_pushed_directly(
    tmp_path: Path, repo: Path, server: GitHttpServer
) -> None:
    """`--sign` keeps the user's git signing setup: `commit-tree -S` in a scratch repository
    makes the commit, the direct push sends it."""
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path(os.environ["GIT_CONFIG_GLOBAL"]).write_text(
        f"[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = {key}\n"
    )
    store = _open(server, tmp_path / "run")
    try:
        tip = store.ref("main")
        tree = Snapshot(store, tip).write_tree({TARGET: b"newTag: 2.0.0\n"})
        commit = store.write_commit(tree, tip, "Promote signed\n", identity=BOT, sign=True)
        assert store.is_verified(commit)
        store.push(commit, "main", lease=None, force=False)
    finally:
        store.close()
    allowed = tmp_path / "allowed"
    allowed.write_text(f"{BOT.email} {key.with_suffix('.pub').read_text()}")
    verify = ("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", commit)
    _git(repo, *verify)
    assert _git(repo, "rev-parse", "main").decode().strip() == commit


def test_transport_falls_back_to_git_for_sha256_repositories(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    _git(work, "init", "-q", "--object-format=sha256", "-b", "main")
    (work / "promoter.yaml").write_bytes(b"version: 1\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "init")
    served = tmp_path / "srv"
    served.mkdir()
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(served / "r.git"))
    with GitHttpServer(served, token=TOKEN) as server:
        stats = GitStats()
        store = _open(server, tmp_path / "run", stats)
        try:
            files = Snapshot(store, store.ref("main")).files_under("")
        finally:
            store.close()
    assert isinstance(store, Clone)
    assert stats.transport == "git (the repository uses sha256 object ids)"
    assert files == ["promoter.yaml"]


def test_http_client_replaces_every_connection_the_server_closed_while_idle(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long local step (reading thousands of apps) outlasts the server's keep-alive: every
    idle connection is closed by then, so the retry opens a new one, not another idle one."""
    from concurrent.futures import ThreadPoolExecutor

    from fakes import githttp

    from promoter.repo.connection import HttpClient

    monkeypatch.setattr(githttp._GitHandler, "timeout", 0.3)  # the fake's keep-alive
    with GitHttpServer(repo.parent, token=TOKEN) as server:
        remote = parse_remote(server.repo_url("r.git"))
        client = HttpClient(remote, Auth(Secret(TOKEN), remote.origin or ""))
        probe = "info/refs?service=git-upload-pack"
        with ThreadPoolExecutor(3) as pool:  # three connections left idle
            answers = list(pool.map(lambda _: client.request("GET", probe), range(3)))
        assert [a.status for a in answers] == [200, 200, 200]
        time.sleep(1.0)  # the server closes all three
        assert client.request("GET", probe).status == 200
        client.close()
