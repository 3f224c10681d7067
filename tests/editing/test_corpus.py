"""Real-world corpus (`../shared/corpus/dev/`): one tag bump changes only the bytes of that value.

For every file, the references of `expected-refs.jsonl` are grouped by image; for each group
`promote bump` (the real CLI entry point, in process) runs on a copy with a new tag, then a
numeric-looking one (`1.10`). The output must equal the input with only those values'
spans replaced (a plain `1.10` coming out quoted), the re-parsed data must differ only at
those values, and every reference of the image must change (recall). Groups holding a
digest-pinned reference are refused for a tag-only request (the documented digest policy)
and updated for a `tag@digest` request. Files without references, and `not-yaml/`, are
refused with exit 2 and left byte-identical.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jsonpatch
import pytest
from sharedpath import SHARED, require

from promoter.cli import main
from promoter.editing.source import parse_bytes, to_data
from promoter.editing.verify import jsonable
from promoter.imageref import ImageRef, find_image_ref

CORPUS = SHARED / "corpus"
TAGS = ("9.9.9-corpus", "1.10")
DIGEST = "sha256:" + "ab" * 32
UNKNOWN_REPO = "example.com/corpus/policy-image"
STRING_KINDS = {"image-string", "container-image", "argocd-kustomize-images"}

# Known deviations from expected-refs.jsonl, each with the reason (reported in the closing note).
EXCEPTIONS: dict[tuple[str, int], str] = {}


def _entries() -> list[dict[str, object]]:
    """The corpus's expected references; none (every case skipped) without ../shared."""
    path = CORPUS / "expected-refs.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


ENTRIES = [e for e in _entries() if not e.get("not_yaml")]
NOT_YAML = [e for e in _entries() if e.get("not_yaml")]


@dataclass
class Group:
    """The references of one image in one file, and how to ask for it."""

    repository: str
    key: str | None = None
    setter: str | None = None
    refs: list[dict[str, object]] = field(default_factory=list)

    @property
    def pinned(self) -> bool:
        return any(_old_digest(ref) for ref in self.refs)


def _setter_field(ref: dict[str, object]) -> str | None:
    """`tag`, `name`, `digest` for a field setter; None for a full-reference setter."""
    parts = str(ref.get("marker", "")).split(":")
    return parts[2] if ref["kind"] == "flux-setter" and len(parts) > 2 else None


def _old_digest(ref: dict[str, object]) -> str | None:
    value = str(ref.get("value") or "")
    if _setter_field(ref) == "digest" or (
        ref["kind"] == "kustomize-images" and str(ref.get("path", "")).endswith("/digest")
    ):
        return value or None
    if ref["kind"] in STRING_KINDS or (ref["kind"] == "flux-setter" and _setter_field(ref) is None):
        image = find_image_ref(value.split("=", 1)[-1])
        return image.digest if image else None
    digest = ref.get("digest")
    return str(digest) if digest and digest not in ("null", "~") else None


def _policy(ref: dict[str, object]) -> str:
    return ":".join(str(ref.get("marker", "")).split(":")[:2])


def _policy_repositories(refs: list[dict[str, object]]) -> dict[str, str]:
    """A field setter's image is the one its policy's full-reference setter names."""
    known: dict[str, str] = {}
    for ref in refs:
        if ref["kind"] == "flux-setter" and _setter_field(ref) is None:
            image = find_image_ref(str(ref.get("value") or ""))
            if image is not None:
                known[_policy(ref)] = image.name
    return known


def _request(
    ref: dict[str, object], policies: dict[str, str] | None = None
) -> tuple[str, str | None, str | None] | None:
    """(repository, key, setter) to ask promoter for, or None when the ref names no image."""
    kind = ref["kind"]
    value = str(ref.get("value") or "")
    if kind == "kustomize-images":
        return str(ref["name"]), None, None
    if kind in ("helm-repo-tag", "helm-registry-repo-tag"):
        if ref.get("repo_missing") or not ref.get("repository"):
            return UNKNOWN_REPO, str(ref["path"]), None
        registry = ref.get("registry")
        name = f"{registry}/{ref['repository']}" if registry else str(ref["repository"])
        return name, None, None
    if kind in STRING_KINDS:
        image = find_image_ref(value.split("=", 1)[-1])
        return (image.name, None, None) if image else None
    if kind == "argocd-helm-parameter":
        return UNKNOWN_REPO, str(ref["path"]), None
    if kind == "flux-setter":
        policy = _policy(ref)
        if policy in (policies or {}):
            return (policies or {})[policy], None, policy
        image = find_image_ref(value)
        if image is not None and _setter_field(ref) is None:
            return image.name, None, policy
        for key in ("name", "newName", "repository"):
            if ref.get(key):
                return str(ref[key]), None, policy
        return f"{UNKNOWN_REPO}-{policy.rsplit(':', 1)[-1]}", None, policy
    return None


