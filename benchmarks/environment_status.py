"""`promote status` and `promote plan --all` on generated config repositories, by size.

Against the anchors' strategy for "what runs where": a hand-written script that clones the
repository (`git clone --depth 1`, as Argo CD Image Updater and gitopscli do) and reads
every app's overlay with a YAML parser (what `yq` over a checkout does). All three run side
by side, interleaved, over the loopback git server (smart HTTP, token), which counts
requests and bytes. Two configurations per size, one commit apart: promoter.yaml managing
every app (apps × 3 environments), and the same repository without promoter.yaml (the
environment model finds every app). At one size (`--history-apps`), the managed runs also
run status on the same repository generated with 30 commits instead of the full history,
interleaved with the others: the history's effect.

Usage: python benchmarks/environment_status.py [--sizes 500,2000,8000] [--commits 3000]
                                              [--runs 3] [--output benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fakes.githttp import GitHttpServer  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from benchmarks import configrepo  # noqa: E402

TOKEN = "bench-status-token"
TOOLS = ("status", "plan", "naive")
STATUS_TARGET = 2.5
PLAN_TARGET = 1.5
HISTORY_SHORT = 30


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "GITHUB_", "GITLAB_", "PROMOTER_", "CI_"))
    }
    return env | {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PROMOTER_TOKEN": TOKEN}


def run_promote(url: str, home: Path, *args: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process, stdout)."""
    argv = [sys.executable, "-m", "promoter", *args, "--config-repo", url]
    before = os.times()
    started = time.monotonic()
    done = subprocess.run(argv, env=clean_env(home), capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"promote {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, done.stdout


def naive_status(url: str, home: Path, apps: int) -> tuple[float, float, int]:
    """The anchors' way: a depth-1 clone, then every app's overlay in every environment
    parsed. Returns (wall, CPU of this process and its children, cells with a version)."""
    work = Path(tempfile.mkdtemp(prefix="naive-", dir=home))
    before = os.times()
    started = time.monotonic()
    env = clean_env(home) | {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                             "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {TOKEN}"}  # fmt: skip
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", url, str(work / "repo")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    yaml = YAML(typ="safe")
    cells = 0
    for index in range(apps):
        app = configrepo.app_name(index)
        for env_name in configrepo.ENVIRONMENTS:
            data = yaml.load((work / "repo" / configrepo.overlay_path(app, env_name)).read_text())
            cells += bool(data.get("images"))
    seconds = time.monotonic() - started
    after = os.times()
    cpu = sum(after[i] - before[i] for i in range(4))
    shutil.rmtree(work, ignore_errors=True)
    return seconds, cpu, cells


def commit_config(repo: Path, apps: int, home: Path, *, managed: bool) -> None:
    """One more commit on the served repository: promoter.yaml managing every app, or
    promoter.yaml removed (the environment model finds the apps)."""
    work = home / f"edit-{time.monotonic_ns()}"
    env = clean_env(home)
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], env=env, check=True)
    if managed:
        names = [configrepo.app_name(i) for i in range(apps)]
        (work / "promoter.yaml").write_bytes(configrepo.promoter_yaml(apps, names))
        subprocess.run(["git", "add", "promoter.yaml"], cwd=work, env=env, check=True)
    else:
        subprocess.run(["git", "rm", "-q", "promoter.yaml"], cwd=work, env=env, check=True)
    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    message = "manage every app" if managed else "no promoter.yaml"
    subprocess.run(["git", *identity, "commit", "-qm", message], cwd=work, env=env, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, env=env, check=True)
    shutil.rmtree(work, ignore_errors=True)


@dataclass
class Cell:
    """One (size, configuration): samples per tool (wall, CPU, requests, bytes down)."""

    apps: int
    config: str
    commits: int
    samples: dict[str, list[tuple[float, float, int, int]]] = field(default_factory=dict)

    def median(self, tool: str, index: int = 0) -> float:
        return statistics.median(s[index] for s in self.samples[tool])

    def ratio(self, tool: str) -> float:
        return self.median(tool) / self.median("naive")


