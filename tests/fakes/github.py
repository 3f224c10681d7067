"""A fake GitHub on 127.0.0.1: REST v3, the auto-merge GraphQL mutations and git smart-HTTP.

It owns the HTTP side of the fake: layouts (github.com, GHES `/api/v3`), routing on the raw path,
token checks, GitHub's JSON shapes, pagination, rate-limit headers, fault injection, the call
log and openapi-core validation against `shared/forge-api/github-openapi-subset.yaml`.
The repositories, pull requests and GitHub's rules live in `github_state` (real bare git
repositories); git clients talk to the same server through `git http-backend` (`githttp`).
promoter must not import this; tests and e2e scenarios drive it with real PyGithub.

Validation is skipped for the endpoints the subset lacks (GitHub's documents for them were
followed instead): `GET /user`, `GET`/`POST .../issues/{n}/comments`, `GET .../issues/{n}/labels`,
`DELETE .../issues/{n}/labels/{name}`, `GET .../git/blobs/{sha}` and `GET .../branches/{branch}`
with its `protection` and `protection/required_signatures`. Failures the forge-api README
documents as schema gaps (a `null` commit author/committer, a `null` label description in a
simple pull request, a `null` issue `state_reason`) go to `schema_gaps`, everything else to
`validation_errors`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import secrets
import string
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache, partial
from http import HTTPStatus
from pathlib import Path
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .githttp import (
    GitHttpServer,
    _GitHandler,
    _parse_authorization,
    _Response,
    make_bare_repo,
)
from .github_state import (
    ZERO_SHA,
    ApiError,
    CommitInfo,
    FileChange,
    Hub,
    Person,
    Protection,
    PullState,
    RepoState,
    TreeEdit,
    TreeEntry,
    is_sha,
    now_iso,
)
from .server import LoopbackServer, serve

__all__ = ["Call", "FakeGitHub", "PullState"]

_SHARED = Path(__file__).resolve().parents[3] / "shared"
if not _SHARED.is_dir():
    _SHARED = Path(os.environ.get("PROMOTER_SHARED", "/work/shared"))
SPEC_PATH = _SHARED / "forge-api" / "github-openapi-subset.yaml"

_GIT_PATH = re.compile(r"^/[^/]+/[^/]+\.git(?:/|$)")
_MULTI_SEGMENT = ("ref", "path", "basehead", "commit_sha", "tree_sha")
_DOCS = "https://docs.github.com/rest"
_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0001."
)
_RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
# App JWT refusals (401), GitHub's texts as observed (github.md §7; not in the OpenAPI spec).
_JWT_UNDECODABLE = "A JSON web token could not be decoded"
_JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time "
    "at which the assertion expires"
)
_JWT_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
_JWT_IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)
_APP_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "metadata": "read",
}
_VALIDATION_LOCK = threading.Lock()
JSON = Any  # a decoded JSON value


@cache
def _openapi() -> Any:
    """The subset as an openapi-core object: ~1 s to build, so once per process."""
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(SPEC_PATH))


@dataclass(frozen=True, slots=True)
class Call:
    """One REST/GraphQL exchange as the fake saw it (`path` is the raw path as sent)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    request_json: JSON
    response_json: JSON


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: JSON
    headers: dict[str, str]
    times: int
    replay: bool = False  # race: perform the request once silently, then answer it normally


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str  # relative to the API root, still percent-encoded
    query: dict[str, str]
    body: JSON
    as_app: bool = False  # authenticated with an installation token (app_token or minted)


