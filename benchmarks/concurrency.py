"""N concurrent promotions of N different apps to one branch: does every one land, how fast?

promoter: N `python -m promoter --env staging --image ghcr.io/acme/app-NN:2.0.0 --output
json` processes started at once, each cloning, committing and pushing with compare-and-swap;
a push that lost the race is retried from the new tip after a jittered backoff (the attempt
count comes from each run's JSON `stats.attempts`).

The anchor: what a `yq + git push` CI job does, one shell process per app: `git clone
--depth 1`, edit the file (sed standing in for yq), commit, then `until git push; do git
pull --rebase; done`, bounded to the same attempt count as promoter's budget.

Both run against a loopback smart-HTTP git server with token auth (tests/fakes/githttp.py)
serving a fresh copy of the many-apps repository of tests/e2e/test_concurrency.py; the
token travels in `GIT_CONFIG_*` env (http.extraHeader), never in a URL or argv. Afterwards
the bare repository is checked: every app's file holds 2.0.0 and the first-parent history
has exactly N new commits (no lost update, no merge).

Usage: python benchmarks/concurrency.py [-n 100] [--tools promoter,anchor] [--output FILE]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from e2e.test_concurrency import kustomization, kustomization_path, many_apps_repo  # noqa: E402
from fakes.githttp import GitHttpServer  # noqa: E402

from promoter.promotion import RetryPolicy  # noqa: E402

TOKEN = "bench-concurrency-token"
TOOLS = ("promoter", "anchor")
PROCESS_TIMEOUT = 900.0
WORKDIR = "/dev/shm" if Path("/dev/shm").is_dir() else None
"""tmpfs: N clones at once on this VM's ext4 /tmp would measure the disk, not the race."""

ANCHOR = r"""
set -u
git clone -q --depth 1 --branch main "$URL" repo || { echo "attempts=0"; exit 1; }
cd repo
# yq -i '.images[0].newTag = "2.0.0"' "$FILE", with sed: the same one-line edit
sed -i 's/newTag: "1.0.0"/newTag: "2.0.0"/' "$FILE"
git commit -q -am "Promote $APP to 2.0.0" || { echo "attempts=0"; exit 1; }
n=1
until git push -q origin HEAD:main 2>/dev/null; do
  if [ "$n" -ge "$MAX" ]; then echo "attempts=$n"; exit 1; fi
  n=$((n + 1))
  git pull -q --rebase origin main || { echo "attempts=$n"; exit 1; }
done
echo "attempts=$n"
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One tool's race: which processes landed, their attempts, and what the remote holds."""

    tool: str
    n: int
    landed: list[str]
    wall: float
    attempts: list[int]
    failures: list[str]
    at_new: list[str]
    """Apps whose file holds 2.0.0 on the remote's main."""
    first_parent: int
    commits: int

    @property
    def consistent(self) -> bool:
        """No lost update: each app that reported success is on main, exactly one commit
        each on the first-parent line, and nothing else."""
        return set(self.landed) <= set(self.at_new) and (
            self.first_parent == self.commits == len(self.landed) == len(self.at_new)
        )


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def clean_env(home: Path) -> dict[str, str]:
    scrubbed = ("GIT_", "GITHUB_", "GITLAB_", "PROMOTER_", "CI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(scrubbed)}
    return env | {
        "HOME": str(home),
        "TMPDIR": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


def anchor_env(home: Path, url: str, app: str, attempts: int) -> dict[str, str]:
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    identity = {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "ci"), ("EMAIL", "ci@example.com"))
    }
    return (
        clean_env(home)
        | identity
        | {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            "URL": url,
            "APP": app,
            "FILE": kustomization_path(app),
            "MAX": str(attempts),
        }
    )


