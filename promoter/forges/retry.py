"""The one retry layer a forge client runs its calls under, and the HTTP failures every
forge shares (a dropped connection, a timeout, TLS).

Each adapter says which of its library's errors are transient, how long to wait (its
rate-limit headers) and how to translate; this module runs the bounded, retried call and
maps `requests` failures the same way for all of them. The error left after the retries
is never transient again: there is no second retry layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from promoter.errors import ForgeError
from promoter.redact import redact

T = TypeVar("T")
ATTEMPTS = 5
MAX_SECONDS = 180.0
MAX_WAIT = 60.0
"""Longest single wait for a rate limit: a later reset fails the run (after the retries)
instead of stalling CI."""


def backoff(retry_state: object) -> float:
    """The wait before the next attempt when the forge names none: 1, 2, 4, 8, 8... s."""
    attempt = int(getattr(retry_state, "attempt_number", 1))
    return min(2.0 ** (attempt - 1), 8.0)


def call_with_retries(
    action: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    wait: Callable[[object], float],
    translate: Callable[[BaseException], ForgeError | None],
    sleep: Callable[[float], None],
    on_attempt: Callable[[], None],
) -> T:
    """Run `action`, retrying what `transient` accepts; failures become `ForgeError`s."""
    retrying = Retrying(
        stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(MAX_SECONDS),
        wait=wait,
        retry=retry_if_exception(transient),
        reraise=True,
        sleep=sleep,
    )
    try:
        for attempt in retrying:
            with attempt:
                on_attempt()
                return action()
    except Exception as error:
        translated = translate(error)
        if translated is None:
            raise
        translated.transient = False  # retried here already: no second retry layer
        raise translated from error
    raise AssertionError("unreachable")  # pragma: no cover


def is_connection_transient(error: BaseException) -> bool:
    """A dropped or timed-out connection is worth another try; TLS and proxy failures,
    which do not go away by themselves, and anything else are not."""
    from requests import exceptions

    if isinstance(error, (exceptions.SSLError, exceptions.ProxyError)):
        return False
    return isinstance(
        error, (exceptions.ConnectionError, exceptions.Timeout, exceptions.ChunkedEncodingError)
    )


def unreachable(error: BaseException, forge: str, name: str) -> ForgeError | None:
    """The one line for a `requests` failure talking to `forge` about `name` (None: not
    a `requests` exception)."""
    from requests import exceptions

    if not isinstance(error, exceptions.RequestException):
        return None
    kind = {
        exceptions.SSLError: "TLS failed",
        exceptions.ProxyError: "the proxy refused the connection",
        exceptions.ConnectTimeout: "the connection timed out",
        exceptions.ReadTimeout: "no answer in time",
        exceptions.ConnectionError: "the connection failed or was dropped",
        exceptions.ChunkedEncodingError: "the connection was dropped mid-answer",
    }
    reason = next((v for k, v in kind.items() if isinstance(error, k)), "request failed")
    detail = redact(str(error).splitlines()[0] if str(error) else type(error).__name__)
    return ForgeError(
        f"{forge} API unreachable for {name}: {reason} ({detail[:200]})",
        transient=is_connection_transient(error),
    )
