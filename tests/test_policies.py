"""Policies as pure decisions: windows (time zones, deny wins, past midnight), freezes and
the next open moment, soak, no downgrade, review required."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promoter import policies
from promoter.config import FreezeWindow, Policies, parse_config

BERLIN_RULES = """\
version: 1
environments:
  production:
    policies:
      windows:
        timezone: Europe/Berlin
        allow: [{days: mon-fri, hours: "09:00-17:00"}]
        deny: [{days: fri, hours: "15:00-24:00"}]
"""


def _policies(text: str = BERLIN_RULES) -> Policies:
    return parse_config(text, "promoter.yaml").environments["production"].policies


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (_utc(2026, 12, 7, 8, 0), True),  # Monday 09:00 in Berlin (UTC+1): opens
        (_utc(2026, 12, 7, 7, 59), False),  # 08:59 Berlin
        (_utc(2026, 12, 7, 15, 59), True),  # 16:59 Berlin
        (_utc(2026, 12, 7, 16, 0), False),  # 17:00 Berlin: closed
        (_utc(2026, 12, 11, 13, 59), True),  # Friday 14:59 Berlin
        (_utc(2026, 12, 11, 14, 0), False),  # Friday 15:00 Berlin: deny wins over allow
        (_utc(2026, 12, 12, 10, 0), False),  # Saturday
        (_utc(2026, 7, 6, 7, 0), True),  # summer time: 09:00 Berlin is 07:00 UTC
    ],
)
def test_windows_in_their_time_zone_deny_wins(moment: datetime, open_: bool) -> None:
    assert (policies.window(_policies(), (), moment) is None) is open_


def test_closed_window_names_the_rule_and_the_next_open_moment() -> None:
    block = policies.window(_policies(), (), _utc(2026, 12, 11, 14, 30))  # Fri 15:30 Berlin
    assert block is not None
    assert block.rule == "window"
    assert "deny window (fri 15:00-24:00, Europe/Berlin)" in block.message
    assert block.until == _utc(2026, 12, 14, 8, 0)  # Monday 09:00 Berlin
    assert block.line().endswith("passes at 2026-12-14 08:00 UTC")


def test_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    text = BERLIN_RULES.split("      windows:", maxsplit=1)[0] + (
        "      windows:\n        deny: [{days: sat, hours: '22:00-06:00'}]\n"
    )
    rules = _policies(text)
    assert policies.window(rules, (), _utc(2026, 12, 12, 23, 0)) is not None  # Sat 23:00
    assert policies.window(rules, (), _utc(2026, 12, 13, 5, 59)) is not None  # Sun 05:59
    assert policies.window(rules, (), _utc(2026, 12, 13, 6, 0)) is None
    assert policies.window(rules, (), _utc(2026, 12, 12, 5, 0)) is None  # Sat morning: Fri rule


def test_freeze_blocks_with_its_reason_and_ends_exactly() -> None:
    freeze = FreezeWindow(_utc(2026, 12, 20), _utc(2027, 1, 4), "Year-end change freeze")
    block = policies.window(Policies(), (freeze,), _utc(2026, 12, 24, 12, 0))
    assert block is not None
    assert block.rule == "freeze"
    assert "(Year-end change freeze)" in block.message
    assert block.until == _utc(2027, 1, 4)
    assert policies.window(Policies(), (freeze,), _utc(2027, 1, 4)) is None


def test_freeze_ending_inside_a_closed_window_opens_with_the_window() -> None:
    freeze = FreezeWindow(_utc(2026, 12, 11, 0), _utc(2026, 12, 12, 0), "release")  # to Sat
    block = policies.window(_policies(), (freeze,), _utc(2026, 12, 11, 10, 0))
    assert block is not None
    assert block.until == _utc(2026, 12, 14, 8, 0)


def test_soak_met_not_met_and_never() -> None:
    now = _utc(2026, 12, 4, 12, 0)
    day = timedelta(hours=24)
    assert policies.soak("web 1.5.0", "staging", now - timedelta(hours=25), day, now) is None
    block = policies.soak("web 1.5.0", "staging", now - timedelta(hours=2), day, now)
    assert block is not None
    assert block.until == now + timedelta(hours=22)
    assert "has run in staging for 2h of 1d" in block.message
    never = policies.soak("web 1.5.0", "staging", None, day, now)
    assert never is not None
    assert never.until is None
    assert "not what staging runs now" in never.message


def test_freeze_file_holds_per_environment_until_lifted() -> None:
    from promoter.config import parse_freezes

    text = (
        "- reason: Incident 4711\n  environments: [production]\n"
        "- reason: Data centre move\n  until: 2026-12-06\n"
    )
    production = parse_freezes(text, ".promoter/freeze.yaml", "production")
    staging = parse_freezes(text, ".promoter/freeze.yaml", "staging")
    assert [w.reason for w in production] == ["Incident 4711", "Data centre move"]
    assert [w.reason for w in staging] == ["Data centre move"]
    block = policies.window(Policies(), production, _utc(2026, 12, 4))
    assert block is not None
    assert block.line() == "freeze: frozen until the freeze is lifted (Incident 4711)"


def test_downgrade_and_review() -> None:
    assert policies.downgrade("web", "1.6.0", "1.5.0", "production") is not None
    assert policies.downgrade("web", "1.4.0", "1.5.0", "production") is None
    assert policies.downgrade("web", None, "1.5.0", "production") is None
    strict = Policies(require_review=True)
    assert policies.review(strict, "push", "production") is not None
    assert policies.review(strict, "pull-request", "production") is None
    assert policies.review(Policies(), "push", "production") is None


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("{timezone: Mars/Olympus}", "unknown time zone 'Mars/Olympus'"),
        ("{allow: [{days: weekdays}]}", "expected days like mon-fri or sat,sun, got 'weekdays'"),
        ("{allow: [{hours: '9-17'}]}", "expected hours like 09:00-17:00, got '9-17'"),
        ("{deny: [{hours: '10:00-10:00'}]}", "an empty range"),
    ],
)
def test_bad_windows_are_one_line(snippet: str, message: str) -> None:
    from promoter.errors import ConfigError

    text = f"version: 1\nenvironments:\n  production:\n    policies:\n      windows: {snippet}\n"
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "promoter.yaml")


@pytest.mark.parametrize(
    ("order", "current", "wanted", "blocked"),
    [
        ("semver", "1.10.0", "1.9.0", True),
        ("lexical", "1.10.0", "1.9.0", False),  # as text, "1.9.0" sorts after "1.10.0"
        ("lexical", "2026.12.04-1203", "2026.11.30-0800", True),
        ("numeric", "v120", "v99", True),
        ("numeric", "99", "120", False),
        ("numeric", "build-7", "build-6", True),  # the same shape: by the number
        ("numeric", "build-7", "ci-8", False),  # another shape: unordered, never blocked
        ("semver", "1.5.1-f00d123", "1.5.1-0abc456", False),  # commit ids: unordered
        ("none", "1.10.0", "1.9.0", False),  # never ordered, never a downgrade
    ],
)
def test_configured_version_order(order: str, current: str, wanted: str, blocked: bool) -> None:
    text = (
        "version: 1\nenvironments:\n  production:\n"
        f"    policies: {{no_downgrade: true, version_order: {order}}}\n"
    )
    rules = parse_config(text, "promoter.yaml").environments["production"].policies
    assert rules.version_order == order
    found = policies.downgrade("web", current, wanted, "production", rules.version_order)
    assert (found is not None) is blocked


def test_plan_superseded_follows_the_configured_order(tmp_path: Path) -> None:
    from promoter.imageref import parse_image_ref
    from promoter.promotion.plan import plan_environment

    tags = "image:\n  repository: ghcr.io/acme/web\n  tag: 1.10.0\n"
    (tmp_path / "values.yaml").write_text(tags)
    text = (
        "version: 1\nenvironments:\n  production:\n"
        "    policies: {version_order: lexical}\n"
        "apps:\n  web:\n    image: ghcr.io/acme/web\n"
        "    targets: {production: {helm: values.yaml, key: image.tag}}\n"
    )
    config = parse_config(text, "promoter.yaml")
    image = parse_image_ref("ghcr.io/acme/web:1.9.0")
    # As text 1.9.0 sorts after 1.10.0: promoted; SemVer-like it is older: left out.
    assert plan_environment(tmp_path, config, "production", [image], None).superseded == []
    semver = parse_config(text.replace("lexical", "semver"), "promoter.yaml")
    plan = plan_environment(tmp_path, semver, "production", [image], None)
    assert [s.wanted for s in plan.superseded] == ["1.9.0"]
    (found,) = plan.superseded
    assert (found.current, found.where) == ("1.10.0", "values.yaml:3")
    unordered = parse_config(text.replace("lexical", "none"), "promoter.yaml")
    assert plan_environment(tmp_path, unordered, "production", [image], None).superseded == []


def test_downgrade_names_where_the_newer_version_is_and_reads_references() -> None:
    block = policies.downgrade(
        "web", "ghcr.io/acme/web:1.6.0", "ghcr.io/acme/web:1.5.0", "production",
        where="overlays/production/kustomization.yaml:8",
    )  # fmt: skip
    assert block is not None
    assert block.line() == (
        "no-downgrade: production runs web 1.6.0, newer than 1.5.0 "
        "(set at overlays/production/kustomization.yaml:8); pass --allow-downgrade to roll back"
    )
    assert policies.downgrade("web", "1.5.1-f00d123", "1.5.1-0abc456", "production") is None


RELEASES_ONLY = (
    "version: 1\nenvironments:\n  staging: {}\n  production:\n"
    "    policies: {tags: '^v?\\d+\\.\\d+\\.\\d+$'}\n"
)


@pytest.mark.parametrize(
    ("tag", "blocked"),
    [
        ("1.5.0", False),
        ("v1.5.0", False),
        ("1.5.0-rc.1", True),
        ("1.5.1-f00d123", True),
        ("1.5.0\n", True),  # a full match: no trailing newline slips through `$`
        ("latest", True),
        (None, True),  # a digest alone cannot show that it is a release
    ],
)
def test_tags_takes_only_matching_tags(tag: str | None, blocked: bool) -> None:
    config = parse_config(RELEASES_ONLY, "promoter.yaml")
    production = config.environments["production"].policies
    found = policies.tags(production, "web", tag, "production")
    assert (found is not None) is blocked
    assert policies.tags(config.environments["staging"].policies, "web", tag, "staging") is None
    if found is not None:
        assert found.rule == "tags"
        assert found.until is None
        assert r"production takes only tags matching ^v?\d+\.\d+\.\d+$" in found.line()
        assert "environments.production.policies.tags" in found.line()


def test_plan_superseded_by_an_inherited_version_names_its_file_and_line(tmp_path: Path) -> None:
    from promoter.imageref import parse_image_ref
    from promoter.promotion.plan import plan_environment

    (tmp_path / "base").mkdir()
    (tmp_path / "base/deployment.yaml").write_text(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "        - name: web\n          image: ghcr.io/acme/web:3.0.0\n"
    )
    (tmp_path / "base/kustomization.yaml").write_text("resources:\n  - deployment.yaml\n")
    (tmp_path / "overlays/prod").mkdir(parents=True)
    (tmp_path / "overlays/prod/kustomization.yaml").write_text("resources:\n  - ../../base\n")
    image = parse_image_ref("ghcr.io/acme/web:2.0.0")
    (found,) = plan_environment(tmp_path, None, "prod", [image], None).superseded
    assert (found.current, found.wanted) == ("ghcr.io/acme/web:3.0.0", "ghcr.io/acme/web:2.0.0")
    assert found.where == "base/deployment.yaml:7"
    other = parse_image_ref("ghcr.io/acme/web:3.0.0-f00d123")  # unordered: promoted
    assert plan_environment(tmp_path, None, "prod", [other], None).superseded == []


SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


PIPELINE_WORDS = ({"success"}, {"created", "pending", "running"})


def _sorted(*checks: tuple[str, str, str]) -> policies.SourceChecks:
    """(label, word, state) triples sorted as `promotion.policy` sorts a forge's answer."""
    return policies.SourceChecks(
        reported=len(checks),
        failed=[(label, word) for label, word, state in checks if state == "failed"],
        waiting=[(label, word) for label, word, state in checks if state == "waiting"],
    )


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ([("pipeline", "success", "success")], None),
        ([("pipeline", "running", "waiting")],
         "staging's commit 1a2b3c4 has pipeline status running; production waits for success"),
        ([("pipeline", "failed", "failed")],
         "has pipeline status failed; production takes web 1.5.0 only once a pipeline of that "
         "commit succeeds (rerun it, or --force)"),
        ([], "staging's commit 1a2b3c4 has no pipeline or checks; production waits for one"),
        ([("check 'build'", "success", "success"), ("status 'ci/e2e'", "pending", "waiting")],
         "has status 'ci/e2e' status pending; production waits for success"),
        ([("check 'build'", "in_progress", "waiting"), ("check 'lint'", "failure", "failed"),
          ("check 'e2e'", "timed_out", "failed")],
         "has check 'lint' status failure (and 1 more); production takes web 1.5.0 only once "
         "check 'lint' of that commit succeeds"),
    ],
)  # fmt: skip
def test_source_pipeline_passes_only_when_everything_reported_succeeded(
    checks: list[tuple[str, str, str]], expected: str | None
) -> None:
    found = policies.source_checks(
        "web 1.5.0", "staging", "production", SHA, _sorted(*checks), named=False
    )
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found.rule == "source-pipeline"
    assert found.until is None
    assert found.line().startswith("source-pipeline: ")
    assert expected in found.line()


