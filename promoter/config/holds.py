"""Holds: `.promoter/holds.yaml`, the record that keeps a rolled-back app where it is.

One line per hold, a YAML flow mapping, so adding or lifting one changes exactly one line
of the file, and review shows it plainly:

    - {env: production, app: web, version: 1.4.1, reason: "rollback from 1.5.0", at: "..."}

A hold stops automated promotions of that app to that environment (`blocked`); it is
lifted by `promote release-hold`, or by a `--force` promotion, which records it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from promoter.config.files import compose_one
from promoter.errors import ConfigError
from promoter.yamlfile import NULL_TAG, tag_of

HOLD_FILE = ".promoter/holds.yaml"
HEADER = (
    "# Holds: promoter leaves these apps where they are in these environments until the\n"
    "# hold is released (promote release-hold) or a promotion is forced. One line each.\n"
)


@dataclass(frozen=True, slots=True)
class Hold:
    env: str
    app: str
    version: str
    reason: str = ""
    at: str = ""

    def line(self) -> str:
        fields = {"env": self.env, "app": self.app, "version": self.version}
        fields |= {"reason": self.reason, "at": self.at}
        return "- {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in fields.items()) + "}\n"


def parse_holds(text: str, name: str = HOLD_FILE) -> tuple[Hold, ...]:
    """The holds of a holds file; composed like promoter.yaml (nesting bounded, errors with
    file and line, no excerpt of the file), each value as written (`1.10` stays `1.10`)."""
    root = compose_one(text, name)
    if root is None or (isinstance(root, ScalarNode) and tag_of(root) == NULL_TAG):
        return ()
    if not isinstance(root, SequenceNode):
        raise ConfigError("expected a list of holds", path=name, line=_line(root))
    found = []
    for index, item in enumerate(root.value):
        fields = _fields(item)
        if fields is None or not all(fields.get(k) for k in ("env", "app", "version")):
            raise ConfigError(
                "needs env, app and version", path=name, line=_line(item), field=f"[{index}]"
            )
        reason, at = fields.get("reason", ""), fields.get("at", "")
        found.append(Hold(fields["env"], fields["app"], fields["version"], reason, at))
    return tuple(found)


def _fields(node: Node) -> dict[str, str] | None:
    """A hold's scalar fields by key (None: not a mapping of scalars); null is empty."""
    if not isinstance(node, MappingNode):
        return None
    fields: dict[str, str] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode) or not isinstance(value, ScalarNode):
            return None
        fields[str(key.value)] = "" if tag_of(value) == NULL_TAG else str(value.value)
    return fields


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def find_hold(holds: tuple[Hold, ...], env: str, app: str) -> Hold | None:
    return next((h for h in holds if h.env == env and h.app == app), None)


def add_hold(text: str | None, hold: Hold) -> str:
    """The file with `hold` in place of any hold of the same app and environment."""
    kept = remove_hold(text, hold.env, hold.app) if text else HEADER
    return kept + ("" if kept.endswith("\n") or not kept else "\n") + hold.line()


def remove_hold(text: str, env: str, app: str) -> str:
    """The file without the line holding `app` in `env` (other lines byte for byte)."""
    lines = text.splitlines(keepends=True)
    kept = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("- {"):
            parsed = parse_holds(stripped)
            if parsed and parsed[0].env == env and parsed[0].app == app:
                continue
        kept.append(line)
    return "".join(kept)
