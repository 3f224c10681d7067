"""Shared test setup: a clean environment per test, and paths to fixtures and shared/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sharedpath import require

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

settings.register_profile(
    "bounded", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("bounded")

_SCRUBBED_PREFIXES = ("GIT_", "PROMOTER_", "GITHUB_", "GITLAB_", "CI_")


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's git identity, tokens or CI variables, or writes to $HOME."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in ("CI", "GITLAB_CI", "GITHUB_ACTIONS"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def shared_dir() -> Path:
    return require()