@dataclass
class _Answer:
    status: int
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["_Api", _Request, dict[str, str]], _Answer]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    docs: str
    validate: bool = True
    jwt: bool = False  # GitHub App endpoint: needs `Authorization: Bearer <App JWT>`


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
        self._stack = ExitStack()
        self._server: LoopbackServer | None = None
        self._git: GitHttpServer | None = None
        self._api = _Api(self)
        if validate:
            _openapi()  # build before the first request, not inside a timed client call

    def __repr__(self) -> str:  # the token stays out of reprs and assertion messages
        return f"FakeGitHub(root={self.root!s}, api_url={self.api_url!r})"

    def __enter__(self) -> FakeGitHub:
        self.root.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            # GitHttpServer runs `git http-backend`; its own listener is unused, the fake's
            # handler hands it the git requests that reach this server.
            self._git = stack.enter_context(_GitBackend(self, lifetime=self.lifetime))
            handler = partial(_Handler, git=self._git, fake=self)
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

    def merge(self, owner: str, repo: str, number: int) -> None:
        """Merge PR `number` for real, as auto-merge would once checks pass (method: the
        auto-merge one, else `merge`); raises `ApiError` when it cannot merge."""
        with self.hub.lock:
            state = self._repo(owner, repo)
            pull = next(p for p in state.pulls if p.number == number)
            method = str((pull.auto_merge or {}).get("merge_method", "merge"))
            self.hub.merge_pull(
                state, pull, method=method, sha=None, title=None, message=None, enforce_checks=False
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
            body = _error_body(status, _phrase(status), _DOCS)
        with self._log_lock:
            self._faults.append(
                _Fault(
                    method.upper(), re.compile(path_regex), status, body, dict(headers or {}), times
                )
            )

    def drop_next(
        self, method: str = "*", path_regex: str = "", *, stall: float = 0.0, times: int = 1
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
        body = _error_body(status, _SECONDARY, f"{_RATE_LIMIT_DOCS}#about-secondary-rate-limits")
        self.fail_next(method, path_regex, status, body=body, headers=headers, times=times)

    def primary_rate_limit(
        self, method: str = "*", path_regex: str = "", *, reset_in: int = 1, times: int = 1
    ) -> None:
        """Primary limit: 403 "API rate limit exceeded…" with `x-ratelimit-remaining: 0`."""
        headers = {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
        }
        body = _error_body(403, "API rate limit exceeded for user ID 1.", _RATE_LIMIT_DOCS)
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
        self, method: str | None = None, path_contains: str = "", *, path_regex: str | None = None
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

    def _note_validation(self, kind: str, label: str, error: Exception, status: int) -> None:
        """File each schema error under `schema_gaps` (documented gaps) or `validation_errors`.

        A 404 the operation does not list is a gap too: GitHub answers 404 on every path of
        an unknown (or hidden private) repository, its description lists 404 for only some.
        """
        details = _schema_errors(error)
        if not details:
            unlisted_404 = status == 404 and type(error).__name__ == "ResponseNotFound"
            details = [(f"{type(error).__name__}: {error}"[:500], unlisted_404)]
        with self._log_lock:
            for text, is_gap in details:
                (self.schema_gaps if is_gap else self.validation_errors).append(
                    f"{label}: {kind}: {text}"
                )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _error_body(status: int, message: str, docs: str) -> dict[str, str]:
    return {"message": message, "documentation_url": docs, "status": str(status)}


def _schema_errors(error: Exception) -> list[tuple[str, bool]]:
    """(description, is a documented schema gap) for each jsonschema error inside `error`."""
    found: list[tuple[str, bool]] = []
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for leaf in getattr(current, "schema_errors", None) or ():
            where = "/".join(str(p) for p in leaf.absolute_path)
            gap = _is_gap(list(leaf.absolute_path), leaf.instance, leaf.validator, leaf.message)
            found.append((f"{where}: {leaf.message}", gap))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return found


def _is_gap(path: list[Any], instance: object, validator: object, message: str) -> bool:
    """The forge-api README's known schema gaps (GitHub sends these nulls, the schema says no),
    plus two found here: openapi-core applies the `type` discriminator of `GET contents`'
    oneOf to a directory listing (an array) and rejects every listing; and the 422 of
    `POST git/blobs` is oneOf two error schemas that both accept any error body."""
    ambiguous = isinstance(instance, list) or "is valid under each of" in message
    if validator == "oneOf" and not path and ambiguous:
        return True
    if instance is not None or not path:
        return False
    last = path[-1]
    if last in ("author", "committer") and (len(path) < 2 or path[-2] != "commit"):
        return True
    if last == "description" and "labels" in path:
        return True
    return str(last) == "state_reason"


class _GitBackend(GitHttpServer):
    """`git http-backend` that also takes the installation tokens the fake's App minted."""

    def __init__(self, fake: FakeGitHub, *, lifetime: float) -> None:
        super().__init__(fake.root, token=fake.token, lifetime=lifetime)
        self._fake = fake

    def authenticate(self, header: str | None) -> tuple[bool, str | None]:
        ok, user = super().authenticate(header)
        if ok:
            return ok, user
        user, secret = _parse_authorization(header)
        if secret is not None and self._fake._minted_token_valid(secret.decode("utf-8", "replace")):
            return True, user or "git"
        return False, None


class _Handler(_GitHandler):
    """One connection: git smart-HTTP paths go to `git http-backend`, the rest is the API."""

    server_version = "GitHub.com"

    def __init__(
        self,
        request: socket,
        client_address: tuple[str, int],
        server: LoopbackServer,
        *,
        git: GitHttpServer,
        fake: FakeGitHub,
    ) -> None:
        self.fake = fake
        super().__init__(request, client_address, server, git=git)

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in two writes, and with delayed ACKs every
        keep-alive exchange would otherwise stall ~40 ms."""
        super().setup()
        self.connection.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if _GIT_PATH.match(url.path):
            if self.fake.revoked:
                self._read_rest_body()
                challenge = [("WWW-Authenticate", 'Basic realm="GitHub"')]
                denied = _Response(401, "Unauthorized", challenge, b"")
                self._finish(unquote(url.path), url.query, denied, 0, auth_ok=False)
            else:
                self._exchange()
            return
        raw_body = self._read_rest_body()
        stall = self.fake._take_hangup(self.command, url.path)
        if stall is not None:
            time.sleep(stall)
            self.close_connection = True  # no status line: the client sees the line drop
            return
        self._serve_api(url.path, url.query, raw_body)

    def _read_rest_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve_api(self, raw_path: str, raw_query: str, raw_body: bytes) -> None:
        fake = self.fake
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        method = self.command
        body: JSON = None
        answer: _Answer | None = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                answer = _Answer(400, _error_body(400, "Problems parsing JSON", _DOCS))
        validation_path: str | None = None
        try:
            if answer is None:
                answer, validation_path = fake._api.serve(
                    method, raw_path, query, body, self.headers.get("Authorization")
                )
        except Exception as error:  # a fake bug: answer 500 and let the test see it
            self.server.errors.append(error)  # type: ignore[attr-defined]
            answer = _Answer(500, {"message": "Server Error"})
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = fake._api.common_headers(raw_path, answer)
        # Record and validate before answering: once the client has its response, the test
        # may read `calls` and `validation_errors`.
        fake._record(Call(method, raw_path, query, answer.status, body, answer.body))
        if fake.validate and validation_path is not None:
            self._validate(validation_path, query, raw_body, payload, answer, headers)
        self.send_response(answer.status, _phrase(answer.status))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _validate(
        self,
        path: str,
        query: dict[str, str],
        raw_body: bytes,
        payload: bytes,
        answer: _Answer,
        headers: dict[str, str],
    ) -> None:
        """openapi-core on both directions; errors are collected, never raised in this thread."""
        from openapi_core.testing import MockRequest, MockResponse

        label = f"{self.command} {path} -> {answer.status}"
        request = MockRequest(
            self.fake.url,
            self.command.lower(),
            path,
            args=query,
            headers=dict(self.headers.items()),
            data=raw_body or None,
            content_type=self.headers.get("Content-Type", "application/json"),
        )
        response = MockResponse(
            payload,
            status_code=answer.status,
            headers=headers,
            content_type="application/json",
        )
        spec = _openapi()
        with _VALIDATION_LOCK:
            for kind in ("request", "response"):
                try:
                    if kind == "request":
                        spec.validate_request(request)
                    else:
                        spec.validate_response(request, response)
                except Exception as error:
                    self.fake._note_validation(kind, label, error, answer.status)


class _Api:
    """Routes one API request and renders the state as GitHub's JSON (base URLs: the fake's)."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.hub = fake.hub
        self._request_ids = 0
        self._used = 0
        self._reset = int(time.time()) + 3600

    @property
    def api(self) -> str:
        return self.fake.api_url

    @property
    def web(self) -> str:
        return self.fake.url

    # -- request flow --------------------------------------------------------------------------

    def serve(
        self, method: str, raw_path: str, query: dict[str, str], body: JSON, auth: str | None
    ) -> tuple[_Answer, str | None]:
        """(answer, path to validate or None) for one request; faults and auth come first."""
        graphql = "/graphql" if self.fake.layout == "github.com" else "/api/graphql"
        prefix = "" if self.fake.layout == "github.com" else "/api/v3"
        app_route = raw_path.startswith(prefix + "/") and self._is_jwt_route(
            method, raw_path[len(prefix) :]
        )
        as_app = False
        if self.fake.revoked:
            refusal: str | None = "Bad credentials"
        elif app_route:
            refusal = self._jwt_refusal(auth)
        else:
            authorized, as_app = self._credentials(auth)
            refusal = None if authorized else "Bad credentials"
        if refusal is not None:
            docs = "https://docs.github.com/graphql" if raw_path == graphql else _DOCS
            answer = _Answer(401, _error_body(401, refusal, docs))
            return answer, self._validation_path(method, raw_path, prefix, graphql)
        fault = self.fake._take_fault(method, raw_path)
        if fault is not None and not fault.replay:
            answer = _Answer(fault.status, fault.body, dict(fault.headers))
            return answer, self._validation_path(method, raw_path, prefix, graphql)
        if raw_path == graphql and method == "POST":
            with self.hub.lock:
                return self._graphql(body), raw_path
        if not raw_path.startswith(prefix + "/"):
            return _Answer(404, _error_body(404, "Not Found", _DOCS)), None
        path = raw_path[len(prefix) :]
        route, params = self._match(method, path)
        if route is None:
            return _Answer(404, _error_body(404, "Not Found", _DOCS)), None
        request = _Request(method, path, query, body, as_app)
        with self.hub.lock:
            if fault is not None:  # race_create_pull: someone else's identical request wins
                self._call(route, request, params)
            answer = self._call(route, request, params)
        return answer, (self._rewrite(prefix, path, route) if route.validate else None)

    def _call(self, route: _Route, request: _Request, params: dict[str, str]) -> _Answer:
        try:
            return route.handler(self, request, params)
        except ApiError as error:
            body: dict[str, JSON] = {"message": error.message}
            if error.errors is not None:
                body["errors"] = error.errors
            body.update(documentation_url=route.docs, status=str(error.status))
            return _Answer(error.status, body)

    def _credentials(self, header: str | None) -> tuple[bool, bool]:
        """(authorized, as an installation) for a REST/GraphQL request; App JWTs are refused
        here (401), as GitHub refuses them outside the App endpoints."""
        if self.fake.revoked or not header:
            return False, False
        scheme, _, secret = header.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() not in ("token", "bearer"):
            return False, False
        if secret == self.fake.token:
            return True, self.fake.app_token
        return (True, True) if self.fake._minted_token_valid(secret) else (False, False)

    def _is_jwt_route(self, method: str, path: str) -> bool:
        route, _ = self._match(method, path)
        return route is not None and route.jwt

    def _jwt_refusal(self, header: str | None) -> str | None:
        """None when `header` carries a valid App JWT, else GitHub's 401 message."""
        import jwt

        fake = self.fake
        scheme, _, token = (header or "").strip().partition(" ")
        if fake._app_key is None or scheme.lower() != "bearer":
            return _JWT_UNDECODABLE
        try:
            claims = jwt.decode(
                token.strip(),
                fake._app_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_iss": False},
            )
        except jwt.PyJWTError:
            return _JWT_UNDECODABLE
        if str(claims.get("iss")) != str(fake.app_id):
            return _JWT_UNDECODABLE  # another app's key: the signature cannot verify
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + 1:
            return _JWT_IAT
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
            return _JWT_EXPIRED
        if exp - iat > 600 or exp > now + 600:
            return _JWT_TOO_FAR
        return None

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in _ROUTES:
            if route.method == method and (m := route.pattern.fullmatch(path)):
                return route, {k: v for k, v in m.groupdict().items() if v is not None}
        return None, {}

    def _validation_path(self, method: str, raw_path: str, prefix: str, graphql: str) -> str | None:
        if raw_path == graphql:
            return raw_path
        route, _ = self._match(method, raw_path[len(prefix) :])
        if route is None or not route.validate:
            return None
        return self._rewrite(prefix, raw_path[len(prefix) :], route)

    @staticmethod
    def _rewrite(prefix: str, path: str, route: _Route) -> str:
        """openapi-core matches one segment per `{param}`: encode `/` in multi-segment ones."""
        match = route.pattern.fullmatch(path)
        if match is None:
            return prefix + path
        for name in _MULTI_SEGMENT:
            if name in match.groupdict() and match.group(name) is not None:
                start, end = match.span(name)
                return prefix + path[:start] + path[start:end].replace("/", "%2F") + path[end:]
        return prefix + path

    def common_headers(self, raw_path: str, answer: _Answer) -> dict[str, str]:
        """What every GitHub API response carries: JSON type, rate limit, version, request id."""
        with self.fake._log_lock:
            self._used += 1
            self._request_ids += 1
            used, request_id = self._used, self._request_ids
        graphql = raw_path.endswith("/graphql")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-reset": str(self._reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "graphql" if graphql else "core",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"FAKE:{request_id:06d}",
        }
        if answer.status == 403 and answer.body and "integration" in str(answer.body):
            headers["X-Accepted-GitHub-Permissions"] = "metadata=read"
        headers.update(answer.headers)
        return headers

    # -- helpers ---------------------------------------------------------------------------------

    def repo(self, params: dict[str, str]) -> RepoState:
        repo = self.hub.repo(unquote(params["owner"]), unquote(params["repo"]))
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def pull(self, repo: RepoState, params: dict[str, str]) -> PullState:
        number = int(params["number"])
        for pull in repo.pulls:
            if pull.number == number:
                self.hub.sync(repo, pull)
                return pull
        raise ApiError(404, "Not Found")

    def page(self, request: _Request, items: list[JSON]) -> _Answer:
        """One page of a list with GitHub's `Link` header (exact `", "`/`"; "` formatting)."""
        try:
            per_page = min(100, max(1, int(request.query.get("per_page", "30"))))
            number = max(1, int(request.query.get("page", "1")))
        except ValueError:
            per_page, number = 30, 1
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(number - 1) * per_page : number * per_page]
        links = []
        prefix = "" if self.fake.layout == "github.com" else "/api/v3"

        def link(page_number: int, rel: str) -> str:
            query = {k: v for k, v in request.query.items() if k != "page"}
            query["page"] = str(page_number)
            return f'<{self.web}{prefix}{request.path}?{urlencode(query)}>; rel="{rel}"'

        if number > 1:
            links.append(link(number - 1, "prev"))
        if number < last:
            links += [link(number + 1, "next"), link(last, "last")]
        if number > 1:
            links.append(link(1, "first"))
        return _Answer(200, chunk, {"Link": ", ".join(links)} if links else {})

    def resolve(self, repo: RepoState, rev: str) -> str | None:
        return repo.store.resolve(unquote(rev))

    # -- rendering ---------------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, JSON]:
        uid = zlib.crc32(login.encode()) % 90_000_000 + 1000
        kind = "Bot" if login.endswith("[bot]") else "User"
        if login != self.fake.login and any(r.owner == login for r in self.hub.repos.values()):
            kind = "Organization"
        base, html = f"{self.api}/users/{quote(login)}", f"{self.web}/{quote(login)}"
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_kgDOFake{uid}",
            "avatar_url": f"{self.web}/avatars/u/{uid}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": html,
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": kind,
            "site_admin": False,
            "user_view_type": "public",
        }

    def user_for_email(self, email: str) -> dict[str, JSON] | None:
        """GitHub links a commit to an account by email; unknown emails give `null`."""
        if email == "noreply@github.com":
            return self.user("web-flow")
        match = re.fullmatch(r"(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com", email)
        return self.user(match["login"]) if match else None

    def repository(self, repo: RepoState, *, full: bool = True) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.owner}/{repo.name}"
        html = f"{self.web}/{repo.owner}/{repo.name}"
        templated = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        open_count = sum(1 for p in repo.pulls if p.state == "open")
        body: dict[str, JSON] = {
            "id": repo.id,
            "node_id": f"R_kgDOFake{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner),
            "private": True,
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            **{key: api + suffix for key, suffix in templated.items()},
            "git_url": f"git://127.0.0.1/{repo.full_name}.git",
            "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": self.fake.git_url(repo.owner, repo.name),
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 1,
            "default_branch": repo.default_branch,
            "open_issues_count": open_count,
            "open_issues": open_count,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "archived": False,
            "disabled": False,
            "visibility": "private",
            "pushed_at": repo.created_at,
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "allow_rebase_merge": True,
            "allow_squash_merge": True,
            "allow_merge_commit": True,
            "allow_auto_merge": repo.allow_auto_merge,
            "delete_branch_on_merge": False,
            "allow_update_branch": False,
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "license": None,
        }
        if full:
            body.update({"has_discussions": False, "network_count": 0, "subscribers_count": 0})
        return body

    def label(self, repo: RepoState, name: str) -> dict[str, JSON]:
        label = repo.label(name, self.hub.next_id())
        return {
            "id": label.id,
            "node_id": f"LA_kwDOFake{label.id}",
            "url": f"{self.api}/repos/{repo.full_name}/labels/{quote(label.name)}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def team(self, repo: RepoState, slug: str) -> dict[str, JSON]:
        tid = zlib.crc32(f"{repo.owner}/{slug}".encode()) % 9_000_000 + 1
        base = f"{self.api}/organizations/{self.user(repo.owner)['id']}/team/{tid}"
        return {
            "id": tid,
            "node_id": f"T_kwDOFake{tid}",
            "url": base,
            "members_url": f"{base}/members{{/member}}",
            "name": slug,
            "description": None,
            "permission": "pull",
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "html_url": f"{self.web}/orgs/{repo.owner}/teams/{slug}",
            "repositories_url": f"{base}/repos",
            "slug": slug,
            "type": "organization",
            "parent": None,
        }

    def pull_json(
        self, repo: RepoState, pull: PullState, *, simple: bool = False, computed: bool = True
    ) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}"
        url = f"{api}/pulls/{pull.number}"
        issue = f"{api}/issues/{pull.number}"
        owner = self.user(repo.owner)
        repository = self.repository(repo, full=False)

        def side(branch: str, sha: str) -> dict[str, JSON]:
            return {
                "label": f"{repo.owner}:{branch}",
                "ref": branch,
                "sha": sha,
                "user": owner,
                "repo": repository,
            }

        assignees = [self.user(a) for a in pull.assignees]
        body: dict[str, JSON] = {
            "url": url,
            "id": pull.id,
            "node_id": pull.node_id,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{api}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.user(pull.user),
            "body": pull.body,
            "labels": [self.label(repo, name) for name in pull.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [self.user(r) for r in pull.requested_reviewers],
            "requested_teams": [self.team(repo, t) for t in pull.requested_teams],
            "head": side(pull.head, pull.head_sha),
            "base": side(pull.base, pull.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{pull.head_sha}"},
            },
            "author_association": "NONE",
            "auto_merge": self.auto_merge(pull),
            "draft": pull.draft,
        }
        if simple:
            return body
        mergeable, mergeable_state = (
            self.hub.mergeable(repo, pull) if computed else (None, "unknown")
        )
        stats = repo.store.stats(pull.base_sha, pull.head_sha)
        body.update(
            {
                "merged": pull.merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": mergeable_state,
                "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
                "comments": len(pull.comments),
                "review_comments": 0,
                "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": stats.commits,
                "additions": stats.additions,
                "deletions": stats.deletions,
                "changed_files": stats.changed_files,
            }
        )
        return body

    def auto_merge(self, pull: PullState) -> dict[str, JSON] | None:
        if pull.auto_merge is None:
            return None
        return {**pull.auto_merge, "enabled_by": self.user(str(pull.auto_merge["enabled_by"]))}

    def issue_json(self, repo: RepoState, pull: PullState) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.full_name}"
        url = f"{api}/issues/{pull.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}"
        assignees = [self.user(a) for a in pull.assignees]
        return {
            "id": pull.id + 500_000,
            "node_id": f"I_kwDOFake{repo.id}n{pull.number}",
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "number": pull.number,
            "state": pull.state,
            "state_reason": None,
            "title": pull.title,
            "body": pull.body,
            "user": self.user(pull.user),
            "labels": [self.label(repo, name) for name in pull.labels],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(pull.comments),
            "pull_request": {
                "url": f"{api}/pulls/{pull.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": pull.merged_at,
            },
            "closed_at": pull.closed_at,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "draft": pull.draft,
            "closed_by": None,
            "author_association": "NONE",
            "timeline_url": f"{url}/timeline",
        }

    def comment_json(self, repo: RepoState, pull: PullState, index: int) -> dict[str, JSON]:
        comment = pull.comments[index]
        api = f"{self.api}/repos/{repo.full_name}"
        return {
            "id": comment.id,
            "node_id": f"IC_kwDOFake{comment.id}",
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"{self.web}/{repo.full_name}/pull/{pull.number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": comment.created_at,
            "updated_at": comment.created_at,
            "issue_url": f"{api}/issues/{pull.number}",
            "author_association": "NONE",
            "performed_via_github_app": None,
        }

    def ref_json(self, repo: RepoState, ref: str, sha: str) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.full_name}"
        kind = repo.store.object_type(sha) or "commit"
        plural = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[kind]
        return {
            "ref": ref,
            "node_id": f"REF_kwDOFake{zlib.crc32(ref.encode())}",
            "url": f"{api}/git/refs/{ref.removeprefix('refs/')}",
            "object": {"type": kind, "sha": sha, "url": f"{api}/git/{plural}/{sha}"},
        }

    def verification(self, repo: RepoState, info: CommitInfo) -> dict[str, JSON]:
        """GitHub signs API commits of Apps and its own merges; pushed ones are as pushed."""
        if info.sha in repo.verified:
            signature = (
                "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJmFakeGitHubWebFlowSignature\n"
                "-----END PGP SIGNATURE-----\n"
            )
            return {
                "verified": True,
                "reason": "valid",
                "signature": signature,
                "payload": info.payload,
                "verified_at": info.committer.date,
            }
        if info.signature is not None:
            return {
                "verified": False,
                "reason": "unknown_key",
                "signature": info.signature,
                "payload": info.payload,
                "verified_at": None,
            }
        return {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        }

    def git_commit_json(self, repo: RepoState, info: CommitInfo) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/commit"
        return {
            "sha": info.sha,
            "node_id": f"C_kwDOFake{info.sha[:16]}",
            "url": f"{api}/git/commits/{info.sha}",
            "html_url": f"{html}/{info.sha}",
            "author": _person(info.author),
            "committer": _person(info.committer),
            "message": info.message,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/{p}"}
                for p in info.parents
            ],
            "verification": self.verification(repo, info),
        }

    def commit_json(self, repo: RepoState, sha: str, *, files: bool = True) -> dict[str, JSON]:
        info = repo.store.read_commit(sha)
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/commit"
        body: dict[str, JSON] = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": f"C_kwDOFake{sha[:16]}",
            "html_url": f"{html}/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": _person(info.author),
                "committer": _person(info.committer),
                "message": info.message,
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "verification": self.verification(repo, info),
            },
            "author": self.user_for_email(info.author.email),
            "committer": self.user_for_email(info.committer.email),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/{p}"}
                for p in info.parents
            ],
        }
        if files:
            changes = repo.store.diff(info.parents[0] if info.parents else None, sha)
            additions = sum(c.additions for c in changes)
            deletions = sum(c.deletions for c in changes)
            body["stats"] = {
                "additions": additions,
                "deletions": deletions,
                "total": additions + deletions,
            }
            body["files"] = [self.diff_entry(repo, c, sha) for c in changes]
        return body

    def diff_entry(self, repo: RepoState, change: FileChange, commit: str) -> dict[str, JSON]:
        path = quote(change.path)
        entry: dict[str, JSON] = {
            "sha": change.sha,
            "filename": change.path,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.web}/{repo.full_name}/blob/{commit}/{path}",
            "raw_url": f"{self.web}/{repo.full_name}/raw/{commit}/{path}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={commit}",
        }
        if change.patch is not None:
            entry["patch"] = change.patch
        if change.previous_path is not None:
            entry["previous_filename"] = change.previous_path
        return entry

    def content_json(
        self, repo: RepoState, entry: TreeEntry, ref: str, *, listing: bool = False
    ) -> dict[str, JSON]:
        api = f"{self.api}/repos/{repo.full_name}"
        path = quote(entry.path)
        self_url = f"{api}/contents/{path}?ref={quote(ref, safe='')}"
        kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
        if entry.mode == "120000":
            kind = "symlink"
        git = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
        view = "tree" if kind == "dir" else "blob"
        html = f"{self.web}/{repo.full_name}/{view}/{quote(ref, safe='')}/{path}"
        body: dict[str, JSON] = {
            "type": kind,
            "size": entry.size or 0,
            "name": entry.path.rsplit("/", 1)[-1],
            "path": entry.path,
            "sha": entry.sha,
            "url": self_url,
            "git_url": git,
            "html_url": html,
            "download_url": None
            if kind == "dir"
            else f"{self.web}/raw/{repo.full_name}/{quote(ref, safe='')}/{path}",
            "_links": {"self": self_url, "git": git, "html": html},
        }
        if listing:
            return body
        if kind == "file":
            data = repo.store.read_blob(entry.sha)
            body.update({"encoding": "base64", "content": _wrap_base64(data)})
        elif kind == "symlink":
            body["target"] = repo.store.read_blob(entry.sha).decode("utf-8", "replace")
        return body

    # -- GraphQL ---------------------------------------------------------------------------------

    def _graphql(self, body: JSON) -> _Answer:
        """The mutations PyGithub sends for auto-merge and draft state, nothing else."""
        body = body if isinstance(body, dict) else {}
        query = str(body.get("query", ""))
        variables = body.get("variables")
        variables = variables if isinstance(variables, dict) else {}
        match = re.search(
            r"\b(enablePullRequestAutoMerge|disablePullRequestAutoMerge|"
            r"convertPullRequestToDraft|markPullRequestReadyForReview)\s*\(",
            query,
        )
        if match is None:
            message = "FakeGitHub implements only the auto-merge and draft mutations"
            return _Answer(200, {"errors": [{"message": message, "type": "UNSUPPORTED"}]})
        name = match.group(1)
        column = match.start(1) + 1
        inputs = variables.get("input")
        inputs = inputs if isinstance(inputs, dict) else {}
        found = self.hub.find_pull_by_node(str(inputs.get("pullRequestId", "")))

        def failure(kind: str, message: str) -> _Answer:
            error = {
                "type": kind,
                "path": [name],
                "locations": [{"line": 1, "column": column}],
                "message": message,
            }
            return _Answer(200, {"data": {name: None}, "errors": [error]})

        if found is None:
            node = inputs.get("pullRequestId")
            return failure(
                "NOT_FOUND", f"Could not resolve to a node with the global id of '{node}'"
            )
        repo, pull = found
        self.hub.sync(repo, pull)
        if name == "enablePullRequestAutoMerge":
            if not repo.allow_auto_merge:
                return failure("UNPROCESSABLE", "Auto merge is not allowed for this repository")
            if pull.state != "open":
                return failure("UNPROCESSABLE", "Pull request Pull request is closed")
            _, state = self.hub.mergeable(repo, pull)
            if state == "clean":
                return failure("UNPROCESSABLE", "Pull request Pull request is in clean status")
            method = str(inputs.get("mergeMethod", "MERGE")).lower()
            pull.auto_merge = {
                "enabled_by": self.fake.login,
                "merge_method": method,
                "commit_title": inputs.get("commitHeadline", f"{pull.title} (#{pull.number})"),
                "commit_message": inputs.get("commitBody", ""),
            }
        elif name == "disablePullRequestAutoMerge":
            pull.auto_merge = None
        else:
            pull.draft = name == "convertPullRequestToDraft"
        pull.touch()
        login = self.fake.login.removesuffix("[bot]")
        actor = {
            "avatarUrl": f"{self.web}/avatars/u/1?v=4",
            "login": login,
            "resourcePath": f"/{login}",
            "url": f"{self.web}/{login}",
        }
        payload: dict[str, JSON] = {"clientMutationId": inputs.get("clientMutationId")}
        if name in ("enablePullRequestAutoMerge", "disablePullRequestAutoMerge"):
            payload["actor"] = actor
        else:
            payload["pullRequest"] = {"id": pull.node_id, "isDraft": pull.draft}
        return _Answer(200, {"data": {name: payload}})


