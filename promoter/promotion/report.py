"""What a run hands back to its CI: step outputs and a Markdown summary of each environment."""

from __future__ import annotations

from collections.abc import Mapping

from promoter import ci
from promoter.promotion.result import Result, Status
from promoter.redact import redact


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
    for env in result.environments:
        where = env.branch or ""
        if env.pull_request:
            where = f"[#{env.pull_request.number}]({env.pull_request.url})"
        elif env.commit:
            where = f"`{env.commit[:12]}` on {env.branch}"
        lines.append(f"| {env.env} | {env.status.value} | {env.summary() or '-'} | {where} |")
    return redact("\n".join(lines) + "\n")


def publish(result: Result, env: Mapping[str, str]) -> None:
    """Under GitHub Actions, write the step outputs and summary; elsewhere nothing."""
    ci.write_github_outputs(outputs(result), summary(result), env)


def mask_commands(env: Mapping[str, str]) -> list[str]:
    return ci.mask_commands(env)
