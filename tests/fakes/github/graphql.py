"""The GraphQL side of the fake GitHub: only the mutations PyGithub sends for auto-merge and
draft state (`enablePullRequestAutoMerge`, `disablePullRequestAutoMerge`,
`convertPullRequestToDraft`, `markPullRequestReadyForReview`), with GitHub's error shapes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .rest import JSON, Answer

if TYPE_CHECKING:
    from .api import Api


def graphql(api: Api, body: JSON) -> Answer:
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
        return Answer(200, {"errors": [{"message": message, "type": "UNSUPPORTED"}]})
    name = match.group(1)
    column = match.start(1) + 1
    inputs = variables.get("input")
    inputs = inputs if isinstance(inputs, dict) else {}
    found = api.hub.find_pull_by_node(str(inputs.get("pullRequestId", "")))

    def failure(kind: str, message: str) -> Answer:
        error = {
            "type": kind,
            "path": [name],
            "locations": [{"line": 1, "column": column}],
            "message": message,
        }
        return Answer(200, {"data": {name: None}, "errors": [error]})

    if found is None:
        node = inputs.get("pullRequestId")
        return failure("NOT_FOUND", f"Could not resolve to a node with the global id of '{node}'")
    repo, pull = found
    api.hub.sync(repo, pull)
    if name == "enablePullRequestAutoMerge":
        if not repo.allow_auto_merge:
            return failure("UNPROCESSABLE", "Auto merge is not allowed for this repository")
        if pull.state != "open":
            return failure("UNPROCESSABLE", "Pull request Pull request is closed")
        _, state = api.hub.mergeable(repo, pull)
        if state == "clean":
            return failure("UNPROCESSABLE", "Pull request Pull request is in clean status")
        method = str(inputs.get("mergeMethod", "MERGE")).lower()
        pull.auto_merge = {
            "enabled_by": api.fake.login,
            "merge_method": method,
            "commit_title": inputs.get("commitHeadline", f"{pull.title} (#{pull.number})"),
            "commit_message": inputs.get("commitBody", ""),
        }
    elif name == "disablePullRequestAutoMerge":
        pull.auto_merge = None
    else:
        pull.draft = name == "convertPullRequestToDraft"
    pull.touch()
    login = api.fake.login.removesuffix("[bot]")
    actor = {
        "avatarUrl": f"{api.web}/avatars/u/1?v=4",
        "login": login,
        "resourcePath": f"/{login}",
        "url": f"{api.web}/{login}",
    }
    payload: dict[str, JSON] = {"clientMutationId": inputs.get("clientMutationId")}
    if name in ("enablePullRequestAutoMerge", "disablePullRequestAutoMerge"):
        payload["actor"] = actor
    else:
        payload["pullRequest"] = {"id": pull.node_id, "isDraft": pull.draft}
    return Answer(200, {"data": {name: payload}})
