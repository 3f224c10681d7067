"""HTTP for the direct transport: kept-alive connections to one repository's endpoints.

Stateless requests (`http.client`, no redirects followed: a token never leaves its origin);
the token travels only as the `Authorization` header that `Auth` gives git, to the
remote's own origin, never in a URL, an exception or a log. HTTP statuses and network
failures become the `GitError`s git would give. Knows nothing of git's protocol.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from promoter.errors import GitAuthError, GitError
from promoter.redact import redact
from promoter.repo.auth import Auth
from promoter.repo.remote import Remote

AGENT = "git/2.39-promoter"
"""Servers serve smart HTTP to agents that say `git/`."""
TIMEOUT = 60.0
"""Seconds any one socket operation may take (connect, send, each read)."""


class DirectUnsupportedError(GitError):
    """The remote needs git's own transport (the caller falls back to it)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes


class HttpClient:
    """Stateless requests to one repository's smart-HTTP endpoints, connections kept alive."""

    def __init__(
        self,
        remote: Remote,
        auth: Auth | None,
        *,
        cafile: str | None = None,
        capath: str | None = None,
    ) -> None:
        parts = urlsplit(remote.url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = parts.path.rstrip("/")
        self.cafile = cafile
        self.capath = capath
        self.calls = 0
        self._header = None
        if auth is not None and remote.origin == auth.origin:
            basic = base64.b64encode(f"{auth.user}:{auth.token.reveal()}".encode()).decode()
            self._header = f"Basic {basic}"
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One exchange; a connection the server closed while idle is replaced once, by a
        new one: the other idle connections are as old, so they are closed too (a long
        local step, such as reading 8,000 apps, outlasts a server's keep-alive)."""
        sent = {"User-Agent": AGENT, "Accept-Encoding": "identity", **(headers or {})}
        if self._header is not None:
            sent["Authorization"] = self._header
        with self._lock:
            self.calls += 1
        for attempt in (0, 1):
            connection, reused = self._connection(fresh=attempt > 0)
            try:
                connection.request(method, f"{self.path}/{endpoint}", body=body, headers=sent)
                answer = connection.getresponse()
                data = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                connection.close()
                if reused and attempt == 0:
                    continue
                raise _network_error(endpoint, exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise _network_error(endpoint, exc) from exc
            if answer.will_close:
                connection.close()
            else:
                with self._lock:
                    self._idle.append(connection)
            return Response(answer.status, answer.getheader("Content-Type") or "", data)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, *, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        if fresh:
            self.close()
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        if self.https:
            context = ssl.create_default_context(cafile=self.cafile, capath=self.capath)
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=TIMEOUT, context=context
            ), False
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT), False

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _network_error(endpoint: str, error: BaseException) -> GitError:
    detail = redact(str(error) or type(error).__name__)
    return GitError(f"{endpoint}: the connection to the remote failed: {detail}", transient=True)


def check_status(response: Response, what: str, *, pushing: bool = False) -> None:
    """An HTTP status that is no answer, as the `GitError` git would give."""
    status = response.status
    if status == 200:
        return
    if 300 <= status < 400:
        raise DirectUnsupportedError(f"{what}: the server redirects (HTTP {status})")
    if status in (401, 403):
        can = "read and push to" if pushing else "read"
        raise GitAuthError(
            f"{what}: the remote refused the credentials; set PROMOTER_TOKEN to a token that "
            f"can {can} the config repository (HTTP {status})"
        )
    raise GitError(
        f"{what}: the remote answered HTTP {status}", transient=status >= 500 or status == 429
    )
