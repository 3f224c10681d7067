"""The kustomization graph: which local files a kustomization reaches, and how.

Follows what `kubectl kustomize` itself accumulates (`api/internal/target/kusttarget.go`):
`resources`/`bases` (files and directories), `components`, patches of every form
(`patchesStrategicMerge`, `patches[].path`, `patchesJson6902[].path`), transformer,
generator, validator and replacement config files, and `helmCharts[].valuesFile`. Remote
references (URLs, `github.com/...`, `?ref=`) are outside the repository and skipped; so is
a path leaving it. Inline patches live in the kustomization itself. Knows nothing of git.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field

from promoter.editing.source import parse_bytes, to_data
from promoter.errors import YamlError
from promoter.yamlfile import KUSTOMIZATION_NAMES, YAML_SUFFIXES

_FILE_LISTS = ("transformers", "generators", "validators")


@dataclass(frozen=True, slots=True)
class Kustomization:
    """One parsed kustomization file; every reference is a repository-relative path."""

    path: str
    is_component: bool
    directories: tuple[str, ...] = ()
    """`resources`/`bases`/`components` that are directories (other kustomizations)."""
    files: tuple[str, ...] = ()
    """Resource, patch and config files it reads directly."""
    components: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())


def is_kustomization_path(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_NAMES


def directory_of(path: str) -> str:
    directory = posixpath.dirname(path)
    return directory or "."


def kustomization_in(directory: str, paths: Iterable[str] | Mapping[str, object]) -> str | None:
    """The kustomization file of `directory`, if the repository has one."""
    for name in KUSTOMIZATION_NAMES:
        candidate = name if directory in ("", ".") else f"{directory}/{name}"
        if candidate in paths:
            return candidate
    return None


@functools.lru_cache(maxsize=16384)
def parse_kustomization(path: str, raw: bytes) -> Kustomization:
    """The references of one kustomization; an unreadable one has none (and a problem).

    Parsed once per (path, content) in a run: every app and environment whose discovery
    reaches a base asks for it again. Composed by `editing.source` (libyaml, the same
    cache the editors read), so a file is parsed once whoever reads it."""
    try:
        data = _document(path, raw)
    except YamlError as exc:
        if exc.line is None:  # undecodable bytes, nesting too deep: the problem alone
            return Kustomization(path, False, problems=(f"{path}: not readable YAML",))
        problem = exc.message.removeprefix("not valid YAML: ")
        where = f"{path}:{exc.line}"
        return Kustomization(path, False, problems=(f"{where}: not readable YAML ({problem})",))
    if not isinstance(data, dict):
        return Kustomization(path, False)
    base = directory_of(path)
    directories: list[str] = []
    files: list[str] = []
    components: list[str] = []
    for key in ("resources", "bases", "components"):
        for item in _strings(data.get(key)):
            target = _local(base, item)
            if target is None:
                continue
            if key == "components":
                components.append(target)
            # Without the listing a name decides: a YAML/JSON file, else a directory.
            if target.endswith((*YAML_SUFFIXES, ".json")):
                files.append(target)
            else:
                directories.append(target)
    for item in _strings(data.get("patchesStrategicMerge")):
        if "\n" not in item:
            _add(files, base, item)
    for key in ("patches", "patchesJson6902", "replacements"):
        for entry in data.get(key) or ():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                _add(files, base, entry["path"])
    for key in _FILE_LISTS:
        for item in _strings(data.get(key)):
            if "\n" not in item:
                _add(files, base, item)
    for chart in data.get("helmCharts") or ():
        if isinstance(chart, dict) and isinstance(chart.get("valuesFile"), str):
            _add(files, base, chart["valuesFile"])
    kind = data.get("kind")
    return Kustomization(
        path,
        is_component=kind == "Component",
        directories=tuple(dict.fromkeys(directories)),
        files=tuple(dict.fromkeys(files)),
        components=tuple(dict.fromkeys(components)),
    )


def _document(path: str, raw: bytes) -> object:
    """The one document of a kustomization as plain data (merge keys applied)."""
    yaml_file = parse_bytes(raw, path)
    if len(yaml_file.docs) > 1:
        second = yaml_file.docs[1]
        line = int(second.start_mark.line) + 1 if second is not None else 1
        raise YamlError("not valid YAML: expected a single document", path=path, line=line)
    return to_data(yaml_file)[0] if yaml_file.docs else None


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _add(files: list[str], base: str, item: str) -> None:
    target = _local(base, item)
    if target is not None:
        files.append(target)


def _local(base: str, reference: str) -> str | None:
    """`reference` relative to `base` inside the repository, or None (remote, escaping)."""
    text = reference.strip()
    if not text or "://" in text or "?" in text or text.startswith(("github.com/", "git@")):
        return None
    if text.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(base, text) if base != "." else text)
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


class Graph:
    """Parsed kustomizations by path, with reach computed over what has been read."""

    def __init__(self, all_paths: Iterable[str]) -> None:
        self.all_paths: Set[str] = (
            all_paths if isinstance(all_paths, (set, frozenset)) else set(all_paths)
        )
        self.nodes: dict[str, Kustomization] = {}

    def add(self, kustomization: Kustomization) -> None:
        self.nodes[kustomization.path] = kustomization

    def resolve(self, directory: str) -> str | None:
        return kustomization_in(directory, self.all_paths)

    def children(self, node: Kustomization) -> list[str]:
        """Kustomization files and plain files `node` reads directly."""
        found: list[str] = []
        for directory in node.directories:
            child = self.resolve(directory)
            if child is not None:
                found.append(child)
            elif directory in self.all_paths:  # a resource file without an extension
                found.append(directory)
        for path in node.files:
            if path in self.all_paths:
                found.append(path)
            else:
                child = self.resolve(path)
                if child is not None:
                    found.append(child)
        return found

    def unresolved(self, node: Kustomization) -> list[str]:
        """References of `node` that the listing does not hold (maybe not listed yet)."""
        found = []
        for path in (*node.directories, *node.files):
            if path not in self.all_paths and self.resolve(path) is None:
                found.append(path)
        return found

    def reach(self, start: str) -> tuple[list[str], list[str]]:
        """(every file reached from `start`, kustomizations reached but not yet read)."""
        seen: dict[str, None] = {}
        missing: list[str] = []
        stack = [start]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            seen[path] = None
            if not is_kustomization_path(path):
                continue
            node = self.nodes.get(path)
            if node is None:
                missing.append(path)
                continue
            stack.extend(reversed(self.children(node)))
        return list(seen), missing

    def dominates(self, start: str, over: str, path: str) -> bool:
        """Every way from `start` to `path` goes through the kustomization `over`, so what
        `over`'s transformers do (an `images:` entry) is the last word on `path` unless a
        kustomization nearer `start` speaks again."""
        if over == start:
            return True
        if path == over:
            return False
        seen: set[str] = set()
        stack = [start]
        while stack:
            current = stack.pop()
            if current in seen or current == over:
                continue
            if current == path:
                return False
            seen.add(current)
            node = self.nodes.get(current) if is_kustomization_path(current) else None
            if node is not None:
                stack.extend(self.children(node))
        return True

    def referrers(self, path: str) -> list[str]:
        """Kustomizations that read `path` directly."""
        return sorted(p for p, node in self.nodes.items() if path in self.children(node))
