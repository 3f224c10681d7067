"""The use case: promote images to environments in a config repository, race-safe.

A plain directory (not a git repository) is edited in place. A repository (URL,
`file://`, a bare repository or a working tree's path) is cloned partially, each environment's
edit becomes one commit built on the branch tip and pushed: to the base branch in `push`
mode, to `promote/<env>/<app>` (with a lease) in `pull-request` mode. A push rejected
because the tip moved is retried from scratch on the new tip: fetch, re-plan, re-commit;
never a textual rebase. A target that already holds a newer version is `superseded`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
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
from promoter.promotion import gate, policy, report, steps, verification
from promoter.promotion.opening import is_repository
from promoter.promotion.plan import parse_images, plan_environment
from promoter.promotion.requests import (
    Delivery,
    LoopGuards,
    PromoteFromRequest,
    PromoteRequest,
    ReleaseHoldRequest,
    RetryPolicy,
    RollbackRequest,
    WriteRequest,
    parse_identity,
)
from promoter.promotion.result import EnvironmentResult, Result, Stats, Status, overall
from promoter.promotion.unit import Unit
from promoter.promotion.units import build_units
from promoter.promotion.workspace import (
    Options,
    Workspace,
    load_config,
    open_workspace,
)
from promoter.tree import PreparesPush


def promote(request: WriteRequest) -> Result:
    """Plan, and unless dry-run apply, what `request` asks of its environments."""
    if isinstance(request, PromoteRequest):
        images = parse_images(request.images)
    else:
        images = repositories(request.images)
    if isinstance(request, (RollbackRequest, ReleaseHoldRequest)) and not (request.app or images):
        raise InputError(
            "--rollback and release-hold take the app (--app, or --image REPOSITORY without "
            "promoter.yaml)",
            field="--app",
        )
    envs = targets(request)
    if not envs:
        raise InputError("no environment given", field="--env")
    _check_delivery(request.delivery)
    environ = request.repo.environ
    evidence = gate.Evidence(environ)
    dry_run = request.delivery.dry_run
    if not request.guards.force:
        verdict = gate.decide(request.guards.options(request.delivery.author), evidence)
        if not verdict.go:
            result = skipped(envs, verdict, dry_run)
            report.publish(result, environ)
            return result
    url = request.repo.url
    if "://" in url or is_repository(Path(url)):
        result = _promote_remote(request, images, evidence)
    elif not isinstance(request, PromoteRequest):
        raise InputError(
            f"{_flag(request)} reads the environments' history from a repository: give its "
            "URL or a clone",
            field=_flag(request),
        )
    else:
        result = _promote_checkout(request, images, Path(url))
    report.publish(result, environ)
    return result


def targets(request: WriteRequest) -> tuple[str, ...]:
    """The environments `request` changes."""
    if isinstance(request, PromoteRequest):
        return request.envs
    if isinstance(request, PromoteFromRequest):
        return (request.to_env,)
    return (request.env,)


def _flag(request: WriteRequest) -> str:
    if isinstance(request, PromoteFromRequest):
        return "--to"
    return "--rollback" if isinstance(request, RollbackRequest) else "release-hold"


def _check_delivery(delivery: Delivery) -> None:
    if delivery.mode is not None and delivery.mode not in configuration.MODES:
        raise InputError(f"unknown mode {delivery.mode!r} (push or pull-request)", field="--mode")
    for label in delivery.labels:
        if not re.fullmatch(configuration.LABEL_PATTERN, label):
            raise InputError(
                f"{label!r}: a label has no commas and no surrounding spaces",
                field="--label",
            )
    parse_identity(delivery.author)  # a malformed --author is refused before anything runs


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


def guard(guards: LoopGuards, author: str, environ: Mapping[str, str]) -> Verdict:
    """The loop guards alone (`promote guard`): may this CI run promote?"""
    return gate.decide(guards.options(author), gate.Evidence(environ))


def skipped(envs: Sequence[str], verdict: Verdict, dry_run: bool) -> Result:
    environments = tuple(EnvironmentResult(env, Status.SKIPPED) for env in envs)
    guard = verdict.guard.value if verdict.guard else ""
    return Result(Status.SKIPPED, environments, dry_run, skip=(guard, verdict.reason))


def _promote_checkout(request: PromoteRequest, images: list[ImageRef], root: Path) -> Result:
    """Edit a directory in place: no git; committing is the caller's job."""
    if not root.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(root))
    config = load_config(root, request.repo.config_file)
    downgrade, dry_run = request.allow_downgrade, request.delivery.dry_run
    checked: list[ImageRef] = []
    for env in request.envs:  # every environment is valid before the first write
        plan = plan_environment(root, config, env, images, request.app, allow_downgrade=downgrade)
        settings = configuration.environment(config, env) if config else None
        wanted = verification.is_wanted(settings, request.delivery.verify_image)
        if wanted and plan.summarise(env, None).status is Status.CHANGED:
            checked += images
    verification.verify(checked, request.repo.environ)
    environments = []
    for env in request.envs:
        mode = configuration.environment(config, env).mode if config else None
        plan = plan_environment(root, config, env, images, request.app, allow_downgrade=downgrade)
        if not dry_run:
            plan.write()
        environments.append(plan.summarise(env, request.delivery.mode or mode))
    return Result(overall([e.status for e in environments]), tuple(environments), dry_run)


