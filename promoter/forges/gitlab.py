"""GitLab (gitlab.com and self-managed) merge requests through python-gitlab.

One living merge request per promotion branch, with GitHub's semantics: found by source
and target branch among the open ones (GitLab's own uniqueness rule), created when
missing, updated in place only where it differs (labels added, never removed), and
found-then-updated when a racing run created it first (409 "Another open merge request
already exists"). Auto-merge passes the head `sha`, so only the commit the pipeline
validated merges. python-gitlab's own retries are off: this module's tenacity loop retries
5xx, 429 and dropped connections (and the merge call's 405), the one retry layer. Knows
nothing of YAML or git.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from promoter.errors import (
    ConfigError,
    ForgeAuthError,
    ForgeCredentialsError,
    ForgeError,
)
from promoter.forges import (
    ChangeRequest,
    ChangeRequestSpec,
    CommitCheck,
    Outcome,
    commit_check,
)
from promoter.forges.retry import (
    MAX_WAIT,
    backoff,
    call_with_retries,
    is_connection_transient,
    unreachable,
)
from promoter.redact import Secret, redact
from promoter.tree import GitStats, Store

if TYPE_CHECKING:
    from gitlab import Gitlab
    from gitlab.v4.objects import Project, ProjectMergeRequest

T = TypeVar("T")
_PAGE = 100
"""Items per page of a listing (GitLab's maximum; its default is 20)."""
_SUCCESS = frozenset({"success"})
_WAITING = frozenset(
    {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled"}
)
"""Pipeline and job statuses of work not finished; `failed`, `canceled`, `skipped` and
`manual` (never started) are finished without success."""


def api_root(repository_url: str, environ: Mapping[str, str]) -> str:
    """The instance root python-gitlab wants (it appends /api/v4): `CI_SERVER_URL` (or
    `CI_API_V4_URL` without its `/api/v4`) when the repository lives there, which keeps a
    relative URL root; else the repository URL's scheme and host."""
    parts = urlsplit(repository_url)
    for name in ("CI_SERVER_URL", "CI_API_V4_URL"):
        server = environ.get(name, "").rstrip("/").removesuffix("/api/v4")
        if server and urlsplit(server).hostname == parts.hostname:
            return server
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def project_path(repository_url: str) -> str:
    """`group/subgroup/project` from `https://host/group/subgroup/project(.git)`."""
    path = urlsplit(repository_url).path.strip("/").removesuffix(".git")
    if "/" not in path:
        raise ForgeError(f"cannot tell the project from {repository_url!r}")
    return path


class GitLabForge:
    name = "gitlab"
    has_requests = True

    def __init__(
        self,
        repository_url: str,
        *,
        token: Secret | None,
        api_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: int = 30,
    ) -> None:
        import gitlab

        if urlsplit(repository_url).scheme not in ("http", "https"):
            raise ConfigError(
                f"--forge gitlab needs the project's https:// URL, not {repository_url!r}",
                field="--forge",
            )
        if token is None:
            raise ForgeAuthError(
                "no GitLab token: set PROMOTER_TOKEN (or GITLAB_TOKEN) to a project access "
                "token of the config project with the api scope"
            )
        environ = environ or {}
        root = (api_url or api_root(repository_url, environ)).rstrip("/").removesuffix("/api/v4")
        self.path = project_path(repository_url)
        self.client = _client_class(gitlab.Gitlab)(
            root, private_token=token.reveal(), timeout=timeout, retry_transient_errors=False
        )
        self.sleep = sleep
        self.calls = 0
        self._project: Project | None = None
        self._headers: Mapping[str, str] = {}
        """The last answer's headers when it was a 429 (python-gitlab's errors carry none):
        its `Retry-After`/`RateLimit-Reset` say how long to wait."""
        self.client.session.hooks["response"].append(self._remember)

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = self.client.projects.get(self.path, lazy=True)
        return self._project

    # -- the Forge protocol ------------------------------------------------------------------

    def find_open(self, head: str, base: str) -> ChangeRequest | None:
        found = self._find(head, base)
        return self._request(found) if found is not None else None

    def open_or_update(self, spec: ChangeRequestSpec) -> tuple[Outcome, ChangeRequest]:
        found = self._find(spec.head, spec.base)
        if found is None:
            created = self._create(spec)
            if created is not None:
                return Outcome.CREATED, self._request(created, spec)
            found = self._find(spec.head, spec.base)
            if found is None:
                raise ForgeError(
                    f"GitLab said a merge request for {spec.head} exists, but none is open"
                )
        changes: dict[str, object] = {}
        if found.title != spec.title:
            changes["title"] = spec.title
        if (found.description or "") != spec.body:
            changes["description"] = spec.body
        missing = [label for label in spec.labels if label not in (found.labels or [])]
        if missing:
            changes["add_labels"] = ",".join(missing)
        present = {str(r.get("username", "")) for r in (found.reviewers or [])}
        wanted = [r for r in spec.reviewers if "/" not in r and r.lstrip("@") not in present]
        added = self._user_ids(tuple(wanted))
        if added:
            have = {int(r["id"]) for r in (found.reviewers or [])}
            changes["reviewer_ids"] = sorted(have | set(added))
        if spec.squash is not None and bool(getattr(found, "squash", False)) != spec.squash:
            changes["squash"] = spec.squash
        if not changes:
            return Outcome.UNCHANGED, self._request(found, spec)
        iid = found.iid
        self.call(lambda: self.project.mergerequests.update(iid, changes))
        return Outcome.UPDATED, self._request(found, spec)

    def open_requests(self, prefix: str) -> dict[str, ChangeRequest]:
        """The open merge requests from this project's branches under `prefix`, by branch:
        one listing of the opened ones (paginated, 100 a page), filtered here because
        `source_branch` takes one exact name. A fork's merge request is not promoter's; of
        two on one branch (against two targets) the newest is kept."""
        listed = self.call(
            lambda: self.project.mergerequests.list(
                state="opened", order_by="created_at", sort="desc", per_page=_PAGE,
                get_all=True,
            )
        )  # fmt: skip
        found: dict[str, ChangeRequest] = {}
        for request in listed:
            branch = str(request.source_branch)
            same = request.source_project_id == request.target_project_id
            if same and branch.startswith(prefix) and branch not in found:
                found[branch] = self._request(request)
        return found

    def enable_auto_merge(self, cr: ChangeRequest) -> None:
        """Merge when the pipeline succeeds, and only the head it validated (`sha`).

        `auto_merge` exists since GitLab 17.11; an older server ignores the unknown
        parameter and would merge at once, so it gets `merge_when_pipeline_succeeds`. A
        project with merge trains gets the merge-train API: the merge call can skip the
        train when the head pipeline already passed.

        Right after a merge request is written GitLab may answer 405 while it creates the
        pipeline. The merge call runs under the one retry layer (`call`), which retries that
        405 as it retries 5xx, 429 and dropped connections: at most `retry.ATTEMPTS` (5)
        merge requests in all, whatever mix of those answers comes, within
        `retry.MAX_SECONDS`. python-gitlab retries nothing (`retry_transient_errors=False`,
        `obey_rate_limit=False`), so no second layer multiplies them."""
        request = self.call(lambda: self.project.mergerequests.get(cr.number))
        head = request.sha
        modern = self._version() >= (17, 11)
        options: dict[str, Any] = {"sha": head}
        if cr.spec.squash is not None:
            options["squash"] = cr.spec.squash
        if self._uses_merge_trains():
            options["auto_merge" if modern else "when_pipeline_succeeds"] = True
            path = f"/projects/{self.project.encoded_id}/merge_trains/merge_requests/{cr.number}"
            merge: Callable[[], object] = functools.partial(
                self.client.http_post, path, query_data=options
            )
        else:
            options["auto_merge" if modern else "merge_when_pipeline_succeeds"] = True
            merge = functools.partial(request.merge, **options)
        self.call(merge, transient=is_merge_transient)

    def _uses_merge_trains(self) -> bool:
        found = self.call(lambda: self.client.projects.get(self.path))
        return bool(getattr(found, "merge_trains_enabled", False))

    def _version(self) -> tuple[int, int]:
        """The server's (major, minor); (0, 0) when it does not say."""
        found = self.call(self.client.version)
        text = str(found[0] if isinstance(found, tuple) else found)
        parts = text.split("-", 1)[0].split(".")
        try:
            return int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            return 0, 0

    def close(self, cr: ChangeRequest, reason: str) -> None:
        request = self.call(lambda: self.project.mergerequests.get(cr.number, lazy=True))
        self.call(lambda: request.notes.create({"body": reason}))
        self.call(lambda: self.project.mergerequests.update(cr.number, {"state_event": "close"}))

    def signature_required(self, base: str) -> bool:
        return False

    def review_hint(self, base: str, head: str) -> str | None:
        return None

    def store(self, stats: GitStats) -> Store:
        from promoter.forges.gitlab_store import GitLabStore

        return GitLabStore(self, stats)

    def changed_files(self, before: str, after: str) -> tuple[str, ...] | None:
        try:
            found = self.call(lambda: self.project.repository_compare(before, after))
        except ForgeError:
            return None
        if not isinstance(found, dict) or found.get("compare_timeout"):
            return None
        names: list[str] = []
        for diff in found.get("diffs") or []:
            names += [diff.get("old_path"), diff.get("new_path")]
        return tuple(dict.fromkeys(n for n in names if n))

    def commit_checks(self, sha: str, names: tuple[str, ...] = ()) -> tuple[CommitCheck, ...]:
        """No `names`: the latest pipeline, from the single-commit API (`last_pipeline`,
        else its `status`: the same pipeline's), one GET. With `names`: those jobs of the
        commit's statuses (GitLab lists the latest of each name; the newest id wins)."""
        if not names:
            fields = self.call(lambda: self.project.commits.get(sha)).attributes
            pipeline = fields.get("last_pipeline")
            status = pipeline.get("status") if isinstance(pipeline, dict) else None
            if status is None:
                status = fields.get("status")
            if status is None:
                return ()
            return (commit_check("pipeline", "", status, _SUCCESS, _WAITING),)
        commit = self.project.commits.get(sha, lazy=True)
        listed = self.call(lambda: commit.statuses.list(get_all=True, per_page=_PAGE))
        newest: dict[str, tuple[int, object]] = {}
        for item in listed:
            fields = item.attributes
            name, ident = fields.get("name"), fields.get("id")
            if not isinstance(name, str) or name not in names or not isinstance(ident, int):
                continue
            if name not in newest or newest[name][0] < ident:
                newest[name] = (ident, fields.get("status"))
        return tuple(
            commit_check("job", name, newest[name][1], _SUCCESS, _WAITING)
            for name in names
            if name in newest
        )

    # -- steps -------------------------------------------------------------------------------

    def _find(self, head: str, base: str) -> ProjectMergeRequest | None:
        found = self.call(
            lambda: self.project.mergerequests.list(
                source_branch=head, target_branch=base, state="opened", get_all=False
            )
        )
        return found[0] if found else None

    def _create(self, spec: ChangeRequestSpec) -> ProjectMergeRequest | None:
        """The new MR, or None when a racing run created it first (409; then find it)."""
        data: dict[str, object] = {
            "source_branch": spec.head,
            "target_branch": spec.base,
            "title": ("Draft: " if spec.draft else "") + spec.title,
            "description": spec.body,
            "remove_source_branch": True,
        }
        if spec.labels:
            data["labels"] = ",".join(spec.labels)
        if spec.squash is not None:
            data["squash"] = spec.squash
        reviewers = self._user_ids(spec.reviewers)
        if reviewers:
            data["reviewer_ids"] = reviewers
        try:
            return self.call(lambda: self.project.mergerequests.create(data))
        except ForgeError as error:
            if "already exists" in str(error):
                return None
            raise

    def _user_ids(self, reviewers: tuple[str, ...]) -> list[int]:
        """Users by username (`@alice` or `alice`); groups (`acme/sre`) are not reviewers on
        GitLab and are left out."""
        ids: list[int] = []
        for name in reviewers:
            if "/" in name:
                continue
            lookup = functools.partial(
                self.client.users.list, username=name.lstrip("@"), get_all=False
            )
            found = self.call(lookup)
            ids += [int(user.id) for user in found]
        return ids

    def _request(
        self, found: ProjectMergeRequest, spec: ChangeRequestSpec | None = None
    ) -> ChangeRequest:
        spec = spec or ChangeRequestSpec(
            head=found.source_branch,
            base=found.target_branch,
            title=found.title,
            body=found.description or "",
        )
        return ChangeRequest(int(found.iid), str(found.web_url), spec)

    # -- one retry layer and error translation -------------------------------------------------

    def call(
        self,
        action: Callable[[], T],
        *,
        transient: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Run one python-gitlab action under the retry layer; failures become ForgeErrors.
        `transient`: what this call retries (default `is_transient`)."""
        return call_with_retries(
            action,
            transient=transient or is_transient,
            wait=self._wait,
            translate=lambda error: translate(error, self.path),
            sleep=self.sleep,
            on_attempt=self._count,
        )

    def _count(self) -> None:
        self.calls += 1

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._headers = dict(response.headers) if response.status_code == 429 else {}

    def _wait(self, retry_state: object) -> float:
        return wait_for(retry_state, self._headers)


def is_transient(error: BaseException) -> bool:
    """Worth another try: 5xx, 429, and a dropped or timed-out connection."""
    from gitlab.exceptions import GitlabError

    if isinstance(error, GitlabError):
        code = error.response_code or 0
        return code >= 500 or code == 429
    return is_connection_transient(error)


def is_merge_transient(error: BaseException) -> bool:
    """The merge call also retries 405: GitLab answers it while it creates the pipeline of
    a merge request just written."""
    from gitlab.exceptions import GitlabError

    return is_transient(error) or (isinstance(error, GitlabError) and error.response_code == 405)


def _client_class(base: type[Gitlab]) -> type[Gitlab]:
    """python-gitlab with its own 429 handling off: it would sleep for any `Retry-After`,
    unbounded, ten times; this module's retry layer caps the wait and the total time."""

    class Client(base):  # type: ignore[valid-type,misc]
        def http_request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("obey_rate_limit", False)
            return super().http_request(*args, **kwargs)

    return Client


def wait_for(
    retry_state: object, headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float:
    """After a failed attempt: the answer's `Retry-After`, else `RateLimit-Reset` (epoch
    seconds), else exponential backoff; never more than a minute per wait (the retry layer
    bounds the total)."""
    try:
        if headers.get("Retry-After") is not None:
            return max(0.0, min(float(headers["Retry-After"]), MAX_WAIT))
        if headers.get("RateLimit-Reset") is not None:
            return max(0.0, min(float(headers["RateLimit-Reset"]) - now(), MAX_WAIT))
    except ValueError:
        return backoff(retry_state)
    return backoff(retry_state)


def translate(error: BaseException, path: str) -> ForgeError | None:
    """The PromoterError for anything python-gitlab or requests raise (None: not theirs)."""
    from gitlab.exceptions import GitlabError

    if isinstance(error, GitlabError):
        code = error.response_code
        message = redact(str(error.error_message or error)).strip() or f"HTTP {code}"
        if code == 401:
            return ForgeCredentialsError(
                f"GitLab rejected the token ({message}): set PROMOTER_TOKEN to a valid "
                f"project access token of {path} with the api scope"
            )
        if code == 403:
            return ForgeAuthError(
                f"the token may not do this in {path} ({message}): it needs the api scope "
                "and at least the Developer role"
            )
        if code == 404:
            return ForgeError(f"{path} not found on GitLab, or the token cannot see it ({message})")
        return ForgeError(f"GitLab: {message} (HTTP {code}, {path})", transient=is_transient(error))
    return unreachable(error, "GitLab", path)
