"""Synthetic GitOps config repositories for the git-transport benchmark, built in seconds.

A repository holds N apps x 3 environments (`apps/<app>/base/...`,
`apps/<app>/overlays/<env>/kustomization.yaml`) plus a `promoter.yaml` naming ~20 of
them, and a history of commits that each bump one random app/env tag. The wide `apps/`
tree is what makes big repositories expensive, and it is also what made `git fast-import`
slow (it re-serialises that tree with printf for every commit: 32 s of import alone for
8,000 apps). So the objects are built in Python: every tree is kept serialised with the
offset of each entry's id, a commit patches 20 bytes per tree on its path, and the pack is
written directly, superseded versions of big trees as deltas against their successor (so
the intermediate pack stays small). `git index-pack` indexes it, and `git repack -adf -b`
packs it the way a forge's maintenance would: fresh deltas (smaller than fast-import's
pack) and a reachability bitmap, so a full clone is served like on a real forge. The
repack's object walk dominates (about 20 of the 30 s for 8,000 apps; 500 and 2,000 apps take
3 and 6 s), which is why repositories are cached under `--cache`, keyed by (apps, commits),
and copied per measured run because a push changes them.

Usage: python benchmarks/configrepo.py --apps 2000 --commits 3000 [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1
"""Part of the cache key: bump it whenever the generated content changes."""
ENVIRONMENTS = ("dev", "staging", "production")
REGISTRY = "registry.example.com/acme"
CONFIGURED_APPS = 20
DEFAULT_CACHE = Path("/tmp/promoter-bench")
BRANCH = "main"
EPOCH = 1_700_000_000
MAX_DEPTH = 50
DELTA_MIN = 1024
"""Only trees at least this big are stored as deltas here; repack deltifies the rest."""

_TREE_MODE = b"40000"
_BLOB_MODE = b"100644"
_COMMIT, _TREE, _BLOB, _REF_DELTA = 1, 2, 3, 7
_TYPE_NAMES = {_COMMIT: b"commit", _TREE: b"tree", _BLOB: b"blob"}


def app_name(index: int) -> str:
    return f"app-{index:05d}"


def image_name(app: str) -> str:
    return f"{REGISTRY}/{app}"


def overlay_path(app: str, env: str) -> str:
    return f"apps/{app}/overlays/{env}/kustomization.yaml"


def configured_apps(apps: int, count: int = CONFIGURED_APPS) -> list[str]:
    """Evenly spread apps listed in promoter.yaml; the file stays small as the repo grows."""
    return [app_name(i) for i in sorted({i * apps // count for i in range(min(count, apps))})]


def benchmark_app(apps: int) -> str:
    """The app the benchmark promotes: one in the middle of the wide `apps/` tree."""
    return configured_apps(apps)[len(configured_apps(apps)) // 2]


def kustomization(app: str, env: str, tag: str) -> bytes:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"namespace: {env}\n"
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        f"  - name: {image_name(app)}\n"
        f'    newTag: "{tag}"\n'
    ).encode()


def deployment(app: str) -> bytes:
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {app}\n"
        "spec:\n"
        "  replicas: 2\n"
        "  selector:\n"
        f"    matchLabels: {{app: {app}}}\n"
        "  template:\n"
        "    metadata:\n"
        f"      labels: {{app: {app}}}\n"
        "    spec:\n"
        "      containers:\n"
        f"        - name: {app}\n"
        f"          image: {image_name(app)}:0.0.0\n"
        "          ports: [{containerPort: 8080}]\n"
    ).encode()


BASE_KUSTOMIZATION = b"resources:\n  - deployment.yaml\n"


def promoter_yaml(apps: int, names: list[str]) -> bytes:
    """push-mode environments and the few apps promoter manages (see docs/configuration.md)."""
    lines = [
        f"# Benchmark config repository: {apps} apps; promoter manages {len(names)} of them.",
        "version: 1",
        "defaults:",
        "  mode: push",
        f"  base: {BRANCH}",
        "  labels: [promotion]",
        "environments:",
        "  dev: {mode: push}",
        "  staging: {mode: push, source: dev}",
        "  production: {mode: push, source: staging}",
        "apps:",
    ]
    for app in names:
        lines += [f"  {app}:", f"    image: {image_name(app)}", "    targets:"]
        lines += [f"      {env}: {{kustomize: {overlay_path(app, env)}}}" for env in ENVIRONMENTS]
    return ("\n".join(lines) + "\n").encode()


def object_id(kind: int, data: bytes) -> bytes:
    header = b"%s %d\0" % (_TYPE_NAMES[kind], len(data))
    return hashlib.sha1(header + data).digest()


def _varint(value: int) -> bytes:
    """Delta header size: 7 bits a byte, least significant first."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _copy(offset: int, size: int) -> bytes:
    """One delta copy instruction (size <= 0xFFFFFF, so one suffices for any tree here)."""
    if size == 0:
        return b""
    op, args = 0x80, bytearray()
    for i in range(4):
        if (offset >> (8 * i)) & 0xFF:
            op |= 1 << i
            args.append((offset >> (8 * i)) & 0xFF)
    for i in range(3):
        if (size >> (8 * i)) & 0xFF:
            op |= 1 << (4 + i)
            args.append((size >> (8 * i)) & 0xFF)
    return bytes([op]) + bytes(args)


