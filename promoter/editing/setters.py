"""Setter comments: Flux `$imagepolicy` markers and promoter's own `$promoter` marker.

A marker is a line comment holding one JSON object (spacing as you like, as Flux's kyaml
reads it) on the line of the scalar it governs, a mapping value or a sequence item:

    image: ghcr.io/acme/web:1.4 # {"$imagepolicy": "flux-system:web"}       full reference
    newTag: "1.4" # {"$imagepolicy": "flux-system:web:tag"}                 tag
    newName: ghcr.io/acme/web # {"$imagepolicy": "flux-system:web:name"}    repository
    digest: sha256:… # {"$imagepolicy": "flux-system:web:digest"}           digest

promoter's own marker names the repository instead of a policy, for values no other editor
recognises. A trailing `:tag` or `:digest` selects the field; the rest is the repository,
so `localhost:5000/web:tag` is the tag of `localhost:5000/web`:

    ref: ghcr.io/acme/web:1.4 # {"$promoter": "ghcr.io/acme/web"}
    version: "1.4" # {"$promoter": "ghcr.io/acme/web:tag"}
    pin: sha256:… # {"$promoter": "localhost:5000/web:digest"}

A `:tag`/`:digest` marker of policy P belongs to the first repository found among: the
policy the request names (`request.setter`, with or without namespace), P's full-reference
marker elsewhere in the file, P's `:name` marker, and the marked value's sibling keys
(`repository`+`registry`, `newName`, `name`, `image`). Deliberate differences from Flux:
promoter changes versions, never repositories (a `:name` value, and the name inside a full
reference, stay as written), and it edits every marker whose repository is the requested
one, whatever policy or namespace the marker names. Block scalars cannot carry markers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Shape,
    Target,
    line_of,
    quoted,
    refuse_pinned,
    refuse_stale_tag,
    template_reference,
    updated_reference,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    iter_documents,
    mapping_get,
    scalar_text,
    scalar_value,
    walk,
)
from promoter.errors import EditRefusedError, InputError
from promoter.imageref import ImageRef, find_image_ref

KIND = "setters"
IMAGEPOLICY = "$imagepolicy"
PROMOTER = "$promoter"
POLICY_FIELDS = ("tag", "name", "digest")
DIGEST_KEYS = ("digest", "newDigest")
_ALIAS_BEFORE = re.compile(r"\*[^\s,\[\]{}]+[ \t]*$")


@dataclass(frozen=True, slots=True)
class Marker:
    """One setter comment. `owner` is a policy (`ns:name`) or, for `$promoter`, a repository.

    `node` is the scalar it governs; None when the comment sits where promoter cannot edit
    (then `problem` says why, and the marker fails only if it concerns the request).
    """

    kind: str
    owner: str
    field: str | None
    line: int
    doc: int = 0
    path: Path = ()
    node: ScalarNode | None = None
    parent: MappingNode | None = None
    problem: str | None = None

    @property
    def setter(self) -> str:
        return self.owner + (f":{self.field}" if self.field else "")


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    if IMAGEPOLICY not in yaml_file.text and PROMOTER not in yaml_file.text:
        return []
    markers = collect_markers(yaml_file)
    policies = _policy_repositories(markers)
    found: list[Found] = []
    for marker in markers:
        found.extend(_targets(yaml_file, marker, markers, policies, request))
    return found


def collect_markers(yaml_file: YamlFile) -> list[Marker]:
    """Every well-formed marker comment, bound to the scalar that ends right before it."""
    scalars: dict[int, tuple[int, Path, ScalarNode, MappingNode | None]] = {}
    blocks: dict[int, ScalarNode] = {}
    for doc_index, doc in iter_documents(yaml_file):
        parents: dict[int, MappingNode] = {}
        for path, node, _key in walk(doc):
            if isinstance(node, MappingNode):
                for _child_key, child in node.value:
                    parents.setdefault(id(child), node)
            elif isinstance(node, ScalarNode):
                if node.style in ("|", ">"):
                    blocks[int(node.start_mark.line)] = node
                else:
                    entry = (doc_index, path, node, parents.get(id(node)))
                    scalars.setdefault(int(node.end_mark.index), entry)
    text = yaml_file.text
    markers: list[Marker] = []
    offset = 0
    for number, line in enumerate(text.split("\n")):
        if IMAGEPOLICY in line or PROMOTER in line:
            for position in _comment_starts(line):
                parsed = _parse_comment(line[position + 1 :])
                if parsed is None:
                    continue
                end = position
                while end > 0 and line[end - 1] in " \t":
                    end -= 1
                bound = scalars.get(offset + end) if end > 0 else None
                problem = _unbound_problem(line[:end], blocks.get(number), position)
                if bound is None and problem is None:
                    continue
                split = _split_marker(yaml_file, *parsed, number + 1)
                if split is None:
                    continue
                kind, owner, field = split
                if bound is not None:
                    doc_index, path, node, parent = bound
                    markers.append(
                        Marker(kind, owner, field, number + 1, doc_index, path, node, parent)
                    )
                else:
                    markers.append(Marker(kind, owner, field, number + 1, problem=problem))
        offset += len(line) + 1
    return markers


def _comment_starts(line: str) -> list[int]:
    """Positions of `#` that may open a comment: YAML needs whitespace (or nothing) before."""
    return [i for i, c in enumerate(line) if c == "#" and (i == 0 or line[i - 1] in " \t")]


def _parse_comment(comment: str) -> tuple[str, str] | None:
    """(marker key, its string value) of a marker comment; None for any other comment."""
    body = comment.rstrip("\r").strip()
    if not body.startswith("{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in (IMAGEPOLICY, PROMOTER):
        if isinstance(data.get(key), str):
            return key, data[key]
    return None


def _split_marker(
    yaml_file: YamlFile, kind: str, value: str, line: int
) -> tuple[str, str, str | None] | None:
    """(kind, owner, field); None for a policy name Flux would not define either."""
    if kind == PROMOTER:
        return (PROMOTER, *_parse_promoter_value(yaml_file, value, line))
    parts = value.split(":")
    if len(parts) == 3 and parts[2] in POLICY_FIELDS:
        return IMAGEPOLICY, ":".join(parts[:2]), parts[2]
    if len(parts) <= 2 and all(parts):
        return IMAGEPOLICY, value, None
    return None


def _parse_promoter_value(yaml_file: YamlFile, value: str, line: int) -> tuple[str, str | None]:
    name, field = value, None
    for suffix in ("tag", "digest"):
        if value.endswith(f":{suffix}"):
            name, field = value[: -len(suffix) - 1], suffix
    ref = find_image_ref(name)
    if ref is None or ref.tag is not None or ref.digest is not None:
        raise InputError(
            f'{PROMOTER} marker {value!r} must name a repository: "<repository>", '
            '"<repository>:tag" or "<repository>:digest" (e.g. "localhost:5000/web:tag")',
            path=yaml_file.name,
            line=line,
        )
    return ref.name, field


def _unbound_problem(before: str, block: ScalarNode | None, position: int) -> str | None:
    """Why a marker on this line governs nothing promoter can edit; None to ignore it."""
    if block is not None and block.start_mark.column < position:
        return "marker on a block scalar (| or >) is not supported; use a plain or quoted value"
    if _ALIAS_BEFORE.search(before):
        return "marker on an alias; put it on the anchored value instead"
    return None


def _policy_repositories(markers: list[Marker]) -> dict[str, ImageRef]:
    """Repository of each policy from its full-reference markers, else its `:name` markers."""
    by_full: dict[str, ImageRef] = {}
    by_name: dict[str, ImageRef] = {}
    for marker in markers:
        if marker.kind != IMAGEPOLICY or marker.field not in (None, "name"):
            continue
        ref = _ref_of(marker.node)
        if ref is not None:
            (by_full if marker.field is None else by_name).setdefault(marker.owner, ref)
    return {**by_name, **by_full}


def _ref_of(node: Node | None) -> ImageRef | None:
    text = scalar_text(node)
    if text is None or "{{" in text:
        return None
    return find_image_ref(text)


def names_policy(setter: str | None, policy: str) -> bool:
    """True when the request's `setter` names `policy` (`ns:name`, or just `name`)."""
    if not setter:
        return False
    parts = setter.split(":")
    if len(parts) == 3 and parts[2] in POLICY_FIELDS:
        setter = ":".join(parts[:2])
    if setter == policy:
        return True
    return ":" not in setter and policy.rsplit(":", maxsplit=1)[-1] == setter


