"""Issue 19: the files that steer a run (promoter.yaml, `.promoter/holds.yaml`,
`.promoter/freeze.yaml`) are hostile input like any other.

- A control file committed as a symlink (to `/etc/passwd`, to `../../.git-credentials`) is
  refused, never followed, and the refusal does not quote what the link points at.
- An error quotes at most a short, escaped excerpt of a file: no ruamel source snippet, no
  control characters, no 5,000-character value.
- Nesting 20,000 levels deep (or a merge key merging itself) is a one-line exit-2 error,
  not `internal error: RecursionError`.
- Names are full-matched: `production\\n` is not a name.
- A hold or freeze naming an environment or app the run does not know is an exit-2 error
  with file, line, field and the name it most likely means, not a silent no-op.

The e2e cases run the real `promote` script against a bare repository served by
`fakes.githttp`, as `tests/e2e` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.conftest import TOKEN, Promoter, Run, fixture_files, git
from fakes.githttp import GitHttpServer, make_bare_repo

from promoter.config import (
    CONFIG_NAMES,
    find_config,
    load_config,
    parse_config,
    parse_freezes,
    parse_holds,
)
from promoter.errors import ConfigError, PathEscapeError, PromoterError, YamlError

SECRET = "ghp_s3cretTokenValueThatMustNeverBePrinted"
MINIMAL = "version: 1\nenvironments:\n  dev: {mode: push}\n  production: {}\n"
FREEZE = ".promoter/freeze.yaml"
HOLDS = ".promoter/holds.yaml"
WEB = "ghcr.io/acme/web:1.5.0"


def _error(text: str, name: str = "promoter.yaml") -> PromoterError:
    with pytest.raises(PromoterError) as info:
        parse_config(text, name)
    return info.value


def _validate(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promoter", "validate", "--config-repo", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_exit_2(done: subprocess.CompletedProcess[str] | Run) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("promote: error: "), done.stderr
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    return lines[0]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every repository that a link may point at (a stand-in for
    `/etc/passwd` or `~/.git-credentials`)."""
    path = tmp_path / "outside" / "credentials"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


# --- 1. no control file is read through a symlink --------------------------------------------


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_find_config_symlinked_config_is_refused_not_followed(
    tmp_path: Path, secret: Path, name: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / name).symlink_to(secret)
    with pytest.raises(PathEscapeError) as info:
        find_config(repo)
    assert str(info.value) == (
        f"{name}: is a symlink; promoter does not follow links for the files that steer it "
        "(commit the file)"
    )
    assert info.value.exit_code == 2


def test_find_config_symlink_is_refused_not_skipped_for_the_next_name(tmp_path: Path) -> None:
    # A dangling link under the first name must not silently hand over to `.promoter.yaml`.
    (tmp_path / ".promoter.yaml").write_text(MINIMAL)
    (tmp_path / "promoter.yaml").symlink_to("../../.git-credentials")
    with pytest.raises(PathEscapeError, match=r"^promoter\.yaml: is a symlink"):
        find_config(tmp_path)


def test_load_config_through_symlink_never_quotes_the_target(tmp_path: Path, secret: Path) -> None:
    (tmp_path / "promoter.yaml").symlink_to(secret)
    with pytest.raises(PathEscapeError) as info:
        load_config(tmp_path / "promoter.yaml", root=tmp_path)
    assert SECRET not in str(info.value)
    assert info.value.path == "promoter.yaml"


def test_read_control_file_refuses_links_at_the_file_and_its_directory(
    tmp_path: Path, secret: Path
) -> None:
    from promoter.config import read_control_file

    (tmp_path / "promoter.yaml").write_text("\ufeff" + MINIMAL)
    assert read_control_file(tmp_path, "promoter.yaml") == MINIMAL  # BOM dropped
    assert read_control_file(tmp_path, HOLDS) is None  # absent
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "holds.yaml").write_text("[]\n")
    (tmp_path / ".promoter").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PathEscapeError) as info:
        read_control_file(tmp_path, HOLDS)
    assert str(info.value).startswith(
        ".promoter/holds.yaml: its directory .promoter is a symlink; promoter does not follow"
    )
    (tmp_path / "bad.yaml").write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(YamlError, match=r"^bad\.yaml:2: not UTF-8 text$"):
        read_control_file(tmp_path, "bad.yaml")


