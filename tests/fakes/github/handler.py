"""The fake GitHub's connections: git smart-HTTP paths go to `git http-backend`, the rest is
the API.

Each API request is read (chunked or sized), possibly dropped (`drop_next`), served by
`api.py`, recorded in the call log and validated (`openapi.py`) before it is answered, so a
test that has its response can read both. git requests get the same token checks, plus the
installation tokens the fake's App minted; with `bad_credentials` they get 401 too.
"""

from __future__ import annotations

import json
import re
import time
from socket import IPPROTO_TCP, TCP_NODELAY, socket
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from ..githttp import GitHttpServer, _GitHandler, _parse_authorization, _Response
from ..server import LoopbackServer
from . import openapi
from .rest import DOCS, JSON, Answer, Call, error_body, phrase

if TYPE_CHECKING:
    from .server import FakeGitHub

_GIT_PATH = re.compile(r"^/[^/]+/[^/]+\.git(?:/|$)")


class GitBackend(GitHttpServer):
    """`git http-backend` that also takes the installation tokens the fake's App minted."""

    def __init__(self, fake: FakeGitHub, *, lifetime: float) -> None:
        super().__init__(fake.root, token=fake.token, lifetime=lifetime)
        self._fake = fake

    def authenticate(self, header: str | None) -> tuple[bool, str | None]:
        ok, user = super().authenticate(header)
        if ok:
            return ok, user
        user, secret = _parse_authorization(header)
        if secret is not None and self._fake._minted_token_valid(secret.decode("utf-8", "replace")):
            return True, user or "git"
        return False, None


class RequestHandler(_GitHandler):
    """One connection: git smart-HTTP paths go to `git http-backend`, the rest is the API."""

    server_version = "GitHub.com"

    def __init__(
        self,
        request: socket,
        client_address: tuple[str, int],
        server: LoopbackServer,
        *,
        git: GitHttpServer,
        fake: FakeGitHub,
    ) -> None:
        self.fake = fake
        super().__init__(request, client_address, server, git=git)

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in two writes, and with delayed ACKs every
        keep-alive exchange would otherwise stall ~40 ms."""
        super().setup()
        self.connection.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if _GIT_PATH.match(url.path):
            if self.fake.revoked:
                self._read_rest_body()
                challenge = [("WWW-Authenticate", 'Basic realm="GitHub"')]
                denied = _Response(401, "Unauthorized", challenge, b"")
                self._finish(unquote(url.path), url.query, denied, 0, auth_ok=False)
            else:
                self._exchange()
            return
        raw_body = self._read_rest_body()
        stall = self.fake._take_hangup(self.command, url.path)
        if stall is not None:
            time.sleep(stall)
            self.close_connection = True  # no status line: the client sees the line drop
            return
        self._serve_api(url.path, url.query, raw_body)

    def _read_rest_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve_api(self, raw_path: str, raw_query: str, raw_body: bytes) -> None:
        fake = self.fake
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        method = self.command
        body: JSON = None
        answer: Answer | None = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                answer = Answer(400, error_body(400, "Problems parsing JSON", DOCS))
        validation_path: str | None = None
        try:
            if answer is None:
                answer, validation_path = fake._api.serve(
                    method, raw_path, query, body, self.headers.get("Authorization")
                )
        except Exception as error:  # a fake bug: answer 500 and let the test see it
            self.server.errors.append(error)  # type: ignore[attr-defined]
            answer = Answer(500, {"message": "Server Error"})
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = fake._api.common_headers(raw_path, answer)
        # Record and validate before answering: once the client has its response, the test
        # may read `calls` and `validation_errors`.
        fake._record(Call(method, raw_path, query, answer.status, body, answer.body))
        if fake.validate and validation_path is not None:
            openapi.validate(
                fake,
                method,
                validation_path,
                query,
                self.headers,
                raw_body,
                payload,
                answer.status,
                headers,
            )
        self.send_response(answer.status, phrase(answer.status))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
