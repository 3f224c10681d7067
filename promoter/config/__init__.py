"""promoter.yaml: the model of environments and apps, its validation, and where it lives.

The file is composed (never constructed) with ruamel.yaml so that every error names the
file, line and field, and so that no YAML type guessing slips past: `base: 1.10` is a
number, not a branch, and is reported as such. Environment settings inherit from
`defaults`: a value set on the environment replaces the default (lists are not merged),
except `policies` and `templates`, which merge key by key. Target paths are relative to
the repository root, not to the config file. `promoter/schema/promoter.schema.json`
describes the same format for editors; this module stays the source of truth for
messages. Knows nothing of editing, git or forges.
"""

from __future__ import annotations

import os
from pathlib import Path

from promoter.config.files import decode, read_control_file, requote
from promoter.config.holds import HOLD_FILE, Hold, add_hold, find_hold, parse_holds, remove_hold
from promoter.config.model import (
    CONFIG_NAMES,
    DAY_NAMES,
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
from promoter.config.nodes import NAME_PATTERN
from promoter.config.parser import (
    BRANCH_PATTERN,
    HELM_KEY_PATTERN,
    LABEL_PATTERN,
    POINTER_PATTERN,
    REVIEWER_PATTERN,
    Parser,
    is_branch_name,
    unknown_environment,
)
from promoter.config.policy_parser import DURATION_PATTERN, MOMENT_PATTERN
from promoter.config.references import check_references
from promoter.config.templates import BRANCH_PREFIX, SUBJECT_MAX, TITLE_MAX, Template, Templates
from promoter.discovery import (
    resolve_in_repo,
    search_directory,
)
from promoter.errors import ConfigError, PathEscapeError
from promoter.filetree import FileTree, as_tree
from promoter.imageref import ImageRef

__all__ = [  # the discovery functions are re-exported: cli may import config, not discovery
    "BRANCH_PATTERN",
    "BRANCH_PREFIX",
    "CONFIG_NAMES",
    "DAY_NAMES",
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
    "SUBJECT_MAX",
    "TITLE_MAX",
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
    "Template",
    "Templates",
    "WindowRule",
    "Windows",
    "add_hold",
    "check_config",
    "check_controls",
    "check_references",
    "environment",
    "find_app",
    "find_config",
    "find_hold",
    "is_branch_name",
    "load_config",
    "parse_config",
    "parse_freezes",
    "parse_holds",
    "read_config",
    "read_control_file",
    "remove_hold",
    "resolve_in_repo",
    "search_directory",
]  # fmt: skip


def find_config(root: Path | FileTree) -> Path | None:
    """The config file at the repository root, by the names promoter accepts, in order.

    A name held by a symlink is refused (`PathEscapeError`), not skipped for the next name:
    promoter never reads the files that steer it through a link."""
    tree = as_tree(root)
    for name in CONFIG_NAMES:
        if read_control_file(tree, name) is not None:
            return tree.root / name
    return None


def load_config(path: Path, *, root: Path | FileTree) -> Config:
    """Read and validate `path`, then check every target path against `root` (symlinks)."""
    name, text = read_config(path, root=root)
    return check_config(text, name, root=root)


def read_config(path: Path, *, root: Path | FileTree) -> tuple[str, str]:
    """(name for messages, text) of a config file. Under `root` (as spelled, links not
    followed) it is a control file, never read through a symlink; elsewhere it is the
    operator's own `--config` file, named as given."""
    tree = as_tree(root)
    inside = os.path.relpath(os.path.abspath(path), os.path.abspath(tree.root))
    if inside == os.pardir or inside.startswith(os.pardir + os.sep) or os.path.isabs(inside):
        try:
            return str(path), decode(path.read_bytes(), str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read config: {exc.strerror or exc}", path=str(path)) from exc
    name = Path(inside).as_posix()
    text = read_control_file(tree, name)
    if text is None:
        raise ConfigError("cannot read config: No such file or directory", path=name)
    return name, text


def check_config(text: str, name: str, *, root: Path | FileTree) -> Config:
    """Validate config text, then check every target path against `root` (symlinks)."""
    parser = Parser(name)
    config = parser.parse(text)
    tree = as_tree(root)
    for site_field, line, relative in parser.paths:
        try:
            resolve_in_repo(tree, relative)
        except PathEscapeError as exc:
            message = requote(exc.message, relative)
            raise PathEscapeError(message, path=name, line=line, field=site_field) from exc
    return config


def check_controls(root: Path | FileTree, config: Config) -> None:
    """The holds and freeze files under `root` (if any) are valid and name only the
    environments and apps of `config` (`promote validate`)."""
    for name in (HOLD_FILE, FREEZE_FILE):
        text = read_control_file(root, name)
        if text is None:
            continue
        check_references(text, name, config.environments, config.apps)
        if name == HOLD_FILE:
            parse_holds(text, name)
        else:
            Parser(name).freezes(text)


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
    """The app whose image is `image`'s repository (tags and Docker Hub spelling ignored):
    the first declared, looked up in an index made once per promoter.yaml (`status` asks
    for every cell of thousands of apps)."""
    known = _BY_REPOSITORY.get(id(config.apps))
    if known is None or known[0] is not config.apps:
        index: dict[str, App] = {}
        for app in config.apps.values():
            index.setdefault(app.image.repository, app)
        known = _BY_REPOSITORY[id(config.apps)] = (config.apps, index)
    return known[1].get(image.repository)


_BY_REPOSITORY: dict[int, tuple[dict[str, App], dict[str, App]]] = {}
"""`find_app`'s indexes by the id of a config's apps (held, so the id stays theirs)."""
