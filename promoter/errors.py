"""Typed errors: every failure promoter reports is one of these.

```
PromoterError            exit 1
├─ InputError            exit 2  bad image reference, config, YAML, target, path
│  └─ EditRefusedError   exit 2  an edit could not be proven minimal; file untouched
└─ OperationalError      exit 1  git, push rejected, forge
   └─ GitError           exit 1  a git command failed (argv and stderr redacted)
      ├─ GitAuthError    exit 1  the remote refused the credentials
      └─ PushRejectedError      the branch moved under us (transient: fetch, re-apply, retry)
   ├─ ForgeError         exit 1  the forge API failed; ForgeAuthError: token refused or too weak
   └─ LoopError          exit 1  the circuit breaker: promoter commits in a loop
PartialPromotionError    exit 1  a multi-environment run failed after some environments landed
```

`str(error)` is the sentence the user sees: location first (`file:line: field: ...`), then
what is wrong and, where known, what to do. Owns no I/O and imports nothing of promoter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Reportable(Protocol):
    """An environment's outcome as a partial failure reports it."""

    def as_json(self) -> dict[str, object]: ...


class PromoterError(Exception):
    """Base of every error promoter raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.transient = transient

    def __str__(self) -> str:
        location = ""
        if self.path:
            location = self.path
            if self.line:
                location += f":{self.line}"
            location += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{location}{field}{self.message}"


class InputError(PromoterError):
    """The user's input (arguments, config, files) is wrong; nothing was written."""

    exit_code = 2


class ImageRefError(InputError):
    """An image reference does not follow the OCI distribution grammar."""


class ConfigError(InputError):
    """promoter.yaml (or the command line) is invalid or names something unknown."""


class YamlError(InputError):
    """A file is not YAML promoter can parse (syntax, encoding, alias bomb)."""


class TargetNotFoundError(InputError):
    """A file, environment or image reference the run needs does not exist."""


class PathEscapeError(InputError):
    """A path leads outside the repository (`..` or a symlink)."""


class EditRefusedError(InputError):
    """An edit could not be proven to change exactly the intended value."""


class NotAVersionError(EditRefusedError):
    """A value read from the config repository where a version belongs is no tag, digest
    or image reference: data promoter will not carry into another file, a message or a job.
    Refused wherever it is read, even by read-only commands (issue 19)."""


class UnsupportedByForgeError(InputError):
    """The forge cannot answer what a setting asks of it (commit pipelines on GitHub or a
    local remote): refused, never taken as a pass."""


class OperationalError(PromoterError):
    """Something outside the user's input failed: git, network, forge."""

    exit_code = 1


class LoopError(OperationalError):
    """The circuit breaker tripped: the branch's last commits are promoter's own, in a row
    and within minutes, so promoter is reacting to itself; it stops instead of adding one."""


class GitError(OperationalError):
    """A git command failed; carries its (redacted) argv, exit code and stderr tail."""

    def __init__(
        self,
        message: str,
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        stderr: str = "",
        transient: bool = False,
    ) -> None:
        super().__init__(message, transient=transient)
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class GitAuthError(GitError):
    """The remote refused the credentials (or there were none)."""


class PushRejectedError(GitError):
    """The remote ref moved since it was read; the promotion is re-applied on the new tip."""

    def __init__(self, message: str, *, argv: tuple[str, ...] = (), stderr: str = "") -> None:
        super().__init__(message, argv=argv, stderr=stderr, transient=True)


class ForgeError(OperationalError):
    """The forge's API refused or failed a call (after retries, when they apply)."""


class ForgeAuthError(ForgeError):
    """The forge rejected the token, or the token lacks a permission the run needs."""


class ForgeCredentialsError(ForgeAuthError):
    """The forge does not accept the token at all (HTTP 401)."""


class PartialPromotionError(PromoterError):
    """A multi-environment run failed after it had pushed some environments.

    Exit 1, never 2: something was written. `outcomes` holds each environment's result (as
    JSON) so the report says what landed and what did not.
    """

    def __init__(self, message: str, outcomes: Sequence[Reportable], cause: PromoterError) -> None:
        self.outcomes = [o.as_json() for o in outcomes]
        done = ", ".join(f"{o.get('env')} {o.get('status')}" for o in self.outcomes)
        super().__init__(
            f"{message} (already landed: {done}; rerun to finish: it is idempotent)",
            path=cause.path,
            line=cause.line,
            field=cause.field,
        )
