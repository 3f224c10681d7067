"""What the CI system tells us: where the build came from, which forge we talk to, the token.

GitHub Actions and GitLab CI each describe the triggering build in their own variables;
this module turns them into one `Source` and finds the credential each forge's jobs
usually carry. Reads only the environment it is given; owns no other I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from promoter.errors import ConfigError

TOKEN_VARIABLES = {
    "github": ("PROMOTER_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"),
    "gitlab": ("PROMOTER_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN"),
    "local": ("PROMOTER_TOKEN",),
}
"""Where each forge's token usually lives, in order; PROMOTER_TOKEN always wins."""

BASIC_AUTH_USER = {"github": "x-access-token", "gitlab": "oauth2", "local": "x-access-token"}


@dataclass(frozen=True, slots=True)
class Source:
    """The build being promoted, for commit trailers and PR bodies (all optional)."""

    repository: str | None = None
    commit: str | None = None
    pipeline_url: str | None = None


def read_source(env: Mapping[str, str]) -> Source:
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        repo = env.get("GITHUB_REPOSITORY")
        run = env.get("GITHUB_RUN_ID")
        return Source(
            repository=f"{server}/{repo}" if repo else None,
            commit=env.get("GITHUB_SHA"),
            pipeline_url=f"{server}/{repo}/actions/runs/{run}" if repo and run else None,
        )
    if env.get("GITLAB_CI") == "true":
        return Source(
            repository=env.get("CI_PROJECT_URL"),
            commit=env.get("CI_COMMIT_SHA"),
            pipeline_url=env.get("CI_PIPELINE_URL") or env.get("CI_JOB_URL"),
        )
    return Source()


def infer_forge(host: str | None, env: Mapping[str, str]) -> str:
    """github, gitlab or local, from the remote's host and the CI's own server URL."""
    if host is None:
        return "local"
    host = host.lower()
    github = {"github.com"} | _hosts(env.get("GITHUB_SERVER_URL"))
    gitlab = {"gitlab.com"} | _hosts(env.get("CI_SERVER_URL"))
    if host in github or host.endswith(".github.com") or host.endswith(".ghe.com"):
        return "github"
    if host in gitlab or host.startswith("gitlab."):
        return "gitlab"
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return "local"


def find_token(forge: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable name, token) of the first non-empty candidate for `forge`."""
    for name in TOKEN_VARIABLES.get(forge, ("PROMOTER_TOKEN",)):
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _hosts(url: str | None) -> set[str]:
    host = urlsplit(url).hostname if url else None
    return {host.lower()} if host else set()


def mask_commands(env: Mapping[str, str]) -> list[str]:
    """`::add-mask::` lines for every token variable set, under GitHub Actions only."""
    if env.get("GITHUB_ACTIONS") != "true":
        return []
    names = dict.fromkeys(n for names in TOKEN_VARIABLES.values() for n in names)
    return [f"::add-mask::{env[n]}" for n in names if env.get(n, "").strip()]


def write_github_outputs(outputs: Mapping[str, str], summary: str, env: Mapping[str, str]) -> None:
    """Append step outputs to `$GITHUB_OUTPUT` and Markdown to `$GITHUB_STEP_SUMMARY`."""
    if env.get("GITHUB_ACTIONS") != "true":
        return
    output_file = env.get("GITHUB_OUTPUT")
    if output_file:
        with open(output_file, "a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                if "\n" in value:
                    delimiter = f"promoter_{abs(hash(value)):x}"
                    handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
                else:
                    handle.write(f"{name}={value}\n")
    summary_file = env.get("GITHUB_STEP_SUMMARY")
    if summary_file and summary:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(summary if summary.endswith("\n") else summary + "\n")


def find_github_app(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(App id, PEM private key) from `PROMOTER_GITHUB_APP_ID` and
    `PROMOTER_GITHUB_APP_PRIVATE_KEY` (the PEM text, or a path to the PEM file)."""
    app_id = env.get("PROMOTER_GITHUB_APP_ID", "").strip()
    key = env.get("PROMOTER_GITHUB_APP_PRIVATE_KEY", "").strip()
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