def splice_delta(
    base_size: int, target: bytes, start: int, end: int, base_end: int | None = None
) -> bytes:
    """A delta giving `target` from a base that shares `target[:start]` and, from `base_end`
    (default `end`), `target[end:]`: copy, insert the middle, copy."""
    base_end = end if base_end is None else base_end
    assert base_size - base_end == len(target) - end
    assert max(start, base_size - base_end, base_end) <= 0xFFFFFF
    out = [_varint(base_size), _varint(len(target)), _copy(0, start)]
    for at in range(start, end, 127):
        chunk = target[at : min(end, at + 127)]
        out += [bytes([len(chunk)]), chunk]
    out.append(_copy(base_end, base_size - base_end))
    return b"".join(out)


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix, by bisection on slice equality (memcmp speed)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def diff_delta(base: bytes, target: bytes) -> bytes:
    """A delta for a target that differs from `base` in one contiguous region."""
    prefix = _common_prefix(base, target)
    limit = min(len(base), len(target)) - prefix
    suffix = min(_common_prefix(base[::-1], target[::-1]), limit)
    return splice_delta(len(base), target, prefix, len(target) - suffix, len(base) - suffix)


class PackWriter:
    """Objects appended to an in-memory version-2 pack; duplicates are written once."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.count = 0
        self.written: set[bytes] = set()

    def _entry(self, kind: int, size: int, payload: bytes) -> None:
        byte = (kind << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        self.chunks += [bytes(header), payload]
        self.count += 1

    def add(self, kind: int, data: bytes, oid: bytes | None = None) -> bytes:
        oid = oid or object_id(kind, data)
        if oid not in self.written:
            self.written.add(oid)
            self._entry(kind, len(data), zlib.compress(data))
        return oid

    def add_delta(self, oid: bytes, base: bytes, delta: bytes) -> None:
        if oid not in self.written:
            self.written.add(oid)
            self._entry(_REF_DELTA, len(delta), base + zlib.compress(delta))

    def finish(self) -> bytes:
        body = b"".join([b"PACK", struct.pack(">II", 2, self.count), *self.chunks])
        return body + hashlib.sha1(body).digest()


@dataclass
class _Version:
    """One stored version of a big tree, waiting for its successor to become its delta base."""

    data: bytes
    oid: bytes
    number: int


class Tree:
    """A tree kept serialised; entries' ids are patched in place at known offsets.

    Trees of at least DELTA_MIN bytes are written when superseded, as a delta against the
    new version (newest full), every MAX_DEPTH-th version in full to bound chain depth.
    """

    def __init__(self, pack: PackWriter, entries: dict[str, tuple[bytes, bytes]]) -> None:
        self.pack = pack
        self.offsets: dict[str, int] = {}
        data = bytearray()
        order = sorted(entries, key=lambda n: n + "/" if entries[n][0] == _TREE_MODE else n)
        for name in order:
            mode, oid = entries[name]
            data += mode + b" " + name.encode() + b"\0"
            self.offsets[name] = len(data)
            data += oid
        self.data = data
        self.big = len(data) >= DELTA_MIN
        self.version = 0
        self.oid = object_id(_TREE, bytes(data))
        self.pending: _Version | None = None
        self._store()

    def _store(self) -> None:
        if self.big:
            self.pending = _Version(bytes(self.data), self.oid, self.version)
        else:
            self.pack.add(_TREE, bytes(self.data), self.oid)

    def set(self, name: str, oid: bytes) -> bytes:
        """Point `name` at `oid`; returns this tree's new id."""
        at = self.offsets[name]
        self.data[at : at + 20] = oid
        self.version += 1
        self.oid = object_id(_TREE, bytes(self.data))
        old = self.pending
        self._store()
        if old is not None:
            if old.number % MAX_DEPTH == MAX_DEPTH - 1:
                self.pack.add(_TREE, old.data, old.oid)
            else:
                delta = splice_delta(len(self.data), old.data, at, at + 20)
                self.pack.add_delta(old.oid, self.oid, delta)
        return self.oid

    def flush(self) -> None:
        """Write the current (newest) version in full."""
        if self.pending is not None:
            self.pack.add(_TREE, self.pending.data, self.pending.oid)
            self.pending = None


def _signature(when: int) -> bytes:
    return b"Config Bot <bot@example.com> %d +0000" % when


