"""The registry of file kinds: each editor, and the files it reads besides its target.

An `EditorKind` declares what one kind is to the rest of promoter: its name, how it
locates the image in a file (`find`), and its companions, the other files it reads (a
Helm environment values file reads the chart's `values.yaml`). Companions are paths in,
paths out: `candidates` names every file a kind may read for a target before the tree is
known (what a fetch plan brings), `companions` picks those it does read among the paths
that exist. The engine and the fetch plan ask here, never a rule of their own (the
environment model asks the Helm kind's rule, `helm_layers`, for the chart values it
inserts into). `register` adds a kind; registration order is the conflict order (the
first kind to claim a scalar wins). Knows nothing of git or the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from promoter.editing import argocd, helm, helm_layers, kustomize, pointer, setters, workloads
from promoter.editing.model import BumpRequest, Context, Found
from promoter.editing.source import YamlFile

Finder = Callable[[YamlFile, BumpRequest, Context], list[Found]]
Companions = Callable[[str, Collection[str], Iterable[str], str | None], list[str]]
"""(target, paths that exist, the repository's listing or nothing, app) → files read."""
Candidates = Callable[[str], list[str]]
"""target → every file `Companions` may name for it without a listing."""


def _reads_nothing(
    path: str, paths: Collection[str], listing: Iterable[str], app: str | None
) -> list[str]:
    return []


def _no_candidates(path: str) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class EditorKind:
    """One file kind: its name, its editor, and the files it reads besides its target."""

    name: str
    find: Finder
    companions: Companions = _reads_nothing
    candidates: Candidates = _no_candidates


KINDS: dict[str, EditorKind] = {}
"""Every kind that looks for an image by name, in conflict order."""
KEYED = EditorKind("pointer", pointer.find)
"""The kind a request with an explicit key (`image.tag`, a JSON pointer) uses alone."""


def register(kind: EditorKind) -> EditorKind:
    """Add a kind after those registered before it (or replace one in its place)."""
    KINDS[kind.name] = kind
    return kind


def finders(request: BumpRequest) -> tuple[Finder, ...]:
    """The editors that look for `request`, in conflict order."""
    return (KEYED.find,) if request.key else tuple(kind.find for kind in KINDS.values())


def companions(
    path: str, paths: Collection[str], listing: Iterable[str] = (), app: str | None = None
) -> list[str]:
    """The files the kinds read besides `path`, among `paths` (the files that exist)."""
    listed = listing if isinstance(listing, (list, tuple)) else tuple(listing)
    found = [c for kind in KINDS.values() for c in kind.companions(path, paths, listed, app)]
    return list(dict.fromkeys(found))


def candidates(path: str) -> list[str]:
    """Every file `companions` may name for `path` when no listing is given."""
    return list(dict.fromkeys(c for kind in KINDS.values() for c in kind.candidates(path)))


register(EditorKind("setters", setters.find))
register(EditorKind("kustomize", kustomize.find))
register(EditorKind("helm", helm.find, helm_layers.chart_values, helm_layers.candidates))
register(EditorKind("workloads", workloads.find))
register(EditorKind("argocd", argocd.find))
