"""The diff in every real run's log (issue 24, deliverable 3): plain in a terminal's
scrollback or a file, coloured on a terminal, a collapsed section under GitLab CI, a group
under GitHub Actions, and a `<details>` block in the step summary, with the config
repository's text kept inert in each."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from fakes.githttp import make_bare_repo
from hypothesis import given
from hypothesis import strategies as st

from promoter import sinks
from promoter.promotion.report import SUMMARY_DIFF_LIMIT
from promoter.promotion.result import FileDiff

ROOT = Path(__file__).resolve().parents[1]
DEV = "apps/web/overlays/dev/kustomization.yaml"
PROMOTE = ("--env", "dev", "--image", "ghcr.io/acme/web:1.5.0", "--mode", "push")
DEV_DIFF = """\
--- a/apps/web/overlays/dev/kustomization.yaml
+++ b/apps/web/overlays/dev/kustomization.yaml
@@ -8,7 +8,7 @@
 # dev follows main: every merge is promoted here by CI.
 images:
   - name: ghcr.io/acme/web
-    newTag: 1.5.0-rc.1
+    newTag: 1.5.0
   - name: busybox          # debug sidecar, pinned by hand
     newTag: "1.36"
 \n"""
HOSTILE = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\n"
    "kind: Kustomization\n"
    "images:\n"
    "  - name: ghcr.io/acme/web\n"
    "    note: |\n"
    "      ::add-mask::leaked\n"
    "      ::endgroup::\n"
    "      ##[group]forged\n"
    "    newTag: 1.5.0-rc.1  # from CI\r    # this comment hides the tag on a terminal\n"
    "  # ```````` eight backticks </details><script>alert(1)</script> @acme/sre\n"
    "# deployed \u202eevil\r# hidden behind a carriage return\n"
    "  - name: busybox\n"
    '    newTag: "1.36"\n'
)
"""A dev kustomization whose text near the changed line is hostile to each sink."""
ESC = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def config_repo(root: Path, dev: str | None = None) -> str:
    """The fixture config repository as a bare repository's file:// URL, its dev
    kustomization replaced by `dev`."""
    source = ROOT / "promoter" / "demo_repo"
    files = {
        p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()
    }
    if dev is not None:
        files[DEV] = dev.encode()
    return make_bare_repo(root, "config.git", files).as_uri()


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's scrubbed environment, without the colour switches, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    return {**env, **(extra or {})}


def promote(
    tmp_path: Path, url: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A run; its output decoded as it was written (no newline translation hides a `\r`)."""
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "--config-repo", url, *PROMOTE, *args],
        env=environment(env), capture_output=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, out + err
    return subprocess.CompletedProcess(done.args, done.returncode, out, err)


def promote_on_terminal(tmp_path: Path, url: str, env: Mapping[str, str]) -> str:
    """A run whose stdout is a pseudo-terminal: what the terminal received."""
    main, child = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "promoter", "--config-repo", url, *PROMOTE],
        env=environment(env), stdin=subprocess.DEVNULL, stdout=child, stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # fmt: skip
    os.close(child)
    received = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(main)
        assert process.wait(timeout=60) == 0
        assert process.stderr is not None
        process.stderr.close()
    return received.decode().replace("\r\n", "\n")  # the terminal's ONLCR


