"""Many `promote` processes racing on one branch over loopback HTTP: no lost update, no downgrade.

Each process clones, commits and pushes on its own; a push that loses the race is retried
from the new tip. Attempts and wall time are printed for the lead to read with `-s`.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.githttp import GitHttpServer, make_bare_repo

from .conftest import TOKEN, Promoter, Run, git, rev, show, touched

APPS = 10
RACERS = 10


def kustomization_path(app: str) -> str:
    return f"apps/{app}/overlays/staging/kustomization.yaml"


def kustomization(app: str, tag: str) -> bytes:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "images:\n"
        f"  - name: ghcr.io/acme/{app}\n"
        f'    newTag: "{tag}"\n'
    ).encode()


def many_apps_repo(root: Path, count: int) -> Path:
    """A config repo with `count` apps, each one kustomization in staging (push mode)."""
    apps = [f"app-{n:02d}" for n in range(count)]
    config = ["version: 1", "environments:", "  staging:", "    mode: push", "apps:"]
    files: dict[str, bytes] = {}
    for app in apps:
        config += [
            f"  {app}:",
            f"    image: ghcr.io/acme/{app}",
            "    targets:",
            f"      staging: {{kustomize: {kustomization_path(app)}}}",
        ]
        files[kustomization_path(app)] = kustomization(app, "1.0.0")
    files["promoter.yaml"] = ("\n".join(config) + "\n").encode()
    return make_bare_repo(root, "config.git", files)


def race(promoter: Promoter, url: str, images: list[str]) -> tuple[list[Run], float]:
    """Start one `promote` per image at once; wait for all; returns runs and wall seconds."""
    started = time.monotonic()
    procs: list[tuple[str, subprocess.Popen[str]]] = []
    for image in images:
        args = ("--config-repo", url, "--env", "staging", "--image", image, "--output", "json")
        procs.append((image, promoter.popen(*args)))
    runs = []
    for image, proc in procs:
        stdout, stderr = proc.communicate(timeout=200)
        runs.append(Run(("--image", image), proc.returncode, stdout, stderr))
    return runs, time.monotonic() - started


def attempts(runs: list[Run]) -> list[int]:
    return [int(run.json()["stats"]["attempts"]) for run in runs]


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@pytest.mark.timeout(240)
def test_promote_concurrent_apps_no_lost_update(
    promoter: Promoter, tmp_path: Path, report_numbers: Callable[[str], None]
) -> None:
    root = tmp_path / "srv"
    bare = many_apps_repo(root, APPS)
    before = rev(bare, "main")
    apps = [f"app-{n:02d}" for n in range(APPS)]
    with GitHttpServer(root, token=TOKEN) as server:
        runs, wall = race(
            promoter, server.repo_url("config.git"), [f"ghcr.io/acme/{app}:2.0.0" for app in apps]
        )
    assert server.errors == []
    failed = [(r.args, r.returncode, r.stderr) for r in runs if r.returncode != 0]
    assert failed == []
    assert [r.json()["status"] for r in runs] == ["changed"] * APPS
    for app in apps:
        assert show(bare, "main", kustomization_path(app)) == kustomization(app, "2.0.0").decode()
    history = git(bare, "rev-list", "--first-parent", f"{before}..main").split()
    assert len(history) == APPS
    assert git(bare, "rev-list", "--count", f"{before}..main").strip() == str(APPS)
    assert sorted(path for commit in history for path in touched(bare, commit)) == sorted(
        kustomization_path(app) for app in apps
    )
    counts = attempts(runs)
    report_numbers(
        f"concurrency {APPS} apps: wall {wall:.1f}s, attempts total {sum(counts)}, "
        f"max {max(counts)}, per process {sorted(counts)}"
    )
    assert sum(counts) >= APPS
    assert promoter.leftovers() == []


@pytest.mark.timeout(240)
def test_promote_racing_same_app_never_downgrades(
    promoter: Promoter, tmp_path: Path, report_numbers: Callable[[str], None]
) -> None:
    root = tmp_path / "srv"
    bare = many_apps_repo(root, 1)
    path = kustomization_path("app-00")
    versions = [f"1.{n}.0" for n in range(1, RACERS + 1)]
    order = random.Random().sample(versions, len(versions))
    with GitHttpServer(root, token=TOKEN) as server:
        runs, wall = race(
            promoter, server.repo_url("config.git"), [f"ghcr.io/acme/app-00:{v}" for v in order]
        )
    assert server.errors == []
    assert [(r.returncode, r.stderr) for r in runs if r.returncode != 0] == []
    status = {v: r.json()["status"] for v, r in zip(order, runs, strict=True)}
    assert show(bare, "main", path) == kustomization("app-00", "1.10.0").decode()
    assert status["1.10.0"] == "changed"
    assert set(status.values()) <= {"changed", "superseded"}
    values = []
    for commit in reversed(git(bare, "log", "--format=%H", "main", "--", path).split()):
        text = show(bare, commit, path)
        values.append(text.split('newTag: "', 1)[1].split('"', 1)[0])
    assert values[0] == "1.0.0"
    landed = values[1:]
    assert landed == sorted(landed, key=version), f"main went backwards: {values}"
    assert sorted(landed, key=version) == sorted(
        (v for v, s in status.items() if s == "changed"), key=version
    )
    for v, s in status.items():
        if s == "superseded":
            assert version(v) < version("1.10.0")
    counts = attempts(runs)
    superseded = sorted((v for v, s in status.items() if s == "superseded"), key=version)
    report_numbers(
        f"race on one app ({RACERS} versions, start order {order}): wall {wall:.1f}s, "
        f"attempts total {sum(counts)}, landed {landed}, superseded {superseded}"
    )
    assert promoter.leftovers() == []
