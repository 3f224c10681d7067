"""promoter.yaml: the model of environments and apps, its validation, and where it lives.

The file is composed (never constructed) with ruamel.yaml so that every error names the
file, line and field, and so that no YAML type guessing slips past: `base: 1.10` is a
number, not a branch, and is reported as such. Environment settings inherit from
`defaults`: a value set on the environment replaces the default (lists are not merged),
except `policies`, which merge key by key. Target paths are relative to the repository
root, not to the config file. `promoter/schema/promoter.schema.json` describes the same
format for editors; this module stays the source of truth for messages. Knows nothing of
editing, git or forges.
"""

from __future__ import annotations

from pathlib import Path

from promoter.config.holds import HOLD_FILE, Hold, add_hold, find_hold, parse_holds, remove_hold
from promoter.config.model import (
    CONFIG_NAMES,
    MODES,
    VERSION,
    App,
    Config,
    Environment,
    FreezeWindow,
    Guards,
    Mode,
    Policies,
    Target,
    TargetKind,
    WindowRule,
    Windows,
)
from promoter.config.parser import (
    BRANCH_PATTERN,
    DURATION_PATTERN,
    HELM_KEY_PATTERN,
    LABEL_PATTERN,
    MOMENT_PATTERN,
    NAME_PATTERN,
    POINTER_PATTERN,
    REVIEWER_PATTERN,
    Parser,
    unknown_environment,
)
from promoter.discovery import (
    resolve_in_repo,
    search_directory,
)
from promoter.errors import ConfigError, PathEscapeError, YamlError
from promoter.imageref import ImageRef

__all__ = [  # the discovery functions are re-exported: cli may import config, not discovery
    "BRANCH_PATTERN",
    "CONFIG_NAMES",
    "DURATION_PATTERN",
    "FREEZE_FILE",
    "HELM_KEY_PATTERN",
    "HOLD_FILE",
    "LABEL_PATTERN",
    "MODES",
    "MOMENT_PATTERN",
    "NAME_PATTERN",
    "POINTER_PATTERN",
    "REVIEWER_PATTERN",
    "VERSION",
    "App",
    "Config",
    "Environment",
    "FreezeWindow",
    "Guards",
    "Hold",
    "Mode",
    "Policies",
    "Target",
    "TargetKind",
    "WindowRule",
    "Windows",
    "add_hold",
    "environment",
    "find_app",
    "find_config",
    "find_hold",
    "load_config",
    "parse_config",
    "parse_freezes",
    "parse_holds",
    "remove_hold",
    "resolve_in_repo",
    "search_directory",
]  # fmt: skip


def find_config(root: Path) -> Path | None:
    """The config file at the repository root, by the names promoter accepts, in order."""
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path, *, root: Path) -> Config:
    """Read and validate `path`, then check every target path against `root` (symlinks)."""
    try:
        name = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", path=name) from exc
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError("not UTF-8 text", path=name, line=line) from exc
    parser = Parser(name)
    config = parser.parse(text)
    for site_field, line, relative in parser.paths:
        try:
            resolve_in_repo(root, relative)
        except PathEscapeError as exc:
            raise PathEscapeError(exc.message, path=name, line=line, field=site_field) from exc
    return config


def parse_config(text: str, name: str) -> Config:
    """Validate config text; paths are checked lexically only (no root, no symlinks)."""
    return Parser(name).parse(text)


FREEZE_FILE = ".promoter/freeze.yaml"
"""Freezes declared in the config repository itself, visible and reviewed like any change."""


def parse_freezes(text: str, name: str, env: str) -> tuple[FreezeWindow, ...]:
    """The freezes of a freeze file that hold for `env` (no `environments`: every one)."""
    return tuple(w for envs, w in Parser(name).freezes(text) if not envs or env in envs)


def environment(config: Config, name: str) -> Environment:
    """The environment called `name`, or a `ConfigError` listing the declared ones."""
    found = config.environments.get(name)
    if found is None:
        raise ConfigError(unknown_environment(name, list(config.environments)))
    return found


def find_app(config: Config, image: ImageRef) -> App | None:
    """The app whose image is `image`'s repository (tags and Docker Hub spelling ignored)."""
    return next((app for app in config.apps.values() if app.image.same_repository(image)), None)
