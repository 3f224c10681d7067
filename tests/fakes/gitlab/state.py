"""The fake GitLab's state and how GitLab renders it: projects, merge requests, answers.

Plain data plus GitLab's JSON shapes (`../shared/forge-api/gitlab.md`), with the fake's own
base URL in every URL field. The repository itself lives in a real bare repository, read
and written with git (`repository.py`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON = Any
STAMP = "2026-01-20T10:00:00.000Z"


@dataclass
class Answer:
    """One response: a JSON body (or raw bytes), extra headers."""

    status: int
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


def error(status: int, message: JSON, key: str = "message") -> Answer:
    return Answer(status, {key: message})


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
    merge_options: dict[str, str] = field(default_factory=dict)


@dataclass
class Project:
    id: int
    path: str
    bare: Path
    merge_requests: list[MergeRequest] = field(default_factory=list)
    merge_trains: bool = False
    squash_option: str = "default_off"
    served: dict[str, bytes] = field(default_factory=dict)
    """path → bytes the files API serves instead of the file's own (with the real blob id):
    a test's corrupted answer."""
    pipelines: dict[str, str] = field(default_factory=dict)
    """commit id → the status of its latest pipeline (none: the commit has no pipeline)."""
    jobs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """commit id → its jobs' (name, status), oldest first (a rerun appends)."""

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.bare, input=input, capture_output=True, check=True,
            env=env, timeout=60,
        )  # fmt: skip
        return done.stdout.decode("utf-8", "surrogateescape")

    def try_git(self, *args: str) -> str | None:
        done = subprocess.run(
            ["git", *args], cwd=self.bare, capture_output=True, check=False, timeout=60
        )
        return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else None

    def tip(self, branch: str) -> str | None:
        found = self.try_git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        return found.strip() if found else None

    def resolve(self, ref: str) -> str | None:
        """A branch, tag or commit id as a commit id."""
        found = self.try_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return found.strip() if found else None


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: JSON


def labels(value: Any) -> list[str]:
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    return [str(x) for x in value or []]


def truthy(value: Any) -> bool:
    """GitLab's boolean coercion: JSON true, and `true`/`True`/`1` from a query string."""
    return value is True or str(value).lower() in ("true", "1")


def user_json(url: str, user_id: int, username: str) -> JSON:
    return {
        "id": user_id, "username": username, "name": username.title(), "state": "active",
        "locked": False, "avatar_url": None, "web_url": f"{url}/{username}",
    }  # fmt: skip


def project_json(url: str, project: Project) -> JSON:
    group, _, name = project.path.rpartition("/")
    return {
        "id": project.id, "name": name, "path": name, "path_with_namespace": project.path,
        "name_with_namespace": f"{group} / {name}", "default_branch": "main",
        "visibility": "private", "empty_repo": False, "archived": False,
        "web_url": f"{url}/{project.path}", "http_url_to_repo": f"{url}/{project.path}.git",
        "namespace": {"id": 7, "name": group, "path": group, "kind": "group", "full_path": group},
        "merge_method": "merge", "squash_option": project.squash_option,
        "merge_trains_enabled": project.merge_trains,
        "merge_pipelines_enabled": project.merge_trains,
        "only_allow_merge_if_pipeline_succeeds": False,
        "remove_source_branch_after_merge": True,
        "permissions": {
            "project_access": {"access_level": 30, "notification_level": 3},
            "group_access": None,
        },
    }  # fmt: skip


_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"


def commit_json(url: str, project: Project, sha: str) -> JSON:
    """GitLab's commit object (`CommitDetail` keys) of one commit of the bare repository."""
    raw = project.git("log", "-1", f"--format={_FORMAT}", sha)
    oid, parents, an, ae, ad, cn, ce, cd, message = raw.split("\x00", 8)
    message = message.removesuffix("\n")
    return {
        "id": oid, "short_id": oid[:11], "title": message.split("\n", 1)[0],
        "message": message, "parent_ids": parents.split(),
        "author_name": an, "author_email": ae, "authored_date": ad,
        "committer_name": cn, "committer_email": ce, "committed_date": cd,
        "created_at": cd, "trailers": {}, "extended_trailers": {}, "status": None,
        "web_url": f"{url}/{project.path}/-/commit/{oid}",
    }  # fmt: skip


def commit_detail_json(url: str, project: Project, sha: str) -> JSON:
    """`GET repository/commits/:sha`: the commit plus its latest pipeline (`status` is that
    pipeline's status; both null when the commit has none)."""
    found = commit_json(url, project, sha)
    status = project.pipelines.get(found["id"])
    found["status"] = status
    found["project_id"] = project.id
    found["last_pipeline"] = None
    if status is not None:
        pipeline_id = 1000 + sorted(project.pipelines).index(found["id"])
        found["last_pipeline"] = {
            "id": pipeline_id, "iid": pipeline_id - 999, "project_id": project.id,
            "sha": found["id"], "ref": "main", "status": status, "source": "push",
            "created_at": found["committed_date"], "updated_at": found["committed_date"],
            "web_url": f"{url}/{project.path}/-/pipelines/{pipeline_id}",
        }  # fmt: skip
    return found


def mr_json(url: str, project: Project, mr: MergeRequest, users: dict[str, int]) -> JSON:
    names = {v: k for k, v in users.items()}

    def user(user_id: int) -> JSON:
        return user_json(url, user_id, names.get(user_id, f"user{user_id}"))

    head = project.tip(mr.source_branch)
    return {
        "id": mr.id, "iid": mr.iid, "project_id": project.id, "title": mr.title,
        "description": mr.description, "state": mr.state, "draft": mr.title.startswith("Draft:"),
        "work_in_progress": mr.title.startswith("Draft:"),
        "source_branch": mr.source_branch, "target_branch": mr.target_branch,
        "source_project_id": project.id, "target_project_id": project.id,
        "author": user_json(url, 1, "promoter-bot"),
        "labels": list(mr.labels),
        "reviewers": [user(r) for r in mr.reviewer_ids],
        "assignees": [user(a) for a in mr.assignee_ids],
        "assignee": user(mr.assignee_ids[0]) if mr.assignee_ids else None,
        "milestone": None, "sha": head, "merge_commit_sha": None, "squash_commit_sha": None,
        "merge_when_pipeline_succeeds": mr.auto_merge,
        "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
        "has_conflicts": False, "should_remove_source_branch": None,
        "force_remove_source_branch": mr.remove_source_branch, "squash": mr.squash,
        "squash_on_merge": mr.squash, "merged_at": None, "merge_user": None,
        "merged_by": None, "closed_at": None, "closed_by": None, "merge_after": None,
        "created_at": STAMP, "updated_at": STAMP,
        "reference": f"!{mr.iid}",
        "references": {
            "short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{project.path}!{mr.iid}",
        },
        "web_url": f"{url}/{project.path}/-/merge_requests/{mr.iid}",
        "user_notes_count": len(mr.notes), "upvotes": 0, "downvotes": 0,
    }  # fmt: skip
