"""`promote status` and `promote plan --all` on the generated 2,000-app config repository.

Against the anchors' strategy for "what runs where": a hand-written script that clones the
repository (`git clone --depth 1`, as Argo CD Image Updater and gitopscli do) and reads
every managed app's overlay with a YAML parser (what `yq` over a checkout does). Both run
side by side, interleaved, over the loopback git server (smart HTTP, token), which counts
requests and bytes. Two configurations: the generated promoter.yaml (20 managed apps), and
one commit later the same repository with all 2,000 apps in promoter.yaml (6,000 cells).

Usage: python benchmarks/environment_status.py [--apps 2000] [--commits 3000] [--runs 3]
                                              [--output benchmarks/RESULTS.md]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fakes.githttp import GitHttpServer  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from benchmarks import configrepo  # noqa: E402

TOKEN = "bench-status-token"


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "GITHUB_", "GITLAB_", "PROMOTER_", "CI_"))
    }
    return env | {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PROMOTER_TOKEN": TOKEN}


def run_promote(url: str, home: Path, *args: str) -> tuple[float, str]:
    argv = [sys.executable, "-m", "promoter", *args, "--config-repo", url]
    started = time.monotonic()
    done = subprocess.run(argv, env=clean_env(home), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"promote {' '.join(args)} failed: {done.stderr.strip()}")
    return time.monotonic() - started, done.stdout


def naive_status(url: str, home: Path, apps: list[str]) -> tuple[float, int]:
    """The anchors' way: a depth-1 clone, then every managed overlay parsed."""
    work = Path(tempfile.mkdtemp(prefix="naive-", dir=home))
    started = time.monotonic()
    env = clean_env(home) | {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                             "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {TOKEN}"}  # fmt: skip
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", url, str(work / "repo")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    yaml = YAML(typ="safe")
    cells = 0
    for app in apps:
        for env_name in configrepo.ENVIRONMENTS:
            data = yaml.load((work / "repo" / configrepo.overlay_path(app, env_name)).read_text())
            cells += bool(data.get("images"))
    seconds = time.monotonic() - started
    shutil.rmtree(work, ignore_errors=True)
    return seconds, cells


def all_apps_config(repo: Path, apps: int, home: Path) -> None:
    """One more commit on the served repository: promoter.yaml managing every app."""
    work = home / "all-apps"
    env = clean_env(home)
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], env=env, check=True)
    names = [configrepo.app_name(i) for i in range(apps)]
    (work / "promoter.yaml").write_bytes(configrepo.promoter_yaml(apps, names))
    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", *identity, "commit", "-qam", "manage every app"], cwd=work, env=env,
                   check=True)  # fmt: skip
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, env=env, check=True)


def measure(apps: int, commits: int, runs: int) -> list[str]:
    source = configrepo.cached_repo(apps, commits)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-status-", dir="/dev/shm") as tmp:
        home = Path(tmp)
        served = home / "served"
        served.mkdir()
        shutil.copytree(source, served / "config.git")
        with GitHttpServer(served, token=TOKEN, lifetime=3600) as server:
            url = server.repo_url("config.git")
            for label, managed in (("20 managed apps", None), (f"{apps:,} managed apps", apps)):
                if managed is not None:
                    all_apps_config(served / "config.git", apps, home)
                names = (
                    configrepo.configured_apps(apps)
                    if managed is None
                    else [configrepo.app_name(i) for i in range(apps)]
                )
                samples: dict[str, list[tuple[float, int, int]]] = {}
                for _ in range(runs):
                    for tool in ("status", "plan", "naive"):
                        server.reset_stats()
                        if tool == "status":
                            seconds, _ = run_promote(url, home, "status", "--output", "json")
                        elif tool == "plan":
                            seconds, _ = run_promote(
                                url, home, "plan", "--to", "production", "--all",
                                "--output", "github-matrix",
                            )  # fmt: skip
                        else:
                            seconds, _ = naive_status(url, home, names)
                        found = (seconds, len(server.requests), server.bytes_sent)
                        samples.setdefault(tool, []).append(found)
                for tool, values in samples.items():
                    rows.append(
                        f"| {label} | {tool} | {statistics.median(v[0] for v in values):.2f} | "
                        f"{statistics.median(v[1] for v in values):.0f} | "
                        f"{statistics.median(v[2] for v in values) / 1024:,.0f} KiB |"
                    )
                print(f"  {label} done", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows = measure(args.apps, args.commits, args.runs)
    text = "\n".join(
        [
            f"## promote status and plan ({args.apps:,} apps, {args.commits:,} commits, "
            f"median of {args.runs})",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; loopback smart HTTP, no "
            "throttle. `status`: apps × 3 environments with ages (30 commits of history); "
            "`plan`: `plan --to production --all --output github-matrix`; `naive`: the "
            "anchors' way, `git clone --depth 1` and every managed overlay parsed (no ages, "
            "no inheritance). Command: `python benchmarks/environment_status.py`.",
            "",
            "| config | tool | wall s | git HTTP requests | bytes down |",
            "|---|---|---:|---:|---:|",
            *rows,
        ]
    )
    print(text)
    if args.output:
        from benchmarks.git_transport import write_section

        write_section(args.output, text, heading="## promote status and plan")


if __name__ == "__main__":
    main()
