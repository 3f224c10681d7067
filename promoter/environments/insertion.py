"""Overrides: what promoting an image changes in one environment's files.

A file of the environment's own is edited where it sets the image. A shared setting (a
base's image, a chart's default) is never edited; the environment gets an override in a
file of its own instead: an `images:` entry in its entry kustomization (what `kustomize
edit set image` adds; kustomize applies it after its bases), the value's key path in its
own patch of the shared object, or the chart's key path in its own values file. A shared
container whose image the environment's strategic-merge patch already sets is overridden
there. Reads through the `Reader` that discovery (`model`) filled, and judges files by the
environment's `Ownership`: both passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode, ScalarNode

from promoter.editing import BumpRequest
from promoter.editing.model import Found, Insertion, Target, refuse_stale_tag
from promoter.editing.source import mapping_get, scalar_text
from promoter.environments.helm import is_object_file
from promoter.environments.inventory import mentioned
from promoter.environments.kustomize import directory_of, is_kustomization_path
from promoter.environments.ownership import Ownership
from promoter.environments.pointers import identity
from promoter.environments.reader import Reader
from promoter.environments.view import Action, Setting
from promoter.errors import EditRefusedError
from promoter.imageref import find_image_ref
from promoter.yamlfile import YAML_SUFFIXES

CONTAINER_KINDS = frozenset({"container-image", "kustomize"})
"""Reference kinds an `images:` entry of the entry kustomization overrides."""


class Overrides:
    """The actions of one environment: what it owns is edited, what it shares is overridden.

    Composed, not inherited: files come through the shared `reader`, whose they are from
    `owner`; `entries` are the environment's entry kustomizations and `pointer_dirs` the
    directories only its Applications deploy (owned although no path names it)."""

    def __init__(
        self,
        reader: Reader,
        owner: Ownership,
        request: BumpRequest,
        entries: Sequence[str],
        pointer_dirs: Sequence[str],
    ) -> None:
        self.reader = reader
        self.owner = owner
        self.request = request
        self.entries = tuple(entries)
        self.pointer_dirs = tuple(pointer_dirs)

    def _found(self, path: str, base_values: Sequence[str] = ()) -> list[Found]:
        return self.reader.find(path, self.request, base_values, strict=self.owner.owns(path))

    def entry_actions(
        self, entry: str, reach: list[str], settings: dict[tuple[str, int], Setting]
    ) -> list[Action]:
        """What promoting changes among the files `entry` reaches: edits of its own files,
        and overrides, in files of its own, of what the others set."""
        actions, shared = self._edits_and_shared(entry, reach, settings)
        if not shared:
            return actions
        if not self._may_override_in(entry):
            self.reader.notes.append(
                f"{entry} is shared with other environments: no override there"
            )
            return []
        overrides = self._overrides(entry, reach, shared)
        if overrides is None:
            return []  # a shared setting the environment cannot override: refuse
        return actions + overrides

    def _edits_and_shared(
        self, entry: str, reach: list[str], settings: dict[tuple[str, int], Setting]
    ) -> tuple[list[Action], list[tuple[str, Found]]]:
        """An edit of each file among `reach` that is the environment's own and sets the
        image, and what the other files set, which needs an override; every place found
        goes into `settings`, for the view."""
        actions: list[Action] = []
        shared: list[tuple[str, Found]] = []
        patched: set[tuple[str, str, str]] = set()
        overriding = self._overriding(entry, reach)
        for path in reach:
            if not path.endswith(YAML_SUFFIXES) and not is_kustomization_path(path):
                continue
            owned = self._is_own(path, entry)
            try:
                found = self._found(path)
            except EditRefusedError:
                if owned or not self._wholly_overridden(entry, path, overriding):
                    raise
                found = []  # a pin nothing renders: the environment's own entry replaces it
            if not owned:
                found = [i for i in found if not self._overridden(entry, path, i, overriding)]
            if not found:
                continue
            readers = () if owned else tuple(self.owner.readers(path, entry))
            for item in found:
                setting = setting_of(path, item, owned, readers)
                settings.setdefault((setting.path, setting.line), setting)
            if owned:
                actions.append(Action("edit", path, "the environment's own file sets it"))
                patched.update(self._containers(path, found))
            else:
                shared.extend((path, item) for item in found)
        return actions, [(p, item) for p, item in shared if not self._is_patched(p, item, patched)]

    def _override_home(self, entry: str, reach: list[str], paths: list[str]) -> str:
        """Where `entry`'s `images:` override of `paths` goes: among the kustomizations of
        the environment's own that may take one (`entry` included) and stand on every way
        from `entry` to each of `paths`, the one below all the others. kustomize applies a
        kustomization's `images:` to everything beneath it, so that one file is enough and
        stays the one place a person edits by hand."""
        graph = self.reader.graph
        candidates = [
            k
            for k in reach
            if is_kustomization_path(k)
            and k in graph.nodes
            and not self.reader.is_component(k)
            and self._may_override_in(k)
            and all(graph.dominates(entry, k, p) for p in paths)
        ]
        lowest = [
            c for c in candidates if all(graph.dominates(entry, d, c) for d in candidates if d != c)
        ]
        return lowest[0] if len(lowest) == 1 else entry

    def _overriding(self, entry: str, reach: list[str]) -> dict[str, set[str]]:
        """The environment's own kustomizations among `reach` whose `images:` entries set
        the image, with the names those entries match (their `name`): each is the last
        word on the container images below it (kustomize applies a kustomization's
        `images:` after everything its resources did)."""
        found: dict[str, set[str]] = {}
        for path in reach:
            if not is_kustomization_path(path) or not self._is_own(path, entry):
                continue
            names: set[str] = set()
            for item in self._found(path):
                if item.kind != "kustomize" or not isinstance(item, Target):
                    continue
                node = self.reader.node_at(path, item.doc, item.path[:-1])
                name = scalar_text(mapping_get(node, "name")) if node is not None else None
                if name and item.path[:1] == ("images",):
                    names.add(name)
            if names:
                found[path] = names
        return found

    def _covered(self, entry: str, path: str, overriding: dict[str, set[str]]) -> set[str]:
        """Image names whose references in `path` an own `images:` entry overrides on every
        way from `entry` to `path`."""
        names: set[str] = set()
        for kustomization, matched in overriding.items():
            if kustomization != path and self.reader.graph.dominates(entry, kustomization, path):
                names |= matched
        return names

    def _overridden(
        self, entry: str, path: str, item: Found, overriding: dict[str, set[str]]
    ) -> bool:
        """A container image of a shared file that is not in force: an own `images:`
        entry replaces it in everything `entry` renders."""
        if item.kind not in CONTAINER_KINDS:
            return False
        spellings = self._spellings(path, item)
        return bool(spellings) and set(spellings) <= self._covered(entry, path, overriding)

    def _wholly_overridden(self, entry: str, path: str, overriding: dict[str, set[str]]) -> bool:
        """Every reference to the image that `path` writes is a container image an own
        `images:` entry replaces (a digest pin there is then no reason to refuse)."""
        yaml_file = self.reader.yaml(path)
        covered = self._covered(entry, path, overriding)
        if yaml_file is None or not covered:
            return False
        repository = self.request.image.repository
        spelled = [ref.name for ref in mentioned(yaml_file) if ref.repository == repository]
        if spelled and set(spelled) <= covered:
            self.reader.notes.append(
                f"{path}: not in force; {', '.join(sorted(overriding))} replaces the image"
            )
            return True
        return False

    def _is_own(self, path: str, entry: str) -> bool:
        """Whether `path`, which `entry` reaches, may be edited: it is the environment's
        (its name, or under the entry's directory that only its Applications deploy) and
        no other environment's entry reads it."""
        directory = directory_of(entry)
        owned = self.owner.owns(path) or (
            directory in self.pointer_dirs
            and (path == directory or path.startswith(f"{directory}/"))
        )
        return owned and not self.owner.other_readers(path, self.entries)

    def _is_patched(self, path: str, item: Found, patched: set[tuple[str, str, str]]) -> bool:
        """Whether a shared container image is already overridden: the environment's own
        strategic-merge patch sets it (`patched`: same kind, name and container)."""
        containers = self._containers(path, [item])
        return bool(containers) and containers <= patched

    def _may_override_in(self, entry: str) -> bool:
        """Whether `entry` can take overrides: a kustomization the environment owns (by its
        path, or by a directory only its Applications deploy) and no other one reads."""
        entry_owned = self.owner.owns(entry) or directory_of(entry) in self.pointer_dirs
        return entry_owned and not self.owner.other_readers(entry, self.entries)

    def _overrides(
        self, entry: str, reach: list[str], shared: list[tuple[str, Found]]
    ) -> list[Action] | None:
        """The environment's overrides of `shared` settings: the key path in its own patch
        of each shared value, then one `images:` insertion for the container images its
        entries do not match yet, in the highest kustomization of its own that every way to
        them goes through (`_override_home`: `<env>/base` above per-cluster entries, so one
        file changes, not one per cluster). None when one setting cannot be overridden."""
        containers = [path for path, item in shared if item.kind in CONTAINER_KINDS]
        home = self._override_home(entry, reach, containers)
        covered = self._entry_image_names(home)
        actions: list[Action] = []
        names: list[str] = []
        inherited: list[str] = []
        for path, item in shared:
            if item.kind in CONTAINER_KINDS:
                for name in self._spellings(path, item):
                    if name not in covered:
                        names.append(name)
                        inherited.extend(current(item))
                continue
            insertion = self._patch_insertion(entry, reach, path, item)
            if insertion is None:
                return None
            actions.append(insertion)
        if names:
            actions.append(
                Action(
                    "insert-images",
                    home,
                    "the image is set in shared files; the environment's kustomization "
                    "overrides it",
                    names=tuple(dict.fromkeys(names)),
                    inherited=tuple(dict.fromkeys(inherited)),
                )
            )
        return actions

    def standalone_actions(
        self, path: str, settings: dict[tuple[str, int], Setting]
    ) -> list[Action]:
        """A file of the environment's own that no kustomization reaches: edited where it
        sets the image, else (a Helm values file) the chart's key path inserted into it."""
        bases = self.reader.companions(path, self.owner.app)
        found = self._found(path, bases)
        if not found and not bases:
            bases = self.reader.declared_companions(path)
        if found:
            for item in found:
                setting = setting_of(path, item, True, ())
                settings.setdefault((setting.path, setting.line), setting)
            return [
                Action("edit", path, "the environment's own file sets it", base_values=tuple(bases))
            ]
        yaml_file = self.reader.yaml(path)
        if not bases or yaml_file is None or is_object_file(yaml_file):
            return []
        actions: list[Action] = []
        base_file = self.reader.yaml(bases[0])
        for item in self._found(bases[0]):
            if isinstance(item, Target) and item.remove and base_file is not None:
                # A digest-only promotion: the chart's tag would stay beside the digest.
                raise refuse_stale_tag(
                    base_file,
                    item.node,
                    self.request.image,
                    f"the chart's values; {path} layers over it",
                )
            keys = (*item.path, item.key) if isinstance(item, Insertion) else item.path
            if item.doc != 0 or any(isinstance(k, int) for k in keys):
                continue
            setting = setting_of(bases[0], item, False, ())
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

    def _containers(self, path: str, found: Sequence[Found]) -> set[tuple[str, str, str]]:
        """(kind, name, container) of each container image among `found` in `path`."""
        yaml_file = self.reader.yaml(path)
        result: set[tuple[str, str, str]] = set()
        if yaml_file is None:
            return result
        for item in found:
            if not isinstance(item, Target) or item.kind != "container-image":
                continue
            if len(item.path) < 3 or item.path[-1] != "image":
                continue
            obj = identity(yaml_file.docs[item.doc])
            container = self.reader.node_at(path, item.doc, item.path[:-1])
            name = scalar_text(mapping_get(container, "name")) if container is not None else None
            if obj is not None and name:
                result.add((*obj, name))
        return result

    def _entry_image_names(self, entry: str) -> set[str]:
        """Image names the entry's own `images:` entries already match."""
        yaml_file = self.reader.yaml(entry)
        names: set[str] = set()
        if yaml_file is None or not yaml_file.docs:
            return names
        doc = yaml_file.docs[0]
        images = mapping_get(doc, "images") if isinstance(doc, MappingNode) else None
        for item in getattr(images, "value", None) or ():
            name = scalar_text(mapping_get(item, "name")) if isinstance(item, MappingNode) else None
            if name:
                names.add(name)
        return names

    def _spellings(self, path: str, item: Found) -> list[str]:
        """How the resource writes the image's name, which an `images:` entry must match."""
        if not isinstance(item, Target):
            return []
        if item.kind == "kustomize":
            entry = self.reader.node_at(path, item.doc, item.path[:-1])
            if entry is None:
                return []
            new_name = scalar_text(mapping_get(entry, "newName"))
            name = scalar_text(mapping_get(entry, "name"))
            return [n for n in (new_name or name,) if n]
        ref = find_image_ref(str(item.node.value).strip())
        return [ref.name] if ref is not None else []

    def _patch_insertion(
        self, entry: str, reach: list[str], path: str, item: Found
    ) -> Action | None:
        """The key path of a shared object's value, in the environment's own patch of it.

        None for a tag a digest-only promotion removes: a patch can blank it, not remove it
        from the shared object (docs/configuration.md, "Digests")."""
        if isinstance(item, Target) and item.remove:
            self.reader.notes.append(
                f"{path}:{int(item.node.start_mark.line) + 1}: a digest-only promotion would "
                "leave this shared tag beside the digest; promote <image>:<tag>@<digest>"
            )
            return None
        keys = (*item.path, item.key) if isinstance(item, Insertion) else item.path
        if any(isinstance(k, int) for k in keys):
            return None
        yaml_file = self.reader.yaml(path)
        if yaml_file is None:
            return None
        shared_object = identity(yaml_file.docs[item.doc])
        if shared_object is None:
            return None
        for candidate in reach:
            if candidate == path or not self.owner.owns(candidate):
                continue
            patch = self.reader.yaml(candidate)
            if patch is None or is_kustomization_path(candidate):
                continue
            for index, doc in enumerate(patch.docs):
                if identity(doc) != shared_object:
                    continue
                text_keys = tuple(str(k) for k in keys)
                existing = self.reader.node_at(candidate, index, text_keys)
                if isinstance(existing, ScalarNode):
                    pointer = patch.pointer(index, text_keys)
                    return Action(
                        "edit",
                        candidate,
                        "the environment's own patch overrides the shared value",
                        key=pointer,
                    )
                return Action(
                    "insert-value",
                    candidate,
                    f"the value is set in shared {path}; the environment's own patch overrides it",
                    doc=index,
                    keys=text_keys,
                    value=item.new,
                    inherited=tuple(current(item)),
                )
        return None


def current(item: Found) -> list[str]:
    """The version a shared setting holds now (a tag, or a whole reference), if any."""
    if not isinstance(item, Target):
        return []
    value = str(item.node.value).strip()
    if item.kind in ("container-image", "image-string"):
        ref = find_image_ref(value)
        return [value] if ref is not None and ref.tag is not None else []
    return [value] if value else []


def setting_of(path: str, found: Found, owned: bool, readers: Sequence[str]) -> Setting:
    """Where `found` sets the image in `path` (its line), for the view and messages."""
    node = found.node if isinstance(found, Target) else found.mapping
    return Setting(path, int(node.start_mark.line) + 1, owned, tuple(readers))
