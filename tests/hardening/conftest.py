"""The e2e fixtures, for hardening tests that run the real `promote` against loopback servers.

pytest shows a conftest's fixtures only below its directory, so those of `tests/e2e` are
imported here by name (tests/ is on sys.path: `e2e.conftest` is the module pytest loads for
tests/e2e too). `report_numbers` records measurements under the e2e key; when tests/e2e's
conftest is not loaded (only tests/hardening runs), the hooks below print them instead.
"""

from __future__ import annotations

import pytest
from e2e import conftest as e2e_conftest
from e2e.conftest import (
    bare,
    fixture_template,
    promoter,
    report_numbers,
    server,
    srv_root,
    url,
)

__all__ = [
    "bare",
    "fixture_template",
    "promoter",
    "report_numbers",
    "server",
    "srv_root",
    "url",
]

_NUMBERS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid.startswith("tests/hardening/"):
        _NUMBERS.extend(str(v) for k, v in report.user_properties if k == "e2e-numbers")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if _NUMBERS and not config.pluginmanager.is_registered(e2e_conftest):
        terminalreporter.section("hardening numbers")
        for line in _NUMBERS:
            terminalreporter.write_line(line)
