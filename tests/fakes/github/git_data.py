"""The Git database API of the fake GitHub: refs, commits, trees and blobs, read and written
as real objects in the bare repository.

Ref updates are fast-forward only unless forced, and protected branches refuse deletion,
force-push and (with required signatures) commits GitHub did not sign: the same rules the
pre-receive hook applies to git pushes. A commit created with an installation token is
signed by GitHub (`verification.verified`), as for a GitHub App.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .rest import JSON, REPO, Answer, Request, Route, body_object, missing, route, wrap_base64
from .state import (
    ZERO_SHA,
    ApiError,
    CommitInfo,
    Person,
    RepoState,
    TreeEdit,
    TreeEntry,
    is_sha,
    now_iso,
)
from .users import user_json

if TYPE_CHECKING:
    from .api import Api


def person_json(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.date}


def ref_json(api: Api, repo: RepoState, ref: str, sha: str) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.full_name}"
    kind = repo.store.object_type(sha) or "commit"
    plural = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[kind]
    return {
        "ref": ref,
        "node_id": f"REF_kwDOFake{zlib.crc32(ref.encode())}",
        "url": f"{repo_url}/git/refs/{ref.removeprefix('refs/')}",
        "object": {"type": kind, "sha": sha, "url": f"{repo_url}/git/{plural}/{sha}"},
    }


def verification(api: Api, repo: RepoState, info: CommitInfo) -> dict[str, JSON]:
    """GitHub signs API commits of Apps and its own merges; pushed ones are as pushed."""
    if info.sha in repo.verified:
        signature = (
            "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJmFakeGitHubWebFlowSignature\n"
            "-----END PGP SIGNATURE-----\n"
        )
        return {
            "verified": True,
            "reason": "valid",
            "signature": signature,
            "payload": info.payload,
            "verified_at": info.committer.date,
        }
    if info.signature is not None:
        return {
            "verified": False,
            "reason": "unknown_key",
            "signature": info.signature,
            "payload": info.payload,
            "verified_at": None,
        }
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def git_commit_json(api: Api, repo: RepoState, info: CommitInfo) -> dict[str, JSON]:
    repo_url = f"{api.api}/repos/{repo.full_name}"
    html = f"{api.web}/{repo.full_name}/commit"
    return {
        "sha": info.sha,
        "node_id": f"C_kwDOFake{info.sha[:16]}",
        "url": f"{repo_url}/git/commits/{info.sha}",
        "html_url": f"{html}/{info.sha}",
        "author": person_json(info.author),
        "committer": person_json(info.committer),
        "message": info.message,
        "tree": {"sha": info.tree, "url": f"{repo_url}/git/trees/{info.tree}"},
        "parents": [
            {"sha": p, "url": f"{repo_url}/git/commits/{p}", "html_url": f"{html}/{p}"}
            for p in info.parents
        ],
        "verification": verification(api, repo, info),
    }


def _full_ref(params: dict[str, str]) -> str:
    return "refs/" + unquote(params["ref"]).strip("/")


def _get_ref(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    if repo.store.is_empty():
        raise ApiError(409, "Git Repository is empty.")
    ref = _full_ref(params)
    sha = repo.store.ref_sha(ref)
    if sha is None:
        raise ApiError(404, "Not Found")
    return Answer(200, ref_json(api, repo, ref, sha))


def _create_ref(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str):
        raise missing("Reference", "ref")
    if not isinstance(sha, str):
        raise missing("Reference", "sha")
    if (
        not ref.startswith("refs/")
        or ref.count("/") < 2
        or repo.store.run("check-ref-format", ref).returncode
    ):
        raise ApiError(422, f"{ref} is not a valid ref name.")
    if repo.store.object_type(sha) is None:
        raise ApiError(422, "Object does not exist")
    if repo.store.ref_sha(ref) is not None or not repo.store.update_ref(ref, sha, ZERO_SHA):
        raise ApiError(422, "Reference already exists")
    answer = ref_json(api, repo, ref, sha)
    return Answer(201, answer, {"Location": str(answer["url"])})


def _update_ref(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    ref, sha = _full_ref(params), body.get("sha")
    if not isinstance(sha, str):
        raise missing("Reference", "sha")
    old = repo.store.ref_sha(ref)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    if repo.store.object_type(sha) is None:
        raise ApiError(422, "Object does not exist")
    if not body.get("force", False) and not repo.store.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    _check_protection(repo, ref, old, sha)
    if not repo.store.update_ref(ref, sha, old):
        raise ApiError(422, "Reference update failed")
    return Answer(200, ref_json(api, repo, ref, sha))


def _check_protection(repo: RepoState, ref: str, old: str, new: str | None) -> None:
    """The API side of branch protection (git pushes get the same from the pre-receive hook)."""
    protection = (
        repo.protections.get(ref.removeprefix("refs/heads/"))
        if ref.startswith("refs/heads/")
        else None
    )
    if protection is None:
        return
    reason = None
    if new is None:
        reason = "Cannot delete this branch"
    elif not repo.store.is_ancestor(old, new):
        reason = "Cannot force-push to this branch"
    elif protection.required_signatures and any(
        c not in repo.verified for c in repo.store.commits_between(old, new)
    ):
        reason = "Commits must have verified signatures."
    if reason is not None:
        raise ApiError(422, f"Protected branch update failed for {ref}: {reason}")


def _delete_ref(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    ref = _full_ref(params)
    old = repo.store.ref_sha(ref)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    _check_protection(repo, ref, old, None)
    if not repo.store.delete_ref(ref, old):
        raise ApiError(422, "Reference update failed")
    for pull in repo.pulls:  # deleting a PR's head branch closes it
        api.hub.sync(repo, pull)
    return Answer(204)


def _get_git_commit(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    sha = unquote(params["commit_sha"])
    if repo.store.object_type(sha) != "commit":
        raise ApiError(404, "Not Found")
    return Answer(200, git_commit_json(api, repo, repo.store.read_commit(sha)))


def _create_git_commit(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise missing("Commit", "message")
    if not isinstance(tree, str):
        raise missing("Commit", "tree")
    kind = repo.store.object_type(tree)
    if kind is None:
        raise ApiError(422, "Tree SHA does not exist")
    if kind != "tree":
        raise ApiError(422, "Tree SHA is not a tree object")
    if not isinstance(parents, list) or any(
        not isinstance(p, str) or repo.store.object_type(p) != "commit" for p in parents
    ):
        raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    stamp = now_iso()
    login = api.fake.login
    default = {
        "name": login,
        "email": f"{user_json(api, login)['id']}+{login}@users.noreply.github.com",
    }
    author = _identity(body.get("author"), default, stamp)
    committer = _identity(
        body.get("committer"), {"name": author.name, "email": author.email}, stamp
    )
    sha = repo.store.write_commit(tree, parents, message, author, committer)
    if request.as_app:
        repo.mark_verified(sha)
    answer = git_commit_json(api, repo, repo.store.read_commit(sha))
    return Answer(201, answer, {"Location": str(answer["url"])})


def _identity(value: JSON, default: dict[str, str], stamp: str) -> Person:
    value = value if isinstance(value, dict) else {}
    return Person(
        str(value.get("name", default["name"])),
        str(value.get("email", default["email"])),
        str(value.get("date", stamp)),
    )


def _get_tree(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    tree = repo.store.resolve(unquote(params["tree_sha"]), "tree")
    if tree is None:
        raise ApiError(404, "Not Found")
    # Any value of `recursive` turns recursion on at GitHub; only its absence does not.
    entries = repo.store.ls_tree(tree, recursive="recursive" in request.query)
    return Answer(200, _tree_json(api, repo, tree, entries))


def _tree_json(api: Api, repo: RepoState, tree: str, entries: list[TreeEntry]) -> dict[str, JSON]:
    base = f"{api.api}/repos/{repo.full_name}/git"
    items = []
    for entry in entries:
        item: dict[str, JSON] = {
            "path": entry.path,
            "mode": entry.mode,
            "type": entry.type,
            "sha": entry.sha,
        }
        if entry.type == "blob":
            item["size"] = entry.size
        if entry.type != "commit":
            item["url"] = f"{base}/{entry.type}s/{entry.sha}"
        items.append(item)
    return {"sha": tree, "url": f"{base}/trees/{tree}", "tree": items, "truncated": False}


def _create_tree(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    entries, base_tree = body.get("tree"), body.get("base_tree")
    if not isinstance(entries, list):
        raise missing("Tree", "tree")
    if base_tree is not None and repo.store.object_type(str(base_tree)) != "tree":
        raise ApiError(422, "base_tree is not a valid tree oid")
    edits = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ApiError(422, f"tree[{index}].path is missing")
        mode, kind = str(entry.get("mode", "100644")), str(entry.get("type", "blob"))
        if mode not in ("100644", "100755", "040000", "160000", "120000") or kind not in (
            "blob",
            "tree",
            "commit",
        ):
            raise ApiError(422, f"tree[{index}] has an invalid mode or type")
        if "content" in entry and "sha" in entry:
            raise ApiError(422, f"tree[{index}]: give either sha or content, not both")
        sha = entry.get("sha")
        if "content" in entry:
            sha = repo.store.write_blob(str(entry["content"]).encode())
        elif sha is not None and (
            not is_sha(str(sha)) or (kind != "commit" and repo.store.object_type(str(sha)) != kind)
        ):
            raise ApiError(422, f"tree.sha {sha} is not a valid {kind}")
        elif "sha" not in entry:
            raise ApiError(422, f"tree[{index}] needs sha or content")
        edits.append(TreeEdit(entry["path"], mode, kind, None if sha is None else str(sha)))
    tree = repo.store.write_tree(None if base_tree is None else str(base_tree), edits)
    answer = _tree_json(api, repo, tree, repo.store.ls_tree(tree))
    return Answer(201, answer, {"Location": str(answer["url"])})


def _create_blob(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    body = body_object(request.body)
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise missing("Blob", "content")
    if encoding == "base64":
        try:
            data = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ApiError(422, "Invalid base64 content") from error
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise ApiError(422, f"encoding must be 'utf-8' or 'base64', not {encoding!r}")
    sha = repo.store.write_blob(data)
    url = f"{api.api}/repos/{repo.full_name}/git/blobs/{sha}"
    return Answer(201, {"url": url, "sha": sha}, {"Location": url})


def _get_blob(api: Api, request: Request, params: dict[str, str]) -> Answer:
    repo = api.repo(params)
    sha = unquote(params["file_sha"])
    if repo.store.object_type(sha) != "blob":
        raise ApiError(404, "Not Found")
    data = repo.store.read_blob(sha)
    return Answer(
        200,
        {
            "sha": sha,
            "node_id": f"B_kwDOFake{sha[:16]}",
            "size": len(data),
            "url": f"{api.api}/repos/{repo.full_name}/git/blobs/{sha}",
            "content": wrap_base64(data),
            "encoding": "base64",
        },
    )


ROUTES: tuple[Route, ...] = (
    route("GET", REPO + r"/git/ref/(?P<ref>.+)", _get_ref, "git/refs#get-a-reference"),
    route("POST", REPO + r"/git/refs", _create_ref, "git/refs#create-a-reference"),
    route("PATCH", REPO + r"/git/refs/(?P<ref>.+)", _update_ref, "git/refs#update-a-reference"),
    route("DELETE", REPO + r"/git/refs/(?P<ref>.+)", _delete_ref, "git/refs#delete-a-reference"),
    route(
        "GET",
        REPO + r"/git/commits/(?P<commit_sha>.+)",
        _get_git_commit,
        "git/commits#get-a-commit-object",
    ),
    route("POST", REPO + r"/git/commits", _create_git_commit, "git/commits#create-a-commit"),
    route("GET", REPO + r"/git/trees/(?P<tree_sha>.+)", _get_tree, "git/trees#get-a-tree"),
    route("POST", REPO + r"/git/trees", _create_tree, "git/trees#create-a-tree"),
    route("POST", REPO + r"/git/blobs", _create_blob, "git/blobs#create-a-blob"),
    route(
        "GET",
        REPO + r"/git/blobs/(?P<file_sha>[^/]+)",
        _get_blob,
        "git/blobs#get-a-blob",
        validate=False,
    ),
)
