"""The fake GitHub as a GitHub App installed on every repository: App JWTs (RS256, checked with
the App's public key) on the two App endpoints, and the installation tokens minted there.

A JWT is refused with GitHub's 401 texts (github.md §7; not in the OpenAPI spec) when it does
not decode or verify, when `iat` is in the future, `exp` in the past, or the two more than ten
minutes apart. A minted token works like the fake's own token with `app_token=True`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .rest import REPO, Answer, Request, Route, route
from .state import ApiError
from .users import user_json

if TYPE_CHECKING:
    from .api import Api


# App JWT refusals (401), GitHub's texts as observed (github.md §7; not in the OpenAPI spec).
_JWT_UNDECODABLE = "A JSON web token could not be decoded"
_JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time "
    "at which the assertion expires"
)
_JWT_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
_JWT_IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)
_APP_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "metadata": "read",
}


def jwt_refusal(api: Api, header: str | None) -> str | None:
    """None when `header` carries a valid App JWT, else GitHub's 401 message."""
    import jwt

    fake = api.fake
    scheme, _, token = (header or "").strip().partition(" ")
    if fake._app_key is None or scheme.lower() != "bearer":
        return _JWT_UNDECODABLE
    try:
        claims = jwt.decode(
            token.strip(),
            fake._app_key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_iss": False},
        )
    except jwt.PyJWTError:
        return _JWT_UNDECODABLE
    if str(claims.get("iss")) != str(fake.app_id):
        return _JWT_UNDECODABLE  # another app's key: the signature cannot verify
    iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + 1:
        return _JWT_IAT
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        return _JWT_EXPIRED
    if exp - iat > 600 or exp > now + 600:
        return _JWT_TOO_FAR
    return None


def _get_installation(api: Api, request: Request, params: dict[str, str]) -> Answer:
    """The App is installed on every repository of the fake (an unknown one: 404)."""
    repo = api.repo(params)
    account = user_json(api, repo.owner)
    installation = api.fake.installation_id
    stamp = "2026-01-01T00:00:00Z"
    body = {
        "id": installation,
        "app_id": api.fake.app_id,
        "app_slug": api.fake.login.removesuffix("[bot]"),
        "target_id": account["id"],
        "target_type": account["type"],
        "account": account,
        "access_tokens_url": f"{api.api}/app/installations/{installation}/access_tokens",
        "repositories_url": f"{api.api}/installation/repositories",
        "html_url": f"{api.web}/organizations/{repo.owner}/settings/installations/{installation}",
        "permissions": dict(_APP_PERMISSIONS),
        "events": [],
        "repository_selection": "selected",
        "single_file_name": None,
        "created_at": stamp,
        "updated_at": stamp,
        "suspended_by": None,
        "suspended_at": None,
    }
    return Answer(200, body)


def _create_access_token(api: Api, request: Request, params: dict[str, str]) -> Answer:
    """A fresh `ghs_` token; `permissions` may narrow the App's, never widen them (422)."""
    if unquote(params["installation_id"]) != str(api.fake.installation_id):
        raise ApiError(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    wanted = body.get("permissions") or {}
    if not isinstance(wanted, dict):
        raise _invalid_field("permissions")
    levels = {"read": 1, "write": 2, "admin": 3}
    for name, level in wanted.items():
        granted = _APP_PERMISSIONS.get(str(name))
        if granted is None or levels.get(str(level), 9) > levels[granted]:
            raise ApiError(422, "The permissions requested are not granted to this installation.")
    token, expiry = api.fake._mint_token()
    expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
    answer = {
        "token": token,
        "expires_at": expires_at,
        "permissions": {str(k): str(v) for k, v in wanted.items()} or dict(_APP_PERMISSIONS),
        "repository_selection": "selected",
    }
    return Answer(201, answer)


def _invalid_field(field_name: str) -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": "Token", "field": field_name, "code": "invalid"}]
    )


ROUTES: tuple[Route, ...] = (
    route(
        "GET",
        REPO + r"/installation",
        _get_installation,
        "apps/apps#get-a-repository-installation-for-the-authenticated-app",
        jwt=True,
    ),
    route(
        "POST",
        r"/app/installations/(?P<installation_id>[^/]+)/access_tokens",
        _create_access_token,
        "apps/apps#create-an-installation-access-token-for-an-app",
        jwt=True,
    ),
)
