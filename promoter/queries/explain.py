"""`promote explain` and discovery for `promote validate`: what promoter would touch, and why.

The same model a promotion plans with, read-only: for each environment its entry points,
where the image is effectively set (file:line, owned or shared by whom) and what a
promotion would do (edit, insert, or refuse and why). With promoter.yaml the configured
targets are planned in memory instead. Nothing is written or pushed.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promoter import config as configuration
from promoter import environments
from promoter.environments import EnvironmentView, RepoFiles, order
from promoter.errors import InputError, PromoterError
from promoter.filetree import FileTree
from promoter.imageref import ImageRef
from promoter.promotion.files import SnapshotFiles
from promoter.promotion.opening import is_repository
from promoter.promotion.plan import parse_images, plan_environment
from promoter.promotion.unit import Unit
from promoter.promotion.workspace import open_workspace
from promoter.queries.requests import ExplainRequest


@dataclass(frozen=True, slots=True)
class Explanation:
    """One environment and image: the model's view, or the configured plan's outcome."""

    env: str
    image: str
    configured: bool
    entry_points: tuple[str, ...] = ()
    settings: tuple[dict[str, object], ...] = ()
    actions: tuple[dict[str, object], ...] = ()
    refusal: str | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    """(path, why) of each file set aside: it cannot hold the image."""

    def as_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "image": self.image,
            "configured": self.configured,
            "entry_points": list(self.entry_points),
            "settings": list(self.settings),
            "actions": list(self.actions),
            "refusal": self.refusal,
            "notes": list(self.notes),
            "skipped": [{"path": path, "why": why} for path, why in self.skipped],
        }


@dataclass(frozen=True, slots=True)
class Report:
    environments_found: tuple[str, ...]
    """In promotion order."""
    explanations: tuple[Explanation, ...] = field(default=())
    sources: dict[str, str | None] = field(default_factory=dict)
    """Each environment's source: promoter.yaml's `from:`, or inferred from the names."""

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": 1,
            "environments_found": list(self.environments_found),
            "sources": dict(self.sources),
            "explanations": [e.as_json() for e in self.explanations],
        }


def explain(request: ExplainRequest) -> Report:
    """What a promotion of `request` would touch per environment, and why; read-only."""
    repo, envs, app = request.repo, request.envs, request.app
    if not envs:
        raise InputError("no environment given", field="--env")
    path = Path(repo.url)
    local = "://" not in repo.url and path.is_dir()
    if local and ((path / ".git").exists() or not is_repository(path)):
        return explain_directory(path, repo.config_file, envs, request.images, app)
    images = parse_images(request.images)
    with open_workspace(repo) as ws:
        checkout = ws.check_out(repo.base or ws.default_branch, fetch=False)
        files = SnapshotFiles(
            checkout.snapshot, checkout.root, {i.app_name for i in images}, checkout.read
        )
        if checkout.config is not None:
            for env in envs:
                with contextlib.suppress(PromoterError):  # explained below
                    ws.plan(checkout, Unit(env, app, tuple(images)))  # fetches the targets
        return explain_files(files, checkout.tree, checkout.config, envs, images, app)


def explain_files(
    files: RepoFiles,
    root: Path | FileTree,
    config: configuration.Config | None,
    envs: Sequence[str],
    images: Sequence[ImageRef],
    app: str | None,
) -> Report:
    if config is not None:
        sources = {env: settings.source for env, settings in config.environments.items()}
    else:
        sources = order.infer_sources(environments.environments(files))
    found = order.ordered(sources, sources)
    explanations: list[Explanation] = []
    for env in envs:
        for image in images:
            if config is None:
                explanations.append(_from_view(environments.discover(files, env, image, app=app)))
            else:
                explanations.append(_configured(root, config, env, image, app))
    return Report(tuple(found), tuple(explanations), sources)


def explain_directory(
    root: Path,
    config_file: Path | None,
    envs: Sequence[str],
    image_texts: Sequence[str],
    app: str | None,
) -> Report:
    """Explain against a checkout, on a scratch copy of nothing: the model only reads."""
    images = parse_images(image_texts)
    config_path = config_file or configuration.find_config(root)
    config = configuration.load_config(config_path, root=root) if config_path else None
    if config is None:
        return explain_files(environments.DirectoryFiles(root), root, None, envs, images, app)
    # A configured plan writes nothing, but plans on a copy all the same: never the user's tree.
    scratch = Path(tempfile.mkdtemp(prefix="promoter-explain-"))
    try:
        copy = scratch / "repo"
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        return explain_files(environments.DirectoryFiles(copy), copy, config, envs, images, app)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _from_view(view: EnvironmentView) -> Explanation:
    return Explanation(
        view.env,
        view.image.name,
        configured=False,
        entry_points=view.entries,
        settings=tuple(
            {"path": s.path, "line": s.line, "owned": s.owned, "shared_by": list(s.readers)}
            for s in view.settings
        ),
        actions=tuple(
            {"action": a.kind, "path": a.path, "reason": a.reason, "detail": a.describe()}
            for a in view.actions
        ),
        refusal=view.refusal,
        notes=view.notes,
        skipped=view.skipped,
    )


def _configured(
    root: Path | FileTree, config: configuration.Config, env: str, image: ImageRef, app: str | None
) -> Explanation:
    try:
        plan = plan_environment(root, config, env, [image], app)
    except PromoterError as error:
        return Explanation(env, image.name, configured=True, refusal=str(error))
    return Explanation(
        env,
        image.name,
        configured=True,
        settings=tuple(
            {"path": c.file, "line": c.line, "owned": True, "shared_by": []} for c in plan.changes
        ),
        actions=tuple(
            {
                "action": "edit",
                "path": c.file,
                "reason": "configured in promoter.yaml",
                "detail": f"edit {c.file} at {c.pointer}: {c.old} -> {c.new}",
            }
            for c in plan.changes
        ),
    )
