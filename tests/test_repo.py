"""The git layer against real git over file://: env-scoped auth, partial clone, plumbing."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from promoter.errors import GitAuthError, GitError, InputError, PushRejectedError
from promoter.redact import Secret
from promoter.repo import (
    Auth,
    Clone,
    GitStats,
    Identity,
    Snapshot,
    git_environment,
    parse_remote,
    run_git,
)
from promoter.tree import check_branch_prefix

BOT = Identity("bot", "bot@example.com")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repo with nested files, a symlink, an executable, and filters allowed."""
    work = tmp_path / "work"
    (work / "apps/web/overlays/staging").mkdir(parents=True)
    (work / "apps/api").mkdir(parents=True)
    (work / "apps/web/overlays/staging/kustomization.yaml").write_bytes(b"newTag: 1.0.0\r\n")
    (work / "apps/api/values.yaml").write_bytes(b"tag: 2.0.0\n")
    (work / "run.sh").write_bytes(b"#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    os.symlink("apps/api/values.yaml", work / "link.yaml")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    bare = tmp_path / "remote.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare


def _clone(remote: Path, tmp_path: Path, stats: GitStats | None = None) -> Clone:
    return Clone.create(
        parse_remote(remote.as_uri()),
        tmp_path / "clone.git",
        branch=None,
        auth=None,
        stats=stats or GitStats(),
    )


def test_parse_remote_https_scopes_auth_to_origin() -> None:
    remote = parse_remote("https://git.example.com:8443/acme/config.git")
    assert remote.origin == "https://git.example.com:8443/"
    assert remote.host == "git.example.com"
    assert not remote.is_local


def test_parse_remote_path_becomes_file_url(tmp_path: Path) -> None:
    remote = parse_remote(str(tmp_path))
    assert remote.url == tmp_path.resolve().as_uri()
    assert remote.is_local


@pytest.mark.parametrize(
    "text",
    [
        "https://user:s3cr3tpass@example.com/r.git",
        "ssh://git@example.com/r.git",
        "git@github.com:acme/config.git",
        "https:///r",
    ],
)
def test_parse_remote_refuses_credentials_and_unknown_schemes(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_remote(text)
    assert caught.value.field == "--config-repo"
    assert "s3cr3tpass" not in str(caught.value)


def test_git_environment_scopes_token_to_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "kept")
    auth = Auth(Secret("tok-123456"), "https://example.com/")
    env = git_environment(auth)
    assert "GIT_DIR" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_KEY_0"] == "user.name"
    pairs = {
        env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    }
    basic = base64.b64encode(b"x-access-token:tok-123456").decode()
    assert pairs["http.https://example.com/.extraHeader"] == f"Authorization: Basic {basic}"
    assert pairs["credential.helper"] == ""


def test_git_environment_passes_no_token_variable_to_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """git and what it starts (remote helpers, signing programs) get the auth header through
    GIT_CONFIG_*, never a copy of the run's credentials (issue 19)."""
    for name in (
        "PROMOTER_TOKEN",
        "GITHUB_TOKEN",
        "CI_JOB_TOKEN",
        "PROMOTER_GITHUB_APP_PRIVATE_KEY",
    ):
        monkeypatch.setenv(name, "tok-abcdef-123")
    monkeypatch.setenv("TOKENIZER_MODE", "kept")
    env = git_environment(Auth(Secret("tok-abcdef-123"), "https://example.com/"))
    assert "tok-abcdef-123" not in {v for k, v in env.items() if not k.startswith("GIT_CONFIG")}
    assert env["TOKENIZER_MODE"] == "kept"


def test_run_git_failure_is_typed_and_redacted(tmp_path: Path) -> None:
    Secret("sekrit-value-1")
    with pytest.raises(GitError) as caught:
        run_git(["rev-parse", "--verify", "sekrit-value-1"], cwd=tmp_path)
    assert "sekrit-value-1" not in str(caught.value)
    assert "sekrit-value-1" not in " ".join(caught.value.argv)
    assert caught.value.returncode != 0


def test_run_git_timeout_is_transient(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        run_git(["hash-object", "--stdin"], cwd=tmp_path, timeout=0.0001, input=b"x" * 10)
    assert caught.value.transient


def test_clone_partial_fetches_only_what_is_read(remote: Path, tmp_path: Path) -> None:
    stats = GitStats()
    clone = _clone(remote, tmp_path, stats)
    assert clone.partial
    snapshot = Snapshot(clone, clone.ref(clone.head_branch()))
    written = snapshot.materialise(
        ["apps/web/overlays/staging/kustomization.yaml", "missing.yaml"], tmp_path / "tree"
    )
    assert written == ["apps/web/overlays/staging/kustomization.yaml"]
    target = tmp_path / "tree/apps/web/overlays/staging/kustomization.yaml"
    assert target.read_bytes() == b"newTag: 1.0.0\r\n"
    assert not (tmp_path / "tree/apps/api").exists()
    assert 0 < stats.bytes_fetched < 4096


def test_clone_branches_lists_exactly_the_prefix_in_one_ls_remote(
    remote: Path, tmp_path: Path
) -> None:
    clone = _clone(remote, tmp_path)
    tip = _git("rev-parse", "main", cwd=remote).strip()
    for name in ("promote/staging/web", "promote/production/api+web", "promotex/staging/web",
                 "feature/promote/web", "Promote/staging/db"):  # fmt: skip
        _git("branch", name, "main", cwd=remote)
    # git matches an ls-remote pattern against any tail of a ref name: this one matches
    # `refs/heads/promote/*` too, and is no branch.
    _git("update-ref", "refs/x/refs/heads/promote/odd", tip, cwd=remote)
    calls = clone.stats.calls

    found = clone.branches("promote/")

    assert found == {"promote/staging/web": tip, "promote/production/api+web": tip}
    assert clone.stats.calls - calls == 1
    assert clone.branches("promote/production/") == {"promote/production/api+web": tip}
    assert clone.branches("promote/qa/") == {}


@pytest.mark.parametrize(
    "prefix",
    ["promote/", "promote/production/", "promote/prod_1/api+web", "promote", "promote/v1.2-rc/"],
)
def test_check_branch_prefix_accepts_promotion_branch_prefixes(prefix: str) -> None:
    assert check_branch_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix",
    ["", "/promote/", "promote//", "promote/*", "promote/[ab]", "pro?mote/", "^promote/",
     "promote$", "promote\\x/", "promote/../x", "promote/.hidden", "prod env/", "promote/\n",
     "refs:heads/", "promote/~1"],
)  # fmt: skip
def test_check_branch_prefix_refuses_patterns_and_invalid_names(prefix: str) -> None:
    with pytest.raises(InputError, match="not a branch-name prefix"):
        check_branch_prefix(prefix)


def test_clone_branches_refuses_a_glob_before_running_git(remote: Path, tmp_path: Path) -> None:
    clone = _clone(remote, tmp_path)
    calls = clone.stats.calls
    with pytest.raises(InputError):
        clone.branches("promote/*/web")
    assert clone.stats.calls == calls


def test_snapshot_materialises_links_and_modes(remote: Path, tmp_path: Path) -> None:
    clone = _clone(remote, tmp_path)
    snapshot = Snapshot(clone, clone.ref("main"))
    snapshot.materialise(["link.yaml", "run.sh"], tmp_path / "tree")
    assert os.readlink(tmp_path / "tree/link.yaml") == "apps/api/values.yaml"
    assert os.access(tmp_path / "tree/run.sh", os.X_OK)
    assert snapshot.files_under("apps") == [
        "apps/api/values.yaml",
        "apps/web/overlays/staging/kustomization.yaml",
    ]


def test_write_tree_matches_a_regular_commit(remote: Path, tmp_path: Path) -> None:
    """The plumbing-built tree equals what `git add` in a full checkout would produce."""
    clone = _clone(remote, tmp_path)
    tip = clone.ref("main")
    snapshot = Snapshot(clone, tip)
    path = "apps/web/overlays/staging/kustomization.yaml"
    tree = snapshot.write_tree({path: b"newTag: 1.1.0\r\n", "run.sh": b"#!/bin/sh\nexit 0\n"})
    full = tmp_path / "full"
    _git("clone", "-q", str(remote), str(full), cwd=tmp_path)
    (full / path).write_bytes(b"newTag: 1.1.0\r\n")
    (full / "run.sh").write_bytes(b"#!/bin/sh\nexit 0\n")
    _git("-c", "core.autocrlf=false", "add", "-A", cwd=full)
    assert tree == _git("write-tree", cwd=full).strip()


def test_push_fast_forward_then_rejected_when_tip_moved(remote: Path, tmp_path: Path) -> None:
    clone = _clone(remote, tmp_path)
    tip = clone.ref("main")
    snapshot = Snapshot(clone, tip)
    tree = snapshot.write_tree({"apps/api/values.yaml": b"tag: 2.1.0\n"})
    first = clone.write_commit(tree, tip, "one\n", identity=BOT)
    clone.push(first, "main", lease=None, force=False)
    assert _git("rev-parse", "main", cwd=remote).strip() == first
    second = clone.write_commit(tree, tip, "two\n", identity=BOT)
    with pytest.raises(PushRejectedError) as caught:
        clone.push(second, "main", lease=None, force=False)
    assert caught.value.transient
    assert clone.update("main") == first


def test_push_with_stale_lease_is_rejected(remote: Path, tmp_path: Path) -> None:
    clone = _clone(remote, tmp_path)
    tip = clone.ref("main")
    tree = Snapshot(clone, tip).write_tree({"apps/api/values.yaml": b"tag: 3\n"})
    commit = clone.write_commit(tree, tip, "a\n", identity=BOT)
    clone.push(commit, "promote/x/y", lease=None, force=True)
    assert clone.remote_branch("promote/x/y") == commit
    again = clone.write_commit(tree, tip, "b\n", identity=BOT)
    with pytest.raises(PushRejectedError):
        clone.push(again, "promote/x/y", lease=None, force=True)
    clone.push(again, "promote/x/y", lease=commit, force=True)
    assert clone.remote_branch("promote/x/y") == again


def test_push_refused_by_hook_is_not_transient(remote: Path, tmp_path: Path) -> None:
    hook = remote / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    clone = _clone(remote, tmp_path)
    tip = clone.ref("main")
    tree = Snapshot(clone, tip).write_tree({"apps/api/values.yaml": b"tag: 9\n"})
    commit = clone.write_commit(tree, tip, "x\n", identity=BOT)
    with pytest.raises(GitError) as caught:
        clone.push(commit, "main", lease=None, force=False)
    assert not isinstance(caught.value, PushRejectedError)
    assert not caught.value.transient


def test_clone_without_filter_support_falls_back_to_full_tip(remote: Path, tmp_path: Path) -> None:
    _git("config", "uploadpack.allowFilter", "false", cwd=remote)
    clone = _clone(remote, tmp_path)
    assert not clone.partial
    snapshot = Snapshot(clone, clone.ref("main"))
    assert snapshot.files_under("") == [
        "apps/api/values.yaml",
        "apps/web/overlays/staging/kustomization.yaml",
        "link.yaml",
        "run.sh",
    ]


def test_clone_auth_failure_over_http_is_clear(tmp_path: Path) -> None:
    from fakes.githttp import GitHttpServer, make_bare_repo

    make_bare_repo(tmp_path, "r.git", {"a.yaml": b"x: 1\n"})
    with GitHttpServer(tmp_path, token="right-token") as server:
        url = server.repo_url("r.git")
        wrong = Auth(Secret("wrong-token-xyz"), parse_remote(url).origin or "")
        with pytest.raises(GitAuthError) as caught:
            Clone.create(
                parse_remote(url), tmp_path / "c.git", branch=None, auth=wrong, stats=GitStats()
            )
    assert "PROMOTER_TOKEN" in str(caught.value)
    assert "wrong-token-xyz" not in str(caught.value)


def _wide_remote(tmp_path: Path, apps: int = 40) -> Path:
    work = tmp_path / "wide"
    for i in range(apps):
        leaf = work / f"apps/app-{i:02d}/overlays/staging"
        leaf.mkdir(parents=True)
        (leaf / "kustomization.yaml").write_text(f"newTag: {i}.0.0\n")
    (work / "promoter.yaml").write_text("version: 1\n")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "init", cwd=work)
    bare = tmp_path / "wide.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    return bare


