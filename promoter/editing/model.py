"""Values shared by the editing engine and its editors: what to set, what was found, what changed.

Also owns the one rule every editor applies to an existing reference: how a requested
version replaces the old tag/digest (see `updated_reference` for the digest policy).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import Path, YamlFile, mapping_get
from promoter.errors import EditRefusedError, ImageRefError, NotAVersionError
from promoter.imageref import (
    ImageRef,
    find_image_ref,
    is_valid_tag,
    parse_digest,
    parse_image_ref,
)
from promoter.sinks import EXCERPT
from promoter.yamlfile import NULL_TAG, tag_of


@dataclass(frozen=True, slots=True)
class BumpRequest:
    """Set every reference of `image.repository` in a file to `image`'s tag and/or digest.

    `key` restricts the edit to one explicit location (`backend.image.tag` or a JSON
    pointer). `setter` names a Flux image policy (`ns:name`) standing for this image.
    """

    image: ImageRef
    key: str | None = None
    setter: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What an editor may know beyond the file: its kinds' companions (`kinds.companions`),
    parsed; for a Helm environment values file, the chart's `values.yaml` it layers over."""

    base_values: tuple[YamlFile, ...] = ()


class Shape(enum.Enum):
    """What the scalar an editor replaces holds: the engine checks the old value by it."""

    VERSION = "a tag or digest"
    """A tag or digest field (`newTag`, `tag`, `digest`, a Helm `sha`); empty is fine."""
    REFERENCE = "an image reference"
    """A whole `name[:tag][@digest]` (Argo CD's `old=name:tag` too), blanks around it."""
    BLOCK = "YAML text"
    """A block scalar holding YAML: its own targets are checked where they are found."""


@dataclass(frozen=True, slots=True)
class Target:
    """A scalar an editor wants to read `new` (already equal is fine: that is a match).

    With `remove`, the scalar's key is to go instead (`new` is empty): the tag beside a
    digest that a digest-only promotion pins (see `updated_reference`).
    """

    doc: int
    path: Path
    node: ScalarNode
    new: str
    kind: str
    shape: Shape
    remove: bool = False


@dataclass(frozen=True, slots=True)
class Insertion:
    """A key an editor wants added to a mapping (e.g. a Kustomize entry without `newTag`)."""

    doc: int
    path: Path
    mapping: MappingNode
    key: str
    new: str
    kind: str


Found = Target | Insertion


