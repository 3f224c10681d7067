"""The registry of forge kinds: everything that differs between forges, outside the adapter.

A `ForgeKind` declares what one forge is to the rest of promoter: its name, the hosts it
serves, where its tokens live and the user git's basic auth pairs them with, its compare
page, the push options that skip its CI, how a run finds its credential and how its
`Forge` opens. `register` adds one (a third forge is its adapter plus one `register`
call); `cli`, `redact` (through `register`) and `promotion` ask here instead of branching
on a forge's name. Client libraries load only when a kind opens its forge, so importing
the registry keeps `promote --help` fast.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from promoter import redact
from promoter.errors import ConfigError, ForgeAuthError
from promoter.redact import Secret

if TYPE_CHECKING:
    from promoter.forges import Credentials, Forge

PROMOTER_TOKEN = "PROMOTER_TOKEN"
"""promoter's own token variable: first for every forge."""


class Opener(Protocol):
    """Opens a kind's `Forge`, importing its client library."""

    def __call__(
        self,
        repository_url: str,
        *,
        token: Secret | None,
        api_url: str | None,
        environ: Mapping[str, str],
    ) -> Forge: ...


CredentialLookup = Callable[
    ["ForgeKind", str, Mapping[str, str], "str | None"], "Credentials | None"
]
"""`(kind, repository_url, environ, api_url)`: the run's one credential on this forge."""
SourceChanges = Callable[[str, str, Mapping[str, str]], "tuple[str, ...] | None"]
"""`(before, after, environ)`: files of the build's own push, through this forge's API."""


