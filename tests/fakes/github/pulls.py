"""Pull requests of the fake GitHub: list (GitHub's filters, sort and pagination), create,
get, update (reopen included), request reviewers, merge.

GitHub's rules for them (one open PR per head and base, what `mergeable_state` says, how a
merge moves the base) live in `hub.py`; this module checks the bodies and renders the JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .issues import label_json
from .repos import repo_json
from .rest import JSON, PULL, REPO, Answer, Request, Route, body_object, missing, route
from .state import ApiError, PullState, RepoState
from .users import team_json, user_json

if TYPE_CHECKING:
    from .api import Api


def pull_json(
    api: Api, repo: RepoState, pull: PullState, *, simple: bool = False, computed: bool = True
) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.full_name}"
    html = f"{api.web}/{repo.full_name}/pull/{pull.number}"
    url = f"{repo_url}/pulls/{pull.number}"
    issue = f"{repo_url}/issues/{pull.number}"
    owner = user_json(api, repo.owner)
    repository = repo_json(api, repo, full=False)

    def side(branch: str, sha: str) -> dict[str, JSON]:
        return {
            "label": f"{repo.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": owner,
            "repo": repository,
        }

    assignees = [user_json(api, a) for a in pull.assignees]
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
        "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{repo_url}/statuses/{pull.head_sha}",
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": user_json(api, pull.user),
        "body": pull.body,
        "labels": [label_json(api, repo, name) for name in pull.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": pull.closed_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "requested_reviewers": [user_json(api, r) for r in pull.requested_reviewers],
        "requested_teams": [team_json(api, repo, t) for t in pull.requested_teams],
        "head": side(pull.head, pull.head_sha),
        "base": side(pull.base, pull.base_sha),
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": issue},
            "comments": {"href": f"{issue}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{repo_url}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{repo_url}/statuses/{pull.head_sha}"},
        },
        "author_association": "NONE",
        "auto_merge": auto_merge_json(api, pull),
        "draft": pull.draft,
    }
    if simple:
        return body
    mergeable, mergeable_state = api.hub.mergeable(repo, pull) if computed else (None, "unknown")
    stats = repo.store.stats(pull.base_sha, pull.head_sha)
    body.update(
        {
            "merged": pull.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": mergeable_state,
            "merged_by": user_json(api, pull.merged_by) if pull.merged_by else None,
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


def auto_merge_json(api: Api, pull: PullState) -> dict[str, JSON] | None:
    if pull.auto_merge is None:
        return None
    return {**pull.auto_merge, "enabled_by": user_json(api, str(pull.auto_merge["enabled_by"]))}


def _list_pulls(api: Api, request: Request, params: dict[str, str]) -> Answer:
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
    return api.page(request, [pull_json(api, repo, p, simple=True) for p in pulls])


def _create_pull(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    for key in ("head", "base", "title"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise missing("PullRequest", key)
    pull = api.hub.create_pull(
        repo,
        head=body["head"],
        base=body["base"],
        title=body["title"],
        body=body.get("body"),
        draft=bool(body.get("draft", False)),
    )
    pull.maintainer_can_modify = bool(body.get("maintainer_can_modify", False))
    answer = pull_json(api, repo, pull, computed=False)
    return Answer(201, answer, {"Location": str(answer["url"])})


def _get_pull(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    return Answer(200, pull_json(api, repo, api.pull(repo, params)))


def _update_pull(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = body_object(request.body)
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
    return Answer(200, pull_json(api, repo, pull))


def _reopen(api: Api, repo: RepoState, pull: PullState) -> None:
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


def _request_reviewers(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = body_object(request.body)
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
    return Answer(201, pull_json(api, repo, pull, simple=True))


def _merge_pull(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = body_object(request.body) if request.body is not None else {}
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
    return Answer(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


ROUTES: tuple[Route, ...] = (
    route("GET", REPO + r"/pulls", _list_pulls, "pulls/pulls#list-pull-requests"),
    route("POST", REPO + r"/pulls", _create_pull, "pulls/pulls#create-a-pull-request"),
    route("GET", PULL, _get_pull, "pulls/pulls#get-a-pull-request"),
    route("PATCH", PULL, _update_pull, "pulls/pulls#update-a-pull-request"),
    route(
        "POST",
        PULL + r"/requested_reviewers",
        _request_reviewers,
        "pulls/review-requests#request-reviewers-for-a-pull-request",
    ),
    route("PUT", PULL + r"/merge", _merge_pull, "pulls/pulls#merge-a-pull-request"),
)
