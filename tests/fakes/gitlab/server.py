"""The fake GitLab's front: setup, fault injection, routing, and the HTTP handler.

`/api/v4/...` is the REST API, routed on the raw path (GitLab's namespaced ids and file paths
arrive `%2F`-encoded) to the resource modules; anything else is git smart HTTP served by
`git http-backend` over the same bare repositories, with the same token (any user name, as
GitLab's `oauth2`). Every REST call is recorded (`calls`, `write_calls`) so tests can count
them, and validated against the shared OpenAPI subset (`openapi.py`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from ..githttp import GitHttpServer, _GitHandler, make_bare_repo
from ..server import LoopbackServer, serve
from . import openapi, repository
from .merge_requests import MergeRequests
from .state import JSON, Answer, Call, MergeRequest, Project, error, project_json, user_json

_API = "/api/v4"


class FakeGitLab:
    """Use as a context manager; `url` is the instance root, `git_url(path)` a clone URL.

    Closing it raises `AssertionError` when an exchange broke the OpenAPI contract or the
    fake itself failed, so every test that uses it checks both."""

    def __init__(
        self, root: Path, *, token: str = "glpat-fake-token", lifetime: float = 300,
        validate: bool = True,
    ) -> None:  # fmt: skip
        self.root = Path(root).resolve()
        self.token = token
        self.lifetime = lifetime
        self.validate = validate
        self.url = ""
        self.projects: dict[str, Project] = {}
        self.users = {"alice": 12, "bob": 13}
        self.version = "17.11.2-ee"
        """What `GET /version` answers; older than 17.11 ignores `auto_merge` and merges."""
        self.calls: list[Call] = []
        self.errors: list[BaseException] = []
        self.validation_errors: list[str] = []
        self.schema_gaps: list[str] = []
        self._faults: list[tuple[str, re.Pattern[str], int, JSON]] = []
        self.fault_headers: dict[int, dict[str, str]] = {}
        """Extra response headers per injected status (`Retry-After` on a 429)."""
        self.merge_requests = MergeRequests(self)
        self.before_request: Callable[[str, str], None] | None = None
        """Called with (method, raw path) before a REST request is served: a test's hook to
        change the repository at an exact moment (a racing push)."""
        self._git: GitHttpServer | None = None
        self._lock = threading.Lock()
        self._stack = ExitStack()

    def __repr__(self) -> str:
        return f"FakeGitLab(root={self.root!s}, url={self.url!r})"

    def __enter__(self) -> FakeGitLab:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.validate:
            openapi.spec()  # built before the first request, not inside a timed client call
        with ExitStack() as stack:
            git = stack.enter_context(
                GitHttpServer(
                    self.root, token=self.token, lifetime=self.lifetime, push_options=True
                )
            )
            self._git = git
            handler = partial(_Handler, git=git, fake=self)
            server = stack.enter_context(serve(handler, lifetime=self.lifetime))
            self.url = server.url
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()
        if kind is None and (self.validation_errors or self.errors):
            problems = self.validation_errors + [repr(e) for e in self.errors]
            raise AssertionError("fake GitLab: " + "\n".join(problems[:20]))

    # -- setup and inspection ------------------------------------------------------------------

    def create_project(self, path: str, files: dict[str, bytes]) -> Project:
        group, _, name = path.rpartition("/")
        bare = make_bare_repo(self.root / group, f"{name}.git", files)
        project = Project(len(self.projects) + 42, path, bare)
        self.projects[path] = project
        return project

    def git_url(self, path: str) -> str:
        return f"{self.url}/{path}.git"

    def fail_next(self, method: str, path_regex: str, status: int, body: JSON = None) -> None:
        with self._lock:
            self._faults.append((method.upper(), re.compile(path_regex), status, body))

    def set_pipeline(self, path: str, sha: str, status: str | None) -> None:
        """Commit `sha` of project `path` has a latest pipeline of `status` (`running`,
        `success`, `failed`, ...); None: it has no pipeline."""
        project = self.projects[path]
        commit = project.resolve(sha) or sha
        with self._lock:
            if status is None:
                project.pipelines.pop(commit, None)
            else:
                project.pipelines[commit] = status

    def set_job(self, path: str, sha: str, name: str, status: str) -> None:
        """Job `name` of commit `sha` now has `status` (a new job: GitLab lists the latest
        of each name)."""
        project = self.projects[path]
        commit = project.resolve(sha) or sha
        with self._lock:
            project.jobs.setdefault(commit, []).append((name, status))

    def race_create(self, path: str) -> None:
        """The next create in `path` finds that another run created the same MR first."""
        self.merge_requests.racing.add(path)

    def revoke(self) -> None:
        """The token is revoked: every later REST and git request gets 401."""
        self.token = "revoked-" + self.token
        if self._git is not None:
            self._git._token = self.token.encode()

    def git_requests_count(self) -> int:
        """git smart-HTTP requests served (clone, fetch, push), kept apart from `calls`."""
        return len(self._git.requests) if self._git is not None else 0

    def write_calls(self) -> list[Call]:
        return [c for c in self.calls if c.method != "GET"]

    def open_requests(self, path: str) -> list[MergeRequest]:
        return [m for m in self.projects[path].merge_requests if m.state == "opened"]

    def branch_tip(self, project: Project, branch: str) -> str | None:
        return project.tip(branch)

    def at_least(self, major: int, minor: int) -> bool:
        found = tuple(int(x) for x in self.version.split("-")[0].split(".")[:2])
        return found >= (major, minor)

    # -- the API -------------------------------------------------------------------------------

    def serve(self, method: str, raw_path: str, query: dict[str, str], body: JSON) -> Answer:
        with self._lock:
            for fault in self._faults:
                if fault[0] in ("*", method) and fault[1].search(raw_path):
                    self._faults.remove(fault)
                    status = fault[2]
                    if status == 429:  # GitLab's throttle answers plain text
                        return Answer(429, None, raw=b"Retry later\n")
                    return Answer(status, fault[3] or {"message": f"{status} fault"})
        path = raw_path.removeprefix(_API)
        if method == "GET" and path == "/version":
            return Answer(200, {"version": self.version, "revision": "0123abcd"})
        if method == "GET" and path == "/users":
            name = query.get("username", "")
            user = self.users.get(name)
            return Answer(200, [] if user is None else [user_json(self.url, user, name)])
        match = re.fullmatch(r"/projects/([^/]+)(/.*)?", path)
        if match is None:
            return error(404, "404 Not Found", key="error")
        ident, rest = unquote(match.group(1)), match.group(2) or ""
        project = self.projects.get(ident) or next(
            (p for p in self.projects.values() if str(p.id) == ident), None
        )
        if project is None:
            return error(404, "404 Project Not Found")
        if rest == "" and method == "GET":
            return Answer(200, project_json(self.url, project))
        answer = self.merge_requests.route(project, method, rest, query, body)
        if answer is None:
            answer = repository.route(self.url, project, method, rest, query, body)
        return answer or error(404, "404 Not Found", key="error")


class _Handler(_GitHandler):
    """One connection: `/api/v4/...` is the REST API, anything else git smart HTTP."""

    def __init__(
        self, request: socket, client_address: tuple[str, int], server: LoopbackServer, *,
        git: GitHttpServer, fake: FakeGitLab,
    ) -> None:  # fmt: skip
        self.fake = fake
        super().__init__(request, client_address, server, git=git)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith(_API + "/"):
            self._exchange()
            return
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        token = self.headers.get("PRIVATE-TOKEN") or self.headers.get("JOB-TOKEN")
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body: JSON = None
        if fake.token not in (token, bearer):
            answer = error(401, "401 Unauthorized")
        else:
            try:
                body = json.loads(raw) if raw else {}
                if fake.before_request is not None:
                    fake.before_request(self.command, url.path)
                answer = fake.serve(self.command, url.path, query, body)
            except Exception as failure:  # a fake bug: answer 500 and let the test see it
                fake.errors.append(failure)
                answer = error(500, "500 Internal Server Error")
        if answer.raw is not None:
            payload = answer.raw
            kind = "text/plain" if answer.status == 429 else "application/octet-stream"
        else:
            payload = b"" if answer.status == 204 else json.dumps(answer.body).encode()
            kind = "application/json"
        headers = {**answer.headers, **fake.fault_headers.get(answer.status, {})}
        # Record and validate before answering: once the client has its response, the test
        # may read `calls` and `validation_errors`.
        with fake._lock:
            fake.calls.append(Call(self.command, url.path, query, answer.status, body))
        if fake.validate:
            self._validate(url.path, query, raw, answer.status, payload, headers, kind)
        self.send_response(answer.status)
        for name, value in headers.items():
            self.send_header(name, value)
        if payload or answer.status != 204:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _validate(
        self, path: str, query: dict[str, str], raw: bytes, status: int, payload: bytes,
        headers: dict[str, str], kind: str,
    ) -> None:  # fmt: skip
        label = f"{self.command} {path} -> {status}"
        if openapi.outside_subset(path):
            with self.fake._lock:
                self.fake.schema_gaps.append(f"{label}: not in the subset")
            return
        found = openapi.check(
            self.fake.url, self.command, path, query, dict(self.headers.items()), raw,
            status, payload, headers, kind,
        )  # fmt: skip
        with self.fake._lock:
            for problem in found:
                gap = openapi.is_gap(path, problem)
                (self.fake.schema_gaps if gap else self.fake.validation_errors).append(problem)


__all__ = ["FakeGitLab"]
