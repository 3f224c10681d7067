"""The forge of a remote with no review system (a path or file:// URL): branches only.

Pull-request mode still pushes the promotion branch; the review is a `git diff`, so the
"change request" is the branch itself and there is nothing to open, label or merge.
"""

from __future__ import annotations

from promoter.errors import UnsupportedByForgeError
from promoter.forges import (
    ChangeRequest,
    ChangeRequestSpec,
    CommitCheck,
    Outcome,
    no_api_store,
)
from promoter.tree import GitStats, Store


class LocalForge:
    name = "local"
    calls = 0
    has_requests = False

    def __init__(self, repository_url: str) -> None:
        self.repository_url = repository_url

    def find_open(self, head: str, base: str) -> ChangeRequest | None:
        return None

    def open_or_update(self, spec: ChangeRequestSpec) -> tuple[Outcome, ChangeRequest]:
        """Nothing to open: the pushed branch is the request; its review is a diff."""
        return Outcome.UNCHANGED, ChangeRequest(0, self.repository_url, spec)

    def open_requests(self, prefix: str) -> dict[str, ChangeRequest]:
        """None to list: a pushed branch is its own request (`Store.branches` lists it)."""
        return {}

    def enable_auto_merge(self, cr: ChangeRequest) -> None:
        return None

    def close(self, cr: ChangeRequest, reason: str) -> None:
        return None

    def signature_required(self, base: str) -> bool:
        return False

    def review_hint(self, base: str, head: str) -> str | None:
        return f"git diff {base}...{head}"

    def store(self, stats: GitStats) -> Store:
        raise no_api_store(self.name)

    def changed_files(self, before: str, after: str) -> tuple[str, ...] | None:
        return None

    def commit_checks(self, sha: str, names: tuple[str, ...] = ()) -> tuple[CommitCheck, ...]:
        raise UnsupportedByForgeError("a remote without a forge reports no commit checks")
