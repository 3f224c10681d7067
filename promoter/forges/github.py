"""GitHub (github.com and Enterprise Server) pull requests through PyGithub.

One living PR per promotion branch: found by `owner:branch`, created when missing,
patched only where it differs, and found-then-updated when a racing run created it first
(422 "A pull request already exists"). PyGithub's own retries are off (`retry=None`):
this module's tenacity loop is the one retry layer, for 5xx and rate limits only,
honouring `Retry-After` and `x-ratelimit-reset`. Every other failure becomes one clear
`ForgeError` line. Knows nothing of YAML or git.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from promoter.errors import (
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
    from github.GithubException import GithubException
    from github.PullRequest import PullRequest
    from github.Repository import Repository

T = TypeVar("T")
_SECONDARY = "secondary rate limit"
_STATUS_SUCCESS = frozenset({"success"})
_STATUS_WAITING = frozenset({"pending"})
"""Commit status states: `error` and `failure` are finished without success."""
_CHECK_SUCCESS = frozenset({"success", "neutral", "skipped"})
_CHECK_WAITING = frozenset({"queued", "in_progress", "waiting", "requested", "pending"})
"""Check runs: the statuses of one not completed, and the conclusions that pass."""
_COMPARE_FILES_LISTED = 300
"""The compare API lists at most this many files."""


def api_url_for(repository_url: str, environ: Mapping[str, str]) -> str:
    """The REST root for a repository URL: api.github.com, `GITHUB_API_URL`, or GHES."""
    parts = urlsplit(repository_url)
    if parts.hostname == "github.com":
        return "https://api.github.com"
    if environ.get("GITHUB_API_URL"):
        return environ["GITHUB_API_URL"].rstrip("/")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/api/v3"


def repository_name(repository_url: str) -> str:
    """`owner/name` from `https://host/owner/name(.git)`."""
    path = urlsplit(repository_url).path.strip("/").removesuffix(".git")
    parts = path.split("/")
    if len(parts) < 2 or not all(parts[-2:]):
        raise ForgeError(f"cannot tell owner/repository from {repository_url!r}")
    return "/".join(parts[-2:])


def installation_token(
    repository_url: str,
    app_id: str,
    private_key: str,
    api_url: str | None,
    environ: Mapping[str, str],
) -> str:
    """Mint a GitHub App installation token for the repository (valid for an hour).

    An App token pushes, opens PRs that trigger workflows, and gets verified API commits.
    """
    from github import Auth, GithubIntegration
    from github.GithubException import GithubException

    full_name = repository_name(repository_url)
    owner, name = full_name.split("/")
    try:
        integration = GithubIntegration(
            auth=Auth.AppAuth(int(app_id), private_key),
            base_url=(api_url or api_url_for(repository_url, environ)).rstrip("/"),
        )
        installation = integration.get_repo_installation(owner, name)
        return str(integration.get_access_token(installation.id).token)
    except ValueError as error:
        raise ForgeAuthError(f"PROMOTER_GITHUB_APP_ID must be a number, got {app_id!r}") from error
    except Exception as error:
        found = translate(error, full_name)
        if found is None:
            raise
        if not isinstance(error, GithubException):
            raise found from error  # unreachable, not refused: say so, not "not installed"
        raise ForgeAuthError(
            f"GitHub App {app_id} could not get a token for {full_name}: {found.message} "
            "(is the App installed on the repository, and is the private key its own?)"
        ) from error


class GitHubForge:
    name = "github"
    has_requests = True

    def __init__(
        self,
        repository_url: str,
        *,
        token: Secret | None,
        api_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        write_interval: float | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: int = 30,
    ) -> None:
        from github import Auth, Github

        if token is None:
            raise ForgeAuthError(
                "no GitHub token: set PROMOTER_TOKEN (or GITHUB_TOKEN) to a token that can "
                "write pull requests"
            )
        self.full_name = repository_name(repository_url)
        environ = environ or {}
        self.api_url = (api_url or api_url_for(repository_url, environ)).rstrip("/")
        interval = write_interval
        if interval is None:
            interval = float(environ.get("PROMOTER_GITHUB_WRITE_INTERVAL", "1.0"))
        self.client = Github(
            base_url=self.api_url,
            auth=Auth.Token(token.reveal()),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=interval,
            timeout=timeout,
        )
        self.sleep = sleep
        self.calls = 0
        self._repo: Repository | None = None

    # -- the Forge protocol ------------------------------------------------------------

    def find_open(self, head: str, base: str) -> ChangeRequest | None:
        pull = self._find(head, base)
        return self._request(pull) if pull is not None else None

    def open_or_update(self, spec: ChangeRequestSpec) -> tuple[Outcome, ChangeRequest]:
        pull = self._find(spec.head, spec.base)
        if pull is None:
            created = self._create(spec)
            if created is not None:
                self._decorate(created, spec, fresh=True)
                return Outcome.CREATED, self._request(created, spec)
            pull = self._find(spec.head, spec.base)
            if pull is None:
                raise ForgeError(
                    f"GitHub said a pull request for {spec.head} exists, but none is open"
                )
        changed = self._update(pull, spec)
        changed |= self._decorate(pull, spec, fresh=False)
        outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        return outcome, self._request(pull, spec)

    def open_requests(self, prefix: str) -> dict[str, ChangeRequest]:
        """The open pull requests from branches under `prefix`, by branch: one listing of
        the open ones (paginated), filtered by head (`github_store.open_pulls`)."""
        from promoter.forges.github_store import open_pulls

        return {branch: self._request(pull) for branch, pull in open_pulls(self, prefix).items()}

    def enable_auto_merge(self, cr: ChangeRequest) -> None:
        """Auto-merge, squashing unless the environment says `squash: false`; a PR that is
        already mergeable ("clean status") is merged now."""
        pull = self.call(lambda: self.repo.get_pull(cr.number))
        method = "merge" if cr.spec.squash is False else "squash"
        try:
            self.call(lambda: pull.enable_automerge(merge_method=method.upper()))
        except ForgeError as error:
            if "clean status" not in str(error).lower():
                raise
            head = pull.head.sha
            self.call(lambda: pull.merge(merge_method=method, sha=head))

    def close(self, cr: ChangeRequest, reason: str) -> None:
        pull = self.call(lambda: self.repo.get_pull(cr.number))
        self.call(lambda: pull.create_issue_comment(reason))
        self.call(lambda: pull.edit(state="closed"))

    def signature_required(self, base: str) -> bool:
        """Branch protection's "require signed commits"; unreadable (no admin) counts as no.

        Also the run's first API call before anything is pushed, so a token the API
        refuses (401) stops the run with nothing half-done.
        """
        try:
            branch = self.call(lambda: self.repo.get_branch(base))
            return bool(self.call(branch.get_required_signatures))
        except ForgeCredentialsError:
            raise
        except ForgeError:
            return False

    def review_hint(self, base: str, head: str) -> str | None:
        return None

    def store(self, stats: GitStats) -> Store:
        from promoter.forges.github_store import GitHubStore

        return GitHubStore(self, stats)

    def changed_files(self, before: str, after: str) -> tuple[str, ...] | None:
        """Files of `before...after` (both names of a rename). GitHub lists at most 300:
        a comparison that long is "unknown", as is one the token cannot read."""
        try:
            comparison = self.call(lambda: self.repo.compare(before, after))
            files = self.call(lambda: list(comparison.files))
        except ForgeError:
            return None
        if len(files) >= _COMPARE_FILES_LISTED:
            return None
        names: list[str] = []
        for changed in files:
            names.append(changed.filename)
            if changed.previous_filename:
                names.append(changed.previous_filename)
        return tuple(dict.fromkeys(names))

    def commit_checks(self, sha: str, names: tuple[str, ...] = ()) -> tuple[CommitCheck, ...]:
        """The commit's statuses (newest first, so the first of each context is its
        latest) and its latest check runs, both paged in full; with `names`, only the
        contexts and check runs of those names. Neutral and skipped check runs pass, as
        they do for GitHub's required checks."""
        commit = self.repo.get_commit(sha)  # lazy: no GET of the commit itself
        found: dict[tuple[str, str], CommitCheck] = {}
        for status in self.call(lambda: list(commit.get_statuses())):
            context = status.context
            if (names and context not in names) or ("status", context) in found:
                continue
            found["status", context] = commit_check(
                "status", context, status.state, _STATUS_SUCCESS, _STATUS_WAITING
            )
        for run in self.call(lambda: list(commit.get_check_runs())):
            if names and run.name not in names:
                continue
            word = run.conclusion if run.status == "completed" else run.status
            waiting = _CHECK_WAITING if run.status != "completed" else frozenset()
            found.setdefault(
                ("check", run.name), commit_check("check", run.name, word, _CHECK_SUCCESS, waiting)
            )
        return tuple(found.values())

    # -- steps -------------------------------------------------------------------------

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            lazy = self.client.withLazy(True)  # no GET until an attribute is read
            self._repo = self.call(lambda: lazy.get_repo(self.full_name))
        return self._repo

    def _find(self, head: str, base: str) -> PullRequest | None:
        owner = self.full_name.split("/")[0]
        pulls = self.call(
            lambda: list(self.repo.get_pulls(state="open", head=f"{owner}:{head}", base=base))
        )
        return pulls[0] if pulls else None

    def _create(self, spec: ChangeRequestSpec) -> PullRequest | None:
        """The new PR, or None when a racing run created it first (then find it)."""
        try:
            return self.call(
                lambda: self.repo.create_pull(
                    base=spec.base,
                    head=spec.head,
                    title=spec.title,
                    body=spec.body,
                    draft=spec.draft,
                )
            )
        except ForgeError as error:
            if "already exists" in str(error):
                return None
            raise

    def _update(self, pull: PullRequest, spec: ChangeRequestSpec) -> bool:
        if pull.title == spec.title and (pull.body or "") == spec.body:
            return False
        self.call(lambda: pull.edit(title=spec.title, body=spec.body))
        return True

    def _decorate(self, pull: PullRequest, spec: ChangeRequestSpec, *, fresh: bool) -> bool:
        """Add missing labels and review requests; never remove what humans added."""
        changed = False
        have = set() if fresh else {label.name for label in pull.labels}
        missing = [label for label in spec.labels if label not in have]
        if missing:
            self.call(lambda: pull.add_to_labels(*missing))
            changed = True
        users, teams = _split_reviewers(spec.reviewers)
        if not fresh:
            users = [u for u in users if u not in {r.login for r in pull.requested_reviewers}]
            teams = [t for t in teams if t not in {r.slug for r in pull.requested_teams}]
        if users or teams:
            self.call(lambda: pull.create_review_request(reviewers=users, team_reviewers=teams))
            changed = True
        return changed

    def _request(self, pull: PullRequest, spec: ChangeRequestSpec | None = None) -> ChangeRequest:
        spec = spec or ChangeRequestSpec(
            head=pull.head.ref, base=pull.base.ref, title=pull.title, body=pull.body or ""
        )
        return ChangeRequest(pull.number, pull.html_url, spec)

    # -- one retry layer and error translation ------------------------------------------

    def call(self, action: Callable[[], T]) -> T:
        """Run one PyGithub action under the retry layer; failures become `ForgeError`s.

        Public because `github_store.GitHubStore` shares this forge's client and layer.
        """
        return call_with_retries(
            action,
            transient=is_transient,
            wait=_wait_for,
            translate=lambda error: translate(error, self.full_name),
            sleep=self.sleep,
            on_attempt=self._count,
        )

    def _count(self) -> None:
        self.calls += 1


