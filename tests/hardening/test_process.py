"""Issue 19 at the process's edges: every string that enters is checked where it enters,
nothing secret comes out (not even in `--debug`), signals end a run cleanly, temporary
clones never pile up, and no code of the user's (hooks, fsmonitor, globs) runs.

Each test drives the real `promote` (a subprocess, or `cli.main` in-process where the run
must stop before anything starts) against bare repositories, loopback servers and fakes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e.conftest import Promoter, fixture_files, git, refs, run_on_github
from e2e.test_crash import wait_until
from fakes.githttp import GitHttpServer, Request, Throttle, make_bare_repo
from fakes.github import FakeGitHub

from promoter.cli import main
from promoter.errors import ImageRefError
from promoter.imageref import parse_image_ref
from promoter.promotion.opening import STALE_AFTER, sweep_stale

WEB = "ghcr.io/acme/web"
STAGING = ("--env", "staging", "--image", f"{WEB}:1.5.0")
SECRET = "tok-hardening-SECRET-4711"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bare_repo(tmp_path_factory.mktemp("template"), "config.git", fixture_files())


@pytest.fixture
def bare(tmp_path: Path, template: Path) -> Path:
    copy = tmp_path / "config.git"
    git(tmp_path, "clone", "-q", "--bare", str(template), str(copy))
    return copy


@pytest.fixture
def promoter(tmp_path: Path) -> Promoter:
    tmpdir = tmp_path / "run-tmp"
    tmpdir.mkdir()
    return Promoter(tmpdir, token=None)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("promote: error: "), stderr
    return lines[0].removeprefix("promote: error: ")


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`promote ARGS` in-process (for runs that must stop before anything starts)."""
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capsys.readouterr()
    code = stop.value.code
    assert isinstance(code, int)
    return code, out, err


# -- 1. --base (and every branch option) is a branch name, checked before git runs ------------


@pytest.mark.parametrize(
    "base", ["main..x", "ma\x01in", "-h", "main.lock", "a.lock/b", "x@{1}", "main\n", "/main"]
)
def test_base_not_a_branch_name_exit_2_before_git(
    base: str, bare: Path, promoter: Promoter
) -> None:
    before = refs(bare)
    run = promoter.run("--config-repo", str(bare), *STAGING, "--mode", "push", "--base", base)
    assert run.returncode == 2, run.stderr
    line = one_error_line(run.stderr)
    assert line.startswith("--base: ")
    assert "is not a branch name" in line
    assert "git" not in line  # refused by promoter, not by a git that ran
    assert refs(bare) == before
    assert promoter.leftovers() == []


def test_explain_base_not_a_branch_name_exit_2(
    bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", "--config-repo", str(bare), *STAGING, "--base", "main..x"]
    code, _, err = run_main(args, capsys)
    assert code == 2
    assert one_error_line(err).startswith("--base: 'main..x' is not a branch name")


def test_base_valid_branch_names_still_promote(bare: Path, promoter: Promoter) -> None:
    git(bare, "branch", "release/v1.2", "main")
    run = promoter.run(
        "--config-repo", str(bare), *STAGING, "--mode", "push", "--base", "release/v1.2"
    ).ok()
    assert "pushed" in run.stdout
    assert refs(bare)["refs/heads/release/v1.2"] != refs(bare)["refs/heads/main"]


# -- 2. digests use a registered algorithm --------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "hex_length"), [("md5", 32), ("sha1", 40), ("sha384", 96), ("blake3", 64)]
)
def test_parse_image_ref_unregistered_digest_algorithm_refused(
    algorithm: str, hex_length: int
) -> None:
    with pytest.raises(ImageRefError, match=rf"unsupported digest algorithm '{algorithm}' "):
        parse_image_ref(f"{WEB}@{algorithm}:{'a' * hex_length}")


def test_parse_image_ref_sha512_accepted() -> None:
    assert parse_image_ref(f"{WEB}@sha512:{'a' * 128}").digest == f"sha512:{'a' * 128}"


def test_promote_md5_digest_exit_2_nothing_pushed(bare: Path, promoter: Promoter) -> None:
    before = refs(bare)
    image = f"{WEB}@md5:{'0123456789abcdef' * 2}"
    run = promoter.run("--config-repo", str(bare), "--env", "staging", "--image", image,
                       "--mode", "push")  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert one_error_line(run.stderr).endswith(
        "unsupported digest algorithm 'md5' (sha256 or sha512)"
    )
    assert refs(bare) == before


