"""Users and teams of the fake GitHub: how GitHub renders an account and a team, and
`GET /user` (refused to an installation token, as for a GitHub App)."""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING
from urllib.parse import quote

from .rest import JSON, Answer, Request, Route, route
from .state import ApiError, RepoState

if TYPE_CHECKING:
    from .api import Api


def user_json(api: Api, login: str) -> dict[str, JSON]:
    uid = zlib.crc32(login.encode()) % 90_000_000 + 1000
    kind = "Bot" if login.endswith("[bot]") else "User"
    if login != api.fake.login and any(r.owner == login for r in api.hub.repos.values()):
        kind = "Organization"
    base, html = f"{api.api}/users/{quote(login)}", f"{api.web}/{quote(login)}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_kgDOFake{uid}",
        "avatar_url": f"{api.web}/avatars/u/{uid}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": html,
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "site_admin": False,
        "user_view_type": "public",
    }


def user_for_email(api: Api, email: str) -> dict[str, JSON] | None:
    """GitHub links a commit to an account by email; unknown emails give `null`."""
    if email == "noreply@github.com":
        return user_json(api, "web-flow")
    match = re.fullmatch(r"(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com", email)
    return user_json(api, match["login"]) if match else None


def team_json(api: Api, repo: RepoState, slug: str) -> dict[str, JSON]:
    tid = zlib.crc32(f"{repo.owner}/{slug}".encode()) % 9_000_000 + 1
    base = f"{api.api}/organizations/{user_json(api, repo.owner)['id']}/team/{tid}"
    return {
        "id": tid,
        "node_id": f"T_kwDOFake{tid}",
        "url": base,
        "members_url": f"{base}/members{{/member}}",
        "name": slug,
        "description": None,
        "permission": "pull",
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "html_url": f"{api.web}/orgs/{repo.owner}/teams/{slug}",
        "repositories_url": f"{base}/repos",
        "slug": slug,
        "type": "organization",
        "parent": None,
    }


def _get_user(api: Api, request: Request, params: dict[str, str]) -> Answer:
    if request.as_app:
        raise ApiError(403, "Resource not accessible by integration")
    body = user_json(api, api.fake.login)
    body.update(
        {
            "name": api.fake.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
        }
    )
    return Answer(200, body)


ROUTES: tuple[Route, ...] = (
    route("GET", r"/user", _get_user, "users/users#get-the-authenticated-user", validate=False),
)