def test_validate_symlinked_config_is_exit_2_without_the_target(
    tmp_path: Path, secret: Path
) -> None:
    (tmp_path / "promoter.yaml").symlink_to(secret)
    line = _one_line_exit_2(_validate(tmp_path))
    assert "promoter.yaml: is a symlink" in line
    assert SECRET not in line


def test_validate_symlinked_holds_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "promoter.yaml").write_text(MINIMAL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "freeze.yaml").write_text("- reason: linked\n")
    (tmp_path / ".promoter").symlink_to(elsewhere, target_is_directory=True)
    line = _one_line_exit_2(_validate(tmp_path))
    assert ".promoter is a symlink" in line


def _served_repo(root: Path, files: dict[str, bytes], links: dict[str, str]) -> Path:
    """A bare repository `config.git` under `root` holding `files` and, committed as
    symlinks (mode 120000), `links` (path → link target)."""
    bare = make_bare_repo(root, "config.git", files)
    work = root.parent / "work"
    git(root.parent, "clone", "-q", str(bare), str(work))
    for path, target in links.items():
        link = work / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    who = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c", "commit.gpgSign=false"]
    git(work, "add", "-A")
    git(work, *who, "commit", "-qm", "links")
    git(work, "push", "-q", "origin", "HEAD:main")
    tree = git(bare, "ls-tree", "-r", "main")
    assert all("120000 blob" in line for line in tree.splitlines() if line.endswith(tuple(links)))
    return bare


Served = tuple[Promoter, Path, GitHttpServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "srv"
    root.mkdir()
    runs = tmp_path / "run-tmp"
    runs.mkdir()
    with GitHttpServer(root, token=TOKEN) as server:
        yield Promoter(runs), root, server
    assert server.errors == []


def _promote(serve: Served, links: dict[str, str], *args: str) -> Run:
    promoter, root, server = serve
    _served_repo(root, fixture_files(), links)
    url = server.repo_url("config.git")
    return promoter.run("--config-repo", url, *args, "--dry-run")


def test_e2e_promoter_yaml_committed_as_symlink_is_refused(serve: Served, secret: Path) -> None:
    run = _promote(serve, {"promoter.yaml": str(secret)}, "--env", "dev", "--image", WEB)
    line = _one_line_exit_2(run)
    assert "promoter.yaml: is a symlink; promoter does not follow links" in line
    assert SECRET not in run.stdout + run.stderr


@pytest.mark.parametrize("name", [FREEZE, HOLDS])
def test_e2e_state_file_committed_as_symlink_is_refused(
    serve: Served, secret: Path, name: str
) -> None:
    args = ("--env", "staging", "--image", WEB)
    if name == HOLDS:  # releasing a hold reads the holds file first
        args = ("release-hold", "--env", "staging", "--app", "web")
    run = _promote(serve, {name: str(secret)}, *args)
    line = _one_line_exit_2(run)
    assert f"{name}: is a symlink" in line
    assert SECRET not in run.stdout + run.stderr


# --- 2. errors quote a short, escaped excerpt at most ----------------------------------------


def test_error_quotes_a_long_hostile_value_cut_and_escaped() -> None:
    value = "\x1b[31m" + "A" * 5000 + "\u202e"
    error = _error(
        f'version: 1\nenvironments:\n  dev: {{mode: "{value}"}}\n'.replace("\x1b", "\\e")
    )
    message = str(error)
    assert message.startswith("promoter.yaml:3: environments.dev.mode: expected 'push' or")
    assert "\x1b" not in message
    assert "A" * 41 not in message
    assert "'\\x1b[31mAAAA" in message
    assert len(message) < 160


def test_error_field_path_escapes_a_hostile_key() -> None:
    error = _error('version: 1\nenvironments:\n  "\\e]0;pwned\\a": {}\n')
    assert error.field is not None
    assert "\x1b" not in str(error)
    assert "\x07" not in str(error)
    assert error.field.startswith("environments.'\\x1b]0;pwned\\x07'")


def test_unacceptable_character_is_one_line_with_its_line() -> None:
    error = _error("version: 1\nenvironments: {dev: {}}\nx: \x00\n")
    assert isinstance(error, YamlError)
    assert str(error) == "promoter.yaml:3: not valid YAML: unacceptable character #x0000"


def test_parser_problem_quoting_a_long_name_is_cut() -> None:
    error = _error("version: 1\nenvironments: *" + "x" * 500 + "\n")
    assert str(error) == f"promoter.yaml:2: not valid YAML: found undefined alias '{'x' * 40}'…"


def test_holds_yaml_error_names_the_line_without_the_source() -> None:
    with pytest.raises(PromoterError) as info:
        parse_holds(f"- {{env: production, app: web, version: 1.4.0}}\n- {{env: '{SECRET}\n")
    assert info.value.exit_code == 2
    assert info.value.line == 3  # where the quoted scalar runs out
    assert "\n" not in str(info.value)
    assert SECRET not in str(info.value)


def test_freeze_reader_error_is_one_line() -> None:
    with pytest.raises(YamlError) as info:
        parse_freezes("- reason: x\n  environments: [\x1b]\n", FREEZE, "dev")
    assert str(info.value) == f"{FREEZE}:2: not valid YAML: unacceptable character #x001b"


def test_editing_compose_reader_error_is_one_line() -> None:
    from promoter.editing.source import compose_documents

    with pytest.raises(YamlError) as info:
        compose_documents("images:\n  - name: web\n    newTag: \x1b[2J\n", "kustomization.yaml")
    assert str(info.value) == (
        "kustomization.yaml:3: not valid YAML: unacceptable character #x001b: "
        "control characters are not allowed"
    )


# --- 3. deep nesting is an input error, not a crash ------------------------------------------

DEEP = 20_000


@pytest.mark.parametrize(
    "apps",
    [
        "[" * DEEP + "]" * DEEP,
        "{a: " * DEEP + "1" + "}" * DEEP,
        "\n" + "- " * DEEP + "x",
    ],
    ids=["flow-lists", "flow-mappings", "block-lists"],
)
def test_validate_deeply_nested_config_is_exit_2(tmp_path: Path, apps: str) -> None:
    (tmp_path / "promoter.yaml").write_text(MINIMAL + "apps: " + apps + "\n")
    line = _one_line_exit_2(_validate(tmp_path))
    assert "promoter.yaml:" in line
    assert "not valid YAML: nested deeper than 100 levels" in line


def test_deeply_nested_freeze_file_is_a_yaml_error() -> None:
    with pytest.raises(YamlError, match="nested deeper than 100 levels"):
        parse_freezes("- " * DEEP + "x\n", FREEZE, "dev")


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\ndefaults: &d {<<: *d}\nenvironments: {dev: {}}\n",
        "version: 1\nenvironments:\n  x0: &a0 {mode: push}\n"
        + "".join(
            f"  x{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}]}}\n" for i in range(1, 9)
        ),
    ],
    ids=["merges-itself", "merge-bomb"],
)
def test_merge_keys_merging_themselves_or_a_bomb_are_config_errors(text: str) -> None:
    error = _error(text)
    assert isinstance(error, ConfigError)
    assert "merge keys merge too much (or themselves)" in str(error)


