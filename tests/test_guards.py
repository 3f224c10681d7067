"""The loop guards: a build promoter caused, a skip marker, unwatched paths, the breaker.

Path globs are gitignore patterns (`pathglobs`, matched by pathspec); git itself is the
oracle: each case is asked of `git check-ignore --no-index` too, with the patterns as the
ignore file (`.git/info/exclude`, read as a `.gitignore`) of a scratch repository holding
the path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promoter.config import parse_config
from promoter.errors import ConfigError, InputError
from promoter.guards import Facts, Guard, GuardPolicy, breaker, check
from promoter.pathglobs import PathGlobs, find_problem

EMAIL = "promoter[bot]@users.noreply.github.com"
TRAILER = "Promoted-by: promoter"


def _policy(**options: object) -> GuardPolicy:
    return GuardPolicy(email=EMAIL, trailer=TRAILER, **options)  # type: ignore[arg-type]


def test_guard_human_commit_goes() -> None:
    facts = Facts("Add caching", (("Mona", "mona@example.com"),), ("mona",), ("src/a.py",))
    assert check(facts, _policy()).go


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (Facts(people=(("bot", EMAIL.upper()),)), "is by bot"),
        (Facts(message=f"Promote web\n\n{TRAILER}\nSource-commit: abc\n"), "trailer"),
        (Facts(actors=("Renovate-Bot",)), "renovate*"),
    ],
    ids=["email", "trailer", "actor-glob"],
)
def test_guard_bot_author_skips(facts: Facts, reason: str) -> None:
    verdict = check(facts, _policy(bot_actors=("renovate*",)))
    assert verdict.guard is Guard.BOT_AUTHOR
    assert reason in verdict.reason


def test_guard_trailer_must_be_a_line_of_its_own() -> None:
    facts = Facts(message=f"Explain that commits carry '{TRAILER}' trailers")
    assert check(facts, _policy()).go


@pytest.mark.parametrize("message", ["Fix [skip promote]", "[Promote Skip] tidy"])
def test_guard_skip_marker(message: str) -> None:
    verdict = check(Facts(message=message), _policy())
    assert verdict.guard is Guard.SKIP_MARKER


def test_guard_ci_skip_token_is_not_a_promote_marker() -> None:
    assert check(Facts(message="Bump deps [skip ci]"), _policy()).go


@pytest.mark.parametrize(
    ("changed", "watch", "ignore", "go"),
    [
        (("docs/a.md", "README.md"), (), ("docs/**", "*.md"), False),
        (("docs/a.md", "src/app.py"), (), ("docs/**",), True),
        (("src/app.py",), ("src/**",), (), True),
        (("charts/web/values.yaml",), ("src/**", "Dockerfile"), (), False),
        (("Dockerfile",), ("src/**", "Dockerfile"), (), True),
        (("src/app_test.py",), ("src/**",), ("**/*_test.py",), False),
        ((), ("src/**",), (), False),
        (None, ("src/**",), ("docs/**",), True),
        (("docs/a.md",), (), (), True),
    ],
)
def test_guard_paths(
    changed: tuple[str, ...] | None, watch: tuple[str, ...], ignore: tuple[str, ...], go: bool
) -> None:
    verdict = check(Facts(changed=changed), _policy(watch=watch, ignore=ignore))
    assert verdict.go is go
    if not go:
        assert verdict.guard is Guard.PATHS


GLOB_CASES = [
    # What promoter's own matcher already did as gitignore does.
    (("docs/**",), "docs/a/b.md", True),
    (("docs/**",), "src/docs/a.md", False),
    (("docs/",), "docs/a.md", True),
    (("*.md",), "deep/dir/README.md", True),
    (("*.md",), "README.mdx", False),
    (("src/*.py",), "src/a.py", True),
    (("src/*.py",), "src/sub/a.py", False),
    (("src/**/*.py",), "src/a.py", True),
    (("src/**/*.py",), "src/x/y/a.py", True),
    (("/Dockerfile",), "Dockerfile", True),
    (("Dockerfile",), "app/Dockerfile", True),
    (("a?c",), "abc", True),
    (("a?c",), "a/c", False),
    (("deploy",), "deploy/dev/kustomization.yaml", True),
    # Character classes (the old matcher read `[` and `]` as characters).
    (("*.[ch]",), "src/main.c", True),
    (("*.[ch]",), "src/main.h", True),
    (("*.[ch]",), "src/main.o", False),
    (("*.[ch]",), "src/main.[ch]", False),
    (("v[0-9]/",), "api/v2/openapi.yaml", True),
    (("[!v]*/",), "api/v2/openapi.yaml", True),
    (("/[!a]*",), "api/v2/openapi.yaml", False),
    # A backslash escapes (the old matcher read it as a character).
    (("a\\*b",), "a*b", True),
    (("a\\*b",), "axb", False),
    (("\\#notes",), "#notes", True),
    (("\\!important",), "!important", True),
    # A leading `/` anchors to the root (the old matcher dropped it: `/README.md` also
    # matched `docs/README.md`).
    (("/README.md",), "README.md", True),
    (("/README.md",), "docs/README.md", False),
    (("/docs/",), "docs/a.md", True),
    (("/docs/",), "site/docs/a.md", False),
    # A trailing `/` matches a directory's contents, never a file of that name.
    (("build/",), "build/out.txt", True),
    (("build/",), "web/build/out.txt", True),
    (("build/",), "build", False),
    (("build/",), "builds/out.txt", False),
    # `**` in the middle: zero or more directories.
    (("a/**/b",), "a/b", True),
    (("a/**/b",), "a/x/b", True),
    (("a/**/b",), "a/x/y/b/c.txt", True),
    (("a/**/b",), "x/a/b", False),
    (("deploy/dev",), "deploy/dev/kustomization.yaml", True),
    (("charts/**/values.yaml",), "charts/web/env/values.yaml", True),
    # Dot files at the root (the old matcher stripped the path's leading dots first).
    ((".github/",), ".github/workflows/ci.yml", True),
    ((".gitignore",), ".gitignore", True),
    # `!` re-includes, and order matters: the last pattern that matches decides.
    (("docs/**", "!docs/keep.md"), "docs/keep.md", False),
    (("docs/**", "!docs/keep.md"), "docs/other.md", True),
    (("!docs/keep.md", "docs/**"), "docs/keep.md", True),
    (("*.md", "!README.md"), "sub/README.md", False),
    (("*.md", "!README.md", "/README.md"), "README.md", True),
    (("*.md", "!README.md", "/README.md"), "sub/README.md", False),
]
"""(patterns read as one .gitignore, path, whether the path matches): git agrees on each."""


def _git_ignores(root: Path, patterns: tuple[str, ...], path: str) -> bool:
    """git's answer: `path` (created as a file) against `patterns` as the ignore file."""
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("".join(f"{p}\n" for p in patterns))
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text("x\n")
    asked = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "--", path],
        cwd=root, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert asked.returncode in (0, 1), asked.stderr
    return asked.returncode == 0


