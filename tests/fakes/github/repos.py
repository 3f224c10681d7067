"""Repositories of the fake GitHub: the repository itself, its contents, its branches and
their protection.

`contents` reads the repository's real bare repository (a file as base64 wrapped every 60
characters, a directory as a listing, a symlink with its target); `branches/{branch}` also
answers `.../protection` and `.../protection/required_signatures`, since branch names contain
`/` (an existing branch wins over the suffix reading).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .commits import commit_json
from .rest import (
    JSON,
    REPO,
    REST_DOCS,
    Answer,
    Request,
    Route,
    error_body,
    route,
    wrap_base64,
)
from .state import ApiError, Protection, RepoState, TreeEntry
from .users import user_json

if TYPE_CHECKING:
    from .api import Api


def repo_json(api: Api, repo: RepoState, *, full: bool = True) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.owner}/{repo.name}"
    html = f"{api.web}/{repo.owner}/{repo.name}"
    templated = {
        "archive_url": "/{archive_format}{/ref}",
        "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}",
        "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}",
        "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}",
        "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}",
        "contributors_url": "/contributors",
        "deployments_url": "/deployments",
        "downloads_url": "/downloads",
        "events_url": "/events",
        "forks_url": "/forks",
        "git_commits_url": "/git/commits{/sha}",
        "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}",
        "hooks_url": "/hooks",
        "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}",
        "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}",
        "languages_url": "/languages",
        "merges_url": "/merges",
        "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}",
        "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers",
        "subscription_url": "/subscription",
        "tags_url": "/tags",
        "teams_url": "/teams",
        "trees_url": "/git/trees{/sha}",
    }
    open_count = sum(1 for p in repo.pulls if p.state == "open")
    body: dict[str, JSON] = {
        "id": repo.id,
        "node_id": f"R_kgDOFake{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user_json(api, repo.owner),
        "private": True,
        "html_url": html,
        "description": None,
        "fork": False,
        "url": repo_url,
        **{key: repo_url + suffix for key, suffix in templated.items()},
        "git_url": f"git://127.0.0.1/{repo.full_name}.git",
        "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
        "clone_url": api.fake.git_url(repo.owner, repo.name),
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 1,
        "default_branch": repo.default_branch,
        "open_issues_count": open_count,
        "open_issues": open_count,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "archived": False,
        "disabled": False,
        "visibility": "private",
        "pushed_at": repo.created_at,
        "created_at": repo.created_at,
        "updated_at": repo.created_at,
        "permissions": {
            "admin": False,
            "maintain": False,
            "push": True,
            "triage": True,
            "pull": True,
        },
        "allow_rebase_merge": True,
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_auto_merge": repo.allow_auto_merge,
        "delete_branch_on_merge": False,
        "allow_update_branch": False,
        "allow_forking": False,
        "web_commit_signoff_required": False,
        "license": None,
    }
    if full:
        body.update({"has_discussions": False, "network_count": 0, "subscribers_count": 0})
    return body


def content_json(
    api: Api, repo: RepoState, entry: TreeEntry, ref: str, *, listing: bool = False
) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.full_name}"
    path = quote(entry.path)
    self_url = f"{repo_url}/contents/{path}?ref={quote(ref, safe='')}"
    kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
    if entry.mode == "120000":
        kind = "symlink"
    git = f"{repo_url}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    view = "tree" if kind == "dir" else "blob"
    html = f"{api.web}/{repo.full_name}/{view}/{quote(ref, safe='')}/{path}"
    body: dict[str, JSON] = {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git,
        "html_url": html,
        "download_url": None
        if kind == "dir"
        else f"{api.web}/raw/{repo.full_name}/{quote(ref, safe='')}/{path}",
        "_links": {"self": self_url, "git": git, "html": html},
    }
    if listing:
        return body
    if kind == "file":
        data = repo.store.read_blob(entry.sha)
        body.update({"encoding": "base64", "content": wrap_base64(data)})
    elif kind == "symlink":
        body["target"] = repo.store.read_blob(entry.sha).decode("utf-8", "replace")
    return body


def _get_repo(api: Api, request: Request, params: dict[str, str]) -> Answer:
    return Answer(200, repo_json(api, api.repo(params)))


def _get_contents(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    ref = request.query.get("ref") or repo.default_branch
    commit = repo.store.resolve(ref)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = unquote(params.get("path", "")).strip("/")
    entry = repo.store.entry_at(commit, path)
    if entry is None:
        raise ApiError(404, "Not Found")
    if entry.type == "tree":
        listing = repo.store.ls_tree(entry.sha)
        prefix = f"{path}/" if path else ""
        items = [
            content_json(
                api,
                repo,
                TreeEntry(e.mode, e.type, e.sha, prefix + e.path, e.size),
                ref,
                listing=True,
            )
            for e in listing
        ]
        return Answer(200, items)
    return Answer(200, content_json(api, repo, entry, ref))


def _get_branch(api: Api, request: Request, params: dict[str, str]) -> Answer:
    """`branches/{branch}` and its `/protection[/required_signatures]`: branch names contain
    `/`, so an existing branch wins over the suffix reading."""
    repo = api.repo(params)
    name = unquote(params["branch"])
    sha = repo.branch_sha(name)
    if sha is not None:
        return Answer(200, _branch_json(api, repo, name, sha))
    for suffix, signatures_only in (
        ("/protection/required_signatures", True),
        ("/protection", False),
    ):
        if name.endswith(suffix) and repo.branch_sha(name.removesuffix(suffix)) is not None:
            branch = name.removesuffix(suffix)
            protection = repo.protections.get(branch)
            if protection is None:
                docs = REST_DOCS + "branches/branch-protection#get-branch-protection"
                return Answer(404, error_body(404, "Branch not protected", docs))
            body = _protection_json(api, repo, branch, protection)
            return Answer(200, body["required_signatures"] if signatures_only else body)
    raise ApiError(404, "Branch not found")


def _branch_json(api: Api, repo: RepoState, name: str, sha: str) -> dict[str, JSON]:
    base = f"{api.api}/repos/{repo.full_name}/branches/{quote(name)}"
    protection = repo.protections.get(name)
    checks = list(protection.required_status_checks) if protection else []
    return {
        "name": name,
        "commit": commit_json(api, repo, sha, files=False),
        "_links": {"self": base, "html": f"{api.web}/{repo.full_name}/tree/{quote(name)}"},
        "protected": protection is not None,
        "protection": {
            "enabled": protection is not None,
            "required_status_checks": {
                "enforcement_level": "non_admins" if checks else "off",
                "contexts": checks,
                "checks": [{"context": c, "app_id": None} for c in checks],
            },
        },
        "protection_url": f"{base}/protection",
    }


def _protection_json(
    api: Api, repo: RepoState, branch: str, protection: Protection
) -> dict[str, JSON]:
    url = f"{api.api}/repos/{repo.full_name}/branches/{quote(branch)}/protection"
    body: dict[str, JSON] = {
        "url": url,
        "required_signatures": {
            "url": f"{url}/required_signatures",
            "enabled": protection.required_signatures,
        },
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
        "required_linear_history": {"enabled": False},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "block_creations": {"enabled": False},
        "required_conversation_resolution": {"enabled": False},
        "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
    }
    if protection.required_status_checks:
        body["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": False,
            "contexts": list(protection.required_status_checks),
            "checks": [{"context": c, "app_id": None} for c in protection.required_status_checks],
            "contexts_url": f"{url}/required_status_checks/contexts",
        }
    return body


ROUTES: tuple[Route, ...] = (
    route("GET", REPO, _get_repo, "repos/repos#get-a-repository"),
    route(
        "GET",
        REPO + r"/contents(?:/(?P<path>.*))?",
        _get_contents,
        "repos/contents#get-repository-content",
    ),
    route(
        "GET",
        REPO + r"/branches/(?P<branch>.+)",
        _get_branch,
        "branches/branches#get-a-branch",
        validate=False,
    ),
)