def _owner(marker: Marker, policies: dict[str, ImageRef], request: BumpRequest) -> ImageRef | None:
    """The repository a `:tag`/`:digest` marker (or an unbound marker) stands for."""
    if marker.kind == PROMOTER:
        return find_image_ref(marker.owner)
    if names_policy(request.setter, marker.owner):
        return request.image
    return policies.get(marker.owner) or _sibling_repository(marker.parent)


def _sibling_repository(parent: MappingNode | None) -> ImageRef | None:
    if parent is None:
        return None
    repository = scalar_text(mapping_get(parent, "repository"))
    if repository is not None:
        registry = scalar_text(mapping_get(parent, "registry"))
        ref = find_image_ref(f"{registry}/{repository}" if registry else repository)
        if ref is not None:
            return ref
    for key in ("newName", "name", "image"):
        ref = _ref_of(mapping_get(parent, key))
        if ref is not None:
            return ref
    return None


def _targets(
    yaml_file: YamlFile,
    marker: Marker,
    markers: list[Marker],
    policies: dict[str, ImageRef],
    request: BumpRequest,
) -> list[Found]:
    image = request.image
    if marker.node is None:
        owner = _owner(marker, policies, request)
        if owner is not None and owner.same_repository(image):
            raise EditRefusedError(marker.problem or "", path=yaml_file.name, line=marker.line)
        return []
    node = marker.node
    if marker.field == "name":
        return []
    if marker.field is None:
        return _full_reference(yaml_file, marker, node, request)
    owner = _owner(marker, policies, request)
    if owner is None or not owner.same_repository(image):
        return []
    old = scalar_value(node)
    if marker.field == "digest":
        if image.digest is not None:
            return [Target(marker.doc, marker.path, node, image.digest, KIND, Shape.VERSION)]
        if old and "{{" in old:  # a template: the engine refuses it by name
            return [Target(marker.doc, marker.path, node, old, KIND, Shape.VERSION)]
        if old:
            raise refuse_pinned(yaml_file, node, old, image)
        return []
    siblings = _sibling_digests(marker, markers)
    if image.tag is None:
        if not siblings and not _has_digest_marker(marker, markers, policies, request):
            raise EditRefusedError(
                f"{marker.setter} marks a tag, which cannot hold the digest {image.digest}; "
                "promote a tag (repo:tag@digest) or add a digest marker",
                path=yaml_file.name,
                line=marker.line,
            )
        if old:  # removing the marked key would take its marker with it
            raise refuse_stale_tag(yaml_file, node, image, f"{marker.setter} marks it")
        return [_sibling_digest(marker, key, digest, image) for key, digest in siblings]
    found: list[Found] = [Target(marker.doc, marker.path, node, image.tag, KIND, Shape.VERSION)]
    for key, digest_node in siblings:
        if image.digest is not None:
            found.append(_sibling_digest(marker, key, digest_node, image))
        elif scalar_value(digest_node):
            raise refuse_pinned(yaml_file, digest_node, str(digest_node.value), image)
    return found