def test_source_checks_wait_for_each_named_check() -> None:
    missing = policies.SourceChecks(reported=1, missing=["e2e", "scan"])
    found = policies.source_checks("web 1.5.0", "staging", "production", SHA, missing, named=True)
    assert found is not None
    assert found.line() == (
        "source-checks: staging's commit 1a2b3c4 has no check 'e2e' (and 1 more) yet; "
        "production waits for it to succeed"
    )
    # Named checks that all passed pass, even when nothing else was reported.
    passed = policies.SourceChecks(reported=1)
    assert policies.source_checks("web", "staging", "production", SHA, passed, named=True) is None
    # A failure wins over a missing name: it needs a rerun, not patience.
    both = policies.SourceChecks(reported=1, failed=[("job 'e2e'", "failed")], missing=["scan"])
    found = policies.source_checks("web 1.5.0", "staging", "production", SHA, both, named=True)
    assert found is not None
    assert "has job 'e2e' status failed;" in found.line()


def test_source_pipeline_a_version_the_source_does_not_run_is_blocked() -> None:
    empty = policies.SourceChecks(reported=0)
    found = policies.source_checks(
        "web 1.5.0", "staging", "production", None, empty, named=False
    )
    assert found is not None
    assert found.line() == (
        "source-pipeline: web 1.5.0 is not what staging runs now, so no commit of staging "
        "carries it"
    )


