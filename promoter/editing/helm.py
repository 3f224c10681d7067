"""Helm-style image settings anywhere in any document: image blocks and image strings.

Image blocks (`helm_blocks`: which keys name the repository, its registry and its tag;
an empty or missing registry means the repository holds the full name) get their tag and
digest set. Image strings (`image: repo:tag`, any key that is `image`, ends in
`Image`/`image`, or is `imageName`) are rewritten whole, keeping the name as written.
Strings in `containers`/`initContainers`/`ephemeralContainers` entries belong to the
workloads editor, and `status:` of a Kubernetes object to its controller, so both are
left alone here.

A block whose `tag` key is missing (commented out) gets one inserted, but only when the
request carries a tag; a digest-only request removes the tag key beside the digest key.
An environment file (`values-staging.yaml`) whose block sets a tag without a repository is
matched through the chart's `values.yaml` at the same key path: the kind's companion,
named by `helm_layers`. Knows nothing of templates: a templated repository names no image,
and a templated tag or reference of the requested image is reported as found, for the
engine to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from promoter.editing.helm_blocks import (
    Block,
    find_block,
    find_digest,
    find_entry,
    find_global_registry,
    find_node,
    is_image_key,
)
from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Insertion,
    Shape,
    Target,
    refuse_pinned,
    refuse_stale_tag,
    template_reference,
    updated_reference,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    iter_documents,
    key_text,
    mapping_get,
    scalar_text,
    scalar_value,
    walk,
)
from promoter.errors import EditRefusedError
from promoter.imageref import ImageRef, find_image_ref
from promoter.yamlfile import MERGE_TAG, tag_of

KIND = "helm"
STRING_KIND = "image-string"
CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})


@dataclass(frozen=True, slots=True)
class _Candidate:
    found: Found
    indirect: bool
    """Reached through an alias or merge key: the engine must see the definition first."""


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    candidates: list[_Candidate] = []
    for doc_index, doc in iter_documents(yaml_file):
        is_object = None not in (mapping_get(doc, "kind"), mapping_get(doc, "apiVersion"))
        registry = find_global_registry(doc)
        found: list[_Candidate] = []
        mappings: list[tuple[Path, MappingNode]] = []
        for path, node, _key in walk(doc):
            if not isinstance(node, MappingNode) or (is_object and path[:1] == ("status",)):
                continue
            mappings.append((path, node))
            found.extend(
                _mapping_candidates(yaml_file, doc_index, path, node, request, context, registry)
            )
        if not found:
            found = _prefix_candidates(doc_index, mappings, request)
        candidates.extend(found)
    # The engine keeps the first claim on a node, so definitions go before alias uses.
    return [c.found for c in sorted(candidates, key=lambda c: c.indirect)]


def _mapping_candidates(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    mapping: MappingNode,
    request: BumpRequest,
    context: Context,
    global_registry: str | None = None,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    block = find_block([mapping], path, global_registry)
    if block is not None:
        if block.ref.same_repository(request.image):
            found.extend(_block_candidates(yaml_file, doc, path, block, request, mapping))
    elif context.base_values:
        found.extend(_override_candidates(yaml_file, doc, path, mapping, request, context))
    if len(path) >= 2 and isinstance(path[-1], int) and path[-2] in CONTAINER_LISTS:
        return found
    for key_node, value_node in mapping.value:
        key = key_text(key_node)
        if not is_image_key(key) or tag_of(key_node) == MERGE_TAG:
            continue
        if block is not None and block.layout.repository == key:
            continue
        target = _string_target(yaml_file, doc, (*path, key), value_node, request)
        if target is not None:
            indirect = value_node.start_mark.index < key_node.start_mark.index
            found.append(_Candidate(target, indirect))
    return found


def _prefix_candidates(
    doc: int, mappings: list[tuple[Path, MappingNode]], request: BumpRequest
) -> list[_Candidate]:
    """`images: {repository: ghcr.io/acme, tag: 1.4.1}`: a registry/organisation prefix with
    one tag for every image under it (the chart appends each image's name). Matched only
    when nothing in the document names the image itself, and only under an `image(s)` key.
    """
    image = request.image
    if image.tag is None or image.digest is not None:
        return []
    found: list[_Candidate] = []
    for path, mapping in mappings:
        if not path or path[-1] not in ("images", "image"):
            continue
        prefix = scalar_text(mapping_get(mapping, "repository"))
        tag_entry = find_entry(mapping, "tag")
        if not prefix or "{{" in prefix or tag_entry is None:
            continue
        registry = scalar_value(mapping_get(mapping, "registry")) or ""
        joined = f"{registry}/{prefix}" if registry else prefix
        ref = find_image_ref(f"{joined.rstrip('/')}/{image.app_name}")
        if ref is None or find_image_ref(joined) is None or not ref.same_repository(image):
            continue
        target = _value_target(doc, path, mapping, "tag", tag_entry, image.tag)
        if target is not None:
            found.append(target)
    return found


def _block_candidates(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    block: Block,
    request: BumpRequest,
    own: MappingNode,
    base: tuple[YamlFile, MappingNode] | None = None,
) -> list[_Candidate]:
    """Tag and digest edits for a matching block; only `own` (this file's mapping) is edited.

    `base` is the chart's mapping at the same path when `own` is an environment override:
    its digest is in force unless `own` sets one.
    """
    image = request.image
    digest_key, digest_entry = find_digest(own)
    digest_file = yaml_file
    if digest_entry is None and base is not None:
        digest_key, digest_entry = find_digest(base[1])
        digest_file = base[0]
    old_digest = scalar_value(digest_entry[1]) if digest_entry else None
    if image.digest is None and old_digest and digest_entry:
        raise refuse_pinned(digest_file, digest_entry[1], old_digest, image)
    tag_entry = find_entry(own, block.layout.tag)
    found: list[_Candidate] = []
    if tag_entry is None and (block.ref.tag is not None or block.ref.digest is not None):
        node = block.repository_node
        target = _string_target(yaml_file, doc, (*path, block.layout.repository), node, request)
        return [] if target is None else [_Candidate(target, False)]
    if image.digest is not None:
        if digest_key is None and image.tag is None:
            raise _refuse_digest_only(yaml_file, own, image)
        if digest_key is not None and digest_entry is not None:
            inherited = digest_file is not yaml_file
            found.extend(
                _digest_candidates(doc, path, own, digest_key, digest_entry, inherited, image)
            )
    if image.tag is None:
        return [*found, *_stale_tag(yaml_file, doc, path, block, own, base, tag_entry, image)]
    if tag_entry is None:
        insertion = Insertion(doc, path, own, block.layout.tag, image.tag, KIND)
        return [*found, _Candidate(insertion, False)]
    tag = _value_target(doc, path, own, block.layout.tag, tag_entry, image.tag)
    return found if tag is None else [*found, tag]


def _stale_tag(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    block: Block,
    own: MappingNode,
    base: tuple[YamlFile, MappingNode] | None,
    tag_entry: tuple[Node, Node] | None,
    image: ImageRef,
) -> list[_Candidate]:
    """A digest-only request removes the block's tag key, as kustomize drops `newTag`: the
    chart would otherwise render the old tag beside the new digest. An environment file's
    tag is refused instead when the chart's values set one too (removing the override would
    bring the chart's tag back)."""
    if tag_entry is None or not isinstance(tag_entry[1], ScalarNode):
        return []
    node = tag_entry[1]
    if not scalar_value(node):
        return []
    if base is not None:
        base_tag = find_entry(base[1], block.layout.tag)
        if base_tag is not None and scalar_value(base_tag[1]):
            raise refuse_stale_tag(
                yaml_file, node, image, f"{base[0].name} sets a tag under it as well"
            )
    target = Target(doc, (*path, block.layout.tag), node, "", KIND, Shape.VERSION, remove=True)
    return [_Candidate(target, False)]


def _digest_candidates(
    doc: int,
    path: Path,
    own: MappingNode,
    key: str,
    entry: tuple[Node, Node],
    inherited: bool,
    image: ImageRef,
) -> list[_Candidate]:
    """Set the block's digest key.

    An environment file that inherits a non-empty digest from the chart gets the key added:
    the inherited digest would otherwise stay in force. An empty inherited one is left be.
    """
    old = scalar_value(entry[1]) or ""
    new = _digest_text(key, image.digest or "", old)
    if not inherited:
        target = _value_target(doc, path, own, key, entry, new)
        return [] if target is None else [target]
    if old:
        return [_Candidate(Insertion(doc, path, own, key, new, KIND), False)]
    return []


def _value_target(
    doc: int, path: Path, own: MappingNode, key: str, entry: tuple[Node, Node], new: str
) -> _Candidate | None:
    key_node, node = entry
    if not isinstance(node, ScalarNode):
        return None
    indirect = node.start_mark.index < key_node.start_mark.index or not any(
        k is key_node for k, _ in own.value
    )
    return _Candidate(Target(doc, (*path, key), node, new, KIND, Shape.VERSION), indirect)


def _digest_text(key: str, digest: str, old: str) -> str:
    """`sha:` keys of older charts hold bare hex (`@sha256:{{ .sha }}` in the template)."""
    algorithm, _, hexpart = digest.partition(":")
    if key == "sha" and algorithm == "sha256" and ":" not in old:
        return hexpart
    return digest


def _override_candidates(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    mapping: MappingNode,
    request: BumpRequest,
    context: Context,
) -> list[_Candidate]:
    """A tag-only block of an environment file, named by the chart's values at its path."""
    for base in context.base_values:
        for _, base_doc in iter_documents(base):
            base_node = find_node(base_doc, path)
            if not isinstance(base_node, MappingNode):
                continue
            block = find_block([mapping, base_node], path)
            if (
                block is not None
                and find_entry(mapping, block.layout.tag) is not None
                and block.ref.same_repository(request.image)
            ):
                return _block_candidates(
                    yaml_file, doc, path, block, request, mapping, (base, base_node)
                )
    return []


def _string_target(
    yaml_file: YamlFile, doc: int, path: Path, node: Node, request: BumpRequest
) -> Target | None:
    text = scalar_text(node)
    if text is None or not isinstance(node, ScalarNode):
        return None
    ref = find_image_ref(text) or template_reference(text)
    if ref is None or not ref.same_repository(request.image):
        return None
    new = updated_reference(ref, request.image, yaml_file, node)
    return Target(doc, path, node, str(new), STRING_KIND, Shape.REFERENCE)


def _refuse_digest_only(
    yaml_file: YamlFile, mapping: MappingNode, image: ImageRef
) -> EditRefusedError:
    return EditRefusedError(
        f"{image.name}: this image block has no digest key to pin {image.digest} in; "
        "promote a tag, or add a digest key to the values",
        path=yaml_file.name,
        line=int(mapping.start_mark.line) + 1,
    )
