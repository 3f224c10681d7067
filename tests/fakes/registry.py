"""An OCI distribution registry on loopback, for `promote --verify-image`.

It holds manifests by repository and by tag or digest and answers
`HEAD`/`GET /v2/<name>/manifests/<reference>` as the distribution spec says: 200 with
`Docker-Content-Digest`, `Content-Type` and `Content-Length`; 404 with the spec's error body
(`{"errors": [{"code": "MANIFEST_UNKNOWN" | "NAME_UNKNOWN", ...}]}`), and a manifest whose
media type the request's `Accept` does not list is unknown, as registries treat it. With
`auth="bearer"` it asks for a token the way registries do: 401 with `WWW-Authenticate:
Bearer realm="<url>/token",service="fake-registry",scope="repository:<name>:pull"`, and a
`/token` endpoint that checks the service, the scope and basic credentials (or, with
`anonymous`, none) and answers `{"token": ...}`. With `auth="basic"` it asks for basic
credentials. It records every request (never a credential), can fail the next ones with a
status, and stops itself after `lifetime` seconds. promoter must not import this.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Literal
from urllib.parse import SplitResult, parse_qs, urlsplit

from .server import serve

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SERVICE = "fake-registry"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_MANIFEST_PATH = re.compile(rf"/v2/({_COMPONENT}(?:/{_COMPONENT})*)/manifests/([^/]+)")
_SCOPE = re.compile(rf"repository:({_COMPONENT}(?:/{_COMPONENT})*):([a-z,*]+)")

Auth = Literal["none", "bearer", "basic"]


@dataclass(frozen=True, slots=True)
class Request:
    """One exchange as the registry saw it: the kind of credentials, never their value."""

    method: str
    path: str
    query: str
    status: int
    authorization: str
    """`none`, `basic` or `bearer`."""
    accept: str


class FakeRegistry:
    """The registry on http://127.0.0.1:<port>; use as a context manager."""

    def __init__(
        self,
        *,
        auth: Auth = "none",
        username: str = "puller",
        password: str | None = None,
        anonymous: bool = False,
        head: bool = True,
        digest_header: bool = True,
        token_field: str = "token",
        realm: str | None = None,
        lifetime: float = 120.0,
    ) -> None:
        self.auth = auth
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self.anonymous = anonymous
        self.head = head
        """False: HEAD on a manifest answers 405 (a registry that serves GET only)."""
        self.digest_header = digest_header
        self.token_field = token_field
        self.realm = realm
        """The challenge's realm instead of this registry's own `/token`."""
        self.lifetime = lifetime
        self.url = ""
        self.host = ""
        """`127.0.0.1:<port>`: the registry as an image reference names it."""
        self.requests: list[Request] = []
        self.issued: list[str] = []
        """Every token the `/token` endpoint gave out."""
        self._manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._grants: dict[str, set[str]] = {}
        self._faults: list[tuple[re.Pattern[str], int]] = []
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._errors: list[BaseException] = []

    def __repr__(self) -> str:  # the password stays out of assertion messages
        return f"FakeRegistry(url={self.url!r}, auth={self.auth!r})"

    def __enter__(self) -> FakeRegistry:
        with ExitStack() as stack:
            server = stack.enter_context(
                serve(partial(_Handler, registry=self), lifetime=self.lifetime)
            )
            self.url = server.url
            self.host = f"127.0.0.1:{server.port}"
            self._errors = server.errors
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions in handler threads (empty when all went well)."""
        return list(self._errors)

    def push(self, repository: str, tag: str | None, *, media_type: str = OCI_MANIFEST) -> str:
        """Store a new manifest (a distinct one each call) under its digest and `tag` (which
        moves if it was elsewhere); return the digest."""
        config = "sha256:" + hashlib.sha256(secrets.token_bytes(16)).hexdigest()
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media_type,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config,
                    "size": 2,
                },
                "layers": [],
            },
            separators=(",", ":"),
        ).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        with self._lock:
            self._manifests[(repository, digest)] = (media_type, body)
            if tag is not None:
                self._manifests[(repository, tag)] = (media_type, body)
        return digest

    def delete(self, repository: str, tag: str) -> None:
        """Untag: the manifest stays under its digest."""
        with self._lock:
            del self._manifests[(repository, tag)]

    def fail_next(self, status: int, *, times: int = 1, path_regex: str = "") -> None:
        """Answer the next `times` requests whose path matches with `status`, before any
        authentication: a proxy or an overloaded registry."""
        with self._lock:
            self._faults += [(re.compile(path_regex), status)] * times

    def count(self, method: str | None = None, path_regex: str = "") -> int:
        """Requests seen (of `method`, with a path that `path_regex` finds)."""
        pattern = re.compile(path_regex)
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and pattern.search(r.path)
            )

    # -- used by the handler ------------------------------------------------------------------

    def take_fault(self, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault[0].search(path):
                    self._faults.remove(fault)
                    return fault[1]
        return None

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def lookup(self, repository: str, reference: str) -> tuple[str, bytes] | str:
        """The manifest (media type, bytes), or the spec's error code."""
        with self._lock:
            if not any(name == repository for name, _ in self._manifests):
                return "NAME_UNKNOWN"
            return self._manifests.get((repository, reference), "MANIFEST_UNKNOWN")

    def is_basic(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            return False
        return bool(sep) and hmac.compare_digest(
            f"{user}:{password}".encode(), f"{self.username}:{self.password}".encode()
        )

    def grant(self, scope: str) -> str:
        token = "fake-token-" + secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = {scope}
            self.issued.append(token)
        return token

    def is_granted(self, header: str, repository: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self._lock:
            scopes = self._grants.get(token.strip(), set())
        for scope in scopes:
            match = _SCOPE.fullmatch(scope)
            if match and match[1] == repository and {"pull", "*"} & set(match[2].split(",")):
                return True
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args: object, registry: FakeRegistry, **kwargs: object) -> None:
        self.registry = registry
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_HEAD(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        fault = self.registry.take_fault(parts.path)
        if fault is not None:
            self._answer(fault, _errors("UNAVAILABLE", "injected fault"), parts)
            return
        if parts.path == "/token" and self.command == "GET":
            self._token(parts)
            return
        match = _MANIFEST_PATH.fullmatch(parts.path)
        if parts.path != "/v2/" and match is None:
            self._answer(404, _errors("NOT_FOUND", "no such endpoint"), parts)
            return
        repository = match[1] if match else ""
        if not self._authorised(repository, parts):
            return
        if match is None:  # the API version check
            self._answer(200, b"{}", parts)
            return
        if self.command == "HEAD" and not self.registry.head:
            self._answer(405, _errors("UNSUPPORTED", "HEAD not allowed"), parts)
            return
        found = self.registry.lookup(repository, match[2])
        accept = self.headers.get("Accept", "")
        if not isinstance(found, str) and accept and found[0] not in accept:
            found = "MANIFEST_UNKNOWN"  # not a type the client takes
        if isinstance(found, str):
            self._answer(404, _errors(found, found.lower().replace("_", " ")), parts)
        else:
            media_type, body = found
            headers = {"Content-Type": media_type}
            if self.registry.digest_header:
                headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
            self._answer(200, body, parts, headers)

    def _authorised(self, repository: str, parts: SplitResult) -> bool:
        registry, header = self.registry, self.headers.get("Authorization", "")
        if registry.auth == "basic" and not registry.is_basic(header):
            challenge = f'Basic realm="{SERVICE}"'
        elif registry.auth == "bearer" and not registry.is_granted(header, repository):
            scope = f',scope="repository:{repository}:pull"' if repository else ""
            realm = registry.realm or f"{registry.url}/token"
            challenge = f'Bearer realm="{realm}",service="{SERVICE}"{scope}'
        else:
            return True
        body = _errors("UNAUTHORIZED", "authentication required")
        self._answer(401, body, parts, {"WWW-Authenticate": challenge})
        return False

    def _token(self, parts: SplitResult) -> None:
        registry = self.registry
        query = parse_qs(parts.query)
        header = self.headers.get("Authorization", "")
        scope = (query.get("scope") or [""])[0]
        if (query.get("service") or [""])[0] != SERVICE or not _SCOPE.fullmatch(scope):
            self._answer(400, _errors("DENIED", "bad service or scope"), parts)
        elif header and not registry.is_basic(header):
            self._answer(401, _errors("UNAUTHORIZED", "bad credentials"), parts)
        elif not header and not registry.anonymous:
            self._answer(401, _errors("UNAUTHORIZED", "credentials required"), parts)
        else:
            answer = {registry.token_field: registry.grant(scope), "expires_in": 300}
            self._answer(200, json.dumps(answer).encode(), parts)

    def _answer(
        self, status: int, body: bytes, parts: SplitResult, headers: dict[str, str] | None = None
    ) -> None:
        header = self.headers.get("Authorization", "")
        kind = header.partition(" ")[0].lower() or "none"
        self.registry.record(
            Request(
                self.command, parts.path, parts.query, status, kind,
                self.headers.get("Accept", ""),
            )
        )  # fmt: skip
        self.send_response(status)
        content = {"Content-Type": "application/json", **(headers or {})}
        for name, value in content.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _errors(code: str, message: str) -> bytes:
    """The distribution spec's error body."""
    return json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()