def head_of(bare_url: str) -> str:
    path = bare_url.removeprefix("file://")
    return subprocess.run(
        ["git", "--git-dir", path, "rev-parse", "main"], capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout.strip()  # fmt: skip


# -- the text log ----------------------------------------------------------------------------


def test_run_log_push_prints_the_diff_before_the_environment_lines(tmp_path: Path) -> None:
    url = config_repo(tmp_path / "srv")
    done = promote(tmp_path, url)
    line = f"dev: changed web 1.5.0-rc.1 → 1.5.0, pushed {head_of(url)[:7]} to main\n"
    assert done.stdout == DEV_DIFF + line
    assert done.stderr == ""


def test_run_log_json_output_carries_no_diff(tmp_path: Path) -> None:
    done = promote(tmp_path, config_repo(tmp_path / "srv"), "--output", "json")
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith('{"schema_version": 1')
    assert "--- a/" not in done.stdout + done.stderr


def test_run_log_not_a_terminal_has_no_colour(tmp_path: Path) -> None:
    done = promote(tmp_path, config_repo(tmp_path / "srv"), env={"TERM": "xterm-256color"})
    assert "\x1b" not in done.stdout
    assert DEV_DIFF in done.stdout


def test_run_log_terminal_colours_the_diff(tmp_path: Path) -> None:
    shown = promote_on_terminal(tmp_path, config_repo(tmp_path / "srv"), {"TERM": "xterm"})
    lines = shown.splitlines()
    assert "\x1b[1m--- a/apps/web/overlays/dev/kustomization.yaml\x1b[0m" in lines
    assert "\x1b[1m+++ b/apps/web/overlays/dev/kustomization.yaml\x1b[0m" in lines
    assert "\x1b[36m@@ -8,7 +8,7 @@\x1b[0m" in lines
    assert "\x1b[31m-    newTag: 1.5.0-rc.1\x1b[0m" in lines
    assert "\x1b[32m+    newTag: 1.5.0\x1b[0m" in lines
    assert "   - name: ghcr.io/acme/web" in lines  # context: no colour
    assert ESC.sub("", shown).startswith(DEV_DIFF)


@pytest.mark.parametrize("switch", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_run_log_terminal_without_colour_when_switched_off(
    tmp_path: Path, switch: dict[str, str]
) -> None:
    url = config_repo(tmp_path / "srv")
    shown = promote_on_terminal(tmp_path, url, {"TERM": "xterm", **switch})
    assert "\x1b" not in shown
    assert shown.startswith(DEV_DIFF)


def test_run_log_terminal_shows_the_files_control_characters_as_text(tmp_path: Path) -> None:
    shown = promote_on_terminal(tmp_path, config_repo(tmp_path / "srv", HOSTILE), {"TERM": "xterm"})
    assert "\r" not in shown
    assert "\u202e" not in shown
    assert " # deployed \\u202eevil\\r# hidden behind a carriage return" in ESC.sub("", shown)
    removed = "\x1b[31m-    newTag: 1.5.0-rc.1  # from CI\\r    # this comment hides the tag"
    assert removed in shown
    for line in shown.splitlines():  # promoter's codes only: around each line, none inside
        assert "\x1b" not in re.sub(r"^\x1b\[(1|31|32|36)m|\x1b\[0m$", "", line), line


def test_run_log_escape_sequence_in_a_file_is_shown_not_obeyed() -> None:
    # YAML refuses a raw ESC, so no run edits such a file; its diff would still be inert.
    before = b"# \x1b[31mred\x1b[0m \x1b]0;title\x07\ntag: 1\n"
    diff = FileDiff("f\x1b[2J.yaml", before, before.replace(b"tag: 1", b"tag: 2"))
    for colour in (False, True):
        shown = sinks.log_diff(diff.unified(), colour=colour)
        assert "+++ b/f\\x1b[2J.yaml" in shown
        assert " # \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07" in shown
        for line in shown.splitlines():
            assert "\x1b" not in re.sub(r"^\x1b\[(1|31|32|36)m|\x1b\[0m$", "", line), line
    assert "\x1b" not in sinks.log_diff(diff.unified())


# -- the CI logs -----------------------------------------------------------------------------


def test_run_log_gitlab_folds_the_diff_into_a_collapsed_section(tmp_path: Path) -> None:
    started = int(time.time())
    done = promote(tmp_path, config_repo(tmp_path / "srv"), env={"GITLAB_CI": "true"})
    opened = re.fullmatch(
        r"\x1b\[0Ksection_start:(\d+):promote_diff\[collapsed=true\]\r\x1b\[0K"
        r"promote diff \(1 file\)\n(.*)\x1b\[0Ksection_end:(\d+):promote_diff\r\x1b\[0K\n"
        r"dev: changed web 1\.5\.0-rc\.1 → 1\.5\.0, pushed [0-9a-f]{7} to main\n",
        done.stdout,
        re.DOTALL,
    )
    assert opened is not None, done.stdout
    assert opened.group(2) == DEV_DIFF
    assert started <= int(opened.group(1)) <= int(opened.group(3)) <= time.time()


def test_run_log_gitlab_section_header_cannot_close_the_section() -> None:
    line = sinks.gitlab_section_start("promote_diff", "x\r\x1b[0Ksection_end:1:promote_diff", 7)
    assert line.count("\r") == 1
    assert line.count("\x1b") == 2
    assert line.endswith("x\\r\\x1b[0Ksection_end:1:promote_diff")
    for name in ("promote diff", "a:b", "x\r", ""):
        with pytest.raises(ValueError, match="a section name is made of"):
            sinks.gitlab_section_start(name, "header", 1)
        with pytest.raises(ValueError, match="a section name is made of"):
            sinks.gitlab_section_end(name, 1)


def test_run_log_github_groups_the_diff_and_defuses_commands_in_the_file(tmp_path: Path) -> None:
    done = promote(tmp_path, config_repo(tmp_path / "srv", HOSTILE), env={"GITHUB_ACTIONS": "true"})
    lines = done.stdout.splitlines()
    assert lines[0] == "::group::promote diff (1 file)"
    end = lines.index("::endgroup::")
    assert lines[end + 1].startswith("dev: changed web 1.5.0-rc.1 → 1.5.0, pushed ")
    commands = [line for line in lines if line.lstrip().startswith("::")]
    assert commands == ["::group::promote diff (1 file)", "::endgroup::"]
    assert "##[" not in done.stdout
    assert "\\       ::add-mask::leaked" in lines  # the context line, shown as text
    assert "\\       ::endgroup::" in lines
    assert "       ##\\[group]forged" in lines
    assert "\r" not in done.stdout


@given(st.text(max_size=80))
def test_run_log_diff_line_never_acts_as_a_command(text: str) -> None:
    diff = "".join(f"{mark}{text}\n" for mark in ("+", "-", " ", "", "  "))
    for line in sinks.log_diff(diff).splitlines():
        assert not line.lstrip().startswith("::")
        assert "##[" not in line
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
    assert sinks.workflow_group(text).count("\n") == 0
    assert "\r" not in sinks.workflow_group(text)


def test_run_log_diff_line_like_set_output_stays_text() -> None:
    diff = "+::set-output name=x::y\n::add-mask::secret\n  ::error::forged\n"
    shown = "+::set-output name=x::y\n\\::add-mask::secret\n\\  ::error::forged\n"
    assert sinks.log_diff(diff) == shown


# -- the step summary ------------------------------------------------------------------------


def summary_of(tmp_path: Path, dev: str) -> tuple[str, str]:
    """(the step summary, the log) of a run under GitHub Actions."""
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    done = promote(tmp_path, config_repo(tmp_path / "srv", dev), env=env)
    return summary.read_text(encoding="utf-8"), done.stdout


def details(summary: str) -> list[str]:
    """The summary's `<details>` block, line by line, checked to close."""
    lines = summary.splitlines()
    start = lines.index("<details><summary>Diff (1 file)</summary>")
    assert lines[start - 1 : start + 2 : 2] == ["", ""]  # an HTML block, then Markdown
    assert lines[-2:] == ["", "</details>"]
    assert lines[:start][-2].startswith("| dev | changed |")  # after the table
    return lines[start + 2 : -2]


def test_run_log_step_summary_folds_the_diff_behind_a_fence_it_cannot_close(
    tmp_path: Path,
) -> None:
    summary, _ = summary_of(tmp_path, HOSTILE)
    block = details(summary)
    fence = "`" * 9  # one more than the eight in the file
    assert block[0] == fence + "diff"
    assert block[-1] == fence
    inside = block[1:-1]
    assert not [line for line in inside if re.fullmatch(r" {0,3}`{3,}\s*", line)]
    assert "   # ```````` eight backticks </details><script>alert(1)</script> @acme/sre" in inside
    removed = "-    newTag: 1.5.0-rc.1  # from CI\\r    # this comment hides the tag on a terminal"
    assert removed in inside
    assert " # deployed \\u202eevil\\r# hidden behind a carriage return" in inside
    assert summary.count("<details>") == 1
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", summary)


def test_run_log_step_summary_cuts_the_diff_at_its_bound(tmp_path: Path) -> None:
    big = "#" + "x" * 40_000  # three context lines of 40 KB each: 120 KB of diff
    dev = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.5.0-rc.1\n" + f"{big}\n" * 3
    )
    summary, log = summary_of(tmp_path, dev)
    block = details(summary)
    cut = block.index("```", 1)
    assert block[: cut + 1] == [
        "```diff", f"--- a/{DEV}", f"+++ b/{DEV}", "@@ -2,7 +2,7 @@", " kind: Kustomization",
        " images:", "   - name: ghcr.io/acme/web", "-    newTag: 1.5.0-rc.1",
        "+    newTag: 1.5.0", " " + big, "```",
    ]  # fmt: skip
    assert block[cut + 1 :] == [
        "",
        "*2 more line(s) of diff (80006 bytes) left out: the summary shows at most 64 KiB of it.*",
    ]
    assert len(summary.encode()) <= SUMMARY_DIFF_LIMIT + 1024  # the table and the markup
    assert log.count(big) == 3  # the log keeps the whole diff