@pytest.mark.parametrize(("patterns", "path", "matches"), GLOB_CASES)
def test_guard_path_globs_match_as_git_ignores(
    patterns: tuple[str, ...], path: str, matches: bool, tmp_path: Path
) -> None:
    assert _git_ignores(tmp_path / "oracle", patterns, path) is matches
    assert PathGlobs(patterns).matches(path) is matches


@pytest.mark.parametrize(
    ("patterns", "path", "git_matches"),
    [
        (("docs/", "!docs/keep.md"), "docs/keep.md", True),
        (("docs/**/",), "docs/a.md", False),
    ],
    ids=["reinclude-below-excluded-directory", "trailing-double-star-slash"],
)
def test_guard_path_globs_departures_from_git_are_the_documented_ones(
    patterns: tuple[str, ...], path: str, git_matches: bool, tmp_path: Path
) -> None:
    """pathspec's two known departures, stated in `pathglobs` and the docs: git never
    re-includes a file below a directory a pattern excludes (pathspec does), and `dir/**/`
    names only directories below `dir` (pathspec also matches the files directly in it).
    If pathspec ever follows git, this fails and the docs change with it."""
    assert _git_ignores(tmp_path / "oracle", patterns, path) is git_matches
    assert PathGlobs(patterns).matches(path) is not git_matches