def _person(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.date}


def _wrap_base64(data: bytes) -> str:
    """GitHub's `content`: base64 with a real newline every 60 characters and at the end."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def _object(body: JSON) -> dict[str, JSON]:
    if not isinstance(body, dict):
        raise ApiError(400, "Body should be a JSON object")
    return body


def _missing(resource: str, field_name: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": resource, "field": field_name, "code": "missing_field"}],
    )


# -- REST handlers --------------------------------------------------------------------------------


def _get_user(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    if request.as_app:
        raise ApiError(403, "Resource not accessible by integration")
    body = api.user(api.fake.login)
    body.update(
        {
            "name": api.fake.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
        }
    )
    return _Answer(200, body)


def _get_repo(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    return _Answer(200, api.repository(api.repo(params)))


def _list_pulls(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    state = request.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise ApiError(
            422, "Validation Failed", [{"resource": "Issue", "field": "state", "code": "invalid"}]
        )
    head = request.query.get("head", "")
    owner, sep, branch = head.partition(":")
    pulls = []
    for pull in repo.pulls:
        api.hub.sync(repo, pull)
        if state not in ("all", pull.state):
            continue
        # GitHub ignores a head filter without "owner:" (returns every PR): reproduced.
        if sep and (owner.lower() != repo.owner.lower() or pull.head != branch):
            continue
        if "base" in request.query and pull.base != request.query["base"]:
            continue
        pulls.append(pull)
    key = "updated_at" if request.query.get("sort") == "updated" else "created_at"
    pulls.sort(
        key=lambda p: (getattr(p, key), p.number),
        reverse=request.query.get("direction", "desc") != "asc",
    )
    return api.page(request, [api.pull_json(repo, p, simple=True) for p in pulls])


def _create_pull(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    for key in ("head", "base", "title"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise _missing("PullRequest", key)
    pull = api.hub.create_pull(
        repo,
        head=body["head"],
        base=body["base"],
        title=body["title"],
        body=body.get("body"),
        draft=bool(body.get("draft", False)),
    )
    pull.maintainer_can_modify = bool(body.get("maintainer_can_modify", False))
    answer = api.pull_json(repo, pull, computed=False)
    return _Answer(201, answer, {"Location": str(answer["url"])})


def _get_pull(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    return _Answer(200, api.pull_json(repo, api.pull(repo, params)))


def _update_pull(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = _object(request.body)
    if "base" in body and body["base"] != pull.base:
        base_sha = repo.branch_sha(str(body["base"]))
        if base_sha is None:
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "base", "code": "invalid"}],
            )
        pull.base, pull.base_sha = str(body["base"]), base_sha
    if "title" in body:
        pull.title = str(body["title"])
    if "body" in body:
        pull.body = body["body"]
    if "maintainer_can_modify" in body:
        pull.maintainer_can_modify = bool(body["maintainer_can_modify"])
    state = body.get("state")
    if state == "closed" and pull.state == "open":
        pull.close()
    elif state == "open" and pull.state == "closed":
        _reopen(api, repo, pull)
    pull.touch()
    api.hub.sync(repo, pull)
    return _Answer(200, api.pull_json(repo, pull))


def _reopen(api: _Api, repo: RepoState, pull: PullState) -> None:
    """GitHub refuses to reopen a merged PR, one whose head is gone, or a duplicate."""
    if pull.merged:
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "state cannot be changed. The pull request has been merged.",
                }
            ],
        )
    head = repo.branch_sha(pull.head)
    if head is None:
        message = f"state cannot be changed. The {pull.head} branch has been deleted."
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "PullRequest", "code": "custom", "message": message}],
        )
    for other in repo.pulls:
        if (
            other is not pull
            and other.state == "open"
            and (other.head, other.base) == (pull.head, pull.base)
        ):
            message = f"A pull request already exists for {repo.owner}:{pull.head}."
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "code": "custom", "message": message}],
            )
    pull.state, pull.closed_at = "open", None


def _request_reviewers(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = _object(request.body)
    reviewers = [str(r) for r in body.get("reviewers") or []]
    teams = [str(t) for t in body.get("team_reviewers") or []]
    if pull.user in reviewers:
        raise ApiError(422, "Review cannot be requested from pull request author.")
    if not all(repo.is_collaborator(r) for r in reviewers):
        raise ApiError(
            422,
            "Reviews may only be requested from collaborators. One or more of the users or teams "
            f"you specified is not a collaborator of the {repo.full_name} repository.",
        )
    pull.requested_reviewers += [r for r in reviewers if r not in pull.requested_reviewers]
    pull.requested_teams += [t for t in teams if t not in pull.requested_teams]
    pull.touch()
    return _Answer(201, api.pull_json(repo, pull, simple=True))


def _label_names(body: JSON) -> list[str]:
    """PyGithub sends a bare array; GitHub also takes {"labels": [...]} and {"name": ...} items."""
    items = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise _missing("Label", "labels")
    return [str(i["name"] if isinstance(i, dict) else i) for i in items]


def _list_labels(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    return api.page(request, [api.label(repo, n) for n in pull.labels])


def _add_labels(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    for name in _label_names(request.body):
        canonical = repo.label(name, api.hub.next_id()).name
        if canonical not in pull.labels:
            pull.labels.append(canonical)
    pull.touch()
    return _Answer(200, [api.label(repo, n) for n in pull.labels])


def _set_labels(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    pull.labels = []
    names = _label_names(request.body) if request.body is not None else []
    for name in names:
        canonical = repo.label(name, api.hub.next_id()).name
        if canonical not in pull.labels:
            pull.labels.append(canonical)
    pull.touch()
    return _Answer(200, [api.label(repo, n) for n in pull.labels])


def _remove_label(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    name = unquote(params["name"])
    match = [n for n in pull.labels if n.lower() == name.lower()]
    if not match:
        raise ApiError(404, "Label does not exist")
    pull.labels.remove(match[0])
    pull.touch()
    return _Answer(200, [api.label(repo, n) for n in pull.labels])


def _add_assignees(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = _object(request.body)
    for login in [str(a) for a in body.get("assignees") or []][:10]:
        # GitHub drops users who cannot be assigned without an error (observed).
        if repo.is_collaborator(login) and login not in pull.assignees:
            pull.assignees.append(login)
    pull.touch()
    return _Answer(201, api.issue_json(repo, pull))


def _list_comments(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    return api.page(request, [api.comment_json(repo, pull, i) for i in range(len(pull.comments))])


def _create_comment(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    from .github_state import Comment

    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = _object(request.body)
    if not isinstance(body.get("body"), str):
        raise _missing("IssueComment", "body")
    pull.comments.append(Comment(api.hub.next_id(), body["body"], api.fake.login, now_iso()))
    pull.touch()
    answer = api.comment_json(repo, pull, len(pull.comments) - 1)
    return _Answer(201, answer, {"Location": str(answer["url"])})


def _merge_pull(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = _object(request.body) if request.body is not None else {}
    method = str(body.get("merge_method", "merge"))
    if method not in ("merge", "squash", "rebase"):
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "PullRequest", "field": "merge_method", "code": "invalid"}],
        )
    sha = api.hub.merge_pull(
        repo,
        pull,
        method=method,
        sha=body.get("sha"),
        title=body.get("commit_title"),
        message=body.get("commit_message"),
        enforce_checks=True,
    )
    return _Answer(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


def _full_ref(params: dict[str, str]) -> str:
    return "refs/" + unquote(params["ref"]).strip("/")


def _get_ref(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    if repo.store.is_empty():
        raise ApiError(409, "Git Repository is empty.")
    ref = _full_ref(params)
    sha = repo.store.ref_sha(ref)
    if sha is None:
        raise ApiError(404, "Not Found")
    return _Answer(200, api.ref_json(repo, ref, sha))


def _create_ref(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str):
        raise _missing("Reference", "ref")
    if not isinstance(sha, str):
        raise _missing("Reference", "sha")
    if (
        not ref.startswith("refs/")
        or ref.count("/") < 2
        or repo.store.run("check-ref-format", ref).returncode
    ):
        raise ApiError(422, f"{ref} is not a valid ref name.")
    if repo.store.object_type(sha) is None:
        raise ApiError(422, "Object does not exist")
    if repo.store.ref_sha(ref) is not None or not repo.store.update_ref(ref, sha, ZERO_SHA):
        raise ApiError(422, "Reference already exists")
    answer = api.ref_json(repo, ref, sha)
    return _Answer(201, answer, {"Location": str(answer["url"])})


def _update_ref(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    ref, sha = _full_ref(params), body.get("sha")
    if not isinstance(sha, str):
        raise _missing("Reference", "sha")
    old = repo.store.ref_sha(ref)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    if repo.store.object_type(sha) is None:
        raise ApiError(422, "Object does not exist")
    if not body.get("force", False) and not repo.store.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    _check_protection(repo, ref, old, sha)
    if not repo.store.update_ref(ref, sha, old):
        raise ApiError(422, "Reference update failed")
    return _Answer(200, api.ref_json(repo, ref, sha))


def _check_protection(repo: RepoState, ref: str, old: str, new: str | None) -> None:
    """The API side of branch protection (git pushes get the same from the pre-receive hook)."""
    protection = (
        repo.protections.get(ref.removeprefix("refs/heads/"))
        if ref.startswith("refs/heads/")
        else None
    )
    if protection is None:
        return
    reason = None
    if new is None:
        reason = "Cannot delete this branch"
    elif not repo.store.is_ancestor(old, new):
        reason = "Cannot force-push to this branch"
    elif protection.required_signatures and any(
        c not in repo.verified for c in repo.store.commits_between(old, new)
    ):
        reason = "Commits must have verified signatures."
    if reason is not None:
        raise ApiError(422, f"Protected branch update failed for {ref}: {reason}")


def _delete_ref(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    ref = _full_ref(params)
    old = repo.store.ref_sha(ref)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    _check_protection(repo, ref, old, None)
    if not repo.store.delete_ref(ref, old):
        raise ApiError(422, "Reference update failed")
    for pull in repo.pulls:  # deleting a PR's head branch closes it
        api.hub.sync(repo, pull)
    return _Answer(204)


def _get_git_commit(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    sha = unquote(params["commit_sha"])
    if repo.store.object_type(sha) != "commit":
        raise ApiError(404, "Not Found")
    return _Answer(200, api.git_commit_json(repo, repo.store.read_commit(sha)))


def _create_git_commit(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise _missing("Commit", "message")
    if not isinstance(tree, str):
        raise _missing("Commit", "tree")
    kind = repo.store.object_type(tree)
    if kind is None:
        raise ApiError(422, "Tree SHA does not exist")
    if kind != "tree":
        raise ApiError(422, "Tree SHA is not a tree object")
    if not isinstance(parents, list) or any(
        not isinstance(p, str) or repo.store.object_type(p) != "commit" for p in parents
    ):
        raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    stamp = now_iso()
    login = api.fake.login
    default = {"name": login, "email": f"{api.user(login)['id']}+{login}@users.noreply.github.com"}
    author = _identity(body.get("author"), default, stamp)
    committer = _identity(
        body.get("committer"), {"name": author.name, "email": author.email}, stamp
    )
    sha = repo.store.write_commit(tree, parents, message, author, committer)
    if request.as_app:
        repo.mark_verified(sha)
    answer = api.git_commit_json(repo, repo.store.read_commit(sha))
    return _Answer(201, answer, {"Location": str(answer["url"])})


def _identity(value: JSON, default: dict[str, str], stamp: str) -> Person:
    value = value if isinstance(value, dict) else {}
    return Person(
        str(value.get("name", default["name"])),
        str(value.get("email", default["email"])),
        str(value.get("date", stamp)),
    )


def _get_installation(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    """The App is installed on every repository of the fake (an unknown one: 404)."""
    repo = api.repo(params)
    account = api.user(repo.owner)
    installation = api.fake.installation_id
    stamp = "2026-01-01T00:00:00Z"
    body = {
        "id": installation,
        "app_id": api.fake.app_id,
        "app_slug": api.fake.login.removesuffix("[bot]"),
        "target_id": account["id"],
        "target_type": account["type"],
        "account": account,
        "access_tokens_url": f"{api.api}/app/installations/{installation}/access_tokens",
        "repositories_url": f"{api.api}/installation/repositories",
        "html_url": f"{api.web}/organizations/{repo.owner}/settings/installations/{installation}",
        "permissions": dict(_APP_PERMISSIONS),
        "events": [],
        "repository_selection": "selected",
        "single_file_name": None,
        "created_at": stamp,
        "updated_at": stamp,
        "suspended_by": None,
        "suspended_at": None,
    }
    return _Answer(200, body)


def _create_access_token(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    """A fresh `ghs_` token; `permissions` may narrow the App's, never widen them (422)."""
    if unquote(params["installation_id"]) != str(api.fake.installation_id):
        raise ApiError(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    wanted = body.get("permissions") or {}
    if not isinstance(wanted, dict):
        raise _invalid_field("permissions")
    levels = {"read": 1, "write": 2, "admin": 3}
    for name, level in wanted.items():
        granted = _APP_PERMISSIONS.get(str(name))
        if granted is None or levels.get(str(level), 9) > levels[granted]:
            raise ApiError(422, "The permissions requested are not granted to this installation.")
    token, expiry = api.fake._mint_token()
    expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
    answer = {
        "token": token,
        "expires_at": expires_at,
        "permissions": {str(k): str(v) for k, v in wanted.items()} or dict(_APP_PERMISSIONS),
        "repository_selection": "selected",
    }
    return _Answer(201, answer)


def _invalid_field(field_name: str) -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": "Token", "field": field_name, "code": "invalid"}]
    )


