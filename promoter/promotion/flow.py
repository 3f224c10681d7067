"""The use case: promote images to environments in a config repository, race-safe.

A plain directory (not a git repository) is edited in place. A repository (URL,
`file://`, a bare repository or a working tree's path) is cloned partially, each environment's
edit becomes one commit built on the branch tip and pushed: to the base branch in `push`
mode, to `promote/<env>/<app>` (with a lease) in `pull-request` mode. A push rejected
because the tip moved is retried from scratch on the new tip: fetch, re-plan, re-commit;
never a textual rebase. A target that already holds a newer version is `superseded`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from promoter import ci
from promoter import config as configuration
from promoter.errors import InputError, PartialPromotionError, PromoterError, TargetNotFoundError
from promoter.guards import GO, Verdict
from promoter.imageref import ImageRef, parse_image_ref
from promoter.promotion import gate, policy, report, source, steps
from promoter.promotion.command import PromoteCommand, RetryPolicy, parse_identity
from promoter.promotion.plan import parse_images, plan_environment
from promoter.promotion.result import EnvironmentResult, Result, Stats, Status, overall
from promoter.promotion.units import build_units, select_unit
from promoter.promotion.workspace import Options, Workspace, load_config, open_workspace
from promoter.repo import parse_remote


def promote(command: PromoteCommand) -> Result:
    """Plan, and unless dry-run apply, the promotion of each image to each environment."""
    if command.to_env is not None or command.rollback or command.release_hold:
        images = repositories(command.images)
        if command.to_env is not None:
            command = dataclasses.replace(command, envs=(command.to_env,))
        elif len(command.envs) != 1 or not (command.app or images):
            raise InputError(
                "--rollback and release-hold take one --env and the app (--app, or --image "
                "REPOSITORY without promoter.yaml)",
                field="--env",
            )
    else:
        images = parse_images(command.images)
    if not command.envs:
        raise InputError("no environment given", field="--env")
    if command.mode is not None and command.mode not in configuration.MODES:
        raise InputError(f"unknown mode {command.mode!r} (push or pull-request)", field="--mode")
    for label in command.labels:
        if not re.fullmatch(configuration.LABEL_PATTERN, label):
            raise InputError(
                f"{label!r}: a label has no commas and no surrounding spaces",
                field="--label",
            )
    evidence = gate.Evidence(command.environ)
    if not command.force:
        verdict = gate.decide(command.guard_options(), evidence)
        if not verdict.go:
            result = skipped(command.envs, verdict, command.dry_run)
            report.publish(result, command.environ)
            return result
    if "://" in command.config_repo or is_repository(Path(command.config_repo)):
        result = _promote_remote(command, images, evidence)
    elif command.to_env is not None:
        raise InputError(
            "--to reads the source environment from a repository: give its URL or a clone",
            field="--to",
        )
    else:
        result = _promote_checkout(command, images, Path(command.config_repo))
    report.publish(result, command.environ)
    return result


def repositories(texts: Sequence[str]) -> list[ImageRef]:
    """`--image` with `--to` names an app by its repository; the version comes from the
    source environment, so giving one is a mistake worth a clear line."""
    found = []
    for text in texts:
        image = parse_image_ref(text)
        if image.tag is not None or image.digest is not None:
            raise InputError(
                f"{text!r}: with --to the version is what the source environment runs; "
                f"name the repository only ({image.name})",
                field="--image",
            )
        found.append(image)
    return found


def guard(command: PromoteCommand) -> Verdict:
    """The loop guards alone (`promote guard`): may this CI run promote?"""
    return gate.decide(command.guard_options(), gate.Evidence(command.environ))


def skipped(envs: Sequence[str], verdict: Verdict, dry_run: bool) -> Result:
    environments = tuple(EnvironmentResult(env, Status.SKIPPED) for env in envs)
    guard = verdict.guard.value if verdict.guard else ""
    return Result(Status.SKIPPED, environments, dry_run, skip=(guard, verdict.reason))


def is_repository(path: Path) -> bool:
    """A bare repository, or the top of a working tree (its `.git` a directory or a file)."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _promote_checkout(command: PromoteCommand, images: list[ImageRef], root: Path) -> Result:
    """Edit a directory in place: no git; committing is the caller's job."""
    if not root.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(root))
    config = load_config(root, command.config_file)
    for env in command.envs:  # every environment is valid before the first write
        plan_environment(
            root, config, env, images, command.app, allow_downgrade=command.allow_downgrade
        )
    environments = []
    for env in command.envs:
        mode = configuration.environment(config, env).mode if config else None
        plan = plan_environment(
            root, config, env, images, command.app, allow_downgrade=command.allow_downgrade
        )
        if not command.dry_run:
            plan.write()
        environments.append(plan.summarise(env, command.mode or mode))
    return Result(overall([e.status for e in environments]), tuple(environments), command.dry_run)


