"""What a run hands back to its CI: step outputs and a Markdown summary of each environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from promoter import ci, forges, sinks
from promoter.promotion.result import FileDiff, Result, Status


def outputs(result: Result) -> dict[str, str]:
    """The run's outputs, under the names the Action and the GitLab component share
    (`OUTPUTS`), plus GitHub's own names for the request (`pr-url`, `pr-number`)."""
    request = next((e.pull_request for e in result.environments if e.pull_request), None)
    commits = [e.commit for e in result.environments if e.pushed and e.commit]
    shared = {
        "changed": "true" if result.status is Status.CHANGED else "false",
        "status": result.status.value,
        "commit-sha": commits[-1] if commits else "",
        "request-url": request.url if request else "",
        "request-number": str(request.number) if request else "",
        "operation": request.operation if request else "none",
        "skipped": "true" if result.skip else "false",
        "skip-reason": f"{result.skip[0]}: {result.skip[1]}" if result.skip else "",
    }
    return {**shared, "pr-url": shared["request-url"], "pr-number": shared["request-number"]}


OUTPUTS = (
    "changed",
    "status",
    "commit-sha",
    "request-url",
    "request-number",
    "operation",
    "skipped",
    "skip-reason",
)
"""What every CI integration reports, by the same names: Action outputs, and the GitLab
dotenv report's `PROMOTE_<NAME>` (`dotenv_name`)."""


def dotenv_name(output: str) -> str:
    """`request-url` → `PROMOTE_REQUEST_URL`."""
    return "PROMOTE_" + output.upper().replace("-", "_")


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
    return "\n".join(lines + diff_details(result.shown_diffs)) + "\n"


SUMMARY_DIFF_LIMIT = 64 * 1024
"""Bytes of diff a step summary shows at most (GitHub takes 1 MiB per step)."""


def diff_details(diffs: Sequence[FileDiff], limit: int = SUMMARY_DIFF_LIMIT) -> list[str]:
    """The summary's folded diff: `<details>`, then a fenced `diff` block per file
    (`sinks.markdown_code_block`), cut at whole lines after `limit` bytes with a line that
    says how much was left out; no lines when no file changed."""
    if not diffs:
        return []
    count = f"{len(diffs)} file{'s' if len(diffs) != 1 else ''}"
    lines = ["", f"<details><summary>Diff ({count})</summary>", ""]
    room, left, left_bytes = limit, 0, 0
    for diff in diffs:
        kept: list[str] = []
        for line in diff.unified().split("\n")[:-1]:
            size = len(sinks.one_line(line).encode()) + 1
            if size > room:
                left, left_bytes, room = left + 1, left_bytes + size, 0
            else:
                kept.append(line)
                room -= size
        if kept:
            lines.append(sinks.markdown_code_block("\n".join(kept), "diff"))
    if left:
        lines.append(
            f"*{left} more line(s) of diff ({left_bytes} bytes) left out: the summary shows "
            f"at most {limit // 1024} KiB of it.*"
        )
        lines.append("")
    return [*lines, "</details>"]


def dotenv(result: Result) -> dict[str, str]:
    """The GitLab job's report: `PROMOTE_<OUTPUT>` for each of `OUTPUTS`, plus GitLab's own
    names for the merge request (`PROMOTE_MR_URL`, `PROMOTE_MR_IID`)."""
    found = outputs(result)
    values = {dotenv_name(name): found[name] for name in OUTPUTS}
    values["PROMOTE_MR_URL"] = found["request-url"]
    values["PROMOTE_MR_IID"] = found["request-number"]
    return values


def publish(result: Result, environ: Mapping[str, str]) -> None:
    """Under GitHub Actions, write the step outputs and summary; with `PROMOTER_DOTENV` (the
    GitLab template sets it), a dotenv report; elsewhere nothing."""
    ci.write_github_outputs(outputs(result), summary(result), environ)
    if environ.get("PROMOTER_DOTENV"):
        ci.write_gitlab_dotenv(dotenv(result), environ["PROMOTER_DOTENV"])


def mask_commands(environ: Mapping[str, str]) -> list[str]:
    return ci.mask_commands(environ, forges.token_variables())