def test_snapshot_fetches_the_rest_of_a_path_below_a_wide_directory(tmp_path: Path) -> None:
    """tree:2 brings promoter.yaml and the apps/ listing; one more request brings the file."""
    stats = GitStats()
    clone = _clone(_wide_remote(tmp_path), tmp_path, stats)
    snapshot = Snapshot(clone, clone.ref("main"))
    snapshot.materialise(["promoter.yaml"], tmp_path / "tree")
    assert stats.fetches == 1
    path = "apps/app-17/overlays/staging/kustomization.yaml"
    snapshot.materialise([path], tmp_path / "tree")
    assert (tmp_path / "tree" / path).read_text() == "newTag: 17.0.0\n"
    assert stats.fetches == 2
    assert not (tmp_path / "tree/apps/app-18").exists()


def test_clone_falls_back_when_the_server_caps_tree_depth(tmp_path: Path) -> None:
    remote = _wide_remote(tmp_path)
    _git("config", "uploadpackfilter.tree.maxDepth", "0", cwd=remote)
    stats = GitStats()
    clone = _clone(remote, tmp_path, stats)
    assert clone.partial
    assert not clone.deep
    assert any("tree:2" in note for note in stats.notes)
    snapshot = Snapshot(clone, clone.ref("main"))
    path = "apps/app-03/overlays/staging/kustomization.yaml"
    snapshot.materialise([path, "promoter.yaml"], tmp_path / "tree")
    assert (tmp_path / "tree" / path).read_text() == "newTag: 3.0.0\n"
    assert (tmp_path / "tree/promoter.yaml").read_text() == "version: 1\n"


