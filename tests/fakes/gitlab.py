"""A fake GitLab (REST v4) on 127.0.0.1, backed by real bare repositories with git smart HTTP.

The part of `../shared/forge-api/gitlab.md` promoter's merge-request path uses: projects by
path or id, merge requests (list by source/target branch and state, create, update only what
is sent, notes, merge with `auto_merge`/`sha`), users by username, and compare. Git requests
(`/<group>/<project>.git/...`) go to `git http-backend` with the same token (any user, as
GitLab's `oauth2`). Every REST call is recorded (`calls`, `write_calls`) so tests can count
them; `fail_next` injects an error answer. The project's branches are the bare repository's.
Routes on the raw path: GitLab's namespaced ids are `%2F`-encoded.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .githttp import GitHttpServer, _GitHandler, make_bare_repo
from .server import LoopbackServer, serve

JSON = Any
_API = "/api/v4"


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    source_branch: str
    target_branch: str
    title: str
    description: str = ""
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    remove_source_branch: bool = False
    squash: bool = False
    notes: list[str] = field(default_factory=list)
    auto_merge: bool = False
    merge_sha: str | None = None


@dataclass
class Project:
    id: int
    path: str
    bare: Path
    merge_requests: list[MergeRequest] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: JSON


class FakeGitLab:
    """Use as a context manager; `url` is the instance root, `git_url(path)` a clone URL."""

    def __init__(self, root: Path, *, token: str = "glpat-fake-token", lifetime: float = 300):
        self.root = Path(root).resolve()
        self.token = token
        self.lifetime = lifetime
        self.url = ""
        self.projects: dict[str, Project] = {}
        self.users = {"alice": 12, "bob": 13}
        self.version = "17.11.2-ee"
        """What `GET /version` answers; older than 17.11 ignores `auto_merge` and merges."""
        self.calls: list[Call] = []
        self.errors: list[BaseException] = []
        self._faults: list[tuple[str, re.Pattern[str], int, JSON]] = []
        self.fault_headers: dict[int, dict[str, str]] = {}
        """Extra response headers per injected status (`Retry-After` on a 429)."""
        self.racing: set[str] = set()
        """Projects where the next merge-request create loses to a racing run."""
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._next_mr = 500

    def __repr__(self) -> str:
        return f"FakeGitLab(root={self.root!s}, url={self.url!r})"

    def __enter__(self) -> FakeGitLab:
        self.root.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            git = stack.enter_context(
                GitHttpServer(
                    self.root, token=self.token, lifetime=self.lifetime, push_options=True
                )
            )
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

    def race_create(self, path: str) -> None:
        """The next create in `path` finds that another run created the same MR first."""
        self.racing.add(path)

    def write_calls(self) -> list[Call]:
        return [c for c in self.calls if c.method != "GET"]

    def open_requests(self, path: str) -> list[MergeRequest]:
        return [m for m in self.projects[path].merge_requests if m.state == "opened"]

    def branch_tip(self, project: Project, branch: str) -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=project.bare, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip() or None

    # -- the API -------------------------------------------------------------------------------

    def serve(
        self, method: str, raw_path: str, query: dict[str, str], body: JSON
    ) -> tuple[int, JSON]:
        with self._lock:
            for fault in self._faults:
                if fault[0] in ("*", method) and fault[1].search(raw_path):
                    self._faults.remove(fault)
                    return fault[2], fault[3] or {"message": f"{fault[2]} fault"}
        path = raw_path.removeprefix(_API)
        if method == "GET" and path == "/version":
            return 200, {"version": self.version, "revision": "0123abcd"}
        if method == "GET" and path == "/users":
            user = self.users.get(query.get("username", ""))
            return 200, [] if user is None else [{"id": user, "username": query["username"]}]
        match = re.fullmatch(r"/projects/([^/]+)(/.*)?", path)
        if match is None:
            return 404, {"error": "404 Not Found"}
        ident, rest = unquote(match.group(1)), match.group(2) or ""
        project = self.projects.get(ident) or next(
            (p for p in self.projects.values() if str(p.id) == ident), None
        )
        if project is None:
            return 404, {"message": "404 Project Not Found"}
        if rest == "" and method == "GET":
            return 200, self._project_json(project)
        if rest == "/merge_requests":
            if method == "GET":
                found = [
                    m for m in project.merge_requests
                    if query.get("source_branch") in (None, m.source_branch)
                    and query.get("target_branch") in (None, m.target_branch)
                    and query.get("state", "all") in ("all", m.state)
                ]  # fmt: skip
                return 200, [self._mr_json(project, m) for m in found]
            if method == "POST":
                return self._create_mr(project, body)
        match = re.fullmatch(r"/merge_requests/(\d+)(/notes|/merge)?", rest)
        if match is not None:
            mr = next((m for m in project.merge_requests if m.iid == int(match.group(1))), None)
            if mr is None:
                return 404, {"message": "404 Not found"}
            action = match.group(2)
            if action is None and method == "GET":
                return 200, self._mr_json(project, mr)
            if action is None and method == "PUT":
                return self._update_mr(project, mr, body)
            if action == "/notes" and method == "POST":
                mr.notes.append(str(body.get("body", "")))
                return 201, {"id": len(mr.notes), "body": body.get("body"), "system": False}
            if action == "/merge" and method == "PUT":
                return self._merge(project, mr, {**query, **(body or {})})
        if rest == "/repository/compare" and method == "GET":
            return self._compare(project, query)
        return 404, {"error": "404 Not Found"}

    def _create_mr(self, project: Project, body: JSON) -> tuple[int, JSON]:
        source, target = body.get("source_branch"), body.get("target_branch")
        if not source or not target or not body.get("title"):
            return 400, {"error": "source_branch, target_branch, title are missing"}
        if self.branch_tip(project, source) is None:
            return 404, {"message": "404 Branch Not Found"}
        if project.path in self.racing:  # the racing run's identical request lands first
            self.racing.discard(project.path)
            self._create_mr(project, {**body, "title": f"{body['title']} (racer)"})
        for existing in project.merge_requests:
            if (existing.source_branch, existing.target_branch, existing.state) == (
                source, target, "opened",
            ):  # fmt: skip
                return 409, {
                    "message": [
                        "Another open merge request already exists for this source branch: "
                        f"!{existing.iid}"
                    ]
                }
        self._next_mr += 1
        mr = MergeRequest(
            self._next_mr, len(project.merge_requests) + 1, project.id, source, target,
            body["title"], body.get("description") or "", labels=_labels(body.get("labels")),
            reviewer_ids=list(body.get("reviewer_ids") or []),
            assignee_ids=list(body.get("assignee_ids") or []),
            remove_source_branch=bool(body.get("remove_source_branch")),
            squash=bool(body.get("squash")),
        )  # fmt: skip
        project.merge_requests.append(mr)
        return 201, self._mr_json(project, mr)

    def _update_mr(self, project: Project, mr: MergeRequest, body: JSON) -> tuple[int, JSON]:
        for key in ("title", "description"):
            if key in body:
                setattr(mr, key, body[key])
        if "labels" in body:
            mr.labels = _labels(body["labels"])
        if "add_labels" in body:
            mr.labels += [x for x in _labels(body["add_labels"]) if x not in mr.labels]
        for key in ("reviewer_ids", "assignee_ids"):
            if key in body:
                setattr(mr, key, list(body[key] or []))
        if body.get("state_event") == "close":
            mr.state = "closed"
        return 200, self._mr_json(project, mr)

    def _merge(
        self, project: Project, mr: MergeRequest, options: dict[str, Any]
    ) -> tuple[int, JSON]:
        head = self.branch_tip(project, mr.source_branch)
        sha = options.get("sha")
        if sha and sha != head:
            return 409, {"message": "SHA does not match HEAD of source branch"}
        major, minor = (int(x) for x in self.version.split("-")[0].split(".")[:2])
        flag = "auto_merge" if (major, minor) >= (17, 11) else "merge_when_pipeline_succeeds"
        if str(options.get(flag, "")).lower() in ("true", "1"):
            mr.auto_merge = True
            mr.merge_sha = head
        else:  # an unknown parameter is ignored: this merges now, pipeline or not
            mr.state = "merged"
        return 200, self._mr_json(project, mr)

    def _compare(self, project: Project, query: dict[str, str]) -> tuple[int, JSON]:
        done = subprocess.run(
            ["git", "diff", "--name-only", f"{query.get('from')}...{query.get('to')}"],
            cwd=project.bare, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return 404, {"message": "404 Ref Not Found"}
        diffs = [{"old_path": p, "new_path": p} for p in done.stdout.split()]
        return 200, {"commit": None, "commits": [], "diffs": diffs, "compare_timeout": False}

    def _project_json(self, project: Project) -> JSON:
        group, _, name = project.path.rpartition("/")
        return {
            "id": project.id, "name": name, "path": name, "path_with_namespace": project.path,
            "default_branch": "main", "web_url": f"{self.url}/{project.path}",
            "http_url_to_repo": self.git_url(project.path),
            "namespace": {
                "id": 7, "name": group, "path": group, "kind": "group", "full_path": group,
            },
        }  # fmt: skip

    def _user_json(self, user_id: int) -> JSON:
        names = {v: k for k, v in self.users.items()}
        return {"id": user_id, "username": names.get(user_id, _no_user(user_id))}

    def _mr_json(self, project: Project, mr: MergeRequest) -> JSON:
        return {
            "id": mr.id, "iid": mr.iid, "project_id": project.id, "title": mr.title,
            "description": mr.description, "state": mr.state, "draft": False,
            "source_branch": mr.source_branch, "target_branch": mr.target_branch,
            "source_project_id": project.id, "target_project_id": project.id,
            "labels": list(mr.labels),
            "reviewers": [self._user_json(r) for r in mr.reviewer_ids],
            "assignees": [self._user_json(a) for a in mr.assignee_ids],
            "sha": self.branch_tip(project, mr.source_branch),
            "merge_when_pipeline_succeeds": mr.auto_merge,
            "web_url": f"{self.url}/{project.path}/-/merge_requests/{mr.iid}",
        }  # fmt: skip


def _no_user(user_id: int) -> str:
    return f"user{user_id}"


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    return [str(x) for x in value or []]


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
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        token = self.headers.get("PRIVATE-TOKEN") or self.headers.get("JOB-TOKEN")
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body: JSON = None
        if self.fake.token not in (token, bearer):
            status, answer = 401, {"message": "401 Unauthorized"}
        else:
            try:
                body = json.loads(raw) if raw else {}
                status, answer = self.fake.serve(self.command, url.path, query, body)
            except Exception as error:  # a fake bug: answer 500 and let the test see it
                self.fake.errors.append(error)
                status, answer = 500, {"message": "500 Internal Server Error"}
        with self.fake._lock:
            self.fake.calls.append(Call(self.command, url.path, query, status, body))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in self.fake.fault_headers.get(status, {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
