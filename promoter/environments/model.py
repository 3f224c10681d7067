"""Where one environment deploys an image, and what promoting it there must touch.

Built from the repository's own structure, never from a file merely mentioning a name:
- Kustomize: the environment's entry points are the topmost kustomizations whose path
  names it (not Components: those are mixins other environments share). Everything an
  entry reaches is read. A file is the environment's own when its path names the
  environment (and no other); anything else an entry reaches may be shared, so it is
  never edited: the environment gets its own override instead, the way
  `kustomize edit set image` adds an `images:` entry (kustomize applies an overlay's
  `images:` after everything its bases and components did), or, for a Helm release's
  values, the key path in the environment's own patch of that release.
- Helm: an environment values file (`values-<env>.yaml`, `<env>-values.yaml`,
  `envs/<env>/values.yaml`, ...) layered over the chart's `values.yaml`: edited where it
  sets the image, else the chart's key path is inserted into it.
- Any other file whose path names the environment (a release manifest, an Argo CD
  Application, a Flux HelmRelease) is edited where it references the image. An Argo CD
  Application or Flux Kustomization there also makes the directory it deploys an entry.
When none of that finds the image, the answer is a refusal that says where the image is
set, never "already up to date". Bytes in, decisions out: knows nothing of git.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.config import CONFIG_NAMES
from promoter.editing import BumpRequest, Context
from promoter.editing.engine import find_all
from promoter.editing.model import Found, Insertion, Target, refuse_stale_tag
from promoter.editing.source import YamlFile, parse_bytes
from promoter.environments import naming
from promoter.environments.files import RepoFiles
from promoter.environments.helm import chart_values, is_object_file
from promoter.environments.insertion import Overrides, current
from promoter.environments.kustomize import (
    Graph,
    directory_of,
    is_kustomization_path,
    kustomization_in,
    parse_kustomization,
)
from promoter.environments.pointers import application_paths, deployed_paths
from promoter.environments.refusal import refusal as explain_refusal
from promoter.environments.view import Action, EnvironmentView, Setting, dedupe
from promoter.errors import PromoterError, YamlError
from promoter.imageref import ImageRef
from promoter.tree import WIDE_DIRECTORY
from promoter.yamlfile import YAML_SUFFIXES

MAX_ROUNDS = 8
"""Reads of the kustomization graph; each round goes one base deeper (real repos: 2-3)."""
MAX_SURVEY_FILES = 4000
"""A refusal lists where the image is set by reading this many files at most."""


def discover(
    files: RepoFiles,
    env: str,
    image: ImageRef,
    *,
    app: str | None = None,
    known: Sequence[str] | None = None,
) -> EnvironmentView:
    """The environment's view of `image`; `refusal` says why nothing can be promoted."""
    return _Discovery(files, env, image, app or image.app_name, known).run()


def environments(files: RepoFiles) -> list[str]:
    return naming.infer_environments(files.paths())


