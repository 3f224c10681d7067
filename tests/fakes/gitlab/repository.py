"""The repository resources of the fake GitLab: branches, tree, files, commits, compare.

Each reads or writes the project's real bare repository with git, so what promoter reads
through the API is byte for byte what a clone would see, and a commit made through the
commits API is an ordinary commit that the next clone fetches. The commits API follows
GitLab's rules (`gitlab.md` §4 and the forge-api README): `start_branch`/`start_sha` to
create or (with `force`) reset a branch, `last_commit_id` as the per-file compare-and-swap,
and the 400 texts GitLab answers when they are broken.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import tempfile
from typing import Any
from urllib.parse import quote, unquote

from .state import JSON, Answer, Project, commit_detail_json, commit_json, error, truthy

_ZERO = "0" * 40


def route(
    url: str, project: Project, method: str, rest: str, query: dict[str, str], body: JSON
) -> Answer | None:
    """The answer for `/projects/:id<rest>` when `rest` is a repository resource."""
    if rest == "/repository/tree" and method == "GET":
        return _tree(project, query, url)
    if rest == "/repository/compare" and method == "GET":
        return _compare(url, project, query)
    if rest == "/repository/commits":
        if method == "GET":
            return _commits(url, project, query)
        if method == "POST":
            return _create_commit(url, project, body)
    match = re.fullmatch(r"/repository/commits/([^/]+)/statuses", rest)
    if match and method == "GET":
        return _statuses(url, project, unquote(match.group(1)), query)
    match = re.fullmatch(r"/repository/commits/([^/]+)", rest)
    if match and method == "GET":
        sha = project.resolve(unquote(match.group(1)))
        if sha is None:
            return error(404, "404 Commit Not Found")
        return Answer(200, commit_detail_json(url, project, sha))
    if rest == "/repository/branches" and method == "GET":
        return _branches(url, project, query)
    match = re.fullmatch(r"/repository/branches/([^/]+)", rest)
    if match:
        return _branch(url, project, method, unquote(match.group(1)))
    match = re.fullmatch(r"/repository/files/([^/]+)(/raw)?", rest)
    if match and method == "GET":
        return _file(project, unquote(match.group(1)), query, raw=bool(match.group(2)))
    return None


def _statuses(url: str, project: Project, ref: str, query: dict[str, str]) -> Answer:
    """`GET repository/commits/:sha/statuses`: the commit's job statuses, only the latest
    of each name unless `all` (GitLab's default), filtered by `name`, oldest first."""
    sha = project.resolve(ref)
    if sha is None:
        return error(404, "404 Commit Not Found")
    jobs = list(enumerate(project.jobs.get(sha, []), start=1))
    if not truthy(query.get("all")):
        latest = {name: (n, name, status) for n, (name, status) in jobs}
        jobs = [(n, (name, status)) for n, name, status in sorted(latest.values())]
    if query.get("name"):
        jobs = [(n, job) for n, job in jobs if job[0] == query["name"]]
    items: list[JSON] = [
        {
            "id": 5000 + n, "sha": sha, "ref": None, "status": status, "name": name,
            "target_url": f"{url}/{project.path}/-/jobs/{5000 + n}", "description": None,
            "created_at": "2026-01-20T10:00:00.000+00:00", "started_at": None,
            "finished_at": None, "allow_failure": False, "coverage": None,
            "pipeline_id": 1000, "author": None,
        }
        for n, (name, status) in jobs
    ]  # fmt: skip
    base = f"{url}/api/v4/projects/{project.id}/repository/commits/{sha}/statuses"
    return page(items, query, base)


def _branch(url: str, project: Project, method: str, name: str) -> Answer | None:
    tip = project.tip(name)
    if tip is None:
        return error(404, "404 Branch Not Found")
    if method == "DELETE":
        if name == "main":
            return error(405, "The default branch of a project cannot be deleted.")
        project.git("update-ref", "-d", f"refs/heads/{name}", tip)
        return Answer(204)
    if method != "GET":
        return None
    return Answer(200, branch_json(url, project, name, tip))


def _branches(url: str, project: Project, query: dict[str, str]) -> Answer:
    """`GET repository/branches`: every branch by name, narrowed by `search` (GitLab's
    semantics, `matches_search`) or `regex`, paginated like every GitLab list."""
    listing = project.git("for-each-ref", "--format=%(refname:strip=2)%00%(objectname)",
                          "refs/heads")  # fmt: skip
    items = []
    for line in listing.splitlines():
        name, tip = line.split("\x00")
        if query.get("search") and not matches_search(name, query["search"]):
            continue
        if query.get("regex") and not re.search(query["regex"], name):
            continue
        items.append(branch_json(url, project, name, tip))
    return page(items, query, f"{url}/api/v4/projects/{project.id}/repository/branches")


def matches_search(name: str, term: str) -> bool:
    """GitLab's branch `search` (`GitRefsFinder`): case-insensitive; `^term` begins the
    name, `term$` ends it, `*` matches anything, and otherwise the term is a substring."""
    term, name = term.lower(), name.lower()
    start = term.startswith("^")
    end = term.endswith("$") and len(term) > int(start)
    core = term[int(start) : len(term) - int(end)]
    pattern = ".*?".join(re.escape(part) for part in core.split("*"))
    return re.search(("^" if start else "") + pattern + ("$" if end else ""), name) is not None


def branch_json(url: str, project: Project, name: str, tip: str) -> JSON:
    return {
        "name": name, "merged": False, "protected": name == "main", "default": name == "main",
        "developers_can_push": False, "developers_can_merge": False, "can_push": True,
        "web_url": f"{url}/{project.path}/-/tree/{name}",
        "commit": commit_json(url, project, tip),
    }  # fmt: skip


def _tree(project: Project, query: dict[str, str], url: str) -> Answer:
    """`GET repository/tree`: one directory (or everything below it with `recursive`),
    paginated like every GitLab list (`page`, `per_page` ≤ 100, `Link` and `X-*`)."""
    ref = query.get("ref") or "main"
    path = query.get("path", "").strip("/")
    if project.resolve(ref) is None:
        return error(404, "404 Tree Not Found")
    spec = f"{ref}:{path}" if path else f"{ref}^{{tree}}"
    args = ["ls-tree", "-z", "--full-tree"]
    if truthy(query.get("recursive")):
        args += ["-r", "-t"]
    listing = project.try_git(*args, spec)
    if listing is None:
        return error(404, "404 Tree Not Found")
    items = []
    for line in filter(None, listing.split("\x00")):
        meta, name = line.split("\t", 1)
        mode, kind, oid = meta.split()
        full = f"{path}/{name}" if path else name
        items.append(
            {"id": oid, "name": full.rsplit("/", 1)[-1], "type": kind, "path": full,
             "mode": mode.zfill(6)}
        )  # fmt: skip
    return page(items, query, f"{url}/api/v4/projects/{project.id}/repository/tree")


def page(items: list[JSON], query: dict[str, str], base: str) -> Answer:
    """One page of `items` with GitLab's pagination headers (Link built from `base`)."""
    per_page = max(1, min(int(query.get("per_page") or 20), 100))
    number = max(1, int(query.get("page") or 1))
    pages = max(1, -(-len(items) // per_page))
    chunk = items[(number - 1) * per_page : number * per_page]
    others = {k: v for k, v in query.items() if k not in ("page", "per_page")}

    def link(n: int) -> str:
        params = "&".join(f"{k}={quote(v, safe='')}" for k, v in others.items())
        return f"<{base}?{params}&page={n}&per_page={per_page}>"

    links = [f'{link(number + 1)}; rel="next"'] if number < pages else []
    links += [f'{link(1)}; rel="first"', f'{link(pages)}; rel="last"']
    headers = {
        "Link": ", ".join(links), "X-Page": str(number), "X-Per-Page": str(per_page),
        "X-Total": str(len(items)), "X-Total-Pages": str(pages),
        "X-Next-Page": str(number + 1) if number < pages else "",
        "X-Prev-Page": str(number - 1) if number > 1 else "",
    }  # fmt: skip
    return Answer(200, chunk, headers)


def _file(project: Project, path: str, query: dict[str, str], *, raw: bool) -> Answer:
    ref = query.get("ref") or ("main" if raw else "")
    if not ref:
        return error(400, "ref is missing", key="error")
    commit = project.resolve(ref)
    if commit is None:
        return error(404, "404 Commit Not Found")
    found = project.try_git("ls-tree", "-z", "--full-tree", commit, "--", path)
    entry = found.split("\x00", 1)[0] if found else ""
    if not entry or entry.split()[1] != "blob":
        return error(404, "404 File Not Found")
    mode, _, blob = entry.split("\t", 1)[0].split()
    data = project.served.get(path) or _blob(project, blob)
    last = project.git("log", "-1", "--format=%H", commit, "--", path).strip()
    meta = {
        "file_name": path.rsplit("/", 1)[-1], "file_path": path, "size": len(data),
        "encoding": "base64", "content_sha256": hashlib.sha256(data).hexdigest(),
        "ref": ref, "blob_id": blob, "commit_id": commit, "last_commit_id": last,
        "execute_filemode": mode == "100755",
    }  # fmt: skip
    if raw:
        headers = {f"X-Gitlab-{k.title().replace('_', '-')}": str(v) for k, v in meta.items()}
        return Answer(200, None, headers, raw=data)
    return Answer(200, meta | {"content": base64.b64encode(data).decode()})


def _blob(project: Project, oid: str) -> bytes:
    done = subprocess.run(
        ["git", "cat-file", "blob", oid], cwd=project.bare, capture_output=True, check=True
    )
    return done.stdout


def _commits(url: str, project: Project, query: dict[str, str]) -> Answer:
    ref = query.get("ref_name") or "main"
    if project.resolve(ref) is None:
        return error(404, "404 Not Found")
    per_page = max(1, min(int(query.get("per_page") or 20), 100))
    number = max(1, int(query.get("page") or 1))
    args = ["rev-list", f"--max-count={per_page}", f"--skip={(number - 1) * per_page}"]
    if truthy(query.get("first_parent")):
        args.append("--first-parent")
    shas = project.git(*args, ref, *(["--", query["path"]] if query.get("path") else [])).split()
    answer = Answer(200, [commit_json(url, project, sha) for sha in shas])
    answer.headers = {"X-Page": str(number), "X-Per-Page": str(per_page)}  # no totals here
    return answer


def _compare(url: str, project: Project, query: dict[str, str]) -> Answer:
    old, new = project.resolve(query.get("from", "")), project.resolve(query.get("to", ""))
    if old is None or new is None:
        return error(404, "404 Ref Not Found")
    spec = f"{old}..{new}" if truthy(query.get("straight")) else f"{old}...{new}"
    names = project.git("diff", "--name-only", "-z", spec).split("\x00")
    diffs = [
        {"old_path": p, "new_path": p, "a_mode": "100644", "b_mode": "100644", "diff": "",
         "new_file": False, "renamed_file": False, "deleted_file": False}
        for p in names if p
    ]  # fmt: skip
    shas = project.git("rev-list", spec.replace("...", "..")).split()
    commits = [commit_json(url, project, sha) for sha in shas]
    return Answer(
        200,
        {"commit": commits[0] if commits else None, "commits": commits, "diffs": diffs,
         "compare_timeout": False, "compare_same_ref": old == new,
         "web_url": f"{url}/{project.path}/-/compare/{old}...{new}"},
    )  # fmt: skip


# -- the commits API ----------------------------------------------------------------------------


def _create_commit(url: str, project: Project, body: JSON) -> Answer:
    """`POST repository/commits`: actions applied to a temporary index, then a ref update
    that is itself a compare-and-swap (two racing requests cannot both land)."""
    for key in ("branch", "commit_message", "actions"):
        if not body.get(key):
            return error(400, f"{key} is missing", key="error")
    branch, force = body["branch"], truthy(body.get("force"))
    start_branch, start_sha = body.get("start_branch"), body.get("start_sha")
    if start_branch and start_sha:
        return error(400, "You can't pass both start_branch and start_sha")
    current = project.tip(branch)
    diverted = start_sha is not None or (start_branch not in (None, branch))
    if current is not None and diverted and not force:
        return error(
            400,
            f"A branch called '{branch}' already exists. Switch to that branch in order "
            "to make changes",
        )
    if start_sha is not None:
        start = project.resolve(start_sha) if re.fullmatch(r"[0-9a-f]{40}", start_sha) else None
        if start is None:
            return error(400, f"Cannot find start_sha '{start_sha}'")
    elif start_branch is not None and (current is None or force or start_branch != branch):
        start = project.tip(start_branch)
    else:
        start = current
    if start is None:
        return error(400, "You can only create or edit files when you are on a branch")
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": os.path.join(scratch, "index")}
        env.update(
            GIT_AUTHOR_NAME=body.get("author_name") or "Fake User",
            GIT_AUTHOR_EMAIL=body.get("author_email") or "fake@example.com",
        )
        env.update(GIT_COMMITTER_NAME=env["GIT_AUTHOR_NAME"])
        env.update(GIT_COMMITTER_EMAIL=env["GIT_AUTHOR_EMAIL"])
        project.git("read-tree", start, env=env)
        for action in body["actions"]:
            refusal = _apply(project, start, action, env)
            if refusal is not None:
                return refusal
        tree = project.git("write-tree", env=env).strip()
        message = str(body["commit_message"])
        oid = project.git("commit-tree", tree, "-p", start, input=message.encode(), env=env)
    oid = oid.strip()
    if project.try_git("update-ref", f"refs/heads/{branch}", oid, current or _ZERO) is None:
        return error(400, "Could not update the branch: it was changed concurrently")
    stats = {"additions": 1, "deletions": 1, "total": 2}
    return Answer(201, commit_json(url, project, oid) | {"stats": stats})


def _apply(
    project: Project, start: str, action: dict[str, Any], env: dict[str, str]
) -> Answer | None:
    kind, path = action.get("action"), str(action.get("file_path") or "")
    found = project.try_git("ls-tree", "--full-tree", start, "--", path) or ""
    exists = bool(found.strip())
    if kind not in ("create", "update", "delete"):
        return error(400, f"Unknown action '{kind}'")
    if kind == "create" and exists:
        return error(400, "A file with this name already exists")
    if kind in ("update", "delete") and not exists:
        return error(400, "A file with this name doesn't exist")
    last_commit = action.get("last_commit_id")
    if exists and last_commit:
        last = project.git("log", "-1", "--format=%H", start, "--", path).strip()
        if last != last_commit:
            return error(400, f"The file has changed since you started editing it: {path}")
    if kind == "delete":
        project.git("update-index", "--force-remove", "--", path, env=env)
        return None
    content = str(action.get("content") or "")
    data = base64.b64decode(content) if action.get("encoding") == "base64" else content.encode()
    blob = project.git("hash-object", "-w", "--stdin", input=data, env=env).strip()
    mode = found.split()[0] if exists else "100644"
    project.git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
    return None
