"""`promote validate`: promoter.yaml and the holds and freeze files checked, or without
promoter.yaml what the repository itself says: its environments, in promotion order, each
with the files that name it. A working tree is read where it is; a URL or a bare repository
through the workspace, at its default branch (never its `refs/` directory as files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from promoter import config as configuration
from promoter import environments
from promoter.environments import RepoFiles, order
from promoter.errors import TargetNotFoundError
from promoter.promotion.files import SnapshotFiles
from promoter.promotion.opening import is_repository
from promoter.promotion.workspace import open_workspace
from promoter.queries.requests import ValidateRequest
from promoter.yamlfile import YAML_SUFFIXES


@dataclass(frozen=True, slots=True)
class Validation:
    """What `validate` found: the config it checked (None: zero-config), the environments
    in promotion order with their sources, and without config each one's files."""

    config: str | None
    environments: tuple[str, ...]
    sources: dict[str, str | None]
    apps: int = 0
    files: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": 1,
            "config": self.config,
            "environments": [
                {"name": env, "from": self.sources.get(env), "files": self.files.get(env, [])}
                for env in self.environments
            ],
            "apps": self.apps,
        }


def validate(request: ValidateRequest) -> Validation:
    repo = request.repo
    path = Path(repo.url)
    local = "://" not in repo.url and path.is_dir()
    if local and ((path / ".git").exists() or not is_repository(path)):
        return _directory(path, repo.config_file)
    if not local and "://" not in repo.url:
        raise TargetNotFoundError("config repository not found", path=repo.url)
    with open_workspace(repo) as ws:
        checkout = ws.check_out(repo.base or ws.default_branch, fetch=False)
        config = checkout.config
        if config is not None:
            for name in (configuration.HOLD_FILE, configuration.FREEZE_FILE):
                text = checkout.control_file(name)  # names checked against the config
                if text is not None:
                    _parse_control(name, text)
            return _configured(config)
        return _outline(SnapshotFiles(checkout.snapshot, checkout.root, shared=checkout.read))


def _directory(root: Path, config_file: Path | None) -> Validation:
    path = config_file or configuration.find_config(root)
    if path is None:
        return _outline(environments.DirectoryFiles(root))
    config = configuration.load_config(path, root=root)
    configuration.check_controls(root, config)  # holds and freezes: parsed, names known
    return _configured(config, str(path))


def _parse_control(name: str, text: str) -> None:
    if name == configuration.HOLD_FILE:
        configuration.parse_holds(text, name)
    else:
        configuration.parse_freezes(text, name, "")


def _configured(config: configuration.Config, name: str | None = None) -> Validation:
    sources = {env: settings.source for env, settings in config.environments.items()}
    envs = tuple(order.ordered(config.environments, sources))
    return Validation(name or config.name, envs, sources, len(config.apps))


def _outline(files: RepoFiles) -> Validation:
    """Environments the layout suggests, each with the files whose path names it."""
    paths = files.paths()
    found = environments.environments(files)
    sources = order.infer_sources(found)
    listed = {
        env: [p for p in paths if environments.names(p, env) and p.endswith(YAML_SUFFIXES)]
        for env in found
    }
    return Validation(None, tuple(order.ordered(found, sources)), sources, files=listed)