# -- 3. a config-repo URL that carries a token, or SSH, is refused unquoted -------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://x-access-token:{SECRET}@127.0.0.1:1/acme/config.git", "credentials in the URL"),
        (f"http://{SECRET}@127.0.0.1:1/acme/config.git", "credentials in the URL"),
        (f"http://127.0.0.1:1/acme/config.git?private_token={SECRET}", "a query string"),
        (f"http://127.0.0.1:1/acme/config.git#{SECRET}", "a query string"),
        (f"git@github.com:acme/{SECRET}.git", "SSH is not supported"),
        (f"ssh://git@github.com/acme/{SECRET}.git", "SSH is not supported"),
    ],
)
@pytest.mark.parametrize("extra", [(), ("--debug",), ("--output", "json")])
def test_config_repo_with_token_or_ssh_exit_2_secret_never_shown(
    url: str, expected: str, extra: tuple[str, ...], promoter: Promoter
) -> None:
    run = promoter.run("--config-repo", url, *STAGING, *extra)
    assert run.returncode == 2, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"promote: error: --config-repo: {expected}"), run.stderr
    assert SECRET not in run.stdout + run.stderr
    if expected != "SSH is not supported":
        assert "GITHUB_TOKEN/GITLAB_TOKEN/PROMOTER_TOKEN" in last
    assert promoter.leftovers() == []


@pytest.mark.parametrize("command", [("status",), ("plan", "--to", "production", "--all")])
def test_subcommand_config_repo_query_token_refused(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:1/acme/config.git?private_token={SECRET}"
    code, out, err = run_main([*command, "--config-repo", url], capsys)
    assert code == 2
    assert one_error_line(err).startswith("--config-repo: a query string")
    assert SECRET not in out + err


# -- 4. --debug tracebacks are redacted -----------------------------------------------------


def test_debug_traceback_of_echoed_token_is_redacted(tmp_path: Path) -> None:
    token = "ghs_hardening_echoed_token_0042"
    with FakeGitHub(tmp_path / "gh", token=token) as github:
        github.create_repo("acme", "config", fixture_files())
        echo = {"message": f"Validation Failed for {token}", "errors": [{"message": token}]}
        github.fail_next("POST", r"/pulls$", 422, body=echo, times=10)
        run = run_on_github(tmp_path, github, token, "--env", "production", "--image",
                            f"{WEB}:1.5.0", "--debug")  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback (most recent call last)" in run.stderr  # the --debug path ran
    assert "Validation Failed for ***" in run.stderr
    assert run.stderr.count(token) == 0
    assert token not in run.stdout


# -- 5. SIGTERM and SIGINT end a run through its cleanup ------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_clone_removes_temporary_clone(
    signum: int, code: int, tmp_path: Path, template: Path, promoter: Promoter
) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(template), str(root / "config.git"))
    before = refs(root / "config.git")
    promoter.token = SECRET
    with GitHttpServer(root, token=SECRET, throttle=Throttle(bandwidth=5e6, rtt=0.3)) as server:
        proc = promoter.popen("--config-repo", server.repo_url("config.git"), *STAGING)

        def cloning() -> bool:
            requests: list[Request] = list(server.requests)
            fetching = any(r.path.endswith("/git-upload-pack") for r in requests)
            return fetching and bool(promoter.leftovers())

        wait_until(cloning, proc, "the clone")
        os.kill(proc.pid, signum)  # promote alone, as a runner cancelling the step would
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"promote: stopped by {signal.Signals(signum).name}")
    )
    assert promoter.leftovers() == []
    assert _processes_under(promoter.tmpdir) == []  # git and its helpers were killed too
    assert refs(root / "config.git") == before


