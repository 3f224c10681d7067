"""The use case: plan → edit → commit → push or branch, and the `Result` of a run.

`cli` builds a request (`requests`) and calls `promote` or `bump`; everything it renders
is in `Result`.
"""

from __future__ import annotations

from promoter.ci import Source
from promoter.promotion.flow import promote
from promoter.promotion.plan import bump
from promoter.promotion.report import mask_commands
from promoter.promotion.requests import (
    Delivery,
    LoopGuards,
    PromoteFromRequest,
    PromoteRequest,
    ReleaseHoldRequest,
    RepositoryRef,
    RetryPolicy,
    RollbackRequest,
)
from promoter.promotion.result import (
    Change,
    EnvironmentResult,
    FileDiff,
    Result,
    Stats,
    Status,
)

__all__ = [
    "Change",
    "Delivery",
    "EnvironmentResult",
    "FileDiff",
    "LoopGuards",
    "PromoteFromRequest",
    "PromoteRequest",
    "ReleaseHoldRequest",
    "RepositoryRef",
    "Result",
    "RetryPolicy",
    "RollbackRequest",
    "Source",
    "Stats",
    "Status",
    "bump",
    "mask_commands",
    "promote",
]
