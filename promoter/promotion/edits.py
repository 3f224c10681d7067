"""Edits of a set of files planned in memory (`EnvironmentPlan`), and `bump`: local
files edited in place with the same plan, no repository.

Knows the editing engine, results and versions; promoter.yaml and the environment model
only where `EnvironmentPlan.apply` carries out one of its actions (imported there), so
that `promote bump` loads neither of them, nor git or a forge (issue 23). `plan` decides
what an environment edits and re-exports `EnvironmentPlan` and `parse_images`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from promoter.editing import BumpRequest, Context, FileEdit, edit_bytes, write_atomic
from promoter.editing.engine import load_context, read_context
from promoter.editing.source import parse_bytes
from promoter.editing.templates import check_not_chart_template, check_not_chart_template_in
from promoter.errors import InputError, PathEscapeError, PromoterError, TargetNotFoundError
from promoter.filetree import DiskTree, FileTree, path_parts, relative
from promoter.imageref import ImageRef, parse_image_ref
from promoter.promotion.result import (
    Change,
    EnvironmentResult,
    FileDiff,
    Result,
    Status,
    Superseded,
    overall,
)
from promoter.versions import is_downgrade, tag_of
from promoter.yamlfile import MAX_FILE_BYTES

if TYPE_CHECKING:
    from promoter.config import Target
    from promoter.environments import Action, Setting

__all__ = ["EnvironmentPlan", "bump", "parse_images"]


def parse_images(texts: Iterable[str]) -> list[ImageRef]:
    """Images to promote must say what version: a tag, a digest, or both."""
    images = []
    for text in texts:
        image = parse_image_ref(text)
        if image.tag is None and image.digest is None:
            raise InputError(f"image {text!r} has no tag or digest to promote", field="--image")
        images.append(image)
    return images


class EnvironmentPlan:
    """Edits of one environment, chained in memory so two images in one file both land.

    An edit that would move a version backwards (the target already holds a newer one,
    e.g. a racing pipeline won) is left out and recorded as superseded.
    """

    def __init__(
        self,
        *,
        allow_downgrade: bool = False,
        order: str = "semver",
        prove: bool = True,
        splice: bool = True,
        tree: FileTree | None = None,
    ) -> None:
        self.allow_downgrade = allow_downgrade
        self.order = order
        self.tree = tree
        """The repository the files are read from (keys are `tree.root / path`); None for
        `bump`'s files, each given by its own path."""
        self.prove = prove
        """False for a plan that is only read (what runs, what a run would do): each edit
        is located and spliced but not re-parsed to prove it (`edit_bytes`); such a plan
        is never committed (`steps.commit` refuses it)."""
        self.splice = splice
        """False for a plan read only for what each location holds (`deployed.read`):
        located and checked, no splice rendered; its files keep their bytes."""
        self.original: dict[Path, bytes] = {}
        self.final: dict[Path, bytes] = {}
        self.names: dict[Path, str] = {}
        self.changes: list[Change] = []
        self.superseded: list[Superseded] = []
        self.matched: dict[str, int] = {}
        """References found (or inserted) per image: zero means nothing was promoted."""
        self.inherited: list[str] = []
        """What the environment runs where it inherits the image (insertions override it)."""

    def _load(self, path: Path, name: str) -> bytes:
        if path not in self.final:
            if self.tree is None:
                check_not_chart_template(path, name)
                self.original[path] = _read(*_given(path, name), name)
            else:
                inside = relative(self.tree, path)
                check_not_chart_template_in(self.tree, inside, name)
                self.original[path] = _read(self.tree, inside, name)
            self.final[path] = self.original[path]
            self.names[path] = name
        return self.final[path]

    def edit(
        self,
        path: Path,
        name: str,
        request: BumpRequest,
        image: ImageRef,
        context: Context | None = None,
    ) -> None:
        raw = self._load(path, name)
        if context is None:
            tree = self.tree
            context = (
                load_context(path) if tree is None else read_context(tree, relative(tree, path))
            )
        done = edit_bytes(raw, name, request, context, prove=self.prove, splice=self.splice)
        self.record(path, image, done)

    def record(self, path: Path, image: ImageRef, done: FileEdit) -> None:
        """Keep `done` as the file's new bytes, unless it would move a version backwards."""
        self.matched[image.name] = self.matched.get(image.name, 0) + done.matched
        if not self.allow_downgrade:
            behind = [
                e
                for e in done.edits
                if e.old is not None and e.op != "remove" and is_downgrade(e.old, e.new, self.order)
            ]
            if behind:
                self.superseded.extend(
                    Superseded(done.name, image.name, e.old or "", e.new, e.line) for e in behind
                )
                return
        self.final[path] = done.after
        self.changes.extend(_changes(image, done))

    def apply(self, action: Action, image: ImageRef, settings: Sequence[Setting] = ()) -> None:
        """Carry out one action of the environment model (`settings`: where the view says
        the image is set, to tell where an inherited newer version is)."""
        from promoter.config import resolve_in_repo

        tree = self.tree
        assert tree is not None, "the environment model plans a repository"
        path = resolve_in_repo(tree, action.path)
        if action.kind == "edit":
            bases = tuple(parse_bytes(_read(tree, b, b), b) for b in action.base_values)
            request = BumpRequest(image, key=action.key)
            self.edit(path, action.path, request, image, Context(base_values=bases))
            return
        from promoter.editing.insert import ImageEntry, insert_image_entries, insert_value

        raw = self._load(path, action.path)
        self.inherited.extend(action.inherited)
        wanted = str(image)
        behind = [old for old in action.inherited if is_downgrade(old, wanted, self.order)]
        if behind and not self.allow_downgrade:  # the environment already runs a newer one
            self.matched[image.name] = self.matched.get(image.name, 0) + 1
            for old in behind:
                file, line = _inherited_from(tree, settings, old) or (action.path, None)
                self.superseded.append(Superseded(file, image.name, old, wanted, line))
            return
        if action.kind == "insert-images":
            entries = [ImageEntry(name, image.tag, image.digest) for name in action.names]
            done = insert_image_entries(raw, action.path, entries)
        else:
            done = insert_value(raw, action.path, action.doc, action.keys, action.value)
        self.record(path, image, done)

    def create(
        self,
        path: Path,
        name: str,
        target: Target,
        configured: ImageRef,
        image: ImageRef,
    ) -> None:
        """A `create: true` target that lacks the setting gets it added."""
        from promoter.editing.insert import ImageEntry, insert_image_entries, insert_value

        raw = self._load(path, name)
        if target.kind == "kustomize":
            entry = ImageEntry(configured.name, image.tag, image.digest)
            done = insert_image_entries(raw, name, [entry])
        else:
            keys = [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", target.key or "")]
            done = insert_value(raw, name, 0, keys, image.tag or image.digest or "")
        self.record(path, image, done)

    def put(self, path: Path, name: str, data: bytes) -> None:
        """A file the promotion writes besides the image settings (a hold record); a file
        that does not exist yet starts empty."""
        if path not in self.final:
            tree = self.tree or DiskTree(path.parent)
            inside = relative(tree, path)
            self.original[path] = tree.read(inside) if tree.is_file(inside) else b""
            self.names[path] = name
        self.final[path] = data

    def check_found(self, env: str, images: Sequence[ImageRef]) -> None:
        """No reference found is never "already up to date"."""
        for image in images:
            if not self.matched.get(image.name):
                raise TargetNotFoundError(
                    f"environment {env!r}: no reference to {image.name} found in its targets"
                )

    def write(self) -> None:
        for path, data in self.final.items():
            if data != self.original[path]:
                write_atomic(path, data)

    def changed_files(self) -> dict[Path, bytes]:
        return {p: d for p, d in self.final.items() if d != self.original[p]}

    def summarise(self, env: str, mode: str | None, base: str | None = None) -> EnvironmentResult:
        diffs = tuple(
            FileDiff(self.names[p], self.original[p], self.final[p])
            for p in self.final
            if self.final[p] != self.original[p]
        )
        if diffs:
            status = Status.CHANGED
        elif self.superseded:
            status = Status.SUPERSEDED
        else:
            status = Status.UNCHANGED
        return EnvironmentResult(
            env, status, tuple(self.changes), diffs, mode, base, superseded=tuple(self.superseded)
        )


def bump(
    files: Sequence[Path], image_text: str, *, key: str | None = None, setter: str | None = None
) -> Result:
    """Edit local files in place (no git).

    A file without a reference to the image (or without `key`) is skipped; the run fails
    only when no file has one. Every other failure (a missing file, broken YAML, a refused
    edit) fails the run, and nothing is written unless every file could be planned.
    """
    image = parse_images([image_text])[0]
    request = BumpRequest(image, key=key, setter=setter)
    plan = EnvironmentPlan(allow_downgrade=True)
    for path in files:
        plan._load(path, str(path))  # a missing file is an error, not "no reference"
    absent: list[TargetNotFoundError] = []
    for path in files:
        try:
            plan.edit(path, str(path), request, image)
        except TargetNotFoundError as exc:
            absent.append(exc)
    if absent and len(absent) == len(files):
        if len(absent) == 1:
            raise absent[0]
        names = ", ".join(str(p) for p in files[:3]) + (", …" if len(files) > 3 else "")
        raise TargetNotFoundError(
            f"no reference to {image.name}"
            + (f" at {key}" if key else "")
            + f" found in any of the {len(files)} files ({names})"
        ) from absent[0]
    plan.write()
    env = plan.summarise("", None)
    return Result(overall([env.status]), (env,))


def _inherited_from(
    tree: FileTree, settings: Sequence[Setting], value: str
) -> tuple[str, int] | None:
    """The setting an environment inherits `value` from: a line the view names (shared
    settings first) that holds its tag; None when no readable one does."""
    from promoter.config import resolve_in_repo

    tag = tag_of(value) or value
    for setting in sorted(settings, key=lambda s: s.owned):
        try:
            inside = relative(tree, resolve_in_repo(tree, setting.path))
            data = _read(tree, inside, setting.path)
        except PromoterError:
            continue
        lines = data.decode("utf-8", "replace").splitlines()
        if 0 < setting.line <= len(lines) and tag in lines[setting.line - 1]:
            return setting.path, setting.line
    return None


def _read(tree: FileTree, path: str, name: str) -> bytes:
    """A target's bytes, never through a symbolic link: a link would let one environment's
    file (or one outside the repository) be edited as another's."""
    _refuse_links(tree, path, name)
    try:
        if tree.size(path) > MAX_FILE_BYTES:
            raise InputError(
                f"larger than {MAX_FILE_BYTES >> 20} MiB; promoter does not edit it", path=name
            )
        return tree.read(path)
    except FileNotFoundError as exc:
        raise TargetNotFoundError("file not found", path=name) from exc
    except IsADirectoryError as exc:
        raise InputError("is a directory, expected a YAML file", path=name) from exc
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=name) from exc


def _given(path: Path, name: str) -> tuple[FileTree, str]:
    """A file given by path (`bump`) as a tree and a path in it whose every component
    `_refuse_links` checks: those of `name` when it is relative, else the file itself."""
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or len(parts) > len(path.parts):
        return DiskTree(path.parent), path.name
    return DiskTree(path.parents[len(parts) - 1]), "/".join(parts)


def _refuse_links(tree: FileTree, path: str, name: str) -> None:
    """No component of `path` is a symbolic link."""
    parts = (
        PurePosixPath(path).parts
        if path.startswith("/")
        else path_parts(path)
    )
    for end in range(1, len(parts) + 1):
        where = "/".join(parts[:end])
        if tree.is_link(where):
            raise PathEscapeError(
                f"{where} is a symbolic link; promoter does not read or write through links",
                path=name,
            )


def _changes(image: ImageRef, done: FileEdit) -> list[Change]:
    return [
        Change(done.name, e.line, e.pointer, e.old, e.new, image.name, e.kind) for e in done.edits
    ]
