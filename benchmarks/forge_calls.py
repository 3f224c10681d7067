"""REST calls per promotion against the fake GitHub: create, update and no-op paths.

Issue 5 targets at most 6 REST calls to create or update a pull request with labels and
reviewers. This runs the real `promote` (clone mode, pull-request mode, production of the
bundled fixture: two labels, a team and a user reviewer) against tests/fakes/github.py,
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.github import FakeGitHub  # noqa: E402

TOKEN = "ghs_benchmark_token"
FIXTURE = ROOT / "fixtures" / "configrepo"
STEPS = [("created", "1.5.0"), ("updated", "1.5.1"), ("unchanged", "1.5.1")]


def _files() -> dict[str, bytes]:
    return {
        p.relative_to(FIXTURE).as_posix(): p.read_bytes()
        for p in sorted(FIXTURE.rglob("*"))
        if p.is_file()
    }


def _promote(fake: FakeGitHub, tag: str, home: Path) -> tuple[float, dict[str, object]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "GITHUB_", "PROMOTER_", "CI_"))
    }
    env |= {
        "PROMOTER_TOKEN": TOKEN,
        "PROMOTER_GITHUB_WRITE_INTERVAL": "0",
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    argv = [
        sys.executable, "-m", "promoter", "--config-repo", fake.git_url("acme", "config"),
        "--forge", "github", "--api-url", fake.api_url, "--env", "production",
        "--image", f"ghcr.io/acme/web:{tag}", "--output", "json",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return time.monotonic() - started, json.loads(done.stdout)


def measure(runs: int) -> dict[str, list[tuple[int, int, float, Counter[str]]]]:
    found: dict[str, list[tuple[int, int, float, Counter[str]]]] = {s: [] for s, _ in STEPS}
    for _ in range(runs):
        with (
            tempfile.TemporaryDirectory() as tmp,
            FakeGitHub(Path(tmp) / "gh", token=TOKEN) as fake,
        ):
            fake.create_repo("acme", "config", _files())
            for step, tag in STEPS:
                before = len(fake.calls)
                seconds, report = _promote(fake, tag, Path(tmp))
                calls = fake.calls[before:]
                kinds = Counter(f"{c.method} {_shape(c.path)}" for c in calls)
                writes = sum(1 for c in calls if c.method != "GET")
                operation = report["environments"][0]["pull_request"]["operation"]  # type: ignore[index]
                assert operation == step, (step, operation)
                found[step].append((len(calls), writes, seconds, kinds))
    return found


def _shape(path: str) -> str:
    parts = path.split("?", maxsplit=1)[0].split("/")
    return "/".join("{n}" if p.isdigit() else p for p in parts)


def render(found: dict[str, list[tuple[int, int, float, Counter[str]]]], runs: int) -> str:
    lines = [
        f"## REST calls per promotion (fake GitHub, median of {runs} runs)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; clone mode, pull-request mode, "
        "production of fixtures/configrepo (labels `promotion`, `production`; reviewers "
        "`acme/sre`, `@alice`). Command: `python benchmarks/forge_calls.py`.",
        "",
        "| path | REST calls | writes | wall s | calls |",
        "|---|---:|---:|---:|---|",
    ]
    for step, samples in found.items():
        calls = statistics.median(s[0] for s in samples)
        writes = statistics.median(s[1] for s in samples)
        wall = statistics.median(s[2] for s in samples)
        kinds = ", ".join(f"{n}× {k}" for k, n in sorted(samples[-1][3].items()))
        lines.append(f"| {step} | {calls:g} | {writes:g} | {wall:.2f} | {kinds} |")
    worst = max(statistics.median(s[0] for s in found[p]) for p in ("created", "updated"))
    verdict = "met" if worst <= 6 else "**missed**"
    lines += ["", f"Target: at most 6 REST calls to create or update: {worst:g}, {verdict}."]
    lines += ["`--no-clone` (API-only) is not implemented yet, so it is not compared here."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    text = render(measure(args.runs), args.runs)
    print(text)
    if args.output:
        current = args.output.read_text() if args.output.exists() else ""
        marker = "## REST calls per promotion"
        head = current.split(marker)[0].rstrip() + "\n\n" if marker in current else current
        args.output.write_text(head + text)


if __name__ == "__main__":
    main()
