"""Insertion properties: whatever the file's style, an insertion adds exactly the new entry
or leaf and keeps every other byte, or refuses."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from promoter.editing.insert import ImageEntry, insert_image_entries, insert_value
from promoter.editing.source import parse_bytes, to_data
from promoter.errors import InputError

KEYS = st.sampled_from(["resources", "namePrefix", "namespace", "commonLabels", "images"])
TAGS = st.sampled_from(["1.10", "0123", "v2", "yes", "1e3", "2.0.0-rc.1", "latest"])


@st.composite
def kustomizations(draw: st.DrawFn) -> bytes:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    indent = draw(st.sampled_from(["", "  "]))
    lines: list[str] = []
    for key in draw(st.lists(KEYS, min_size=1, max_size=4, unique=True)):
        if draw(st.booleans()):
            lines.append("# a comment")
        if key == "resources":
            lines += ["resources:", f"{indent}- deployment.yaml"]
        elif key == "images":
            form = draw(st.sampled_from(["block", "flow", "empty", "null"]))
            if form == "block":
                lines += ["images:", f"{indent}- name: redis", f"{indent}  newTag: '7'"]
            elif form == "flow":
                lines.append("images: [{name: redis, newTag: '7'}]")
            else:
                lines.append("images: []" if form == "empty" else "images:")
        elif key == "commonLabels":
            lines += ["commonLabels:", "  env: prod"]
        else:
            lines.append(f"{key}: prod")
    if draw(st.booleans()):
        lines += ["", "# trailing"]
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return (("\ufeff" if draw(st.booleans()) else "") + text).encode()


def _pure_insertion(before: bytes, after: bytes) -> bool:
    prefix = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), 0)
    if before == after[: len(before)]:
        return True
    suffix = next(
        (
            i
            for i, (a, b) in enumerate(zip(reversed(before), reversed(after), strict=False))
            if a != b
        ),
        len(before),
    )
    return prefix + suffix >= len(before)


@given(kustomizations(), TAGS)
def test_insert_image_entries_adds_exactly_the_entry(raw: bytes, tag: str) -> None:
    before = to_data(parse_bytes(raw, "kustomization.yaml"))
    try:
        done = insert_image_entries(raw, "kustomization.yaml", [ImageEntry("ghcr.io/a/web", tag)])
    except InputError:
        return
    after = to_data(parse_bytes(done.after, "kustomization.yaml"))
    expected = copy.deepcopy(before)
    images = expected[0].get("images") if isinstance(expected[0], dict) else None
    listed = images if isinstance(images, list) else []
    expected[0]["images"] = [*listed, {"name": "ghcr.io/a/web", "newTag": tag}]
    assert after == expected
    assert _pure_insertion(raw, done.after) or b"images:" in raw
    assert (b"\r\n" in raw) == (b"\r\n" in done.after)
    assert done.after.startswith(b"\xef\xbb\xbf") == raw.startswith(b"\xef\xbb\xbf")


@st.composite
def values_files(draw: st.DrawFn) -> bytes:
    step = draw(st.sampled_from([2, 4]))
    pad = " " * step
    lines: list[str] = ["# values"]
    for key in draw(st.lists(st.sampled_from(["replicas", "image", "service"]), unique=True)):
        if key == "image":
            lines += draw(
                st.sampled_from(
                    [
                        ["image:", f"{pad}pullPolicy: Always"],
                        ["image: {pullPolicy: Always}"],
                        ["image:"],
                        ["image: {}"],
                    ]
                )
            )
        elif key == "service":
            lines += ["service:", f"{pad}type: ClusterIP", f"{pad}ports:", f"{pad}{pad}http: 80"]
        else:
            lines.append("replicas: 2")
    return ("\n".join(lines) + "\n").encode()


@given(values_files(), TAGS)
def test_insert_value_adds_exactly_the_leaf(raw: bytes, tag: str) -> None:
    before = to_data(parse_bytes(raw, "values.yaml"))
    try:
        done = insert_value(raw, "values.yaml", 0, ["image", "tag"], tag)
    except InputError:
        return
    after = to_data(parse_bytes(done.after, "values.yaml"))
    expected = copy.deepcopy(before) or [None]
    root = expected[0] if isinstance(expected[0], dict) else {}
    image = root.get("image")
    root["image"] = {**(image if isinstance(image, dict) else {}), "tag": tag}
    expected[0] = root
    assert after == expected
    assert _pure_insertion(raw, done.after)