def test_huge_numbers_are_config_errors() -> None:
    assert "unsupported version" in str(_error("version: " + "9" * 5000 + "\nenvironments: {}\n"))
    soak = "version: 1\nenvironments: {dev: {policies: {soak: " + "9" * 5000 + "s}}}\n"
    assert str(_error(soak)) == "promoter.yaml:2: environments.dev.policies.soak: duration too long"


# --- 4. names full-match their pattern -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('version: 1\nenvironments:\n  "production\\n": {}\n', "environments.'production\\n'"),
        (
            MINIMAL
            + 'apps:\n  "web\\n": {image: ghcr.io/acme/web, targets: {dev: {file: a.yaml}}}\n',
            "apps.'web\\n'",
        ),
        (
            'version: 1\nenvironments:\n  dev: {base: "main\\n"}\n',
            "environments.dev.base",
        ),
        (
            'version: 1\nenvironments:\n  dev: {labels: ["promotion\\n"]}\n',
            "environments.dev.labels[0]",
        ),
        (
            'version: 1\nenvironments:\n  dev: {reviewers: ["alice\\n"]}\n',
            "environments.dev.reviewers[0]",
        ),
        (
            'version: 1\nenvironments:\n  dev: {policies: {soak: "24h\\n"}}\n',
            "environments.dev.policies.soak",
        ),
    ],
    ids=["environment", "app", "base", "label", "reviewer", "duration"],
)
def test_name_with_trailing_newline_is_refused(text: str, field: str) -> None:
    error = _error(text)
    assert isinstance(error, ConfigError)
    assert error.field == field
    assert "is not a valid" in str(error)


