"""Templates for the branch, title and subject (issue 24): parsed and refused at load time
with file, line and field; rendered from hostile values into a branch git accepts or one
bounded line; read back for in-flight promotions; and promoter's own names unchanged."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from promoter.ci import Source
from promoter.config import SUBJECT_MAX, TITLE_MAX, Template, Templates, parse_config
from promoter.config.templates import VARIABLES
from promoter.errors import ConfigError, PromoterError
from promoter.imageref import parse_image_ref
from promoter.promotion.message import TRAILER, branch_name, commit_message
from promoter.promotion.naming import (
    Facts,
    apps_on_branch,
    render_branch,
    render_line,
    short_image,
)
from promoter.promotion.result import Change, EnvironmentResult, Status

WEB = parse_image_ref("ghcr.io/acme/web:1.4.2")
API = parse_image_ref("ghcr.io/acme/api:2.5.0")
DIGEST = "sha256:" + "0123456789abcdef" * 4
PINNED = parse_image_ref(f"ghcr.io/acme/web@{DIGEST}")


def config(environment: str = "{}", defaults: str = "") -> str:
    """A small promoter.yaml; line 3 (or 4, after a `defaults` line) is `staging`."""
    top = f"defaults: {defaults}\n" if defaults else ""
    return (
        f"version: 1\n{top}environments:\n  staging: {environment}\n  prod: {{from: staging}}\n"
        "apps:\n  web: {image: ghcr.io/acme/web}\n  api: {image: ghcr.io/acme/api}\n"
    )


def templates(environment: str = "{}", defaults: str = "", env: str = "staging") -> Templates:
    return parse_config(config(environment, defaults), "promoter.yaml").environments[env].templates


def template(kind: str, text: str) -> Template:
    found = getattr(templates(f"{{templates: {{{kind}: {json.dumps(text)}}}}}"), kind)
    assert isinstance(found, Template)
    return found


def refusal(environment: str, defaults: str = "") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(config(environment, defaults), "promoter.yaml")
    assert info.value.exit_code == 2
    return str(info.value)


def facts(*images: str, apps: tuple[str, ...] = ("web",), **extra: Any) -> Facts:
    refs = tuple(parse_image_ref(i) for i in images) or (WEB,)
    return Facts("staging", apps, refs, extra.pop("base", "main"), **extra)


# --- parsing -------------------------------------------------------------------------------


def test_templates_unset_are_promoters_own() -> None:
    assert templates() == Templates()
    assert parse_config(config(), "promoter.yaml").environments["prod"].templates == Templates()


def test_templates_merge_key_by_key_and_the_environment_wins() -> None:
    found = templates(
        "{templates: {title: 'Ship {apps} to {env}', subject: null}}",
        defaults="{templates: {branch: 'promote/{env}/{apps}/auto', title: x, subject: y}}",
    )
    assert found.branch is not None
    assert found.branch.text == "promote/{env}/{apps}/auto"
    assert found.branch.field == "defaults.templates.branch"
    assert found.branch.line == 2
    assert found.title is not None
    assert found.title.text == "Ship {apps} to {env}"
    assert (found.title.path, found.title.line) == ("promoter.yaml", 4)
    assert found.title.field == "environments.staging.templates.title"
    assert found.subject is None  # null restores promoter's own
    inherited = templates(defaults="{templates: {title: x}}", env="prod")
    assert inherited.title is not None
    assert inherited.title.field == "defaults.templates.title"


def test_templates_take_every_variable_of_their_kind() -> None:
    text = "{env} {app} {apps} {images} {version} {from_env} {base} {{literal}}"
    for kind in ("title", "subject"):
        found = template(kind, text)
        assert found.variables == {"env", "app", "apps", "images", "version", "from_env", "base"}
        assert "".join(literal for literal, _ in found.parts).endswith(" {literal}")
    branch = template("branch", "promote/{env}/{base}/{app}/{apps}/{env}")
    assert branch.variables == {"env", "app", "apps", "base"}


HOSTILE_TEMPLATES = [
    ("{templates: {titel: x}}", "templates.titel: unknown key (did you mean 'title'?)"),
    ("{templates: [x]}", "templates: expected a mapping, got a list"),
    ("{templates: {title: 12}}", "templates.title: expected a string, got 12 (quote it"),
    ("{templates: {title: ''}}", "templates.title: expected a template (null restores"),
    ("{templates: {title: '  '}}", "templates.title: expected a template"),
    (
        "{templates: {title: '{verison}'}}",
        "templates.title: unknown variable '{verison}' (did you mean 'version'?); known: {env}, "
        "{app}, {apps}, {images}, {version}, {from_env}, {base}",
    ),
    ("{templates: {title: '{0}'}}", "templates.title: '{0}': only plain {name} placeholders"),
    ("{templates: {title: '{}'}}", "templates.title: '{}' names no variable; use one of {env}"),
    ("{templates: {title: '{app.name}'}}", "'{app.name}': only plain {name} placeholders (no"),
    ("{templates: {title: '{app[0]}'}}", "'{app[0]}': only plain {name} placeholders (no"),
    ("{templates: {title: '{ app }'}}", "'{ app }': only plain {name} placeholders (no spaces"),
    ("{templates: {title: '{app!r}'}}", "{app} with a format spec or conversion: only plain"),
    ("{templates: {title: '{app:>20}'}}", "{app} with a format spec or conversion: only plain"),
    ("{templates: {title: '{app:}'}}", "'{app:}': only plain {name} placeholders"),
    ("{templates: {title: 'x {app'}}", "'x {app' is not a template: expected '}' before end"),
    ("{templates: {title: 'x } y'}}", "'x } y' is not a template: Single '}' encountered"),
    ("{templates: {title: '{a{b}c}'}}", "is not a template: unexpected '{' in field name"),
    ('{templates: {title: "a\\nb"}}', "'a\\nb': a template is one line of printable text"),
    ('{templates: {title: "a\\tb"}}', "a template is one line of printable text"),
    ('{templates: {title: "a\\u202eb"}}', "a template is one line of printable text"),
    ('{templates: {title: "a\\u2028b"}}', "a template is one line of printable text"),
    (f"{{templates: {{title: {'x' * 256}}}}}", "a template has at most 255 characters, got 256"),
    ("{templates: {title: '[skip ci] {apps}'}}", "holds the CI skip marker '[skip ci]': the"),
    ("{templates: {subject: 'x [CI Skip]'}}", "holds the CI skip marker '[ci skip]'"),
    ("{templates: {branch: 'x/{env}/{app}'}}", "a branch template starts with 'promote/{env}/'"),
    ("{templates: {branch: 'promote/{app}/{env}'}}", "starts with 'promote/{env}/' (promoter"),
    ("{templates: {branch: 'promote/{env}-{app}'}}", "starts with 'promote/{env}/'"),
    ("{templates: {branch: 'promote/{env}/all'}}", "names the apps ({app} or {apps}): without"),
    ("{templates: {branch: 'promote/{env}/{base}'}}", "names the apps ({app} or {apps})"),
    ("{templates: {branch: 'promote/{env}/{app}{apps}'}}", "put a '/' between {apps} and the"),
    ("{templates: {branch: 'promote/{env}/{base}-{app}'}}", "put a '/' between {app} and the"),
    (
        "{templates: {branch: 'promote/{env}/{app}-{version}'}}",
        "{version} is not available in a branch template: a branch names the promotion, not",
    ),
    ("{templates: {branch: 'promote/{env}/{images}'}}", "{images} is not available in a branch"),
    ("{templates: {branch: 'promote/{env}/{app}/{from_env}'}}", "{from_env} is not available"),
    ("{templates: {branch: 'promote/{env}/{app}..x'}}", "renders branch names such as 'promote/"),
    ("{templates: {branch: 'promote/{env}/{app} x'}}", "'promote/env/app x', which git does not"),
    ("{templates: {branch: 'promote/{env}/{app}.lock'}}", "which git does not accept"),
    ("{templates: {branch: 'promote/{env}/{app}/'}}", "which git does not accept"),
    ("{templates: {branch: 'promote/{env}/{app}@{{x}}'}}", "'promote/env/app@{x}', which git"),
    ("{templates: {branch: 'promote/{env}/{app}~1'}}", "which git does not accept"),
    ("{group: all, templates: {title: 'Ship {app}'}}", "{app} names one app, and environment"),
    ("{group: all, templates: {subject: '{version}'}}", "{version} names one version, and"),
]


@pytest.mark.parametrize(("environment", "expected"), HOSTILE_TEMPLATES)
def test_templates_refused_at_load_time_with_file_line_field(
    environment: str, expected: str
) -> None:
    message = refusal(environment)
    assert message.startswith("promoter.yaml:3: environments.staging."), message
    assert expected in message, message


def test_template_inherited_from_defaults_is_refused_at_its_own_line() -> None:
    message = refusal("{group: all}", defaults="{templates: {branch: 'promote/{env}/{app}'}}")
    assert message == (
        "promoter.yaml:2: defaults.templates.branch: {app} names one app, and environment "
        "staging has group: all (several apps in one request): use {apps}"
    )
    assert refusal("{}", defaults="{templates: {title: '{nope}'}}").startswith(
        "promoter.yaml:2: defaults.templates.title: unknown variable '{nope}'"
    )


# --- rendering -----------------------------------------------------------------------------


def test_render_line_every_variable() -> None:
    line = template("title", "{env}|{app}|{apps}|{images}|{version}|{from_env}|{base}")
    one = facts("ghcr.io/acme/web:1.4.2", from_env="dev", base="release/2026")
    assert render_line(line, one, TITLE_MAX) == "staging|web|web|web:1.4.2|1.4.2|dev|release/2026"
    pinned = facts(f"ghcr.io/acme/web@{DIGEST}", from_env="dev")
    assert render_line(template("title", "{images} {version}"), pinned, TITLE_MAX) == (
        "web@sha256:0123456789ab sha256:0123456789ab"
    )
    both = facts("ghcr.io/acme/web:1.4.2", "ghcr.io/acme/api:2.5.0", apps=("web", "api"))
    assert render_line(template("title", "Ship {apps}: {images}"), both, TITLE_MAX) == (
        "Ship api, web: web:1.4.2, api:2.5.0"
    )
    assert short_image(parse_image_ref(f"ghcr.io/acme/web:1.5@{DIGEST}")) == "web:1.5"


@pytest.mark.parametrize(
    ("text", "run", "expected"),
    [
        ("{app}", facts("ghcr.io/acme/web:1", "ghcr.io/acme/api:2", apps=("web", "api")),
         "{app} names one app, and this run promotes 2: use {apps}; nothing was pushed"),
        ("{version}", facts("ghcr.io/acme/web:1", "ghcr.io/acme/api:2", apps=("web", "api")),
         "{version} names one version, and this run promotes 2 images: use {images}"),
        ("{from_env}", facts(), "{from_env} is known only in a `promote --to` run"),
    ],
)  # fmt: skip
def test_render_refuses_a_variable_this_run_has_not(text: str, run: Facts, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_line(template("subject", text), run, SUBJECT_MAX)
    assert str(info.value).startswith(
        "promoter.yaml:3: environments.staging.templates.subject: " + expected
    )
    assert info.value.exit_code == 2


def test_render_line_is_one_line_of_bounded_length_whatever_the_values() -> None:
    hostile = facts(base="main\nSigned-off-by: mallory", from_env="dev\x1b[31m\u202e")
    line = render_line(template("subject", "{base} {from_env}"), hostile, SUBJECT_MAX)
    assert "\n" not in line
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert line.startswith("main\\nSigned-off-by: mallory dev")
    long = facts(base="b" * 300)
    cut = render_line(template("subject", "Promote {base}"), long, SUBJECT_MAX)
    assert len(cut) == SUBJECT_MAX
    assert cut.endswith("…")
    assert len(render_line(template("title", "T {base}"), long, TITLE_MAX)) == TITLE_MAX
    with pytest.raises(ConfigError, match=r"renders a line that holds the CI skip marker"):
        render_line(template("title", "[skip {env}]"), Facts("ci", ("web",), (WEB,), "main"), 99)


def test_render_branch_apps_as_promoter_names_them() -> None:
    apps = template("branch", "promote/{env}/{apps}")
    for names in (("web",), ("web", "api", "web"), tuple(f"service-{i:03d}" for i in range(30))):
        run = facts(apps=names)
        assert render_branch(apps, run) == branch_name("staging", names)
    assert render_branch(template("branch", "promote/{env}/{app}/into/{base}"), facts()) == (
        "promote/staging/web/into/main"
    )
    # An app name cannot hold a space, a newline or `..`; were it to, the branch never would:
    # spaces and controls become '-' as in promoter's own names, and `..` is refused.
    assert render_branch(apps, facts(apps=("we b\n\x1bx",))) == "promote/staging/we-b-x"
    with pytest.raises(ConfigError, match=r"renders 'promote/staging/we-b-\.\.x' for this run"):
        render_branch(apps, facts(apps=("we b\n..x",)))


@pytest.mark.parametrize(
    "base",
    ["release..1", "x@{1}", "has space", "a\nb", "ends.lock", "b" * 240, "a//b", "x/"],
)
def test_render_branch_refuses_a_value_that_makes_no_branch_name(base: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_branch(template("branch", "promote/{env}/{app}/{base}"), facts(base=base))
    message = str(info.value)
    assert message.startswith("promoter.yaml:3: environments.staging.templates.branch: renders")
    assert "which is not a branch name git accepts under 'promote/staging/'" in message
    assert message.endswith("nothing was pushed")
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_render_branch_refuses_app_for_several_apps() -> None:
    run = facts("ghcr.io/acme/web:1", "ghcr.io/acme/api:2", apps=("web", "api"))
    with pytest.raises(ConfigError, match=r"\{app\} names one app, and this run promotes 2"):
        render_branch(template("branch", "promote/{env}/{app}"), run)


def test_apps_on_branch_reads_a_branch_back_through_its_template() -> None:
    assert apps_on_branch(None, "staging", "promote/staging/api+web") == ["api", "web"]
    assert apps_on_branch(None, "staging", "promote/prod/web") == []
    own = template("branch", "promote/{env}/release-{app}/{base}")
    assert apps_on_branch(own, "staging", "promote/staging/release-web/main") == ["web"]
    assert apps_on_branch(own, "staging", "promote/staging/release-web/rel/2") == ["web"]
    assert apps_on_branch(own, "staging", "promote/staging/web/main") == []
    assert apps_on_branch(own, "prod", "promote/staging/release-web/main") == []
    several = template("branch", "promote/{env}/{apps}/x/{apps}")
    assert apps_on_branch(several, "staging", "promote/staging/api+web/x/api+web") == [
        "api", "web"
    ]  # fmt: skip
    assert apps_on_branch(several, "staging", "promote/staging/api/x/web") == []


# --- the commit message --------------------------------------------------------------------


def test_commit_message_subject_replaced_body_and_trailers_kept() -> None:
    change = Change("k.yaml", 3, "/images/0/newTag", "1.4.1", "1.4.2", "ghcr.io/acme/web", "k")
    result = EnvironmentResult("staging", Status.CHANGED, (change,))
    source = Source("https://github.com/acme/web", "abc", None)
    own = commit_message("staging", result, [WEB], source, skip_ci=True)
    templated = commit_message(
        "staging", result, [WEB], source, skip_ci=True, subject="chore(staging): web:1.4.2"
    )
    assert templated.split("\n", 1)[0] == "chore(staging): web:1.4.2 [skip ci]"
    assert own.split("\n", 1)[0] == "Promote web to staging: 1.4.1 → 1.4.2 [skip ci]"
    assert templated.split("\n", 1)[1] == own.split("\n", 1)[1]
    assert TRAILER in templated.splitlines()


# --- the schema ----------------------------------------------------------------------------


def _schema_valid(text: str) -> bool:
    schema = json.loads(
        resources.files("promoter").joinpath("schema/promoter.schema.json").read_text()
    )
    data = YAML(typ="safe", pure=True).load(text)
    return jsonschema.Draft202012Validator(schema).is_valid(data)


def _python_valid(text: str) -> bool:
    try:
        parse_config(text, "promoter.yaml")
    except PromoterError:
        return False
    return True


@pytest.mark.parametrize(
    ("environment", "valid"),
    [
        ("{templates: {branch: 'promote/{env}/{app}/next', title: 'Ship {apps} to {env}'}}", True),
        ("{templates: {subject: 'chore({env}): {images} {{x}}', title: null}}", True),
        ("{templates: null}", True),
        ("{templates: {branch: 'x/{env}/{app}'}}", False),
        ("{templates: {branch: 'promote/{env}/{version}'}}", False),
        ("{templates: {title: '{nope}'}}", False),
        ("{templates: {title: 'a {'}}", False),
        ('{templates: {title: "a\\nb"}}', False),
        ("{templates: {tilte: x}}", False),
        ("{templates: {title: ''}}", False),
    ],
)
def test_schema_and_promoter_agree_on_templates(environment: str, valid: bool) -> None:
    text = config(environment)
    assert _schema_valid(text) == valid
    assert _python_valid(text) == valid


# --- the docs ------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_docs_example_renders_what_its_comments_say_and_lists_every_variable() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Branch, title and commit subject")[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    found = parse_config("version: 1\n" + example, "promoter.yaml").environments["production"]
    run = Facts("production", ("web",), (parse_image_ref("ghcr.io/acme/web:1.5.0"),), "main")
    assert found.templates.branch is not None
    assert found.templates.title is not None
    assert found.templates.subject is not None
    rendered = [
        render_branch(found.templates.branch, run),
        render_line(found.templates.title, run, TITLE_MAX),
        render_line(found.templates.subject, run, SUBJECT_MAX),
    ]
    comments = [line.split("# ", 1)[1] for line in example.splitlines() if "  # " in line]
    assert rendered == comments
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| `{")]
    assert rows == [f"`{{{name}}}`" for name in VARIABLES]