def _get_tree(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    tree = repo.store.resolve(unquote(params["tree_sha"]), "tree")
    if tree is None:
        raise ApiError(404, "Not Found")
    # Any value of `recursive` turns recursion on at GitHub; only its absence does not.
    entries = repo.store.ls_tree(tree, recursive="recursive" in request.query)
    return _Answer(200, _tree_json(api, repo, tree, entries))


def _tree_json(api: _Api, repo: RepoState, tree: str, entries: list[TreeEntry]) -> dict[str, JSON]:
    base = f"{api.api}/repos/{repo.full_name}/git"
    items = []
    for entry in entries:
        item: dict[str, JSON] = {
            "path": entry.path,
            "mode": entry.mode,
            "type": entry.type,
            "sha": entry.sha,
        }
        if entry.type == "blob":
            item["size"] = entry.size
        if entry.type != "commit":
            item["url"] = f"{base}/{entry.type}s/{entry.sha}"
        items.append(item)
    return {"sha": tree, "url": f"{base}/trees/{tree}", "tree": items, "truncated": False}


def _create_tree(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    entries, base_tree = body.get("tree"), body.get("base_tree")
    if not isinstance(entries, list):
        raise _missing("Tree", "tree")
    if base_tree is not None and repo.store.object_type(str(base_tree)) != "tree":
        raise ApiError(422, "base_tree is not a valid tree oid")
    edits = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ApiError(422, f"tree[{index}].path is missing")
        mode, kind = str(entry.get("mode", "100644")), str(entry.get("type", "blob"))
        if mode not in ("100644", "100755", "040000", "160000", "120000") or kind not in (
            "blob",
            "tree",
            "commit",
        ):
            raise ApiError(422, f"tree[{index}] has an invalid mode or type")
        if "content" in entry and "sha" in entry:
            raise ApiError(422, f"tree[{index}]: give either sha or content, not both")
        sha = entry.get("sha")
        if "content" in entry:
            sha = repo.store.write_blob(str(entry["content"]).encode())
        elif sha is not None and (
            not is_sha(str(sha)) or (kind != "commit" and repo.store.object_type(str(sha)) != kind)
        ):
            raise ApiError(422, f"tree.sha {sha} is not a valid {kind}")
        elif "sha" not in entry:
            raise ApiError(422, f"tree[{index}] needs sha or content")
        edits.append(TreeEdit(entry["path"], mode, kind, None if sha is None else str(sha)))
    tree = repo.store.write_tree(None if base_tree is None else str(base_tree), edits)
    answer = _tree_json(api, repo, tree, repo.store.ls_tree(tree))
    return _Answer(201, answer, {"Location": str(answer["url"])})


def _create_blob(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    body = _object(request.body)
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise _missing("Blob", "content")
    if encoding == "base64":
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ApiError(422, "Invalid base64 content") from error
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise ApiError(422, f"encoding must be 'utf-8' or 'base64', not {encoding!r}")
    sha = repo.store.write_blob(data)
    url = f"{api.api}/repos/{repo.full_name}/git/blobs/{sha}"
    return _Answer(201, {"url": url, "sha": sha}, {"Location": url})


def _get_blob(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    sha = unquote(params["file_sha"])
    if repo.store.object_type(sha) != "blob":
        raise ApiError(404, "Not Found")
    data = repo.store.read_blob(sha)
    return _Answer(
        200,
        {
            "sha": sha,
            "node_id": f"B_kwDOFake{sha[:16]}",
            "size": len(data),
            "url": f"{api.api}/repos/{repo.full_name}/git/blobs/{sha}",
            "content": _wrap_base64(data),
            "encoding": "base64",
        },
    )


def _get_contents(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    ref = request.query.get("ref") or repo.default_branch
    commit = repo.store.resolve(ref)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = unquote(params.get("path", "")).strip("/")
    entry = repo.store.entry_at(commit, path)
    if entry is None:
        raise ApiError(404, "Not Found")
    if entry.type == "tree":
        listing = repo.store.ls_tree(entry.sha)
        prefix = f"{path}/" if path else ""
        items = [
            api.content_json(
                repo, TreeEntry(e.mode, e.type, e.sha, prefix + e.path, e.size), ref, listing=True
            )
            for e in listing
        ]
        return _Answer(200, items)
    return _Answer(200, api.content_json(repo, entry, ref))


def _get_commit(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    if repo.store.is_empty():
        raise ApiError(409, "Git Repository is empty.")
    ref = unquote(params["ref"])
    sha = repo.store.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return _Answer(200, api.commit_json(repo, sha))


def _compare(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    repo = api.repo(params)
    basehead = unquote(params["basehead"])
    base_name, sep, head_name = basehead.partition("...")
    if not sep:
        raise ApiError(404, "Not Found")
    base_name = base_name.split(":", 1)[-1] if ":" in base_name else base_name
    head_name = head_name.split(":", 1)[-1] if ":" in head_name else head_name
    base, head = repo.store.resolve(base_name), repo.store.resolve(head_name)
    if base is None or head is None:
        raise ApiError(404, "Not Found")
    store = repo.store
    merge_base = store.merge_base(base, head) or base
    ahead = store.commits_between(base, head)
    behind = store.commits_between(head, base)
    status = (
        "identical"
        if base == head
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    url = f"{api.api}/repos/{repo.full_name}/compare/{quote(base_name)}...{quote(head_name)}"
    compare = f"{api.web}/{repo.full_name}/compare"
    html = f"{compare}/{quote(base_name)}...{quote(head_name)}"
    changes = store.diff(merge_base, head)
    body = {
        "url": url,
        "html_url": html,
        "permalink_url": f"{compare}/{repo.owner}:{base[:7]}...{repo.owner}:{head[:7]}",
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "base_commit": api.commit_json(repo, base, files=False),
        "merge_base_commit": api.commit_json(repo, merge_base, files=False),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [api.commit_json(repo, c, files=False) for c in ahead[-250:]],
        "files": [api.diff_entry(repo, c, head) for c in changes[:300]],
    }
    return _Answer(200, body)


def _get_branch(api: _Api, request: _Request, params: dict[str, str]) -> _Answer:
    """`branches/{branch}` and its `/protection[/required_signatures]`: branch names contain
    `/`, so an existing branch wins over the suffix reading."""
    repo = api.repo(params)
    name = unquote(params["branch"])
    sha = repo.branch_sha(name)
    if sha is not None:
        return _Answer(200, _branch_json(api, repo, name, sha))
    for suffix, signatures_only in (
        ("/protection/required_signatures", True),
        ("/protection", False),
    ):
        if name.endswith(suffix) and repo.branch_sha(name.removesuffix(suffix)) is not None:
            branch = name.removesuffix(suffix)
            protection = repo.protections.get(branch)
            if protection is None:
                docs = _D + "branches/branch-protection#get-branch-protection"
                return _Answer(404, _error_body(404, "Branch not protected", docs))
            body = _protection_json(api, repo, branch, protection)
            return _Answer(200, body["required_signatures"] if signatures_only else body)
    raise ApiError(404, "Branch not found")


def _branch_json(api: _Api, repo: RepoState, name: str, sha: str) -> dict[str, JSON]:
    base = f"{api.api}/repos/{repo.full_name}/branches/{quote(name)}"
    protection = repo.protections.get(name)
    checks = list(protection.required_status_checks) if protection else []
    return {
        "name": name,
        "commit": api.commit_json(repo, sha, files=False),
        "_links": {"self": base, "html": f"{api.web}/{repo.full_name}/tree/{quote(name)}"},
        "protected": protection is not None,
        "protection": {
            "enabled": protection is not None,
            "required_status_checks": {
                "enforcement_level": "non_admins" if checks else "off",
                "contexts": checks,
                "checks": [{"context": c, "app_id": None} for c in checks],
            },
        },
        "protection_url": f"{base}/protection",
    }


def _protection_json(
    api: _Api, repo: RepoState, branch: str, protection: Protection
) -> dict[str, JSON]:
    url = f"{api.api}/repos/{repo.full_name}/branches/{quote(branch)}/protection"
    body: dict[str, JSON] = {
        "url": url,
        "required_signatures": {
            "url": f"{url}/required_signatures",
            "enabled": protection.required_signatures,
        },
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "block_creations": {"enabled": False},
        "required_conversation_resolution": {"enabled": False},
        "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
    }
    if protection.required_status_checks:
        body["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": False,
            "contexts": list(protection.required_status_checks),
            "checks": [{"context": c, "app_id": None} for c in protection.required_status_checks],
            "contexts_url": f"{url}/required_status_checks/contexts",
        }
    return body


_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_PULL = _REPO + r"/pulls/(?P<number>\d+)"
_ISSUE = _REPO + r"/issues/(?P<number>\d+)"
_D = "https://docs.github.com/rest/"


def _route(
    method: str,
    pattern: str,
    handler: Handler,
    docs: str,
    validate: bool = True,
    *,
    jwt: bool = False,
) -> _Route:
    return _Route(method, re.compile(pattern), handler, _D + docs, validate, jwt)


_ROUTES: tuple[_Route, ...] = (
    _route("GET", r"/user", _get_user, "users/users#get-the-authenticated-user", validate=False),
    _route("GET", _REPO, _get_repo, "repos/repos#get-a-repository"),
    _route(
        "GET",
        _REPO + r"/installation",
        _get_installation,
        "apps/apps#get-a-repository-installation-for-the-authenticated-app",
        jwt=True,
    ),
    _route(
        "POST",
        r"/app/installations/(?P<installation_id>[^/]+)/access_tokens",
        _create_access_token,
        "apps/apps#create-an-installation-access-token-for-an-app",
        jwt=True,
    ),
    _route("GET", _REPO + r"/pulls", _list_pulls, "pulls/pulls#list-pull-requests"),
    _route("POST", _REPO + r"/pulls", _create_pull, "pulls/pulls#create-a-pull-request"),
    _route("GET", _PULL, _get_pull, "pulls/pulls#get-a-pull-request"),
    _route("PATCH", _PULL, _update_pull, "pulls/pulls#update-a-pull-request"),
    _route(
        "POST",
        _PULL + r"/requested_reviewers",
        _request_reviewers,
        "pulls/review-requests#request-reviewers-for-a-pull-request",
    ),
    _route("PUT", _PULL + r"/merge", _merge_pull, "pulls/pulls#merge-a-pull-request"),
    _route(
        "GET",
        _ISSUE + r"/labels",
        _list_labels,
        "issues/labels#list-labels-for-an-issue",
        validate=False,
    ),
    _route("POST", _ISSUE + r"/labels", _add_labels, "issues/labels#add-labels-to-an-issue"),
    _route("PUT", _ISSUE + r"/labels", _set_labels, "issues/labels#set-labels-for-an-issue"),
    _route(
        "DELETE",
        _ISSUE + r"/labels/(?P<name>.+)",
        _remove_label,
        "issues/labels#remove-a-label-from-an-issue",
        validate=False,
    ),
    _route(
        "POST", _ISSUE + r"/assignees", _add_assignees, "issues/assignees#add-assignees-to-an-issue"
    ),
    _route(
        "GET",
        _ISSUE + r"/comments",
        _list_comments,
        "issues/comments#list-issue-comments",
        validate=False,
    ),
    _route(
        "POST",
        _ISSUE + r"/comments",
        _create_comment,
        "issues/comments#create-an-issue-comment",
        validate=False,
    ),
    _route("GET", _REPO + r"/git/ref/(?P<ref>.+)", _get_ref, "git/refs#get-a-reference"),
    _route("POST", _REPO + r"/git/refs", _create_ref, "git/refs#create-a-reference"),
    _route("PATCH", _REPO + r"/git/refs/(?P<ref>.+)", _update_ref, "git/refs#update-a-reference"),
    _route("DELETE", _REPO + r"/git/refs/(?P<ref>.+)", _delete_ref, "git/refs#delete-a-reference"),
    _route(
        "GET",
        _REPO + r"/git/commits/(?P<commit_sha>.+)",
        _get_git_commit,
        "git/commits#get-a-commit-object",
    ),
    _route("POST", _REPO + r"/git/commits", _create_git_commit, "git/commits#create-a-commit"),
    _route("GET", _REPO + r"/git/trees/(?P<tree_sha>.+)", _get_tree, "git/trees#get-a-tree"),
    _route("POST", _REPO + r"/git/trees", _create_tree, "git/trees#create-a-tree"),
    _route("POST", _REPO + r"/git/blobs", _create_blob, "git/blobs#create-a-blob"),
    _route(
        "GET",
        _REPO + r"/git/blobs/(?P<file_sha>[^/]+)",
        _get_blob,
        "git/blobs#get-a-blob",
        validate=False,
    ),
    _route(
        "GET",
        _REPO + r"/contents(?:/(?P<path>.*))?",
        _get_contents,
        "repos/contents#get-repository-content",
    ),
    _route("GET", _REPO + r"/commits/(?P<ref>.+)", _get_commit, "commits/commits#get-a-commit"),
    _route(
        "GET", _REPO + r"/compare/(?P<basehead>.+)", _compare, "commits/commits#compare-two-commits"
    ),
    _route(
        "GET",
        _REPO + r"/branches/(?P<branch>.+)",
        _get_branch,
        "branches/branches#get-a-branch",
        validate=False,
    ),
)