def _sibling_digest(marker: Marker, key: str, node: ScalarNode, image: ImageRef) -> Target:
    path = (*marker.path[:-1], key)
    return Target(marker.doc, path, node, image.digest or "", KIND, Shape.VERSION)


def _full_reference(
    yaml_file: YamlFile, marker: Marker, node: ScalarNode, request: BumpRequest
) -> list[Found]:
    """A marked full reference: keep its repository as written, set tag and digest."""
    if marker.kind == PROMOTER:
        owner = find_image_ref(marker.owner)
        explicit = owner is not None and owner.same_repository(request.image)
    else:
        explicit = names_policy(request.setter, marker.owner)
    text = str(node.value)
    ref = _ref_of(node) or template_reference(text)
    if ref is None:
        if explicit:
            hint = " (a template?)" if "{{" in text else ""
            raise EditRefusedError(
                f"{marker.setter} marks {quoted(text)}, which is not an image reference{hint}",
                path=yaml_file.name,
                line=line_of(node),
            )
        return []
    if not explicit and not ref.same_repository(request.image):
        return []
    new = updated_reference(ref, request.image, yaml_file, node)
    return [Target(marker.doc, marker.path, node, str(new), KIND, Shape.REFERENCE)]


def _sibling_digests(marker: Marker, markers: list[Marker]) -> list[tuple[str, ScalarNode]]:
    """Unmarked digest keys beside a marked tag: a tag bump must not leave them stale.

    A digest key with its own marker follows that marker (it may name another policy).
    """
    if marker.parent is None or not marker.path or not isinstance(marker.path[-1], str):
        return []
    marked = {id(other.node) for other in markers if other.node is not None}
    found: list[tuple[str, ScalarNode]] = []
    for key in DIGEST_KEYS:
        node = mapping_get(marker.parent, key)
        if isinstance(node, ScalarNode) and id(node) not in marked:
            found.append((key, node))
    return found


def _has_digest_marker(
    marker: Marker, markers: list[Marker], policies: dict[str, ImageRef], request: BumpRequest
) -> bool:
    """A digest-only request may skip a tag marker when the image's digest is marked too."""
    owner = _owner(marker, policies, request)
    if owner is None:
        return False
    for other in markers:
        if other.field == "digest" and other.node is not None:
            other_owner = _owner(other, policies, request)
            if other_owner is not None and other_owner.same_repository(owner):
                return True
    return False
