"""The read side of the engine. `find_all` answers each (file, text, request, layered
values) once, and never with nodes of another composition: an answer is reused only for
the very nodes it was found in. `edit_bytes(..., splice=False)`, what a read of the
deployed version asks: the same locations, values, pointers and refusals as a spliced
edit, and the bytes left alone."""

from __future__ import annotations

import pytest
from ruamel.yaml.nodes import Node

from promoter.editing import BumpRequest, Context, edit_bytes
from promoter.editing.engine import find_all
from promoter.editing.model import Found, Target
from promoter.editing.source import _COMPOSED, parse_text
from promoter.errors import PromoterError
from promoter.imageref import parse_image_ref

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
"""


def _all_ids(values: object) -> set[int]:
    """Every node's id under `values` (nodes, lists and key/value pairs)."""
    found: set[int] = set()
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Node):
            found.add(id(item))
            stack.append(item.value)
    return found


def _nodes(found: list[Found]) -> list[int]:
    return [id(f.node) for f in found if isinstance(f, Target)]


def test_an_answer_is_given_again_for_the_same_nodes_only() -> None:
    request = BumpRequest(parse_image_ref("ghcr.io/acme/web:2.0.0"))
    first = parse_text(DEPLOYMENT, "a/deployment.yaml")
    found = find_all(first, request, Context())
    assert [f.new for f in found] == ["ghcr.io/acme/web:2.0.0"]
    again = find_all(parse_text(DEPLOYMENT, "a/deployment.yaml"), request, Context())
    assert again == found
    assert again is not found  # the cached answer, in a list of its own
    _COMPOSED.docs.clear()  # the text composed anew: new nodes
    second = parse_text(DEPLOYMENT, "a/deployment.yaml")
    fresh = find_all(second, request, Context())
    assert _nodes(fresh)
    assert set(_nodes(fresh)) <= _all_ids(second.docs)
    assert not set(_nodes(fresh)) & set(_nodes(found))


def test_another_request_or_name_is_another_answer() -> None:
    yaml_file = parse_text(DEPLOYMENT, "b/deployment.yaml")
    web = find_all(yaml_file, BumpRequest(parse_image_ref("ghcr.io/acme/web:2.0.0")), Context())
    api = find_all(yaml_file, BumpRequest(parse_image_ref("ghcr.io/acme/api:2.0.0")), Context())
    pinned = find_all(yaml_file, BumpRequest(parse_image_ref("ghcr.io/acme/web:3.0.0")), Context())
    assert [f.new for f in web] == ["ghcr.io/acme/web:2.0.0"]
    assert api == []
    assert [f.new for f in pinned] == ["ghcr.io/acme/web:3.0.0"]


PROBE = parse_image_ref("ghcr.io/acme/web:0.0.0-promoter-probe@sha256:" + "0" * 64)

FILES = {
    "kustomization.yaml": b"images:\n  - name: ghcr.io/acme/web\n    newTag: '1.4.1'  # ci\n",
    "deployment.yaml": DEPLOYMENT.encode()
    + b"""        - name: side
          image: ghcr.io/acme/other:9
""",
    "values.yaml": b"image:\n  repository: ghcr.io/acme/web\n  tag: 1.4.1\n",
    "no-tag/kustomization.yaml": b"images:\n- name: ghcr.io/acme/web\n  digest: sha256:"
    + b"1" * 64
    + b"\n",
}


def _shape(edits: object) -> list[tuple[str, str | None, str, str, str]]:
    return [(e.pointer, e.old, e.new, e.kind, e.op) for e in edits]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(FILES))
def test_located_edits_are_the_spliced_ones(name: str) -> None:
    raw = FILES[name]
    request = BumpRequest(PROBE)
    spliced = edit_bytes(raw, name, request, prove=False)
    located = edit_bytes(raw, name, request, prove=False, splice=False)
    assert spliced.edits  # the probe changes every file here
    assert _shape(located.edits) == _shape(spliced.edits)
    assert [e.line for e in located.edits if e.op == "replace"] == [
        e.line for e in spliced.edits if e.op == "replace"
    ]
    assert located.matched == spliced.matched
    assert located.after == raw
    assert spliced.after != raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"a: &v ghcr.io/acme/web:1.4.1\nspec:\n  image: *v\n", "alias"),
        (b"image: ghcr.io/acme/web:{{ .Values.tag }}\n", "a template?"),
    ],
)
def test_a_located_read_refuses_what_an_edit_refuses(raw: bytes, message: str) -> None:
    request = BumpRequest(PROBE)
    with pytest.raises(PromoterError) as spliced:
        edit_bytes(raw, "x.yaml", request, prove=False)
    with pytest.raises(PromoterError) as located:
        edit_bytes(raw, "x.yaml", request, prove=False, splice=False)
    assert type(located.value) is type(spliced.value)
    assert str(located.value) == str(spliced.value)
    assert message in str(located.value)
