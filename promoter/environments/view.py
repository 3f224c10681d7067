"""What the environment model answers: where an image is set, and the actions a promotion
takes there (edit, insert, or none and why). Plain values; no YAML, no git."""

from __future__ import annotations

from dataclasses import dataclass, field

from promoter.errors import PromoterError
from promoter.imageref import ImageRef


@dataclass(frozen=True, slots=True)
class Setting:
    """A place the image is set, and whether the environment owns it."""

    path: str
    line: int
    owned: bool
    readers: tuple[str, ...] = ()
    """Entry points or roots known to read it (for messages)."""

    def describe(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.owned:
            return f"{where} (own)"
        if self.readers:
            return f"{where} (shared by {', '.join(self.readers)})"
        return f"{where} (shared)"


@dataclass(frozen=True, slots=True)
class Action:
    """One change a promotion makes in one file.

    `edit`: set the references already there (`key`: one explicit location; `base_values`:
    chart values that name a tag-only override). `insert-images`: add `images:` entries
    for `names`. `insert-value`: create `keys` in document `doc` holding `value`.
    `inherited`: the versions an insertion overrides (what the environment runs now), so a
    promotion never moves it backwards through a new key.
    """

    kind: str
    path: str
    reason: str
    key: str | None = None
    base_values: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    doc: int = 0
    keys: tuple[str, ...] = ()
    value: str = ""
    inherited: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "insert-images":
            return f"insert images: entries ({', '.join(self.names)}) into {self.path}"
        if self.kind == "insert-value":
            return f"insert {'.'.join(self.keys)} into {self.path}"
        return f"edit {self.path}" + (f" at {self.key}" if self.key else "")


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """What an environment deploys of one image, and how to promote it (or why not)."""

    env: str
    image: ImageRef
    entries: tuple[str, ...]
    examined: tuple[str, ...]
    settings: tuple[Setting, ...]
    actions: tuple[Action, ...]
    refusal: str | None = None
    notes: tuple[str, ...] = field(default=())
    skipped: tuple[tuple[str, str], ...] = field(default=())
    """(path, why) of each file read and set aside: it cannot hold the image."""
    error: PromoterError | None = None
    """The typed error behind `refusal`, when one stopped the discovery (a promotion
    raises it as it is; `explain` shows what was found up to it)."""


def dedupe(actions: list[Action]) -> list[Action]:
    seen: dict[tuple[str, str, str | None, tuple[str, ...]], Action] = {}
    for action in actions:
        seen.setdefault((action.kind, action.path, action.key, action.keys), action)
    merged: dict[str, Action] = {}
    result: list[Action] = []
    for action in seen.values():
        if action.kind == "insert-images":
            previous = merged.get(action.path)
            if previous is not None:
                names = tuple(dict.fromkeys([*previous.names, *action.names]))
                inherited = tuple(dict.fromkeys([*previous.inherited, *action.inherited]))
                merged[action.path] = Action(
                    previous.kind, previous.path, previous.reason, names=names, inherited=inherited
                )
                continue
            merged[action.path] = action
            continue
        result.append(action)
    return [*result, *merged.values()]