def _options(request: WriteRequest) -> Options:
    delivery = request.delivery
    return Options(
        mode=delivery.mode,
        dry_run=delivery.dry_run,
        sign=delivery.sign,
        skip_ci=delivery.skip_ci,
        auto_merge=delivery.auto_merge,
        labels=delivery.labels,
        identity=delivery.identity,
        forced=request.guards.force,
    )


def _build(request: WriteRequest) -> ci.Source:
    """The source build: what the command line says, the CI's variables for the rest."""
    found = ci.read_source(request.repo.environ)
    given = request.source if isinstance(request, (PromoteRequest, PromoteFromRequest)) else None
    if given is None:
        return found
    return ci.Source(
        given.repository or found.repository,
        given.commit or found.commit,
        given.pipeline_url or found.pipeline_url,
    )


def _promote_remote(
    request: WriteRequest, images: list[ImageRef], evidence: gate.Evidence
) -> Result:
    """Every environment validated on the tip before the first push, then each promoted
    with its own race loop; a failure after a push reports what already landed."""
    started = time.monotonic()
    stats = Stats()
    dry_run = request.delivery.dry_run
    environments: list[EnvironmentResult] = []
    workspace: Workspace | None = None
    try:
        with open_workspace(request.repo, _options(request)) as workspace:
            if not dry_run and isinstance(workspace.store, PreparesPush):
                workspace.store.prepare_push()
            if not request.guards.force:
                verdict = _configured_guards(request, images, workspace, evidence)
                if not verdict.go:
                    return skipped(targets(request), verdict, dry_run)
            units = build_units(request, images, workspace, _build(request))
            now = datetime.now(timezone.utc)
            settled = _validate(workspace, units, now, verify=request.delivery.verify_image)
            if settled and len(settled) == len(units):
                return _settled(settled, dry_run, stats)
            for index, unit in enumerate(units):
                if index in settled:
                    environments.append(settled[index])
                    continue
                try:
                    retry = request.delivery.retry
                    environments.append(_environment(workspace, unit, retry, stats, now))
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
    return Result(status, tuple(environments), dry_run, stats, warnings=warnings)