def _processes_under(directory: Path) -> list[str]:
    """Live processes whose working directory is in `directory` (a git helper's clone)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone, a zombie, or not ours
            continue
        if cwd.startswith(str(directory)):
            found.append(f"{pid}: {cwd}")
    return found


# -- 6. stale temporary clones are swept ----------------------------------------------------


def test_run_sweeps_own_stale_temporary_directories_only(
    bare: Path, promoter: Promoter, tmp_path: Path
) -> None:
    day_old = time.time() - STALE_AFTER - 3600
    tmp = promoter.tmpdir
    stale = [tmp / "promoter-abcd1234", tmp / "promoter-explain-x1y2z3_w"]
    for directory in stale:
        (directory / "repo.git" / "objects").mkdir(parents=True)
        (directory / "repo.git" / "objects" / "pack").write_bytes(b"x")
        os.utime(directory, (day_old, day_old))
    fresh = tmp / "promoter-fresh123"
    fresh.mkdir()
    not_ours = tmp / "promoter-cache"  # not a name promoter's mkdtemp gives
    not_ours.mkdir()
    os.utime(not_ours, (day_old, day_old))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.utime(outside, (day_old, day_old))
    link = tmp / "promoter-link5678"
    link.symlink_to(outside, target_is_directory=True)
    os.utime(link, (day_old, day_old), follow_symlinks=False)
    file = tmp / "promoter-file0000"
    file.write_text("not a directory")
    os.utime(file, (day_old, day_old))

    promoter.run("--config-repo", str(bare), *STAGING, "--dry-run").ok()

    assert not any(d.exists() for d in stale)
    assert fresh.is_dir()
    assert not_ours.is_dir()
    assert file.is_file()
    assert link.is_symlink()
    assert (outside / "keep.txt").read_text() == "keep"


def test_sweep_stale_keeps_what_is_young_or_not_a_promoter_directory(tmp_path: Path) -> None:
    now = time.time()
    old = tmp_path / "promoter-demo-abc_1234"
    old.mkdir()
    os.utime(old, (now - STALE_AFTER - 1, now - STALE_AFTER - 1))
    young = tmp_path / "promoter-abc_1234"
    young.mkdir()
    os.utime(young, (now - STALE_AFTER + 60, now - STALE_AFTER + 60))
    assert sweep_stale(tmp_path, now=now) == ["promoter-demo-abc_1234"]
    assert young.is_dir()
    assert not old.exists()


# -- 7. no hook and no fsmonitor of the user's runs ----------------------------------------

USER_HOOKS = (
    "pre-receive", "update", "post-receive", "post-update", "push-to-checkout",
    "reference-transaction", "pre-push", "post-commit", "post-checkout",
)  # fmt: skip


def _working_tree(root: Path) -> Path:
    """A user's config repository with a working tree (non-bare), `main` checked out."""
    work = root / "config"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    for relpath, content in fixture_files().items():
        (work / relpath).parent.mkdir(parents=True, exist_ok=True)
        (work / relpath).write_bytes(content)
    git(work, "add", "-A")
    git(work, "-c", "user.name=U", "-c", "user.email=u@example.com", "commit", "-q", "-m", "init")
    return work


def _marker_script(path: Path, marker: Path) -> None:
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    path.chmod(0o755)


@pytest.mark.parametrize("trap", ["hooks", "fsmonitor"])
def test_local_promotion_runs_no_user_hook_or_fsmonitor(
    trap: str, tmp_path: Path, promoter: Promoter
) -> None:
    work = _working_tree(tmp_path)
    markers = tmp_path / "markers"
    markers.mkdir()
    if trap == "hooks":
        for name in USER_HOOKS:
            _marker_script(work / ".git" / "hooks" / name, markers / name)
        # Hooks promoter's own clone would copy from the user's template directory.
        templates = tmp_path / "template" / "hooks"
        templates.mkdir(parents=True)
        for name in ("reference-transaction", "pre-push", "post-checkout"):
            _marker_script(templates / name, markers / f"clone-{name}")
        global_config = os.environ["GIT_CONFIG_GLOBAL"]
        git(tmp_path, "config", "--file", global_config, "init.templateDir", str(templates.parent))
    else:  # only the fsmonitor: receive-pack updating the work tree would run it
        _marker_script(tmp_path / "fsmonitor", markers / "fsmonitor")
        git(work, "config", "core.fsmonitor", str(tmp_path / "fsmonitor"))
    before = git(work, "rev-parse", "main").strip()

    promoter.run("--config-repo", str(work), *STAGING, "--mode", "push").ok()
    promoter.run("--config-repo", str(work), "--env", "production", "--image", f"{WEB}:1.5.0",
                 "--mode", "pull-request").ok()  # fmt: skip

    assert sorted(p.name for p in markers.iterdir()) == []
    assert git(work, "rev-parse", "main").strip() != before  # the push did land
    assert "promote/production/web" in git(work, "branch", "--list", "promote/*")


# -- 8. the GitLab template never globs its inputs ------------------------------------------


