"""The files that steer a run (promoter.yaml, `.promoter/*`): read, decoded and composed
as the hostile input they are (issue 19).

A file committed as a symlink (to `/etc/passwd`, to `../../.git-credentials`) is refused,
never followed, and so is a file under a symlinked directory; a file is UTF-8 (a BOM is
dropped) of bounded size; YAML is composed with a bounded nesting depth, so a file nested
20,000 levels deep is an error, not a crash; and an error quotes at most a short, escaped
excerpt of what the file holds, never the source line ruamel's own messages carry.
Knows nothing of the model.
"""

from __future__ import annotations

import io
import re
from pathlib import Path, PurePosixPath

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import Node
from ruamel.yaml.reader import ReaderError

from promoter.discovery import normalize_relative
from promoter.errors import ConfigError, PathEscapeError, YamlError
from promoter.filetree import FileTree, Kind, as_tree
from promoter.sinks import EXCERPT
from promoter.yamlfile import compose_within

MAX_DEPTH = 100
"""Nested collections a control file may open; promoter.yaml needs fewer than ten."""
MAX_BYTES = 4 << 20
"""A control file is hand-written configuration; a larger one is refused, not read. A
promoter.yaml naming every app of a fleet takes about 150 bytes an app: 4 MiB holds some
25,000, and loads in linear time (`benchmarks/config_load.py`: 1.5 s at 8,000 apps)."""
_PROBLEM = 100
"""Characters of a YAML parser's own problem description kept in a message."""
_LONG_QUOTE = re.compile(rf"'([^']{{{EXCERPT + 1},}})'")
"""A value a parser's problem quotes (an alias, a tag), longer than an excerpt."""
_NO_LINKS = "promoter does not follow links for the files that steer it (commit the file)"


def read_control_file(root: Path | FileTree, relative: str) -> str | None:
    """The text of the control file `relative` under `root`; None when it is absent.

    Refuses (`PathEscapeError`) a file that is a symlink or lies under a symlinked
    directory below `root`, whatever the link points at; a directory under the name counts
    as absent, any other non-file is a `ConfigError`. The text is UTF-8 with any BOM
    dropped; other bytes are a `YamlError` naming the line.
    """
    tree = as_tree(root)
    parts = PurePosixPath(normalize_relative(relative)).parts
    kind: Kind | None = None
    for index in range(len(parts)):
        try:
            kind = tree.kind("/".join(parts[: index + 1]))
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", path=relative) from exc
        if kind is None:
            return None
        if kind == "link":
            where = "/".join(parts[: index + 1])
            subject = "is" if index == len(parts) - 1 else f"its directory {where} is"
            raise PathEscapeError(f"{subject} a symlink; {_NO_LINKS}", path=relative)
    if kind == "directory":
        return None
    if kind != "file":
        raise ConfigError("is not a regular file", path=relative)
    try:  # no follow: a link put in its place since the check above is refused too
        raw = tree.read("/".join(parts), follow=False, limit=MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=relative) from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES // 1024} KiB; not read", path=relative)
    return decode(raw, relative)


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text without its BOM, or a `YamlError` naming the first bad line."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError("not UTF-8 text", path=name, line=line) from exc


def compose_one(text: str, name: str) -> Node | None:
    """The one YAML document of `text` as nodes (None: no document), nesting bounded by
    `MAX_DEPTH`; every parser error becomes a one-line `YamlError` with file and line.

    libyaml composes it when present (linear and fast at thousands of apps); anything it
    does not compose cleanly goes the pure path, whose errors name the problem exactly."""
    composed = _compose_fast(text)
    if composed is None:
        composed = _compose_pure(text, name)
    docs = [d for d in composed if d is not None]
    if len(docs) > 1:
        line = docs[1].start_mark.line + 1
        raise ConfigError(f"expected one YAML document, got {len(docs)}", path=name, line=line)
    return docs[0] if docs else None


def _compose_fast(text: str) -> list[Node | None] | None:
    """Every document by libyaml, or None: not installed, too deep, or any problem."""
    try:
        docs, line = compose_within(text, MAX_DEPTH)
    except Exception:  # the pure path says what is wrong
        return None
    return docs if line is None else None


def _compose_pure(text: str, name: str) -> list[Node | None]:
    yaml = YAML(typ="rt", pure=True)
    yaml.max_depth = MAX_DEPTH  # checked by the composer as it descends, before recursing
    try:
        composed = list(yaml.compose_all(io.StringIO(text)))
    except YAMLError as exc:
        message, line = yaml_problem(exc, text)
        raise YamlError(f"not valid YAML: {message}", path=name, line=line) from exc
    except RecursionError as exc:  # a parser path the depth bound does not cover
        raise YamlError("not valid YAML: nested too deep", path=name) from exc
    return composed


def yaml_problem(error: YAMLError, text: str) -> tuple[str, int | None]:
    """(what is wrong, line) of a ruamel error, without the source excerpt and caret that
    its `str()` carries: the problem alone, escaped and cut short."""
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        if "maximum depth" in problem:
            problem = f"nested deeper than {MAX_DEPTH} levels"
        problem = _LONG_QUOTE.sub(lambda m: f"'{m[1][:EXCERPT]}'…", problem)
        return plain(problem, _PROBLEM), line
    if isinstance(error, ReaderError) and isinstance(error.position, int):
        line = text[: error.position].count("\n") + 1
        if isinstance(error.character, int):
            return f"unacceptable character #x{error.character:04x}", line
        return "unreadable characters", line
    first = (str(error).splitlines() or ["invalid YAML"])[0]
    return plain(first, _PROBLEM), None


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """`value` quoted as `repr` quotes it (control and invisible characters escaped), cut
    to its first `limit` characters: how a message shows what a file holds."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[:limit]) + "…"


def plain(text: str, limit: int = EXCERPT) -> str:
    """`text` unquoted, with characters `repr` would escape escaped, cut to `limit`."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def requote(message: str, value: str) -> str:
    """`message` (from a check that quoted `value` whole, with `repr`) quoting an excerpt."""
    return message.replace(repr(value), excerpt(value))
