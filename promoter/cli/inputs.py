"""`promote ci-run`: one promotion described by CI inputs, for every CI integration alike.

The GitHub Action and the GitLab component used to turn their inputs into `promote`'s
options in two shell scripts that drifted apart (different names, different coverage).
Both now hand their inputs over as `PROMOTE_INPUT_<NAME>` variables and run this command,
so one table (`INPUTS`) says what an input is called, how its value is read and which
option it becomes; `tests/test_ci_inputs.py` holds `action.yml`, the component and the
documentation to that table.

Values are data: each becomes one `--option=value` word of promoter's own argument list
(no shell sees it, and a value starting with `-` cannot turn into an option), a flag is
`true` or `false` and nothing else, and a value with a control character is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from promoter.errors import InputError

PREFIX = "PROMOTE_INPUT_"


class Input:
    """One CI input: `names` (words that never hold a space: split on spaces, commas and
    lines), `list` (split on commas and lines only: a label or a path may hold a space),
    each item a repeated option; `flag` (`true`/`false`), `value` (one option value) or
    `words` (further options, split like a shell does, never run by one). A plain class:
    this module loads with `promote --help`."""

    __slots__ = ("description", "kind", "name", "option")

    def __init__(self, name: str, kind: str, option: str | None, description: str) -> None:
        self.name = name
        self.kind = kind
        self.option = option
        self.description = description

    @property
    def variable(self) -> str:
        """`dry-run` → `PROMOTE_INPUT_DRY_RUN`."""
        return PREFIX + self.name.upper().replace("-", "_")


INPUTS: tuple[Input, ...] = (
    Input("config-repo", "value", "--config-repo",
          "Config repository URL (https://github.com/acme/config.git)."),
    Input("environment", "names", "--env",
          "Environment(s) to promote to, separated by spaces, commas or lines."),
    Input("image", "names", "--image",
          "Image reference(s) with tag and/or digest, separated by spaces, commas or lines."),
    Input("to", "value", "--to",
          "Promote to this environment what its source environment deploys (instead of "
          "environment and image)."),
    Input("from", "value", "--from", "With to: the environment to read (default: its from:)."),
    Input("all", "flag", "--all", "With to: every app both environments deploy."),
    Input("app", "names", "--app", "Only these apps (separated by spaces, commas or lines)."),
    Input("rollback", "flag", "--rollback",
          "Restore the environment's previous version of the app and hold it there."),
    Input("dry-run", "flag", "--dry-run", "Show the change; push nothing."),
    Input("no-clone", "flag", "--no-clone",
          "Read and commit through the forge API (no git in the job)."),
    Input("mode", "value", "--mode",
          "push or pull-request (default from promoter.yaml, else pull-request)."),
    Input("labels", "list", "--label",
          "Extra pull/merge request labels, one per line or comma-separated."),
    Input("auto-merge", "flag", "--auto-merge",
          "Ask the forge to merge the request once its checks pass."),
    Input("bot-actors", "names", "--bot-actor",
          "Accounts whose pushes never promote (globs, e.g. renovate*; separated by spaces, "
          "commas or lines)."),
    Input("watch", "list", "--watch",
          "Promote only when the triggering push changed one of these paths (globs, one "
          "per line or comma-separated)."),
    Input("ignore", "list", "--ignore",
          "Changes to these paths never promote (globs, one per line or comma-separated: "
          "the config paths, docs)."),
    Input("force", "flag", "--force", "Promote even when a loop guard would skip the run."),
    Input("verify-image", "flag", "--verify-image",
          "Refuse an image its registry does not hold (tag and digest) before writing."),
    Input("api-url", "value", "--api-url", "Forge API root (default: from the CI)."),
    Input("extra-args", "words", None,
          "Further promote options, e.g. --skip-ci --allow-downgrade."),
)  # fmt: skip
"""Every input of every CI integration, in the order the documentation lists them."""

_SEPARATORS = str.maketrans({",": "\n"})


def argv(environ: Mapping[str, str]) -> list[str]:
    """`promote`'s arguments for the inputs in `environ` (an input not set is not given)."""
    words: list[str] = []
    for spec in INPUTS:
        raw = environ.get(spec.variable, "")
        words += _words(spec, raw)
    return words


def _words(spec: Input, raw: str) -> list[str]:
    if spec.kind == "flag":
        value = raw.strip().lower()
        if value not in ("", "true", "false"):
            raise _bad(spec, f"is true or false, not {raw.strip()[:20]!r}")
        return [spec.option] if value == "true" and spec.option else []
    if spec.kind == "words":
        import shlex  # only here: `promote --help` imports this module

        try:
            return shlex.split(raw, comments=False)
        except ValueError as exc:  # an unclosed quote
            raise _bad(spec, f"is options split like a shell does ({exc})") from None
    if spec.kind == "value":
        items = [raw]
    elif spec.kind == "names":
        items = raw.translate(_SEPARATORS).split()
    else:
        items = raw.translate(_SEPARATORS).split("\n")
    values = [item.strip() for item in items if item.strip()]
    for value in values:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise _bad(spec, "has no control characters")
    assert spec.option is not None
    return [f"{spec.option}={value}" for value in values]


def _bad(spec: Input, rule: str) -> InputError:
    """The input's name leads the line (`field`); its variable says where it was set."""
    return InputError(f"{spec.variable} {rule}", field=spec.name)


@click.command(name="ci-run")
@click.pass_context
def command(ctx: click.Context) -> Any:
    """Run the promotion that PROMOTE_INPUT_* variables describe (the GitHub Action and
    the GitLab component run this; `promote ci-run --help` lists nothing else).

    \b
    PROMOTE_INPUT_ENVIRONMENT=staging PROMOTE_INPUT_IMAGE=ghcr.io/acme/web:1.4.2 promote ci-run
    PROMOTE_INPUT_TO=production PROMOTE_INPUT_ALL=true promote ci-run
    """
    root = ctx.find_root().command
    args = argv(os.environ)
    sub = root.make_context("promote", args, parent=None)
    nested = [*getattr(sub, "_protected_args", ()), *sub.args]
    if nested:
        raise InputError(
            f"takes promote's options, not a command or argument ({nested[0][:40]!r})",
            field="extra-args",
        )
    with sub:
        return root.invoke(sub)