def test_clone_over_http_keeps_the_token_out_of_its_config(tmp_path: Path) -> None:
    from fakes.githttp import GitHttpServer, make_bare_repo

    make_bare_repo(tmp_path, "r.git", {"promoter.yaml": b"version: 1\n"})
    token = "tok-" + os.urandom(8).hex()
    with GitHttpServer(tmp_path, token=token) as server:
        remote = parse_remote(server.repo_url("r.git"))
        auth = Auth(Secret(token), remote.origin or "")
        clone = Clone.create(remote, tmp_path / "c.git", branch=None, auth=auth, stats=GitStats())
        Snapshot(clone, clone.ref("main")).materialise(["promoter.yaml"], tmp_path / "t")
    stored = b"".join(p.read_bytes() for p in (tmp_path / "c.git").rglob("*") if p.is_file())
    assert token.encode() not in stored
    assert base64.b64encode(f"x-access-token:{token}".encode()) not in stored
    assert (tmp_path / "t/promoter.yaml").read_bytes() == b"version: 1\n"


def test_snapshot_listing_and_a_batch_of_files_are_one_request_each(tmp_path: Path) -> None:
    """Zero-config discovery reads the whole listing, then files spread over the tree: one
    git network operation each however many directories (no lazy fetch per tree)."""
    from fakes.githttp import GitHttpServer, make_bare_repo

    files = {
        f"apps/app-{i:03d}/{part}": f"tag: {i}\n".encode()
        for i in range(300)
        for part in ("base/deployment.yaml", "overlays/dev/k.yaml", "overlays/prod/k.yaml")
    }
    make_bare_repo(tmp_path, "r.git", files)
    token = "tok-" + os.urandom(8).hex()
    with GitHttpServer(tmp_path, token=token) as server:
        remote = parse_remote(server.repo_url("r.git"))
        auth = Auth(Secret(token), remote.origin or "")
        clone = Clone.create(remote, tmp_path / "c.git", branch=None, auth=auth, stats=GitStats())
        snapshot = Snapshot(clone, clone.ref("main"))

        def operations() -> int:
            return sum(1 for r in server.requests if r.method == "GET" and "info/refs" in r.path)

        after_clone = operations()
        listing = snapshot.files_under("")
        assert len(listing) == 900
        assert operations() == after_clone + 1
        wanted = [p for p in listing if p.endswith("prod/k.yaml")][::6]
        assert len(wanted) == 50
        snapshot.materialise(wanted, tmp_path / "t")
        assert operations() == after_clone + 2
        snapshot.materialise(wanted, tmp_path / "t2")
        assert Snapshot(clone, clone.ref("main")).files_under("") == listing
        assert operations() == after_clone + 2
    assert (tmp_path / "t" / wanted[-1]).read_bytes() == files[wanted[-1]]