def measure(
    apps: int, commits: int, runs: int, configs: tuple[str, ...], *, history: bool = False
) -> list[Cell]:
    """Each configuration's cell; with `history`, the managed configuration's runs also
    run status on the same repository generated with `HISTORY_SHORT` commits, interleaved
    with the others (tool `status-short`)."""
    source = configrepo.cached_repo(apps, commits)
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="bench-status-", dir="/dev/shm") as tmp:
        home = Path(tmp)
        served = home / "served"
        served.mkdir()
        shutil.copytree(source, served / "config.git")
        if history:
            shutil.copytree(configrepo.cached_repo(apps, HISTORY_SHORT), served / "short.git")
            commit_config(served / "short.git", apps, home, managed=True)
        with GitHttpServer(served, token=TOKEN, lifetime=7200) as server:
            url = server.repo_url("config.git")
            short = server.repo_url("short.git")
            for config in configs:
                managed = config != "no promoter.yaml"
                commit_config(served / "config.git", apps, home, managed=managed)
                cell = Cell(apps, config, commits)
                tools = TOOLS + (("status-short",) if history and managed else ())
                for _ in range(runs):
                    for tool in tools:
                        server.reset_stats()
                        if tool == "status":
                            wall, cpu, _ = run_promote(url, home, "status", "--output", "json")
                        elif tool == "status-short":
                            wall, cpu, _ = run_promote(short, home, "status", "--output", "json")
                        elif tool == "plan":
                            wall, cpu, _ = run_promote(
                                url, home, "plan", "--to", "production", "--all",
                                "--output", "github-matrix",
                            )  # fmt: skip
                        else:
                            wall, cpu, found = naive_status(url, home, apps)
                            assert found == apps * len(configrepo.ENVIRONMENTS), found
                        sample = (wall, cpu, len(server.requests), server.bytes_sent)
                        cell.samples.setdefault(tool, []).append(sample)
                cells.append(cell)
                print(f"  {row(cell)}", file=sys.stderr)  # kept if a later cell fails
    return cells


def row(cell: Cell) -> str:
    def fmt(tool: str) -> str:
        if tool not in cell.samples:
            return "| – | – "
        return f"| {cell.median(tool):.2f} | {cell.median(tool, 1):.2f} "

    ratios = " | ".join(
        f"{cell.ratio(t):.2f}x" if t in cell.samples else "–" for t in ("status", "plan")
    )
    requests = cell.median("status", 2)
    down = cell.median("status", 3) / 1024
    return (
        f"| {cell.apps:,} | {cell.config} | {cell.commits:,} {fmt('status')}{fmt('plan')}"
        f"{fmt('naive')}| {ratios} | {requests:.0f} | {down:,.0f} KiB |"
    )


def verdicts(cells: list[Cell]) -> list[str]:
    lines = []
    for cell in cells:
        for tool, target in (("status", STATUS_TARGET), ("plan", PLAN_TARGET)):
            ratio = cell.ratio(tool)
            verdict = "met" if ratio <= target else "**missed**"
            lines.append(
                f"- {cell.apps:,} apps, {cell.config}: {tool} ≤ {target}x the depth-1 clone + "
                f"YAML read: {ratio:.2f}x, {verdict}."
            )
    for cell in (c for c in cells if "status-short" in c.samples):
        long, short = cell.median("status"), cell.median("status-short")
        lines.append(
            f"- status with {cell.commits:,} commits of history against {HISTORY_SHORT} "
            f"({cell.apps:,} apps, promoter.yaml, interleaved): {long / short:.2f}x the time "
            f"({long:.2f} s against {short:.2f} s)."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,8000")
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--history-apps", type=int, default=2000,
        help="the size whose managed runs also time a 30-commit history (0: none)",
    )  # fmt: skip
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.monotonic()
    cells: list[Cell] = []
    for apps in sizes:
        history = apps == args.history_apps
        configs = ("promoter.yaml", "no promoter.yaml")
        cells += measure(apps, args.commits, args.runs, configs, history=history)
    minutes = (time.monotonic() - started) / 60
    text = "\n".join(
        [
            "## promote status and plan",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; "
            "loopback smart HTTP, no throttle; median of "
            f"{args.runs} interleaved runs; {minutes:.1f} min. `status`: every app × 3 "
            "environments with ages (30 commits of history); `plan`: `plan --to production "
            "--all --output github-matrix`; `naive`: the anchors' way, `git clone --depth 1` "
            "and every app's overlay in every environment parsed (no ages, no inheritance, "
            "no policies). CPU is user + system of the process and its children. Command: "
            "`python benchmarks/environment_status.py"
            + (f" --sizes {args.sizes}" if args.sizes != "500,2000,8000" else "")
            + (f" --runs {args.runs}" if args.runs != 3 else "")
            + "`.",
            "",
            "| apps | config | commits | status s | status CPU s | plan s | plan CPU s | "
            "naive s | naive CPU s | status / naive | plan / naive | status git requests | "
            "status bytes down |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(row(c) for c in cells),
            "",
            "### Targets",
            "",
            *verdicts(cells),
        ]
    )
    print(text)
    if args.output:
        from benchmarks.git_transport import write_section

        write_section(args.output, text, heading="## promote status and plan")


if __name__ == "__main__":
    main()
