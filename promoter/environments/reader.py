"""The repository as one discovery reads it: paths, bytes, parsed YAML, the kustomize graph.

Discovery (`model`) and the overrides (`insertion`) share one reader, passed in, so no
file is read or parsed twice and a parse error is noted once. Files are read in batches
(a partial clone fetches each batch in one request); the graph grows with what is read.
Knows nothing of environments: which file is whose is `ownership`'s, and nothing of git.
"""

from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml.nodes import Node

from promoter.editing import BumpRequest, Context, kinds
from promoter.editing.engine import find_all
from promoter.editing.model import Found
from promoter.editing.source import YamlFile, check_not_encrypted, mapping_get, parse_bytes
from promoter.environments import layering
from promoter.environments.files import RepoFiles
from promoter.environments.kustomize import Graph, is_kustomization_path, parse_kustomization
from promoter.environments.layout import layout_of
from promoter.errors import PromoterError, YamlError
from promoter.imageref import ImageRef
from promoter.yamlfile import YAML_SUFFIXES

MAX_POINTER_FILES = 4000
"""YAML files read at most for the values layering deploy pointers declare."""
MAX_ROUNDS = 8
"""Reads of the kustomization graph; each round goes one base deeper (real repos: 2-3)."""


class Reader:
    """Reads `files` on demand and caches bytes, parsed YAML and parse errors."""

    def __init__(self, files: RepoFiles) -> None:
        self.files = files
        self.layout = layout_of(files.paths())
        self.all_paths = self.layout.paths
        self.path_set: frozenset[str] = self.layout.path_set
        self.data: dict[str, bytes] = {}
        self.parsed: dict[str, YamlFile | None] = {}
        self.errors: dict[str, YamlError] = {}
        self.notes: list[str] = []
        """What the environment's view reports besides its answer (parse errors first seen)."""
        self.skipped: dict[str, str] = {}
        """Files read and set aside, with why: they cannot hold the image (not YAML, a
        chart's template, encrypted), so they decide nothing."""
        self.graph = Graph(self.path_set)
        self._roots: dict[str, set[str]] | None = None
        self._declared: dict[str, str] | None = None

    def read(self, paths: Sequence[str]) -> None:
        """Read the listed `paths` not read yet, in one batch; kustomizations join the graph."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self.data and p in self.path_set]
        if wanted:
            self.data.update(self.files.read(wanted))
        for path in wanted:
            if is_kustomization_path(path) and path in self.data:
                self.graph.add(parse_kustomization(path, self.data[path]))

    def read_reach(self, entries: Sequence[str]) -> list[list[str]]:
        """Everything each entry reaches, read round by round (one base deeper each)."""
        asked: set[str] = set()
        for _ in range(MAX_ROUNDS):
            wanted: list[str] = []
            unlisted: list[str] = []
            for entry in entries:
                reach, missing = self.graph.reach(entry)
                wanted.extend(missing)
                wanted.extend(p for p in reach if p not in self.data)
                for path in reach:
                    node = self.graph.nodes.get(path)
                    if node is not None:
                        unlisted.extend(u for u in self.graph.unresolved(node) if u not in asked)
            if unlisted:
                asked.update(unlisted)
                listed = self.files.expand(unlisted)
                if listed:  # the layout's set is shared: this reader's grows on its own
                    self.path_set = self.path_set | set(listed)
                    self.graph.all_paths = self.path_set
                if listed:
                    continue
            wanted = [p for p in wanted if p in self.path_set and p not in self.data]
            if not wanted:
                break
            self.read(wanted)
            # Files that could not be read (too large) must not be asked for again.
            for path in wanted:
                self.data.setdefault(path, b"")
        return [self.graph.reach(entry)[0] for entry in entries]

    def yaml(self, path: str) -> YamlFile | None:
        """`path` parsed once; None when unread or not YAML (the error becomes a note)."""
        if path not in self.parsed:
            raw = self.data.get(path)
            try:
                self.parsed[path] = None if raw is None else parse_bytes(raw, path)
            except YamlError as exc:
                self.notes.append(str(exc))
                self.errors[path] = exc
                self.parsed[path] = None
        return self.parsed[path]

    def find(
        self,
        path: str,
        request: BumpRequest,
        base_values: Sequence[str] = (),
        *,
        strict: bool = False,
    ) -> list[Found]:
        """References of `request`'s image in `path`, over the chart values `base_values`.

        `strict` (for an environment's own file) makes a file that is not YAML an error,
        not "no reference", when it mentions the image: it may be exactly where the image
        is set. One that does not mention it is skipped (`skipped` says why), as is an
        encrypted file holding no reference: neither decides anything."""
        yaml_file = self.yaml(path)
        if yaml_file is None:
            if path in self.errors:
                if strict and self.mentions(path, request.image):
                    raise self.errors[path]
                self.skipped.setdefault(path, f"not YAML ({self.errors[path].message})")
            return []
        bases = tuple(b for b in (self.yaml(v) for v in base_values) if b is not None)
        found = find_all(yaml_file, request, Context(base_values=bases))
        if found:
            check_not_encrypted(yaml_file)
        elif _is_encrypted(yaml_file):
            self.skipped.setdefault(path, "SOPS-encrypted; it holds no reference to the image")
        return found

    def mentions(self, path: str, image: ImageRef) -> bool:
        """Whether `path`'s bytes spell the image's last name component anywhere: every way
        of setting an image (a reference, a values block, split keys) writes it, so a
        file that does not cannot be where the image is set."""
        word = image.repository.rsplit("/", 1)[-1].lower().encode()
        return word in self.data.get(path, b"").lower()

    def node_at(self, path: str, doc: int, keys: tuple[str | int, ...]) -> Node | None:
        """The node at `keys` in document `doc` of `path`, if it is there."""
        yaml_file = self.yaml(path)
        if yaml_file is None or doc >= len(yaml_file.docs):
            return None
        node: Node | None = yaml_file.docs[doc]
        for key in keys:
            if node is None:
                return None
            if isinstance(key, int):
                values = getattr(node, "value", None)
                node = values[key] if isinstance(values, list) and key < len(values) else None
            else:
                node = mapping_get(node, key)
        return node

    def companions(self, path: str, app: str) -> list[str]:
        """The files the file kinds read besides `path` (a Helm values file: the chart
        values it layers over), as `editing.kinds` declares them."""
        if is_kustomization_path(path):
            return []
        return kinds.companions(path, self.path_set, self.all_paths, app)

    def declared_companions(self, path: str) -> list[str]:
        """The chart values `path` layers over as a deploy pointer declares it (an Argo CD
        `valueFiles`, a HelmRelease's `valuesFiles`): asked only where the path rules of
        `companions` find none, since it reads every pointer of the repository once."""
        if self._declared is None:
            self._declared = {}
            pointers = [p for p in self.all_paths if p.endswith(YAML_SUFFIXES)][:MAX_POINTER_FILES]
            self.read(pointers)
            for pointer in pointers:
                raw = self.data.get(pointer, b"")
                if b"valueFiles" not in raw and b"valuesFiles" not in raw:
                    continue
                yaml_file = self.yaml(pointer)
                for doc in yaml_file.docs if yaml_file is not None else ():
                    for values, chart in layering.declared_layers(doc, self.path_set).items():
                        self._declared.setdefault(values, chart)
        declared = self._declared.get(path)
        if declared is None:
            return []
        self.read([declared])
        return [declared]

    def is_component(self, path: str) -> bool:
        return path in self.graph.nodes and self.graph.nodes[path].is_component

    def roots(self) -> dict[str, set[str]]:
        """Top-level kustomizations (read by none) and everything each reaches; computed
        once, over the graph as first asked."""
        if self._roots is None:
            graph = self.graph
            referenced = {c for node in graph.nodes.values() for c in graph.children(node)}
            self._roots = {
                root: set(graph.reach(root)[0])
                for root in graph.nodes
                if root not in referenced and not graph.nodes[root].is_component
            }
        return self._roots


def _is_encrypted(yaml_file: YamlFile) -> bool:
    try:
        check_not_encrypted(yaml_file)
    except PromoterError:
        return True
    return False
