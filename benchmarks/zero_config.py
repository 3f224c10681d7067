"""Zero-config discovery against a configured promotion: what finding the files costs.

Issue 10 asks that discovery without promoter.yaml read the tree listing and the candidate
files in a bounded number of git network operations, independent of repository size: at
most 2 more than a configured promotion and at most 1.5x its time. This measures both on
the generated 500/2,000/8,000-app repositories (configrepo.py), served over loopback smart
HTTP through the modelled CI link (50 Mbit/s, 30 ms per request), interleaved, each run on
a fresh copy: `promote --mode push` of one app's staging tag with the repository's
promoter.yaml (configured), and with a commit on top that deletes it (zero-config).
A network operation is one git command talking to the server (one `info/refs` request
each: clone, fetch, push); requests and bytes are what the server counted.

Usage: python benchmarks/zero_config.py [--sizes 500,2000,8000] [--runs 5] [--quick]
       [--output benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import configrepo  # noqa: E402
from benchmarks.git_transport import (  # noqa: E402
    MODELLED,
    TOKEN,
    Sample,
    check_promoted,
    default_workdir,
    human,
    log,
    median,
    run_promoter,
    write_section,
)
from tests.fakes.githttp import GitHttpServer  # noqa: E402

KINDS = ("configured", "zero-config")
TARGET_EXTRA_OPS = 2
TARGET_RATIO = 1.5
HEADING = "## Zero-config discovery vs configured promotion"


def network_ops(sample: Sample) -> int:
    """Git commands that talked to the server: each starts with one ref advertisement."""
    return sum(1 for r in sample.requests if r.method == "GET" and "info/refs" in r.path)


def drop_config(repo: Path) -> None:
    """A commit on top of main whose tree lacks promoter.yaml (plumbing, no checkout)."""
    env = configrepo.git_env() | {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }

    def git(*args: str, data: bytes | None = None) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=data, capture_output=True, check=True, env=env
        )
        return done.stdout.decode().strip()

    listing = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-z", "main"],
        capture_output=True,
        check=True,
        env=env,
    ).stdout
    kept = b"".join(
        entry + b"\0" for entry in listing.split(b"\0") if entry and b"\tpromoter.yaml" not in entry
    )
    tree = git("mktree", "-z", data=kept)
    commit = git("commit-tree", tree, "-p", "main", "-m", "Drop promoter.yaml")
    git("update-ref", "refs/heads/main", commit)


def measure(
    source: Path, size: int, runs: int, app: str, workdir: Path | None
) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="bench-zc-", dir=workdir) as tmp:
        base = Path(tmp)
        served = base / "served"
        served.mkdir()
        with GitHttpServer(served, token=TOKEN, throttle=MODELLED, lifetime=3600) as server:
            for run in range(runs):
                for kind in KINDS:
                    name = f"{kind}-{run}.git"
                    repo = configrepo.fresh_copy(source, served / name)
                    if kind == "zero-config":
                        drop_config(repo)
                    home = base / f"home-{kind}-{run}"
                    home.mkdir()
                    sample = run_promoter(server, name, app, home)
                    check_promoted(repo, app)
                    samples[kind].append(sample)
                    shutil.rmtree(repo)
                    log(
                        f"  {size} apps, run {run + 1}/{runs}, {kind}: {sample.seconds:.2f}s, "
                        f"{network_ops(sample)} git network ops, {len(sample.requests)} "
                        f"requests, {sample.down:,} B down"
                    )
            if server.errors:
                raise RuntimeError(f"server errors: {server.errors}")
    return samples


def report(results: dict[int, dict[str, list[Sample]]], runs: int) -> str:
    head = _git_out("rev-parse", "--short", "HEAD")
    lines = [
        HEADING,
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{_git_out('--version')}, Python {platform.python_version()}, promoter at `{head}`. "
        f"Command: `python benchmarks/zero_config.py --runs {runs}`. Medians of {runs} "
        "interleaved runs per kind over the modelled CI link (50 Mbit/s, 30 ms per request); "
        "each run promotes one app's staging tag on a fresh copy of the repository, with its "
        "promoter.yaml (configured) and without it (zero-config: discovery finds the overlay).",
        "",
        "| apps | kind | git network ops | HTTP requests | down | s (median) | "
        "ops vs configured | time vs configured |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for size, samples in sorted(results.items()):
        base_ops = median([network_ops(s) for s in samples["configured"]])
        base_time = median([s.seconds for s in samples["configured"]])
        for kind in KINDS:
            ops = median([network_ops(s) for s in samples[kind]])
            seconds = median([s.seconds for s in samples[kind]])
            lines.append(
                f"| {size:,} | {kind} | {ops:g} | "
                f"{median([len(s.requests) for s in samples[kind]]):g} | "
                f"{human(median([s.down for s in samples[kind]]))} | {seconds:.2f} | "
                f"{ops - base_ops:+g} | {seconds / base_time:.2f}x |"
            )
            if kind == "zero-config":
                ok = ops - base_ops <= TARGET_EXTRA_OPS and seconds / base_time <= TARGET_RATIO
                verdicts.append(
                    f"- {size:,} apps: {ops - base_ops:+g} ops (target ≤ +{TARGET_EXTRA_OPS}), "
                    f"{seconds / base_time:.2f}x time (target ≤ {TARGET_RATIO}x): "
                    f"{'met' if ok else '**missed**'}"
                )
    lines += ["", "### Targets", "", *verdicts, ""]
    return "\n".join(lines)


def _git_out(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=False, cwd=ROOT
    ).stdout.strip()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,2000,8000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--cache", type=Path, default=configrepo.DEFAULT_CACHE)
    parser.add_argument("--quick", action="store_true", help="500 apps, 1 run")
    parser.add_argument("--output", type=Path, help="replace this section in a Markdown file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [500] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    workdir = default_workdir()
    results = {}
    for size in sizes:
        log(f"{size} apps: generating (cached under {args.cache})")
        source = configrepo.cached_repo(size, args.commits, args.cache)
        app = configrepo.benchmark_app(size)
        results[size] = measure(source, size, runs, app, workdir)
    section = report(results, runs)
    print(section)
    if args.output is not None:
        write_section(args.output, section, HEADING)


if __name__ == "__main__":
    main()