@pytest.mark.parametrize(
    ("word", "state"),
    [("success", "success"), ("running", "waiting"), ("failed", "failed"),
     ("manual", "failed"), ("brand_new", "failed"), ("Success", "failed"),
     ("in progress\x1b[2J", "failed"), (None, "failed"), (7, "failed")],
)  # fmt: skip
def test_a_reported_word_is_checked_and_an_unknown_one_never_passes(
    word: object, state: str
) -> None:
    from promoter.forges import commit_check

    check = commit_check("job", "e2e", word, frozenset(PIPELINE_WORDS[0]),
                         frozenset(PIPELINE_WORDS[1]))  # fmt: skip
    assert check.state.value == state
    plain = isinstance(word, str) and word.isidentifier() and word.islower()
    assert check.word == (word if plain else "unknown")
    assert check.label == "job 'e2e'"
    long = commit_check("check", "x" * 500, "success", frozenset({"success"}), frozenset())
    assert len(long.name) == 100


def test_source_pipeline_setting_is_parsed_and_off_by_default() -> None:
    from promoter.errors import ConfigError

    text = "version: 1\nenvironments:\n  production:\n    policies:\n      {}\n"
    assert not _policies(text.format("{}")).require_source_pipeline
    on = _policies(text.format("require_source_pipeline: true"))
    assert on.require_source_pipeline
    with pytest.raises(ConfigError, match="require_source_pipeline"):
        _policies(text.format("require_source_pipeline: soon"))
    assert _policies(text.format("{}")).require_source_checks == ()
    named = _policies(text.format("require_source_checks: [build, 'ci/e2e', build]"))
    assert named.require_source_checks == ("build", "ci/e2e")
    with pytest.raises(ConfigError, match=r"require_source_checks: expected at least one"):
        _policies(text.format("require_source_checks: []"))
    with pytest.raises(ConfigError, match=r"require_source_checks\[0\]: .* not a valid check"):
        _policies(text.format('require_source_checks: ["bad\\u0007name"]'))
    with pytest.raises(ConfigError, match=r"require_source_checks: expected a list"):
        _policies(text.format("require_source_checks: build"))
