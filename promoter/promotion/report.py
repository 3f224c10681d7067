"""What a run hands back to its CI: step outputs and a Markdown summary of each environment."""

from __future__ import annotations

from collections.abc import Mapping

from promoter import ci, forges, sinks
from promoter.promotion.result import Result, Status


def outputs(result: Result) -> dict[str, str]:
    """`pr-url`, `pr-number`, `operation`, `commit-sha`, `changed`, `status` for Actions."""
    request = next((e.pull_request for e in result.environments if e.pull_request), None)
    commits = [e.commit for e in result.environments if e.pushed and e.commit]
    return {
        "changed": "true" if result.status is Status.CHANGED else "false",
        "status": result.status.value,
        "commit-sha": commits[-1] if commits else "",
        "pr-url": request.url if request else "",
        "pr-number": str(request.number) if request else "",
        "operation": request.operation if request else "none",
        "skipped": "true" if result.skip else "false",
        "skip-reason": f"{result.skip[0]}: {result.skip[1]}" if result.skip else "",
    }


def summary(result: Result) -> str:
    lines = ["### promoter", "", "| environment | status | change | where |", "|---|---|---|---|"]
    md = sinks.markdown_text
    for env in result.environments:
        where = md(env.branch or "")
        if env.pull_request:
            where = sinks.markdown_link(f"#{env.pull_request.number}", env.pull_request.url)
        elif env.commit:
            where = f"{sinks.markdown_code(env.commit[:12])} on {md(env.branch or '')}"
        change = md(env.summary() or "-")
        lines.append(f"| {md(env.env)} | {env.status.value} | {change} | {where} |")
    return "\n".join(lines) + "\n"


def dotenv(result: Result) -> dict[str, str]:
    """The GitLab job's report: `PROMOTE_STATUS`, `PROMOTE_MR_URL`, `PROMOTE_MR_IID`,
    `PROMOTE_OPERATION`, `PROMOTE_COMMIT_SHA` (and the skip, if any)."""
    found = outputs(result)
    return {
        "PROMOTE_STATUS": found["status"],
        "PROMOTE_CHANGED": found["changed"],
        "PROMOTE_MR_URL": found["pr-url"],
        "PROMOTE_MR_IID": found["pr-number"],
        "PROMOTE_OPERATION": found["operation"],
        "PROMOTE_COMMIT_SHA": found["commit-sha"],
        "PROMOTE_SKIP_REASON": found["skip-reason"],
    }


def publish(result: Result, environ: Mapping[str, str]) -> None:
    """Under GitHub Actions, write the step outputs and summary; with `PROMOTER_DOTENV` (the
    GitLab template sets it), a dotenv report; elsewhere nothing."""
    ci.write_github_outputs(outputs(result), summary(result), environ)
    if environ.get("PROMOTER_DOTENV"):
        ci.write_gitlab_dotenv(dotenv(result), environ["PROMOTER_DOTENV"])


def mask_commands(environ: Mapping[str, str]) -> list[str]:
    return ci.mask_commands(environ, forges.token_variables())
