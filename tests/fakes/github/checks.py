"""Commit statuses and check runs of the fake GitHub, for the source-check gates.

`GET statuses/{sha}` (what PyGithub's `Commit.get_statuses` calls; every status, newest
first, as GitHub documents) and `GET commits/{ref}/check-runs` (`filter=latest` by
default, `check_name` and `status` filters; `{"total_count", "check_runs"}`). The shared contract's
OpenAPI subset lacks these paths, so GitHub's REST reference ("Commit statuses", "Check
runs") was followed and the routes are not validated by openapi-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from .rest import JSON, REPO, Answer, Request, Route, route
from .state import ApiError, RepoState

if TYPE_CHECKING:
    from .api import Api

STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
RUN_STATUSES = frozenset({"queued", "in_progress", "completed", "waiting", "requested", "pending"})
CONCLUSIONS = frozenset(
    {"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale",
     "timed_out", "startup_failure"}
)  # fmt: skip


def _commit(api: Api, params: dict[str, str], name: str) -> tuple[RepoState, str]:
    repo = api.repo(params)
    ref = unquote(params[name])
    sha = repo.store.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return repo, sha


def status_json(api: Api, repo: RepoState, item: dict[str, JSON]) -> dict[str, JSON]:
    return {
        "url": f"{api.api}/repos/{repo.full_name}/statuses/{item['sha']}",
        "avatar_url": None,
        "id": item["id"],
        "node_id": f"SC_kwDOFake{item['id']}",
        "state": item["state"],
        "description": item["description"],
        "target_url": None,
        "context": item["context"],
        "created_at": item["created_at"],
        "updated_at": item["created_at"],
        "creator": None,
    }


def run_json(api: Api, repo: RepoState, item: dict[str, JSON]) -> dict[str, JSON]:
    url = f"{api.api}/repos/{repo.full_name}/check-runs/{item['id']}"
    done = item["status"] == "completed"
    return {
        "id": item["id"],
        "head_sha": item["sha"],
        "node_id": f"CR_kwDOFake{item['id']}",
        "external_id": "",
        "url": url,
        "html_url": f"{api.web}/{repo.full_name}/runs/{item['id']}",
        "details_url": None,
        "status": item["status"],
        "conclusion": item["conclusion"] if done else None,
        "started_at": item["created_at"],
        "completed_at": item["created_at"] if done else None,
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "name": item["name"],
        "check_suite": {"id": item["id"]},
        "app": None,
        "pull_requests": [],
    }


def _statuses(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo, sha = _commit(api, params, "ref")
    found = [status_json(api, repo, s) for s in reversed(repo.statuses.get(sha, []))]
    return api.page(request, found)


def _check_runs(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo, sha = _commit(api, params, "ref")
    runs = list(reversed(repo.check_runs.get(sha, [])))  # newest first
    if request.query.get("filter", "latest") == "latest":
        latest: dict[str, dict[str, JSON]] = {}
        for item in runs:
            latest.setdefault(str(item["name"]), item)
        runs = list(latest.values())
    if "check_name" in request.query:
        runs = [r for r in runs if r["name"] == request.query["check_name"]]
    if "status" in request.query:
        runs = [r for r in runs if r["status"] == request.query["status"]]
    listed = api.page(request, [run_json(api, repo, r) for r in runs])
    listed.body = {"total_count": len(runs), "check_runs": listed.body}
    return listed


ROUTES: tuple[Route, ...] = (
    route(
        "GET", REPO + r"/statuses/(?P<ref>.+)", _statuses,
        "commits/statuses#list-commit-statuses-for-a-reference", validate=False,
    ),
    route(
        "GET", REPO + r"/commits/(?P<ref>.+)/check-runs", _check_runs,
        "checks/runs#list-check-runs-for-a-git-reference", validate=False,
    ),
)  # fmt: skip