def _commit(pack: PackWriter, tree: bytes, parent: bytes | None, when: int, message: str) -> bytes:
    lines = [b"tree " + tree.hex().encode()]
    if parent is not None:
        lines.append(b"parent " + parent.hex().encode())
    lines += [b"author " + _signature(when), b"committer " + _signature(when)]
    return pack.add(_COMMIT, b"\n".join(lines) + b"\n\n" + message.encode() + b"\n")


def build_pack(apps: int, commits: int, seed: int = 1) -> tuple[bytes, bytes]:
    """(pack bytes, tip commit id) of the whole history, deterministic for a given seed."""
    pack = PackWriter()
    names = [app_name(i) for i in range(apps)]
    blob = pack.add
    base_kustomization = blob(_BLOB, BASE_KUSTOMIZATION)
    env_trees: dict[tuple[str, str], Tree] = {}
    overlay_trees: dict[str, Tree] = {}
    app_trees: dict[str, Tree] = {}
    for app in names:
        base = Tree(
            pack,
            {
                "deployment.yaml": (_BLOB_MODE, blob(_BLOB, deployment(app))),
                "kustomization.yaml": (_BLOB_MODE, base_kustomization),
            },
        )
        for env in ENVIRONMENTS:
            leaf = blob(_BLOB, kustomization(app, env, "1.0.0"))
            env_trees[app, env] = Tree(pack, {"kustomization.yaml": (_BLOB_MODE, leaf)})
        overlay_trees[app] = Tree(
            pack, {env: (_TREE_MODE, env_trees[app, env].oid) for env in ENVIRONMENTS}
        )
        app_trees[app] = Tree(
            pack,
            {"base": (_TREE_MODE, base.oid), "overlays": (_TREE_MODE, overlay_trees[app].oid)},
        )
    apps_tree = Tree(pack, {app: (_TREE_MODE, app_trees[app].oid) for app in names})
    config = blob(_BLOB, promoter_yaml(apps, configured_apps(apps)))
    root = Tree(pack, {"apps": (_TREE_MODE, apps_tree.oid), "promoter.yaml": (_BLOB_MODE, config)})
    when = EPOCH
    tip = _commit(pack, root.oid, None, when, f"Initial config: {apps} apps")
    rng = random.Random(seed)
    for number in range(commits):
        app, env = rng.choice(names), rng.choice(ENVIRONMENTS)
        tag = f"1.{number}.{rng.randint(0, 9)}"
        leaf = blob(_BLOB, kustomization(app, env, tag))
        oid = env_trees[app, env].set("kustomization.yaml", leaf)
        oid = overlay_trees[app].set(env, oid)
        oid = app_trees[app].set("overlays", oid)
        oid = apps_tree.set(app, oid)
        oid = root.set("apps", oid)
        when += 60
        tip = _commit(pack, oid, tip, when, f"Promote {app} to {env}: {tag}")
    for tree in (apps_tree, root, *app_trees.values(), *overlay_trees.values()):
        tree.flush()
    return pack.finish(), tip


def git_env(home: Path | None = None) -> dict[str, str]:
    """The caller's env minus GIT_* and user/system config: results do not depend on them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    if home is not None:
        env["HOME"] = str(home)
    return env


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=data,
        capture_output=True,
        env=git_env(),
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def generate(dest: Path, apps: int, commits: int, seed: int = 1) -> Path:
    """Write a bare repository at `dest` (which must not exist)."""
    data, tip = build_pack(apps, commits, seed)
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", BRANCH, str(dest)], check=True, env=git_env()
    )
    settings = {"gc.auto": "0", "receive.autogc": "false", "core.logAllRefUpdates": "false"}
    for key, value in settings.items():
        _git(dest, "config", key, value)
    _git(dest, "index-pack", "--stdin", data=data)
    _git(dest, "update-ref", f"refs/heads/{BRANCH}", tip.hex())
    _git(dest, "repack", "-a", "-d", "-f", "-b", "-q", "--window=10", "--depth=50")
    _git(dest, "fsck", "--connectivity-only", "--no-progress")
    return dest


def cached_repo(apps: int, commits: int, cache: Path = DEFAULT_CACHE, *, log: bool = True) -> Path:
    """The cached repository for (apps, commits), generated on first use (atomically)."""
    final = cache / f"config-v{FORMAT}-{apps}apps-{commits}commits.git"
    if final.is_dir():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gen-", dir=cache) as tmp:
        generate(Path(tmp) / "repo.git", apps, commits)
        try:
            os.rename(Path(tmp) / "repo.git", final)
        except OSError:
            if not final.is_dir():  # another run finished first: use theirs
                raise
    if log:
        seconds = time.monotonic() - started
        print(f"generated {final.name} in {seconds:.1f}s", file=sys.stderr)
    return final


def fresh_copy(source: Path, dest: Path) -> Path:
    """A private copy for one measured run (a push changes the repository)."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    print(cached_repo(args.apps, args.commits, args.cache))


if __name__ == "__main__":
    main()
