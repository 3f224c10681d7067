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
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from promoter.environments import RepoFiles
from promoter.errors import (
    InputError,
    OperationalError,
    PartialPromotionError,
    PromoterError,
    TargetNotFoundError,
)
from promoter.forges import ChangeRequestSpec, Forge, Outcome, open_forge
from promoter.forges.github import GitHubForge, installation_token
from promoter.forges.github_repo import GitHubRepository
from promoter.forges.local import review_hint
from promoter.imageref import ImageRef
from promoter.promotion import report
from promoter.promotion.api_store import ApiClone
from promoter.promotion.explain import Report, explain_directory, explain_files
from promoter.promotion.files import SnapshotFiles
from promoter.promotion.message import (
    TRAILER,
    branch_name,
    commit_message,
    pull_request_body,
    title,
)
from promoter.promotion.plan import (
    EnvironmentPlan,
    app_names,
    is_yaml_path,
    needed_paths,
    parse_images,
    plan_environment,
)
from promoter.promotion.result import (
    EnvironmentResult,
    PullRequestInfo,
    Result,
    Stats,
    Status,
    overall,
)
from promoter.redact import Secret
from promoter.repo import Auth, Clone, GitStats, Identity, Remote, Snapshot, parse_remote

MODES = ("push", "pull-request")
DEFAULT_AUTHOR = "promoter[bot] <promoter[bot]@users.noreply.github.com>"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff for a push that lost a race."""

    attempts: int = 20
    max_seconds: float = 180.0
    max_wait: float = 6.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True)
class PromoteCommand:
    config_repo: str
    envs: tuple[str, ...]
    images: tuple[str, ...]
    app: str | None = None
    config_file: Path | None = None
    dry_run: bool = False
    mode: str | None = None
    forge: str | None = None
    base: str | None = None
    author: str = DEFAULT_AUTHOR
    skip_ci: bool = False
    sign: bool = False
    allow_downgrade: bool = False
    auto_merge: bool = False
    api_url: str | None = None
    no_clone: bool = False
    source_repo: str | None = None
    source_commit: str | None = None
    pipeline_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def promote(command: PromoteCommand) -> Result:
    """Plan, and unless dry-run apply, the promotion of each image to each environment."""
    images = parse_images(command.images)
    if not command.envs:
        raise InputError("no environment given", field="--env")
    if command.mode is not None and command.mode not in MODES:
        raise InputError(f"unknown mode {command.mode!r} (push or pull-request)", field="--mode")
    if "://" in command.config_repo or is_repository(Path(command.config_repo)):
        result = _Run(command, images, parse_remote(command.config_repo)).promote()
    else:
        result = _promote_checkout(command, images, Path(command.config_repo))
    report.publish(result)
    return result


def explain(command: PromoteCommand) -> Report:
    """What a promotion of `command` would touch per environment, and why; read-only."""
    if not command.envs:
        raise InputError("no environment given", field="--env")
    path = Path(command.config_repo)
    if "://" not in command.config_repo and path.is_dir() and (
        (path / ".git").exists() or not is_repository(path)
    ):
        return explain_directory(
            path, command.config_file, command.envs, command.images, command.app
        )
    images = parse_images(command.images)
    return _Run(command, images, parse_remote(command.config_repo)).explain()


def is_repository(path: Path) -> bool:
    """A bare repository, or the top of a working tree (its `.git` a directory or a file)."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _promote_checkout(command: PromoteCommand, images: list[ImageRef], root: Path) -> Result:
    """Edit a directory in place: no git; committing is the caller's job."""
    if not root.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(root))
    config = _load_config(root, command.config_file)
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


def _load_config(root: Path, config_file: Path | None) -> configuration.Config | None:
    path = config_file or configuration.find_config(root)
    return configuration.load_config(path, root=root) if path else None


def parse_identity(text: str) -> Identity:
    name, _, rest = text.partition("<")
    email = rest.rstrip().removesuffix(">")
    if not name.strip() or "@" not in email:
        raise InputError(f"expected 'Name <email>', got {text!r}", field="--author")
    return Identity(name.strip(), email.strip())


