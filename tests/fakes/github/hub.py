"""All repositories of one fake GitHub and the rules GitHub applies to them.

Duplicate pull requests are refused, a pull request follows its branches (a vanished branch
closes it, a head pushed into its base marks it merged), `mergeable_state` is computed as
GitHub reports it, and a merge moves the base for real (merge, squash or rebase; commits
GitHub writes are signed by it). Protected branches get a pre-receive hook, so git pushes meet
the same protection as the API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from .state import ApiError, Person, PullState, RepoState, now_iso
from .store import GitStore

_PRE_RECEIVE = r"""#!/bin/sh
# FakeGitHub branch protection for git pushes (written by tests/fakes/github/hub.py):
# protected branches refuse deletion and force-push; with required signatures, every new commit
# must be one GitHub itself signed (listed in fake-github/verified).
conf="$GIT_DIR/fake-github"
[ -s "$conf/protected" ] || exit 0
zero=0000000000000000000000000000000000000000
status=0
while read -r old new ref; do
  rule=$(awk -v r="$ref" '$1 == r { print $2 }' "$conf/protected")
  [ -n "$rule" ] || continue
  reason=""
  if [ "$new" = "$zero" ]; then
    reason="Cannot delete this branch"
  elif [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
    reason="Cannot force-push to this branch"
  elif [ "$rule" = 1 ]; then
    for commit in $(git rev-list "$new" --not --all); do
      grep -qxF "$commit" "$conf/verified" 2>/dev/null && continue
      reason="Commits must have verified signatures."
      break
    done
  fi
  if [ -n "$reason" ]; then
    echo "error: GH006: Protected branch update failed for $ref." >&2
    echo "error: $reason" >&2
    status=1
  fi
done
exit $status
"""


def install_hooks(bare: Path) -> None:
    """Give a bare repository the protection hook and its (empty) policy files."""
    (bare / "fake-github").mkdir(exist_ok=True)
    (bare / "fake-github" / "verified").touch()
    (bare / "fake-github" / "protected").touch()
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(_PRE_RECEIVE)
    hook.chmod(0o755)


class Hub:
    """All repositories of one fake GitHub, under one lock (requests are handled one at a time)."""

    def __init__(self, login: str) -> None:
        self.login = login
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], RepoState] = {}
        self.pulls: dict[tuple[str, str], list[PullState]] = {}
        self._ids = 1000

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def repo(self, owner: str, name: str) -> RepoState | None:
        return self.repos.get((owner.lower(), name.lower()))

    def add_repo(
        self,
        owner: str,
        name: str,
        bare: Path,
        *,
        branch: str,
        allow_auto_merge: bool,
        collaborators: Iterable[str] | None,
    ) -> RepoState:
        install_hooks(bare)
        pulls: list[PullState] = []
        self.pulls[(owner, name)] = pulls
        repo = RepoState(
            owner,
            name,
            GitStore(bare),
            self.next_id() * 1000 + 269,
            branch,
            allow_auto_merge,
            None if collaborators is None else frozenset(collaborators),
            pulls,
        )
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def find_pull_by_node(self, node_id: str) -> tuple[RepoState, PullState] | None:
        for repo in self.repos.values():
            for pull in repo.pulls:
                if pull.node_id == node_id:
                    return repo, pull
        return None

    # -- pull request rules ------------------------------------------------------------------

    def sync(self, repo: RepoState, pull: PullState) -> None:
        """Follow the branches like GitHub: a vanished head or base closes the PR, a head that
        landed in the base (pushed there) marks it merged, otherwise the shas track the tips."""
        if pull.state != "open":
            return
        head = repo.branch_sha(pull.head)
        base = repo.branch_sha(pull.base)
        if head is None or base is None:
            pull.close()
            return
        pull.head_sha, pull.base_sha = head, base
        if repo.store.is_ancestor(head, base):
            pull.merged, pull.merged_at, pull.merge_commit_sha = True, now_iso(), head
            pull.close()
            pull.closed_at = pull.merged_at

    def create_pull(
        self,
        repo: RepoState,
        *,
        head: str,
        base: str,
        title: str,
        body: str | None,
        draft: bool,
    ) -> PullState:
        owner_prefix, sep, branch = head.rpartition(":")
        if sep and owner_prefix.lower() != repo.owner.lower():
            raise _invalid("head")
        head_sha = repo.branch_sha(branch)
        base_sha = repo.branch_sha(base)
        if base_sha is None:
            raise _invalid("base")
        if head_sha is None:
            raise _invalid("head")
        for other in repo.pulls:
            self.sync(repo, other)
            if other.state == "open" and other.head == branch and other.base == base:
                raise _custom(f"A pull request already exists for {repo.owner}:{branch}.")
        if repo.store.is_ancestor(head_sha, base_sha):
            raise _custom(f"No commits between {base} and {branch}")
        number = repo.next_number
        repo.next_number += 1
        pull = PullState(
            number,
            branch,
            base,
            title,
            body,
            self.login,
            head_sha,
            base_sha,
            draft=draft,
        )
        pull.id = repo.id * 10 + number
        pull.node_id = f"PR_kwDOFake{repo.id}n{number}"
        repo.pulls.append(pull)
        return pull

    def mergeable(self, repo: RepoState, pull: PullState) -> tuple[bool | None, str]:
        """(`mergeable`, `mergeable_state`) as GitHub reports them once computed."""
        if pull.state != "open":
            return None, "unknown"
        clean = repo.store.merge_tree(pull.base_sha, pull.head_sha) is not None
        if not clean:
            return False, "dirty"
        if pull.draft:
            return True, "draft"
        protection = repo.protections.get(pull.base)
        if protection is not None and protection.required_status_checks:
            return True, "blocked"
        return True, "clean"

    def merge_pull(
        self,
        repo: RepoState,
        pull: PullState,
        *,
        method: str,
        sha: str | None,
        title: str | None,
        message: str | None,
        enforce_checks: bool,
    ) -> str:
        """Merge for real: move the base branch and mark the PR merged; returns the new base sha.

        `merge` fast-forwards when the base has not moved (the lead's contract; GitHub itself
        always writes a merge commit), otherwise writes one; `squash` writes one commit on
        the base; `rebase` replays the head's commits. Merges GitHub writes are signed by it.
        """
        self.sync(repo, pull)
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha is not None and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        protection = repo.protections.get(pull.base)
        if enforce_checks and protection is not None and protection.required_status_checks:
            raise ApiError(
                405,
                f'Required status check "{protection.required_status_checks[0]}" is expected.',
            )
        store = repo.store
        merged_tree = store.merge_tree(pull.base_sha, pull.head_sha)
        if merged_tree is None:
            raise ApiError(405, "Pull Request is not mergeable")
        stamp = now_iso()
        merger = Person(self.login, f"{self.login}@users.noreply.github.com", stamp)
        web_flow = Person("GitHub", "noreply@github.com", stamp)
        signed = True
        if method == "squash":
            commits = [
                store.read_commit(c) for c in store.commits_between(pull.base_sha, pull.head_sha)
            ]
            headline = title or f"{pull.title} (#{pull.number})"
            body = (
                message
                if message is not None
                else "\n".join(f"* {c.message.strip()}" for c in commits)
            )
            new = store.write_commit(
                merged_tree, [pull.base_sha], f"{headline}\n\n{body}", merger, web_flow
            )
        elif method == "rebase":
            new = pull.base_sha
            for commit_sha in store.commits_between(pull.base_sha, pull.head_sha):
                commit = store.read_commit(commit_sha)
                tree = store.cherry_pick_tree(commit, new, web_flow)
                if tree is None:
                    raise ApiError(405, "This branch can't be rebased")
                new = store.write_commit(tree, [new], commit.message, commit.author, web_flow)
        elif store.is_ancestor(pull.base_sha, pull.head_sha):
            new, signed = pull.head_sha, False
        else:
            headline = title or f"Merge pull request #{pull.number} from {repo.owner}/{pull.head}"
            text = f"{headline}\n\n{message if message is not None else pull.title}"
            new = store.write_commit(
                merged_tree, [pull.base_sha, pull.head_sha], text, merger, web_flow
            )
        if not store.update_ref(f"refs/heads/{pull.base}", new, pull.base_sha):
            raise ApiError(405, "Base branch was modified. Review and try the merge again.")
        if signed:
            repo.mark_verified(new)
        pull.merged, pull.merged_at, pull.merged_by, pull.merge_commit_sha = (
            True,
            stamp,
            self.login,
            new,
        )
        pull.close()
        pull.closed_at = stamp
        pull.base_sha = new
        return new


def _invalid(field_name: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
    )


def _custom(message: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        [{"resource": "PullRequest", "code": "custom", "message": message}],
    )
