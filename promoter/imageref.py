"""Container image references, parsed and formatted per the OCI distribution grammar.

The grammar is the one of `distribution/reference` (what docker, containerd and kustomize
use), including Docker Hub's normalisation: `web`, `docker.io/library/web` and
`index.docker.io/library/web` name the same repository. Owns no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from promoter.errors import ImageRefError
from promoter.sinks import excerpt

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|-+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
)
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha512": 128}
"""The registered algorithms (OCI image spec, descriptor.md); any other is refused."""
_NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed reference. `registry`/`path` are as written; use `repository` to compare."""

    registry: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository as written (`ghcr.io/acme/web`, `nginx`)."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def repository(self) -> str:
        """Canonical repository: `nginx` → `docker.io/library/nginx`."""
        registry = self.registry or DOCKER_HUB
        if registry in _HUB_ALIASES:
            registry = DOCKER_HUB
            path = self.path if "/" in self.path else f"library/{self.path}"
            return f"{registry}/{path}"
        return f"{registry}/{self.path}"

    @property
    def app_name(self) -> str:
        """The last path component, the default application name (`ghcr.io/acme/web` → `web`)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def version(self) -> str:
        """What a user calls the version: the tag, else the digest."""
        return self.tag or self.digest or ""

    def same_repository(self, other: ImageRef) -> bool:
        return self.repository == other.repository

    def with_version(self, tag: str | None, digest: str | None) -> ImageRef:
        return ImageRef(self.registry, self.path, tag, digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef:
    """Parse `[registry[:port]/]path[:tag][@digest]`; raise `ImageRefError` naming the bad part."""
    if not isinstance(text, str) or not text:
        raise ImageRefError("empty image reference")
    if text != text.strip() or any(c.isspace() for c in text):
        raise ImageRefError(f"invalid image reference {_shown(text)}: contains whitespace")
    rest = text
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        _check_digest(text, digest)
    tag: str | None = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not TAG_PATTERN.fullmatch(tag):
            raise ImageRefError(
                f"invalid image reference {_shown(text)}: bad tag {_shown(tag)} "
                "(letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
            )
    if not rest:
        raise ImageRefError(f"invalid image reference {_shown(text)}: missing repository name")
    registry, path = _split_registry(rest)
    if registry is not None and not _DOMAIN.fullmatch(registry):
        raise ImageRefError(
            f"invalid image reference {_shown(text)}: bad registry host {_shown(registry)}"
        )
    if not path:
        raise ImageRefError(f"invalid image reference {_shown(text)}: missing repository path")
    for component in path.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            hint = " (must be lowercase)" if component.lower() != component else ""
            raise ImageRefError(
                f"invalid image reference {_shown(text)}: "
                f"bad path component {_shown(component)}{hint}"
            )
    if len(rest) > _NAME_MAX:
        raise ImageRefError(f"invalid image reference {_shown(text)}: name longer than {_NAME_MAX}")
    return ImageRef(registry, path, tag, digest)


def find_image_ref(text: str) -> ImageRef | None:
    """Like `parse_image_ref`, but `None` for text that is not a reference. Every finder
    asks about every image-like value of every file it reads: a short text is answered
    once per run (a reference's parts are immutable)."""
    if not isinstance(text, str) or len(text) > _CACHED_TEXT:
        return _find_image_ref(text)
    return _find_cached(text)


def _find_image_ref(text: str) -> ImageRef | None:
    try:
        return parse_image_ref(text)
    except ImageRefError:
        return None


_find_cached = functools.lru_cache(maxsize=65536)(_find_image_ref)
_CACHED_TEXT = 512
"""Longer than any reference can be (a 255-character name, a 128-character tag and a
sha512 digest), so kept out of the table: it holds no large text."""


def is_valid_tag(tag: str) -> bool:
    return TAG_PATTERN.fullmatch(tag) is not None


def parse_digest(text: str) -> str:
    """Validate a bare digest (`sha256:…`) and return it."""
    _check_digest(text, text)
    return text


def _shown(text: str) -> str:
    """Untrusted input in a message: short, quoted, control characters escaped."""
    return excerpt(text, 80)


def _split_registry(name: str) -> tuple[str | None, str]:
    """Docker's rule: the first component is a host if it has `.` or `:`, or is `localhost`."""
    if "/" not in name:
        return None, name
    first, path = name.split("/", 1)
    if "." in first or ":" in first or first == "localhost" or first != first.lower():
        return first, path
    return None, name


def _check_digest(reference: str, digest: str) -> None:
    if not _DIGEST.fullmatch(digest):
        raise ImageRefError(
            f"invalid image reference {_shown(reference)}: bad digest {_shown(digest)} "
            "(expected algorithm:hex)"
        )
    algorithm, hexpart = digest.split(":", 1)
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is None:
        # Only the OCI image spec's registered algorithms: a registry resolves nothing else,
        # and a weak one (md5, sha1) would pin an image anyone can collide with.
        raise ImageRefError(
            f"invalid image reference {_shown(reference)}: unsupported digest algorithm "
            f"{_shown(algorithm)} (sha256 or sha512)"
        )
    if len(hexpart) != expected:
        raise ImageRefError(
            f"invalid image reference {_shown(reference)}: {algorithm} digest needs {expected} hex "
            f"digits, got {len(hexpart)}"
        )
    if hexpart != hexpart.lower():
        # go-digest validates sha256/sha512 as [a-f0-9]: docker and containerd refuse uppercase.
        raise ImageRefError(
            f"invalid image reference {_shown(reference)}: {algorithm} digest must be lowercase hex"
        )
