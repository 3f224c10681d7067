"""Start-up cost: `promote --help` and `promote bump` against `python -c pass`, side by side.

Prints medians of interleaved runs and the ratios (STYLE §9: `--help` within 2×, `bump`
within 3×). Usage: python benchmarks/startup.py [runs]

Every command runs with its bytecode compiled, as an installed promoter does: the children
write and read it under a temporary `PYTHONPYCACHEPREFIX` (the source tree is not touched,
`PYTHONDONTWRITEBYTECODE` is dropped for them), and one discarded round compiles it first.
Otherwise any module edited since its `.pyc` was written would be compiled on every run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "kustomization.yaml"
        target.write_text("images:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "promote --help": [sys.executable, "-m", "promoter", "--help"],
            "promote bump (1 file)": [
                sys.executable, "-m", "promoter", "bump", str(target), "--image",
                "ghcr.io/acme/web:1.0.0",
            ],
        }  # fmt: skip
        for argv in commands.values():  # compiles the bytecode; not measured
            _time(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                samples[name].append(_time(argv, env))
    base = statistics.median(samples["python -c pass"])
    print(f"## Start-up (median of {runs} interleaved runs, {sys.version.split()[0]})\n")
    print("| command | median ms | ratio to python -c pass |")
    print("|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.1f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
