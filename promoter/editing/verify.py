"""Prove an edit: re-parse the result and require that it differs from the original by
exactly the intended JSON-patch operations, nothing more, nothing less."""

from __future__ import annotations

import jsonpatch
import jsonpointer

from promoter.editing.model import Edit
from promoter.editing.source import Data, Typed, YamlFile, parse_text, to_data, to_pointer
from promoter.errors import EditRefusedError, YamlError


def intended_patch(edits: list[Edit]) -> jsonpatch.JsonPatch:
    """The operations the edits mean, on the list of documents, aliases included."""
    operations = []
    for edit in edits:
        for doc, path in edit.paths:
            operations.append({"op": edit.op, "path": to_pointer((doc, *path)), "value": edit.new})
    return jsonpatch.JsonPatch(operations)


def verify(before: YamlFile, after_text: str, edits: list[Edit]) -> YamlFile:
    """Return the re-parsed result, or raise `EditRefusedError` naming the unexpected change."""
    try:
        after = parse_text(after_text, before.name, bom=before.bom)
    except YamlError as exc:
        raise EditRefusedError(
            f"edit would break the YAML ({exc.message}); file left untouched",
            path=before.name,
            line=edits[0].line if edits else None,
        ) from exc
    before_data = to_data(before)
    after_data = to_data(after)
    try:
        expected = intended_patch(edits).apply(before_data, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise EditRefusedError(
            f"edit does not fit the document ({exc}); file left untouched",
            path=before.name,
            line=edits[0].line if edits else None,
        ) from exc
    if expected != after_data:
        actual = jsonpatch.make_patch(jsonable(to_data(before)), jsonable(after_data))
        first = edits[0] if edits else None
        raise EditRefusedError(
            "edit would change more than the intended value "
            f"(intended {intended_patch(edits).patch}, got {_describe(actual)}); "
            "file left untouched",
            path=before.name,
            line=first.line if first else None,
            field=first.pointer if first else None,
        )
    return after


def jsonable(data: Data) -> Data:
    """Data jsonpatch can diff and print: a non-string scalar becomes `!!tag value`."""
    if isinstance(data, Typed):
        return f"!!{data.tag.rsplit(':', 1)[-1]} {data.value}"
    if isinstance(data, dict):
        return {key: jsonable(value) for key, value in data.items()}
    if isinstance(data, list):
        return [jsonable(item) for item in data]
    return data


def _describe(patch: jsonpatch.JsonPatch) -> str:
    ops = [f"{op['op']} {op['path']}" for op in patch.patch]
    return ", ".join(ops[:5]) + (" …" if len(ops) > 5 else "") or "no change"
