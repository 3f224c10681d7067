"""Opening a run's store, started as soon as the command line is parsed.

A promotion's first requests (the remote's discovery and the tip's fetch) wait on the
network for about as long as the planning stack takes to import. `begin` starts opening
in a thread right after the arguments are parsed, with nothing but the repository's
reference; `take` (called by `open_workspace`) waits for it, or opens inline when nothing
was begun. Both ways run the same `open_store`, so they resolve the same credential,
choose the same transport and raise the same errors, at the same point of the run: an
error in the thread is raised by `take`, never earlier. Opening is the run's first contact
with the remote, so a transient failure there (a 5xx, a dropped connection) is tried
again, a bounded few times (`open_remote`). This module imports no planning code, so
`begin` costs a thread start.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from promoter.errors import InputError, PromoterError, TargetNotFoundError

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from promoter.forges import Credentials, Forge, ForgeKind
    from promoter.repo import Auth, Remote
    from promoter.tree import GitStats, Store


@dataclass(frozen=True, slots=True)
class Where:
    """The part of a `RepositoryRef` that opening reads, known once the command line is
    parsed (a `RepositoryRef` has the same fields)."""

    url: str
    forge: str | None = None
    api_url: str | None = None
    no_clone: bool = False
    base: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)


class Reference(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def forge(self) -> str | None: ...
    @property
    def api_url(self) -> str | None: ...
    @property
    def no_clone(self) -> bool: ...
    @property
    def base(self) -> str | None: ...
    @property
    def environ(self) -> Mapping[str, str]: ...


class ForgeOpener:
    """Opens the forge on first use: a push-mode run never loads a forge client."""

    def __init__(
        self, kind: ForgeKind, remote: Remote, credentials: Credentials | None,
        api_url: str | None,
        environ: Mapping[str, str],
    ) -> None:  # fmt: skip
        self.kind = kind
        self.remote = remote
        self.credentials = credentials
        self.api_url = api_url
        self.environ = environ

    def __call__(self) -> Forge:
        return self.kind.open(
            self.remote.url,
            token=self.credentials.token if self.credentials else None,
            api_url=self.api_url,
            environ=self.environ,
        )


@dataclass
class Opened:
    """A store opened for a run, with what opening it resolved."""

    opener: ForgeOpener
    credentials: Credentials | None
    stats: GitStats
    workdir: Path
    store: Store
    forge: Forge | None
    """The forge, when opening the store needed it (`--no-clone`)."""

    def close(self) -> None:
        """Close the store (and its processes) and remove the temporary directory."""
        import shutil

        try:
            self.store.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


WORKDIR_PREFIX = "promoter-"
STALE_AFTER = 24 * 3600.0
"""A temporary directory of promoter's this old is a killed run's (SIGKILL, a lost runner):
no run lasts a day (every git call has a timeout)."""
_OWN_DIRECTORY = re.compile(r"promoter-(?:demo-|explain-)?[a-z0-9_]{8}")
"""The names `tempfile.mkdtemp` gives promoter's directories: its prefixes and 8 random
characters; nothing else in the temporary directory is promoter's to remove."""


def sweep_stale(parent: Path, *, now: float | None = None) -> list[str]:
    """Remove promoter's temporary directories left in `parent` by runs that could not clean
    up, once older than `STALE_AFTER`: only directories (never through a symlink) named by
    promoter and owned by this user. Best effort: a failure is ignored. Returns the names."""
    import shutil

    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        if not _OWN_DIRECTORY.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (
            not stat.S_ISDIR(info.st_mode)
            or info.st_uid != os.getuid()
            or now - info.st_mtime < STALE_AFTER
        ):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)  # fd-based: never follows a symlink
        removed.append(entry.name)
    return removed


