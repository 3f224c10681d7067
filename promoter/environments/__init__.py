"""Environments as the repository defines them: entry points, owned and shared files, and
where each environment effectively sets an image (see `model`). Knows nothing of git."""

from promoter.environments.files import DirectoryFiles, RepoFiles, list_files
from promoter.environments.model import discover, environments
from promoter.environments.naming import infer_environments, names
from promoter.environments.view import Action, EnvironmentView, Setting

__all__ = [
    "Action",
    "DirectoryFiles",
    "EnvironmentView",
    "RepoFiles",
    "Setting",
    "discover",
    "environments",
    "infer_environments",
    "list_files",
    "names",
]
