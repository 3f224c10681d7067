"""Where the config repository lives: a path or URL, checked before git ever sees it.

A URL is where tokens hide and what git and errors echo, so one that could carry a
credential is refused here, with a message that never quotes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from promoter.errors import InputError


@dataclass(frozen=True, slots=True)
class Remote:
    """Where the config repository lives; `url` never carries credentials."""

    url: str
    origin: str | None
    """`scheme://host[:port]/` for http(s) remotes: the scope of the auth header."""

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.origin else None

    @property
    def is_local(self) -> bool:
        return self.origin is None


_SCP_LIKE = re.compile(r"[^/:]{2,}:(?!//).*", re.DOTALL)
"""`git@host:owner/repo.git`, `host:repo`: git's scp-like SSH syntax (a colon before any
slash; a one-letter "host" is a Windows drive)."""
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f-\x9f]")
CREDENTIALS_REFUSED = (
    "credentials in the URL are refused (the URL must not contain credentials: URLs end up "
    "in errors and logs); pass the token in GITHUB_TOKEN/GITLAB_TOKEN/PROMOTER_TOKEN"
)


def parse_remote(text: str, *, field: str = "--config-repo") -> Remote:
    """A local path, `file://` URL or `http(s)://` URL.

    A URL is where tokens hide (`https://user:tok@host/...`, `?private_token=...`), and a
    URL is echoed by git and by errors: one with credentials, a query, a fragment or control
    characters is refused with a message that never quotes it. SSH is refused by name.
    """
    if _SCP_LIKE.fullmatch(text) and not Path(text).exists():
        raise InputError("SSH is not supported: use the https URL and a token", field=field)
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if "@" in parts.netloc:  # `user:token@`, `token@`, even an empty `@`
            raise InputError(CREDENTIALS_REFUSED, field=field)
        if parts.query or parts.fragment or "?" in text or "#" in text:
            raise InputError(
                "a query string or fragment in the URL is refused (tokens hide there); "
                "pass the token in GITHUB_TOKEN/GITLAB_TOKEN/PROMOTER_TOKEN",
                field=field,
            )
        if _UNSAFE_URL.search(text):
            raise InputError("the URL holds spaces or control characters", field=field)
        try:
            hostname, port = parts.hostname, parts.port
        except ValueError:  # a port that is not a number
            hostname = port = None
        if not hostname:
            raise InputError("not a repository URL: https://host/owner/repo.git", field=field)
        shown_port = f":{port}" if port else ""
        return Remote(text, f"{parts.scheme}://{hostname}{shown_port}/")
    if parts.scheme in ("ssh", "git+ssh", "ssh+git"):
        raise InputError("SSH is not supported: use the https URL and a token", field=field)
    if parts.scheme == "file":
        if "@" in parts.netloc or parts.query or parts.fragment or _UNSAFE_URL.search(text):
            raise InputError(
                "a file:// URL holds a path only: no credentials, query or fragment", field=field
            )
        return Remote(text, None)
    if parts.scheme and len(parts.scheme) > 1:
        raise InputError(
            f"unsupported URL scheme {parts.scheme!r}: use https://, file:// or a path",
            field=field,
        )
    if "\0" in text:
        raise InputError("the path holds a NUL character", field=field)
    return Remote(Path(text).resolve().as_uri(), None)
