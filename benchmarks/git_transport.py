"""Git transport cost of one promotion: promoter's partial clone against the anchors' own.

A promotion should cost one wide directory listing plus the file, not the repository, and
beat every git strategy the anchor tools use. For config repositories of 500, 2,000 and
8,000 apps (3,000 commits of history, see configrepo.py), served by the loopback smart-HTTP
server at full speed and through a modelled CI link (50 Mbit/s, 30 ms per request), it
times promoting one app's staging tag with `promote --mode push` and with each peer
strategy (edit the file, commit, push), interleaved, on a fresh copy of the repository
each run. promoter runs twice: as shipped (`promoter`: the direct smart-HTTP transport,
chosen automatically) and pinned to its fallback (`promoter-git`: the git partial clone),
through `PROMOTER_TRANSPORT`, a variable for benchmarks and tests only:

  naive     full clone with checkout (the tutorial `yq` + `git push` script)
  depth1    `clone --depth=1` with checkout (Argo CD Image Updater, gitopscli)
  blobless  `clone --filter=blob:none` with checkout (Renovate)
  sparse    `clone --depth=1 --filter=blob:none --no-checkout` + sparse checkout of the one
            file (Kargo's opt-in; the best a git script can do)

It reports medians, bytes in each direction as the server counted them, HTTP requests,
growth with repository size, the physical floor (the compressed objects a promotion must
move) and where the time of a promoter run goes (one extra traced run). Progress goes to
stderr, the Markdown section to stdout (and to `--output FILE`).

Usage: python benchmarks/git_transport.py [--sizes 500,2000,8000] [--runs 5] [--quick]
                                          [--peers naive,depth1,blobless,sparse]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import configrepo  # noqa: E402
from tests.fakes.githttp import (  # noqa: E402
    GitHttpServer,
    Request,
    Throttle,
    sequential_exchanges,
)

TOKEN = "s3cret"
NEW_TAG = "2.0.0"
ENV = "staging"
MODELLED = Throttle(bandwidth=50e6 / 8, rtt=0.030)
LINKS: dict[str, Throttle | None] = {"full speed": None, "50 Mbit/s + 30 ms": MODELLED}
TARGET_LINK = "50 Mbit/s + 30 ms"
TARGET_SIZE = 2000
TARGET_SPEEDUP = 2.0
"""promoter against the fastest peer, 2,000 apps, modelled link."""
TARGET_REQUESTS = 4
"""Sequential round trips per push-mode promotion (requests in flight together count once)."""
TARGET_BYTES = 20.0
"""promoter's bytes against the depth-1 clone's."""
TARGET_GROWTH = 1.5
PEERS: dict[str, tuple[list[str], str]] = {
    "naive": ([], "full clone with checkout"),
    "depth1": (["--depth=1", "--single-branch"], "depth-1 clone (Argo CD Image Updater)"),
    "blobless": (["--filter=blob:none"], "blobless clone (Renovate)"),
    "sparse": (
        ["--depth=1", "--single-branch", "--filter=blob:none", "--no-checkout"],
        "depth-1 blobless sparse checkout (Kargo, best script)",
    ),
}
"""Each peer's `git clone` options, and what it stands for."""
PROMOTERS = {"promoter": "auto", "promoter-git": "git"}
"""promoter as shipped (the direct transport) and pinned to its git fallback."""
_SCRUBBED = re.compile(r"^(GIT_|GITHUB_|GITLAB_|CI_|PROMOTER_)|^CI$")
_PACK_OVERHEAD = 12 + 20  # header and trailing checksum of one pack


@dataclass
class Sample:
    """One measured run: wall time and what crossed the link, as the server saw it."""

    seconds: float
    down: int
    up: int
    requests: list[Request]
    stats: dict[str, object] = field(default_factory=dict)


