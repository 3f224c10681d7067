"""Issue 19, editing: what an edit may replace, which files are templates, one digest rule,
and `bump` over several files.

1. The value an edit replaces must be a tag or digest (or, for a whole-reference field, an
   image reference): a Go template or any other text is refused by name, nothing written.
2. Go templates are refused up front, whether or not they parse as YAML; so is any file
   under a Helm chart's `templates/`. A `{{` inside a string value or a comment is data.
3. A digest-only promotion leaves no tag claiming another version beside the digest:
   dropped from a reference, removed as a key of its own, or the edit is refused.
4. `bump` skips files without the image and fails only when none has it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.cli import main
from promoter.editing import BumpRequest, edit_bytes
from promoter.errors import EditRefusedError, TargetNotFoundError
from promoter.imageref import parse_image_ref
from promoter.promotion import bump

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def _edit(text: str, image: str, name: str = "values.yaml", key: str | None = None) -> str:
    request = BumpRequest(parse_image_ref(image), key=key)
    return edit_bytes(text.encode(), name, request).after.decode()


# -- 1. the old value must be a tag, digest or reference ------------------------------------


def test_bump_templated_newtag_refused_naming_file_line_and_pointer(tmp_path: Path) -> None:
    """The old code overwrote `newTag: "{{ .Values.tag }}"` with the new tag."""
    text = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n"
        '    newTag: "{{ .Values.tag }}"\n'
    )
    target = _write(tmp_path / "overlays/prod/kustomization.yaml", text)
    with pytest.raises(EditRefusedError) as info:
        bump([target], "ghcr.io/acme/web:1.4.2")
    assert str(info.value) == (
        f"{target}:7: /images/0/newTag: '{{{{ .Values.tag }}}}' is not a tag or digest "
        "(a template?); promoter leaves it alone"
    )
    assert target.read_text() == text


TEMPLATED = [
    pytest.param(
        "kustomization.yaml",
        'images:\n- name: ghcr.io/acme/web\n  newTag: "{{ .Values.tag }}"\n',
        None,
        (3, "/images/0/newTag"),
        id="kustomize",
    ),
    pytest.param(
        "values.yaml",
        "image:\n  repository: ghcr.io/acme/web\n  tag: '{{ .Values.image.tag }}'\n",
        None,
        (3, "/image/tag"),
        id="helm-tag",
    ),
    pytest.param(
        "values.yaml",
        'web:\n  image: "ghcr.io/acme/web:{{ .Chart.AppVersion }}"\n',
        None,
        (2, "/web/image"),
        id="helm-image-string",
    ),
    pytest.param(
        "deployment.yaml",
        "kind: Deployment\nspec:\n  containers:\n"
        '  - image: "ghcr.io/acme/web:{{ .Chart.AppVersion }}"\n',
        None,
        (4, "/spec/containers/0/image"),
        id="workloads",
    ),
    pytest.param(
        ".argocd-source.yaml",
        "kustomize:\n  images:\n  - 'ghcr.io/acme/web:{{ .tag }}'\n",
        None,
        (3, "/kustomize/images/0"),
        id="argocd-kustomize-images",
    ),
    pytest.param(
        ".argocd-source.yaml",
        "helm:\n  parameters:\n  - {name: image.repository, value: ghcr.io/acme/web}\n"
        "  - {name: image.tag, value: '{{ .tag }}'}\n",
        None,
        (4, "/helm/parameters/1/value"),
        id="argocd-parameter",
    ),
    pytest.param(
        "values.yaml",
        'web:\n  version: "{{ .Values.tag }}" # {"$promoter": "ghcr.io/acme/web:tag"}\n',
        None,
        (2, "/web/version"),
        id="setters",
    ),
    pytest.param(
        "values.yaml",
        'web:\n  ref: "${IMAGE_TAG}"\n',
        "web.ref",
        (2, "/web/ref"),
        id="pointer-env-substitution",
    ),
]


@pytest.mark.parametrize(("name", "text", "key", "where"), TEMPLATED)
def test_edit_templated_value_refused_by_every_editor(
    name: str, text: str, key: str | None, where: tuple[int, str]
) -> None:
    """One check in the engine: each editor's templated value is refused by name (the old
    code overwrote some, skipped others as "no reference", and refused --key's alone)."""
    with pytest.raises(EditRefusedError) as info:
        _edit(text, "ghcr.io/acme/web:1.4.2", name, key)
    assert (info.value.line, info.value.field) == where
    assert info.value.message.endswith("(a template?); promoter leaves it alone")


