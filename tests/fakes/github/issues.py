"""The issue side of a pull request in the fake GitHub: labels (created in the repository on
first use, matched case-insensitively), assignees and comments."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .rest import ISSUE, JSON, Answer, Request, Route, body_object, missing, route
from .state import ApiError, Comment, PullState, RepoState, now_iso
from .users import user_json

if TYPE_CHECKING:
    from .api import Api


def label_json(api: Api, repo: RepoState, name: str) -> dict[str, JSON]:
    label = repo.label(name, api.hub.next_id())
    return {
        "id": label.id,
        "node_id": f"LA_kwDOFake{label.id}",
        "url": f"{api.api}/repos/{repo.full_name}/labels/{quote(label.name)}",
        "name": label.name,
        "description": label.description,
        "color": label.color,
        "default": False,
    }


def issue_json(api: Api, repo: RepoState, pull: PullState) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.full_name}"
    url = f"{repo_url}/issues/{pull.number}"
    html = f"{api.web}/{repo.full_name}/pull/{pull.number}"
    assignees = [user_json(api, a) for a in pull.assignees]
    return {
        "id": pull.id + 500_000,
        "node_id": f"I_kwDOFake{repo.id}n{pull.number}",
        "url": url,
        "repository_url": repo_url,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": html,
        "number": pull.number,
        "state": pull.state,
        "state_reason": None,
        "title": pull.title,
        "body": pull.body,
        "user": user_json(api, pull.user),
        "labels": [label_json(api, repo, name) for name in pull.labels],
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": len(pull.comments),
        "pull_request": {
            "url": f"{repo_url}/pulls/{pull.number}",
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


def comment_json(api: Api, repo: RepoState, pull: PullState, index: int) -> dict[str, JSON]:
    comment = pull.comments[index]
    repo_url = f"{api.api}/repos/{repo.full_name}"
    return {
        "id": comment.id,
        "node_id": f"IC_kwDOFake{comment.id}",
        "url": f"{repo_url}/issues/comments/{comment.id}",
        "html_url": f"{api.web}/{repo.full_name}/pull/{pull.number}#issuecomment-{comment.id}",
        "body": comment.body,
        "user": user_json(api, comment.user),
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
        "issue_url": f"{repo_url}/issues/{pull.number}",
        "author_association": "NONE",
        "performed_via_github_app": None,
    }


def _label_names(body: JSON) -> list[str]:
    """PyGithub sends a bare array; GitHub also takes {"labels": [...]} and {"name": ...} items."""
    items = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise missing("Label", "labels")
    return [str(i["name"] if isinstance(i, dict) else i) for i in items]


def _list_labels(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    return api.page(request, [label_json(api, repo, n) for n in pull.labels])


def _add_labels(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    for name in _label_names(request.body):
        canonical = repo.label(name, api.hub.next_id()).name
        if canonical not in pull.labels:
            pull.labels.append(canonical)
    pull.touch()
    return Answer(200, [label_json(api, repo, n) for n in pull.labels])


def _set_labels(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    pull.labels = []
    names = _label_names(request.body) if request.body is not None else []
    for name in names:
        canonical = repo.label(name, api.hub.next_id()).name
        if canonical not in pull.labels:
            pull.labels.append(canonical)
    pull.touch()
    return Answer(200, [label_json(api, repo, n) for n in pull.labels])


def _remove_label(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    name = unquote(params["name"])
    match = [n for n in pull.labels if n.lower() == name.lower()]
    if not match:
        raise ApiError(404, "Label does not exist")
    pull.labels.remove(match[0])
    pull.touch()
    return Answer(200, [label_json(api, repo, n) for n in pull.labels])


def _add_assignees(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = body_object(request.body)
    for login in [str(a) for a in body.get("assignees") or []][:10]:
        # GitHub drops users who cannot be assigned without an error (observed).
        if repo.is_collaborator(login) and login not in pull.assignees:
            pull.assignees.append(login)
    pull.touch()
    return Answer(201, issue_json(api, repo, pull))


def _list_comments(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    return api.page(request, [comment_json(api, repo, pull, i) for i in range(len(pull.comments))])


def _create_comment(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    pull = api.pull(repo, params)
    body = body_object(request.body)
    if not isinstance(body.get("body"), str):
        raise missing("IssueComment", "body")
    pull.comments.append(Comment(api.hub.next_id(), body["body"], api.fake.login, now_iso()))
    pull.touch()
    answer = comment_json(api, repo, pull, len(pull.comments) - 1)
    return Answer(201, answer, {"Location": str(answer["url"])})


ROUTES: tuple[Route, ...] = (
    route(
        "GET",
        ISSUE + r"/labels",
        _list_labels,
        "issues/labels#list-labels-for-an-issue",
        validate=False,
    ),
    route("POST", ISSUE + r"/labels", _add_labels, "issues/labels#add-labels-to-an-issue"),
    route("PUT", ISSUE + r"/labels", _set_labels, "issues/labels#set-labels-for-an-issue"),
    route(
        "DELETE",
        ISSUE + r"/labels/(?P<name>.+)",
        _remove_label,
        "issues/labels#remove-a-label-from-an-issue",
        validate=False,
    ),
    route(
        "POST", ISSUE + r"/assignees", _add_assignees, "issues/assignees#add-assignees-to-an-issue"
    ),
    route(
        "GET",
        ISSUE + r"/comments",
        _list_comments,
        "issues/comments#list-issue-comments",
        validate=False,
    ),
    route(
        "POST",
        ISSUE + r"/comments",
        _create_comment,
        "issues/comments#create-an-issue-comment",
        validate=False,
    ),
)