@dataclass
class Cell:
    """All runs of one (size, link): promoter's samples and each peer's."""

    size: int
    link: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)
    """1-minute load average after each run: the machine is shared, this says how much."""

    @property
    def promoter(self) -> list[Sample]:
        return self.samples.setdefault("promoter", [])

    @property
    def peers(self) -> list[str]:
        return [tool for tool in self.samples if tool in PEERS]

    def fastest_peer(self) -> str:
        return min(self.peers, key=lambda tool: _time(self.samples[tool]))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def clean_env(home: Path) -> dict[str, str]:
    """No GIT_*, CI or token variables from the caller, and an empty HOME (no user config).

    TMPDIR is HOME's parent, so promoter's temporary clone lands where naive's checkout does.
    """
    env = {k: v for k, v in os.environ.items() if not _SCRUBBED.search(k)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed promoter runs from bytecode
    env.update(HOME=str(home), TMPDIR=str(home.parent), LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    return env


def default_workdir() -> Path | None:
    """tmpfs when there is one: on ext4 after heavy create/delete churn, allocating inodes
    scans recently deleted ones (`recently_deleted`), and a 10,000-file checkout that takes
    1.3 s took 6-11 s on this VM, growing run by run. tmpfs measures git, not that."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def promote_command() -> str:
    here = Path(sys.executable).parent / "promote"
    return str(here) if here.exists() else shutil.which("promote") or "promote"


def _measure(server: GitHttpServer, action: Callable[[], dict[str, object]]) -> Sample:
    server.reset_stats()
    started = time.perf_counter()
    stats = action()
    seconds = time.perf_counter() - started
    return Sample(seconds, server.bytes_sent, server.bytes_received, list(server.requests), stats)


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout


def run_promoter(
    server: GitHttpServer,
    repo: str,
    app: str,
    home: Path,
    trace: Path | None = None,
    transport: str = "auto",
) -> Sample:
    """`promote --mode push --output json` as a CI job runs it: token in PROMOTER_TOKEN;
    `transport` pins one (`git`: the fallback) or leaves promoter to choose (`auto`)."""
    env = clean_env(home) | {"PROMOTER_TOKEN": TOKEN, "PROMOTER_TRANSPORT": transport}
    if trace is not None:
        env["GIT_TRACE2_EVENT"] = str(trace)
    argv = [
        promote_command(), "--config-repo", server.repo_url(repo), "--env", ENV,
        "--image", f"{configrepo.image_name(app)}:{NEW_TAG}", "--mode", "push",
        "--output", "json",
    ]  # fmt: skip

    def action() -> dict[str, object]:
        result = json.loads(_run(argv, env))
        if result["status"] != "changed":
            raise RuntimeError(f"promoter did not change anything: {result}")
        stats: dict[str, object] = result["stats"]
        return stats

    return _measure(server, action)


def run_peer(
    server: GitHttpServer, repo: str, app: str, home: Path, work: Path, peer: str
) -> Sample:
    """A peer's script: clone its way, edit the file, commit -am, push. The sparse peer
    checks out only the file (git fetches its blob at checkout)."""
    env = clean_env(home)
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    auth = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    who = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]
    relative = configrepo.overlay_path(app, ENV)
    path = work / relative
    options = PEERS[peer][0]

    def action() -> dict[str, object]:
        _run(["git", *auth, "clone", "-q", *options, server.repo_url(repo), str(work)], env)
        if peer == "sparse":
            _run(["git", "sparse-checkout", "set", "--no-cone", f"/{relative}"], env, cwd=work)
            _run(["git", *auth, "checkout", "-q"], env, cwd=work)
        text = path.read_text()
        new = re.sub(r'newTag: "[^"]*"', f'newTag: "{NEW_TAG}"', text)
        if new == text:
            raise RuntimeError(f"{peer} edit found no tag in {path}")
        path.write_text(new)
        message = f"Promote {app} to {ENV}: {NEW_TAG}"
        _run(["git", *who, "commit", "-q", "-am", message], env, cwd=work)
        _run(["git", *auth, "push", "-q", "origin", "HEAD"], env, cwd=work)
        return {}

    return _measure(server, action)


def check_promoted(repo: Path, app: str) -> None:
    """The server's branch holds the new tag: the run really promoted."""
    blob = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-p", f"main:{configrepo.overlay_path(app, ENV)}"],
        capture_output=True,
        text=True,
        check=True,
        env=configrepo.git_env(),
    ).stdout
    if f'newTag: "{NEW_TAG}"' not in blob:
        raise RuntimeError(f"{repo.name}: main does not hold {NEW_TAG} for {app}")


def measure_cell(
    source: Path,
    size: int,
    link: str,
    runs: int,
    app: str,
    workdir: Path | None,
    peers: Sequence[str],
) -> Cell:
    """Interleaved runs (promoter, each peer, promoter, ...) on fresh copies, one server."""
    cell = Cell(size, link)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=workdir) as tmp:
        base = Path(tmp)
        served = base / "served"
        served.mkdir()
        with GitHttpServer(served, token=TOKEN, throttle=LINKS[link], lifetime=3600) as server:
            for run in range(runs):
                for tool in (*PROMOTERS, *peers):
                    name = f"{tool}-{run}.git"
                    repo = configrepo.fresh_copy(source, served / name)
                    home = base / f"home-{tool}-{run}"
                    home.mkdir()
                    if tool in PROMOTERS:
                        sample = run_promoter(server, name, app, home, transport=PROMOTERS[tool])
                    else:
                        work = base / f"work-{tool}-{run}"
                        sample = run_peer(server, name, app, home, work, tool)
                        shutil.rmtree(work)
                    cell.samples.setdefault(tool, []).append(sample)
                    check_promoted(repo, app)
                    shutil.rmtree(repo)
                    cell.loads.append(os.getloadavg()[0])
                    log(
                        f"  {size} apps, {link}, run {run + 1}/{runs}, {tool}: "
                        f"{sample.seconds:.2f}s, {sample.down:,} B down, {sample.up:,} B up, "
                        f"{len(sample.requests)} requests"
                    )
            if server.errors:
                raise RuntimeError(f"server errors: {server.errors}")
    return cell


