"""The environments and apps a holds or freeze file names, checked against those of the run.

A freeze of `Production` when the environment is `production`, or a hold of `frontnd`,
would hold nothing and say nothing: the typo is only found when the freeze did not stop a
release. So each name must be one the run knows, or the file is refused (exit 2) with the
file, line and field, and the name it most likely means. Without promoter.yaml the run
knows only some names (the environment it promotes): then only a name that differs from a
known one in case alone is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.files import compose_one, excerpt
from promoter.errors import ConfigError
from promoter.yamlfile import STR_TAG, tag_of

_KINDS = {"env": "environment", "environments": "environment", "app": "app"}


def check_references(
    text: str,
    name: str,
    environments: Collection[str],
    apps: Collection[str] | None = None,
    *,
    exhaustive: bool = True,
) -> None:
    """Refuse a holds or freeze file (`name` for messages) naming an environment or app
    that is not in `environments`/`apps` (None: apps are not known). Not `exhaustive`: the
    names are some of the run's, and only a name equal to one of them but for case is
    refused. Entries of the wrong shape are left to `parse_holds`/`parse_freezes`."""
    root = compose_one(text, name)
    known = {"environment": list(environments), "app": None if apps is None else list(apps)}
    for node, field, kind in _names(root):
        names = known[kind]
        value = str(node.value)
        if names is None or value in names:
            continue
        closest = _closest(value, names)
        same_but_case = closest is not None and closest.casefold() == value.casefold()
        if not exhaustive and not same_but_case:
            continue
        if closest is not None:
            hint = f"; did you mean {closest!r}?"
        else:
            hint = f"; known: {', '.join(sorted(names)) or 'none'}"
        raise ConfigError(
            f"{excerpt(value)} is not an {kind}{hint}",
            path=name,
            line=node.start_mark.line + 1,
            field=field,
        )


def _names(root: Node | None) -> Iterator[tuple[ScalarNode, str, str]]:
    """(node, field, kind) of each environment or app name in a list of entries."""
    if not isinstance(root, SequenceNode):
        return
    for index, item in enumerate(root.value):
        if not isinstance(item, MappingNode):
            continue
        for key, value in item.value:
            kind = _KINDS.get(str(key.value)) if isinstance(key, ScalarNode) else None
            if kind is None:
                continue
            field = f"[{index}].{key.value}"
            if isinstance(value, SequenceNode):
                for position, element in enumerate(value.value):
                    if isinstance(element, ScalarNode) and tag_of(element) == STR_TAG:
                        yield element, f"{field}[{position}]", kind
            elif isinstance(value, ScalarNode) and tag_of(value) == STR_TAG:
                yield value, field, kind


def _closest(value: str, known: list[str]) -> str | None:
    """The known name `value` most likely means: the same but for case, else a close one."""
    folded = [k for k in known if k.casefold() == value.casefold()]
    if folded:
        return folded[0]
    if len(value) > 100:  # no name is this long; do not compare it character by character
        return None
    close = difflib.get_close_matches(value, known, n=1)
    return close[0] if close else None
