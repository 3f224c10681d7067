"""A fake GitHub on 127.0.0.1: REST v3, the auto-merge GraphQL mutations and git smart-HTTP.

Layouts github.com and GHES (`/api/v3`), token checks, GitHub's JSON shapes, pagination,
rate-limit headers, fault injection, the call log and openapi-core validation against
`shared/forge-api/github-openapi-subset.yaml`, over real bare git repositories that git
clients reach through `git http-backend` on the same server. promoter must not import this;
tests and e2e scenarios drive it with real PyGithub.

Split by resource: `server` (setup, faults, observation), `handler` (connections: git or API),
`api` (credentials, faults, routing, common headers, pagination), `openapi` (the contract
check), `rest` (what the resources share); the resources `users`, `repos` (repository,
contents, branches), `commits` (commits, compare), `pulls`, `issues` (labels, assignees,
comments), `git_data` (refs, commits, trees, blobs), `apps` (App JWTs, installation tokens),
`graphql`; and the state: `state` (plain data), `store` (one bare repository through git
plumbing), `hub` (all repositories and GitHub's rules).
"""

from .rest import Call
from .server import FakeGitHub
from .state import PullState

__all__ = ["Call", "FakeGitHub", "PullState"]