# -- the physical floor ----------------------------------------------------------------------


def _entry_size(data: bytes) -> int:
    """Bytes of one undeltified pack entry: type/size header plus zlib data."""
    header, size = 1, len(data) >> 4
    while size:
        header += 1
        size >>= 7
    return header + len(zlib.compress(data))


def _raw(repo: Path, oid: str) -> bytes:
    kind = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-t", oid],
        capture_output=True,
        text=True,
        check=True,
        env=configrepo.git_env(),
    ).stdout.strip()
    return subprocess.run(
        ["git", "-C", str(repo), "cat-file", kind, oid],
        capture_output=True,
        check=True,
        env=configrepo.git_env(),
    ).stdout


def _tree_entries(raw: bytes) -> list[tuple[bytes, str, bytes, int]]:
    """(mode, name, id, offset of id) of each entry of a raw tree."""
    entries, at = [], 0
    while at < len(raw):
        nul = raw.index(b"\0", at)
        mode, _, name = raw[at:nul].partition(b" ")
        entries.append((mode, name.decode(), raw[nul + 1 : nul + 21], nul + 1))
        at = nul + 21
    return entries


@dataclass(frozen=True)
class Floor:
    """Compressed bytes a promotion must download and upload (single packs, no framing)."""

    fetch: int
    send: int
    send_thin: int


def _ref_delta_size(base: bytes, target: bytes) -> int:
    """Bytes of a thin pack's entry for `target` as a delta against a base the server has."""
    delta = configrepo.diff_delta(base, target)
    header, size = 1, len(delta) >> 4
    while size:
        header += 1
        size >>= 7
    return header + 20 + len(zlib.compress(delta))


