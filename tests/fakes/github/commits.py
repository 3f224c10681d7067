"""Commits of the fake GitHub: `GET commits/{ref}` and `GET compare/{base}...{head}`, with
GitHub's diff entries (renames, patches) computed by git on the bare repository."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .git_data import person_json, verification
from .rest import JSON, REPO, Answer, Request, Route, route
from .state import ApiError, FileChange, RepoState
from .users import user_for_email

if TYPE_CHECKING:
    from .api import Api


def commit_json(api: Api, repo: RepoState, sha: str, *, files: bool = True) -> dict[str, JSON]:
    info = repo.store.read_commit(sha)
    repo_url = f"{api.api}/repos/{repo.full_name}"
    html = f"{api.web}/{repo.full_name}/commit"
    body: dict[str, JSON] = {
        "url": f"{repo_url}/commits/{sha}",
        "sha": sha,
        "node_id": f"C_kwDOFake{sha[:16]}",
        "html_url": f"{html}/{sha}",
        "comments_url": f"{repo_url}/commits/{sha}/comments",
        "commit": {
            "url": f"{repo_url}/git/commits/{sha}",
            "author": person_json(info.author),
            "committer": person_json(info.committer),
            "message": info.message,
            "comment_count": 0,
            "tree": {"sha": info.tree, "url": f"{repo_url}/git/trees/{info.tree}"},
            "verification": verification(api, repo, info),
        },
        "author": user_for_email(api, info.author.email),
        "committer": user_for_email(api, info.committer.email),
        "parents": [
            {"sha": p, "url": f"{repo_url}/commits/{p}", "html_url": f"{html}/{p}"}
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
        body["files"] = [diff_entry(api, repo, c, sha) for c in changes]
    return body


def diff_entry(api: Api, repo: RepoState, change: FileChange, commit: str) -> dict[str, JSON]:
    path = quote(change.path)
    entry: dict[str, JSON] = {
        "sha": change.sha,
        "filename": change.path,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{api.web}/{repo.full_name}/blob/{commit}/{path}",
        "raw_url": f"{api.web}/{repo.full_name}/raw/{commit}/{path}",
        "contents_url": f"{api.api}/repos/{repo.full_name}/contents/{path}?ref={commit}",
    }
    if change.patch is not None:
        entry["patch"] = change.patch
    if change.previous_path is not None:
        entry["previous_filename"] = change.previous_path
    return entry


def _get_commit(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    if repo.store.is_empty():
        raise ApiError(409, "Git Repository is empty.")
    ref = unquote(params["ref"])
    sha = repo.store.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return Answer(200, commit_json(api, repo, sha))


def _compare(api: Api, request: Request, params: dict[str, str]) -> Answer:
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
        "base_commit": commit_json(api, repo, base, files=False),
        "merge_base_commit": commit_json(api, repo, merge_base, files=False),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [commit_json(api, repo, c, files=False) for c in ahead[-250:]],
        "files": [diff_entry(api, repo, c, head) for c in changes[:300]],
    }
    return Answer(200, body)


NOT_SUFFIXED = r"(?<!/check-runs)"
"""What `commits/{ref}` does not end with: that path is a `checks` route (GitHub reads a
ref ending so the same way)."""

ROUTES: tuple[Route, ...] = (
    route(
        "GET",
        REPO + r"/commits/(?P<ref>.+)" + NOT_SUFFIXED,
        _get_commit,
        "commits/commits#get-a-commit",
    ),
    route(
        "GET", REPO + r"/compare/(?P<basehead>.+)", _compare, "commits/commits#compare-two-commits"
    ),
)