def _validate(
    ws: Workspace, units: Sequence[Unit], now: datetime, *, verify: bool = False
) -> dict[int, EnvironmentResult]:
    """Every unit planned and judged on the tip before anything is pushed: the results of
    those that are settled already (blocked by a policy, or skipped by the loop breaker);
    a unit that cannot be planned, or whose image its registry lacks (`verify`, or the
    environment's `verify_image`), raises here, before the first push."""
    settled: dict[int, EnvironmentResult] = {}
    checked: list[ImageRef] = []
    for index, unit in enumerate(units):
        checkout = steps.check_out(ws, unit.env, fresh=False)
        planned = policy.judge(ws, steps.plan(ws, checkout, unit), now)
        if planned.result.status is Status.BLOCKED:
            settled[index] = planned.result
            continue
        steps.check_names(planned)  # a template this run cannot fill: before any push
        if planned.mode == "push" and not ws.options.dry_run:
            verdict = steps.check_loop(ws, planned)
            if not verdict.go and verdict.guard is not None:
                reason = f"{verdict.guard.value}: {verdict.reason}"
                settled[index] = EnvironmentResult(
                    unit.env, Status.SKIPPED, mode="push", base=planned.base, skip_reason=reason
                )
        changes = index not in settled and planned.result.status is Status.CHANGED
        if changes and not unit.release and verification.is_wanted(planned.settings, verify):
            checked += unit.images
    verification.verify(checked, ws.repo.environ)
    return settled


def _settled(settled: dict[int, EnvironmentResult], dry_run: bool, stats: Stats) -> Result:
    """The run's result when no unit is left to land: blocked (exit 3) if any unit is,
    else skipped with the first unit's guard and reason."""
    results = tuple(settled[i] for i in range(len(settled)))
    if any(r.status is not Status.SKIPPED for r in results):
        return Result(overall([r.status for r in results]), results, dry_run, stats)
    guard, _, reason = (results[0].skip_reason or "").partition(": ")
    return Result(Status.SKIPPED, results, dry_run, stats, skip=(guard, reason))


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
    request: WriteRequest, images: list[ImageRef], ws: Workspace, evidence: gate.Evidence
) -> Verdict:
    """promoter.yaml's own guard settings, checked on the base tip's config."""
    checkout = ws.check_out(request.repo.base or ws.default_branch, fetch=False)
    if checkout.config is None:
        return GO
    options = request.guards.options(request.delivery.author)
    return gate.decide_configured(options, evidence, checkout.config, images)


def _environment(
    ws: Workspace, unit: Unit, retry: RetryPolicy, stats: Stats, now: datetime
) -> EnvironmentResult:
    """One unit's steps, repeated from scratch on the new tip after a lost race."""
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
            result = _attempt(ws, unit, now, fresh=attempt.retry_state.attempt_number > 1)
    assert result is not None
    return result


def predict(
    ws: Workspace, unit: Unit, now: datetime, *, fresh: bool = False, branch: bool = True
) -> tuple[steps.Planned, EnvironmentResult]:
    """What a run of `unit` would report, decided as the run decides it and read only: the
    plan on the base tip, the policies (holds, freezes, windows, soak, review), and in
    pull-request mode the promotion branch (already holding it: unchanged; a newer
    version: superseded). `--dry-run` and `promote plan` both say this; `status`, which
    asks only what blocks a unit, leaves the branch (`branch=False`)."""
    checkout = steps.check_out(ws, unit.env, fresh=fresh)
    planned = policy.judge(ws, steps.plan(ws, checkout, unit), now)
    result = planned.result
    if branch and result.status is Status.CHANGED and planned.mode == "pull-request":
        _, decided = steps.read_branch(ws, planned, lambda: steps.build_tree(planned))
        result = result.landed(decided) if decided is not None else result
    return planned, result


def _attempt(ws: Workspace, unit: Unit, now: datetime, *, fresh: bool) -> EnvironmentResult:
    """Everything from the branch tip to a pushed commit; safe to repeat from scratch."""
    if ws.options.dry_run:
        return predict(ws, unit, now, fresh=fresh)[1]
    checkout = steps.check_out(ws, unit.env, fresh=fresh)
    planned = policy.judge(ws, steps.plan(ws, checkout, unit), now)
    result = planned.result
    if result.status is Status.BLOCKED:
        return result
    if result.status is not Status.CHANGED:
        if result.status is Status.UNCHANGED and planned.mode == "pull-request":
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
    stats.transport = ws.stats.transport
    stats.api_calls = ws.api_calls
