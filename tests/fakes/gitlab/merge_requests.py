"""The merge-request resources of the fake GitLab: list, create, update, notes, merge, and
merge trains.

GitLab's rules as `gitlab.md` §6 and §11 state them: one open merge request per (source
branch, target branch), a duplicate answered 409 with an array message; `labels` replaces,
`add_labels` adds; the merge call honours `sha` (409 when the head moved) and, on a server
older than 17.11, ignores `auto_merge` and merges at once (what makes the fallback matter).
A project with merge trains takes auto-merge through the merge-train API.
"""

from __future__ import annotations

import re
from typing import Any

from .repository import page
from .state import JSON, Answer, MergeRequest, Project, error, labels, mr_json, truthy


class MergeRequests:
    """Routes `/projects/:id/merge_requests...` and `/projects/:id/merge_trains/...`."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.next_id = 500
        self.racing: set[str] = set()
        """Projects where the next create loses to a racing run's identical request."""

    def route(
        self, project: Project, method: str, rest: str, query: dict[str, str], body: JSON
    ) -> Answer | None:
        if rest == "/merge_requests":
            if method == "GET":
                return self._list(project, query)
            if method == "POST":
                return self._create(project, body)
        match = re.fullmatch(
            r"/(merge_requests|merge_trains/merge_requests)/(\d+)(/notes|/merge)?", rest
        )
        if match is None:
            return None
        mr = next((m for m in project.merge_requests if m.iid == int(match.group(2))), None)
        if mr is None:
            return error(404, "404 Not found")
        action = match.group(3)
        if match.group(1) == "merge_trains/merge_requests":
            return self._train(project, mr, {**query, **(body or {})}) if method == "POST" else None
        if action is None and method == "GET":
            return Answer(200, self.json(project, mr))
        if action is None and method == "PUT":
            return self._update(project, mr, body)
        if action == "/notes" and method == "POST":
            mr.notes.append(str(body.get("body", "")))
            return Answer(201, {"id": len(mr.notes), "body": body.get("body"), "system": False})
        if action == "/merge" and method == "PUT":
            return self._merge(project, mr, {**query, **(body or {})})
        return None

    def json(self, project: Project, mr: MergeRequest) -> JSON:
        return mr_json(self.fake.url, project, mr, self.fake.users)

    def _list(self, project: Project, query: dict[str, str]) -> Answer:
        """Filtered by branches and `state`, newest first unless `sort=asc` (every merge
        request here is created in order, so `created_at` and `updated_at` agree with the
        id), paginated like every GitLab list."""
        found = [
            m for m in project.merge_requests
            if query.get("source_branch") in (None, m.source_branch)
            and query.get("target_branch") in (None, m.target_branch)
            and query.get("state", "all") in ("all", m.state)
        ]  # fmt: skip
        found.sort(key=lambda m: m.id, reverse=query.get("sort", "desc") != "asc")
        base = f"{self.fake.url}/api/v4/projects/{project.id}/merge_requests"
        return page([self.json(project, m) for m in found], query, base)

    def _create(self, project: Project, body: JSON) -> Answer:
        source, target = body.get("source_branch"), body.get("target_branch")
        if not source or not target or not body.get("title"):
            return error(400, "source_branch, target_branch, title are missing", key="error")
        if project.tip(source) is None:
            return error(404, "404 Branch Not Found")
        if project.path in self.racing:  # the racing run's identical request lands first
            self.racing.discard(project.path)
            self._create(project, {**body, "title": f"{body['title']} (racer)"})
        for existing in project.merge_requests:
            if (existing.source_branch, existing.target_branch, existing.state) == (
                source, target, "opened",
            ):  # fmt: skip
                return error(
                    409,
                    ["Another open merge request already exists for this source branch: "
                     f"!{existing.iid}"],
                )  # fmt: skip
        self.next_id += 1
        mr = MergeRequest(
            self.next_id, len(project.merge_requests) + 1, project.id, source, target,
            body["title"], body.get("description") or "", labels=labels(body.get("labels")),
            reviewer_ids=list(body.get("reviewer_ids") or []),
            assignee_ids=list(body.get("assignee_ids") or []),
            remove_source_branch=truthy(body.get("remove_source_branch")),
            squash=truthy(body.get("squash")),
        )  # fmt: skip
        project.merge_requests.append(mr)
        return Answer(201, self.json(project, mr))

    def _update(self, project: Project, mr: MergeRequest, body: JSON) -> Answer:
        if not body:
            return error(400, "at least one parameter must be provided", key="error")
        for key in ("title", "description"):
            if key in body:
                setattr(mr, key, body[key])
        if "labels" in body:
            mr.labels = labels(body["labels"])
        if "add_labels" in body:
            mr.labels += [x for x in labels(body["add_labels"]) if x not in mr.labels]
        for key in ("reviewer_ids", "assignee_ids"):
            if key in body:
                setattr(mr, key, list(body[key] or []))
        for key in ("squash", "remove_source_branch"):
            if key in body:
                setattr(mr, key, truthy(body[key]))
        if body.get("state_event") == "close":
            mr.state = "closed"
        return Answer(200, self.json(project, mr))

    def _merge(self, project: Project, mr: MergeRequest, options: dict[str, Any]) -> Answer:
        head = project.tip(mr.source_branch)
        sha = options.get("sha")
        if sha and sha != head:
            return error(409, f"SHA does not match HEAD of source branch: {head}")
        flag = "auto_merge" if self.fake.at_least(17, 11) else "merge_when_pipeline_succeeds"
        mr.merge_options = {k: str(v) for k, v in options.items()}
        if truthy(options.get(flag)):
            mr.auto_merge, mr.merge_sha = True, head
        else:  # an unknown parameter is ignored: this merges now, pipeline or not
            mr.state = "merged"
        return Answer(200, self.json(project, mr))

    def _train(self, project: Project, mr: MergeRequest, options: dict[str, Any]) -> Answer:
        """`POST merge_trains/merge_requests/:iid` (Premium): 403 where trains are off."""
        if not project.merge_trains:
            return error(403, "403 Forbidden")
        head = project.tip(mr.source_branch)
        if options.get("sha") and options["sha"] != head:
            return error(400, "Failed to merge")
        mr.merge_options = {k: str(v) for k, v in options.items()} | {"train": "true"}
        mr.auto_merge, mr.merge_sha = True, head
        if "squash" in options:
            mr.squash = truthy(options["squash"])
        car = {"id": mr.id, "merge_request": self.json(project, mr), "status": "idle",
               "target_branch": mr.target_branch}  # fmt: skip
        return Answer(201, [car])