def _groups(entry: dict[str, object]) -> list[Group]:
    groups: dict[tuple[str, str | None, str | None], Group] = {}
    policies = _policy_repositories(entry["refs"])  # type: ignore[arg-type]
    for ref in entry["refs"]:  # type: ignore[attr-defined]
        if ref.get("in_status") or ref.get("embedded") or ref.get("value") is None:
            continue
        if str(ref.get("marker", "")).endswith(":name"):
            continue
        request = _request(ref, policies)
        if request is None:
            continue
        image = find_image_ref(request[0])
        canonical = image.repository if image else request[0]
        group_key = (canonical, request[1] if request[0] == UNKNOWN_REPO else None, None)
        group = groups.setdefault(group_key, Group(request[0], request[1], request[2]))
        group.setter = group.setter or request[2]
        group.refs.append(ref)
    return list(groups.values())


def _quoted_forms(tag: str) -> list[str]:
    from promoter.editing.splice import is_plain_safe

    return [tag] if is_plain_safe(tag) else [f'"{tag}"', f"'{tag}'"]


def _new_string(value: str, tag: str, digest: str | None) -> str:
    prefix, _, ref = value.rpartition("=")
    image = find_image_ref(ref)
    assert image is not None
    new = str(ImageRef(image.registry, image.path, tag, digest))
    return f"{prefix}={new}" if prefix else new


def _expected_lines(
    original: list[str], group: Group, tag: str, digest: str | None
) -> tuple[list[str], set[int]]:
    """The original lines with each reference's value replaced; and the lines that change."""
    lines = list(original)
    changed: set[int] = set()
    for ref in group.refs:
        index = int(ref["line"]) - 1  # type: ignore[call-overload]
        value = str(ref["value"])
        raw = str(ref.get("raw", value))
        if ref["kind"] in STRING_KINDS or (
            ref["kind"] == "flux-setter" and _setter_field(ref) is None
        ):
            old_text, new_texts = value, [_new_string(value, tag, digest)]
        elif _setter_field(ref) == "digest" or (
            str(ref.get("path", "")).endswith("/digest") and ref["kind"] == "kustomize-images"
        ):
            old_text, new_texts = raw, [digest or value]
        elif raw != value and raw[:1] in "'\"":
            old_text, new_texts = raw, [raw[0] + tag + raw[0]]
        else:
            old_text, new_texts = raw, _quoted_forms(tag)
        line = lines[index]
        start = line.find(": ") + 2 if ": " in line else 0
        position = line.find(old_text, start)
        if position < 0:
            position = line.find(old_text)
        assert position >= 0, f"line {index + 1}: {old_text!r} not found in {line!r}"
        candidates = [line[:position] + new + line[position + len(old_text) :] for new in new_texts]
        lines[index] = candidates[0]
        changed.add(index)
        if len(candidates) > 1:
            lines[index] = _Alternatives(candidates)  # type: ignore[call-overload]
    return lines, changed


class _Alternatives(str):
    """A line that may legitimately come out in any of several quote styles."""

    def __new__(cls, options: list[str]) -> _Alternatives:
        instance = super().__new__(cls, options[0])
        instance.options = options  # type: ignore[attr-defined]
        return instance


def _line_matches(expected: str, actual: str) -> bool:
    return actual in getattr(expected, "options", [expected])


