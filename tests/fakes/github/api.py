"""The fake GitHub's request flow: credentials, injected faults, the route table, GraphQL, the
path openapi-core validates, and what every GitHub API response carries.

`Api` is also what a handler gets: the fake and its hub, the base URLs (the fake's own),
the repository and pull request a path names, and GitHub's pagination. The route table is
the union of the resource modules' `ROUTES`; no two routes of one method match the same path.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlencode

from . import apps, checks, commits, git_data, issues, openapi, pulls, repos, users
from .graphql import graphql
from .rest import DOCS, JSON, Answer, Request, Route, error_body
from .state import ApiError, PullState, RepoState

if TYPE_CHECKING:
    from .server import FakeGitHub

ROUTES: tuple[Route, ...] = (
    users.ROUTES
    + repos.ROUTES
    + apps.ROUTES
    + pulls.ROUTES
    + issues.ROUTES
    + git_data.ROUTES
    + commits.ROUTES
    + checks.ROUTES
)


class Api:
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
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        body: JSON,
        auth: str | None,
    ) -> tuple[Answer, str | None]:
        """(answer, path to validate or None) for one request; faults and auth come first."""
        graphql_path = "/graphql" if self.fake.layout == "github.com" else "/api/graphql"
        prefix = "" if self.fake.layout == "github.com" else "/api/v3"
        app_route = raw_path.startswith(prefix + "/") and self._is_jwt_route(
            method, raw_path[len(prefix) :]
        )
        as_app = False
        if self.fake.revoked:
            refusal: str | None = "Bad credentials"
        elif app_route:
            refusal = apps.jwt_refusal(self, auth)
        else:
            authorized, as_app = self._credentials(auth)
            refusal = None if authorized else "Bad credentials"
        if refusal is not None:
            docs = "https://docs.github.com/graphql" if raw_path == graphql_path else DOCS
            answer = Answer(401, error_body(401, refusal, docs))
            return answer, self._validation_path(method, raw_path, prefix, graphql_path)
        fault = self.fake._take_fault(method, raw_path)
        if fault is not None and not fault.replay:
            answer = Answer(fault.status, fault.body, dict(fault.headers))
            return answer, self._validation_path(method, raw_path, prefix, graphql_path)
        if raw_path == graphql_path and method == "POST":
            with self.hub.lock:
                return graphql(self, body), raw_path
        if not raw_path.startswith(prefix + "/"):
            return Answer(404, error_body(404, "Not Found", DOCS)), None
        path = raw_path[len(prefix) :]
        route, params = self._match(method, path)
        if route is None:
            return Answer(404, error_body(404, "Not Found", DOCS)), None
        request = Request(method, path, query, body, as_app)
        with self.hub.lock:
            if fault is not None:  # race_create_pull: someone else's identical request wins
                self._call(route, request, params)
            answer = self._call(route, request, params)
        return answer, (openapi.rewrite(prefix, path, route.pattern) if route.validate else None)

    def _call(self, route: Route, request: Request, params: dict[str, str]) -> Answer:
        try:
            return route.handler(self, request, params)
        except ApiError as error:
            body: dict[str, JSON] = {"message": error.message}
            if error.errors is not None:
                body["errors"] = error.errors
            body.update(documentation_url=route.docs, status=str(error.status))
            return Answer(error.status, body)

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

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in ROUTES:
            if route.method == method and (m := route.pattern.fullmatch(path)):
                return route, {k: v for k, v in m.groupdict().items() if v is not None}
        return None, {}

    def _validation_path(
        self, method: str, raw_path: str, prefix: str, graphql_path: str
    ) -> str | None:
        if raw_path == graphql_path:
            return raw_path
        route, _ = self._match(method, raw_path[len(prefix) :])
        if route is None or not route.validate:
            return None
        return openapi.rewrite(prefix, raw_path[len(prefix) :], route.pattern)

    def common_headers(self, raw_path: str, answer: Answer) -> dict[str, str]:
        """What every GitHub API response carries: JSON type, rate limit, version, request id."""
        with self.fake._log_lock:
            self._used += 1
            self._request_ids += 1
            used, request_id = self._used, self._request_ids
        is_graphql = raw_path.endswith("/graphql")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-reset": str(self._reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "graphql" if is_graphql else "core",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"FAKE:{request_id:06d}",
        }
        if answer.status == 403 and answer.body and "integration" in str(answer.body):
            headers["X-Accepted-GitHub-Permissions"] = "metadata=read"
        headers.update(answer.headers)
        return headers

    # -- what handlers share ---------------------------------------------------------------------

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

    def page(self, request: Request, items: list[JSON]) -> Answer:
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
        return Answer(200, chunk, {"Link": ", ".join(links)} if links else {})

    def resolve(self, repo: RepoState, rev: str) -> str | None:
        return repo.store.resolve(unquote(rev))
