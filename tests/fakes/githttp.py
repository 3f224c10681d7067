"""A git smart-HTTP server on loopback: the real `git http-backend` CGI behind token auth.

It owns HTTP framing (Content-Length and chunked request bodies, keep-alive), token checks,
the optional link throttle and request statistics. Git itself (refs, packs, protocol v2,
filters) is entirely `git http-backend`, run once per request with an argv list and a clean
env, configured through `GIT_CONFIG_*` so the repositories under `root` are never edited.
promoter must not import this; tests, e2e scenarios and benchmarks do.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache, partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socket import socket
from types import TracebackType
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from .server import LoopbackServer, serve

_CHUNK = 16 * 1024
_CGI_TIMEOUT = 120.0
_MAX_CHUNK_LINE = 1024
_END_OF_CGI_HEADERS = re.compile(rb"\r?\n\r?\n")
_HOP_BY_HOP = {"status", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass(frozen=True, slots=True)
class Throttle:
    """A CI runner's link: each HTTP request costs one round trip, bodies move at the bandwidth."""

    bandwidth: float = 50e6 / 8  # bytes per second, shared by all connections (one link)
    rtt: float = 0.030  # seconds added per request/response exchange


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP exchange as the server saw it; never holds credentials."""

    method: str
    path: str
    query: str
    status: int
    auth_ok: bool
    bytes_in: int  # request body bytes (de-chunked, still gzipped if the client gzipped)
    bytes_out: int  # response body bytes
    started: float = field(default=0.0, compare=False)  # monotonic: the request arrived
    ended: float = field(default=0.0, compare=False)  # its answer goes out (after the rtt)


def sequential_exchanges(requests: list[Request]) -> int:
    """Round trips a client waited for one after another: the longest chain of exchanges
    each starting after the previous one ended (requests in flight together count once)."""
    count, last = 0, float("-inf")
    for request in sorted(requests, key=lambda r: r.ended):
        if request.started >= last:
            count, last = count + 1, request.ended
    return count


class _Link:
    """One shared link: transfers queue behind each other at `bandwidth` bytes/s.

    A token bucket with no burst: each transfer reserves the next free slot on the link under
    the lock, then sleeps outside it, so concurrent clients share the bandwidth fairly.
    """

    def __init__(self, bandwidth: float) -> None:
        if bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth}")
        self._rate = bandwidth
        self._lock = threading.Lock()
        self._free_at = 0.0

    def transfer(self, nbytes: int) -> None:
        with self._lock:
            start = max(time.monotonic(), self._free_at)
            self._free_at = start + nbytes / self._rate
            done = self._free_at
        delay = done - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class _Response(NamedTuple):
    status: int
    reason: str
    headers: list[tuple[str, str]]
    payload: bytes


class _BadRequestError(Exception):
    """The request framing is broken; answer 400 and drop the connection."""


@cache
def _http_backend() -> str:
    """Path of the `git http-backend` CGI (it is not on PATH, it lives in git's exec-path)."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    return str(Path(exec_path) / "git-http-backend")


class GitHttpServer:
    """`git http-backend` on http://127.0.0.1:<port>, serving the bare repositories under `root`.

    Use as a context manager. With a `token`, every request needs `Authorization: Basic
    base64(<any user>:<token>)` or `Authorization: Bearer <token>`, else 401. Push is enabled,
    filters follow `allow_filter`, and any object may be fetched by id (the partial-clone design
    relies on fetching trees by oid). Statistics are updated under a lock and may be read any time.
    """

    def __init__(
        self,
        root: Path,
        *,
        token: str | None = "s3cret",
        throttle: Throttle | None = None,
        allow_filter: bool = True,
        lifetime: float = 600.0,
        push_options: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        self.push_options = push_options
        self.throttle = throttle
        self.allow_filter = allow_filter
        self.lifetime = lifetime
        self._token = token.encode() if token is not None else None
        self._link = _Link(throttle.bandwidth) if throttle is not None else None
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._stack = ExitStack()
        self._server: LoopbackServer | None = None
        self._home = ""
        self.url = ""
        self.bytes_sent = 0
        self.bytes_received = 0
        self.requests: list[Request] = []
        self._faults: list[tuple[re.Pattern[str], int]] = []

    def __repr__(self) -> str:  # the token stays out of reprs, logs and assertion messages
        return f"GitHttpServer(root={self.root!s}, url={self.url!r})"

    def __enter__(self) -> GitHttpServer:
        with ExitStack() as stack:
            self._home = stack.enter_context(tempfile.TemporaryDirectory(prefix="githttp-home-"))
            stack.callback(self._kill_backends)
            handler = partial(_GitHandler, git=self)
            self._server = stack.enter_context(serve(handler, lifetime=self.lifetime))
            self.url = self._server.url
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
        """Unexpected exceptions raised in handler threads (empty when all went well)."""
        return self._server.errors if self._server is not None else []

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def reset_stats(self) -> None:
        """Zero the byte counters and clear `requests` (in place, so held references see it)."""
        with self._lock:
            self.bytes_sent = 0
            self.bytes_received = 0
            self.requests.clear()

    def fail_next(self, status: int, path_regex: str = "", *, times: int = 1) -> None:
        """Answer the next `times` requests whose `path?query` matches `path_regex` with
        `status` and a plain-text body, before the token is checked: what a proxy or a load
        balancer in front of git answers (503, 502, 429). Recorded in `requests` as usual."""
        with self._lock:
            self._faults += [(re.compile(path_regex), status)] * times

    # -- used by the handler ------------------------------------------------------------------

    def take_fault(self, path: str, query: str) -> int | None:
        """The status of the first injected fault this request matches (used up), or None."""
        with self._lock:
            for fault in self._faults:
                if fault[0].search(f"{path}?{query}"):
                    self._faults.remove(fault)
                    return fault[1]
        return None

    def authenticate(self, header: str | None) -> tuple[bool, str | None]:
        """Return (ok, user) for an Authorization header; constant-time token comparison."""
        user, secret = _parse_authorization(header)
        if self._token is None:
            return True, user
        if secret is None or not hmac.compare_digest(secret, self._token):
            return False, None
        return True, user or "git"

    def meter(self, nbytes: int) -> None:
        """Spend `nbytes` of link time (no-op without a throttle)."""
        if self._link is not None and nbytes:
            self._link.transfer(nbytes)

    def add_received(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_received += nbytes

    def record(self, request: Request) -> None:
        """Record an exchange before its body is written, so a client that has finished always
        finds its requests here (the count assumes the client reads the whole body)."""
        with self._lock:
            self.requests.append(request)
            self.bytes_sent += request.bytes_out

    def cgi_env(self, variables: dict[str, str]) -> dict[str, str]:
        """A clean env for one backend run: no inherited GIT_*, no user or system config."""
        config = {
            "http.receivepack": "true",
            "uploadpack.allowFilter": "true" if self.allow_filter else "false",
            "uploadpack.allowAnySHA1InWant": "true",
            "uploadpack.allowReachableSHA1InWant": "true",
            "receive.advertisePushOptions": "true" if self.push_options else "false",
        }
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": self._home,
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for index, (key, value) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        env.update(variables)
        return env

    def run_backend(self, env: dict[str, str], body: bytes) -> tuple[bytes, bytes, int | None]:
        """Run the CGI once; return (stdout, stderr, exit code or None on timeout)."""
        proc = subprocess.Popen(
            [_http_backend()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self._home,
        )
        with self._lock:
            self._procs.add(proc)
        try:
            out, err = proc.communicate(body, timeout=min(_CGI_TIMEOUT, self.lifetime))
            return out, err, proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return out, err, None
        finally:
            with self._lock:
                self._procs.discard(proc)

    def _kill_backends(self) -> None:
        """On exit, stop backends still serving abandoned requests (bounded lifetime)."""
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            proc.kill()


def _parse_authorization(header: str | None) -> tuple[str | None, bytes | None]:
    """Split `Basic base64(user:secret)` or `Bearer secret` into (user, secret)."""
    if not header:
        return None, None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return None, credentials.encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return None, None
        user, sep, secret = decoded.partition(b":")
        if sep:
            return user.decode("utf-8", "replace"), secret
    return None, None


def _parse_cgi_output(out: bytes) -> _Response | None:
    """Split CGI output at its header block (`Status:` sets the code); None if there is none."""
    match = _END_OF_CGI_HEADERS.search(out)
    if match is None:
        return None
    status, reason, headers = 200, "OK", []
    for raw in out[: match.start()].decode("latin-1").splitlines():
        name, sep, value = raw.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            code, _, reason = value.partition(" ")
            status = int(code)
        elif name.lower() not in _HOP_BY_HOP:
            headers.append((name, value))
    return _Response(status, reason, headers, out[match.end() :])


class _GitHandler(BaseHTTPRequestHandler):
    """Translates one HTTP request into one `git http-backend` run (RFC 3875 CGI, roughly)."""

    protocol_version = "HTTP/1.1"  # keep-alive like a real server; every response has a length
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall
    server_version = "fake-git-http/1"
    timeout = 60  # an idle keep-alive connection does not pin its thread forever

    def __init__(
        self,
        request: socket,
        client_address: tuple[str, int],
        server: LoopbackServer,
        *,
        git: GitHttpServer,
    ) -> None:
        self.git = git
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `GitHttpServer.requests` instead of an access log."""

    def do_GET(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def _exchange(self) -> None:
        self._started = time.monotonic()
        url = urlsplit(self.path)
        path = unquote(url.path)
        try:
            body = self._read_body()
        except (_BadRequestError, ValueError):
            self.close_connection = True
            self._finish(path, url.query, _Response(400, "Bad Request", [], b"bad body\n"), 0)
            return
        fault = self.git.take_fault(path, url.query)
        if fault is not None:
            reason = HTTPStatus(fault).phrase
            failed = _Response(fault, reason, [("Content-Type", "text/plain")], b"injected\n")
            self._finish(path, url.query, failed, len(body))
            return
        auth_ok, user = self.git.authenticate(self.headers.get("Authorization"))
        if not auth_ok:
            challenge = [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")]
            denied = _Response(401, "Unauthorized", challenge, b"authentication required\n")
            self._finish(path, url.query, denied, len(body), auth_ok=False)
            return
        self._finish(path, url.query, self._backend(path, url.query, body, user), len(body))

    def _backend(self, path: str, query: str, body: bytes, user: str | None) -> _Response:
        variables = {
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0],
        }
        if self.command == "POST":
            variables["CONTENT_LENGTH"] = str(len(body))
        if user is not None:
            variables["REMOTE_USER"] = user
        optional = {"GIT_PROTOCOL": "Git-Protocol", "HTTP_CONTENT_ENCODING": "Content-Encoding"}
        for variable, header in optional.items():
            if (value := self.headers.get(header)) is not None:
                variables[variable] = value
        out, err, code = self.git.run_backend(self.git.cgi_env(variables), body)
        response = _parse_cgi_output(out)
        if response is None or code is None:
            detail = b"timed out" if code is None else err[-2000:] or b"no CGI headers"
            return _Response(502, "Bad Gateway", [("Content-Type", "text/plain")], detail)
        return response

    def _finish(
        self, path: str, query: str, response: _Response, bytes_in: int, *, auth_ok: bool = True
    ) -> None:
        """Record the exchange, wait one round trip if throttled, then send the metered body."""
        payload = response.payload
        status = response.status
        rtt = self.git.throttle.rtt if self.git.throttle is not None else 0.0
        now = time.monotonic()
        started = getattr(self, "_started", now)  # a subclass's own exchange may not set it
        self.git.record(
            Request(self.command, path, query, status, auth_ok, bytes_in, len(payload),
                    started, now + rtt)
        )  # fmt: skip
        if self.git.throttle is not None:
            time.sleep(self.git.throttle.rtt)
        self.send_response(status, response.reason)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        view = memoryview(payload)
        for offset in range(0, len(view), _CHUNK):
            chunk = view[offset : offset + _CHUNK]
            self.git.meter(len(chunk))
            self.wfile.write(chunk)

    def _read_body(self) -> bytes:
        """The request body, de-chunked; git sends pushes > http.postBuffer chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        return self._read_exact(int(self.headers.get("Content-Length") or 0))

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            if not line.endswith(b"\n"):
                raise _BadRequestError("truncated chunk size line")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            parts.append(self._read_exact(size))
            if self.rfile.readline(_MAX_CHUNK_LINE).strip():
                raise _BadRequestError("chunk not followed by CRLF")
        while True:  # trailer section, ended by an empty line
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            if not line:
                raise _BadRequestError("truncated trailers")
            if not line.strip():
                return b"".join(parts)

    def _read_exact(self, size: int) -> bytes:
        if size < 0:
            raise _BadRequestError("negative length")
        parts: list[bytes] = []
        remaining = size
        while remaining > 0:
            data = self.rfile.read(min(_CHUNK, remaining))
            if not data:
                raise ConnectionError("client closed the connection mid-body")
            self.git.meter(len(data))
            self.git.add_received(len(data))
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)


def make_bare_repo(root: Path, name: str, files: dict[str, bytes], *, branch: str = "main") -> Path:
    """Create `root/name`, a bare repository with one commit holding `files` on `branch`.

    Plain git with identity flags and a scrubbed env, so it works the same inside pytest and in
    benchmarks run from a developer's shell.
    """
    bare = Path(root) / name
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"})
    identity = ["-c", "user.name=Fixture", "-c", "user.email=fixture@example.com"]
    identity += ["-c", f"init.defaultBranch={branch}", "-c", "commit.gpgSign=false"]
    # No background auto-gc: with many files it would still write while the work tree is removed.
    identity += ["-c", "gc.auto=0", "-c", "maintenance.auto=false"]

    def git(*args: str, cwd: Path) -> None:
        subprocess.run(
            ["git", *identity, *args],
            cwd=cwd,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    bare.mkdir(parents=True, exist_ok=False)
    git("init", "-q", "--bare", str(bare), cwd=bare)
    with tempfile.TemporaryDirectory(prefix="githttp-work-") as tmp:
        work = Path(tmp)
        git("init", "-q", str(work), cwd=work)
        for relpath, content in files.items():
            target = work / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        git("add", "-A", cwd=work)
        git("commit", "-q", "--allow-empty", "-m", "Initial config", cwd=work)
        git("push", "-q", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
    return bare
