"""The use case: which files of which environment hold the image, and what changes in them.

`bump` edits given files; `promote` resolves environments and apps from promoter.yaml (or
zero-config discovery) in a config repo checkout, plans every edit, and applies it unless
it is a dry run. Returns a `Result`; never prints.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promoter import config as configuration
from promoter.editing import BumpRequest, FileEdit, edit_bytes, write_atomic
from promoter.editing.engine import load_context
from promoter.errors import InputError, TargetNotFoundError
from promoter.imageref import ImageRef, parse_image_ref

SCHEMA_VERSION = 1


class Status(enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SUPERSEDED = "superseded"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Change:
    """One changed value, as the report and (later) the commit message and PR body show it."""

    file: str
    line: int
    pointer: str
    old: str | None
    new: str
    image: str
    editor: str

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "pointer": self.pointer,
            "old": self.old,
            "new": self.new,
            "image": self.image,
            "editor": self.editor,
        }


@dataclass(frozen=True, slots=True)
class FileDiff:
    file: str
    before: bytes
    after: bytes

    def unified(self) -> str:
        before = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        after = self.after.decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(before, after, f"a/{self.file}", f"b/{self.file}")
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


@dataclass(frozen=True, slots=True)
class EnvironmentResult:
    env: str
    status: Status
    changes: tuple[Change, ...] = ()
    diffs: tuple[FileDiff, ...] = ()
    mode: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "status": self.status.value,
            "mode": self.mode,
            "changes": [c.as_json() for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class Result:
    status: Status
    environments: tuple[EnvironmentResult, ...] = ()
    dry_run: bool = False
    files: tuple[str, ...] = field(default=())

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(c for env in self.environments for c in env.changes)

    @property
    def diffs(self) -> tuple[FileDiff, ...]:
        return tuple(d for env in self.environments for d in env.diffs)

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status.value,
            "dry_run": self.dry_run,
            "changes": [c.as_json() for c in self.changes],
            "environments": [e.as_json() for e in self.environments if e.env],
            "error": None,
        }


@dataclass(frozen=True, slots=True)
class PromoteCommand:
    config_repo: Path
    envs: tuple[str, ...]
    images: tuple[str, ...]
    app: str | None = None
    config_file: Path | None = None
    dry_run: bool = False


def parse_images(texts: Iterable[str]) -> list[ImageRef]:
    """Images to promote must say what version: a tag, a digest, or both."""
    images = []
    for text in texts:
        image = parse_image_ref(text)
        if image.tag is None and image.digest is None:
            raise InputError(f"image {text!r} has no tag or digest to promote", field="--image")
        images.append(image)
    return images


def bump(
    files: Sequence[Path], image_text: str, *, key: str | None = None, setter: str | None = None
) -> Result:
    """Edit local files in place (no git): every file must hold a reference to the image."""
    image = parse_images([image_text])[0]
    request = BumpRequest(image, key=key, setter=setter)
    plan = _Plan()
    for path in files:
        plan.edit(path, str(path), request, image, None)
    plan.write()
    return _combine([plan.summarise("", None)], dry_run=False)


def promote(command: PromoteCommand) -> Result:
    """Plan (and unless dry-run, apply) the promotion of each image to each environment."""
    root = command.config_repo
    if not root.is_dir():
        raise TargetNotFoundError("config repository not found", path=str(root))
    images = parse_images(command.images)
    if not command.envs:
        raise InputError("no environment given", field="--env")
    config_path = command.config_file or configuration.find_config(root)
    config = configuration.load_config(config_path, root=root) if config_path else None
    environments = []
    for env in command.envs:
        mode = configuration.environment(config, env).mode if config else None
        explicit = _explicit_files(config, env) if config else set()
        plan = _Plan()
        for image in images:
            for path, display, key in _targets(root, config, env, image, command.app):
                try:
                    plan.edit(path, display, BumpRequest(image, key=key), image, root)
                except TargetNotFoundError:
                    if key is not None or display in explicit:
                        raise
        if not command.dry_run:
            plan.write()
        environments.append(plan.summarise(env, mode))
    return _combine(environments, command.dry_run)


class _Plan:
    """Edits of one environment, chained in memory so two images in one file both land."""

    def __init__(self) -> None:
        self.original: dict[Path, bytes] = {}
        self.final: dict[Path, bytes] = {}
        self.names: dict[Path, str] = {}
        self.changes: list[Change] = []

    def edit(
        self, path: Path, name: str, request: BumpRequest, image: ImageRef, root: Path | None
    ) -> None:
        if path not in self.final:
            self.original[path] = _read(path, name)
            self.final[path] = self.original[path]
            self.names[path] = name
        done = edit_bytes(self.final[path], name, request, load_context(path, root))
        self.final[path] = done.after
        self.changes.extend(_changes(image, done))

    def write(self) -> None:
        for path, data in self.final.items():
            if data != self.original[path]:
                write_atomic(path, data)

    def summarise(self, env: str, mode: str | None) -> EnvironmentResult:
        diffs = tuple(
            FileDiff(self.names[p], self.original[p], self.final[p])
            for p in self.final
            if self.final[p] != self.original[p]
        )
        status = Status.CHANGED if diffs else Status.UNCHANGED
        return EnvironmentResult(env, status, tuple(self.changes), diffs, mode)


def _read(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise TargetNotFoundError("file not found", path=name) from exc
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=name) from exc


def _changes(image: ImageRef, done: FileEdit) -> list[Change]:
    return [
        Change(done.name, e.line, e.pointer, e.old, e.new, image.name, e.kind) for e in done.edits
    ]


def _explicit_files(config: configuration.Config, env: str) -> set[str]:
    return {
        target.path
        for app in config.apps.values()
        for target in app.targets.get(env, ())
        if target.kind != "directory"
    }


def _targets(
    root: Path,
    config: configuration.Config | None,
    env: str,
    image: ImageRef,
    app_name: str | None,
) -> list[tuple[Path, str, str | None]]:
    """(absolute path, repo-relative name, key) of each file to edit for one image."""
    if config is None:
        if app_name is not None and app_name != image.app_name:
            raise InputError(
                f"--app {app_name} does not match image {image.name} (app {image.app_name}); "
                "without promoter.yaml the app is named by the image",
                field="--app",
            )
        files = configuration.discover_targets(root, env, image)
        return [(path, path.relative_to(root).as_posix(), None) for path in files]
    configuration.environment(config, env)
    apps = [a for a in config.apps.values() if a.image.same_repository(image)]
    if app_name is not None:
        apps = [a for a in apps if a.name == app_name]
    if not apps:
        known = ", ".join(sorted(config.apps)) or "none"
        raise TargetNotFoundError(
            f"no app in promoter.yaml for image {image.name}"
            + (f" named {app_name!r}" if app_name else "")
            + f"; apps: {known}",
            field="--image",
        )
    targets: list[tuple[Path, str, str | None]] = []
    for app in apps:
        entries = app.targets.get(env, ())
        if not entries:
            raise TargetNotFoundError(f"app {app.name} has no targets for environment {env!r}")
        for target in entries:
            if target.kind == "directory":
                for found in configuration.search_directory(root, target.path, image):
                    targets.append((found, found.relative_to(root).as_posix(), None))
                continue
            path = configuration.resolve_in_repo(
                root, target.path, field=f"apps.{app.name}.targets.{env}"
            )
            targets.append((path, target.path, target.key))
    return targets


def _combine(environments: Sequence[EnvironmentResult], dry_run: bool) -> Result:
    changed = any(e.status is Status.CHANGED for e in environments)
    return Result(Status.CHANGED if changed else Status.UNCHANGED, tuple(environments), dry_run)