def test_guard_paths_read_ignore_and_watch_as_ordered_lists() -> None:
    changed = ("docs/a.md", "docs/keep.md")
    assert not check(Facts(changed=changed), _policy(ignore=("docs/**",))).go
    assert check(Facts(changed=changed), _policy(ignore=("docs/**", "!docs/keep.md"))).go
    assert not check(Facts(changed=changed), _policy(ignore=("!docs/keep.md", "docs/**"))).go
    watched = _policy(watch=("src/", "!src/**/*_test.py"))
    assert not check(Facts(changed=("src/a/b_test.py",)), watched).go
    assert check(Facts(changed=("src/a/b_test.py", "src/a/b.py")), watched).go


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("[abc", "'[' without its ']'"),
        ("#notes", "a comment in gitignore"),
        ("!", "negates nothing"),
        ("docs\\", "lone '\\'"),
        ("/", "matches no path"),
        ("[z-a]", "bad character range"),
        ("[[:alpha:]]*", "character class"),
        ("*a*a*b", "more than 2 '*'"),
        ("a/**/b/**/c/**", "more than 2 '**'"),
    ],
)
def test_guard_path_glob_refused(pattern: str, problem: str) -> None:
    assert problem in (find_problem(pattern) or "")
    with pytest.raises(InputError, match="path glob"):
        PathGlobs(("docs/**", pattern))


def test_guard_path_glob_refused_in_promoter_yaml_with_its_line() -> None:
    text = (
        "version: 1\nenvironments: {dev: {}}\n"
        "guards:\n  watch: ['src/**']\n  ignore:\n  - docs/**\n  - '[abc'\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "promoter.yaml")
    assert str(caught.value).startswith("promoter.yaml:7: guards.ignore[1]: '[abc': has a '['")
    app = (
        "version: 1\nenvironments: {dev: {}}\napps:\n  web:\n    image: ghcr.io/acme/web\n"
        "    watch: ['*a*a*b']\n"
    )
    with pytest.raises(ConfigError, match=r"promoter.yaml:6: apps.web.watch\[0\]: '\*a\*a\*b'"):
        parse_config(app, "promoter.yaml")
    kept = parse_config(text.replace("'[abc'", "'!docs/keep.md'"), "promoter.yaml")
    assert kept.guards.ignore == ("docs/**", "!docs/keep.md")


@pytest.mark.parametrize("option", ["--watch", "--ignore"])
def test_guard_path_glob_refused_on_the_command_line_is_one_line_exit_2(option: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "guard", option, "src/**,a\\"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lone = "ends in a lone '\\' (write '\\\\' to match a backslash)"
    assert done.stderr.splitlines() == [f"promote: error: {option}: 'a\\\\': {lone}"]
    assert done.stdout == ""


def test_guard_breaker_counts_consecutive_recent_promoter_commits() -> None:
    now = 10_000.0
    loop = [(now - 60 * i, True) for i in range(6)]
    assert breaker(loop, now).guard is Guard.BREAKER
    assert "6 consecutive promoter commits" in breaker(loop, now).reason
    assert breaker(loop[:5], now).guard is Guard.BREAKER  # five in a row is the limit
    assert breaker(loop[:4], now).go
    broken = [*loop[:4], (now - 200, False), *loop[4:]]
    assert breaker(broken, now).go  # a human commit in between
    old = [(now - 60 * 60 * i, True) for i in range(6)]
    assert breaker(old, now).go  # spread over hours: a busy day, not a loop
    assert breaker(loop, now, limit=2, minutes=3).guard is Guard.BREAKER
