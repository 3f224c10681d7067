"""`find_all` answers each (file, text, request, layered values) once, and never with nodes
of another composition: an answer is reused only for the very nodes it was found in."""

from __future__ import annotations

from ruamel.yaml.nodes import Node

from promoter.editing import BumpRequest, Context
from promoter.editing.engine import find_all
from promoter.editing.model import Found, Target
from promoter.editing.source import _COMPOSED, parse_text
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
