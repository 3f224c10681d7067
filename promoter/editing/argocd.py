"""Argo CD: image overrides in an Application's sources and in `.argocd-source*.yaml` files.

A source is `spec.source` or an entry of `spec.sources` of an `Application`, the same under an
`ApplicationSet`'s templates, or the whole of an `.argocd-source*.yaml` write-back file. In a
source, three structures name images:

- `kustomize.images`: strings `[old=]name[:tag][@digest]`; the request matches `old` or `name`
  and the version of `name` changes.
- `helm.parameters`: a `<prefix>.tag` parameter matches when a sibling `<prefix>.repository`
  (or `<prefix>.name`, as Argo CD Image Updater writes it, with an optional
  `<prefix>.registry`) parameter, or else the `valuesObject` block at `<prefix>`, names the
  requested repository. A `<prefix>.digest` parameter gets the digest.
- `helm.valuesObject`: Helm values inline, `image: {repository, tag}` blocks and
  `image: repo:tag` strings.

A lone `image.tag` parameter with no repository anywhere in the source (Argo CD's own
`single-global-helm/.argocd-source.yaml`) names no image, so it is never matched by repository:
target it with an explicit `--key /helm/parameters/0/value` (the pointer editor). A
`helm.values: |` string is a values file: edited as one (Helm blocks and image strings) and
spliced back line by line. Container lists inside `valuesObject` are left to their editors.
"""

from __future__ import annotations

from pathlib import PurePath

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.embedded import rewrite_embedded
from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Insertion,
    Shape,
    Target,
    line_of,
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
from promoter.editing.workloads import bumped_reference
from promoter.errors import EditRefusedError
from promoter.imageref import ImageRef, find_image_ref
from promoter.yamlfile import YAML_SUFFIXES

KIND_KUSTOMIZE = "argocd-kustomize-images"
KIND_PARAMETER = "argocd-helm-parameter"
KIND_VALUES = "argocd-helm-values"
_REPOSITORY_PARAMETERS = ("repository", "name")
Slot = tuple[Path, MappingNode, str]


def is_write_back_file(name: str, doc: Node) -> bool:
    """`.argocd-source.yaml` / `.argocd-source-<app>.yaml`: parameter overrides per app.

    Also recognised by content (no `apiVersion`/`kind`, a top-level `kustomize.images` or
    `helm.parameters` list), so a copy under another name is still understood.
    """
    if ".argocd-source" in name:
        path = PurePath(name)
        if path.name.startswith(".argocd-source") and path.suffix in YAML_SUFFIXES:
            return True
    if mapping_get(doc, "apiVersion") is not None or mapping_get(doc, "kind") is not None:
        return False
    images = _nested(doc, "kustomize", "images")
    parameters = _nested(doc, "helm", "parameters")
    return isinstance(images, SequenceNode) or isinstance(parameters, SequenceNode)


