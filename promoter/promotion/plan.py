"""Which files of an environment hold each image, and their new bytes: planned in memory.

Works on a `FileTree`: a user's checkout (a `Path` is taken as one), or the files of a
commit a remote run holds in memory.
`targets.needed_paths` says which files that is before anything is fetched (re-exported
here with `app_names` and `is_yaml_path`, what the steps and the workspace import). The
plan of a set of files itself, `EnvironmentPlan`, is `edits` (which `bump` uses alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promoter import config as configuration
from promoter import environments
from promoter.editing import BumpRequest
from promoter.environments import EnvironmentView, RepoFiles
from promoter.errors import InputError, TargetNotFoundError
from promoter.filetree import FileTree, as_tree
from promoter.imageref import ImageRef
from promoter.promotion.edits import EnvironmentPlan, parse_images
from promoter.promotion.targets import (
    app_image,
    app_names,
    explicit_files,
    is_discovered,
    is_yaml_path,
    needed_paths,
    targets,
)

__all__ = [  # `EnvironmentPlan`, `parse_images` live in `edits`; `app_names`,
    # `is_yaml_path` and `needed_paths` in `targets`
    "EnvironmentPlan",
    "app_names",
    "discover",
    "is_yaml_path",
    "needed_paths",
    "parse_images",
    "plan_environment",
]


def plan_environment(
    root: Path | FileTree,
    config: configuration.Config | None,
    env: str,
    images: Sequence[ImageRef],
    app: str | None,
    *,
    allow_downgrade: bool = False,
    repo_files: RepoFiles | None = None,
    prove: bool = True,
    splice: bool = True,
) -> EnvironmentPlan:
    order = "semver"
    if config is not None and env in config.environments:
        order = config.environments[env].policies.version_order
    tree = as_tree(root)
    plan = EnvironmentPlan(
        allow_downgrade=allow_downgrade, order=order, prove=prove, splice=splice, tree=tree
    )
    if config is None:
        files = repo_files or environments.DirectoryFiles(tree)
        for view in discover(files, env, images, app):
            for action in view.actions:
                plan.apply(action, view.image, view.settings)
        plan.check_found(env, images)
        return plan
    configuration.environment(config, env)
    for image in images:
        if is_discovered(config, image, app):  # an app naming only its image
            files = repo_files or environments.DirectoryFiles(tree)
            own = app if app == image.app_name else None
            for view in discover(files, env, [image], own, known=tuple(config.environments)):
                for action in view.actions:
                    plan.apply(action, view.image, view.settings)
            continue
        for path, display, key, target in targets(tree, config, env, image, app):
            try:
                plan.edit(path, display, BumpRequest(image, key=key), image)
            except TargetNotFoundError:
                if target is not None and target.create:
                    configured = app_image(config, image, app)
                    plan.create(path, display, target, configured, image)
                elif key is not None or display in explicit_files(config, env):
                    raise
    plan.check_found(env, images)
    return plan


def discover(
    files: RepoFiles,
    env: str,
    images: Sequence[ImageRef],
    app: str | None,
    known: Sequence[str] | None = None,
) -> list[EnvironmentView]:
    """The environment model's view of each image; a refusal is an input error."""
    views = []
    for image in images:
        if app is not None and app != image.app_name:
            raise InputError(
                f"--app {app} does not match image {image.name} (app {image.app_name}); "
                "without promoter.yaml the app is named by the image",
                field="--app",
            )
        view = environments.discover(files, env, image, app=app, known=known)
        if view.error is not None:
            raise view.error
        if view.refusal is not None:
            raise TargetNotFoundError(view.refusal)
        views.append(view)
    return views
