"""The apps a repository deploys, read from the repository itself (no promoter.yaml).

An app is an image repository. Every YAML file of the repository is read for the places a
deployment names an image: a container's `image:`, a kustomization's `images:` entry (its
`newName` where it renames), a Helm values block (`repository` with its `registry`), a
JSON 6902 patch's `value` for an `/image` path. What each environment then runs of each
repository is the environment model's answer (`discover`), so a repository that no
environment deploys (a chart's test image nobody layers over, a README example) names no
app on its own: the callers keep only repositories some environment deploys.

An app is named by the last path component of its repository (`ghcr.io/acme/web` → `web`),
unless two repositories share it; then each of those is named by as many trailing path
components as tell them apart, joined by `-` so that the name stays one word of a branch
name and a `--app` value (`acme-web`, `other-web`). Knows nothing of git.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.editing.source import YamlFile, iter_documents, key_text, parse_bytes, scalar_text
from promoter.environments.files import RepoFiles
from promoter.errors import YamlError
from promoter.imageref import ImageRef, find_image_ref
from promoter.yamlfile import MAX_FILE_BYTES, YAML_SUFFIXES

MAX_DEPTH = 64
"""Nesting read at most: deeper documents are generated data, not deployments."""
_TEMPLATE_MARKS = ("{{", "${", "<%")


def repositories(files: RepoFiles) -> list[ImageRef]:
    """Every image repository the repository's YAML files name, without a version, by name."""
    paths = [p for p in files.paths() if _readable(p)]
    found: dict[str, ImageRef] = {}
    for path, raw in files.read(paths).items():
        if len(raw) > MAX_FILE_BYTES:
            continue
        try:
            yaml_file = parse_bytes(raw, path)
        except YamlError:
            continue  # not this inventory's to judge: a run that reads it says why
        for image in mentioned(yaml_file):
            found.setdefault(image.repository, image.with_version(None, None))
    return sorted(found.values(), key=lambda image: image.name)


def _readable(path: str) -> bool:
    """A YAML file that is not a Helm template (Go templates are not YAML)."""
    return path.endswith(YAML_SUFFIXES) and "templates" not in path.split("/")[:-1]


def mentioned(yaml_file: YamlFile) -> list[ImageRef]:
    """The image references one file names, where a deployment would read them."""
    found: list[ImageRef] = []
    for _, doc in iter_documents(yaml_file):
        for mapping in _mappings(doc):
            found += _in_mapping(mapping)
    return found


def _mappings(node: Node) -> Iterator[MappingNode]:
    """Every mapping under `node`, each once (aliases are not followed twice)."""
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if id(current) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            yield current
            stack += [(value, depth + 1) for _, value in current.value]
        elif isinstance(current, SequenceNode):
            stack += [(item, depth + 1) for item in current.value]


def _in_mapping(mapping: MappingNode) -> list[ImageRef]:
    fields = {key_text(k): v for k, v in mapping.value}
    found: list[ImageRef] = []
    for key, value in fields.items():
        if (key == "image" or key.endswith("Image")) and isinstance(value, ScalarNode):
            found += _reference(scalar_text(value))
    if "name" in fields and any(k in fields for k in ("newName", "newTag", "digest")):
        found += _reference(scalar_text(fields.get("newName")) or scalar_text(fields["name"]))
    if "repository" in fields and any(k in fields for k in ("tag", "digest", "registry")):
        found += _helm_block(fields)
    if scalar_text(fields.get("op")) in ("add", "replace"):
        where = scalar_text(fields.get("path")) or ""
        if where.endswith("/image"):
            found += _reference(scalar_text(fields.get("value")))
    return found


def _helm_block(fields: Mapping[str, Node]) -> list[ImageRef]:
    """`repository` (with `registry` where the chart splits it off) of a values block."""
    repository = scalar_text(fields["repository"])
    registry = scalar_text(fields.get("registry"))
    if not repository:
        return []
    return _reference(f"{registry}/{repository}" if registry else repository)


def _reference(text: str | None) -> list[ImageRef]:
    if not text or any(mark in text for mark in _TEMPLATE_MARKS):
        return []
    image = find_image_ref(text.strip())
    return [image] if image is not None else []


def app_names(images: Iterable[ImageRef]) -> dict[str, ImageRef]:
    """Each repository by its app name: the last path component, or as many trailing
    components (then the registry) as tell repositories that share it apart."""
    unique = {image.repository: image for image in images}
    tails: Counter[tuple[str, ...]] = Counter()  # repositories ending in "/<tail>"
    for repository in unique:
        parts = tuple(repository.split("/"))
        tails.update(parts[-length:] for length in range(1, len(parts)))
    names: dict[str, ImageRef] = {}
    for repository, image in unique.items():
        parts = tuple(repository.split("/"))
        for length in range(1, len(parts) + 1):
            if tails[parts[-length:]] == 1:
                break
        names["-".join(parts[-length:])] = image
    return dict(sorted(names.items()))
