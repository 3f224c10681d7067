"""Version order for the no-downgrade rule: only versions are ordered, never other tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.guards import (
    Facts,
    Guard,
    GuardPolicy,
    breaker,
    check,
    compare_versions,
    is_downgrade,
    match_path,
    tag_of,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.4.2", "1.4.10", -1),
        ("1.10", "1.9.9", 1),
        ("v2.0", "2.0.0", 0),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-rc.2", "1.0.0-rc.10", -1),
        ("1.0.0-alpha", "1.0.0-1", 1),
        ("1.0.0+build.5", "1.0.0", 0),
        ("2024.05.01", "2024.4.30", 1),
        ("latest", "1.0", None),
        ("3f2a9c1", "1.0", None),
        ("sha-3f2a9c1", "sha-1111111", None),
    ],
)
def test_compare_versions_table(a: str, b: str, expected: int | None) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == (None if expected is None else -expected)


versions = st.tuples(*[st.integers(0, 50)] * 3).map(lambda t: ".".join(map(str, t)))


@given(versions, versions)
def test_compare_versions_agrees_with_numeric_tuples(a: str, b: str) -> None:
    ta = tuple(int(x) for x in a.split("."))
    tb = tuple(int(x) for x in b.split("."))
    assert compare_versions(a, b) == (ta > tb) - (ta < tb)


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("1.4.2", "1.4.2"),
        ("ghcr.io/acme/web:1.4.2", "1.4.2"),
        ("localhost:5000/web:2", "2"),
        ("localhost:5000/web", None),
        ("web:1@sha256:" + "a" * 64, "1"),
        (None, None),
    ],
)
def test_tag_of_values_editors_report(value: str | None, tag: str | None) -> None:
    assert tag_of(value) == tag


def test_is_downgrade_only_for_ordered_versions() -> None:
    assert is_downgrade("ghcr.io/acme/web:1.5.0", "ghcr.io/acme/web:1.4.2")
    assert not is_downgrade("1.4.2", "1.5.0")
    assert not is_downgrade("1.5.0", "1.5.0")
    assert not is_downgrade("latest", "1.0.0")
    assert not is_downgrade(None, "1.0.0")


# -- loop guards -----------------------------------------------------------------------------

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


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("docs/**", "docs/a/b.md", True),
        ("docs/**", "src/docs/a.md", False),
        ("docs/", "docs/a.md", True),
        ("*.md", "deep/dir/README.md", True),
        ("*.md", "README.mdx", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("/Dockerfile", "Dockerfile", True),
        ("Dockerfile", "app/Dockerfile", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("deploy", "deploy/dev/kustomization.yaml", True),
    ],
)
def test_guard_match_path(pattern: str, path: str, matches: bool) -> None:
    assert match_path(pattern, path) is matches


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
