"""YAML held as a string inside YAML (a literal block): a manifest in an inline patch, a
values file in Argo CD's `helm.values`. Edited as a file of its own, spliced back whole; the
engine then changes only the lines that differ. Knows nothing of git or forges."""

from __future__ import annotations

from collections.abc import Callable

from ruamel.yaml.nodes import ScalarNode

from promoter.editing.model import Shape, Target, check_replaceable, line_of, quoted
from promoter.editing.source import Path, YamlFile, parse_text
from promoter.editing.splice import apply_replacements, replace_scalar
from promoter.errors import EditRefusedError, YamlError


def rewrite_embedded(
    yaml_file: YamlFile,
    doc: int,
    path: Path,
    node: ScalarNode,
    find: Callable[[YamlFile], list[Target]],
    kind: str,
) -> Target | None:
    """The block's whole new text with what `find` locates inside it set, else None."""
    try:
        inner = parse_text(str(node.value), yaml_file.name)
    except YamlError:
        return None
    first_line = int(node.start_mark.line) + 1
    try:
        targets = find(inner)
        if not targets:
            return None
        for target in targets:
            check_replaceable(inner, target)
            if target.remove:
                raise EditRefusedError(
                    f"a digest-only promotion would leave the tag {quoted(str(target.node.value))}"
                    " beside the digest, and promoter removes no key inside a block scalar; "
                    "promote <image>:<tag>@<digest> to set both",
                    path=inner.name,
                    line=line_of(target.node),
                )
        replacements = [replace_scalar(inner, t.node, t.new) for t in targets]
    except EditRefusedError as exc:
        field = f"{exc.field}: " if exc.field else ""
        raise EditRefusedError(
            f"{field}{exc.message} (inside the block scalar at {yaml_file.pointer(doc, path)})",
            path=yaml_file.name,
            line=first_line + exc.line if exc.line else first_line,
        ) from exc
    new = apply_replacements(inner.text, replacements)
    return Target(doc, path, node, new, kind, Shape.BLOCK)