def _options(command: PromoteCommand, images: list[ImageRef]) -> Options:
    found = ci.read_source(command.environ)
    return Options(
        images=tuple(images),
        app=command.app,
        config_file=command.config_file,
        base=command.base,
        mode=command.mode,
        allow_downgrade=command.allow_downgrade,
        dry_run=command.dry_run,
        sign=command.sign,
        skip_ci=command.skip_ci,
        auto_merge=command.auto_merge,
        labels=command.labels,
        forced=command.force,
        identity=parse_identity(command.author),
        source=ci.Source(
            command.source_repo or found.repository,
            command.source_commit or found.commit,
            command.pipeline_url or found.pipeline_url,
        ),
    )


def open_workspace_for(
    command: PromoteCommand, images: list[ImageRef]
) -> contextlib.AbstractContextManager[Workspace]:
    """The workspace a run of `command` reads and writes through (the read-only
    `queries` open theirs here too)."""
    return open_workspace(
        _options(command, images),
        parse_remote(command.config_repo),
        forge=command.forge,
        api_url=command.api_url,
        no_clone=command.no_clone,
        env=command.environ,
    )


def _promote_remote(
    command: PromoteCommand, images: list[ImageRef], evidence: gate.Evidence
) -> Result:
    """Every environment validated on the tip before the first push, then each promoted
    with its own race loop; a failure after a push reports what already landed."""
    started = time.monotonic()
    stats = Stats()
    environments: list[EnvironmentResult] = []
    workspace: Workspace | None = None
    try:
        with open_workspace_for(command, images) as workspace:
            if not command.force:
                verdict = _configured_guards(command, images, workspace, evidence)
                if not verdict.go:
                    return skipped(command.envs, verdict, command.dry_run)
            units = build_units(command, images, workspace)
            origin = (
                source.source_env(workspace, command.to_env, command.from_env)
                if (command.to_env)
                else None
            )
            now = datetime.now(timezone.utc)
            settled: dict[int, EnvironmentResult] = {}
            selected: list[Options] = []
            for index, unit in enumerate(units):
                select_unit(workspace, unit, origin)
                selected.append(workspace.options)  # provenance read once per unit
                env = unit.env
                planned = steps.plan(workspace, steps.check_out(workspace, env, fresh=False), env)
                planned = policy.judge(workspace, planned, now)
                if planned.result.status is Status.BLOCKED:
                    settled[index] = planned.result
                    continue
                if planned.mode == "push" and not command.dry_run:
                    verdict = steps.check_loop(workspace, planned)
                    if not verdict.go and verdict.guard is not None:
                        reason = f"{verdict.guard.value}: {verdict.reason}"
                        settled[index] = EnvironmentResult(
                            env, Status.SKIPPED, mode="push", base=planned.base, skip_reason=reason
                        )
            if (
                settled
                and len(settled) == len(units)
                and any(r.status is not Status.SKIPPED for r in settled.values())
            ):
                return Result(
                    overall([r.status for r in settled.values()]),
                    tuple(settled[i] for i in range(len(units))),
                    command.dry_run,
                    stats,
                )
            if settled and len(settled) == len(units):
                first = settled[0].skip_reason or ""
                guard, _, reason = first.partition(": ")
                return Result(
                    Status.SKIPPED, tuple(settled.values()), command.dry_run, stats,
                    skip=(guard, reason),
                )  # fmt: skip
            for index, unit in enumerate(units):
                if index in settled:
                    environments.append(settled[index])
                    continue
                workspace.options = selected[index]
                try:
                    environments.append(
                        _environment(workspace, unit.env, command.retry, stats, now)
                    )
                except PromoterError as error:
                    if not any(e.pushed for e in environments):
                        raise
                    raise PartialPromotionError(
                        f"{unit.env}: {error.message}", environments, error
                    ) from error
    finally:
        if workspace is not None:
            _record(stats, workspace, started)
    status = overall([e.status for e in environments])
    warnings = _warnings(environments, workspace.credential_variable if workspace else "")
    return Result(status, tuple(environments), command.dry_run, stats, warnings=warnings)


