"""A bounded loopback HTTP server that fakes build on (git smart-HTTP, forge APIs).

It owns binding to 127.0.0.1:0, the serving thread, the lifetime bound and shutdown; it knows
nothing about what the handler serves. A fake that outlives its test (a hung client, a forgotten
`with`) stops itself after `lifetime` seconds instead of pinning a port and threads forever.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler

HandlerFactory = Callable[..., BaseRequestHandler]
"""A handler class, or a `functools.partial` of one that binds the fake's state."""

_Connection = socket.socket | tuple[bytes, socket.socket]  # socketserver's request type


class LoopbackServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` that knows its URL and can drop open (keep-alive) connections.

    Handler threads are daemons, so a stuck client never blocks interpreter exit; the open
    sockets are tracked so `close_connections` can wake threads blocked on idle keep-alives.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # ~20 git clients connect at once; the default backlog is 5

    def __init__(self, handler: HandlerFactory) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.errors: list[BaseException] = []
        """Unexpected handler exceptions (not client disconnects), for tests to assert on."""

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process_request(self, request: _Connection, client_address: object) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _Connection) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client socket so handler threads return promptly."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: _Connection, client_address: object) -> None:
        """Keep client disconnects quiet; record anything else instead of printing a traceback."""
        error = sys.exc_info()[1]
        if error is None or isinstance(error, (ConnectionError, TimeoutError)):
            return
        self.errors.append(error)

    def stop(self) -> None:
        """Stop accepting and close the listening socket (new connections are refused)."""
        self.shutdown()
        self.server_close()


@contextmanager
def serve(
    handler_class: HandlerFactory, *, lifetime: float = 600.0, join_timeout: float = 5.0
) -> Iterator[LoopbackServer]:
    """Serve `handler_class` on 127.0.0.1:<free port> in a daemon thread for at most `lifetime` s.

    Yields the running server (`server.url`). On exit the listener is closed, open connections
    are shut down and the serving thread is joined within `join_timeout` seconds.
    """
    server = LoopbackServer(handler_class)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"serve-{server.port}"
    )
    thread.daemon = True
    expiry = threading.Timer(lifetime, server.stop)
    expiry.daemon = True
    thread.start()
    expiry.start()
    try:
        yield server
    finally:
        expiry.cancel()
        # shutdown() is idempotent once serve_forever has returned, so expiry racing us is fine.
        server.stop()
        server.close_connections()
        thread.join(join_timeout)
