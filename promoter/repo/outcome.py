"""What a git command returned, and what its output means.

git reports failures in prose on stderr; it is read here, once, into `PromoterError`s
(refused credentials, a push that lost a race, a transient network error), so no caller
parses git's messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from promoter.errors import GitAuthError, GitError, PushRejectedError

_REJECTED = re.compile(
    r"non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|"
    r"incorrect old value|reference already exists|failed to lock",
    re.IGNORECASE,
)
_AUTH_FAILED = re.compile(
    r"Authentication failed|HTTP Basic: Access denied|returned error: 40[13]|"
    r"could not read Username|terminal prompts disabled|Invalid username or password",
    re.IGNORECASE,
)
_WRITTEN = re.compile(r"Writing objects: 100% \(\d+/\d+\), ([\d.]+) (bytes|KiB|MiB|GiB)")
_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


@dataclass(frozen=True, slots=True)
class GitResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str


def command_error(result: GitResult) -> GitError:
    """A failed command, classified: refused credentials, or a (maybe transient) error."""
    tail = "\n".join(result.stderr.strip().splitlines()[-3:])
    command = " ".join(result.argv[:2])
    if _AUTH_FAILED.search(result.stderr):
        return GitAuthError(
            f"{command}: the remote refused the credentials; set PROMOTER_TOKEN to a token "
            f"that can read and push to the config repository ({_last_line(tail)})",
            argv=result.argv,
            returncode=result.returncode,
            stderr=tail,
        )
    transient = bool(re.search(r"HTTP 5\d\d|returned error: 5\d\d|Connection|timed out", tail))
    return GitError(
        f"{command} failed (exit {result.returncode}): {_last_line(tail) or 'no output'}",
        argv=result.argv,
        returncode=result.returncode,
        stderr=tail,
        transient=transient,
    )


def is_unknown_option(stderr: str) -> bool:
    """An older git than the option needs (it prints usage), not a failed fetch."""
    return bool(re.search(r"unknown option|usage: git fetch", stderr))


def is_filter_refusal(stderr: str) -> bool:
    return "filter" in stderr and bool(
        re.search(r"max depth|not supported|unsupported|invalid|disallowed|not allowed", stderr)
    )


def sent_bytes(stderr: str) -> int:
    """The pack size a push reports in its progress ("Writing objects: 100% ..., 1.2 KiB")."""
    sent = _WRITTEN.search(stderr)
    return int(float(sent.group(1)) * _UNITS[sent.group(2)]) if sent else 0


def push_error(result: GitResult, branch: str, *, deleting: bool = False) -> GitError:
    """A failed push, classified: the branch moved (transient), refused by the server (its
    own reason), or the git error it was (auth, network)."""
    report = result.stdout.decode("utf-8", "replace") + "\n" + result.stderr
    if _REJECTED.search(report) and not _AUTH_FAILED.search(report):
        moved = "while it was being deleted" if deleting else "since it was read"
        return PushRejectedError(
            f"push to {branch} was rejected because the branch moved {moved}; retrying on the "
            "new tip",
            argv=result.argv,
            stderr=_last_line(report),
        )
    reason = _refusal(report)
    if reason and not _AUTH_FAILED.search(report):
        return GitError(
            f"the remote refused the push to {branch}: {reason}",
            argv=result.argv,
            returncode=result.returncode,
            stderr=report,
        )
    return command_error(GitResult(result.argv, result.returncode, result.stdout, report))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _refusal(report: str) -> str:
    """Why a push was refused: the porcelain status and the server's own `remote:` lines."""
    status = ""
    remote: list[str] = []
    for line in report.splitlines():
        if line.startswith("!\t"):
            status = line.rsplit("\t", 1)[-1].strip()
        elif line.startswith("remote:"):
            text = line.removeprefix("remote:").strip()
            if text and not text.startswith(("error: failed", "To ")):
                remote.append(text)
    return "; ".join(part for part in [status, *remote[-3:]] if part)
