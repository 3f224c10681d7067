"""The fake GitHub's front: setup, fault injection, and what a test observes (the call log).

`FakeGitHub` serves REST v3 (github.com's layout or GHES' `/api/v3`), the auto-merge and
draft GraphQL mutations, and git smart-HTTP on one loopback port (`handler.py`), over bare
repositories under `root` whose state and rules live in `hub.py`. Faults are queued here and
taken by the request flow (`api.py`) or, for dropped connections, by the handler.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from ..githttp import GitHttpServer, make_bare_repo
from ..server import LoopbackServer, serve
from . import openapi
from .api import Api
from .checks import CONCLUSIONS, RUN_STATUSES, STATUS_STATES
from .handler import GitBackend, RequestHandler
from .hub import Hub
from .rest import DOCS, JSON, Call, error_body, phrase
from .state import Protection, PullState, RepoState, now_iso

_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0001."
)
_RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: JSON
    headers: dict[str, str]
    times: int
    replay: bool = False  # race: perform the request once silently, then answer it normally


class FakeGitHub:
    """GitHub for PyGithub and git on 127.0.0.1:<free port>, backed by bare repos under `root`.

    A context manager with a bounded lifetime. `token` is accepted as `Authorization: token`
    or `Bearer` on the API and as Basic (any user) or Bearer on git. `app_token=True` makes it
    behave like an installation token: commits made through the API are verified and
    `GET /user` is forbidden, as for a GitHub App.

    With `app_id` and `app_public_key_pem` the fake is also a GitHub App installed (as
    `installation_id`) on every repository: App JWTs (RS256, checked with the public key) are
    accepted on `GET /repos/{o}/{r}/installation` and `POST /app/installations/{id}/
    access_tokens` only, and the tokens minted there (`minted_tokens`, valid for
    `token_lifetime` seconds) work like `token` with `app_token=True` on REST and git.
    """

    def __init__(
        self,
        root: Path,
        *,
        token: str = "ghs_fake_token",
        layout: str = "github.com",
        app_token: bool = False,
        validate: bool = True,
        lifetime: float = 600.0,
        login: str | None = None,
        app_id: int | None = None,
        app_public_key_pem: bytes | None = None,
        installation_id: int = 4242,
    ) -> None:
        if layout not in ("github.com", "ghes"):
            raise ValueError(f"layout must be 'github.com' or 'ghes', not {layout!r}")
        if (app_id is None) != (app_public_key_pem is None):
            raise ValueError("give both app_id and app_public_key_pem, or neither")
        self.app_id = app_id
        self.installation_id = installation_id
        self._app_key: Any = None
        if app_public_key_pem is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            self._app_key = load_pem_public_key(app_public_key_pem)
        self.minted_tokens: list[str] = []
        self.token_lifetime = 3600.0  # seconds; PyGithub refreshes below 20 s left
        self._token_expiry: dict[str, float] = {}
        self.root = Path(root).resolve()
        self.token = token
        self.layout = layout
        self.app_token = app_token
        self.validate = validate
        self.lifetime = lifetime
        as_app = app_token or app_id is not None
        self.login = login or ("promoter-bot[bot]" if as_app else "promoter-bot")
        self.hub = Hub(self.login)
        self.pulls: dict[tuple[str, str], list[PullState]] = self.hub.pulls
        self.calls: list[Call] = []
        self.validation_errors: list[str] = []
        self.schema_gaps: list[str] = []
        self.url = ""
        self.api_url = ""
        self.revoked = False
        self._faults: list[_Fault] = []
        self._hangups: list[tuple[str, re.Pattern[str], float]] = []
        self._log_lock = threading.Lock()
        self._checks_made = 0
        self._stack = ExitStack()
        self._server: LoopbackServer | None = None
        self._git: GitHttpServer | None = None
        self._api = Api(self)
        if validate:
            openapi.spec()  # build before the first request, not inside a timed client call

    def __repr__(self) -> str:  # the token stays out of reprs and assertion messages
        return f"FakeGitHub(root={self.root!s}, api_url={self.api_url!r})"

    def __enter__(self) -> FakeGitHub:
        self.root.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            # GitHttpServer runs `git http-backend`; its own listener is unused, the fake's
            # handler hands it the git requests that reach this server.
            self._git = stack.enter_context(GitBackend(self, lifetime=self.lifetime))
            handler = partial(RequestHandler, git=self._git, fake=self)
            self._server = stack.enter_context(serve(handler, lifetime=self.lifetime))
            self.url = self._server.url
            self.api_url = self.url if self.layout == "github.com" else f"{self.url}/api/v3"
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    # -- setup ---------------------------------------------------------------------------------

    def create_repo(
        self,
        owner: str,
        name: str,
        files: dict[str, bytes],
        *,
        branch: str = "main",
        allow_auto_merge: bool = True,
        collaborators: Iterable[str] | None = None,
    ) -> Path:
        """Create the bare repo `root/owner/name.git` with one commit of `files` on `branch`.

        `allow_auto_merge` defaults to True (GitHub's default is off) so auto-merge tests need
        no setup; `collaborators=None` lets anyone be asked to review or be assigned.
        """
        bare = make_bare_repo(self.root / owner, f"{name}.git", files, branch=branch)
        with self.hub.lock:
            self.hub.add_repo(
                owner,
                name,
                bare,
                branch=branch,
                allow_auto_merge=allow_auto_merge,
                collaborators=collaborators,
            )
        return bare

    def git_url(self, owner: str, name: str) -> str:
        return f"{self.url}/{owner}/{name}.git"

    def set_branch_protection(
        self,
        owner: str,
        repo: str,
        branch: str,
        *,
        required_signatures: bool,
        required_status_checks: Sequence[str] = (),
    ) -> None:
        """Protect `branch`: no force-push or deletion; optionally signed commits only (pushes
        of commits GitHub did not sign are refused) and required checks (PRs are `blocked`,
        REST merges answer 405, auto-merge can be enabled)."""
        with self.hub.lock:
            state = self._repo(owner, repo)
            state.protections[branch] = Protection(
                required_signatures, tuple(required_status_checks)
            )
            state.write_protection()

    def set_status(
        self, owner: str, repo: str, sha: str, context: str, state: str, description: str = ""
    ) -> None:
        """A commit status on `sha` (GitHub keeps every one; the newest of a context counts):
        `state` is `pending`, `success`, `failure` or `error`."""
        assert state in STATUS_STATES, state
        with self.hub.lock:
            state_ = self._repo(owner, repo)
            found = state_.statuses.setdefault(sha, [])
            self._checks_made += 1
            found.append({
                "id": self._checks_made, "sha": sha, "context": context, "state": state,
                "description": description or None, "created_at": now_iso(),
            })  # fmt: skip

    def set_check_run(
        self,
        owner: str,
        repo: str,
        sha: str,
        name: str,
        status: str,
        conclusion: str | None = None,
    ) -> None:
        """A check run `name` on `sha` (a new run: the latest of a name is what `filter=
        latest` lists): `status` queued/in_progress/completed, `conclusion` when completed."""
        assert status in RUN_STATUSES, status
        assert (conclusion in CONCLUSIONS) if status == "completed" else conclusion is None
        with self.hub.lock:
            state_ = self._repo(owner, repo)
            self._checks_made += 1
            state_.check_runs.setdefault(sha, []).append({
                "id": self._checks_made, "sha": sha, "name": name, "status": status,
                "conclusion": conclusion, "created_at": now_iso(),
            })  # fmt: skip

    def merge(self, owner: str, repo: str, number: int) -> None:
        """Merge PR `number` for real, as auto-merge would once checks pass (method: the
        auto-merge one, else `merge`); raises `ApiError` when it cannot merge."""
        with self.hub.lock:
            state = self._repo(owner, repo)
            pull = next(p for p in state.pulls if p.number == number)
            method = str((pull.auto_merge or {}).get("merge_method", "merge"))
            self.hub.merge_pull(
                state,
                pull,
                method=method,
                sha=None,
                title=None,
                message=None,
                enforce_checks=False,
            )

    def _minted_token_valid(self, secret: str) -> bool:
        with self._log_lock:
            expiry = self._token_expiry.get(secret)
        return expiry is not None and time.time() < expiry

    def _mint_token(self) -> tuple[str, float]:
        alphabet = string.ascii_letters + string.digits
        token = "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))
        expiry = time.time() + self.token_lifetime
        with self._log_lock:
            self.minted_tokens.append(token)
            self._token_expiry[token] = expiry
        return token, expiry

    def _repo(self, owner: str, name: str) -> RepoState:
        state = self.hub.repo(owner, name)
        if state is None:
            raise KeyError(f"no repository {owner}/{name}; call create_repo first")
        return state

    # -- faults --------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests of `method` ("*": any) whose raw path matches
        `path_regex` (`re.search`) with `status`; the body defaults to GitHub's error shape."""
        if body is None:
            body = error_body(status, phrase(status), DOCS)
        with self._log_lock:
            self._faults.append(
                _Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    body,
                    dict(headers or {}),
                    times,
                )
            )

    def drop_next(
        self,
        method: str = "*",
        path_regex: str = "",
        *,
        stall: float = 0.0,
        times: int = 1,
    ) -> None:
        """Hang up on the next `times` matching REST requests without an answer, after
        `stall` seconds (at most 5): a dropped connection, or with a stall longer than the
        client's timeout, a timeout."""
        with self._log_lock:
            for _ in range(times):
                self._hangups.append((method.upper(), re.compile(path_regex), min(stall, 5.0)))

    def _take_hangup(self, method: str, path: str) -> float | None:
        with self._log_lock:
            for hangup in self._hangups:
                if hangup[0] in ("*", method) and hangup[1].search(path):
                    self._hangups.remove(hangup)
                    return hangup[2]
        return None

    def fail_502(self, method: str = "*", path_regex: str = "", *, times: int = 1) -> None:
        """502 with GitHub's JSON body (PyGithub retries 5xx only when retry is enabled)."""
        self.fail_next(method, path_regex, 502, body={"message": "Server Error"}, times=times)

    def secondary_rate_limit(
        self,
        method: str = "*",
        path_regex: str = "",
        *,
        retry_after: int | None = 1,
        status: int = 403,
        times: int = 1,
    ) -> None:
        """GitHub's secondary rate limit (403, or 429), with `retry-after` unless None."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        body = error_body(status, _SECONDARY, f"{_RATE_LIMIT_DOCS}#about-secondary-rate-limits")
        self.fail_next(method, path_regex, status, body=body, headers=headers, times=times)

    def primary_rate_limit(
        self,
        method: str = "*",
        path_regex: str = "",
        *,
        reset_in: int = 1,
        times: int = 1,
    ) -> None:
        """Primary limit: 403 "API rate limit exceeded…" with `x-ratelimit-remaining: 0`."""
        headers = {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
        }
        body = error_body(403, "API rate limit exceeded for user ID 1.", _RATE_LIMIT_DOCS)
        self.fail_next(method, path_regex, 403, body=body, headers=headers, times=times)

    def bad_credentials(self, revoked: bool = True) -> None:
        """From now on every request (REST, GraphQL, git) gets 401, as with a revoked token."""
        self.revoked = revoked

    def race_create_pull(self, owner: str, repo: str) -> None:
        """The next `POST /repos/owner/repo/pulls` is performed twice: the first (silent) one
        creates the PR, the client sees the second one's 422 "A pull request already exists"."""
        pattern = re.compile(rf"/repos/{re.escape(owner)}/{re.escape(repo)}/pulls$")
        with self._log_lock:
            self._faults.append(_Fault("POST", pattern, 0, None, {}, 1, replay=True))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._log_lock:
            for fault in self._faults:
                if fault.method in ("*", method) and fault.pattern.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- observation ---------------------------------------------------------------------------

    def count(
        self,
        method: str | None = None,
        path_contains: str = "",
        *,
        path_regex: str | None = None,
    ) -> int:
        """Calls of `method` (None: any) whose raw path contains `path_contains` and, when
        given, matches `path_regex` (`re.search`). Note that `"/pulls"` is also contained in
        `.../pulls/1/requested_reviewers`: use `path_regex=r"/pulls$"` for PR creations."""
        pattern = re.compile(path_regex) if path_regex is not None else None
        with self._log_lock:
            return sum(
                1
                for c in self.calls
                if (method is None or c.method == method.upper())
                and path_contains in c.path
                and (pattern is None or pattern.search(c.path))
            )

    @property
    def write_calls(self) -> int:
        with self._log_lock:
            return sum(1 for c in self.calls if c.method != "GET")

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the server threads (a fake bug; tests expect none)."""
        found: list[BaseException] = []
        for server in (self._server, self._git):
            if server is not None:
                found += server.errors
        return found

    @property
    def git_requests(self) -> list[Any]:
        """git smart-HTTP exchanges (`githttp.Request`), kept apart from `calls`."""
        return self._git.requests if self._git is not None else []

    def _record(self, call: Call) -> None:
        with self._log_lock:
            self.calls.append(call)