def _nested(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = mapping_get(node, key) if node is not None else None
    return node


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    found: list[Found] = []
    for doc_index, doc in iter_documents(yaml_file):
        for path, source in _sources(yaml_file.name, doc):
            found.extend(_kustomize_images(yaml_file, doc_index, path, source, request))
            found.extend(_helm(yaml_file, doc_index, path, source, request))
    return found


def _sources(name: str, doc: Node) -> list[tuple[Path, MappingNode]]:
    if is_write_back_file(name, doc):
        return [((), doc)] if isinstance(doc, MappingNode) else []
    kind = scalar_text(mapping_get(doc, "kind"))
    api = scalar_text(mapping_get(doc, "apiVersion")) or ""
    if kind not in ("Application", "ApplicationSet") or not api.startswith("argoproj.io/"):
        return []
    sources: list[tuple[Path, MappingNode]] = []
    for path, node, _key in walk(doc):
        if not isinstance(node, MappingNode) or path[:1] in (("status",), ("operation",)):
            continue
        if path[-1:] == ("source",) or (path[-2:-1] == ("sources",) and isinstance(path[-1], int)):
            sources.append((path, node))
    return sources


def _kustomize_images(
    yaml_file: YamlFile, doc: int, path: Path, source: MappingNode, request: BumpRequest
) -> list[Found]:
    images = _nested(source, "kustomize", "images")
    if not isinstance(images, SequenceNode):
        return []
    found: list[Found] = []
    for index, item in enumerate(images.value):
        text = scalar_text(item)
        if not isinstance(item, ScalarNode) or text is None:
            continue
        new = _override(text, request, yaml_file, item)
        if new is not None:
            item_path = (*path, "kustomize", "images", index)
            found.append(Target(doc, item_path, item, new, KIND_KUSTOMIZE, Shape.REFERENCE))
    return found


def _override(text: str, request: BumpRequest, yaml_file: YamlFile, node: Node) -> str | None:
    """`old=name:tag` with `name`'s version replaced, when `old` or `name` is the image."""
    old, equals, new = text.strip().partition("=")
    if not equals:
        return bumped_reference(text, request, yaml_file, node)
    new_ref = find_image_ref(new) or template_reference(new)
    if new_ref is None:
        return None
    old_ref = find_image_ref(old)
    if not new_ref.same_repository(request.image) and not (
        old_ref is not None and old_ref.same_repository(request.image)
    ):
        return None
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    bumped = updated_reference(new_ref, request.image, yaml_file, node)
    return f"{lead}{old}={bumped}{trail}"


def _helm(
    yaml_file: YamlFile, doc: int, path: Path, source: MappingNode, request: BumpRequest
) -> list[Found]:
    helm = mapping_get(source, "helm")
    if not isinstance(helm, MappingNode):
        return []
    values = mapping_get(helm, "valuesObject")
    values_object = values if isinstance(values, MappingNode) else None
    found: list[Found] = []
    parameters = mapping_get(helm, "parameters")
    names: set[str] = set()
    if isinstance(parameters, SequenceNode):
        names = {scalar_text(mapping_get(entry, "name")) or "" for entry in parameters.value}
        found.extend(
            _parameters(
                yaml_file, doc, (*path, "helm", "parameters"), parameters, values_object, request
            )
        )
    if values_object is not None:
        found.extend(
            _values_object(
                yaml_file, doc, (*path, "helm", "valuesObject"), values_object, names, request
            )
        )
    values_text = mapping_get(helm, "values")
    if isinstance(values_text, ScalarNode) and values_text.style == "|":
        target = _values_string(yaml_file, doc, (*path, "helm", "values"), values_text, request)
        if target is not None:
            found.append(target)
    return found


def _values_string(
    yaml_file: YamlFile, doc: int, path: Path, node: ScalarNode, request: BumpRequest
) -> Target | None:
    """`helm.values: |` holds a values file as a string: edit it as one, splice it back."""
    from promoter.editing import helm as helm_values  # helm imports nothing of argocd

    def find(inner: YamlFile) -> list[Target]:
        found = helm_values.find(inner, request, Context())
        return [t for t in found if isinstance(t, Target)]

    return rewrite_embedded(yaml_file, doc, path, node, find, KIND_VALUES)


def _parameters(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    parameters: SequenceNode,
    values_object: MappingNode | None,
    request: BumpRequest,
) -> list[Found]:
    by_name: dict[str, tuple[int, MappingNode]] = {}
    for index, entry in enumerate(parameters.value):
        name = scalar_text(mapping_get(entry, "name"))
        if isinstance(entry, MappingNode) and name is not None:
            by_name.setdefault(name, (index, entry))
    found: list[Found] = []
    for name, (index, entry) in by_name.items():
        if name != "tag" and not name.endswith(".tag"):
            continue
        prefix = name[: -len("tag")]
        repository = _parameter_repository(prefix, by_name) or _values_repository(
            values_object, prefix
        )
        if repository is None or not repository.same_repository(request.image):
            continue
        found.extend(
            _version_keys(
                yaml_file,
                doc,
                ((*path, index), entry, "tag"),
                _digest_parameter(path, prefix, by_name),
                "value",
                request,
                KIND_PARAMETER,
            )
        )
    return found


def _digest_parameter(
    path: Path, prefix: str, by_name: dict[str, tuple[int, MappingNode]]
) -> Slot | None:
    if prefix + "digest" not in by_name:
        return None
    index, entry = by_name[prefix + "digest"]
    return ((*path, index), entry, "digest")


def _parameter_repository(
    prefix: str, by_name: dict[str, tuple[int, MappingNode]]
) -> ImageRef | None:
    def value(suffix: str) -> str | None:
        item = by_name.get(prefix + suffix)
        text = scalar_text(mapping_get(item[1], "value")) if item else None
        return text if text and "{{" not in text else None

    registry = value("registry")
    for suffix in _REPOSITORY_PARAMETERS:
        repository = value(suffix)
        if repository:
            return find_image_ref(f"{registry}/{repository}" if registry else repository)
    return None


def _values_repository(values_object: MappingNode | None, prefix: str) -> ImageRef | None:
    block = _nested(values_object, *prefix.split(".")[:-1])
    return _block_repository(block) if isinstance(block, MappingNode) else None


def _block_repository(block: MappingNode) -> ImageRef | None:
    repository = scalar_text(mapping_get(block, "repository"))
    if not repository or "{{" in repository:
        return None
    registry = scalar_text(mapping_get(block, "registry"))
    return find_image_ref(f"{registry}/{repository}" if registry else repository)


def _values_object(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    values: MappingNode,
    parameters: set[str],
    request: BumpRequest,
) -> list[Found]:
    """Helm-style image blocks (`repository` + `tag`) and `image: repo:tag` strings.

    An `image:` block without `tag` gets one, unless a `<prefix>.tag` parameter (which
    overrides the values) already sets it.
    """
    found: list[Found] = []
    for node_path, node, _key in walk(values, path):
        if isinstance(node, MappingNode):
            repository = _block_repository(node)
            if repository is None or not repository.same_repository(request.image):
                continue
            parameter = ".".join(str(part) for part in (*node_path[len(path) :], "tag"))
            if mapping_get(node, "tag") is None and (
                node_path[-1:] != ("image",) or parameter in parameters
            ):
                continue
            found.extend(
                _version_keys(
                    yaml_file,
                    doc,
                    (node_path, node, "tag"),
                    (node_path, node, "digest"),
                    None,
                    request,
                    KIND_VALUES,
                )
            )
        elif node_path[-1:] == ("image",) and isinstance(node, ScalarNode):
            text = scalar_text(node)
            new = bumped_reference(text, request, yaml_file, node) if text else None
            if new is not None:
                found.append(Target(doc, node_path, node, new, KIND_VALUES, Shape.REFERENCE))
    return found


def _version_keys(
    yaml_file: YamlFile,
    doc: int,
    tag: Slot,
    digest: Slot | None,
    value_key: str | None,
    request: BumpRequest,
    kind: str,
) -> list[Found]:
    """Set the tag slot, and the digest slot if there is one, of one image.

    A slot is (path, mapping, role): parameters keep the value under `value_key`, values
    blocks under the role's own key. A missing tag key is added; a missing digest key is
    not (a chart without one would ignore it). As everywhere, a pinned digest refuses a
    tag-only request, and a digest-only request leaves no tag beside the digest: a values
    block's tag key is removed, a tag parameter refused (promoter removes no list item).
    A templated value (`{{ }}`) is a target like any other, which the engine refuses.
    """
    image = request.image
    found: list[Found] = []
    if digest is not None:
        path, mapping, role = digest
        node = mapping_get(mapping, value_key or role)
        current = scalar_value(node)
        if image.digest is None and current and "{{" not in current:
            raise refuse_pinned(yaml_file, node or mapping, current, image)
        if isinstance(node, ScalarNode) and (image.digest is not None or current):
            new = image.digest or current or ""  # a templated digest: for the engine to refuse
            found.append(Target(doc, (*path, value_key or role), node, new, kind, Shape.VERSION))
    path, mapping, role = tag
    key = value_key or role
    node = mapping_get(mapping, key)
    current = scalar_value(node)
    if image.tag is None:
        if not found:
            raise EditRefusedError(
                f"{image.name}: a digest-only promotion needs a digest key beside the tag; "
                "promote a tag as well",
                path=yaml_file.name,
                line=line_of(node or mapping),
            )
        if isinstance(node, ScalarNode) and current:
            if value_key is not None:
                raise refuse_stale_tag(yaml_file, node, image, "an Argo CD tag parameter")
            target = Target(doc, (*path, key), node, "", kind, Shape.VERSION, remove=True)
            found.append(target)
    elif isinstance(node, ScalarNode):
        found.append(Target(doc, (*path, key), node, image.tag, kind, Shape.VERSION))
    elif node is None:
        found.append(Insertion(doc, path, mapping, key, image.tag, kind))
    return found
