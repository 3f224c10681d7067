"""Hostile YAML, paths and image references: each is one line on stderr, exit 2, and the
remote untouched. The real `promote` runs against a bare repository over `file://`."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from e2e.conftest import Promoter, fixture_files, git, refs, show
from fakes.githttp import make_bare_repo

STAGING = "apps/web/overlays/staging/kustomization.yaml"
PRODUCTION = "apps/web/overlays/production/kustomization.yaml"


def _with_links(root: Path, files: dict[str, bytes], links: dict[str, str]) -> Path:
    """A bare repository with `files`, plus symbolic links (git mode 120000) `path → target`."""
    bare = make_bare_repo(root, "config.git", files)
    with tempfile.TemporaryDirectory(prefix="links-") as tmp:
        work = Path(tmp) / "work"
        git(Path(tmp), "clone", "-q", str(bare), str(work))
        for path, target in links.items():
            link = work / path
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.exists() or link.is_symlink():
                link.unlink()
            os.symlink(target, link)
        git(work, "add", "-A")
        git(work, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-qm", "links")
        git(work, "push", "-q", "origin", "HEAD:main")
    return bare


def _refused(promoter: Promoter, bare: Path, *args: str) -> str:
    before = refs(bare)
    run = promoter.run("--config-repo", f"file://{bare}", *args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("promote: error: "), run.stderr
    assert "Traceback" not in run.stderr
    assert str(promoter.tmpdir) not in run.stderr
    assert refs(bare) == before
    assert promoter.leftovers() == []
    return lines[0]


BAD_REFERENCES = [
    "ghcr.io/acme/web:1.6.0\n",
    "ghcr.io/acme/web:1.6.0\nSource-commit: 0000",
    "ghcr.io/acme/web:$(id)",
    "ghcr.io/acme/web:`id`",
    "ghcr.io/acme/web:{{ .Values.tag }}",
    "ghcr.io/acme/web:-h",
    "ghcr.io/acme/web:" + "1" * 129,
    "ghcr.io/acme/web@md5:" + "0" * 32,
    "ghcr.io/acme/web@sha256:" + "0" * 63,
    "ghcr.io/acme/web@sha256:" + "A" * 64,
    "GHCR.IO/Acme/Web:1.6.0",
    "ghcr.io/acme/web:1.6.0 --force",
    "ghcr.io/acme/web:1.6.0\x1b[2J",
    "ghcr.io/acme/web:1.6.0\u202e",
    "",
]


@pytest.mark.parametrize("reference", BAD_REFERENCES, ids=range(len(BAD_REFERENCES)))
def test_a_bad_image_reference_is_refused_before_anything_runs(
    reference: str, promoter: Promoter, tmp_path: Path
) -> None:
    bare = make_bare_repo(tmp_path / "srv", "config.git", fixture_files())
    line = _refused(promoter, bare, "--env", "staging", "--image", reference)
    assert "\x1b" not in line
    assert "\u202e" not in line


def test_a_target_linked_to_another_environments_file_is_refused(
    promoter: Promoter, tmp_path: Path
) -> None:
    """production's file is a link to staging's: writing through it would change what
    staging deploys."""
    bare = _with_links(
        tmp_path / "srv", fixture_files(), {PRODUCTION: "../staging/kustomization.yaml"}
    )
    staging = show(bare, "main", STAGING)
    line = _refused(promoter, bare, "--env", "production", "--image", "ghcr.io/acme/web:9.9.9",
                    "--mode", "push")  # fmt: skip
    assert "link" in line
    assert show(bare, "main", STAGING) == staging


def test_a_target_linked_outside_the_repository_is_refused(
    promoter: Promoter, tmp_path: Path
) -> None:
    bare = _with_links(tmp_path / "srv", fixture_files(), {STAGING: "/etc/passwd"})
    line = _refused(promoter, bare, "--env", "staging", "--image", "ghcr.io/acme/web:9.9.9")
    assert "root:" not in line


@pytest.mark.parametrize(
    "text",
    [
        # billion laughs: aliases expanding past any bound
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.4.2\n",
        "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.4.2\n"
        + "x: "
        + "[" * 5000
        + "]" * 5000
        + "\n",
        "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.4.2\x00\n",
        "images:\n  - name: ghcr.io/acme/web\n    newTag: '1.4.2'\n    newTag: '6.6.6'\n",
    ],
    ids=["alias-bomb", "deep-nesting", "nul-byte", "duplicate-key"],
)
def test_a_hostile_target_file_is_refused_and_left_alone(
    text: str, promoter: Promoter, tmp_path: Path
) -> None:
    files = fixture_files() | {STAGING: text.encode()}
    bare = make_bare_repo(tmp_path / "srv", "config.git", files)
    line = _refused(promoter, bare, "--env", "staging", "--image", "ghcr.io/acme/web:9.9.9")
    assert len(line) < 400
    assert show(bare, "main", STAGING) == text


def test_a_target_path_that_leaves_the_repository_is_refused(
    promoter: Promoter, tmp_path: Path
) -> None:
    files = fixture_files()
    config = (
        files["promoter.yaml"]
        .decode()
        .replace(
            "kustomize: apps/web/overlays/staging/kustomization.yaml",
            "kustomize: ../../../../etc/passwd",
        )
    )
    bare = make_bare_repo(
        tmp_path / "srv", "config.git", files | {"promoter.yaml": config.encode()}
    )
    line = _refused(promoter, bare, "--env", "staging", "--image", "ghcr.io/acme/web:9.9.9")
    assert "promoter.yaml:" in line


def test_a_non_utf8_target_is_refused_naming_the_line(promoter: Promoter, tmp_path: Path) -> None:
    text = b"images:\n  - name: ghcr.io/acme/web\n    newTag: 1.4.2 # caf\xe9\n"
    bare = make_bare_repo(tmp_path / "srv", "config.git", fixture_files() | {STAGING: text})
    line = _refused(promoter, bare, "--env", "staging", "--image", "ghcr.io/acme/web:9.9.9")
    assert STAGING in line


def test_git_plumbing_used_here_is_plain_git() -> None:
    """The links above are real mode-120000 entries (a check that this file's helper works)."""
    with tempfile.TemporaryDirectory() as tmp:
        bare = _with_links(Path(tmp), {"a.yaml": b"a: 1\n"}, {"b.yaml": "a.yaml"})
        listing = subprocess.run(["git", "ls-tree", "main", "b.yaml"], cwd=bare,
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert listing.startswith("120000 ")


def test_an_unreadable_kustomization_is_reported_without_its_content() -> None:
    """Discovery notes an unreadable kustomization by file:line and the problem only (the
    ruamel message quoted the source line with a caret), and survives any nesting."""
    from promoter.environments.kustomize import parse_kustomization

    broken = parse_kustomization("k/kustomization.yaml", b"a: [\n  SECRET-LINE: x\n")
    (problem,) = broken.problems
    assert problem.startswith("k/kustomization.yaml:")
    assert "SECRET-LINE" not in problem
    deep = parse_kustomization("k/kustomization.yaml", b"x: " + b"[" * 50000 + b"]" * 50000)
    assert deep.problems == (
        "k/kustomization.yaml:1: not readable YAML (nesting deeper than 200 levels)",
    )


def test_a_huge_target_is_refused_before_it_is_parsed(promoter: Promoter, tmp_path: Path) -> None:
    """A target past 8 MiB (the bound discovery reads) is refused by size, not parsed."""
    big = tmp_path / "kustomization.yaml"
    filler = "# " + "x" * 1000 + "\n"
    big.write_text("images:\n  - name: ghcr.io/acme/web\n    newTag: 1.4.2\n" + filler * 9000)
    before = big.read_bytes()
    run = promoter.run("bump", str(big), "--image", "ghcr.io/acme/web:9.9.9")
    assert run.returncode == 2, run.stderr
    assert "larger than 8 MiB" in run.stderr
    assert big.read_bytes() == before
