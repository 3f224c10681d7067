"""`edit_bytes(..., splice=False)`, what a read of the deployed version asks: the same
locations, values, pointers and refusals as a spliced edit, and the bytes left alone."""

from __future__ import annotations

import pytest

from promoter.editing import BumpRequest, edit_bytes
from promoter.errors import PromoterError
from promoter.imageref import parse_image_ref

PROBE = parse_image_ref("ghcr.io/acme/web:0.0.0-promoter-probe@sha256:" + "0" * 64)

FILES = {
    "kustomization.yaml": b"images:\n  - name: ghcr.io/acme/web\n    newTag: '1.4.1'  # ci\n",
    "deployment.yaml": b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: "ghcr.io/acme/web:1.4.1"
        - name: side
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
