"""A run against a remote repository: its store, its forge, and the check-out step.

`open_workspace` resolves the run's one credential, opens the store (the partial clone,
or the forge's API under `--no-clone`) in a temporary directory, and reads the CI
environment it was given, once. `Workspace.check_out` turns a branch into a `Checkout`
(tip, snapshot, the files read of it so far, its promoter.yaml) and `Workspace.plan`
plans an environment on it. A checkout's files are held in memory (`SnapshotTree`): the
temporary directory holds the store alone. Sees stores and forges only through their
protocols.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from promoter import config as configuration
from promoter.environments import RepoFiles
from promoter.forges import Forge, ForgeKind
from promoter.imageref import ImageRef
from promoter.promotion import deployed, opening
from promoter.promotion.files import FilesRead, SnapshotFiles, SnapshotTree
from promoter.promotion.opening import ForgeOpener
from promoter.promotion.plan import EnvironmentPlan, is_yaml_path, needed_paths, plan_environment
from promoter.promotion.requests import RepositoryRef
from promoter.promotion.unit import Unit
from promoter.tree import DEFAULT_IDENTITY, GitStats, Identity, Snapshot, Store


@dataclass(frozen=True, slots=True)
class Options:
    """How the run lands every unit, set once when the workspace opens (the read-only
    queries take the defaults)."""

    mode: str | None = None
    dry_run: bool = True
    sign: bool = False
    skip_ci: bool = False
    auto_merge: bool = False
    labels: tuple[str, ...] = ()
    """Added to the environment's labels on every request (`--label`)."""
    identity: Identity = DEFAULT_IDENTITY
    forced: bool = False
    prove: bool = True
    """Whether plans prove each edit by re-parsing it. The read-only queries that show no
    bytes (`status`, `plan`) skip the proof, half an edit's cost; `steps.commit` refuses
    to commit in such a workspace."""

    @property
    def read_only(self) -> bool:
        """A query's workspace: its plans are not proved, and nothing is committed."""
        return not self.prove


@dataclass(frozen=True, slots=True)
class Checkout:
    """One branch tip as an attempt reads it. `root` names where its files would be (plans
    key files by it); it is never created: the files read are held in `read`."""

    branch: str
    tip: str
    snapshot: Snapshot
    root: Path
    config: configuration.Config | None
    read: FilesRead = field(default_factory=FilesRead, compare=False, repr=False)
    """The listings and bytes read of this tip so far, for every view of this checkout."""

    @property
    def tree(self) -> SnapshotTree:
        """The files fetched of this tip, as planning reads them."""
        return SnapshotTree(self.snapshot, self.root, self.read)

    def settings(self, env: str) -> configuration.Environment | None:
        return configuration.environment(self.config, env) if self.config else None

    def control_file(self, name: str, env: str | None = None) -> str | None:
        """A holds or freeze file of this tip, if present. It steers the run, so it is
        refused when it or its directory is a symlink (the directory is fetched too, so
        that a linked one is seen), and when it names an environment or app the run does
        not know (without promoter.yaml: one differing from `env` only in case)."""
        tree = self.tree
        parts = name.split("/")
        folders = ["/".join(parts[:end]) for end in range(1, len(parts))]
        tree.fetch([*folders, name])
        text = configuration.read_control_file(tree, name)
        if text is not None and self.config is not None:
            configuration.check_references(text, name, self.config.environments, self.config.apps)
        elif text is not None and env is not None:
            configuration.check_references(text, name, [env], exhaustive=False)
        return text


