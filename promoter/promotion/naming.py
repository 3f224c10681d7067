"""A promotion's names from promoter.yaml's templates: its branch, request title and
commit subject (issue 24).

Without a template each name is `message`'s, byte for byte what promoter always wrote;
this module renders the templates (`config.templates`). The values are the run's: the
environment, the apps, the images, the base branch and a `promote --to` run's source.
They come from the config repository and CI, so they are hostile: validated where they
entered, and encoded here for their sink again. A branch must be a name git accepts,
under its environment's `promote/<env>/`, else a `ConfigError` (exit 2) before the
first push; a title or subject is one line (`sinks.trailer_value`), cut to its bound.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from promoter import config as configuration
from promoter import sinks
from promoter.imageref import ImageRef
from promoter.promotion.message import apps_segment, branch_apps


@dataclass(frozen=True, slots=True)
class Facts:
    """What a promotion's templates may name (`config.templates.VARIABLES`)."""

    env: str
    apps: tuple[str, ...]
    images: tuple[ImageRef, ...]
    base: str
    from_env: str | None = None
    """The source environment of a `promote --to` run."""


def render_branch(template: configuration.Template, facts: Facts) -> str:
    """The promotion branch `template` names for `facts`: `promote/<env>/...`, a name git
    accepts, or a `ConfigError` naming the template (nothing is pushed)."""
    names = branch_apps(facts.apps)
    values = {"env": facts.env, "apps": apps_segment(facts.env, facts.apps), "base": facts.base}
    if len(names) == 1:
        values["app"] = names[0]
    branch = template.render(values, _unknown(facts))
    prefix = f"{configuration.BRANCH_PREFIX}{facts.env}/"
    if not branch.startswith(prefix) or not configuration.is_branch_name(branch):
        raise template.error(
            f"renders {sinks.excerpt(branch, 80)} for this run, which is not a branch name "
            f"git accepts under {prefix!r} (no spaces, '..', '@{{', '~^:?*[\\', '//', or a "
            "trailing '/', '.' or '.lock'; at most 255 characters); nothing was pushed"
        )
    return branch


def render_line(template: configuration.Template, facts: Facts, limit: int) -> str:
    """A title or subject: one line, control characters escaped, at most `limit`
    characters (a longer one is cut, ending in `…`)."""
    values = {
        "env": facts.env,
        "apps": ", ".join(sorted(set(facts.apps))),
        "images": ", ".join(dict.fromkeys(short_image(image) for image in facts.images)),
        "base": facts.base,
    }
    if len(set(facts.apps)) == 1:
        values["app"] = facts.apps[0]
    if len(set(facts.images)) == 1:
        values["version"] = short_version(facts.images[0])
    if facts.from_env:
        values["from_env"] = facts.from_env
    line = template.check_line(sinks.trailer_value(template.render(values, _unknown(facts))))
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def short_image(image: ImageRef) -> str:
    """`web:1.4.2`, `web@sha256:0123456789ab`: the repository's last part and version."""
    name = image.path.rsplit("/", 1)[-1]
    if image.tag is not None:
        return f"{name}:{image.tag}"
    return f"{name}@{short_version(image)}" if image.digest else name


def short_version(image: ImageRef) -> str:
    """The tag, else the digest cut to 12 hex digits (`sha256:0123456789ab`)."""
    if image.tag is not None or image.digest is None:
        return image.version
    algorithm, _, hexdigits = image.digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}"


def _unknown(facts: Facts) -> dict[str, str]:
    """Why a variable this run has no value for is missing, for the error."""
    apps, images = len(set(facts.apps)), len(set(facts.images))
    return {
        "app": f"names one app, and this run promotes {apps}: use {{apps}}",
        "version": f"names one version, and this run promotes {images} images: use {{images}}",
        "from_env": "is known only in a `promote --to` run (its source environment)",
    }


def apps_on_branch(template: configuration.Template | None, env: str, branch: str) -> list[str]:
    """The apps a promotion branch of `env` names, read back through the template that
    made it (an in-flight promotion's); none when the branch is not one of its names.
    Several apps come back as branch-safe names; a hashed list, as nothing."""
    prefix = f"{configuration.BRANCH_PREFIX}{env}/"
    if not branch.startswith(prefix):
        return []
    if template is None:
        return branch.removeprefix(prefix).split("+")
    found = _pattern(template, env).fullmatch(branch)
    if found is None:
        return []
    groups = found.groupdict()
    return [n for key in ("app", "apps") for n in (groups.get(key) or "").split("+") if n]


_GROUPS = {"app": r"[A-Za-z0-9._-]+", "apps": r"[A-Za-z0-9._+-]+", "base": r".+"}


@functools.lru_cache(maxsize=256)
def _pattern(template: configuration.Template, env: str) -> re.Pattern[str]:
    """The template as a regular expression: `env` as it is, each other variable a named
    group (a repeat must match the same text)."""
    out: list[str] = []
    seen: set[str] = set()
    for literal, name in template.parts:
        out.append(re.escape(literal))
        if name is None:
            continue
        if name == "env":
            out.append(re.escape(env))
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>{_GROUPS.get(name, '.+')})")
    return re.compile("".join(out))