def _bump(
    path: Path, image: str, key: str | None, setter: str | None, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    args = ["bump", str(path), "--image", image]
    if key:
        args += ["--key", key]
    if setter:
        args += ["--setter", setter]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.err


def _inserted_allowed(group: Group, tag: str) -> int:
    return sum(
        1
        for ref in group.refs
        if ref.get("tag_missing")
        or (ref["kind"] == "kustomize-images" and str(ref.get("path", "")).endswith("/digest"))
    )


def _check_group(
    source: Path,
    work: Path,
    group: Group,
    tag: str,
    digest: str | None,
    capsys: pytest.CaptureFixture[str],
) -> list[str]:
    """Bump one image; return the problems found (empty list = pass)."""
    shutil.copyfile(source, work)
    before = work.read_bytes()
    request = f"{group.repository}:{tag}" + (f"@{digest}" if digest else "")
    code, err = _bump(work, request, group.key, group.setter, capsys)
    after = work.read_bytes()
    problems: list[str] = []
    if code != 0:
        return [f"{request}: exit {code}: {err.strip()}"]
    if before.endswith(b"\n") != after.endswith(b"\n"):
        problems.append("final newline added or removed")
    newline = "" if before.endswith(b"\n") else "\n"
    original = (before.decode("utf-8-sig") + newline).splitlines(keepends=True)
    output = (after.decode("utf-8-sig") + newline).splitlines(keepends=True)
    if before.startswith(b"\xef\xbb\xbf") != after.startswith(b"\xef\xbb\xbf"):
        problems.append("BOM changed")
    expected, changed = _expected_lines(original, group, tag, digest)
    matcher = difflib.SequenceMatcher(a=[str(x) for x in expected], b=output, autojunk=False)
    inserted = 0
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "insert" and all(re.search(r"\b(newTag|tag):\s", line) for line in output[b0:b1]):
            inserted += b1 - b0
            continue
        if (
            op == "replace"
            and a1 - a0 == b1 - b0
            and all(_line_matches(expected[a0 + i], output[b0 + i]) for i in range(a1 - a0))
        ):
            continue
        problems.append(
            f"{request}: unexpected {op} of lines {a0 + 1}-{a1}: "
            f"{output[b0:b1]!r} vs {expected[a0:a1]!r}"
        )
    if inserted > _inserted_allowed(group, tag):
        problems.append(f"{request}: {inserted} inserted lines")
    before_data = jsonable(to_data(parse_bytes(before, str(source))))
    after_data = jsonable(to_data(parse_bytes(after, str(source))))
    patch = jsonpatch.make_patch(before_data, after_data).patch
    if not changed and not inserted:
        problems.append(f"{request}: nothing changed")
    for op in patch:
        if op["op"] not in ("replace", "add"):
            problems.append(f"{request}: semantic {op['op']} at {op['path']}")
        elif op["op"] == "replace" and str(op["value"]).startswith("!!"):
            problems.append(f"{request}: {op['path']} became a non-string {op['value']!r}")
    return problems


def _file_id(entry: dict[str, object]) -> str:
    return str(entry["file"]).removeprefix("dev/")


@pytest.mark.parametrize("entry", ENTRIES, ids=_file_id)
def test_corpus_bump_changes_only_the_tag(
    entry: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = CORPUS / str(entry["file"])
    work = tmp_path / source.name
    groups = _groups(entry)
    if not entry["refs"]:
        shutil.copyfile(source, work)
        before = work.read_bytes()
        code, err = _bump(work, "example.com/corpus/nothing:1.0", None, None, capsys)
        assert code == 2, err
        assert work.read_bytes() == before
        return
    problems: list[str] = []
    for group in groups:
        digests: list[str | None] = [None]
        if group.pinned:
            shutil.copyfile(source, work)
            before = work.read_bytes()
            code, err = _bump(
                work, f"{group.repository}:{TAGS[0]}", group.key, group.setter, capsys
            )
            if code != 2 or "pinned by digest" not in err or work.read_bytes() != before:
                problems.append(
                    f"{group.repository}: tag-only bump of a pinned ref not refused: {code} {err}"
                )
            digests = [DIGEST]
        for tag in TAGS:
            for digest in digests:
                problems.extend(_check_group(source, work, group, tag, digest, capsys))
    problems = [p for p in problems if not any(p.startswith(k[0]) for k in EXCEPTIONS)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("entry", NOT_YAML, ids=_file_id)
def test_corpus_not_yaml_refused(
    entry: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = CORPUS / str(entry["file"])
    work = tmp_path / source.name
    shutil.copyfile(source, work)
    before = work.read_bytes()
    code, err = _bump(work, "ghcr.io/acme/web:1.0", None, None, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(work) in lines[0], err
    assert work.read_bytes() == before


def test_corpus_is_present() -> None:
    require("corpus", "expected-refs.jsonl")  # beside the repository, or skipped saying so
    assert len(ENTRIES) >= 150
    assert len(NOT_YAML) >= 4