class _Discovery(Overrides):
    def __init__(
        self,
        files: RepoFiles,
        env: str,
        image: ImageRef,
        app: str,
        known: Sequence[str] | None,
    ) -> None:
        self.files = files
        self.env = env
        self.image = image
        self.app = app
        self.all_paths = files.paths()
        self.path_set = set(self.all_paths)
        self.known = sorted({*(known or naming.infer_environments(self.all_paths)), env})
        self.data: dict[str, bytes] = {}
        self.parsed: dict[str, YamlFile | None] = {}
        self.graph = Graph(self.all_paths)
        self.notes: list[str] = []
        self.request = BumpRequest(image)
        self._root_reach: dict[str, set[str]] | None = None
        self.errors: dict[str, YamlError] = {}
        self.entries: list[str] = []
        self.pointer_dirs: list[str] = []
        self.exclusive_dirs: list[str] = []
        """Directories only this environment's Applications deploy (owned by pointer)."""

    # -- reading ---------------------------------------------------------------------

    def _read(self, paths: Sequence[str]) -> None:
        wanted = [p for p in dict.fromkeys(paths) if p not in self.data and p in self.path_set]
        if wanted:
            self.data.update(self.files.read(wanted))
        for path in wanted:
            if is_kustomization_path(path) and path in self.data:
                self.graph.add(parse_kustomization(path, self.data[path]))

    def _yaml(self, path: str) -> YamlFile | None:
        if path not in self.parsed:
            raw = self.data.get(path)
            try:
                self.parsed[path] = None if raw is None else parse_bytes(raw, path)
            except YamlError as exc:
                self.notes.append(str(exc))
                self.errors[path] = exc
                self.parsed[path] = None
        return self.parsed[path]

    # -- the environment's files -----------------------------------------------------

    def _own(self, path: str) -> bool:
        return naming.names(path, self.env, self.app) and not naming.is_ambiguous(
            path, self.env, self.known, self.app
        )

    def _scope(self) -> list[str]:
        """YAML paths worth reading first: in a wide directory (more than `WIDE_DIRECTORY`
        subdirectories, a monorepo's `apps/`) holding one named after the app, the app's
        siblings are left out; a base they share is still read when an entry reaches it.
        A narrow directory (`charts/web`, `charts/staging`) is read whole."""
        yaml_paths = [p for p in self.all_paths if _is_yaml(p) and p not in CONFIG_NAMES]
        children: dict[tuple[str, ...], set[str]] = {}
        for path in yaml_paths:
            parts = tuple(path.split("/")[:-1])
            for index in range(len(parts)):
                children.setdefault(parts[:index], set()).add(parts[index])
        parents = {
            parent
            for parent, names in children.items()
            if self.app in names and len(names) > WIDE_DIRECTORY
        }
        if not parents:
            return yaml_paths
        kept = []
        for path in yaml_paths:
            directories = path.split("/")[:-1]
            if not any(
                tuple(directories[:index]) in parents and directories[index] != self.app
                for index in range(len(directories))
            ):
                kept.append(path)
        return kept

    def run(self) -> EnvironmentView:
        scope = self._scope()
        named = [p for p in scope if self._own(p)]
        ambiguous = [
            p
            for p in scope
            if naming.names(p, self.env, self.app) and p not in named and _is_yaml(p)
        ]
        for path in ambiguous[:3]:
            others = naming.claims(path, self.known, self.app) - {self.env}
            self.notes.append(f"{path} also names {', '.join(sorted(others))}: not assigned")
        kustomizations = [p for p in scope if is_kustomization_path(p)]
        values_bases = [b for p in named for b in self._chart_values(p)]
        self._read([*kustomizations, *named, *values_bases])
        entries = self._entries(named)
        pointer_entries = self._pointer_entries(named)
        if not named:
            pointer_entries = self._application_pointers(scope)
        for entry in pointer_entries:
            if entry not in entries:
                entries.append(entry)
        self.pointer_dirs = list(self.exclusive_dirs)
        self.entries = entries
        reached = self._read_reach(entries)
        actions: list[Action] = []
        settings: dict[tuple[str, int], Setting] = {}
        examined: list[str] = list(dict.fromkeys([*named, *[p for r in reached for p in r]]))
        for entry, reach in zip(entries, reached, strict=True):
            actions.extend(self._entry_actions(entry, reach, settings))
        in_graph = {p for r in reached for p in r}
        for path in named:
            if path in in_graph or is_kustomization_path(path) or self._reached_by_others(path):
                continue
            actions.extend(self._standalone_actions(path, settings))
        actions = dedupe(actions)
        refusal = None
        if not actions:
            found = list(settings.values())
            components = [
                p for p in named if p in self.graph.nodes and self.graph.nodes[p].is_component
            ]
            refusal = explain_refusal(
                self.env,
                self.image.name,
                self.known,
                named,
                entries,
                examined,
                lambda: found or self._survey(),
                components,
            )
        return EnvironmentView(
            self.env,
            self.image,
            tuple(entries),
            tuple(examined),
            tuple(settings.values()),
            tuple(actions),
            refusal,
            tuple(self.notes),
        )

    def _entries(self, named: list[str]) -> list[str]:
        """Topmost non-Component kustomizations among the environment's own paths."""
        candidates = [
            p
            for p in named
            if is_kustomization_path(p)
            and p in self.graph.nodes
            and not self.graph.nodes[p].is_component
        ]
        inner: set[str] = set()
        for path in candidates:
            reach, _ = self.graph.reach(path)
            inner.update(r for r in reach if r != path)
        return [p for p in candidates if p not in inner]

    def _pointer_entries(self, named: list[str]) -> list[str]:
        """Directories that the environment's Argo CD Applications and Flux Kustomizations
        deploy from this repository."""
        found: list[str] = []
        for path in named:
            if is_kustomization_path(path):
                continue
            yaml_file = self._yaml(path)
            if yaml_file is None:
                continue
            for doc in yaml_file.docs:
                for directory in deployed_paths(doc):
                    entry = kustomization_in(directory, self.path_set)
                    if entry is not None:
                        found.append(entry)
        self._read(found)
        entries = [e for e in dict.fromkeys(found) if e in self.graph.nodes]
        unnamed = [e for e in entries if not self._own(e)]
        if unnamed:
            _, foreign = self._applications(self._scope())
            self.exclusive_dirs += [
                directory_of(e) for e in unnamed if directory_of(e) not in foreign
            ]
        return entries

    def _application_pointers(self, scope: list[str]) -> list[str]:
        """No path names the environment: Argo CD Applications (by name or destination) and
        ApplicationSet list elements that name it point at what it deploys. One more read,
        only on this path."""
        found, foreign = self._applications(scope)
        self._read(found)
        entries = [e for e in dict.fromkeys(found) if e in self.graph.nodes]
        self.exclusive_dirs += [directory_of(e) for e in entries if directory_of(e) not in foreign]
        return entries

    def _applications(self, scope: list[str]) -> tuple[list[str], set[str]]:
        """(entry kustomizations the environment's Applications deploy, directories other
        Applications deploy): a directory another environment deploys too is shared."""
        self._read(scope[:MAX_SURVEY_FILES])
        found: list[str] = []
        foreign: set[str] = set()
        for path in scope[:MAX_SURVEY_FILES]:
            raw = self.data.get(path, b"")
            if b"Application" not in raw and b"kustomize.toolkit.fluxcd.io" not in raw:
                continue
            yaml_file = self._yaml(path)
            for doc in yaml_file.docs if yaml_file is not None else ():
                mine, others = application_paths(doc, self.env, self.app)
                if not mine and not others and not self._own(path):
                    others = deployed_paths(doc)  # a Flux Kustomization of another env
                foreign.update(others)
                for directory in mine:
                    entry = kustomization_in(directory, self.path_set)
                    if entry is not None:
                        found.append(entry)
        return found, foreign

    def _read_reach(self, entries: list[str]) -> list[list[str]]:
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
                self.path_set.update(listed)
                self.graph.all_paths.update(listed)
                if listed:
                    continue
            wanted = [p for p in wanted if p in self.path_set and p not in self.data]
            if not wanted:
                break
            self._read(wanted)
            # Files that could not be read (too large) must not be asked for again.
            for path in wanted:
                self.data.setdefault(path, b"")
        return [self.graph.reach(entry)[0] for entry in entries]

    def _chart_values(self, path: str) -> list[str]:
        """The chart values a values file of the environment layers over."""
        if is_kustomization_path(path):
            return []
        return chart_values(path, self.path_set, self.all_paths, self.app)

    def _reached_by_others(self, path: str) -> bool:
        return any(not self._own(node) for node in self.graph.referrers(path))

    # -- references --------------------------------------------------------------------

    def _found(self, path: str, base_values: Sequence[str] = ()) -> list[Found]:
        """References in `path`. A file of the environment's own that is not YAML is an
        error, not "no reference": it may be exactly where the image is set."""
        yaml_file = self._yaml(path)
        if yaml_file is None:
            if path in self.errors and self._own(path):
                raise self.errors[path]
            return []
        bases = tuple(b for b in (self._yaml(v) for v in base_values) if b is not None)
        return find_all(yaml_file, self.request, Context(base_values=bases))

    def _setting(self, path: str, found: Found, owned: bool, readers: Sequence[str]) -> Setting:
        node = found.node if isinstance(found, Target) else found.mapping
        return Setting(path, int(node.start_mark.line) + 1, owned, tuple(readers))

    def _roots(self) -> dict[str, set[str]]:
        """Top-level kustomizations (read by none) and everything each reaches."""
        if self._root_reach is None:
            referenced = {
                c for node in self.graph.nodes.values() for c in self.graph.children(node)
            }
            self._root_reach = {
                root: set(self.graph.reach(root)[0])
                for root in self.graph.nodes
                if root not in referenced and not self.graph.nodes[root].is_component
            }
        return self._root_reach

    def _readers(self, path: str, entry: str) -> list[str]:
        """The entry and the other top-level kustomizations that read `path` (for messages)."""
        readers = [entry] + [
            root for root, reach in self._roots().items() if root != entry and path in reach
        ]
        return [directory_of(r) for r in readers][:4]

    def _other_readers(self, path: str, entries: Sequence[str]) -> list[str]:
        """Top-level kustomizations outside the environment that reach `path`: a file named
        after the environment that another one also includes is not its own."""
        return [
            root
            for root, reach in self._roots().items()
            if path in reach and root not in entries and not any(e in reach for e in entries)
        ]

    def _standalone_actions(
        self, path: str, settings: dict[tuple[str, int], Setting]
    ) -> list[Action]:
        bases = self._chart_values(path)
        found = self._found(path, bases)
        if found:
            for item in found:
                setting = self._setting(path, item, True, ())
                settings.setdefault((setting.path, setting.line), setting)
            return [
                Action("edit", path, "the environment's own file sets it", base_values=tuple(bases))
            ]
        yaml_file = self._yaml(path)
        if not bases or yaml_file is None or is_object_file(yaml_file):
            return []
        actions: list[Action] = []
        base_file = self._yaml(bases[0])
        for item in self._found(bases[0]):
            if isinstance(item, Target) and item.remove and base_file is not None:
                # A digest-only promotion: the chart's tag would stay beside the digest.
                raise refuse_stale_tag(
                    base_file, item.node, self.image, f"the chart's values; {path} layers over it"
                )
            keys = (*item.path, item.key) if isinstance(item, Insertion) else item.path
            if item.doc != 0 or any(isinstance(k, int) for k in keys):
                continue
            setting = self._setting(bases[0], item, False, ())
            settings.setdefault((setting.path, setting.line), setting)
            actions.append(
                Action(
                    "insert-value",
                    path,
                    f"the chart's {bases[0]} sets it; the environment's values file overrides it",
                    doc=0,
                    keys=tuple(str(k) for k in keys),
                    value=item.new,
                    inherited=tuple(current(item)),
                )
            )
        return actions

    # -- refusal -----------------------------------------------------------------------

    def _survey(self) -> list[Setting]:
        """Where the image is set anywhere (bounded), for a refusal's message."""
        paths = [p for p in self._scope() if p not in self.data][:MAX_SURVEY_FILES]
        self._read(paths)
        found: list[Setting] = []
        for path in self._scope():
            try:
                items = self._found(path)
            except PromoterError:
                continue
            for item in items:
                readers = self._readers(path, path)[1:]
                found.append(self._setting(path, item, False, readers))
                break
            if len(found) >= 4:
                break
        return found


def _is_yaml(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES) or is_kustomization_path(path)