def is_transient(error: BaseException) -> bool:
    """Worth another try: 5xx, rate limits, and a dropped or timed-out connection."""
    from github.GithubException import GithubException

    if isinstance(error, GithubException):
        return _transient(error)
    return is_connection_transient(error)


def translate(error: BaseException, full_name: str) -> ForgeError | None:
    """The `PromoterError` for anything PyGithub or requests raise (None: not theirs).

    The boundary map of STYLE §4: `tests/forges/test_exception_map.py` checks that every
    exception class of both libraries lands here with one clear line.
    """
    from github.GithubException import BadAttributeException, GithubException

    if isinstance(error, GithubException):
        return _translate(error, full_name)
    if isinstance(error, BadAttributeException):
        return ForgeError(
            f"GitHub sent an unexpected value for {error.actual_value!r} ({full_name}); "
            "is the API URL a GitHub API?"
        )
    return unreachable(error, "GitHub", full_name)


def _split_reviewers(reviewers: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """`acme/sre` is a team (slug `sre`); `alice` or `@alice` a user."""
    users = [r.lstrip("@") for r in reviewers if "/" not in r]
    teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
    return users, teams


def _transient(error: GithubException) -> bool:
    if error.status >= 500:
        return True
    message = _message(error).lower()
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    if error.status in (403, 429):
        if _SECONDARY in message or "retry-after" in headers:
            return True
        return headers.get("x-ratelimit-remaining") == "0"
    return False


def _wait_for(retry_state: object) -> float:
    """Retry-After, else the primary limit's reset, else short exponential backoff."""
    from github.GithubException import GithubException

    outcome = getattr(retry_state, "outcome", None)
    error = outcome.exception() if outcome is not None else None
    if not isinstance(error, GithubException):
        return backoff(retry_state)
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    if "retry-after" in headers:
        try:
            return min(float(headers["retry-after"]), MAX_WAIT)
        except ValueError:
            return backoff(retry_state)
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        try:
            wait = float(headers["x-ratelimit-reset"]) - time.time()
        except ValueError:
            return backoff(retry_state)
        return min(max(wait, 0.0) + 1.0, MAX_WAIT)
    return backoff(retry_state)


def _message(error: GithubException) -> str:
    data = error.data
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        details = [
            str(e.get("message") or e.get("code") or "")
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        return "; ".join(part for part in [text, *details] if part)
    return str(data or error.message or "")


def _translate(error: GithubException, full_name: str) -> ForgeError:
    message = redact(_message(error)) or f"HTTP {error.status}"
    if error.status == 401:
        return ForgeCredentialsError(
            f"GitHub rejected the token ({message}): set PROMOTER_TOKEN to a valid token "
            f"with access to {full_name}"
        )
    if error.status == 403 and "not accessible" in message.lower():
        return ForgeAuthError(
            f"token cannot write pull requests in {full_name} ({message}): it needs "
            "contents:write and pull_requests:write"
        )
    if error.status == 404:
        return ForgeError(
            f"{full_name} not found on GitHub, or the token cannot see it ({message})"
        )
    return ForgeError(f"GitHub: {message} (HTTP {error.status}, {full_name})")
