"""A call run in a daemon thread, its answer (or its exception) collected later.

The direct transport's parallel requests (the discovery's two, receive-pack's advertisement
asked ahead) need no pool: `concurrent.futures` costs its import, and `logging`'s, before
the first request of every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`call()` started now in its own daemon thread; `result()` waits for it."""

    def __init__(self, call: Callable[[], T], *, name: str) -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to `result`, raised there
            self._error = exc

    def result(self, timeout: float | None = None) -> T:
        """The call's answer once it is done (`TimeoutError` past `timeout` seconds); its
        exception is raised here."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the background call is still running")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