def physical_floor(repo: Path, app: str) -> Floor:
    """Fetch: tip commit, trees on the target path, target blob and promoter.yaml.

    Send: the new blob, the new trees up to the root and the new commit, zlib-compressed
    (`send`); `send_thin` sends each of them as a delta against its old version whenever
    that is smaller, as a thin pack may (the server has the old versions).
    """
    tip = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", configrepo.BRANCH],
        capture_output=True,
        text=True,
        check=True,
        env=configrepo.git_env(),
    ).stdout.strip()
    commit = _raw(repo, tip)
    oid = commit.split(b"\n", 1)[0].split()[1].decode()
    chain: list[tuple[bytes, int]] = []  # (raw tree, offset of the child's id), root first
    config_blob = b""
    for depth, name in enumerate(configrepo.overlay_path(app, ENV).split("/")):
        raw = _raw(repo, oid)
        entries = {e[1]: e for e in _tree_entries(raw)}
        if depth == 0:
            config_blob = _raw(repo, entries["promoter.yaml"][2].hex())
        chain.append((raw, entries[name][3]))
        oid = entries[name][2].hex()
    blob = _raw(repo, oid)
    fetch = _entry_size(commit) + sum(_entry_size(raw) for raw, _ in chain)
    fetch += _entry_size(blob) + _entry_size(config_blob) + _PACK_OVERHEAD

    new_blob = re.sub(rb'newTag: "[^"]*"', f'newTag: "{NEW_TAG}"'.encode(), blob)
    child = configrepo.object_id(configrepo._BLOB, new_blob)
    send = _entry_size(new_blob)
    send_thin = min(send, _ref_delta_size(blob, new_blob))
    for raw, at in reversed(chain):
        new = raw[:at] + child + raw[at + 20 :]
        child = configrepo.object_id(configrepo._TREE, new)
        send += _entry_size(new)
        send_thin += min(_entry_size(new), _ref_delta_size(raw, new))
    new_commit = (
        f"tree {child.hex()}\nparent {tip}\n"
        "author promoter <p@example.com> 1700000000 +0000\n"
        "committer promoter <p@example.com> 1700000000 +0000\n\n"
        f"Promote {app} to {ENV}: {NEW_TAG}\n"
    ).encode()
    send += _entry_size(new_commit) + _PACK_OVERHEAD
    send_thin += _entry_size(new_commit) + _PACK_OVERHEAD
    return Floor(fetch, send, send_thin)


def push_body(sample: Sample) -> int:
    """Bytes of the receive-pack request: the ref update and the pack, as uploaded."""
    return sum(r.bytes_in for r in sample.requests if r.path.endswith("/git-receive-pack"))


# -- where a promoter run's time goes --------------------------------------------------------


def trace_breakdown(trace: Path, wall: float) -> list[tuple[str, int, float]]:
    """(step, calls, seconds) from GIT_TRACE2_EVENT: each top-level git process's lifetime."""
    starts: dict[str, list[str]] = {}
    spent: dict[str, float] = {}
    calls: Counter[str] = Counter()
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        sid = event.get("sid", "")
        if "/" in sid:
            continue  # a child (remote-http, index-pack, pack-objects): inside its parent
        if event.get("event") == "start":
            starts[sid] = event["argv"]
        elif event.get("event") == "exit" and sid in starts:
            argv = starts[sid]
            step = " ".join(argv[1:3]) if argv[1] in ("rev-parse", "cat-file") else argv[1]
            if argv[1] == "fetch":
                spec = next((a for a in argv if a.startswith("--filter=")), "")
                step = f"fetch {spec.removeprefix('--filter=')}"
            calls[step] += 1
            spent[step] = spent.get(step, 0.0) + float(event["t_abs"])
    # The one `cat-file --batch` stays open for the whole run, alongside everything else:
    # its lifetime is shown, not added to what the other steps took.
    reader = {k: spent.pop(k) for k in list(spent) if k == "cat-file --batch"}
    rows = sorted(((s, calls[s], spent[s]) for s in spent), key=lambda r: -r[2])
    git_total = sum(spent.values())
    rows.append(
        ("everything else (Python start-up, YAML, planning, spawning)", 0, wall - git_total)
    )
    rows += [
        (f"{k} (open for the run, overlaps the above)", calls[k], v) for k, v in reader.items()
    ]
    return rows


