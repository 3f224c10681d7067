"""engine.py and verify.py: plan → apply → verify, refusals, and the file IO around them."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from promoter.editing import BumpRequest, Edit, edit_bytes, write_atomic
from promoter.editing.engine import apply, find_all, plan
from promoter.editing.model import Context
from promoter.editing.source import parse_text
from promoter.editing.verify import intended_patch, verify
from promoter.errors import EditRefusedError, TargetNotFoundError
from promoter.imageref import parse_image_ref

KUSTOMIZATION = (
    "images:\n"
    "  - name: ghcr.io/acme/web # app\n"
    "    newTag: v1.0.0\n"
    "  - name: ghcr.io/acme/api\n"
    "    newTag: v1.0.0\n"
)


def _request(image: str) -> BumpRequest:
    return BumpRequest(parse_image_ref(image))


def _edit(text: str, target: str, *, pointer: str, path: tuple[str | int, ...], new: str) -> Edit:
    """A hand-made replace edit whose splice covers the first occurrence of `target`."""
    start = text.index(target)
    return Edit(
        pointer=pointer,
        line=text.count("\n", 0, start) + 1,
        old=target,
        new=new,
        kind="test",
        op="replace",
        start=start,
        end=start + len(target),
        text=new,
        paths=((0, path),),
    )


def test_verify_accepts_exact_change() -> None:
    text = "a: v1\nb: v1\n"
    before = parse_text(text, "f.yaml")
    edit = _edit(text, "v1", pointer="/a", path=("a",), new="v2")
    after = verify(before, apply(before, [edit]), [edit])
    assert after.text == "a: v2\nb: v1\n"


def test_verify_refuses_splice_that_changes_another_key() -> None:
    text = "a: v1\nb: v1\n"
    before = parse_text(text, "f.yaml")
    wrong = _edit(text, "b: v1", pointer="/a", path=("a",), new="b: v2")
    with pytest.raises(EditRefusedError) as info:
        verify(before, apply(before, [wrong]), [wrong])
    message = str(info.value)
    assert message.startswith("f.yaml:2: /a: edit would change more than the intended value")
    assert "replace /0/b" in message
    assert message.endswith("file left untouched")


def test_verify_refuses_change_of_a_number_elsewhere() -> None:
    text = "a: v1\nn: 1\n"
    before = parse_text(text, "f.yaml")
    wrong = _edit(text, "n: 1", pointer="/a", path=("a",), new="n: 2")
    with pytest.raises(EditRefusedError, match="got replace /0/n"):
        verify(before, apply(before, [wrong]), [wrong])


def test_verify_refuses_splice_that_changes_nothing() -> None:
    text = "a: v1\na: v1\n"
    before = parse_text(text, "f.yaml")
    edit = _edit(text, "v1", pointer="/a", path=("a",), new="v2")
    with pytest.raises(EditRefusedError, match="got no change"):
        verify(before, apply(before, [edit]), [edit])


def test_verify_refuses_broken_yaml() -> None:
    text = "a: v1\nb: v1\n"
    before = parse_text(text, "f.yaml")
    breaking = _edit(text, "v1", pointer="/a", path=("a",), new="[v2")
    with pytest.raises(EditRefusedError) as info:
        verify(before, apply(before, [breaking]), [breaking])
    assert "edit would break the YAML" in str(info.value)
    assert info.value.line == 1


def test_verify_refuses_path_missing_from_document() -> None:
    text = "a: v1\n"
    before = parse_text(text, "f.yaml")
    edit = _edit(text, "v1", pointer="/x/y", path=("x", "y"), new="v2")
    with pytest.raises(EditRefusedError, match="does not fit the document"):
        verify(before, apply(before, [edit]), [edit])


def test_verify_requires_alias_paths_of_anchored_node() -> None:
    text = "a: &v v1\nb: *v\n"
    before = parse_text(text, "f.yaml")
    edit = _edit(text, "v1", pointer="/a", path=("a",), new="v2")
    with pytest.raises(EditRefusedError, match="replace /0/b"):
        verify(before, apply(before, [edit]), [edit])
    both = dataclasses.replace(edit, paths=((0, ("a",)), (0, ("b",))))
    assert verify(before, apply(before, [both]), [both]).text == "a: &v v2\nb: *v\n"


def test_intended_patch_one_op_per_path() -> None:
    edit = _edit("a: v1\n", "v1", pointer="/a", path=("a",), new="v2")
    multi = dataclasses.replace(edit, paths=((0, ("a",)), (1, ("b", 0))))
    assert intended_patch([multi]).patch == [
        {"op": "replace", "path": "/0/a", "value": "v2"},
        {"op": "replace", "path": "/1/b/0", "value": "v2"},
    ]


def test_plan_records_pointer_line_old_new() -> None:
    yaml_file = parse_text(KUSTOMIZATION, "kustomization.yaml")
    found = find_all(yaml_file, _request("ghcr.io/acme/web:v1.1.0"), Context())
    (edit,) = plan(yaml_file, found)
    assert (edit.pointer, edit.line, edit.old, edit.new, edit.op, edit.kind) == (
        "/images/0/newTag",
        3,
        "v1.0.0",
        "v1.1.0",
        "replace",
        "kustomize",
    )
    assert (edit.start, edit.end, edit.text) == (
        KUSTOMIZATION.index("v1.0.0") + 3,
        KUSTOMIZATION.index("v1.0.0") + 4,
        "1",
    )


def test_plan_insertion_line_is_the_new_line() -> None:
    text = "images:\n- name: ghcr.io/acme/web\n- name: ghcr.io/acme/api\n"
    yaml_file = parse_text(text, "kustomization.yaml")
    (edit,) = plan(yaml_file, find_all(yaml_file, _request("ghcr.io/acme/web:v2"), Context()))
    assert (edit.pointer, edit.line, edit.op, edit.old, edit.text) == (
        "/images/0/newTag",
        3,
        "add",
        None,
        "  newTag: v2\n",
    )


def test_edit_bytes_changes_only_the_tag() -> None:
    raw = KUSTOMIZATION.encode()
    result = edit_bytes(raw, "kustomization.yaml", _request("ghcr.io/acme/api:v2"))
    assert result.after == raw.replace(b"api\n    newTag: v1.0.0", b"api\n    newTag: v2")
    assert result.changed
    assert result.matched == 1
    assert [e.pointer for e in result.edits] == ["/images/1/newTag"]


def test_edit_bytes_already_equal_is_unchanged() -> None:
    raw = KUSTOMIZATION.encode()
    result = edit_bytes(raw, "kustomization.yaml", _request("ghcr.io/acme/web:v1.0.0"))
    assert result.after is raw
    assert result.edits == ()
    assert result.matched == 1
    assert not result.changed


def test_edit_bytes_no_match_target_not_found() -> None:
    with pytest.raises(TargetNotFoundError) as info:
        edit_bytes(KUSTOMIZATION.encode(), "k/kustomization.yaml", _request("ghcr.io/acme/db:v2"))
    assert str(info.value) == "k/kustomization.yaml: no reference to ghcr.io/acme/db found"


def test_edit_bytes_anchored_entry_edited_once_alias_untouched() -> None:
    text = "images:\n- &web\n  name: ghcr.io/acme/web\n  newTag: v1\ncopy:\n- *web\n"
    result = edit_bytes(text.encode(), "kustomization.yaml", _request("ghcr.io/acme/web:v2"))
    assert result.after == text.replace("newTag: v1", "newTag: v2").encode()
    (edit,) = result.edits
    assert edit.paths == ((0, ("images", 0, "newTag")), (0, ("copy", 0, "newTag")))


def test_edit_bytes_alias_target_refused_with_pointer() -> None:
    text = (
        "images:\n- name: ghcr.io/acme/api\n  newTag: &v v1\n"
        "- name: ghcr.io/acme/web\n  newTag: *v\n"
    )
    with pytest.raises(EditRefusedError) as info:
        edit_bytes(text.encode(), "kustomization.yaml", _request("ghcr.io/acme/web:v2"))
    assert info.value.field == "/images/1/newTag"
    assert "edit its anchor at /images/0/newTag instead" in str(info.value)


def test_edit_bytes_sops_refused_before_locating() -> None:
    text = KUSTOMIZATION + "sops:\n  mac: ENC[AES256_GCM,data:x]\n"
    with pytest.raises(EditRefusedError, match="SOPS-encrypted"):
        edit_bytes(text.encode(), "kustomization.yaml", _request("ghcr.io/acme/web:v2"))


def test_edit_bytes_keeps_bom_and_crlf() -> None:
    raw = b"\xef\xbb\xbf" + KUSTOMIZATION.replace("\n", "\r\n").encode()
    result = edit_bytes(raw, "kustomization.yaml", _request("ghcr.io/acme/web:1.10"))
    old, new = b"web # app\r\n    newTag: v1.0.0", b'web # app\r\n    newTag: "1.10"'
    assert result.after == raw.replace(old, new)


@pytest.mark.parametrize("mode", [0o600, 0o755, 0o640])
def test_write_atomic_keeps_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "f.yaml"
    target.write_bytes(b"old")
    target.chmod(mode)
    write_atomic(target, b"new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.listdir(tmp_path) == ["f.yaml"]


def test_write_atomic_new_file_default_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    write_atomic(target, b"a: 1\n")
    assert target.read_bytes() == b"a: 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
