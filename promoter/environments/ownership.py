"""Which files are one environment's own, and which top-level kustomizations read a file.

A file is the environment's own when its path names the environment and no other known one
(`naming`); a file that a kustomization outside the environment also reaches is shared,
whatever its name. Discovery (`model`) and the overrides (`insertion`) both judge files
through one `Ownership`; it reads the graph through the shared `Reader` and never edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promoter.environments import naming
from promoter.environments.kustomize import directory_of
from promoter.environments.reader import Reader


@dataclass(frozen=True, slots=True)
class Ownership:
    """The facts of one environment that decide whose a file is."""

    reader: Reader
    env: str
    app: str
    known: tuple[str, ...]
    """Every environment name, this one included: a path two of them name is no one's."""

    def owns(self, path: str) -> bool:
        return naming.names(path, self.env, self.app) and not naming.is_ambiguous(
            path, self.env, self.known, self.app
        )

    def readers(self, path: str, entry: str) -> list[str]:
        """The entry and the other top-level kustomizations that read `path` (for messages)."""
        readers = [entry] + [
            root for root, reach in self.reader.roots().items() if root != entry and path in reach
        ]
        return [directory_of(r) for r in readers][:4]

    def other_readers(self, path: str, entries: Sequence[str]) -> list[str]:
        """Top-level kustomizations outside the environment that reach `path`: a file named
        after the environment that another one also includes is not its own."""
        return [
            root
            for root, reach in self.reader.roots().items()
            if path in reach and root not in entries and not any(e in reach for e in entries)
        ]

    def is_reached_by_others(self, path: str) -> bool:
        """A kustomization that is not the environment's own reads `path` directly."""
        return any(not self.owns(node) for node in self.reader.graph.referrers(path))
