"""A token handed to git: origin-scoped, as `GIT_CONFIG_*` entries of its environment.

Never argv, `-c`, a URL or `.git/config`: those are visible in `/proc` or outlive the run.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from promoter.redact import Secret


@dataclass(frozen=True, slots=True)
class Auth:
    """A token for one origin, handed to git as an HTTP header through the environment."""

    token: Secret
    origin: str
    user: str = "x-access-token"

    def config(self) -> list[tuple[str, str]]:
        basic = base64.b64encode(f"{self.user}:{self.token.reveal()}".encode()).decode()
        return [
            ("credential.helper", ""),
            (f"http.{self.origin}.extraHeader", f"Authorization: Basic {basic}"),
        ]
