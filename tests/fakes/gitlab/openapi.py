"""Every exchange of the fake GitLab checked by openapi-core against the shared contract.

Both directions of each REST call are validated against
`../shared/forge-api/gitlab-openapi-subset.yaml`. The endpoints the forge-api README names
as missing from the subset (merge request notes, the repository tree, `/version`, and the
Premium merge-train API) have no description to check against: those are filed under
`schema_gaps`, every other error under `validation_errors`, which the fake raises when it
closes, so no test passes on an answer GitLab would not give.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from sharedpath import SHARED, require

SPEC_NAME = "gitlab-openapi-subset.yaml"
SPEC_PATH = SHARED / "forge-api" / SPEC_NAME
OUTSIDE_SUBSET = (
    r"/api/v4/version",
    r"/api/v4/projects/[^/]+/merge_requests/\d+/notes",
    r"/api/v4/projects/[^/]+/repository/tree",
    r"/api/v4/projects/[^/]+/merge_trains/merge_requests/\d+",
    r"/api/v4/projects/[^/]+/repository/commits/[^/]+/statuses",
)
"""Calls the subset does not describe (forge-api README, "Endpoints the flow needs that the
subset lacks"; merge trains are Premium and absent too; a commit's job statuses, which
`require_source_checks` reads): followed from GitLab's docs."""
KNOWN_GAPS = ((r".*/repository/compare", "commit: None"),)
"""Where the subset's schema contradicts gitlab.md: compare's `commit` is `null` when
nothing differs (§5), the schema does not allow null."""
_LOCK = threading.Lock()


@cache
def spec() -> Any:
    """The subset as an openapi-core object, built once per process."""
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(require("forge-api", SPEC_NAME)))


def outside_subset(path: str) -> bool:
    return any(re.fullmatch(pattern, path) for pattern in OUTSIDE_SUBSET)


def is_gap(path: str, problem: str) -> bool:
    return any(re.fullmatch(p, path) and text in problem for p, text in KNOWN_GAPS)


def check(
    host: str,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    status: int,
    payload: bytes,
    response_headers: dict[str, str],
    content_type: str,
) -> list[str]:
    """The schema errors of one exchange, as one line each (none when it validates)."""
    from openapi_core.testing import MockRequest, MockResponse

    sent = headers.get("Content-Type") or headers.get("Content-type") or "application/json"
    request = MockRequest(
        host, method.lower(), path, args=query, headers=headers, data=body or None,
        content_type=sent,
    )  # fmt: skip
    response = MockResponse(
        payload, status_code=status, headers=response_headers, content_type=content_type
    )
    found: list[str] = []
    with _LOCK:
        for kind in ("request", "response"):
            try:
                if kind == "request":
                    spec().validate_request(request)
                else:
                    spec().validate_response(request, response)
            except Exception as error:
                found.append(f"{method} {path} -> {status}: {kind}: {_describe(error)}")
    return found


def _describe(error: BaseException) -> str:
    """The innermost schema errors, or the exception itself."""
    parts: list[str] = []
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for leaf in getattr(current, "schema_errors", None) or ():
            where = "/".join(str(p) for p in leaf.absolute_path)
            parts.append(f"{where}: {leaf.message}")
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return "; ".join(parts) or f"{type(error).__name__}: {error}"[:400]
