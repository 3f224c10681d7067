"""Zero-config discovery: which files of a config repository belong to an environment.

Without a promoter.yaml, an environment is found by the layout conventions GitOps repos
already follow: a directory named after it (`overlays/staging/`, `envs/staging/`,
`clusters/staging/`, `staging/`) or a file named after it (`values-staging.yaml`,
`values.staging.yaml`, `staging.yaml`, `web-staging.yaml`). Candidates are then screened
cheaply on their raw bytes for the image's name (its last path component, as a word); the
editing engine does the real match later, so a false positive costs a parse, never a wrong
edit.

Aliases: `prod`/`production` and `stage`/`staging` stand for each other only when the name
asked for matches no file at all. A repo using both spellings for different things keeps
the exact one, so the fallback never mixes two environments.

Also owns the path-escape check every module uses before touching a repository path.
Knows nothing of promoter.yaml, YAML parsing, git or forges.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path, PurePosixPath

from promoter.errors import PathEscapeError, TargetNotFoundError
from promoter.imageref import ImageRef

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATION = "Kustomization"
ENV_CONTAINERS = frozenset({"overlays", "envs", "env", "environments", "clusters", "stages"})
"""Directories whose children are environments (`overlays/<env>/`)."""
KNOWN_ENVIRONMENTS = frozenset({
    "dev", "develop", "development", "test", "testing", "qa", "uat", "integration", "stage",
    "staging", "preprod", "pre-prod", "prod", "production", "sandbox", "demo", "preview",
})  # fmt: skip
"""Names recognised as environments wherever they appear as a directory or file name."""
NOT_ENVIRONMENTS = frozenset({
    "base", "bases", "common", "shared", "default", "defaults", "components", "templates",
})  # fmt: skip
ALIASES = {"prod": "production", "production": "prod", "stage": "staging", "staging": "stage"}
SKIPPED_FILES = frozenset({"Chart.yaml", "Chart.lock"})
"""Helm chart metadata names the app but never holds an image."""
MAX_SCREEN_BYTES = 8 * 1024 * 1024
"""Larger files are generated bundles, not hand-kept targets; they are not screened."""

_NAME_PARTS = re.compile(r"[-._]")
_VALUES_NAME = re.compile(r"^values[-._](?P<a>.+)$|^(?P<b>.+)[-._]values$")


def resolve_in_repo(root: Path, relative: str, *, field: str | None = None) -> Path:
    """`root / relative`, once it is known to stay inside `root`; else `PathEscapeError`.

    Refuses absolute paths, any `..` segment, and paths that a symlink leads outside the
    root. The result keeps `root`'s spelling (so `relative_to(root)` works); a writer that
    must replace a link's target rather than the link resolves it itself. The path need
    not exist.
    """
    normal = normalize_relative(relative, field=field)
    real_root = root.resolve()
    real = (real_root / normal).resolve()
    if real != real_root and not real.is_relative_to(real_root):
        raise PathEscapeError(
            f"{relative!r} resolves outside the repository through a symlink", field=field
        )
    return root if normal == "." else root / normal


def normalize_relative(relative: str, *, field: str | None = None) -> str:
    """`relative` as a clean POSIX path (`./a//b/` → `a/b`), or `PathEscapeError`."""
    if not relative:
        raise PathEscapeError("expected a relative path, got an empty string", field=field)
    if "\\" in relative:
        raise PathEscapeError(f"use '/' to separate directories in {relative!r}", field=field)
    if relative.startswith("/") or re.match(r"[A-Za-z]:", relative):
        raise PathEscapeError(
            f"expected a path relative to the repository root, got absolute {relative!r}",
            field=field,
        )
    if ".." in relative.split("/"):
        raise PathEscapeError(
            f"{relative!r} must stay inside the repository ('..' is not allowed)", field=field
        )
    return PurePosixPath(relative).as_posix()


def list_environments(root: Path) -> list[str]:
    """Environment names the repository's layout suggests, sorted."""
    return _environments(_yaml_files(root, root))


def discover_targets(root: Path, env: str, repository: ImageRef) -> list[Path]:
    """Files of `env` that may reference `repository`, sorted; never empty.

    Raises `TargetNotFoundError` when no file belongs to `env` (naming the environments
    that do exist), or when none of its files mentions the image.
    """
    files = _yaml_files(root, root)
    candidates = [r for r in files if _belongs_to(r, env)]
    alias = ALIASES.get(env)
    if not candidates and alias is not None:
        candidates = [r for r in files if _belongs_to(r, alias)]
    if not candidates:
        known = _environments(files)
        raise TargetNotFoundError(
            f"no files for environment {env!r} in {root}; environments found: "
            f"{', '.join(known) or 'none'}{did_you_mean(env, known)}"
        )
    found = [root / relative for relative in candidates if _mentions(root, relative, repository)]
    if not found:
        raise TargetNotFoundError(
            f"no file for environment {env!r} in {root} mentions {repository.app_name!r} "
            f"(looked at {_summary(candidates)})"
        )
    return found


