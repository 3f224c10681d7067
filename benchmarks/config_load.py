"""promoter.yaml load time by number of apps: linear, and against a plain YAML read.

Builds a promoter.yaml of N apps (one image and one kustomize target each) and times
`config.load_config` (compose, validate, every check) beside the YAML read any tool must
do (`yaml.safe_load` with libyaml's CSafeLoader when present), interleaved, medians.
Usage: python benchmarks/config_load.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml as pyyaml  # type: ignore[import-untyped]

from promoter import config

SIZES = (500, 2000, 8000)


def _text(apps: int) -> str:
    lines = ["version: 1", "environments:", "  dev: {}", "  staging: {from: dev}", "apps:"]
    for index in range(apps):
        name = f"app-{index:05d}"
        lines += [
            f"  {name}:",
            f"    image: ghcr.io/acme/{name}",
            "    targets:",
            f"      dev: [{{kustomize: apps/{name}/dev/kustomization.yaml}}]",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
    print(f"## promoter.yaml load (median of {runs} interleaved runs)\n")
    print("| apps | load_config s | ms per app | YAML read s | ratio |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for apps in SIZES:
            path = root / "promoter.yaml"
            path.write_text(_text(apps))
            ours: list[float] = []
            plain: list[float] = []
            for _ in range(runs):
                start = time.perf_counter()
                config.load_config(path, root=root)
                ours.append(time.perf_counter() - start)
                start = time.perf_counter()
                pyyaml.load(path.read_text(), Loader=loader)
                plain.append(time.perf_counter() - start)
            load, read = statistics.median(ours), statistics.median(plain)
            print(
                f"| {apps:,} | {load:.2f} | {load / apps * 1000:.3f} | {read:.2f} | "
                f"{load / read:.1f}x |"
            )


if __name__ == "__main__":
    main()
