"""The loop guards: a build promoter caused, a skip marker, unwatched paths, the breaker."""

from __future__ import annotations

import pytest

from promoter.guards import Facts, Guard, GuardPolicy, breaker, check, match_path

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
