"""What promoter.yaml names for one environment: the apps an image belongs to, the files
each targets there, and every file a plan of them may read, named before any is fetched.

Config in, paths out; `plan` reads and edits them. The files a target's kinds read
besides it come from the kinds' own declaration (`editing.kinds`), never a rule of ours.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from promoter import config as configuration
from promoter.editing import kinds
from promoter.editing.templates import chart_files
from promoter.errors import TargetNotFoundError
from promoter.filetree import FileTree, as_tree, relative
from promoter.imageref import ImageRef
from promoter.yamlfile import YAML_SUFFIXES

_ANY_FILE = "any.yaml"
"""A file directly in a `directory:` target, to ask the kinds what it may read."""


def targets(
    root: Path | FileTree,
    config: configuration.Config,
    env: str,
    image: ImageRef,
    app_name: str | None,
) -> list[tuple[Path, str, str | None, configuration.Target | None]]:
    """(absolute path, repo-relative name, key, target) of each file to edit for one image;
    the target is None for the files a `directory:` target found."""
    configuration.environment(config, env)
    tree = as_tree(root)
    found: list[tuple[Path, str, str | None, configuration.Target | None]] = []
    for entry in configured_apps(config, env, image, app_name):
        for target in entry.targets.get(env, ()):
            if target.kind == "directory":
                for path in configuration.search_directory(tree, target.path, image):
                    found.append((path, relative(tree, path), None, None))
                continue
            path = configuration.resolve_in_repo(
                tree, target.path, field=f"apps.{entry.name}.targets.{env}"
            )
            found.append((path, target.path, target.key, target))
    return found


def needed_paths(
    config: configuration.Config | None,
    env: str,
    images: Sequence[ImageRef],
    app: str | None,
) -> tuple[list[str], list[str]]:
    """(files, directories) a plan of `env` may read, before any of them is fetched.

    Without promoter.yaml, discovery looks at every YAML file: directories is `[""]`.
    Each target file brings every file its kinds may read besides it (`kinds.candidates`:
    for a Helm environment values file, the chart's `values.yaml` in its directory or the
    two above), and under a `templates/` directory the `Chart.yaml` that would make it a
    template. A directory target brings what a file directly in it would: the levels of
    the files deeper down lie inside it.
    """
    if config is None or any(is_discovered(config, image, app) for image in images):
        return [], [""]
    configuration.environment(config, env)
    files: list[str] = []
    directories: list[str] = []
    for image in images:
        for entry in configured_apps(config, env, image, app):
            for target in entry.targets.get(env, ()):
                if target.kind == "directory":
                    directories.append(target.path)
                    files.extend(kinds.candidates(posixpath.join(target.path, _ANY_FILE)))
                    continue
                files.append(target.path)
                files.extend(chart_files(target.path))
                files.extend(kinds.candidates(target.path))
    return list(dict.fromkeys(files)), list(dict.fromkeys(directories))


def app_names(
    config: configuration.Config | None, env: str, images: Sequence[ImageRef], app: str | None
) -> list[str]:
    """The apps a run touches, sorted: they name the promotion branch."""
    if config is None:
        return sorted({image.app_name for image in images})
    return sorted({a.name for image in images for a in configured_apps(config, env, image, app)})


def configured_apps(
    config: configuration.Config, env: str, image: ImageRef, app_name: str | None
) -> list[configuration.App]:
    """The apps of `image` (or the one named `app_name`), each with targets in `env`."""
    if app_name is not None:  # by name: no scan of every app (status reads thousands)
        named = config.apps.get(app_name)
        apps = [named] if named is not None and named.image.same_repository(image) else []
    else:
        apps = [a for a in config.apps.values() if a.image.same_repository(image)]
    if not apps:
        known = ", ".join(sorted(config.apps)) or "none"
        raise TargetNotFoundError(
            f"no app in promoter.yaml for image {image.name}"
            + (f" named {app_name!r}" if app_name else "")
            + f"; apps: {known}",
            field="--image",
        )
    for entry in apps:
        if not entry.discovered and not entry.targets.get(env):
            raise TargetNotFoundError(f"app {entry.name} has no targets for environment {env!r}")
    return apps


def is_discovered(config: configuration.Config, image: ImageRef, app_name: str | None) -> bool:
    """Whether `image` (or the app `app_name`) belongs to an app that names only its image:
    the environment model finds its settings, as without promoter.yaml."""
    if app_name is not None:
        named = config.apps.get(app_name)
        return named is not None and named.discovered and named.image.same_repository(image)
    apps = [a for a in config.apps.values() if a.image.same_repository(image)]
    return bool(apps) and all(a.discovered for a in apps)


def app_image(config: configuration.Config, image: ImageRef, app: str | None) -> ImageRef:
    """The image as promoter.yaml spells it: the name an inserted `images:` entry matches."""
    for entry in config.apps.values():
        if entry.image.same_repository(image) and app in (None, entry.name):
            return entry.image
    return image


def explicit_files(config: configuration.Config, env: str) -> set[str]:
    return {
        target.path
        for app in config.apps.values()
        for target in app.targets.get(env, ())
        if target.kind != "directory"
    }


def is_yaml_path(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES)