def test_edit_refusal_quotes_a_clipped_escaped_excerpt() -> None:
    hostile = "{{ .Values.tag }}\\e[31m\\u202e" + "x" * 200
    text = f'images:\n- name: ghcr.io/acme/web\n  newTag: "{hostile}"\n'
    with pytest.raises(EditRefusedError) as info:
        _edit(text, "ghcr.io/acme/web:2", "kustomization.yaml")
    message = info.value.message
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert "\\x1b" in message
    assert "\\u202e" in message
    assert "x" * 41 not in message
    assert "…" in message


def test_edit_empty_and_numeric_old_values_still_replaced() -> None:
    text = "a:\n  repository: ghcr.io/acme/web\n  tag: ''\nb:\n  repository: ghcr.io/acme/web\n"
    text += "  tag: 1.10\n"
    after = _edit(text, "ghcr.io/acme/web:1.11")
    assert after == text.replace("''", "'1.11'").replace("1.10", "'1.11'")


def test_cli_bump_templated_value_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _write(
        tmp_path / "kustomization.yaml",
        'images:\n- name: ghcr.io/acme/web\n  newTag: "{{ .Values.tag }}"\n',
    )
    before = target.read_bytes()
    code, _, err = _cli(capsys, "bump", str(target), "--image", "ghcr.io/acme/web:2")
    assert code == 2
    assert err.count("\n") == 1
    assert "/images/0/newTag" in err
    assert target.read_bytes() == before


# -- 2. template files -----------------------------------------------------------------------


def _corpus_templates() -> list[Path]:
    if not (CORPUS / "dev" / "not-yaml").is_dir():
        return []
    return sorted(
        p for p in (CORPUS / "dev" / "not-yaml").rglob("*.yaml") if b"{{" in p.read_bytes()
    )


def test_corpus_has_six_templates() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    assert len(_corpus_templates()) == 6


