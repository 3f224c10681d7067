"""The use case: plan → edit → commit → push or branch, and the `Result` of a run.

`cli` calls `promote`, `bump` or `demo`; everything it renders is in `Result`.
"""

from __future__ import annotations

from promoter.promotion.command import PromoteCommand, RetryPolicy
from promoter.promotion.flow import promote
from promoter.promotion.plan import bump
from promoter.promotion.report import mask_commands
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
    "EnvironmentResult",
    "FileDiff",
    "PromoteCommand",
    "Result",
    "RetryPolicy",
    "Stats",
    "Status",
    "bump",
    "mask_commands",
    "promote",
]