def _no_host(host: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ForgeKind:
    """One forge, as promoter outside its adapter sees it."""

    name: str
    opener: Opener
    is_host: Callable[[str], bool] = _no_host
    """The forge's own hosts (lower case); a CI's server URL adds one (`matches`)."""
    token_variables: tuple[str, ...] = (PROMOTER_TOKEN,)
    """Where its token usually lives, in order; `PROMOTER_TOKEN` always first."""
    basic_auth_user: str = "x-access-token"
    """The user git's basic auth pairs a token with."""
    token_users: Mapping[str, str] = field(default_factory=dict)
    """A token variable whose token goes with another user (a CI job token)."""
    compare_path: str | None = None
    """The compare page below a repository URL (`{old}`, `{new}`); None: no such page."""
    is_page_host: Callable[[str], bool] | None = None
    """A host whose repository pages have this forge's form (default: `is_host`)."""
    skip_ci_push_options: tuple[str, ...] = ()
    """Push options that skip the pushed commit's pipeline (instead of a message marker)."""
    lookup: CredentialLookup | None = None
    """How a run finds its credential (default: the first token variable set)."""
    source_changes: SourceChanges | None = None
    """The files of the push that started this forge's own CI (its compare API)."""

    def matches(self, host: str, servers: Collection[str] = ()) -> bool:
        """Whether `host` is this forge's: one of its own, or a CI server URL's host."""
        host = host.lower()
        return host in servers or self.is_host(host)

    def users(self) -> tuple[str, ...]:
        """Every user its tokens travel with in basic auth (for redaction)."""
        return tuple(dict.fromkeys((self.basic_auth_user, *self.token_users.values())))

    def find_token(self, environ: Mapping[str, str]) -> tuple[str, str] | None:
        """(variable name, token) of the first non-empty token variable."""
        for name in self.token_variables:
            value = environ.get(name, "").strip()
            if value:
                return name, value
        return None

    def credentials(
        self, repository_url: str, environ: Mapping[str, str], api_url: str | None
    ) -> Credentials | None:
        """The run's one credential on this forge (None: no token is set)."""
        lookup = self.lookup or token_credentials
        return lookup(self, repository_url, environ, api_url)

    def open(
        self,
        repository_url: str,
        *,
        token: Secret | None = None,
        api_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Forge:
        """The adapter; its client library loads only here."""
        return self.opener(repository_url, token=token, api_url=api_url, environ=environ or {})

    def compare_url(self, repository_url: str, old: str, new: str) -> str | None:
        """The web page of `old...new` in a repository on this forge."""
        if self.compare_path is None:
            return None
        return repository_url.rstrip("/") + self.compare_path.format(old=old, new=new)

    def serves_pages(self, host: str) -> bool:
        return (self.is_page_host or self.is_host)(host.lower())


KINDS: dict[str, ForgeKind] = {}
"""Every forge kind, in the order host inference tries them."""
FALLBACK = "local"
"""The kind of a remote no other kind claims."""
PAGES_FALLBACK = "github"
"""Whose compare page a source repository on an unknown host is assumed to have."""


def register(found: ForgeKind) -> ForgeKind:
    """Add (or replace) a kind; its basic-auth users are masked in every encoding."""
    KINDS[found.name] = found
    for user in found.users():
        redact.add_basic_auth_user(user)
    return found


def kind(name: str) -> ForgeKind:
    """The registered kind called `name`."""
    if name not in KINDS:
        raise ConfigError(f"unknown forge {name!r} (expected one of {', '.join(KINDS)})")
    return KINDS[name]


def names() -> tuple[str, ...]:
    return tuple(KINDS)


def infer(
    host: str | None, *, servers: Mapping[str, Collection[str]], running: str | None
) -> ForgeKind:
    """The kind of a remote's host: the kind that claims it (its own hosts, or the server
    URL its CI gives, `servers[name]`), else the kind whose CI runs this job (`running`),
    else the fallback. A remote without a host (a path) is the fallback's."""
    if host is not None:
        for found in KINDS.values():
            if found.matches(host, servers.get(found.name, ())):
                return found
        if running in KINDS:
            return KINDS[running]
    return KINDS[FALLBACK]


def token_variables() -> tuple[str, ...]:
    """Every kind's token variables, once each, in registration order."""
    return tuple(dict.fromkeys(n for k in KINDS.values() for n in k.token_variables))


def compare_url(repository_url: str, old: str, new: str) -> str | None:
    """The compare page of `old...new` in a source repository, in the form of the forge
    whose pages its host has (GitHub's when no kind claims it)."""
    host = urlsplit(repository_url).hostname or ""
    for found in KINDS.values():
        if found.compare_path is not None and found.serves_pages(host):
            return found.compare_url(repository_url, old, new)
    return KINDS[PAGES_FALLBACK].compare_url(repository_url, old, new)


def token_credentials(
    found: ForgeKind, repository_url: str, environ: Mapping[str, str], api_url: str | None
) -> Credentials | None:
    """The first token variable set, with the user its variable's token goes with."""
    from promoter.forges import Credentials

    token = found.find_token(environ)
    if token is None:
        return None
    variable, value = token
    user = found.token_users.get(variable, found.basic_auth_user)
    return Credentials(Secret(value), user, variable)


# -- GitHub ------------------------------------------------------------------------------


def _open_github(
    repository_url: str, *, token: Secret | None, api_url: str | None, environ: Mapping[str, str]
) -> Forge:
    from promoter.forges.github import GitHubForge

    return GitHubForge(repository_url, token=token, api_url=api_url, environ=environ)


def _is_github_host(host: str) -> bool:
    return host == "github.com" or host.endswith((".github.com", ".ghe.com"))


def _github_credentials(
    found: ForgeKind, repository_url: str, environ: Mapping[str, str], api_url: str | None
) -> Credentials | None:
    """`PROMOTER_TOKEN`, else a GitHub App's installation token, else `GITHUB_TOKEN`."""
    from promoter.forges import app_token

    app = find_github_app(environ)
    if app is not None and not environ.get(PROMOTER_TOKEN):
        return app_token(repository_url, *app, api_url, environ)
    return token_credentials(found, repository_url, environ, api_url)


def find_github_app(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(App id, PEM private key) from `PROMOTER_GITHUB_APP_ID` and
    `PROMOTER_GITHUB_APP_PRIVATE_KEY` (the PEM text, or a path to the PEM file)."""
    app_id = environ.get("PROMOTER_GITHUB_APP_ID", "").strip()
    key = environ.get("PROMOTER_GITHUB_APP_PRIVATE_KEY", "").strip()
    if not app_id or not key:
        return None
    if "-----BEGIN" not in key:
        try:
            with open(key, encoding="utf-8") as handle:
                key = handle.read()
        except OSError as error:
            raise ConfigError(
                f"PROMOTER_GITHUB_APP_PRIVATE_KEY is neither a PEM key nor a readable file "
                f"({error.strerror})"
            ) from error
    return app_id, key


def _github_source_changes(
    before: str, after: str, environ: Mapping[str, str]
) -> tuple[str, ...] | None:
    """The compare API of the repository an Actions run builds (`GITHUB_REPOSITORY`), for a
    push longer than its event lists. Needs a token that can read that repository."""
    github = KINDS["github"]
    repository = environ.get("GITHUB_REPOSITORY")
    token = github.find_token(environ)
    if not repository or token is None:
        return None
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    forge = github.open(
        f"{server}/{repository}",
        token=Secret(token[1]),
        api_url=environ.get("GITHUB_API_URL"),
        environ=environ,
    )
    return forge.changed_files(before, after)


# -- GitLab ------------------------------------------------------------------------------

JOB_TOKEN = "CI_JOB_TOKEN"


def _open_gitlab(
    repository_url: str, *, token: Secret | None, api_url: str | None, environ: Mapping[str, str]
) -> Forge:
    from promoter.forges.gitlab import GitLabForge

    return GitLabForge(repository_url, token=token, api_url=api_url, environ=environ)


def _is_gitlab_host(host: str) -> bool:
    return host == "gitlab.com" or host.startswith("gitlab.")


def _is_gitlab_pages(host: str) -> bool:
    return "gitlab" in host


def _gitlab_credentials(
    found: ForgeKind, repository_url: str, environ: Mapping[str, str], api_url: str | None
) -> Credentials | None:
    """The first token variable set; a CI job token only for its own project."""
    credentials = token_credentials(found, repository_url, environ, api_url)
    if credentials is not None and credentials.variable == JOB_TOKEN:
        _check_job_token(repository_url, environ)
    return credentials


def _check_job_token(repository_url: str, environ: Mapping[str, str]) -> None:
    """A CI job token may push only to its own project, and opens no merge requests
    elsewhere: say so before anything is cloned or pushed, with the token to use instead."""
    project = urlsplit(repository_url).path.strip("/").removesuffix(".git")
    own = environ.get("CI_PROJECT_PATH", "")
    if project != own:
        raise ForgeAuthError(
            f"CI_JOB_TOKEN of {own or 'this pipeline'} cannot push to {project} nor open "
            "merge requests there: create a project access token on it (scopes "
            "write_repository and api), store it as a masked CI/CD variable, and pass it "
            "as PROMOTER_TOKEN"
        )


# -- a remote without reviews ------------------------------------------------------------


def _open_local(
    repository_url: str, *, token: Secret | None, api_url: str | None, environ: Mapping[str, str]
) -> Forge:
    from promoter.forges.local import LocalForge

    return LocalForge(repository_url)


register(
    ForgeKind(
        name="github",
        opener=_open_github,
        is_host=_is_github_host,
        token_variables=(PROMOTER_TOKEN, "GITHUB_TOKEN", "GH_TOKEN"),
        basic_auth_user="x-access-token",
        compare_path="/compare/{old}...{new}",
        lookup=_github_credentials,
        source_changes=_github_source_changes,
    )
)
register(
    ForgeKind(
        name="gitlab",
        opener=_open_gitlab,
        is_host=_is_gitlab_host,
        token_variables=(PROMOTER_TOKEN, "GITLAB_TOKEN", JOB_TOKEN),
        basic_auth_user="oauth2",
        token_users={JOB_TOKEN: "gitlab-ci-token"},
        compare_path="/-/compare/{old}...{new}",
        is_page_host=_is_gitlab_pages,
        skip_ci_push_options=("ci.skip",),
        lookup=_gitlab_credentials,
    )
)
register(ForgeKind(name="local", opener=_open_local))