def test_objects_written_in_python_are_what_git_writes(tmp_path: Path) -> None:
    """Blob, tree and commit ids hashed in Python equal `git hash-object`'s, and the loose
    objects written are ones git reads back (sha1 and sha256 repositories)."""
    from promoter.gitformat import commit_body, object_id, parse_commit, tree_body
    from promoter.repo.objects import read_ref, write_object
    from promoter.tree import CommitInfo, Entry

    for algorithm in ("sha1", "sha256"):
        repo = tmp_path / f"{algorithm}.git"
        _git("init", "-q", "--bare", f"--object-format={algorithm}", str(repo), cwd=tmp_path)
        blob = write_object(repo, "blob", b"tag: 1.2.3\r\n\xef\xbb\xbf", algorithm)
        entries = {
            "values.yaml": Entry("100644", blob),
            "run.sh": Entry("100755", blob),
            "dir.d": Entry("100644", blob),
            "dir": Entry("40000", object_id("tree", b"", algorithm=algorithm)),
        }
        write_object(repo, "tree", b"", algorithm)
        tree = write_object(repo, "tree", tree_body(entries), algorithm)
        body = commit_body(tree, [], "Promote web\n\nPromoted-by: promoter\n", BOT, 1700000000)
        commit = write_object(repo, "commit", body, algorithm)
        for kind, oid in (("blob", blob), ("tree", tree), ("commit", commit)):
            data = subprocess.run(
                ["git", "cat-file", kind, oid], cwd=repo, capture_output=True, check=True
            ).stdout
            again = subprocess.run(
                ["git", "hash-object", "-t", kind, "--stdin"],
                cwd=repo, input=data, capture_output=True, check=True,
            ).stdout.decode().strip()  # fmt: skip
            assert again == oid, (algorithm, kind)
        assert parse_commit(body) == CommitInfo(tree, (), "Promote web\n\nPromoted-by: promoter\n")
        listing = _git("ls-tree", tree, cwd=repo).splitlines()
        names = [line.split("\t")[1] for line in listing]
        assert names == ["dir.d", "dir", "run.sh", "values.yaml"]  # a tree sorts as `dir/`
        _git("fsck", "--strict", "--no-dangling", cwd=repo)  # strict: order, modes, format
        _git("update-ref", "refs/heads/main", commit, cwd=repo)
        assert read_ref(repo, "refs/heads/main") == commit
        _git("pack-refs", "--all", cwd=repo)
        assert read_ref(repo, "refs/heads/main") == commit  # packed now
        assert read_ref(repo, "refs/heads/nope") is None


def test_object_reader_reads_thousands_of_objects_without_deadlock(tmp_path: Path) -> None:
    """All ids written at once filled cat-file's pipes both ways past ~1,500 objects."""
    from promoter.repo import ObjectReader

    repo = tmp_path / "many.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    payloads = [f"blob {i}, padded to fill the pipes\n".encode() * 8 for i in range(4000)]
    files = tmp_path / "blobs"
    files.mkdir()
    for index, payload in enumerate(payloads):
        (files / str(index)).write_bytes(payload)
    done = subprocess.run(
        ["git", f"--git-dir={repo}", "hash-object", "-w", "--stdin-paths"],
        input="".join(f"{files / str(i)}\n" for i in range(len(payloads))),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ids = done.stdout.split()
    reader = ObjectReader(repo)
    try:
        found = reader.read(ids)
    finally:
        reader.close()
    assert [found[oid][1] for oid in ids] == payloads
