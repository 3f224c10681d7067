"""Path globs with git's gitignore rules, matched by pathspec (issue 24): the loop guards'
`--watch`/`--ignore` and promoter.yaml's `watch`/`ignore`.

A list reads as one `.gitignore`: `*`, `?` and `[...]` stay within a path segment, `**`
spans segments, `\\` escapes the next character, a pattern with a `/` before its end is
anchored to the repository root (a leading `/` only anchors; without one, a name matches
at any depth), a trailing `/` matches a directory's contents, and `!` re-includes what an
earlier pattern matched (the last pattern that matches decides). A path matches the list
when git would ignore it. pathspec departs from git twice (measured against `git
check-ignore`): a `!` pattern re-includes a file below a directory an earlier pattern
excludes (`docs/` then `!docs/keep.md`: git keeps it ignored; write `docs/**` and both
agree), and `dir/**/` also matches the files directly in `dir` (git: only what its
subdirectories hold).

Patterns come from CI inputs and the config repository: `find_problem` refuses, in one
line, what git would drop or read as a comment, what Python's regex engine reads
differently, and patterns whose matching could take minutes. Account globs
(`--bot-actor`) are not paths and are not matched here. A leaf: pure, no I/O.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence

import pathspec

from promoter.errors import InputError

MAX_STARS = 2
"""`*` in one path segment: pathspec compiles each to `[^/]*`, and Python's backtracking
regex engine takes polynomial time in their number (`*a*a*a*b` against a 4 KiB name: ~25 s)."""
MAX_DEEP = 2
"""`**` segments in one pattern, each a `.+` that backtracks against the others."""
_ESCAPE = re.compile(r"\\.")


@functools.lru_cache(maxsize=256)
def find_problem(pattern: str) -> str | None:
    """Why `pattern` is refused, said so that the user can fix it; None for a pattern git
    reads as one that can match a path and that is cheap to match. Pure."""
    try:
        compiled = _compile((pattern,))
    except Warning:
        return (
            "uses a character class that git and Python read differently "
            "([[:alpha:]], &&, --, ~~, ||): list the characters"
        )
    except (ValueError, re.error) as error:
        if re.search(r"(?<!\\)(?:\\\\)*\\$", pattern.rstrip(" ")):
            return "ends in a lone '\\' (write '\\\\' to match a backslash)"
        if pattern == "!":
            return "a lone '!' negates nothing"
        reason = error.msg if isinstance(error, re.error) else str(error)
        return f"is not a gitignore pattern ({reason.rstrip('.')})"
    if compiled.patterns[0].include is None:
        if pattern.startswith("#"):
            return "starts with '#', a comment in gitignore (write '\\#' to match a '#')"
        if "[" in _ESCAPE.sub("", pattern):
            return "has a '[' without its ']', which git drops (write '\\[' to match a '[')"
        return "matches no path"
    segments = _ESCAPE.sub("", pattern).removeprefix("!").split("/")
    if any(s != "**" and s.count("*") > MAX_STARS for s in segments):
        return f"has more than {MAX_STARS} '*' in one path segment (matching could take minutes)"
    if sum(s == "**" for s in segments) > MAX_DEEP:
        return f"has more than {MAX_DEEP} '**' (matching could take minutes)"
    return None


class PathGlobs:
    """Patterns read in order as one `.gitignore`; `matches(path)` says whether git would
    ignore the repository-relative POSIX `path`. No patterns: nothing matches."""

    __slots__ = ("_spec", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        """`InputError` for a refused pattern (the entry points refuse them earlier, each
        naming its option or file and line; this is the last guard)."""
        for pattern in patterns:
            problem = find_problem(pattern)
            if problem is not None:
                raise InputError(f"{pattern[:60]!r}: {problem}", field="path glob")
        self.patterns = tuple(patterns)
        self._spec = _compile(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str) -> bool:
        # separators=(): a backslash in a git path is a character, not a separator.
        return self._spec.match_file(path, separators=())


@functools.lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    """pathspec's `GitIgnoreSpec` (its git-compatible flavour; `gitwildmatch` is the
    deprecated name of its older one). A regex warning is raised, never printed: it means
    the pattern means something else to Python than to git."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pathspec.GitIgnoreSpec.from_lines(patterns)
