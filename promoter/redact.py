"""Secrets never reach output: every message promoter prints passes through `redact()`.

`register()` records a secret and the encodings it travels in (base64 for HTTP basic
auth, paired with every user a forge kind declares through `add_basic_auth_user`), so a
token echoed back by git or a forge in any of those forms is still masked.
"""

from __future__ import annotations

import binascii
import re
import threading
from collections.abc import Mapping

MASK = "***"
_MIN_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()
"""Every secret registered, as given."""
_users: list[str] = ["git", "token"]
"""Users a token travels with in basic auth: these generic ones, and each forge kind's."""
_forms: set[str] = set()
"""Every secret in every encoding: what `redact` masks."""


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
    with _lock:
        _secrets.add(secret)
        _forms.update(_encodings(secret, _users))


def add_basic_auth_user(user: str) -> None:
    """Mask every secret, past and future, also as basic auth with `user` (a forge kind
    registers its users)."""
    with _lock:
        if user in _users:
            return
        _users.append(user)
        for secret in _secrets:
            _forms.update(_encodings(secret, [user]))


def _encodings(secret: str, users: list[str]) -> set[str]:
    forms = {secret, _base64(secret)}
    for user in users:
        forms.add(_base64(f"{user}:{secret}"))
    return forms


def _base64(text: str) -> str:
    """`base64.b64encode`, without loading `base64` (and `struct`) at start-up."""
    return binascii.b2a_base64(text.encode(), newline=False).decode()


_SECRET_NAME = re.compile(r"(?:^|_)(?:TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY)$")
"""Variables whose value is a credential (`PROMOTER_TOKEN`, `CI_JOB_TOKEN`, an App's key)."""


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name.upper()) is not None


def register_environment(environ: Mapping[str, str]) -> None:
    """Record every credential the run's environment holds, before anything can echo one:
    a token a server sends back is masked even when the run fails before using it."""
    for name, value in environ.items():
        if is_secret_name(name) and value.strip():
            register(value.strip())


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_forms, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
