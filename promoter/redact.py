"""Secrets never reach output: every message promoter prints passes through `redact()`.

`register()` records a secret and the encodings it travels in (base64 for HTTP basic
auth), so a token echoed back by git or a forge in any of those forms is still masked.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Mapping

MASK = "***"
_MIN_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()


class Secret:
    """A value that prints as `***`; `reveal()` is the only way to the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK


def register(secret: str) -> None:
    if len(secret) < _MIN_LENGTH:
        return
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    for user in ("x-access-token", "oauth2", "gitlab-ci-token", "git", "token"):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    with _lock:
        _secrets.update(forms)


_SECRET_NAME = re.compile(r"(?:^|_)(?:TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY)$")
"""Variables whose value is a credential (`PROMOTER_TOKEN`, `CI_JOB_TOKEN`, an App's key)."""


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name.upper()) is not None


def register_environment(env: Mapping[str, str]) -> None:
    """Record every credential the run's environment holds, before anything can echo one:
    a token a server sends back is masked even when the run fails before using it."""
    for name, value in env.items():
        if is_secret_name(name) and value.strip():
            register(value.strip())


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
