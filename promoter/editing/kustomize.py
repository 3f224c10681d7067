"""Kustomize `images:` entries: `name`/`newName` match the image; set `newTag`/`digest`.

Applies to kustomization files (`kustomization.yaml`, `kustomization.yml`, `Kustomization`),
to any document of kind `Kustomization`/`Component` from kustomize, and to Flux
`Kustomization` objects (`spec.images`). A missing `newTag`/`digest` key is added in the
entry's own style (block line or flow item). A digest-only request removes the entry's
`newTag`, as `kustomize edit set image name@digest` does.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.model import (
    BumpRequest,
    Context,
    Found,
    Insertion,
    Shape,
    Target,
    refuse_pinned,
)
from promoter.editing.source import (
    Path,
    YamlFile,
    iter_documents,
    mapping_get,
    scalar_text,
    scalar_value,
)
from promoter.imageref import find_image_ref
from promoter.yamlfile import KUSTOMIZATION_NAMES

KIND = "kustomize"


_KUSTOMIZATION_KEYS = frozenset(
    {
        "resources",
        "bases",
        "components",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "namePrefix",
        "nameSuffix",
        "namespace",
        "configMapGenerator",
        "secretGenerator",
        "commonLabels",
        "commonAnnotations",
        "labels",
        "replicas",
        "helmCharts",
        "configurations",
        "crds",
        "generators",
        "transformers",
        "replacements",
        "openapi",
        "vars",
        "buildMetadata",
        "sortOptions",
        "generatorOptions",
        "validators",
    }
)


def _filename(name: str) -> str:
    """The last component of a file's name (`PurePath(name).name` for a file's path)."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def is_kustomization(name: str, doc: Node) -> bool:
    """By file name, by `kind`, or (for copies under other names) by kustomize's own keys."""
    filename = _filename(name)
    if filename in KUSTOMIZATION_NAMES or filename.endswith(
        ("kustomization.yaml", "kustomization.yml")
    ):
        return True
    kind = scalar_text(mapping_get(doc, "kind"))
    api = scalar_text(mapping_get(doc, "apiVersion")) or ""
    if kind in ("Kustomization", "Component") and api.startswith("kustomize.config.k8s.io"):
        return True
    if kind is not None or not isinstance(doc, MappingNode):
        return False
    keys = {k.value for k, _ in doc.value if isinstance(k, ScalarNode)}
    return "images" in keys and bool(keys & _KUSTOMIZATION_KEYS)


def find(yaml_file: YamlFile, request: BumpRequest, context: Context) -> list[Found]:
    found: list[Found] = []
    for doc_index, doc in iter_documents(yaml_file):
        for path, images in _image_lists(yaml_file.name, doc):
            for index, entry in enumerate(images.value):
                if isinstance(entry, MappingNode) and _matches(entry, request):
                    found.extend(_entry_edits(yaml_file, doc_index, (*path, index), entry, request))
    return found


def _image_lists(name: str, doc: Node) -> list[tuple[Path, SequenceNode]]:
    lists: list[tuple[Path, SequenceNode]] = []
    if is_kustomization(name, doc):
        images = mapping_get(doc, "images")
        if isinstance(images, SequenceNode):
            lists.append((("images",), images))
    api = scalar_text(mapping_get(doc, "apiVersion")) or ""
    if scalar_text(mapping_get(doc, "kind")) == "Kustomization" and api.startswith(
        "kustomize.toolkit.fluxcd.io"
    ):
        images = mapping_get(mapping_get(doc, "spec") or doc, "images")
        if isinstance(images, SequenceNode):
            lists.append((("spec", "images"), images))
    return lists


def _matches(entry: MappingNode, request: BumpRequest) -> bool:
    for key in ("name", "newName"):
        ref = find_image_ref(scalar_text(mapping_get(entry, key)) or "")
        if ref is not None and ref.same_repository(request.image):
            return True
    return False


def _entry_edits(
    yaml_file: YamlFile, doc: int, path: Path, entry: MappingNode, request: BumpRequest
) -> list[Found]:
    image = request.image
    edits: list[Found] = []
    digest_node = mapping_get(entry, "digest")
    old_digest = scalar_value(digest_node)
    if image.digest is None and old_digest:
        raise refuse_pinned(yaml_file, digest_node or entry, old_digest, image)
    for key, value in (("newTag", image.tag), ("digest", image.digest)):
        if value is None:
            continue
        node = mapping_get(entry, key)
        if node is None:
            edits.append(Insertion(doc, path, entry, key, value, KIND))
        elif isinstance(node, ScalarNode):
            edits.append(Target(doc, (*path, key), node, value, KIND, Shape.VERSION))
    tag_node = mapping_get(entry, "newTag")
    if image.tag is None and isinstance(tag_node, ScalarNode) and scalar_value(tag_node):
        # `kustomize edit set image name@digest` drops newTag: kustomize would deploy
        # `name:<old tag>@digest`, the old tag claiming a version the digest is not.
        edits.append(Target(doc, (*path, "newTag"), tag_node, "", KIND, Shape.VERSION, remove=True))
    return edits