def start(tool: str, url: str, app: str, work: Path, attempts: int) -> subprocess.Popen[str]:
    home = work / app
    home.mkdir()
    if tool == "promoter":
        argv = [
            sys.executable, "-m", "promoter", "--config-repo", url, "--env", "staging",
            "--image", f"ghcr.io/acme/{app}:2.0.0", "--output", "json",
        ]  # fmt: skip
        env = clean_env(home) | {"PROMOTER_TOKEN": TOKEN}
    else:
        argv = ["bash", "-c", ANCHOR]
        env = anchor_env(home, url, app, attempts)
    return subprocess.Popen(
        argv, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def attempts_of(tool: str, stdout: str) -> int | None:
    if tool == "promoter":
        try:
            return int(json.loads(stdout)["stats"]["attempts"])
        except (ValueError, KeyError, TypeError):
            return None
    for line in stdout.splitlines():
        if line.startswith("attempts="):
            return int(line.removeprefix("attempts="))
    return None


def race(tool: str, n: int, attempts: int, workdir: str | None) -> Outcome:
    """One tool, N processes at once on a fresh copy of the many-apps repository."""
    apps = [f"app-{i:02d}" for i in range(n)]
    with tempfile.TemporaryDirectory(prefix=f"concurrency-{tool}-", dir=workdir) as tmp:
        root, work = Path(tmp) / "srv", Path(tmp) / "work"
        work.mkdir()
        bare = many_apps_repo(root, n)
        before = git(bare, "rev-parse", "main").strip()
        with GitHttpServer(root, token=TOKEN, lifetime=PROCESS_TIMEOUT + 60) as server:
            url = server.repo_url("config.git")
            started = time.monotonic()
            procs = [(app, start(tool, url, app, work, attempts)) for app in apps]
            counts: list[int] = []
            landed: list[str] = []
            failures: list[str] = []
            for app, proc in procs:
                stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT)
                found = attempts_of(tool, stdout)
                counts.append(attempts if found is None else found)
                ok = proc.returncode == 0
                if ok and tool == "promoter":
                    ok = json.loads(stdout)["status"] == "changed"
                if ok:
                    landed.append(app)
                else:
                    tail = (stderr.strip().splitlines() or ["(no stderr)"])[-1]
                    failures.append(f"{app}: exit {proc.returncode}: {tail[:200]}")
            wall = time.monotonic() - started
        if server.errors:
            failures.append(f"server errors: {server.errors!r}")
        at_new = [
            app
            for app in apps
            if git(bare, "show", f"main:{kustomization_path(app)}")
            == kustomization(app, "2.0.0").decode()
        ]
        first_parent = len(git(bare, "rev-list", "--first-parent", f"{before}..main").split())
        commits = int(git(bare, "rev-list", "--count", f"{before}..main"))
    return Outcome(tool, n, landed, wall, counts, failures, at_new, first_parent, commits)


def render(outcomes: Sequence[Outcome], args: argparse.Namespace, load: tuple[float, ...]) -> str:
    policy = RetryPolicy()
    head = git(ROOT, "rev-parse", "--short", "HEAD").strip()
    lines = [
        "## Concurrency",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"({platform.machine()}, shared with other work: 1-minute load average before the run "
        f"{load[0]:.2f}), {git(ROOT, '--version').strip()}, Python "
        f"{platform.python_version()}, promoter at `{head}` (plus the working tree). Command: "
        f"`python benchmarks/concurrency.py -n {args.n}`. {args.n} processes started at once, "
        "each promoting a different app's staging tag (1.0.0 → 2.0.0) on one branch over "
        "loopback smart HTTP with token auth, no throttle. promoter's retry budget: "
        f"{policy.attempts} attempts or {policy.max_seconds:.0f} s; the anchor (`git clone "
        "--depth 1`, sed, commit, `until git push; do git pull --rebase; done`) is bounded to "
        f"the same {policy.attempts} push attempts.",
        "",
        "| tool | landed | wall s | attempts max | median | total | files at 2.0.0 "
        "| first-parent commits | no lost update |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        verdict = "yes" if o.consistent else "NO"
        lines.append(
            f"| {o.tool} | {len(o.landed)}/{o.n} | {o.wall:.1f} | {max(o.attempts)} "
            f"| {statistics.median(o.attempts):g} | {sum(o.attempts)} | {len(o.at_new)}/{o.n} "
            f"| {o.first_parent} ({o.commits} in all) | {verdict} |"
        )
    for o in outcomes:
        if o.failures:
            lines += ["", f"{o.tool}: {len(o.failures)} failed, e.g.:"]
            lines += [f"- {f}" for f in o.failures[:5]]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the `## Concurrency` section of `path`, or append it; keep the rest."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Concurrency\n.*?(?=^## (?!#)|\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="concurrent promotions (default 100)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="promoter,anchor (both)")
    parser.add_argument("--output", type=Path, help="also write the section into this file")
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    if unknown := sorted(set(tools) - set(TOOLS)):
        parser.error(f"unknown tools {', '.join(unknown)}")
    # As `pip install` leaves it: compiled, so no process pays for compiling the source.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "promoter")], check=True)
    load = os.getloadavg()
    outcomes = []
    for tool in tools:
        print(f"{tool}: {args.n} concurrent promotions…", file=sys.stderr, flush=True)
        outcomes.append(race(tool, args.n, RetryPolicy().attempts, WORKDIR))
    section = render(outcomes, args, load)
    print(section)
    if args.output:
        write_section(args.output, section)
    if not all(o.consistent for o in outcomes):
        raise SystemExit("an update was lost (see the table)")


if __name__ == "__main__":
    main()