def _warnings(environments: Sequence[EnvironmentResult], variable: str) -> tuple[str, ...]:
    """A pull request opened or updated with Actions' GITHUB_TOKEN starts no workflows
    (GitHub's rule against recursive runs; bot-opened PRs may instead wait for approval),
    so its required checks never start: say so, and what to use."""
    requests = [
        e.pull_request
        for e in environments
        if e.pull_request and e.pull_request.operation in ("created", "updated")
    ]
    if variable != "GITHUB_TOKEN" or not requests:
        return ()
    numbers = ", ".join(f"#{r.number}" for r in requests)
    return (
        f"pull request {numbers} was written with GITHUB_TOKEN: GitHub starts no workflows "
        "for it (or holds them for approval), so its required checks may never run; use a "
        "GitHub App installation token (PROMOTER_GITHUB_APP_ID and "
        "PROMOTER_GITHUB_APP_PRIVATE_KEY, or actions/create-github-app-token) or a "
        "fine-grained token in PROMOTER_TOKEN",
    )


def _configured_guards(
    command: PromoteCommand, images: list[ImageRef], ws: Workspace, evidence: gate.Evidence
) -> Verdict:
    """promoter.yaml's own guard settings, checked on the base tip's config."""
    checkout = ws.check_out(command.base or ws.default_branch, fetch=False)
    if checkout.config is None:
        return GO
    return gate.decide_configured(command.guard_options(), evidence, checkout.config, images)


def _environment(
    ws: Workspace, env: str, retry: RetryPolicy, stats: Stats, now: datetime
) -> EnvironmentResult:
    """One environment's steps, repeated from scratch on the new tip after a lost race."""
    retrying = Retrying(
        stop=stop_after_attempt(retry.attempts) | stop_after_delay(retry.max_seconds),
        wait=wait_random_exponential(multiplier=retry.multiplier, max=retry.max_wait),
        retry=retry_if_exception(lambda e: isinstance(e, PromoterError) and e.transient),
        reraise=True,
        sleep=retry.sleep,
    )
    result: EnvironmentResult | None = None
    for attempt in retrying:
        with attempt:
            stats.attempts += 1
            result = _attempt(ws, env, now, fresh=attempt.retry_state.attempt_number > 1)
    assert result is not None
    return result


def _attempt(ws: Workspace, env: str, now: datetime, *, fresh: bool) -> EnvironmentResult:
    """Everything from the branch tip to a pushed commit; safe to repeat from scratch."""
    planned = policy.judge(ws, steps.plan(ws, steps.check_out(ws, env, fresh=fresh), env), now)
    result = planned.result
    if result.status is Status.BLOCKED:
        return result
    if ws.options.dry_run or result.status is not Status.CHANGED:
        settled = result.status is Status.UNCHANGED and planned.mode == "pull-request"
        if settled and not ws.options.dry_run:
            steps.retire(ws, planned)
        return result
    if planned.mode == "push":
        return result.landed(steps.publish_push(ws, planned))
    return result.landed(steps.publish_request(ws, planned))


def _record(stats: Stats, ws: Workspace, started: float) -> None:
    stats.seconds = time.monotonic() - started
    stats.git_calls = ws.stats.calls
    stats.bytes_fetched = ws.stats.bytes_fetched
    stats.bytes_sent = ws.stats.bytes_sent
    stats.notes = list(dict.fromkeys(ws.stats.notes))
    stats.api_calls = ws.api_calls