class _Run:
    """One promotion against a remote repository; owns the temporary clone."""

    def __init__(self, command: PromoteCommand, images: list[ImageRef], remote: Remote) -> None:
        self.command = command
        self.images = images
        self.remote = remote
        self.identity = parse_identity(command.author)
        self.forge_kind = command.forge or ci.infer_forge(remote.host, os.environ)
        self.auth = self._auth()
        found = ci.read_source(os.environ)
        self.source = ci.Source(
            command.source_repo or found.repository,
            command.source_commit or found.commit,
            command.pipeline_url or found.pipeline_url,
        )
        self.git_stats = GitStats()
        self.stats = Stats()
        self.forge: Forge | None = None

    def _auth(self) -> Auth | None:
        if self.remote.origin is None:
            return None
        app = ci.find_github_app(os.environ) if self.forge_kind == "github" else None
        if app is not None and not os.environ.get("PROMOTER_TOKEN"):
            app_id, key = app
            Secret(key)  # registered: a key echoed in an error is masked too
            token = installation_token(self.remote.url, app_id, key, self.command.api_url)
            return Auth(Secret(token), self.remote.origin, "x-access-token")
        found = ci.find_token(self.forge_kind, os.environ)
        if found is None:
            return None
        variable, token = found
        user = "gitlab-ci-token" if variable == "CI_JOB_TOKEN" else None
        user = user or ci.BASIC_AUTH_USER.get(self.forge_kind, "x-access-token")
        return Auth(Secret(token), self.remote.origin, user)

    def promote(self) -> Result:
        started = time.monotonic()
        workdir = Path(tempfile.mkdtemp(prefix="promoter-"))
        try:
            self.clone = self._open(workdir)
            self.workdir = workdir
            self.default_branch = self.clone.head_branch()
            for env in self.command.envs:  # every environment is valid before the first push
                self._validate(env)
            environments = []
            for env in self.command.envs:
                try:
                    environments.append(self._environment(env))
                except PromoterError as error:
                    if not any(e.pushed for e in environments):
                        raise
                    raise PartialPromotionError(
                        f"{env}: {error.message}", environments, error
                    ) from error
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            self._record(started)
        status = overall([e.status for e in environments])
        return Result(status, tuple(environments), self.command.dry_run, self.stats)

    def explain(self) -> Report:
        workdir = Path(tempfile.mkdtemp(prefix="promoter-"))
        try:
            self.clone = self._open(workdir)
            self.workdir = workdir
            self.default_branch = self.clone.head_branch()
            _, snapshot, root, config = self._checkout(
                self.command.base or self.default_branch, fetch=False
            )
            files = SnapshotFiles(snapshot, root, {i.app_name for i in self.images})
            if config is not None:
                for env in self.command.envs:
                    with contextlib.suppress(PromoterError):  # explained below
                        self._plan(snapshot, root, config, env)  # materialises the targets
            return explain_files(
                files, root, config, self.command.envs, self.images, self.command.app
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _open(self, workdir: Path) -> Clone | ApiClone:
        """The partial clone, or under `--no-clone` the forge's Git Data API."""
        if not self.command.no_clone:
            return Clone.create(
                self.remote,
                workdir / "repo.git",
                branch=self.command.base,
                auth=self.auth,
                stats=self.git_stats,
            )
        forge = self._forge()
        if not isinstance(forge, GitHubForge):
            raise InputError("--no-clone needs the github forge", field="--no-clone")
        return ApiClone(GitHubRepository(forge), self.git_stats)

    def _record(self, started: float) -> None:
        self.stats.seconds = time.monotonic() - started
        self.stats.git_calls = self.git_stats.calls
        self.stats.bytes_fetched = self.git_stats.bytes_fetched
        self.stats.bytes_sent = self.git_stats.bytes_sent
        self.stats.notes = list(dict.fromkeys(self.git_stats.notes))
        self.stats.api_calls = getattr(self.forge, "calls", 0)

    def _environment(self, env: str) -> EnvironmentResult:
        policy = self.command.retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_seconds),
            wait=wait_random_exponential(multiplier=0.2, max=policy.max_wait),
            retry=retry_if_exception(lambda e: isinstance(e, PromoterError) and e.transient),
            reraise=True,
            sleep=policy.sleep,
        )
        result: EnvironmentResult | None = None
        for attempt in retrying:
            with attempt:
                self.stats.attempts += 1
                result = self._attempt(env, fresh=attempt.retry_state.attempt_number > 1)
        assert result is not None
        return result

    def _validate(self, env: str) -> None:
        """Plan `env` on the current tip and drop the plan: a refusal stops the run here."""
        self._prepare(env, fresh=False)

    def _prepare(
        self, env: str, *, fresh: bool
    ) -> tuple[str, Snapshot, Path, configuration.Config | None, str, str, EnvironmentPlan]:
        """Check out the environment's base and plan it: (tip, snapshot, root, config,
        base, mode, plan)."""
        tip_branch = self.command.base or self.default_branch
        tip, snapshot, root, config = self._checkout(tip_branch, fetch=fresh)
        settings = configuration.environment(config, env) if config else None
        base = self.command.base or (settings.base if settings else None) or self.default_branch
        if base != tip_branch:
            tip, snapshot, root, config = self._checkout(base, fetch=True)
            settings = configuration.environment(config, env) if config else None
        mode = self.command.mode or (settings.mode if settings else "pull-request")
        plan = self._plan(snapshot, root, config, env)
        return tip, snapshot, root, config, base, mode, plan

    def _attempt(self, env: str, *, fresh: bool) -> EnvironmentResult:
        """Everything from the branch tip to a pushed commit; safe to repeat from scratch."""
        tip, snapshot, root, config, base, mode, plan = self._prepare(env, fresh=fresh)
        result = dataclasses.replace(plan.summarise(env, mode), base=base)
        if self.command.dry_run or result.status is not Status.CHANGED:
            retire = mode == "pull-request" and result.status is Status.UNCHANGED
            if retire and not self.command.dry_run:
                self._retire(env, config, base)
            return result
        changes = {
            path.resolve().relative_to(root.resolve()).as_posix(): data
            for path, data in plan.changed_files().items()
        }
        tree = snapshot.write_tree(changes)
        if mode == "push":
            message = commit_message(
                env, result, self.images, self.source, skip_ci=self.command.skip_ci
            )
            commit = self.clone.write_commit(
                tree, tip, message, identity=self.identity, sign=self.command.sign
            )
            self.clone.push(commit, base, lease=None, force=False)
            return dataclasses.replace(result, branch=base, commit=commit, pushed=True)
        return self._pull_request(env, result, config, tree, tip)

    def _pull_request(
        self,
        env: str,
        result: EnvironmentResult,
        config: configuration.Config | None,
        tree: str,
        tip: str,
    ) -> EnvironmentResult:
        """Rebuild `promote/<env>/<app>` as base tip + one commit; push with a lease."""
        forge = self._forge()
        branch = branch_name(env, app_names(config, env, self.images, self.command.app))
        hint = review_hint(result.base or "", branch) if forge.name == "local" else None
        current = self.clone.remote_branch(branch)
        if current is not None:
            self.clone.fetch_commit(current)
            current_tree, _, message = self.clone.commit_info(current)
            if TRAILER not in message:
                raise OperationalError(
                    f"{branch} has commits promoter did not make (tip {current[:12]}); "
                    "promoter will not force-push over them. Merge or close its pull request "
                    "and delete the branch, or push those changes elsewhere, then rerun"
                )
            if current_tree == tree:
                info = self._open_request(forge, env, result, config, branch)
                return dataclasses.replace(
                    result,
                    status=Status.UNCHANGED,
                    branch=branch,
                    commit=current,
                    review=hint,
                    pull_request=info,
                )
            behind = self._superseded_on(Snapshot(self.clone, current), config, env)
            if behind is not None:
                return dataclasses.replace(
                    result,
                    status=Status.SUPERSEDED,
                    changes=(),
                    diffs=(),
                    branch=branch,
                    commit=current,
                    superseded=tuple(behind.superseded),
                    review=hint,
                )
        base = result.base or self.default_branch
        signed_only = forge.signature_required(base)
        if signed_only and not (self.command.sign or isinstance(self.clone, ApiClone)):
            raise OperationalError(
                f"{base} requires signed commits, and commits promoter pushes with git are "
                "unsigned: pass --sign with a signing key the forge knows, or use --no-clone "
                "with a GitHub App token; nothing was pushed"
            )
        message = commit_message(env, result, self.images, self.source)
        commit = self.clone.write_commit(
            tree, tip, message, identity=self.identity, sign=self.command.sign
        )
        api = self.clone if isinstance(self.clone, ApiClone) else None
        if signed_only and api is not None and not api.store.is_verified(commit):
            raise OperationalError(
                f"{base} requires signed commits, but GitHub did not verify {commit[:12]} "
                "(API commits are signed only for GitHub App tokens); nothing was pushed"
            )
        self.clone.push(commit, branch, lease=current, force=True)
        info = self._open_request(forge, env, result, config, branch)
        return dataclasses.replace(
            result, branch=branch, commit=commit, pushed=True, review=hint, pull_request=info
        )

    def _forge(self) -> Forge:
        if self.forge is None:
            self.forge = open_forge(
                self.forge_kind,
                repository_url=self.remote.url,
                token=self.auth.token if self.auth else None,
                api_url=self.command.api_url,
            )
        return self.forge

    def _open_request(
        self,
        forge: Forge,
        env: str,
        result: EnvironmentResult,
        config: configuration.Config | None,
        branch: str,
    ) -> PullRequestInfo | None:
        settings = configuration.environment(config, env) if config else None
        outcome, request = forge.open_or_update(
            ChangeRequestSpec(
                head=branch,
                base=result.base or self.default_branch,
                title=title(env, result),
                body=pull_request_body(env, result, self.images, self.source),
                labels=tuple(settings.labels) if settings else (),
                reviewers=tuple(settings.reviewers) if settings else (),
            )
        )
        if forge.name == "local":
            return None
        if self.command.auto_merge and outcome is not Outcome.UNCHANGED:
            forge.enable_auto_merge(request)
        return PullRequestInfo(request.number, request.url, outcome.value)

    def _retire(self, env: str, config: configuration.Config | None, base: str) -> None:
        """The base already holds the change: close the now pointless request, drop its branch."""
        branch = branch_name(env, app_names(config, env, self.images, self.command.app))
        current = self.clone.remote_branch(branch)
        if current is None:
            return
        forge = self._forge()
        request = forge.find_open(branch, base)
        if request is not None:
            forge.close(
                request,
                f"Closed by promoter: {base} already holds this version, so this pull request "
                "has nothing left to change.",
            )
        self.clone.delete_branch(branch, lease=current)

    def _superseded_on(
        self, snapshot: Snapshot, config: configuration.Config | None, env: str
    ) -> EnvironmentPlan | None:
        """The branch's plan when the branch already holds a newer version than requested."""
        if self.command.allow_downgrade:
            return None
        root = Path(tempfile.mkdtemp(prefix="branch-", dir=self.workdir))
        try:
            plan = self._plan(snapshot, root, config, env)
        except PromoterError:
            return None
        return plan if plan.superseded else None

    def _checkout(
        self, branch: str, *, fetch: bool
    ) -> tuple[str, Snapshot, Path, configuration.Config | None]:
        """The branch tip, its snapshot, a fresh directory for its files, and its config."""
        tip = self.clone.update(branch) if fetch else self.clone.ref(branch)
        snapshot = Snapshot(self.clone, tip)
        root = Path(tempfile.mkdtemp(prefix="tree-", dir=self.workdir))
        return tip, snapshot, root, self._read_config(snapshot, root)

    def _read_config(self, snapshot: Snapshot, root: Path) -> configuration.Config | None:
        if self.command.config_file is None:
            snapshot.materialise(configuration.CONFIG_NAMES, root)
        return _load_config(root, self.command.config_file)

    def _plan(
        self,
        snapshot: Snapshot,
        root: Path,
        config: configuration.Config | None,
        env: str,
    ) -> EnvironmentPlan:
        repo_files: RepoFiles | None = None
        if config is None:
            apps = {image.app_name for image in self.images} | {self.command.app or ""}
            repo_files = SnapshotFiles(snapshot, root, apps - {""})
        else:
            files, directories = needed_paths(config, env, self.images, self.command.app)
            for directory in directories:
                files += [f for f in snapshot.files_under(directory) if is_yaml_path(f)]
            snapshot.materialise(files, root)
        return plan_environment(
            root,
            config,
            env,
            self.images,
            self.command.app,
            allow_downgrade=self.command.allow_downgrade,
            repo_files=repo_files,
        )