def traced_run(
    source: Path, link: str, app: str, workdir: Path | None
) -> tuple[Sample, list[tuple[str, int, float]]]:
    with tempfile.TemporaryDirectory(prefix="bench-trace-", dir=workdir) as tmp:
        base = Path(tmp)
        served = base / "served"
        served.mkdir()
        home = base / "home"
        home.mkdir()
        trace = base / "trace2.json"
        with GitHttpServer(served, token=TOKEN, throttle=LINKS[link], lifetime=600) as server:
            configrepo.fresh_copy(source, served / "traced.git")
            sample = run_promoter(server, "traced.git", app, home, trace=trace, transport="git")
        return sample, trace_breakdown(trace, sample.seconds)


# -- report ------------------------------------------------------------------------------------


def human(nbytes: float) -> str:
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes:.0f} B"


def _total(samples: list[Sample]) -> float:
    return median([s.down + s.up for s in samples])


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _request_kinds(requests: list[Request]) -> str:
    kinds = Counter(
        f"{r.method} {r.path.rsplit('/', 1)[-1]}{'?' + r.query if r.query else ''}"
        for r in requests
    )
    return ", ".join(f"{n}x {k}" for k, n in sorted(kinds.items()))


def report(
    cells: list[Cell],
    floors: dict[int, Floor],
    repos: dict[int, Path],
    trace: tuple[int, str, Sample, list[tuple[str, int, float]]] | None,
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    lines: list[str] = []
    out = lines.append
    sizes = sorted({c.size for c in cells})
    runs = len(cells[0].promoter) if cells else 0
    head = _git_out("log", "-1", "--format=%h")
    if _git_out("status", "--porcelain", "--", "promoter"):
        head += " + uncommitted changes in promoter/"
    loads = [load for c in cells for load in c.loads]
    where = f"`{args.workdir}`" if args.workdir else "the system temp directory"
    git_version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    out(f"## Git transport (median of {runs} interleaved runs)\n")
    out(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"({platform.machine()}, shared with other work: 1-minute load average during the "
        f"runs median {median(loads):.1f}, max {max(loads, default=0):.1f}), {git_version}, "
        f"Python {platform.python_version()}, promoter at `{head}`. "
        f"Command: `python benchmarks/git_transport.py {' '.join(args.argv)}` "
        f"({elapsed / 60:.1f} min)."
    )
    out("")
    peers = cells[0].peers if cells else []
    out(
        f"Each repository: N apps x 3 environments, {args.commits:,} commits each bumping one "
        "random app/env tag, `promoter.yaml` listing 20 apps; packed like a forge keeps it "
        "(`repack -adf -b`: deltas, reachability bitmap). Every run gets a fresh copy. One run "
        f"promotes the {ENV} tag of one app (in the middle of `apps/`) to {NEW_TAG}: "
        "promoter = `promote --mode push --output json` as shipped (the direct smart-HTTP "
        "transport: objects in memory, thin push), promoter-git = the same pinned to its git "
        "fallback (partial clone, objects written in Python, thin push); each peer clones its "
        "own way, edits the file, `git commit -am`, "
        "`git push`: "
        + "; ".join(f"{tool} = {PEERS[tool][1]}" for tool in peers)
        + f". Served repositories, checkouts and promoter's clone live under {where}. "
        "Bytes are HTTP bodies counted by the server (down = sent to the client). Links: "
        "loopback at full speed, and the modelled CI link `Throttle(50e6/8 B/s, rtt=30 ms)` "
        "(every HTTP request costs one round trip)."
    )
    out("")
    out(
        "Seconds are medians; promoter vs X = X's median / promoter's (above 1x: promoter "
        "is faster).\n"
    )
    out(
        "| apps | link | promoter s | promoter-git s | direct vs git | "
        + " | ".join(f"{tool} s" for tool in peers)
        + " | "
        + " | ".join(f"promoter vs {tool}" for tool in peers)
        + " | fastest peer | promoter vs fastest | load |"
    )
    out("|---:|---|---:|---:|---:|" + "---:|" * (2 * len(peers)) + "---|---:|---:|")
    for c in cells:
        fastest = c.fastest_peer()
        times = " | ".join(f"{_time(c.samples[tool]):.2f}" for tool in peers)
        speedups = " | ".join(f"{_speedup(c, tool):.2f}x" for tool in peers)
        fallback = _time(c.samples.get("promoter-git", []))
        out(
            f"| {c.size:,} | {c.link} | {_time(c.promoter):.2f} | {fallback:.2f} | "
            f"{fallback / _time(c.promoter):.2f}x | {times} | {speedups} | "
            f"{fastest} | {_speedup(c, fastest):.2f}x | {median(c.loads):.1f} |"
        )
    out("")
    out("Bytes down / up and HTTP requests per run (medians; the same on both links):\n")
    tools = [t for t in (*PROMOTERS, *peers) if t in cells[0].samples] if cells else []
    out("| apps | " + " | ".join(tools) + " | depth-1 clone / promoter bytes |")
    out("|---:|" + "---|" * len(tools) + "---:|")
    for size in sizes:
        c = next(c for c in cells if c.size == size)
        row = []
        for tool in tools:
            samples = c.samples[tool]
            down, up = median([x.down for x in samples]), median([x.up for x in samples])
            row.append(
                f"{human(down)} / {human(up)} ({median([len(x.requests) for x in samples]):.0f})"
            )
        ratio = (
            f"{_total(c.samples['depth1']) / _total(c.promoter):.0f}x"
            if "depth1" in c.samples
            else "-"
        )
        out(f"| {size:,} | " + " | ".join(row) + f" | {ratio} |")
    out("")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        out(f"### Growth from {small:,} to {large:,} apps (ratio of medians, {large}/{small})\n")
        out("| link | " + " | ".join(f"{tool} time" for tool in ("promoter", *peers)) + " |")
        out("|---|" + "---:|" * (len(peers) + 1))
        for link in LINKS:
            a = next((c for c in cells if c.size == small and c.link == link), None)
            b = next((c for c in cells if c.size == large and c.link == link), None)
            if a is None or b is None:
                continue
            growth = [
                f"{_time(b.samples[t]) / _time(a.samples[t]):.2f}x" for t in ("promoter", *peers)
            ]
            out(f"| {link} | " + " | ".join(growth) + " |")
        out("")
    out("### Against the physical floor\n")
    out(
        "Fetch floor: the compressed tip commit, the trees on the path to the target, the "
        "target blob and `promoter.yaml`, as one pack. Send floor: the new blob, new trees "
        "and new commit as full zlib-compressed objects; thin: each as a delta against the "
        "old version the server has, when smaller (what a thin pack may send). promoter down "
        "is every response body (ref advertisements, acknowledgements, packs); promoter push "
        "is the receive-pack request body (ref update and pack)."
    )
    out("")
    out(
        "| apps | repo pack | fetch floor | promoter down | down / floor | send floor, full "
        "objects | send floor, thin | promoter push | push / thin floor | promoter requests "
        "| sparse peer requests |"
    )
    out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        c = next(c for c in cells if c.size == size)
        f = floors[size]
        pd = median([s.down for s in c.promoter])
        push = median([push_body(s) for s in c.promoter])
        pack = sum(p.stat().st_size for p in (repos[size] / "objects" / "pack").glob("*.pack"))
        out(
            f"| {size:,} | {human(pack)} | {human(f.fetch)} | {human(pd)} | {pd / f.fetch:.2f}x "
            f"| {human(f.send)} | {human(f.send_thin)} | {human(push)} | "
            f"{push / f.send_thin:.2f}x | "
            f"{median([len(s.requests) for s in c.promoter]):.0f} | "
            f"{_requests(c, 'sparse')} |"
        )
    out("")
    c = next(c for c in cells if c.size == sizes[-1])
    out(
        f"Requests of one promoter run ({sizes[-1]:,} apps): "
        f"{_request_kinds(c.promoter[0].requests)}; "
        + "; ".join(
            f"{t}: {_request_kinds(c.samples[t][0].requests)}"
            for t in ("promoter-git", *c.peers)
            if t in c.samples
        )
        + ". promoter's own stats (median): "
        f"{median([float(str(s.stats.get('git_calls'))) for s in c.promoter]):.0f} git calls "
        "(on the direct path: HTTP requests), "
        f"{human(median([float(str(s.stats.get('bytes_fetched'))) for s in c.promoter]))} "
        "fetched (pack bytes), "
        f"{human(median([float(str(s.stats.get('bytes_sent'))) for s in c.promoter]))} "
        "sent."
    )
    out("")
    out("### Targets\n")
    # Requests do not depend on size or link: the worst cell's median is the figure.
    requests = max(median([len(s.requests) for s in c.promoter]) for c in cells)
    target = next((c for c in cells if c.size == TARGET_SIZE and c.link == TARGET_LINK), None)
    if target is not None:
        fastest = target.fastest_peer()
        speedup = _speedup(target, fastest)
        out(
            f"- {TARGET_SIZE:,} apps, modelled link, promoter at least {TARGET_SPEEDUP:.0f}x "
            f"faster than the fastest peer ({fastest}, {_time(target.samples[fastest]):.2f}s): "
            f"{_time(target.promoter):.2f}s, {speedup:.2f}x, "
            f"{_verdict(speedup >= TARGET_SPEEDUP)}."
        )
        if speedup < TARGET_SPEEDUP:
            budget = _time(target.samples[fastest]) / TARGET_SPEEDUP
            out(
                f"  To meet it promoter would have to finish in {budget:.2f}s; its "
                f"{requests:.0f} HTTP requests alone cost {requests * MODELLED.rtt:.2f}s of "
                "round trips (the breakdown below has the rest)."
            )
    else:
        out(
            f"- speed target: not measured ({TARGET_SIZE:,} apps on the modelled link not in "
            "--sizes/--links)."
        )
    trips = max(median([sequential_exchanges(s.requests) for s in c.promoter]) for c in cells)
    out(
        f"- at most {TARGET_REQUESTS} sequential round trips per push-mode promotion: "
        f"{trips:.0f} ({requests:.0f} HTTP requests; median, worst cell), "
        f"{_verdict(trips <= TARGET_REQUESTS)}."
    )
    # Bytes are the same on both links: any cell of the target size will do.
    sized = next((c for c in cells if c.size == TARGET_SIZE), None)
    if sized is not None and "depth1" in sized.samples:
        ratio = _total(sized.samples["depth1"]) / _total(sized.promoter)
        out(
            f"- {TARGET_SIZE:,} apps, at least {TARGET_BYTES:.0f}x fewer bytes than the "
            f"depth-1 clone: {ratio:.0f}x, {_verdict(ratio >= TARGET_BYTES)}."
        )
    else:
        out(
            f"- bytes target: not measured ({TARGET_SIZE:,} apps not in --sizes or depth1 not "
            "in --peers)."
        )
    if len(sizes) > 1:
        for link in LINKS:
            a = next((c for c in cells if c.size == sizes[0] and c.link == link), None)
            b = next((c for c in cells if c.size == sizes[-1] and c.link == link), None)
            if a and b:
                growth = _time(b.promoter) / _time(a.promoter)
                out(
                    f"- promoter time growth {sizes[0]:,} to {sizes[-1]:,} apps, {link}, under "
                    f"{TARGET_GROWTH}x: {growth:.2f}x, {_verdict(growth < TARGET_GROWTH)}."
                )
    out("")
    if trace is not None:
        size, link, sample, rows = trace
        rtt = throttle.rtt if (throttle := LINKS[link]) is not None else 0.0
        out(
            f"### Where a promoter-git run's time goes ({size:,} apps, {link}, one traced run "
            "of the git fallback: trace2 sees git processes only)\n"
        )
        out(
            f"Wall {sample.seconds:.2f}s, {len(sample.requests)} HTTP requests; each git "
            "process's lifetime from `GIT_TRACE2_EVENT` (a fetch includes its `remote-http` "
            "helper, the HTTP round trips and `index-pack`). Round-trip latency alone: "
            f"{len(sample.requests)} x {rtt * 1000:.0f} ms = {len(sample.requests) * rtt:.2f}s.\n"
        )
        out("| step | calls | seconds | share |")
        out("|---|---:|---:|---:|")
        for step, count, seconds in rows:
            share = seconds / sample.seconds if sample.seconds else 0.0
            out(f"| {step} | {count or ''} | {seconds:.3f} | {share:.0%} |")
        out("")
    return "\n".join(lines)


def _git_out(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def _time(samples: list[Sample]) -> float:
    return median([s.seconds for s in samples])


def _speedup(cell: Cell, tool: str) -> float:
    """How many times faster promoter was than `tool` in this cell (ratio of medians)."""
    return _time(cell.samples[tool]) / _time(cell.promoter)


def _requests(cell: Cell, tool: str) -> str:
    samples = cell.samples.get(tool)
    return f"{median([len(s.requests) for s in samples]):.0f}" if samples else "-"


def write_section(path: Path, section: str, heading: str = "## Git transport") -> None:
    """Replace the `heading` section of `path` (or append it); keep the rest."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}.*?(?=^## (?!#)|\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.write_text(text)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated app counts (default 500,2000,8000)")
    parser.add_argument("--runs", type=int, help="runs per tool and cell (default 5)")
    parser.add_argument("--commits", type=int, help="history length (default 3000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small repos, 1 run")
    parser.add_argument("--cache", type=Path, default=configrepo.DEFAULT_CACHE)
    parser.add_argument(
        "--workdir", type=Path, default=default_workdir(), help="temp dirs (default /dev/shm)"
    )
    parser.add_argument("--links", default="all", choices=["all", "full", "modelled"])
    parser.add_argument("--no-trace", action="store_true", help="skip the traced run")
    parser.add_argument("--output", type=Path, help="also write the section into this file")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {', '.join(PEERS)}"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv)
    default_sizes, default_runs, default_commits = "500,2000,8000", 5, 3000
    if args.quick:
        default_sizes, default_runs, default_commits = "100,400", 1, 300
    args.sizes = [int(s) for s in (args.sizes or default_sizes).split(",")]
    args.runs = args.runs or default_runs
    args.commits = args.commits or default_commits
    args.peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {', '.join(unknown)} (known: {', '.join(PEERS)})")
    if not args.peers:
        parser.error("--peers needs at least one peer (promoter is measured against them)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    links = list(LINKS)
    if args.links != "all":
        links = [links[0]] if args.links == "full" else [TARGET_LINK]
    # As `pip install` leaves it: compiled, so no run pays for compiling promoter's source.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "promoter")], check=True)
    repos = {n: configrepo.cached_repo(n, args.commits, args.cache) for n in args.sizes}
    floors = {n: physical_floor(repos[n], configrepo.benchmark_app(n)) for n in args.sizes}
    cells = []
    for size in args.sizes:
        for link in links:
            log(f"{size} apps, {link}: {args.runs} runs each of promoter, {', '.join(args.peers)}")
            app = configrepo.benchmark_app(size)
            cells.append(
                measure_cell(repos[size], size, link, args.runs, app, args.workdir, args.peers)
            )
    trace = None
    if not args.no_trace:
        size = TARGET_SIZE if TARGET_SIZE in args.sizes else args.sizes[-1]
        link = TARGET_LINK if TARGET_LINK in links else links[0]
        log(f"traced promoter run: {size} apps, {link}")
        sample, rows = traced_run(repos[size], link, configrepo.benchmark_app(size), args.workdir)
        trace = (size, link, sample, rows)
    section = report(cells, floors, repos, trace, args, time.monotonic() - started)
    print(section)
    if args.output:
        write_section(args.output, section)
        log(f"wrote the section to {args.output}")


if __name__ == "__main__":
    main()
