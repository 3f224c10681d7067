"""The repository's listing indexed once, for every discovery that reads it.

`status` and `plan --all` discover every app in every environment of one listing; what
depends on the listing alone (the set of paths, which are deployment files, the wide
directories and which app's subtree each path lies in) is computed here once, so a
discovery costs its app's share of the repository, not the whole repository again.
Knows nothing of environments or git: paths in, indexes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import Lock

from promoter.config import CONFIG_NAMES
from promoter.environments import naming
from promoter.environments.kustomize import is_kustomization_path
from promoter.tree import WIDE_DIRECTORY
from promoter.yamlfile import YAML_SUFFIXES

_Membership = tuple[tuple[str, ...], str]
"""(a wide directory's parts, the child of it a path lies under)."""


class _Scoped:
    """Paths grouped by the outermost wide directory's child they lie under, so the paths
    of one app's scope are picked without looking at every other app's."""

    def __init__(self, paths: Sequence[str], wide: dict[tuple[str, ...], set[str]]) -> None:
        self.paths = list(paths)
        self.wide = wide
        self.outside: list[str] = []
        self.groups: dict[tuple[str, ...], dict[str, list[str]]] = {}
        self.nested: set[_Membership] = set()
        """Groups holding a path under a second wide directory, checked path by path."""
        for path in paths:
            memberships = _memberships(path, wide)
            if not memberships:
                self.outside.append(path)
                continue
            parent, child = memberships[0]
            self.groups.setdefault(parent, {}).setdefault(child, []).append(path)
            if len(memberships) > 1:
                self.nested.add((parent, child))

    def select(self, app: str) -> list[str]:
        """The paths not under a sibling of `app` in a wide directory that holds `app`."""
        parents = {parent for parent, names in self.wide.items() if app in names}
        if not parents:
            return self.paths
        kept = list(self.outside)
        for parent, children in self.groups.items():
            chosen = [app] if parent in parents else list(children)
            for child in chosen:
                group = children.get(child, [])
                if (parent, child) in self.nested:
                    group = [p for p in group if _kept(p, parents, app)]
                kept.extend(group)
        return sorted(kept)


class Layout:
    """Indexes of one listing (`paths`: every file, sorted), shared by its discoveries."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.path_set = frozenset(paths)
        self.deployment = naming.deployment_paths(paths)
        deployment = set(self.deployment)
        yaml_paths = [p for p in self.deployment if p not in CONFIG_NAMES]
        children: dict[tuple[str, ...], set[str]] = {}
        for path in yaml_paths:
            parts = tuple(path.split("/")[:-1])
            for index in range(len(parts)):
                children.setdefault(parts[:index], set()).add(parts[index])
        self.wide = {p: names for p, names in children.items() if len(names) > WIDE_DIRECTORY}
        """Directories with more than `WIDE_DIRECTORY` subdirectories holding YAML."""
        self._yaml = _Scoped(yaml_paths, self.wide)
        left = [p for p in paths if p not in deployment and is_yaml(p)]
        self._left = _Scoped(left, self.wide)
        self.environments: list[str] | None = None
        """The environments the layout names, once a discovery has worked them out."""

    def scope(self, app: str) -> list[str]:
        """Deployment YAML (promoter.yaml aside) outside `app`'s siblings in wide
        directories: a base they share is still read when an entry reaches it."""
        return self._yaml.select(app)

    def set_aside(self, app: str) -> list[str]:
        """YAML that is no deployment (a chart's templates, a vendored chart's files) in
        the same scope."""
        return self._left.select(app)


def is_yaml(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES) or is_kustomization_path(path)


def _memberships(path: str, wide: dict[tuple[str, ...], set[str]]) -> list[_Membership]:
    directories = tuple(path.split("/")[:-1])
    return [
        (directories[:index], directories[index])
        for index in range(len(directories))
        if directories[:index] in wide
    ]


def _kept(path: str, parents: set[tuple[str, ...]], app: str) -> bool:
    directories = path.split("/")[:-1]
    return not any(
        tuple(directories[:index]) in parents and directories[index] != app
        for index in range(len(directories))
    )


_CACHE: dict[int, tuple[list[str], Layout]] = {}
_CACHE_SIZE = 8
_LOCK = Lock()


def layout_of(paths: list[str]) -> Layout:
    """The layout of a listing, by identity: a `RepoFiles` returns the same list for the
    same listing, so every discovery of a checkout shares one (a few kept, oldest out)."""
    with _LOCK:
        held = _CACHE.get(id(paths))
        if held is not None and held[0] is paths:
            return held[1]
    layout = Layout(paths)
    with _LOCK:
        _CACHE[id(paths)] = (paths, layout)
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return layout
