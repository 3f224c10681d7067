"""What the CI system tells us: where the build came from, what started it, its server.

GitHub Actions and GitLab CI each describe the triggering build in their own variables;
this module turns them into one `Source` and `Trigger`, and says which CI runs the job and
which forge host it belongs to (a CI system is named by its forge kind, `forges.KINDS`,
which knows the tokens). Reads only the environment it is given, and writes the CI's
outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from promoter import sinks
from promoter.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Source:
    """The build being promoted, for commit trailers and PR bodies (all optional)."""

    repository: str | None = None
    commit: str | None = None
    pipeline_url: str | None = None


_COMMIT = re.compile(r"[0-9a-f]{7,64}")


def read_source(environ: Mapping[str, str]) -> Source:
    """The build, from the CI's variables; a value that is not what its variable should
    hold (a commit id, a web URL) is dropped rather than carried into trailers and links."""
    found = _read_source(environ)
    commit = found.commit if found.commit and _COMMIT.fullmatch(found.commit) else None
    return Source(
        repository=_web_url(found.repository),
        commit=commit,
        pipeline_url=_web_url(found.pipeline_url),
    )


def _web_url(url: str | None) -> str | None:
    return url if url and sinks.is_web_url(url) else None


def _read_source(environ: Mapping[str, str]) -> Source:
    if environ.get("GITHUB_ACTIONS") == "true":
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        repo = environ.get("GITHUB_REPOSITORY")
        run = environ.get("GITHUB_RUN_ID")
        return Source(
            repository=f"{server}/{repo}" if repo else None,
            commit=environ.get("GITHUB_SHA"),
            pipeline_url=f"{server}/{repo}/actions/runs/{run}" if repo and run else None,
        )
    if environ.get("GITLAB_CI") == "true":
        return Source(
            repository=environ.get("CI_PROJECT_URL"),
            commit=environ.get("CI_COMMIT_SHA"),
            pipeline_url=environ.get("CI_PIPELINE_URL") or environ.get("CI_JOB_URL"),
        )
    return Source()


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Trigger:
    """What started this CI run, as the loop guards need it (every field optional).

    `changed` is None when the files the triggering push changed are unknown (no push
    event, or a push of more commits than the payload lists): a path filter then does not
    skip, it cannot tell.
    """

    system: str = "none"
    event: str | None = None
    commit: str | None = None
    before: str | None = None
    message: str | None = None
    author: Person | None = None
    committer: Person | None = None
    actors: tuple[str, ...] = ()
    """Accounts that caused the run: the actor, the triggering actor, the event's sender."""
    changed: tuple[str, ...] | None = None
    source: Source = field(default_factory=Source)


MAX_EVENT_BYTES = 25 * 1024 * 1024
_PUSH_COMMITS_LISTED = 20
"""GitHub lists at most 20 commits in a push payload: with 20, more may be missing."""
_NO_COMMIT = "0" * 40


