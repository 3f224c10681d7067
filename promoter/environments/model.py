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
This module finds the entries and answers; files come through one `reader.Reader`, whose
they are is `ownership`'s, and the edits and overrides are `insertion.Overrides`'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode

from promoter.editing import BumpRequest
from promoter.editing.source import mapping_get, parse_text, scalar_text
from promoter.environments import clues, naming
from promoter.environments.files import RepoFiles
from promoter.environments.insertion import Overrides, setting_of
from promoter.environments.kustomize import directory_of, is_kustomization_path, kustomization_in
from promoter.environments.layout import is_yaml
from promoter.environments.ownership import Ownership
from promoter.environments.pointers import application_paths, deployed_paths
from promoter.environments.reader import Reader
from promoter.environments.refusal import refusal as explain_refusal
from promoter.environments.view import Action, EnvironmentView, Setting, dedupe
from promoter.errors import PromoterError
from promoter.imageref import ImageRef

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


HELMFILE_NAMES = ("helmfile.yaml", "helmfile.yaml.gotmpl", "helmfile.yml")
"""helmfile's state files, whose `environments:` declare environments by name."""


def environments(files: RepoFiles) -> list[str]:
    """The environments the repository names: its layout's (`naming.infer_environments`)
    and those a helmfile declares."""
    return _environments(Reader(files))


def _environments(reader: Reader) -> list[str]:
    """`environments`, reading the helmfiles through `reader` (a discovery's own, so they
    are read once however often it is asked)."""
    layout = reader.layout
    if layout.environments is None:
        helmfiles = [
            p
            for p in layout.paths
            if p.rsplit("/", 1)[-1] in HELMFILE_NAMES or p.startswith("helmfile.d/")
        ][:20]
        reader.read(helmfiles)
        declared = [n for p in helmfiles for n in helmfile_environments(reader.data.get(p, b""))]
        layout.environments = naming.infer_environments(layout.paths, declared)
    return list(layout.environments)


def helmfile_environments(raw: bytes) -> list[str]:
    """The keys of a helmfile's `environments:`: a state file is Go-templated YAML split
    by `---`, so each part is read on its own and a part that is not YAML says nothing."""
    text = raw.decode("utf-8", "replace")
    names: list[str] = []
    for part in re.split(r"(?m)^---\s*$", text):
        try:
            yaml_file = parse_text(part, "helmfile.yaml")
        except PromoterError:
            continue
        for doc in yaml_file.docs:
            declared = mapping_get(doc, "environments") if isinstance(doc, MappingNode) else None
            if isinstance(declared, MappingNode):
                names += [k for k in (scalar_text(key) for key, _ in declared.value) if k]
    return [n for n in names if n != "default"]


