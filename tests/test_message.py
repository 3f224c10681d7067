"""Commit messages and branch names: what reviewers and loop guards read."""

from __future__ import annotations

from promoter.ci import Source
from promoter.imageref import parse_image_ref
from promoter.promotion.message import TRAILER, branch_name, commit_message, title
from promoter.promotion.result import Change, EnvironmentResult, Status

WEB = "ghcr.io/acme/web"


def _result(*changes: Change) -> EnvironmentResult:
    return EnvironmentResult("staging", Status.CHANGED, changes)


def _change(old: str, new: str, image: str = WEB, file: str = "k.yaml") -> Change:
    return Change(file, 3, "/images/0/newTag", old, new, image, "kustomize")


def test_branch_name_single_and_multi_app() -> None:
    assert branch_name("staging", ["web"]) == "promote/staging/web"
    assert branch_name("staging", ["web", "api", "web"]) == "promote/staging/api+web"
    assert branch_name("prod eu", ["we~b"]) == "promote/prod-eu/we-b"


def test_branch_name_long_runs_are_hashed_deterministically() -> None:
    apps = [f"service-{i:03d}" for i in range(30)]
    name = branch_name("staging", apps)
    assert len(name) <= 120
    assert name == branch_name("staging", list(reversed(apps)))
    assert name.startswith("promote/staging/30-apps-")


def test_title_one_image_and_several() -> None:
    assert title("staging", _result(_change("1.4.1", "1.4.2"))) == (
        "Promote web to staging: 1.4.1 → 1.4.2"
    )
    both = _result(_change("1.4.1", "1.4.2"), _change("2.0", "2.1", "ghcr.io/acme/api"))
    assert title("staging", both) == "Promote to staging: web 1.4.1 → 1.4.2, api 2.0 → 2.1"


def test_commit_message_lists_changes_and_trailers() -> None:
    message = commit_message(
        "staging",
        _result(_change("1.4.1", "1.4.2")),
        [parse_image_ref(f"{WEB}:1.4.2")],
        Source("https://github.com/acme/web", "abc", "https://ci/run/1"),
        skip_ci=True,
    )
    subject, body = message.split("\n\n", 1)
    assert subject == "Promote web to staging: 1.4.1 → 1.4.2 [skip ci]"
    assert "k.yaml:3 /images/0/newTag: 1.4.1 → 1.4.2" in body
    trailers = message.rstrip("\n").split("\n\n")[-1].splitlines()
    assert trailers == [
        TRAILER,
        "Promoted-env: staging",
        f"Promoted-image: {WEB}:1.4.2",
        "Source-repository: https://github.com/acme/web",
        "Source-commit: abc",
        "Pipeline-url: https://ci/run/1",
    ]


SKIP_TOKENS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]", "ci.skip")


def test_pull_request_texts_never_carry_a_ci_skip_token() -> None:
    """A skip token in a PR title, body or branch would skip the checks the PR needs, and
    survive a squash merge into the base: none is ever written there."""
    from promoter.promotion.message import pull_request_body

    result = _result(_change("1.4.1", "1.4.2"))
    images = [parse_image_ref("ghcr.io/acme/web:1.4.2")]
    source = Source("https://github.com/acme/web", "a" * 40, "https://ci.example.com/run/1")
    texts = [
        title("staging", result),
        pull_request_body("staging", result, images, source),
        branch_name("staging", ["web"]),
        commit_message("staging", result, images, source),
    ]
    for text in texts:
        for token in SKIP_TOKENS:
            assert token not in text.lower()
    pushed = commit_message("dev", result, images, source, skip_ci=True)
    assert pushed.splitlines()[0].endswith("[skip ci]")  # push mode only, when asked