def check_branch(name: str, field: str = "--base") -> str:
    """`name` if it is a branch name both git and promoter.yaml's `base:` accept; otherwise
    an `InputError` before anything runs (git would read `-h` as an option, `a..b` as a
    range, and print control characters back)."""
    from promoter import config as configuration

    if not configuration.is_branch_name(name):
        shown = repr(name[:60]) + ("..." if len(name) > 60 else "")
        raise InputError(
            f"{shown} is not a branch name (no spaces or control characters, '..', '@{{', "
            "'~^:?*[\\', leading '-' or '.', trailing '/', '.' or '.lock')",
            field=field,
        )
    return name


def check_config_repo(text: str) -> Remote:
    """`--config-repo` as `open_workspace` will read it, checked where it enters: a URL with
    credentials, a query or SSH is refused without quoting it (see `repo.parse_remote`)."""
    from promoter.repo import parse_remote

    return parse_remote(text)


def open_store(
    repo: Reference, *, push: bool = False, sleep: Callable[[float], None] = time.sleep
) -> Opened:
    """The store for `repo` in a new temporary directory (removed again on an error):
    the forge's API under `--no-clone`, else the clone `repo.open_clone` picks, retried
    (`open_remote`) when the remote fails transiently. `sleep` waits between tries."""
    from promoter.repo import Auth, parse_remote
    from promoter.tree import GitStats

    remote = parse_remote(repo.url)
    if remote.origin is None and "://" not in repo.url:
        check_local(Path(repo.url))
    if repo.base is not None:
        check_branch(repo.base)
    kind = forge_kind(repo.forge, remote, repo.environ)
    credentials = find_credentials(kind, remote, repo.environ, repo.api_url)
    opener = ForgeOpener(kind, remote, credentials, repo.api_url, repo.environ)
    stats = GitStats()
    sweep_stale(Path(tempfile.gettempdir()))
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    try:
        forge: Forge | None = None
        if repo.no_clone:
            forge = opener()
            store = forge.store(stats)
        else:
            auth = None
            if credentials is not None and remote.origin is not None:
                auth = Auth(credentials.token, remote.origin, credentials.user)
            store = open_remote(
                remote, workdir / "repo.git", branch=repo.base, auth=auth, stats=stats,
                push=push, sleep=sleep,
            )  # fmt: skip
    except BaseException:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Opened(opener, credentials, stats, workdir, store, forge)


OPEN_ATTEMPTS = 3
"""Tries of opening the store (the direct store's discovery and tip fetch, or git's clone)
while the remote fails transiently: a 5xx, a 429, a dropped or timed-out connection."""
OPEN_MAX_WAIT = 4.0
"""Longest wait between two tries: full jitter, uniform(0, min(4, 2**(n-1))) s after try n."""
OPEN_MAX_SECONDS = 120.0


