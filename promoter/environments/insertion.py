"""Overrides: where an environment that inherits an image gets its own setting.

A shared setting (a base's image, a chart's default) is never edited; the environment
gets an override in a file of its own instead: an `images:` entry in its entry
kustomization (what `kustomize edit set image` adds; kustomize applies it after its bases),
or the value's key path in its own patch of the shared object. A shared container whose
image the environment's strategic-merge patch already sets is overridden there. This is
the part of the environment model that decides those insertion points; it reads what the
discovery (`model`) has read.
"""

from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from promoter.editing.model import Found, Insertion, Target
from promoter.editing.source import YamlFile, mapping_get, scalar_text
from promoter.environments.kustomize import directory_of, is_kustomization_path
from promoter.environments.pointers import identity
from promoter.environments.view import Action, Setting
from promoter.imageref import find_image_ref
from promoter.yamlfile import YAML_SUFFIXES

CONTAINER_KINDS = frozenset({"container-image", "kustomize"})
"""Reference kinds an `images:` entry of the entry kustomization overrides."""


class Overrides:
    """Insertion points of one environment; `model._Discovery` supplies the reading."""

    entries: list[str]
    pointer_dirs: list[str]
    notes: list[str]

    def _yaml(self, path: str) -> YamlFile | None:
        raise NotImplementedError

    def _own(self, path: str) -> bool:
        raise NotImplementedError

    def _found(self, path: str, base_values: Sequence[str] = ()) -> list[Found]:
        raise NotImplementedError

    def _setting(self, path: str, found: Found, owned: bool, readers: Sequence[str]) -> Setting:
        raise NotImplementedError

    def _readers(self, path: str, entry: str) -> list[str]:
        raise NotImplementedError

    def _other_readers(self, path: str, entries: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def _entry_actions(
        self, entry: str, reach: list[str], settings: dict[tuple[str, int], Setting]
    ) -> list[Action]:
        own_dirs = [d for d in self.pointer_dirs if d == directory_of(entry)]
        actions: list[Action] = []
        shared: list[tuple[str, Found]] = []
        patched: set[tuple[str, str, str]] = set()
        for path in reach:
            if not path.endswith(YAML_SUFFIXES) and not is_kustomization_path(path):
                continue
            owned = self._own(path) or any(path == d or path.startswith(f"{d}/") for d in own_dirs)
            owned = owned and not self._other_readers(path, self.entries)
            found = self._found(path)
            if not found:
                continue
            readers = () if owned else tuple(self._readers(path, entry))
            for item in found:
                setting = self._setting(path, item, owned, readers)
                settings.setdefault((setting.path, setting.line), setting)
            if owned:
                actions.append(Action("edit", path, "the environment's own file sets it"))
                patched.update(self._containers(path, found))
            else:
                shared.extend((path, item) for item in found)
        # A shared container whose image the environment's own strategic-merge patch sets
        # (same kind, name and container) is already overridden there.
        shared = [
            (path, item)
            for path, item in shared
            if not (self._containers(path, [item]) and self._containers(path, [item]) <= patched)
        ]
        if not shared:
            return actions
        entry_owned = self._own(entry) or directory_of(entry) in self.pointer_dirs
        if not entry_owned or self._other_readers(entry, self.entries):
            self.notes.append(f"{entry} is shared with other environments: no override there")
            return []
        covered = self._entry_image_names(entry)
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
                return []  # a shared setting the environment cannot override: refuse
            actions.append(insertion)
        if names:
            actions.append(
                Action(
                    "insert-images",
                    entry,
                    "the image is set in shared files; the entry kustomization overrides it",
                    names=tuple(dict.fromkeys(names)),
                    inherited=tuple(dict.fromkeys(inherited)),
                )
            )
        return actions

    def _containers(self, path: str, found: Sequence[Found]) -> set[tuple[str, str, str]]:
        """(kind, name, container) of each container image among `found` in `path`."""
        yaml_file = self._yaml(path)
        result: set[tuple[str, str, str]] = set()
        if yaml_file is None:
            return result
        for item in found:
            if not isinstance(item, Target) or item.kind != "container-image":
                continue
            if len(item.path) < 3 or item.path[-1] != "image":
                continue
            obj = identity(yaml_file.docs[item.doc])
            container = self._mapping_at(path, item.doc, item.path[:-1])
            name = scalar_text(mapping_get(container, "name")) if container is not None else None
            if obj is not None and name:
                result.add((*obj, name))
        return result

    def _entry_image_names(self, entry: str) -> set[str]:
        """Image names the entry's own `images:` entries already match."""
        yaml_file = self._yaml(entry)
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
            entry = self._mapping_at(path, item.doc, item.path[:-1])
            if entry is None:
                return []
            new_name = scalar_text(mapping_get(entry, "newName"))
            name = scalar_text(mapping_get(entry, "name"))
            return [n for n in (new_name or name,) if n]
        ref = find_image_ref(str(item.node.value).strip())
        return [ref.name] if ref is not None else []

    def _mapping_at(self, path: str, doc: int, keys: tuple[str | int, ...]) -> Node | None:
        yaml_file = self._yaml(path)
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

    def _patch_insertion(
        self, entry: str, reach: list[str], path: str, item: Found
    ) -> Action | None:
        """The key path of a shared object's value, in the environment's own patch of it.

        None for a tag a digest-only promotion removes: a patch can blank it, not remove it
        from the shared object (docs/configuration.md, "Digests")."""
        if isinstance(item, Target) and item.remove:
            self.notes.append(
                f"{path}:{int(item.node.start_mark.line) + 1}: a digest-only promotion would "
                "leave this shared tag beside the digest; promote <image>:<tag>@<digest>"
            )
            return None
        keys = (*item.path, item.key) if isinstance(item, Insertion) else item.path
        if any(isinstance(k, int) for k in keys):
            return None
        yaml_file = self._yaml(path)
        if yaml_file is None:
            return None
        shared_object = identity(yaml_file.docs[item.doc])
        if shared_object is None:
            return None
        for candidate in reach:
            if candidate == path or not self._own(candidate):
                continue
            patch = self._yaml(candidate)
            if patch is None or is_kustomization_path(candidate):
                continue
            for index, doc in enumerate(patch.docs):
                if identity(doc) != shared_object:
                    continue
                text_keys = tuple(str(k) for k in keys)
                existing = self._mapping_at(candidate, index, text_keys)
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