def test_freeze_moment_with_trailing_newline_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[0\]\.until: expected a date"):
        parse_freezes('- {reason: x, until: "2026-12-20\\n"}\n', FREEZE, "dev")


def test_version_with_trailing_newline_is_not_a_version() -> None:
    from promoter.versions import parse_version

    with pytest.raises(ValueError, match="not a version"):
        parse_version("1.2.3\n")


# --- 5. holds and freezes name only environments and apps the run knows ----------------------


def _repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    for path, text in {"promoter.yaml": fixture_files()["promoter.yaml"].decode(), **files}.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    return repo


def test_validate_freeze_naming_an_environment_in_the_wrong_case(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, {FREEZE: "- reason: Launch\n  environments: [Production]\n"})
    line = _one_line_exit_2(_validate(repo))
    assert line == (
        "promote: error: .promoter/freeze.yaml:2: [0].environments[0]: 'Production' is not an "
        "environment; did you mean 'production'?"
    )


def test_validate_hold_naming_an_unknown_app(tmp_path: Path) -> None:
    holds = (
        '- {env: "production", app: "web", version: "1.4.0"}\n'
        '- {env: "production", app: "frontnd", version: "2.0.0"}\n'
    )
    line = _one_line_exit_2(_validate(_repo_with(tmp_path, {HOLDS: holds})))
    assert line == (
        "promote: error: .promoter/holds.yaml:2: [1].app: 'frontnd' is not an app; "
        "did you mean 'frontend'?"
    )


def test_validate_hold_naming_an_unknown_environment_lists_the_known(tmp_path: Path) -> None:
    holds = '- {env: "qa", app: "web", version: "1.4.0"}\n'
    line = _one_line_exit_2(_validate(_repo_with(tmp_path, {HOLDS: holds})))
    assert line.endswith(
        ".promoter/holds.yaml:1: [0].env: 'qa' is not an environment; "
        "known: dev, production, staging"
    )


def test_e2e_freeze_naming_an_unknown_environment_refuses_the_promotion(
    serve: Served,
) -> None:
    promoter, root, server = serve
    files = fixture_files() | {FREEZE: b"- reason: Launch\n  environments: [Production]\n"}
    make_bare_repo(root, "config.git", files)
    url = server.repo_url("config.git")
    run = promoter.run("--config-repo", url, "--env", "production", "--image", WEB, "--dry-run")
    line = _one_line_exit_2(run)
    assert "'Production' is not an environment; did you mean 'production'?" in line


def test_check_references_without_promoter_yaml_refuses_only_a_case_mismatch() -> None:
    from promoter.config import check_references

    freeze = "- reason: x\n  environments: [staging, Production]\n"
    check_references(freeze, FREEZE, ["staging"], exhaustive=False)  # others unknown: fine
    with pytest.raises(ConfigError) as info:
        check_references(freeze, FREEZE, ["production"], exhaustive=False)
    assert str(info.value) == (
        ".promoter/freeze.yaml:2: [0].environments[1]: 'Production' is not an environment; "
        "did you mean 'production'?"
    )


@pytest.mark.parametrize(
    "base", ["main\x01", "a.lock/b", "release/.x", "-h", "main..x", "x@{1}", "a\u202eb"]
)
def test_promoter_yaml_base_follows_git_ref_rules_like_the_option(base: str) -> None:
    """`base:` and `--base` share one rule (issue 19): the pattern alone let a control
    character that is not a space, or `.lock` inside a name, through."""
    text = f"version: 1\nenvironments:\n  staging:\n    base: {json.dumps(base)}\napps: {{}}\n"
    with pytest.raises(ConfigError, match="branch name"):
        parse_config(text, "promoter.yaml")


@pytest.mark.parametrize("label", ["x\x01y", "\u202eevil", "a" * 51, "a,b"])
def test_promoter_yaml_label_with_controls_bidi_or_too_long_is_refused(label: str) -> None:
    """A label is shown to reviewers as written: no control or bidi character, at most
    GitHub's 50 characters (issue 19)."""
    text = (
        "version: 1\nenvironments:\n  staging:\n"
        f"    labels: [{json.dumps(label)}]\napps: {{}}\n"
    )
    with pytest.raises(ConfigError, match="label"):
        parse_config(text, "promoter.yaml")