def open_remote(
    remote: Remote, directory: Path, *, branch: str | None, auth: Auth | None,
    stats: GitStats, push: bool, sleep: Callable[[float], None],
) -> Store:  # fmt: skip
    """`repo.open_clone` under the one retry layer the first contact with the remote has:
    at most `OPEN_ATTEMPTS` tries (and `OPEN_MAX_SECONDS`), exponential backoff with full
    jitter, each from a clean `directory`. Only a `transient` error is tried again (the
    classification is `repo`'s: HTTP 5xx and 429, a dropped connection, a git timeout);
    refused credentials (401, 403), a missing repository or branch (404), an unsupported
    server and a protocol error fail at once. The error left after the last try is no
    longer transient, so that nothing above retries it again."""
    import shutil

    from tenacity import (
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_after_delay,
        wait_random_exponential,
    )

    from promoter.repo import open_clone as open_any

    def retried(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        stats.notes.append(f"opening the config repository failed and was retried: {failure}")

    retrying = Retrying(
        stop=stop_after_attempt(OPEN_ATTEMPTS) | stop_after_delay(OPEN_MAX_SECONDS),
        wait=wait_random_exponential(multiplier=1, max=OPEN_MAX_WAIT),
        retry=retry_if_exception(lambda e: isinstance(e, PromoterError) and e.transient),
        before_sleep=retried,
        reraise=True,
        sleep=sleep,
    )
    try:
        for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    shutil.rmtree(directory, ignore_errors=True)
                return open_any(remote, directory, branch=branch, auth=auth, stats=stats, push=push)
    except PromoterError as error:
        error.transient = False  # retried here already: no second retry layer
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_local(path: Path) -> None:
    """A local config repository must be one: a clear line, not git's exit 128."""
    if not path.exists():
        raise TargetNotFoundError("config repository not found", path=str(path))
    if not is_repository(path):
        raise InputError(
            f"{str(path)!r} is not a git repository: run inside a clone of the config "
            "repository, or give --config-repo its URL",
            field="--config-repo",
        )


def is_repository(path: Path) -> bool:
    """A bare repository, or the top of a working tree (its `.git` a directory or a file)."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def forge_kind(name: str | None, remote: Remote, environ: Mapping[str, str]) -> ForgeKind:
    """The kind `--forge` names, else the one the remote's host (or the CI) says."""
    from promoter import ci, forges

    if name:
        return forges.kind(name)
    return forges.infer(
        remote.host, servers=ci.server_hosts(environ), running=ci.read_system(environ)
    )


def find_credentials(
    kind: ForgeKind, remote: Remote, environ: Mapping[str, str], api_url: str | None
) -> Credentials | None:
    """The run's one credential, as the forge kind looks it up (`PROMOTER_TOKEN`, else a
    GitHub App's installation token, else the token the forge's CI jobs usually carry).
    None for a local remote."""
    if remote.origin is None:
        return None
    return kind.credentials(remote.url, environ, api_url)


_Key = tuple[str, "str | None", "str | None", bool, "str | None", int]


def _key(repo: Reference) -> _Key:
    """What opening reads of a reference (its environment by identity: the one mapping a
    command reads once and hands on)."""
    return (repo.url, repo.forge, repo.api_url, repo.no_clone, repo.base, id(repo.environ))


class _Pending:
    """A store being opened by `begin`'s thread: its result or its error, once done.
    (Not `concurrent.futures`: importing it would delay the thread it is for.)"""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.opened: Opened | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        """`discard` gave up waiting: the thread closes the store when it is done."""

    def result(self, timeout: float | None = None) -> Opened:
        if not self.done.wait(timeout):
            raise TimeoutError("still opening")
        if self.error is not None:
            raise self.error
        assert self.opened is not None
        return self.opened


_LOCK = threading.Lock()
_BEGUN: dict[_Key, _Pending] = {}


def begin(repo: Reference, *, push: bool = False) -> None:
    """Start opening `repo`'s store in a thread; `take` with an equal reference gets it.
    `push`: the run may push, so the push's advertisement is asked ahead too."""
    pending = _Pending()
    with _LOCK:
        if _key(repo) in _BEGUN:
            return
        _BEGUN[_key(repo)] = pending

    def run() -> None:
        try:
            pending.opened = open_store(repo, push=push)
        except BaseException as exc:  # handed to `take`, raised there
            pending.error = exc
        with _LOCK:
            pending.done.set()
            abandoned = pending.abandoned
        if abandoned and pending.opened is not None:
            pending.opened.close()

    threading.Thread(target=run, name="promoter-open", daemon=True).start()


def take(repo: Reference) -> Opened:
    """The store begun for `repo` (its error raised here), else one opened now."""
    with _LOCK:
        pending = _BEGUN.pop(_key(repo), None)
    if pending is None:
        return open_store(repo)
    return pending.result()


DISCARD_WAIT = 10.0
"""Seconds a run's end waits for a store it began and never used, to close it; one still
opening after that is closed by its own thread when it is done."""


def discard() -> None:
    """Close what was begun and never taken (a run that stopped before it opened the
    repository: an input error, a guard's skip)."""
    with _LOCK:
        pending = list(_BEGUN.values())
        _BEGUN.clear()
    for one in pending:
        one.done.wait(DISCARD_WAIT)
        with _LOCK:
            if not one.done.is_set():
                one.abandoned = True
                continue
        if one.opened is not None:
            one.opened.close()
