"""repo.background: a call in a daemon thread, its answer or its error collected later."""

from __future__ import annotations

import threading

import pytest

from promoter.errors import GitError
from promoter.repo.background import Background


def test_answer_and_error_are_handed_to_result() -> None:
    assert Background(lambda: 41 + 1, name="t").result(timeout=10) == 42

    def fail() -> int:
        raise GitError("remote hung up")

    failing = Background(fail, name="t")
    with pytest.raises(GitError, match="remote hung up"):
        failing.result(timeout=10)
    with pytest.raises(GitError):  # asked again, the same error
        failing.result(timeout=10)


def test_result_waits_and_times_out_while_the_call_runs() -> None:
    release = threading.Event()
    started = Background(lambda: release.wait(10) and "done", name="t")
    with pytest.raises(TimeoutError):
        started.result(timeout=0.05)
    release.set()
    assert started.result(timeout=10) == "done"
