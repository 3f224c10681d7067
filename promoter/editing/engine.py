"""plan → apply → verify: the minimal-diff pipeline every edit goes through.

Editors only locate scalars (`Target`) or missing keys (`Insertion`); this module renders
them into splices, applies them back to front, and proves the result before anything is
written. Knows nothing of git or forges.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from pathlib import Path as FsPath

from promoter.editing import kinds
from promoter.editing.model import (
    BumpRequest,
    Context,
    Edit,
    FileEdit,
    Found,
    Target,
    check_replaceable,
    parent_of,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    check_not_encrypted,
    encode,
    iter_documents,
    mapping_get,
    node_paths,
    parse_bytes,
    scalar_text,
)
from promoter.editing.splice import (
    Replacement,
    apply_replacements,
    insert_key,
    remove_key,
    replace_scalar,
)
from promoter.editing.templates import parse_editable
from promoter.editing.verify import verify
from promoter.errors import EditRefusedError, TargetNotFoundError, YamlError
from promoter.filetree import FileTree
from promoter.yamlfile import STR_TAG, tag_of


def find_all(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    """Every location of the requested image, deduplicated by node; the registered kinds
    ask in conflict order (`kinds.finders`), the first claim on a scalar wins. An encrypted
    file is the caller's to refuse (`check_not_encrypted`): one that holds no reference to
    the image is no reason to refuse anything.

    Answered once per (file, text, request, layered values): `status` asks about a shared
    base once per environment that reads it, and a plan asks again when it splices."""
    key = (
        yaml_file.name,
        yaml_file.text,
        request,
        tuple((b.name, b.text) for b in context.base_values),
    )
    held = _FOUND.get(key)
    if held is not None and _same_nodes(held[0], yaml_file, context):
        return list(held[1])
    found = _find_all(yaml_file, request, context)
    if len(_FOUND) >= _FOUND_LIMIT:
        _FOUND.clear()
    _FOUND[key] = ((*yaml_file.docs, *(d for b in context.base_values for d in b.docs)), found)
    return list(found)


_FOUND_LIMIT = 50_000
_FOUND: dict[
    tuple[str, str, BumpRequest, tuple[tuple[str, str], ...]],
    tuple[tuple[object, ...], list[Found]],
] = {}
"""`find_all`'s answers; the nodes they were found in are kept with them, and an answer is
given again only for those very nodes (a text composed anew has new nodes)."""


def _same_nodes(held: tuple[object, ...], yaml_file: YamlFile, context: Context) -> bool:
    nodes = (*yaml_file.docs, *(d for b in context.base_values for d in b.docs))
    return len(nodes) == len(held) and all(a is b for a, b in zip(nodes, held, strict=True))


def _find_all(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    found: list[Found] = []
    seen: dict[tuple[int, str], Found] = {}
    automation = _image_automation_documents(yaml_file)
    for editor in kinds.finders(request):
        for item in editor(yaml_file, request, context):
            if item.doc in automation:
                continue
            identity = (
                (id(item.node), "") if isinstance(item, Target) else (id(item.mapping), item.key)
            )
            previous = seen.get(identity)
            if previous is None:
                seen[identity] = item
                found.append(item)
            elif previous.new != item.new:
                raise EditRefusedError(
                    f"conflicting values for one scalar: {previous.new!r} ({previous.kind}) "
                    f"vs {item.new!r} ({item.kind})",
                    path=yaml_file.name,
                    line=_line(item),
                )
    return found


IMAGE_AUTOMATION_GROUPS = ("image.toolkit.fluxcd.io/",)
"""API groups whose objects watch a registry (Flux's ImageRepository, ImagePolicy): their
`image:` names what to scan, never what runs, so a promotion leaves them alone."""


def _image_automation_documents(yaml_file: YamlFile) -> set[int]:
    found: set[int] = set()
    for index, doc in iter_documents(yaml_file):
        api = scalar_text(mapping_get(doc, "apiVersion")) or ""
        if api.startswith(IMAGE_AUTOMATION_GROUPS):
            found.add(index)
    return found


def plan(yaml_file: YamlFile, found: list[Found], *, render: bool = True) -> list[Edit]:
    """Render each location into a splice; locations that already hold the value drop out.

    Every value to be replaced is first checked by its shape (`check_replaceable`): a
    template or anything else that is not a tag, digest or reference is refused here, for
    every editor at once. `render=False` (a read) makes the same checks and edits, whose
    splices are left empty: a replacement spans its node, an insertion is placed at its
    mapping.
    """
    paths = node_paths(yaml_file)
    edits: list[Edit] = []
    for item in found:
        if isinstance(item, Target):
            check_replaceable(yaml_file, item)
            if item.remove:
                edits.append(_removal(yaml_file, item, paths))
                continue
            if item.node.value == item.new and tag_of(item.node) == STR_TAG:
                continue
            occurrences = paths.get(id(item.node), [(item.doc, item.path)])
            if occurrences[0] != (item.doc, item.path):
                first_doc, first_path = occurrences[0]
                raise EditRefusedError(
                    "value is an alias; edit its anchor at "
                    f"{yaml_file.pointer(first_doc, first_path)} instead",
                    path=yaml_file.name,
                    line=_line(item),
                    field=yaml_file.pointer(item.doc, item.path),
                )
            replacement = (
                replace_scalar(yaml_file, item.node, item.new)
                if render
                else Replacement(item.node.start_mark.index, item.node.end_mark.index, "")
            )
            edits.append(
                _edit(
                    yaml_file,
                    item,
                    replacement,
                    "replace",
                    str(item.node.value),
                    tuple(occurrences),
                )
            )
        else:
            replacement = (
                insert_key(yaml_file, item.mapping, item.key, item.new)
                if render
                else Replacement(item.mapping.start_mark.index, item.mapping.start_mark.index, "")
            )
            occurrences = [
                (doc, (*path, item.key))
                for doc, path in paths.get(id(item.mapping), [(item.doc, item.path)])
            ]
            edits.append(_edit(yaml_file, item, replacement, "add", None, tuple(occurrences)))
    return edits


def _removal(yaml_file: YamlFile, item: Target, paths: dict[int, list[tuple[int, Path]]]) -> Edit:
    """The key of `item` (a stale tag beside a pinned digest) removed, line or flow item."""
    occurrences = paths.get(id(item.node), [(item.doc, item.path)])
    field = yaml_file.pointer(item.doc, item.path)
    if occurrences[0] != (item.doc, item.path):
        first_doc, first_path = occurrences[0]
        raise EditRefusedError(
            "value is an alias; edit its anchor at "
            f"{yaml_file.pointer(first_doc, first_path)} instead",
            path=yaml_file.name,
            line=_line(item),
            field=field,
        )
    replacement = remove_key(yaml_file, parent_of(yaml_file, item), item.node)
    return Edit(
        pointer=field,
        line=_line(item),
        old=str(item.node.value),
        new="",
        kind=item.kind,
        op="remove",
        start=replacement.start,
        end=replacement.end,
        text=replacement.new_text,
        paths=tuple(occurrences),
    )


def _edit(
    yaml_file: YamlFile,
    item: Found,
    replacement: Replacement,
    op: str,
    old: str | None,
    occurrences: tuple[tuple[int, tuple[str | int, ...]], ...],
) -> Edit:
    path = item.path if isinstance(item, Target) else (*item.path, item.key)
    offset = len(replacement.new_text) - len(replacement.new_text.lstrip("\r\n"))
    return Edit(
        pointer=yaml_file.pointer(item.doc, path),
        line=yaml_file.line_of(replacement.start + (offset if op == "add" else 0)),
        old=old,
        new=item.new,
        kind=item.kind,
        op=op,
        start=replacement.start,
        end=replacement.end,
        text=replacement.new_text,
        paths=occurrences,
    )


def apply(yaml_file: YamlFile, edits: list[Edit]) -> str:
    return apply_replacements(yaml_file.text, [Replacement(e.start, e.end, e.text) for e in edits])


def edit_bytes(
    raw: bytes,
    name: str,
    request: BumpRequest,
    context: Context | None = None,
    *,
    prove: bool = True,
    splice: bool = True,
) -> FileEdit:
    """Pure: the bytes `raw` become, with the proof done. Raises when nothing matches, and
    refuses a Go template up front (`templates.parse_editable`).

    `prove=False` is for a read that writes nothing (what a file sets now, what a run
    would do: `status`, `plan`): the same locations, refusals and splices, without the
    re-parse that proves the new bytes (half the cost of an edit). `splice=False` (what a
    file sets now, nothing more) locates and checks alone: the edits say what each
    location holds and where, and the bytes are left as they are."""
    yaml_file = parse_editable(raw, name)
    check_not_encrypted(yaml_file)
    found = find_all(yaml_file, request, context or Context())
    if not found:
        raise TargetNotFoundError(
            f"no reference to {request.image.name} found"
            + (f" at {request.key}" if request.key else ""),
            path=name,
        )
    edits = plan(yaml_file, found, render=splice)
    if not edits or not splice:
        return FileEdit(name, tuple(edits), len(found), raw, raw)
    new_text = apply(yaml_file, edits)
    if prove:
        verify(yaml_file, new_text, edits)
    return FileEdit(name, tuple(edits), len(found), raw, encode(new_text, yaml_file.bom))


def load_context(path: FsPath, root: FsPath | None = None) -> Context:
    """The files the kinds read besides `path` (`kinds.companions`), parsed: a Helm
    environment values file (`values-staging.yaml`) gets the chart's `values.yaml`.

    The disk answers which of the kinds' `candidates` exist, under `root` (without one,
    anywhere above `path`); the kinds pick among them. A companion that is not YAML is
    left out: the target's own edit decides.
    """
    top, name, in_root = _placed(path, root)
    present = [c for c in kinds.candidates(name) if (top / c).is_file()]
    bases: list[YamlFile] = []
    for companion in kinds.companions(name, present):
        with contextlib.suppress(YamlError):
            shown = companion if in_root else _beside(path, top / companion)
            bases.append(parse_bytes((top / companion).read_bytes(), shown))
    return Context(base_values=tuple(bases))


def read_context(tree: FileTree, path: str) -> Context:
    """`load_context` for the file `path` of a tree: the tree answers which candidates
    exist (links followed, as on disk) and holds their bytes."""
    present = [c for c in kinds.candidates(path) if tree.is_file(c)]
    bases: list[YamlFile] = []
    for companion in kinds.companions(path, present):
        with contextlib.suppress(YamlError):
            bases.append(parse_bytes(tree.read(companion), companion))
    return Context(base_values=tuple(bases))


def _placed(path: FsPath, root: FsPath | None) -> tuple[FsPath, str, bool]:
    """The directory the kinds' paths are relative to, `path` relative to it, and whether
    that directory is `root` (else the filesystem's root)."""
    if root is not None:
        for top, target in ((root.absolute(), path.absolute()), (root.resolve(), path.resolve())):
            if target.is_relative_to(top):
                return top, target.relative_to(top).as_posix(), True
    absolute = path.absolute()
    return FsPath(absolute.anchor), absolute.relative_to(absolute.anchor).as_posix(), False


def _beside(path: FsPath, other: FsPath) -> str:
    """`other` named as `path` is (relative to the same directory, or absolute)."""
    relative = os.path.relpath(other, path.absolute().parent)
    return posixpath.normpath((path.parent / relative).as_posix())


def write_atomic(path: FsPath, data: bytes) -> None:
    """Temp file in the same directory + `os.replace`, keeping the file's mode."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, temp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def _temporary(path: FsPath) -> tuple[int, str]:
    """A new file beside `path` (`.name.<random>.tmp`, mode 0600, never through a link),
    as `tempfile.mkstemp` makes it: `bump` writes one file, and importing `tempfile`
    (with `shutil` and `random`) was a tenth of its start-up."""
    for _ in range(100):
        temp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(temp, _TEMP_FLAGS, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no temporary name left beside {path.name}")


def _line(item: Found) -> int:
    node = item.node if isinstance(item, Target) else item.mapping
    return int(node.start_mark.line) + 1