@pytest.mark.parametrize("source", _corpus_templates(), ids=lambda p: p.name)
def test_corpus_template_refused_as_a_template(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each corpus template is refused because it is a template, not merely as broken YAML
    (the old code said "not valid YAML", and a template that parses would have been edited)."""
    work = _write(tmp_path / source.name, source.read_bytes())
    code, _, err = _cli(capsys, "bump", str(work), "--image", "ghcr.io/acme/web:1.0")
    assert code == 2, err
    assert "Go template" in err
    assert work.read_bytes() == source.read_bytes()


PARSING_TEMPLATE = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
    "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n"
    "        image: ghcr.io/acme/web:1.0\n"
)


def test_template_that_parses_as_yaml_refused(tmp_path: Path) -> None:
    """`name: {{ .Release.Name }}` parses (a nested flow mapping); the old code then edited
    the literal image below it."""
    target = _write(tmp_path / "deploy" / "deployment.yaml", PARSING_TEMPLATE)
    with pytest.raises(EditRefusedError, match="Go template") as info:
        bump([target], "ghcr.io/acme/web:2.0")
    assert info.value.line == 4
    assert target.read_text() == PARSING_TEMPLATE


@pytest.mark.parametrize(
    "relative",
    [
        "promoter/demo_repo/charts/api/templates/deployment.yaml",
        "../shared/realworld/repos/argoproj-labs__gitops-promoter/cmd/demo/helm-guestbook/"
        "templates/service.yaml",
    ],
)
def test_real_templates_that_parse_as_yaml_refused(relative: str, tmp_path: Path) -> None:
    source = ROOT / relative
    if not source.is_file():
        pytest.skip(f"{source} not found")
    with pytest.raises(EditRefusedError, match="Go template"):
        edit_bytes(source.read_bytes(), source.name, BumpRequest(parse_image_ref("nginx:1")))


def test_file_under_a_chart_templates_directory_refused(tmp_path: Path) -> None:
    """No template action at all, but Helm renders it: the old code edited it."""
    text = "kind: Deployment\nspec:\n  containers:\n  - image: ghcr.io/acme/web:1.0\n"
    _write(tmp_path / "charts/web/Chart.yaml", "name: web\nversion: 0.1.0\n")
    target = _write(tmp_path / "charts/web/templates/nested/deployment.yaml", text)
    with pytest.raises(EditRefusedError, match=r"Helm chart in .*charts/web"):
        bump([target], "ghcr.io/acme/web:2.0")
    assert target.read_text() == text


def test_templates_directory_without_chart_is_edited(tmp_path: Path) -> None:
    text = "kind: Deployment\nspec:\n  containers:\n  - image: ghcr.io/acme/web:1.0\n"
    target = _write(tmp_path / "templates/deployment.yaml", text)
    bump([target], "ghcr.io/acme/web:2.0")
    assert target.read_text() == text.replace("1.0", "2.0")


def test_template_actions_in_strings_and_comments_are_data() -> None:
    """Helm `tpl` values, ApplicationSet parameters and comments: these files are edited."""
    text = (
        "# name: {{ .Release.Name }}\n"
        'podAnnotations:\n  prometheus.io/port: "{{ .Values.metrics.port }}"\n'
        "config: |\n  project: {{PROJECT_ID}}\n"
        "path: apps/{{cluster}}\n"
        "image:\n  repository: ghcr.io/acme/web\n  tag: 1.4.1\n"
    )
    assert _edit(text, "ghcr.io/acme/web:1.4.2") == text.replace("1.4.1", "1.4.2")


# -- 3. one digest rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            f"images:\n- name: ghcr.io/acme/web\n  newTag: 1.4.1\n  digest: {OLD}\n",
            f"images:\n- name: ghcr.io/acme/web\n  digest: {NEW}\n",
            id="pinned",
        ),
        pytest.param(
            "images:\n- name: ghcr.io/acme/web\n  newTag: 1.4.1 # from CI\n- name: api\n",
            f"images:\n- name: ghcr.io/acme/web\n  digest: {NEW}\n- name: api\n",
            id="digest-added",
        ),
        pytest.param(
            f"images:\n- {{name: ghcr.io/acme/web, newTag: 1.4.1, digest: '{OLD}'}}\n",
            f"images:\n- {{name: ghcr.io/acme/web, digest: '{NEW}'}}\n",
            id="flow",
        ),
        pytest.param(
            f"images:\r\n- name: ghcr.io/acme/web\r\n  digest: {OLD}\r\n  newTag: 1.4.1",
            f"images:\r\n- name: ghcr.io/acme/web\r\n  digest: {NEW}",
            id="crlf-no-final-newline",
        ),
    ],
)
def test_digest_only_kustomize_removes_newtag(before: str, after: str) -> None:
    """As `kustomize edit set image web@sha256:…`: digest set, newTag gone (the old code kept
    `newTag: 1.4.1`, and kustomize rendered `web:1.4.1@<new digest>`)."""
    assert _edit(before, f"ghcr.io/acme/web@{NEW}", "kustomization.yaml") == after


def test_digest_only_kustomize_newtag_first_in_item_refused() -> None:
    text = f"images:\n- newTag: 1.4.1\n  name: ghcr.io/acme/web\n  digest: {OLD}\n"
    with pytest.raises(EditRefusedError, match="shares its line"):
        _edit(text, f"ghcr.io/acme/web@{NEW}", "kustomization.yaml")


def test_digest_only_helm_block_removes_tag() -> None:
    text = f"image:\n  repository: ghcr.io/acme/web\n  tag: 1.4.1\n  digest: {OLD}\n  x: 1\n"
    expected = f"image:\n  repository: ghcr.io/acme/web\n  digest: {NEW}\n  x: 1\n"
    assert _edit(text, f"ghcr.io/acme/web@{NEW}") == expected


def test_digest_only_helm_env_file_over_chart_tag_refused() -> None:
    base = f"image:\n  repository: ghcr.io/acme/web\n  tag: 1.4.0\n  digest: {OLD}\n"
    from promoter.editing import Context
    from promoter.editing.source import parse_text

    context = Context(base_values=(parse_text(base, "values.yaml"),))
    request = BumpRequest(parse_image_ref(f"ghcr.io/acme/web@{NEW}"))
    with pytest.raises(EditRefusedError, match=r"values\.yaml sets a tag under it"):
        edit_bytes(b"image:\n  tag: 1.4.1\n", "values-prod.yaml", request, context)


def test_digest_only_reference_strings_drop_the_tag() -> None:
    """Workloads, Helm image strings, Argo CD kustomize images, full-reference setters: the
    same rule, already what these editors did."""
    text = (
        f"kind: Deployment\nspec:\n  containers:\n  - image: ghcr.io/acme/web:1.4.1@{OLD}\n"
        "sidecar:\n  image: ghcr.io/acme/web:1.4.1\n"
        'ref: ghcr.io/acme/web:1.4.1 # {"$promoter": "ghcr.io/acme/web"}\n'
    )
    after = _edit(text, f"ghcr.io/acme/web@{NEW}")
    assert after.count(f"ghcr.io/acme/web@{NEW}") == 3
    assert "1.4.1" not in after
    argocd = "kustomize:\n  images:\n  - ghcr.io/acme/web:1.4.1\n"
    assert _edit(argocd, f"ghcr.io/acme/web@{NEW}", ".argocd-source.yaml") == (
        f"kustomize:\n  images:\n  - ghcr.io/acme/web@{NEW}\n"
    )


def test_digest_only_argocd_values_object_removes_tag_parameter_refused() -> None:
    app = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n    helm:\n"
        "      valuesObject:\n        image:\n          repository: ghcr.io/acme/web\n"
        f"          tag: 1.4.1\n          digest: {OLD}\n"
    )
    assert _edit(app, f"ghcr.io/acme/web@{NEW}", "app.yaml") == app.replace(
        "          tag: 1.4.1\n", ""
    ).replace(OLD, NEW)
    parameters = (
        "helm:\n  parameters:\n  - {name: image.repository, value: ghcr.io/acme/web}\n"
        f"  - {{name: image.tag, value: 1.4.1}}\n  - {{name: image.digest, value: '{OLD}'}}\n"
    )
    with pytest.raises(EditRefusedError, match="digest-only promotion would leave the tag"):
        _edit(parameters, f"ghcr.io/acme/web@{NEW}", ".argocd-source.yaml")


def test_digest_only_setters_marked_tag_refused() -> None:
    text = (
        "images:\n- name: ghcr.io/acme/web\n"
        '  newTag: 1.4.1 # {"$promoter": "ghcr.io/acme/web:tag"}\n'
        f'  digest: {OLD} # {{"$promoter": "ghcr.io/acme/web:digest"}}\n'
    )
    with pytest.raises(
        EditRefusedError, match=r"digest-only promotion would leave the tag '1\.4\.1'"
    ):
        _edit(text, f"ghcr.io/acme/web@{NEW}", "kustomization.yaml")


def test_digest_only_pointer_mapping_removes_tag_scalar_tag_refused() -> None:
    text = f"web:\n  image:\n    tag: 1.4.1\n    digest: {OLD}\n"
    after = _edit(text, f"ghcr.io/acme/web@{NEW}", key="web.image")
    assert after == f"web:\n  image:\n    digest: {NEW}\n"
    with pytest.raises(EditRefusedError, match="digest-only promotion would leave the tag"):
        _edit(text, f"ghcr.io/acme/web@{NEW}", key="web.image.tag")


def test_digest_only_removal_is_reported_as_a_remove(tmp_path: Path) -> None:
    target = _write(
        tmp_path / "kustomization.yaml",
        f"images:\n- name: ghcr.io/acme/web\n  newTag: 1.4.1\n  digest: {OLD}\n",
    )
    result = bump([target], f"ghcr.io/acme/web@{NEW}")
    changes = [(c.pointer, c.old, c.new) for c in result.environments[0].changes]
    assert changes == [("/images/0/digest", OLD, NEW), ("/images/0/newTag", "1.4.1", "")]


# -- 4. bump over several files --------------------------------------------------------------


def test_bump_skips_files_without_the_image(tmp_path: Path) -> None:
    """The old code failed on `b` (no reference) and wrote nothing."""
    with_image = "images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n"
    a = _write(tmp_path / "a/kustomization.yaml", with_image)
    b = _write(
        tmp_path / "b/kustomization.yaml", "images:\n- name: ghcr.io/acme/api\n  newTag: 1\n"
    )
    c = _write(tmp_path / "c/values.yaml", "image:\n  repository: ghcr.io/acme/web\n  tag: 1.0.0\n")
    result = bump([a, b, c], "ghcr.io/acme/web:2.0.0")
    assert result.status.value == "changed"
    assert a.read_text() == with_image.replace("1.0.0", "2.0.0")
    assert b.read_text() == "images:\n- name: ghcr.io/acme/api\n  newTag: 1\n"
    assert "tag: 2.0.0" in c.read_text()


def test_bump_fails_when_no_file_has_the_image(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.yaml", "x: 1\n")
    b = _write(tmp_path / "b.yaml", "y: 2\n")
    with pytest.raises(TargetNotFoundError, match=r"found in any of the 2 files \(.*a\.yaml"):
        bump([a, b], "ghcr.io/acme/web:2.0.0")


def test_bump_missing_file_still_fails_and_writes_nothing(tmp_path: Path) -> None:
    text = "images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n"
    a = _write(tmp_path / "a/kustomization.yaml", text)
    with pytest.raises(TargetNotFoundError, match="file not found"):
        bump([a, tmp_path / "missing.yaml"], "ghcr.io/acme/web:2.0.0")
    assert a.read_text() == text


def test_cli_bump_several_files_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path / "kustomization.yaml", "images:\n- name: ghcr.io/acme/web\n  newTag: 1\n")
    other = _write(tmp_path / "other.yaml", "unrelated: true\n")
    code, out, err = _cli(
        capsys, "bump", str(a), str(other), "--image", "ghcr.io/acme/web:2", "--output", "json"
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "changed"
    assert other.read_text() == "unrelated: true\n"
    code, _, err = _cli(capsys, "bump", str(other), str(other), "--image", "ghcr.io/acme/web:3")
    assert code == 2
    assert "no reference to ghcr.io/acme/web found in any of the 2 files" in err