class _Discovery:
    """One environment's discovery: finds its entries, then asks `Overrides` what to do
    there; the `Reader` and the `Ownership` are shared with it, not inherited."""

    def __init__(
        self,
        files: RepoFiles,
        env: str,
        image: ImageRef,
        app: str,
        known: Sequence[str] | None,
    ) -> None:
        self.env = env
        self.image = image
        self.app = app
        self.reader = Reader(files)
        names = {*(known or _environments(self.reader)), env}
        self.owner = Ownership(self.reader, env, app, tuple(sorted(names)))
        self.request = BumpRequest(image)
        self._noted = False
        self.exclusive_dirs: list[str] = []
        """Directories only this environment's Applications deploy (owned by pointer)."""

    def _scope(self) -> list[str]:
        """YAML paths worth reading first: in a wide directory (more than `WIDE_DIRECTORY`
        subdirectories, a monorepo's `apps/`) holding one named after the app, the app's
        siblings are left out; a base they share is still read when an entry reaches it.
        A narrow directory (`charts/web`, `charts/staging`) is read whole."""
        if not self._noted:
            self._noted = True
            aside = self.reader.layout.set_aside(self.app)
            for path in [p for p in aside if self.owner.owns(p)][:5]:
                self.reader.skipped.setdefault(
                    path, "a chart's template or a vendored chart's file: not a deployment"
                )
        return self.reader.layout.scope(self.app)

    def run(self) -> EnvironmentView:
        """The view: the environment's entries, what promoting changes in the files they
        reach and in its own files, and, when nothing can change, why."""
        entries: list[str] = []
        examined: list[str] = []
        settings: dict[tuple[str, int], Setting] = {}
        try:
            scope = self._scope()
            named = [p for p in scope if self.owner.owns(p)]
            self._note_ambiguous(scope, named)
            entries = self._all_entries(scope, named)
            reached = self.reader.read_reach(entries)
            examined = list(dict.fromkeys([*named, *[p for r in reached for p in r]]))
            actions = self._actions(named, entries, reached, settings)
            found = list(settings.values())
            refusal = None if actions else self._refusal(named, entries, examined, found)
            error = None
        except PromoterError as exc:  # what was found up to here still answers `explain`
            actions, refusal, error = [], str(exc), exc
        return EnvironmentView(
            self.env,
            self.image,
            tuple(entries),
            tuple(examined),
            tuple(settings.values()),
            tuple(actions),
            refusal,
            tuple(self.reader.notes),
            tuple(self.reader.skipped.items()),
            error,
        )

    def _note_ambiguous(self, scope: list[str], named: list[str]) -> None:
        """A path that names the environment and another one too is no one's own: say so
        for the first few, since the user may expect it to be edited."""
        ambiguous = [
            p
            for p in scope
            if naming.names(p, self.env, self.app) and p not in named and is_yaml(p)
        ]
        for path in ambiguous[:3]:
            others = naming.claims(path, self.owner.known, self.app) - {self.env}
            self.reader.notes.append(f"{path} also names {', '.join(sorted(others))}: not assigned")

    def _all_entries(self, scope: list[str], named: list[str]) -> list[str]:
        """The environment's entries: its topmost kustomizations, then the directories its
        Applications deploy (found by what they name when no path names the environment),
        after one batched read of the kustomizations, its own files and their chart values."""
        kustomizations = [p for p in scope if is_kustomization_path(p)]
        values_bases = [b for p in named for b in self.reader.companions(p, self.app)]
        self.reader.read([*kustomizations, *named, *values_bases])
        entries = self._entries(named)
        pointer_entries = self._pointer_entries(named)
        if not named:
            pointer_entries = self._application_pointers(scope)
        for entry in pointer_entries:
            if entry not in entries:
                entries.append(entry)
        return entries

    def _actions(
        self,
        named: list[str],
        entries: list[str],
        reached: list[list[str]],
        settings: dict[tuple[str, int], Setting],
    ) -> list[Action]:
        """What `Overrides` says promoting changes: in what each entry reaches, then in each
        of the environment's own files that no kustomization reaches (a values file, an
        Application), unless another environment's entry reads it."""
        overrides = Overrides(self.reader, self.owner, self.request, entries, self.exclusive_dirs)
        actions: list[Action] = []
        for entry, reach in zip(entries, reached, strict=True):
            actions.extend(overrides.entry_actions(entry, reach, settings))
        in_graph = {p for r in reached for p in r}
        for path in named:
            if (
                path in in_graph
                or is_kustomization_path(path)
                or self.owner.is_reached_by_others(path)
            ):
                continue
            actions.extend(overrides.standalone_actions(path, settings))
        return dedupe(actions)

    def _refusal(
        self, named: list[str], entries: list[str], examined: list[str], found: list[Setting]
    ) -> str:
        """Why nothing can be promoted; where the image is set is `found` or, when that is
        empty and the message needs it, a survey of the repository (it reads more files)."""
        components = [p for p in named if self.reader.is_component(p)]
        return explain_refusal(
            self.env,
            self.image.name,
            self.owner.known,
            named,
            entries,
            examined,
            lambda: found or self._survey(),
            components,
            lambda: self._clues(named, examined),
        )

    def _clues(self, named: list[str], examined: list[str]) -> list[str]:
        """What the refusal names besides settings: split keys in the environment's files,
        and its values files an Application layers over a chart held elsewhere."""
        found: list[str] = []
        for path in dict.fromkeys([*named, *examined]):
            yaml_file = self.reader.yaml(path)
            if yaml_file is not None:
                found += clues.split_references(path, yaml_file, self.image, self.app, self.env)
        values = [p for p in named if is_yaml(p) and not is_kustomization_path(p)]
        pointers = [p for p in self._scope()[:MAX_SURVEY_FILES] if p not in named]
        self.reader.read(pointers)
        for path in pointers:
            if b"valueFiles" not in self.reader.data.get(path, b""):
                continue
            yaml_file = self.reader.yaml(path)
            if yaml_file is not None:
                found += clues.layered_values(
                    path, yaml_file, values, self.reader.path_set, (self.app, self.env)
                )
        return found[:3]

    def _entries(self, named: list[str]) -> list[str]:
        """Topmost non-Component kustomizations among the environment's own paths."""
        candidates = [
            p
            for p in named
            if is_kustomization_path(p)
            and p in self.reader.graph.nodes
            and not self.reader.is_component(p)
        ]
        inner: set[str] = set()
        for path in candidates:
            reach, _ = self.reader.graph.reach(path)
            inner.update(r for r in reach if r != path)
        return [p for p in candidates if p not in inner]

    def _pointer_entries(self, named: list[str]) -> list[str]:
        """Directories that the environment's Argo CD Applications and Flux Kustomizations
        deploy from this repository."""
        found: list[str] = []
        for path in named:
            if is_kustomization_path(path):
                continue
            yaml_file = self.reader.yaml(path)
            if yaml_file is None:
                continue
            for doc in yaml_file.docs:
                for directory in deployed_paths(doc):
                    entry = kustomization_in(directory, self.reader.path_set)
                    if entry is not None:
                        found.append(entry)
        self.reader.read(found)
        entries = [e for e in dict.fromkeys(found) if e in self.reader.graph.nodes]
        unnamed = [e for e in entries if not self.owner.owns(e)]
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
        self.reader.read(found)
        entries = [e for e in dict.fromkeys(found) if e in self.reader.graph.nodes]
        self.exclusive_dirs += [directory_of(e) for e in entries if directory_of(e) not in foreign]
        return entries

    def _applications(self, scope: list[str]) -> tuple[list[str], set[str]]:
        """(entry kustomizations the environment's Applications deploy, directories other
        Applications deploy): a directory another environment deploys too is shared."""
        self.reader.read(scope[:MAX_SURVEY_FILES])
        found: list[str] = []
        foreign: set[str] = set()
        for path in scope[:MAX_SURVEY_FILES]:
            raw = self.reader.data.get(path, b"")
            if b"Application" not in raw and b"kustomize.toolkit.fluxcd.io" not in raw:
                continue
            yaml_file = self.reader.yaml(path)
            for doc in yaml_file.docs if yaml_file is not None else ():
                mine, others = application_paths(doc, self.env, self.app)
                if not mine and not others and not self.owner.owns(path):
                    others = deployed_paths(doc)  # a Flux Kustomization of another env
                foreign.update(others)
                for directory in mine:
                    entry = kustomization_in(directory, self.reader.path_set)
                    if entry is not None:
                        found.append(entry)
        return found, foreign

    # -- refusal -----------------------------------------------------------------------

    def _survey(self) -> list[Setting]:
        """Where the image is set anywhere (bounded), for a refusal's message."""
        paths = [p for p in self._scope() if p not in self.reader.data][:MAX_SURVEY_FILES]
        self.reader.read(paths)
        found: list[Setting] = []
        for path in self._scope():
            try:
                items = self.reader.find(path, self.request, strict=self.owner.owns(path))
            except PromoterError:
                continue
            for item in items:
                readers = self.owner.readers(path, path)[1:]
                found.append(setting_of(path, item, False, readers))
                break
            if len(found) >= 4:
                break
        return found
