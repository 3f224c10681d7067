"""REST calls per promotion against the fake GitHub and GitLab: create, update and no-op
paths, and `--no-clone` against clone by repository size.

Issue 5 targets at most 6 REST calls to create or update a pull request with labels and
reviewers. This runs the real `promote` (clone mode, pull-request mode, production of the
bundled fixture: two labels, a team and a user reviewer) against tests/fakes/github/,
which counts every REST request, and prints the calls of each path, medians of `--runs`.

Usage: python benchmarks/forge_calls.py [--runs 3] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fakes.github import FakeGitHub  # noqa: E402
from fakes.gitlab import FakeGitLab  # noqa: E402

from benchmarks import configrepo  # noqa: E402

sys.path.insert(0, str(ROOT))
SIZES = (500, 2000, 8000)
GITLAB_NO_CLONE_TARGET = 10
SIZED_LIFETIME = 3600.0
"""Seconds the sized fakes serve: building 8,000 apps and three runs outlast the default
300 (the server then refuses the next connection)."""
"""Issue 23: files read by path, so the wide `apps/` is never listed page by page."""
WORKDIR = "/dev/shm" if Path("/dev/shm").is_dir() else None
"""tmpfs: on this VM's ext4 /tmp, file churn slows later runs (see the git benchmark)."""

TOKEN = "ghs_benchmark_token"
FIXTURE = ROOT / "promoter" / "demo_repo"
STEPS = [("created", "1.5.0"), ("updated", "1.5.1"), ("unchanged", "1.5.1")]


def _files() -> dict[str, bytes]:
    return {
        p.relative_to(FIXTURE).as_posix(): p.read_bytes()
        for p in sorted(FIXTURE.rglob("*"))
        if p.is_file()
    }


Samples = dict[str, list[tuple[int, int, float, Counter[str]]]]
"""Per path (created, updated, unchanged): (REST calls, writes, wall seconds, call kinds)."""


def _run(forge: list[str], home: Path, *args: str) -> tuple[float, dict[str, object]]:
    """The real `promote` against a fake forge (`forge`: its config-repo and forge flags)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "GITHUB_", "GITLAB_", "PROMOTER_", "CI_"))
    }
    env |= {
        "PROMOTER_TOKEN": TOKEN,
        "PROMOTER_GITHUB_WRITE_INTERVAL": "0",
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    argv = [sys.executable, "-m", "promoter", *forge, *args, "--output", "json"]
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"promote failed ({done.returncode}): {done.stderr.strip()}")
    return time.monotonic() - started, json.loads(done.stdout)


def _github_flags(fake: FakeGitHub) -> list[str]:
    return [
        "--config-repo", fake.git_url("acme", "config"), "--forge", "github",
        "--api-url", fake.api_url,
    ]  # fmt: skip


@contextmanager
def _github(tmp: Path) -> Iterator[tuple[list[Any], list[str]]]:
    with FakeGitHub(tmp / "gh", token=TOKEN) as fake:
        fake.create_repo("acme", "config", _files())
        yield fake.calls, _github_flags(fake)


@contextmanager
def _gitlab(tmp: Path) -> Iterator[tuple[list[Any], list[str]]]:
    with FakeGitLab(tmp / "gl", token=TOKEN) as fake:
        fake.create_project("acme/config", _files())
        flags = ["--config-repo", fake.git_url("acme/config"), "--forge", "gitlab"]
        yield fake.calls, [*flags, "--api-url", fake.url]


def _measure_paths(
    runs: int, forge: Callable[[Path], AbstractContextManager[tuple[list[Any], list[str]]]]
) -> Samples:
    """Create, update and leave alone one request per run, counting the fake's REST calls."""
    found: Samples = {s: [] for s, _ in STEPS}
    for _ in range(runs):
        with (
            tempfile.TemporaryDirectory(dir=WORKDIR, ignore_cleanup_errors=True) as tmp,
            forge(Path(tmp)) as (log, flags),
        ):
            for step, tag in STEPS:
                before = len(log)
                args = ("--env", "production", "--image", f"ghcr.io/acme/web:{tag}")
                seconds, report = _run(flags, Path(tmp), *args)
                calls = log[before:]
                kinds = Counter(f"{c.method} {_shape(c.path)}" for c in calls)
                writes = sum(1 for c in calls if c.method != "GET")
                operation = report["environments"][0]["pull_request"]["operation"]  # type: ignore[index]
                assert operation == step, (step, operation)
                found[step].append((len(calls), writes, seconds, kinds))
    return found