def test_gitlab_template_inputs_with_glob_characters_not_expanded(tmp_path: Path) -> None:
    """The component's script hands the inputs over as variables and runs `promote ci-run`:
    no shell splits or globs them against the job's files (`evil.txt`, `a-file`); promoter
    turns them into its own arguments, each value one word."""
    from test_gitlab_template import _documents, _interpolate

    spec, jobs = _documents()
    declared = spec["spec"]["inputs"]  # type: ignore[index]
    inputs = {k: str(v.get("default", "")) for k, v in declared.items()}
    inputs |= {
        "environment": "staging *",
        "image": f"{WEB}:1.0 *",
        "labels": "team-a, [ab]*",
        "config-repo": "https://gitlab.example.com/acme/config.git",
    }
    (job,) = jobs.values()
    assert isinstance(job, dict)
    variables = {k: _interpolate(str(v), inputs) for k, v in job["variables"].items()}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "argv"
    words = tmp_path / "words"
    fake = bin_dir / "promote"
    fake.write_text(
        f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{seen}'\n"
        f"exec {sys.executable} -c 'import os, sys; from promoter.cli.inputs import argv; "
        f"open(sys.argv[1], \"w\").write(chr(0).join(argv(os.environ)))' '{words}'\n"
    )
    fake.chmod(0o755)
    work = tmp_path / "job"
    work.mkdir()
    for name in ("evil.txt", "a-file", "b-file"):
        (work / name).write_text("")
    env = variables | {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-e", "-c", "\n".join(job["script"])], cwd=work, env=env, capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert seen.read_bytes().decode().split("\0")[:-1] == ["ci-run"]
    assert words.read_text().split("\0") == [
        "--config-repo=https://gitlab.example.com/acme/config.git", "--env=staging", "--env=*",
        f"--image={WEB}:1.0", "--image=*", "--label=team-a", "--label=[ab]*",
    ]  # fmt: skip


def test_gitlab_template_header_shows_no_input(tmp_path: Path) -> None:
    """The collapsible section's header is a fixed word: no input (which may carry a
    `\\r` and a `section_end` of its own) is printed by the job's shell."""
    from test_gitlab_template import _documents

    _, jobs = _documents()
    (job,) = jobs.values()
    assert isinstance(job, dict)
    script = "\n".join(job["script"])
    header = next(line for line in script.splitlines() if "section_start" in line)
    assert "$" not in header.replace('"$(date +%s)"', "")
    done = subprocess.run(
        ["bash", "-c", header], env={"PATH": "/usr/bin:/bin", "PROMOTE_INPUT_ENVIRONMENT":
        "staging", "PROMOTE_INPUT_IMAGE": "web:1\r\x1b[0Ksection_end:1:promote"},
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\x1b[0K")[-1] == "promoter\n"
    assert "web:1" not in done.stdout


# -- 9. names and one-line texts are checked where they enter ------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--env", "staging\x1b[31m"),
        ("--env", "staging\n"),
        ("--app", "web\x01"),
        ("--app", "we\u202eb"),
        ("--label", "ok\x1b]8;;http://x\x07"),
        ("--label", "two\nlines"),
        ("--author", "Eve <eve@example.com>\ncommitter x"),
        ("--source-commit", "abc\nSigned-off-by: eve"),
        ("--source-repo", "https://example.com/acme/web\nPromoted-by: eve"),
        ("--pipeline-url", "https://ci.example.com/1\x1b[2J"),
        ("--watch", "apps/**\x1b[8m"),
        ("--bot-actor", "renovate\x1b"),
    ],
)
def test_option_with_control_characters_exit_2_field_first(
    option: str, value: str, bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--config-repo", str(bare), *STAGING, "--dry-run", option, value]
    code, out, err = run_main(args, capsys)
    assert code == 2, out + err
    line = one_error_line(err)
    assert line.startswith(f"{option}: "), line
    assert ": expected " in line  # refused where it entered, not by a later step
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", line)  # shown escaped
    assert out == ""


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--app", "web\x1b"),
        ("why", "--env", "prod\nx", "--app", "web"),
        ("plan", "--to", "prod\x07", "--all"),
        ("release-hold", "--env", "staging", "--app", "web\r"),
        ("--to", "prod\x00", "--app", "web"),
    ],
)
def test_subcommand_names_with_control_characters_exit_2(
    args: tuple[str, ...], bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main([*args, "--config-repo", str(bare)], capsys)
    assert code == 2
    line = one_error_line(err)
    assert line.split(": ")[0] in {"--app", "--env", "--to"}
    assert ": expected an " in line  # refused before the clone, not as an unknown name
