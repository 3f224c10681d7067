"""A fake GitLab (REST v4) on 127.0.0.1, backed by real bare repositories with git smart HTTP.

Split by resource: `state` (projects, merge requests and GitLab's JSON), `merge_requests`,
`repository` (branches, tree, files, commits, compare), `openapi` (every exchange checked
against `../shared/forge-api/gitlab-openapi-subset.yaml`) and `server` (setup, faults,
routing, the handler).
"""

from .server import FakeGitLab
from .state import Call, MergeRequest, Project

__all__ = ["Call", "FakeGitLab", "MergeRequest", "Project"]