def measure(runs: int) -> Samples:
    return _measure_paths(runs, _github)


def measure_gitlab(runs: int) -> Samples:
    """The same three paths against the fake GitLab (merge requests)."""
    return _measure_paths(runs, _gitlab)


def _path_rows(found: Samples) -> list[str]:
    lines = ["| path | REST calls | writes | wall s | calls |", "|---|---:|---:|---:|---|"]
    for step, samples in found.items():
        calls = statistics.median(s[0] for s in samples)
        writes = statistics.median(s[1] for s in samples)
        wall = statistics.median(s[2] for s in samples)
        kinds = ", ".join(f"{n}× {k}" for k, n in sorted(samples[-1][3].items()))
        lines.append(f"| {step} | {calls:g} | {writes:g} | {wall:.2f} | {kinds} |")
    return lines


def render_gitlab(found: Samples, runs: int) -> str:
    lines = [
        "",
        f"### Merge requests on the fake GitLab (median of {runs} runs)",
        "",
        "Same fixture and paths; reviewers by username (`@alice`; the team `acme/sre` is no "
        "GitLab reviewer).",
        "",
        *_path_rows(found),
    ]
    worst = max(statistics.median(s[0] for s in found[p]) for p in ("created", "updated"))
    idle = statistics.median(s[0] for s in found["unchanged"])
    idle_writes = statistics.median(s[1] for s in found["unchanged"])
    lines += [
        "",
        f"Targets: at most 6 REST calls to create or update: {worst:g}, "
        f"{'met' if worst <= 6 else '**missed**'}; at most 1 and no write when unchanged: "
        f"{idle:g} call(s), {idle_writes:g} write(s), "
        f"{'met' if idle <= 1 and idle_writes == 0 else '**missed**'}.",
    ]
    return "\n".join(lines) + "\n"


def _shape(path: str) -> str:
    parts = path.split("?", maxsplit=1)[0].split("/")
    return "/".join("{n}" if p.isdigit() else p for p in parts)


def _size_files(apps: int) -> dict[str, bytes]:
    """The git benchmark's layout (configrepo.py) at its tip; history is irrelevant here."""
    files = {"promoter.yaml": configrepo.promoter_yaml(apps, configrepo.configured_apps(apps))}
    for index in range(apps):
        app = configrepo.app_name(index)
        files[f"apps/{app}/base/deployment.yaml"] = configrepo.deployment(app)
        files[f"apps/{app}/base/kustomization.yaml"] = configrepo.BASE_KUSTOMIZATION
        for env in configrepo.ENVIRONMENTS:
            files[configrepo.overlay_path(app, env)] = configrepo.kustomization(app, env, "1.0.0")
    return files


@contextmanager
def _sized(forge: str, tmp: Path, apps: int) -> Iterator[tuple[list[Any], list[str]]]:
    """A fake forge serving the N-app repository (validation off: it is timed)."""
    if forge == "github":
        with FakeGitHub(
            tmp / "gh", token=TOKEN, app_token=True, validate=False, lifetime=SIZED_LIFETIME
        ) as hub:
            hub.create_repo("acme", "config", _size_files(apps))
            yield hub.calls, _github_flags(hub)
    else:
        with FakeGitLab(tmp / "gl", token=TOKEN, validate=False, lifetime=SIZED_LIFETIME) as lab:
            lab.create_project("acme/config", _size_files(apps))
            flags = ["--config-repo", lab.git_url("acme/config"), "--forge", "gitlab"]
            yield lab.calls, [*flags, "--api-url", lab.url]


SizeRow = tuple[int, str, str, float, float, int]
"""(apps, forge, mode, median wall, median REST calls, git bytes)."""