@dataclass(frozen=True, slots=True)
class Edit:
    """One planned change, as reports show it; `start`/`end`/`text` are the splice."""

    pointer: str
    line: int
    old: str | None
    new: str
    kind: str
    op: str
    start: int
    end: int
    text: str
    paths: tuple[tuple[int, Path], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class FileEdit:
    """The outcome for one file: its edits (empty when it already matched) and bytes."""

    name: str
    edits: tuple[Edit, ...]
    matched: int
    before: bytes
    after: bytes

    @property
    def changed(self) -> bool:
        return self.before != self.after


_TEMPLATE_MARKS = ("{{", "${", "$(")
_DIGEST_SHAPE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
"""The OCI image spec's digest grammar: `algorithm ":" encoded`."""


def check_replaceable(yaml_file: YamlFile, target: Target) -> None:
    """Refuse `target` unless the value it replaces is what its field holds by the OCI grammar.

    A version field holds a tag or a digest (or nothing yet), a whole-reference field an
    image reference. Anything else (a Go template `{{ .Values.tag }}`, a `${TAG}`, prose)
    is rendered by someone else; overwriting it would silently take that away. The one
    check every editor's targets pass through (`engine.plan`, and `embedded` for YAML
    held in a block scalar), so no editor has to remember it.
    """
    if target.shape is Shape.BLOCK:
        return
    node = target.node
    old = str(node.value)
    if target.shape is Shape.VERSION:
        if tag_of(node) == NULL_TAG or old == "" or is_version(old):
            return
    elif is_reference_text(old):
        return
    hint = " (a template?)" if any(mark in old for mark in _TEMPLATE_MARKS) else ""
    raise NotAVersionError(
        f"{quoted(old)} is not {target.shape.value}{hint}; promoter leaves it alone",
        path=yaml_file.name,
        line=line_of(node),
        field=yaml_file.pointer(target.doc, target.path),
    )


def is_version(text: str) -> bool:
    """A tag or a digest, by the OCI grammar.

    An old digest only needs the image spec's shape (`algorithm:encoded`), not the length
    a digest promoter writes must have: Flux's own test data pins `sha256:1234567890abcdef`,
    and replacing a malformed pin is exactly what a promotion should do.
    """
    if is_valid_tag(text) or _DIGEST_SHAPE.fullmatch(text):
        return True
    try:
        parse_digest(text)
    except ImageRefError:
        return False
    return True


def is_reference_text(text: str) -> bool:
    """`name[:tag][@digest]` with blanks around it (a folded scalar's final newline), or
    Argo CD's `old=name[:tag][@digest]` override, whose every part is a reference."""
    try:
        for part in text.strip().split("=", 1):
            parse_image_ref(part)
    except ImageRefError:
        return False
    return True


def template_reference(text: str) -> ImageRef | None:
    """The image a templated reference names before its version
    (`ghcr.io/acme/web:{{ .Chart.AppVersion }}` → `ghcr.io/acme/web`), else None: a
    templated name (`{{ .Values.registry }}/web:1`) names no image promoter can match.

    Editors report such a value of the requested image as a target, so that the engine
    refuses it by name instead of the image seeming absent from the file.
    """
    if "{{" not in text:
        return None
    prefix = text.strip().rpartition("=")[2].partition("{{")[0]
    name, at, _ = prefix.partition("@")
    if not at:
        colon = prefix.rfind(":")
        if colon <= prefix.rfind("/"):
            return None  # the template is part of the name
        name = prefix[:colon]
    ref = find_image_ref(name)
    return ref if ref is not None and ref.tag is None and ref.digest is None else None


def quoted(text: str) -> str:
    """A value for an error message: clipped, and repr-escaped (control characters shown)."""
    return repr(text if len(text) <= EXCERPT else text[:EXCERPT] + "…")


def updated_reference(
    old: ImageRef, request: ImageRef, yaml_file: YamlFile, node: Node
) -> ImageRef:
    """The reference `old` becomes when `request`'s version is promoted into it.

    Digest policy (docs/configuration.md, "Digests"): a reference pinned by digest is never
    left with a stale digest (the runtime would keep pulling the old image) and never
    silently unpinned. A tag-only request against a pinned reference is refused; promote
    `repo:tag@sha256:…` (or a bare digest) instead. A digest-only request leaves no tag
    claiming another version: here it replaces tag and digest with the digest; where the tag
    is a key of its own beside the digest key, the editor removes that key (`Target.remove`,
    what `kustomize edit set image name@digest` does to `newTag`), or refuses with
    `refuse_stale_tag` where it cannot.
    """
    if request.digest is None and old.digest is not None:
        raise refuse_pinned(yaml_file, node, old.digest, request)
    return old.with_version(request.tag, request.digest)


def refuse_pinned(
    yaml_file: YamlFile, node: Node, old_digest: str, request: ImageRef
) -> EditRefusedError:
    return EditRefusedError(
        f"{request.name} is pinned by digest {old_digest}; a tag-only bump would leave the "
        f"old digest in force. Promote {request.name}:{request.tag}@sha256:<digest> to "
        "update both",
        path=yaml_file.name,
        line=line_of(node),
    )


def refuse_stale_tag(
    yaml_file: YamlFile, node: Node, request: ImageRef, why: str
) -> EditRefusedError:
    """A digest-only request where a tag would stay beside the new digest, claiming another
    version, and promoter cannot remove it (`why` says what holds it there)."""
    return EditRefusedError(
        f"{request.name}: a digest-only promotion would leave the tag {quoted(str(node.value))} "
        f"beside {request.digest} ({why}); promote {request.name}:<tag>@{request.digest} "
        "to set both",
        path=yaml_file.name,
        line=line_of(node),
    )


def parent_of(yaml_file: YamlFile, target: Target) -> Node | None:
    """The collection that holds `target` at its path (own keys only, no merges)."""
    node: Node | None = yaml_file.docs[target.doc]
    for part in target.path[:-1]:
        if isinstance(part, int) and isinstance(node, SequenceNode) and part < len(node.value):
            node = node.value[part]
        elif isinstance(part, str) and node is not None:
            node = mapping_get(node, part)
        else:
            return None
    return node


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1