def read_trigger(environ: Mapping[str, str]) -> Trigger:
    """The triggering build from GitHub Actions (variables and the event payload), GitLab
    CI (variables), or nothing for any other CI (then flags say what they need)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return _github_trigger(environ)
    if environ.get("GITLAB_CI") == "true":
        return _gitlab_trigger(environ)
    return Trigger()


def _github_trigger(environ: Mapping[str, str]) -> Trigger:
    event = _event_payload(environ.get("GITHUB_EVENT_PATH"))
    name = environ.get("GITHUB_EVENT_NAME")
    actors = [environ.get("GITHUB_ACTOR"), environ.get("GITHUB_TRIGGERING_ACTOR")]
    sender = event.get("sender")
    if isinstance(sender, dict):
        actors.append(_text(sender.get("login")))
    head = event.get("head_commit")
    head = head if isinstance(head, dict) else {}
    message = _text(head.get("message"))
    changed: tuple[str, ...] | None = None
    commits = event.get("commits")
    if name == "push" and isinstance(commits, list) and len(commits) < _PUSH_COMMITS_LISTED:
        files: list[str] = []
        for commit in commits:
            if isinstance(commit, dict):
                for key in ("added", "modified", "removed"):
                    files += [f for f in commit.get(key) or [] if isinstance(f, str)]
        changed = tuple(dict.fromkeys(files))
    pull = event.get("pull_request")
    if isinstance(pull, dict) and message is None:
        message = "\n\n".join(t for t in (_text(pull.get("title")), _text(pull.get("body"))) if t)
    before = _text(event.get("before"))
    return Trigger(
        system="github",
        event=name,
        commit=environ.get("GITHUB_SHA") or _text(event.get("after")),
        before=None if before in (None, _NO_COMMIT) else before,
        message=message,
        author=_person(head.get("author")),
        committer=_person(head.get("committer")),
        actors=tuple(dict.fromkeys(a for a in actors if a)),
        changed=changed,
        source=read_source(environ),
    )


def _gitlab_trigger(environ: Mapping[str, str]) -> Trigger:
    author = None
    name, _, rest = (environ.get("CI_COMMIT_AUTHOR") or "").partition("<")
    if rest:
        author = Person(name.strip(), rest.rstrip().removesuffix(">").strip())
    before = environ.get("CI_COMMIT_BEFORE_SHA")
    return Trigger(
        system="gitlab",
        event=environ.get("CI_PIPELINE_SOURCE"),
        commit=environ.get("CI_COMMIT_SHA"),
        before=None if not before or before == _NO_COMMIT else before,
        message=environ.get("CI_COMMIT_MESSAGE"),
        author=author,
        actors=tuple(a for a in (environ.get("GITLAB_USER_LOGIN"),) if a),
        source=read_source(environ),
    )


def _event_payload(path: str | None) -> dict[str, object]:
    """The event JSON the runner wrote; unreadable or not JSON is a clear input error."""
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_EVENT_BYTES + 1)
    except OSError as error:
        raise ConfigError(
            f"GITHUB_EVENT_PATH: cannot read the event payload ({error.strerror})", path=path
        ) from error
    if len(raw) > MAX_EVENT_BYTES:
        raise ConfigError("GITHUB_EVENT_PATH: the event payload is larger than 25 MiB", path=path)
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"GITHUB_EVENT_PATH: not JSON ({error})", path=path) from error
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _person(value: object) -> Person | None:
    if not isinstance(value, dict):
        return None
    return Person(_text(value.get("name")) or "", _text(value.get("email")) or "")


def read_system(environ: Mapping[str, str]) -> str | None:
    """The CI running this job, by the forge kind it belongs to: github, gitlab, or None."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    return None


def server_hosts(environ: Mapping[str, str]) -> dict[str, set[str]]:
    """The hosts each CI's server URL names (an Enterprise or self-managed instance), by
    the forge kind it belongs to; set whether or not that CI runs this job."""
    return {
        "github": _hosts(environ.get("GITHUB_SERVER_URL")),
        "gitlab": _hosts(environ.get("CI_SERVER_URL")),
    }


def _hosts(url: str | None) -> set[str]:
    host = urlsplit(url).hostname if url else None
    return {host.lower()} if host else set()


def mask_commands(environ: Mapping[str, str], variables: Sequence[str]) -> list[str]:
    """`::add-mask::` lines for every token variable set (`variables`: every forge kind's),
    under GitHub Actions only."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return []
    names = dict.fromkeys(variables)
    return [f"::add-mask::{environ[n]}" for n in names if environ.get(n, "").strip()]


DOTENV_LIMIT = 5 * 1024
"""GitLab's limit on a dotenv report's size (and one variable per line, no newlines)."""


def write_gitlab_dotenv(values: Mapping[str, str], path: str) -> None:
    """A dotenv report for later jobs (`artifacts: reports: dotenv:`): one `KEY=value` per
    line, values made single-line, the whole within GitLab's 5 KiB."""
    lines = [f"{key}={sinks.output_value(value)}\n" for key, value in values.items()]
    text = "".join(lines)
    if len(text.encode()) > DOTENV_LIMIT:
        raise ConfigError(f"the dotenv report would exceed GitLab's {DOTENV_LIMIT} bytes")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_github_outputs(
    outputs: Mapping[str, str], summary: str, environ: Mapping[str, str]
) -> None:
    """Append step outputs to `$GITHUB_OUTPUT` and Markdown to `$GITHUB_STEP_SUMMARY`."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    output_file = environ.get("GITHUB_OUTPUT")
    if output_file:
        with open(output_file, "a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                handle.write(f"{name}={sinks.output_value(value)}\n")
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    if summary_file and summary:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(summary if summary.endswith("\n") else summary + "\n")
