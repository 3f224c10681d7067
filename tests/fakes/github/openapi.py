"""Every exchange of the fake GitHub checked by openapi-core against the shared contract.

Both directions of each REST and GraphQL call are validated against
`../shared/forge-api/github-openapi-subset.yaml`; errors are collected, never raised in the
server thread.

Validation is skipped for the endpoints the subset lacks (GitHub's documents for them were
followed instead): `GET /user`, `GET`/`POST .../issues/{n}/comments`, `GET .../issues/{n}/labels`,
`DELETE .../issues/{n}/labels/{name}`, `GET .../git/blobs/{sha}` and `GET .../branches/{branch}`
with its `protection` and `protection/required_signatures`, `GET .../statuses/{sha}` and
`GET .../commits/{ref}/check-runs`. Failures the forge-api README
documents as schema gaps (a `null` commit author/committer, a `null` label description in a
simple pull request, a `null` issue `state_reason`) go to `schema_gaps`, everything else to
`validation_errors`.
"""

from __future__ import annotations

import re
import threading
from email.message import Message
from functools import cache
from typing import TYPE_CHECKING, Any

from sharedpath import SHARED, require

if TYPE_CHECKING:
    from .server import FakeGitHub

SPEC_NAME = "github-openapi-subset.yaml"
SPEC_PATH = SHARED / "forge-api" / SPEC_NAME

_MULTI_SEGMENT = ("ref", "path", "basehead", "commit_sha", "tree_sha")
_VALIDATION_LOCK = threading.Lock()


@cache
def spec() -> Any:
    """The subset as an openapi-core object: ~1 s to build, so once per process."""
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(require("forge-api", SPEC_NAME)))


def rewrite(prefix: str, path: str, pattern: re.Pattern[str]) -> str:
    """openapi-core matches one segment per `{param}`: encode `/` in multi-segment ones."""
    match = pattern.fullmatch(path)
    if match is None:
        return prefix + path
    for name in _MULTI_SEGMENT:
        if name in match.groupdict() and match.group(name) is not None:
            start, end = match.span(name)
            return prefix + path[:start] + path[start:end].replace("/", "%2F") + path[end:]
    return prefix + path


def validate(
    fake: FakeGitHub,
    method: str,
    path: str,
    query: dict[str, str],
    request_headers: Message,
    raw_body: bytes,
    payload: bytes,
    status: int,
    headers: dict[str, str],
) -> None:
    """openapi-core on both directions; errors are collected, never raised in this thread."""
    from openapi_core.testing import MockRequest, MockResponse

    label = f"{method} {path} -> {status}"
    request = MockRequest(
        fake.url,
        method.lower(),
        path,
        args=query,
        headers=dict(request_headers.items()),
        data=raw_body or None,
        content_type=request_headers.get("Content-Type", "application/json"),
    )
    response = MockResponse(
        payload,
        status_code=status,
        headers=headers,
        content_type="application/json",
    )
    subset = spec()
    with _VALIDATION_LOCK:
        for kind in ("request", "response"):
            try:
                if kind == "request":
                    subset.validate_request(request)
                else:
                    subset.validate_response(request, response)
            except Exception as error:
                _note(fake, kind, label, error, status)


def _note(fake: FakeGitHub, kind: str, label: str, error: Exception, status: int) -> None:
    """File each schema error under `schema_gaps` (documented gaps) or `validation_errors`.

    A 404 the operation does not list is a gap too: GitHub answers 404 on every path of
    an unknown (or hidden private) repository, its description lists 404 for only some.
    """
    details = _schema_errors(error)
    if not details:
        unlisted_404 = status == 404 and type(error).__name__ == "ResponseNotFound"
        details = [(f"{type(error).__name__}: {error}"[:500], unlisted_404)]
    with fake._log_lock:
        for text, is_gap in details:
            (fake.schema_gaps if is_gap else fake.validation_errors).append(
                f"{label}: {kind}: {text}"
            )


def _schema_errors(error: Exception) -> list[tuple[str, bool]]:
    """(description, is a documented schema gap) for each jsonschema error inside `error`."""
    found: list[tuple[str, bool]] = []
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for leaf in getattr(current, "schema_errors", None) or ():
            where = "/".join(str(p) for p in leaf.absolute_path)
            gap = _is_gap(list(leaf.absolute_path), leaf.instance, leaf.validator, leaf.message)
            found.append((f"{where}: {leaf.message}", gap))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return found


def _is_gap(path: list[Any], instance: object, validator: object, message: str) -> bool:
    """The forge-api README's known schema gaps (GitHub sends these nulls, the schema says no),
    plus two found here: openapi-core applies the `type` discriminator of `GET contents`'
    oneOf to a directory listing (an array) and rejects every listing; and the 422 of
    `POST git/blobs` is oneOf two error schemas that both accept any error body."""
    ambiguous = isinstance(instance, list) or "is valid under each of" in message
    if validator == "oneOf" and not path and ambiguous:
        return True
    if instance is not None or not path:
        return False
    last = path[-1]
    if last in ("author", "committer") and (len(path) < 2 or path[-2] != "commit"):
        return True
    if last == "description" and "labels" in path:
        return True
    return str(last) == "state_reason"