def measure_sizes(sizes: tuple[int, ...], runs: int) -> list[SizeRow]:
    """One push-mode promotion per run, clone and no-clone, on each fake forge."""
    rows: list[SizeRow] = []
    for apps in sizes:
        app = configrepo.benchmark_app(apps)
        for forge in ("github", "gitlab"):
            samples: dict[str, list[tuple[float, int, int]]] = {"clone": [], "no-clone": []}
            with (
                tempfile.TemporaryDirectory(dir=WORKDIR, ignore_cleanup_errors=True) as tmp,
                _sized(forge, Path(tmp), apps) as (log, flags),
            ):
                for run in range(runs):
                    for mode in ("clone", "no-clone"):
                        extra = ("--no-clone",) if mode == "no-clone" else ()
                        before = len(log)
                        image = f"{configrepo.image_name(app)}:2.{run}.{mode == 'no-clone':d}"
                        args = ("--env", "staging", "--image", image, *extra)
                        seconds, report = _run(flags, Path(tmp), *args)
                        stats = report["stats"]
                        assert isinstance(stats, dict)
                        assert report["status"] == "changed", report
                        samples[mode].append(
                            (seconds, len(log) - before, int(stats["bytes_fetched"]))
                        )
            for mode, values in samples.items():
                rows.append(
                    (
                        apps,
                        forge,
                        mode,
                        statistics.median(v[0] for v in values),
                        statistics.median(v[1] for v in values),
                        int(statistics.median(v[2] for v in values)),
                    )
                )
        print(f"  {apps} apps done", file=sys.stderr)
    return rows


def render_sizes(rows: list[SizeRow], runs: int) -> str:
    lines = [
        "",
        f"### `--no-clone` vs clone by repository size (push mode, median of {runs} runs, "
        "loopback, no throttle)",
        "",
        "Fake GitHub and fake GitLab serving N apps x 3 environments (the git benchmark's "
        "layout, tip only); one promotion of one app's staging tag.",
        "",
        "| apps | forge | mode | wall s | REST calls | git pack bytes fetched |",
        "|---:|---|---|---:|---:|---:|",
    ]
    lines += [f"| {a:,} | {f} | {m} | {w:.2f} | {c:g} | {b:,} |" for a, f, m, w, c, b in rows]
    for forge in ("github", "gitlab"):
        for mode in ("clone", "no-clone"):
            found = [r for r in rows if r[1] == forge and r[2] == mode]
            if len(found) > 1:
                growth = found[-1][3] / found[0][3]
                lines.append(
                    f"\n{forge} {mode}: wall time grows {growth:.2f}x from {found[0][0]:,} to "
                    f"{found[-1][0]:,} apps; REST calls {found[0][4]:g} → {found[-1][4]:g}."
                )
    reads = [r[4] for r in rows if r[1] == "gitlab" and r[2] == "no-clone"]
    if reads:
        verdict = "met" if max(reads) <= GITLAB_NO_CLONE_TARGET else "**missed**"
        lines.append(
            f"\nTarget (issue 23): GitLab `--no-clone` at most {GITLAB_NO_CLONE_TARGET} REST "
            f"calls at every size: {max(reads):g}, {verdict}."
        )
    return "\n".join(lines) + "\n"


def render(found: Samples, runs: int) -> str:
    lines = [
        f"## REST calls per promotion (fake GitHub, median of {runs} runs)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; clone mode, pull-request mode, "
        "production of promoter/demo_repo (labels `promotion`, `production`; reviewers "
        "`acme/sre`, `@alice`). Command: `python benchmarks/forge_calls.py`.",
        "",
        *_path_rows(found),
    ]
    worst = max(statistics.median(s[0] for s in found[p]) for p in ("created", "updated"))
    verdict = "met" if worst <= 6 else "**missed**"
    lines += ["", f"Target: at most 6 REST calls to create or update: {worst:g}, {verdict}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(",") if s)
    text = render(measure(args.runs), args.runs) + render_sizes(
        measure_sizes(sizes, args.runs), args.runs
    )
    text += render_gitlab(measure_gitlab(args.runs), args.runs)
    print(text)
    if args.output:
        from benchmarks.git_transport import write_section

        write_section(args.output, text, heading="## REST calls per promotion")


if __name__ == "__main__":
    main()