def search_directory(root: Path, directory: str, repository: ImageRef) -> list[Path]:
    """YAML files under `directory` (relative to `root`) that may reference `repository`.

    This is a `directory:` target of promoter.yaml; raises `TargetNotFoundError` when the
    directory is missing or no file in it mentions the image.
    """
    start = resolve_in_repo(root, directory)
    if not start.is_dir():
        raise TargetNotFoundError(f"directory {directory!r} not found in {root}")
    candidates = _yaml_files(root, start)
    found = [root / r for r in candidates if _mentions(root, r, repository)]
    if not found:
        looked = _summary(candidates) if candidates else "no YAML files"
        raise TargetNotFoundError(
            f"no file under {directory!r} mentions {repository.app_name!r} (looked at {looked})"
        )
    return found


def did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _environments(files: list[PurePosixPath]) -> list[str]:
    return sorted({env for relative in files for env in _inferred_environments(relative)})


def _belongs_to(relative: PurePosixPath, env: str) -> bool:
    """A directory segment is `env`, or the file name is `env` among `-`/`.`/`_` parts.

    A values file names exactly one environment (`values-pre-staging.yaml` is not staging).
    """
    if env in relative.parts[:-1]:
        return True
    stem = _stem(relative.name)
    values = _VALUES_NAME.match(stem)
    if values:
        return (values.group("a") or values.group("b")) == env
    parts, wanted = _NAME_PARTS.split(stem), _NAME_PARTS.split(env)
    return any(parts[i : i + len(wanted)] == wanted for i in range(len(parts) - len(wanted) + 1))


def _inferred_environments(relative: PurePosixPath) -> set[str]:
    found: set[str] = set()
    directories = relative.parts[:-1]
    for index, part in enumerate(directories):
        after_container = index > 0 and directories[index - 1] in ENV_CONTAINERS
        if part in KNOWN_ENVIRONMENTS or after_container:
            found.add(part)
    stem = _stem(relative.name)
    values = _VALUES_NAME.match(stem)
    if values:
        found.add(values.group("a") or values.group("b"))
    elif stem in KNOWN_ENVIRONMENTS:
        found.add(stem)
    return found - NOT_ENVIRONMENTS


def _stem(name: str) -> str:
    for suffix in YAML_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _yaml_files(root: Path, start: Path) -> list[PurePosixPath]:
    """YAML files under `start` relative to `root`, sorted; hidden names and links out skipped.

    Symlinked directories are not entered (no loops); a symlinked file counts only if it
    resolves inside the root.
    """
    real_root = root.resolve()
    found: list[PurePosixPath] = []
    for directory, dirnames, filenames in os.walk(start, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not _is_yaml_name(filename):
                continue
            path = Path(directory, filename)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                continue
            found.append(PurePosixPath(path.relative_to(root).as_posix()))
    return sorted(found)


def _is_yaml_name(filename: str) -> bool:
    if filename.startswith(".") or filename in SKIPPED_FILES:
        return False
    return filename == KUSTOMIZATION or filename.endswith(YAML_SUFFIXES)


def _mentions(root: Path, relative: PurePosixPath, repository: ImageRef) -> bool:
    """Token screen on the file, or for a Helm values override on its chart's `values.yaml`.

    The image's last path component must appear as a word of its own: `api` does not
    match `apiVersion` or `acme/api-gateway`, so every manifest is not a candidate for `api`.
    """
    token = re.compile(rb"(?<![\w.-])" + re.escape(repository.app_name.encode()) + rb"(?![\w-])")
    path = root / relative
    if _contains(path, token):
        return True
    if _VALUES_NAME.match(_stem(relative.name)):
        return any(_contains(path.with_name(n), token) for n in ("values.yaml", "values.yml"))
    return False


def _contains(path: Path, token: re.Pattern[bytes]) -> bool:
    try:
        if path.stat().st_size > MAX_SCREEN_BYTES:
            return False
        return token.search(path.read_bytes()) is not None
    except OSError:
        return False


def _summary(paths: list[PurePosixPath], limit: int = 5) -> str:
    names = [p.as_posix() for p in paths[:limit]]
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(names) + more
