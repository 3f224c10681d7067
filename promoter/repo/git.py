"""Every git process: the one subprocess entry point, its scrubbed environment and auth.

`run_git` runs one command; `ObjectReader` keeps one `cat-file --batch` alive for a run's
reads. Both build the environment the same way: inherited repository variables dropped,
no prompts, and promoter's settings and the token's header as `GIT_CONFIG_*` (never argv,
`-c`, a URL or `.git/config`). Failures are classified (`outcome`) so callers see
`PromoterError`s only. Knows nothing of YAML or forges.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from promoter.errors import GitError
from promoter.redact import is_secret_name, redact
from promoter.repo.auth import Auth
from promoter.repo.outcome import GitResult, command_error
from promoter.tree import GitStats

GIT_TIMEOUT = 300.0
_DROPPED_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
)
_SETTINGS = (
    ("maintenance.auto", "false"),
    ("gc.auto", "0"),
    ("fetch.unpackLimit", "1"),
    ("transfer.unpackLimit", "1"),
    ("protocol.version", "2"),
    ("advice.detachedHead", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
)
"""Packs are kept (so their size is the bytes fetched) and no background work outlives us.
No hook and no fsmonitor command runs: a hooks directory or `core.fsmonitor` from the
user's config (global, a template, a CI checkout) is code promoter never asked to run."""


def git_environment(
    auth: Auth | None = None,
    extra: Mapping[str, str] | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """A fresh environment per call: no inherited repository, no prompts, our settings appended.

    `settings` are per-call config (never secrets), passed like the rest: not argv.
    """
    # Credentials stay with promoter: git gets its auth header through GIT_CONFIG_*, and
    # whatever git starts (a remote helper, a signing program) gets no token variable.
    environ = {
        k: v for k, v in os.environ.items() if k not in _DROPPED_VARIABLES and not is_secret_name(k)
    }
    environ.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TRACE_REDACT="1",
        GIT_HTTP_LOW_SPEED_LIMIT="1000",
        GIT_HTTP_LOW_SPEED_TIME="60",
    )
    settings = list(_SETTINGS) + list(settings) + (auth.config() if auth else [])
    try:
        count = int(environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for key, value in settings:
        environ[f"GIT_CONFIG_KEY_{count}"] = key
        environ[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    environ["GIT_CONFIG_COUNT"] = str(count)
    if extra:
        environ.update(extra)
    return environ


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
    input: bytes | None = None,
    auth: Auth | None = None,
    environ: Mapping[str, str] | None = None,
    stats: GitStats | None = None,
    settings: Sequence[tuple[str, str]] = (),
) -> GitResult:
    """The only subprocess call in promoter: argv list, scrubbed environment, timeout, redaction."""
    argv = ("git", *args)
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_environment(auth, environ, settings),
        )
    except OSError as exc:
        raise _start_error(exc, cwd) from exc
    try:
        with process:
            try:
                stdout, stderr = process.communicate(input, timeout=timeout)
            except BaseException:
                # A timeout, or the run ending (SIGTERM, Ctrl-C): git's helpers
                # (remote-https, fetch-pack, index-pack) go too, so none keeps writing into
                # a directory being removed, nor holds the pipes open.
                _kill_tree(process)
                raise
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"git {args[0]} timed out after {timeout:.0f}s",
            argv=_shown(argv),
            transient=True,
        ) from exc
    finally:
        if stats is not None:
            stats.calls += 1
    result = GitResult(
        _shown(argv), process.returncode, stdout, redact(stderr.decode("utf-8", "replace"))
    )
    if check and process.returncode != 0:
        raise command_error(result)
    return result


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a git started by `run_git` and the helpers it started, then reap it.

    git stays in promoter's process group (a CI killing the group kills every git), so its
    helpers are found by parent id in /proc (Linux; elsewhere only git itself is killed).
    """
    doomed = [process.pid, *_descendants(process.pid)]
    for pid in doomed:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
        process.communicate(timeout=10)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rpartition(b")")[2].split()  # state ppid ...
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    level = children.get(root, [])
    while level:
        found += level
        level = [c for pid in level for c in children.get(pid, [])]
    return found


def _start_error(error: OSError, cwd: Path | None) -> GitError:
    """git could not even start: not installed, or its directory is gone or unreadable."""
    if cwd is not None and not cwd.is_dir():
        return GitError(f"git cannot run in {cwd}: the directory does not exist")
    if isinstance(error, FileNotFoundError):
        return GitError("git is not installed (or not on PATH)")
    return GitError(f"git could not be started: {error.strerror or error}")


def _shown(argv: Sequence[str]) -> tuple[str, ...]:
    return tuple(redact(a) for a in argv)


def changed_files(directory: Path, before: str, after: str) -> tuple[str, ...] | None:
    """Paths changed between two commits of a local checkout (a CI's own clone); None when
    it lacks them (a shallow clone without `before`)."""
    args = ("diff", "--name-only", "-z", "--no-renames", before, after, "--")
    try:
        result = run_git(args, cwd=directory, check=False, timeout=60)
    except GitError:
        return None
    if result.returncode != 0:
        return None
    names = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    return tuple(name for name in names if name)


_CAT_CHUNK = 256
"""Ids written to `cat-file --batch` before its answers are read."""


class ObjectReader:
    """One `git cat-file --batch` kept open for a run's reads: one process, not one per read.

    Objects are fetched before they are read; only a git too old for fetching by id (<
    2.29) leaves a missing one to git's lazy fetch, hence the auth. git re-scans its packs
    when an id is not found, so objects fetched or written after it started are found too.
    """

    def __init__(
        self, git_dir: Path, auth: Auth | None = None, stats: GitStats | None = None
    ) -> None:
        self.git_dir = git_dir
        self.auth = auth
        self.stats = stats
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, oids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """oid -> (type, content) for each of `oids`; a missing one is a `GitError`."""
        if not oids:
            return {}
        process = self._start()
        assert process.stdin is not None
        assert process.stdout is not None
        found: dict[str, tuple[str, bytes]] = {}
        try:
            # In chunks: all ids at once would fill the stdin pipe while cat-file, its
            # stdout pipe full of unread answers, stops reading: a deadlock past ~1,500 ids.
            for start in range(0, len(oids), _CAT_CHUNK):
                chunk = oids[start : start + _CAT_CHUNK]
                process.stdin.write("".join(f"{o}\n" for o in chunk).encode())
                process.stdin.flush()
                for oid in chunk:
                    found[oid] = self._one(oid, process.stdout)
        except (BrokenPipeError, ValueError) as exc:
            self.close()
            raise GitError(f"git cat-file stopped while reading {oid[:12]}") from exc
        return found

    def _one(self, oid: str, stream: IO[bytes]) -> tuple[str, bytes]:
        header = stream.readline().decode().split()
        if len(header) != 3:
            if not header:
                self.close()
                raise GitError(f"git cat-file stopped while reading {oid[:12]}")
            raise GitError(f"object {oid} is missing from the clone")
        data = stream.read(int(header[2]) + 1)
        return header[1], data[:-1]

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            environ = git_environment(self.auth)
            try:
                self._process = subprocess.Popen(
                    ("git", "cat-file", "--batch"),
                    cwd=self.git_dir,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=environ,
                )
            except OSError as exc:
                raise _start_error(exc, self.git_dir) from exc
            if self.stats is not None:
                self.stats.calls += 1
        return self._process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __del__(self) -> None:
        """A reader nobody closed (a store dropped on an error path) still ends its git."""
        self.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
