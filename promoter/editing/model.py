"""Values shared by the editing engine and its editors: what to set, what was found, what changed.

Also owns the one rule every editor applies to an existing reference: how a requested
version replaces the old tag/digest (see `updated_reference` for the digest policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from promoter.editing.source import Path, YamlFile
from promoter.errors import EditRefusedError
from promoter.imageref import ImageRef


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
    """What an editor may know beyond the file: the chart's base `values.yaml`, if any."""

    base_values: tuple[YamlFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """A scalar an editor wants to read `new` (already equal is fine: that is a match)."""

    doc: int
    path: Path
    node: ScalarNode
    new: str
    kind: str


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


def updated_reference(
    old: ImageRef, request: ImageRef, yaml_file: YamlFile, node: Node
) -> ImageRef:
    """The reference `old` becomes when `request`'s version is promoted into it.

    Digest policy: a reference pinned by digest is never left with a stale digest (the
    runtime would keep pulling the old image) and never silently unpinned. A tag-only
    request against a pinned reference is refused; promote `repo:tag@sha256:…` (or a bare
    digest) instead. A digest-only request replaces tag and digest with the digest.
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


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1
