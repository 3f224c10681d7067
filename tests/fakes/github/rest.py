"""What the fake GitHub's resource modules share: the request and its answer, the call record,
the route record, GitHub's error body, and the paths of a repository, a pull request, an issue.

A resource module (`users`, `repos`, `commits`, `pulls`, `issues`, `git_data`, `apps`) holds
handlers `(api, request, params) -> Answer` and declares them in its `ROUTES`; a handler raises
`ApiError` for GitHub's error answers, which `api.py` turns into GitHub's error body.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .state import ApiError

if TYPE_CHECKING:
    from .api import Api

JSON = Any  # a decoded JSON value
DOCS = "https://docs.github.com/rest"
REST_DOCS = "https://docs.github.com/rest/"
REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
PULL = REPO + r"/pulls/(?P<number>\d+)"
ISSUE = REPO + r"/issues/(?P<number>\d+)"


@dataclass(frozen=True, slots=True)
class Call:
    """One REST/GraphQL exchange as the fake saw it (`path` is the raw path as sent)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    request_json: JSON
    response_json: JSON


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # relative to the API root, still percent-encoded
    query: dict[str, str]
    body: JSON
    as_app: bool = False  # authenticated with an installation token (app_token or minted)


@dataclass
class Answer:
    status: int
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Api", Request, dict[str, str]], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    docs: str
    validate: bool = True
    jwt: bool = False  # GitHub App endpoint: needs `Authorization: Bearer <App JWT>`


def route(
    method: str,
    pattern: str,
    handler: Handler,
    docs: str,
    validate: bool = True,
    *,
    jwt: bool = False,
) -> Route:
    return Route(method, re.compile(pattern), handler, REST_DOCS + docs, validate, jwt)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(status: int, message: str, docs: str) -> dict[str, str]:
    return {"message": message, "documentation_url": docs, "status": str(status)}


def wrap_base64(data: bytes) -> str:
    """GitHub's `content`: base64 with a real newline every 60 characters and at the end."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def body_object(body: JSON) -> dict[str, JSON]:
    if not isinstance(body, dict):
        raise ApiError(400, "Body should be a JSON object")
    return body


def missing(resource: str, field_name: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": resource, "field": field_name, "code": "missing_field"}],
    )
