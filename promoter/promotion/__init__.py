"""The use case: plan → edit → commit → push or branch, and the `Result` of a run.

`cli` builds a request (`requests`) and calls `promote` or `bump`; everything it renders
is in `Result`. The names below load on first use (PEP 562), so a command imports only
the part of the stack it calls: `bump` never loads the flow, git or a forge (issue 23).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promoter.ci import Source
    from promoter.promotion.edits import bump
    from promoter.promotion.flow import promote
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

_HOMES = {
    "Source": "promoter.ci",
    "bump": "promoter.promotion.edits",
    "promote": "promoter.promotion.flow",
    "mask_commands": "promoter.promotion.report",
    **dict.fromkeys(
        (
            "Delivery",
            "LoopGuards",
            "PromoteFromRequest",
            "PromoteRequest",
            "ReleaseHoldRequest",
            "RepositoryRef",
            "RetryPolicy",
            "RollbackRequest",
        ),
        "promoter.promotion.requests",
    ),
    **dict.fromkeys(
        ("Change", "EnvironmentResult", "FileDiff", "Result", "Stats", "Status"),
        "promoter.promotion.result",
    ),
}
"""Where each exported name lives."""

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


if not TYPE_CHECKING:  # mypy reads the imports above; a typo stays an error there

    def __getattr__(name: str) -> object:
        """An exported name, imported from its module on first use and then kept here.
        Any other name is no attribute, so `from promoter.promotion import steps` imports
        the submodule."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