@dataclass
class Workspace:
    """The store, the lazily opened forge, and the temporary directory the store is in."""

    repo: RepositoryRef
    options: Options
    store: Store
    workdir: Path
    open_request_forge: ForgeOpener
    stats: GitStats
    _forge: Forge | None = field(default=None, repr=False)
    credential_variable: str = ""
    """Where the token came from: `GITHUB_TOKEN` cannot start the checks of its PRs."""
    _configs: dict[tuple[str, str], configuration.Config] = field(default_factory=dict, repr=False)
    _checkouts: dict[tuple[str, str], Checkout] = field(default_factory=dict, repr=False)
    arrivals: dict[tuple[str, str, str | None, str], tuple[str, float] | None] = field(
        default_factory=dict, repr=False
    )
    """(commit, arrival time) of a version in an environment, per (env, image, app, base
    tip): soak and the source-pipeline gate read the history once per run, not in the
    validation pass and again on landing."""
    fleets: dict[tuple[str, str], object] = field(default_factory=dict, repr=False)
    """`fleet.read_fleet`'s per-checkout memo: a zero-config inventory reads every YAML
    file, so a run reads it once per tip (typed in `fleet`, which imports this module)."""
    _deployed: dict[tuple[str, str, str, str, str | None], deployed.Deployed] = field(
        default_factory=dict, repr=False
    )
    _roots: Iterator[int] = field(default_factory=itertools.count, repr=False)
    """Numbers the checkouts' roots, each a name no file is written under."""
    _listed: tuple[str, dict[str, str]] | None = field(default=None, repr=False)
    """(prefix, branch → tip): every branch under the prefix, as a query listed them."""

    def note_branches(self, prefix: str, found: dict[str, str]) -> None:
        """Keep a listing of every branch under `prefix` (a query's in-flight read): its
        predictions read the promotion branches from it, not one request per app."""
        self._listed = (prefix, dict(found))

    def branch_tip(self, branch: str) -> str | None:
        """The remote tip of `branch` (None: absent). A read-only query answers from the
        listing it made (`note_branches`); a run that writes always asks the remote, since
        it leases on what it reads."""
        if self._listed is not None and self.options.read_only:
            prefix, found = self._listed
            if branch.startswith(prefix):
                return found.get(branch)
        return self.store.remote_branch(branch)

    @property
    def forge(self) -> Forge:
        if self._forge is None:
            self._forge = self.open_request_forge()
        return self._forge

    @property
    def forge_kind(self) -> ForgeKind:
        return self.open_request_forge.kind

    @property
    def api_calls(self) -> int:
        return self._forge.calls if self._forge is not None else 0

    @property
    def default_branch(self) -> str:
        return self.store.head_branch()

    def check_out(self, branch: str, *, fetch: bool) -> Checkout:
        """The branch tip (read again from the remote when `fetch`) and its config."""
        tip = self.store.update(branch) if fetch else self.store.ref(branch)
        known = self._checkouts.get((branch, tip))
        if known is not None:  # the same tip again: its files are already read
            return known
        snapshot = Snapshot(self.store, tip)
        read = FilesRead()
        tree = SnapshotTree(snapshot, self.workdir / f"tree-{next(self._roots)}", read)
        if self.repo.config_file is None:
            tree.fetch(configuration.CONFIG_NAMES)
        checkout = Checkout(branch, tip, snapshot, tree.root, self._config(tree), read)
        self._checkouts[(branch, tip)] = checkout
        return checkout

    def _config(self, tree: SnapshotTree) -> configuration.Config | None:
        """promoter.yaml of a checkout, parsed once per content: validation and every retry
        read the same file, and parsing it is most of a run's own CPU time."""
        path = self.repo.config_file or configuration.find_config(tree)
        if path is None:
            return None
        key = configuration.read_config(path, root=tree)  # never through a symlink
        if key not in self._configs:
            self._configs[key] = configuration.check_config(key[1], key[0], root=tree)
        return self._configs[key]

    def check_out_commit(self, checkout: Checkout, commit: str) -> Checkout:
        """Another commit (a promotion branch's tip) read with `checkout`'s config."""
        root = self.workdir / f"branch-{next(self._roots)}"
        return Checkout(
            checkout.branch, commit, Snapshot(self.store, commit), root, checkout.config
        )

    def plan(self, checkout: Checkout, unit: Unit) -> EnvironmentPlan:
        """Plan `unit` on `checkout`: configured targets, or the repository's own structure."""
        repo_files = self._fetch(checkout, unit.env, unit.images, unit.app)
        return plan_environment(
            checkout.tree,
            checkout.config,
            unit.env,
            unit.images,
            unit.app,
            allow_downgrade=unit.allow_downgrade,
            repo_files=repo_files,
            prove=self.options.prove,
        )

    def read_deployed(
        self, checkout: Checkout, env: str, image: ImageRef, app: str | None
    ) -> deployed.Deployed:
        """What `env` deploys for `image`'s repository on `checkout` (see `deployed`), planned
        once per commit: `--all`, `status` and its in-flight and blocked reads ask again."""
        key = (checkout.branch, checkout.tip, env, image.repository, app)
        if key not in self._deployed:
            repo_files = self._fetch(checkout, env, (deployed.probe(image),), app)
            self._deployed[key] = deployed.read(
                checkout.tree, checkout.config, env, image, app, repo_files=repo_files
            )
        return self._deployed[key]

    def prefetch(
        self, checkout: Checkout, env: str, apps: Sequence[tuple[ImageRef, str | None]]
    ) -> None:
        """Bring the files many apps' reads need in one request, not one per app."""
        if checkout.config is None:
            return
        files: list[str] = []
        for image, app in apps:
            found, directories = needed_paths(checkout.config, env, [deployed.probe(image)], app)
            files += found
            for directory in directories:
                files += [f for f in checkout.snapshot.files_under(directory) if is_yaml_path(f)]
        checkout.tree.fetch(files)

    def _fetch(
        self, checkout: Checkout, env: str, images: Sequence[ImageRef], app: str | None
    ) -> RepoFiles | None:
        """The files a plan of `env` reads, fetched into the checkout's tree; without
        promoter.yaml, the repository view discovery reads instead."""
        files, directories = needed_paths(checkout.config, env, images, app)
        if directories == [""]:  # the environment model reads the repository's structure
            apps = {image.app_name for image in images} | {app or ""}
            return SnapshotFiles(checkout.snapshot, checkout.root, apps - {""}, checkout.read)
        for directory in directories:
            files += [f for f in checkout.snapshot.files_under(directory) if is_yaml_path(f)]
        checkout.tree.fetch(files)
        return None


@contextmanager
def open_workspace(repo: RepositoryRef, options: Options | None = None) -> Iterator[Workspace]:
    """The store for `repo` in a temporary directory, removed (with the store's
    processes) when the run ends: the one `opening.begin` started, or opened now."""
    opened = opening.take(repo)
    try:
        variable = opened.credentials.variable if opened.credentials else ""
        yield Workspace(
            repo, options or Options(), opened.store, opened.workdir, opened.opener,
            opened.stats, opened.forge, variable,
        )  # fmt: skip
    finally:
        opened.close()


def load_config(root: Path, config_file: Path | None) -> configuration.Config | None:
    path = config_file or configuration.find_config(root)
    return configuration.load_config(path, root=root) if path else None
