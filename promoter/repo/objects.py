"""The bare clone's own files: loose objects written, refs read, without a git process.

A promotion writes a handful of objects (a blob, the trees on its path, a commit) and
reads refs `clone` and `fetch` just wrote; a process for each would cost more than the
work. Both follow git's on-disk formats exactly (zlib-compressed `<kind> <size>\\0<body>`
under `objects/xx/`, the `files` ref backend); anything else (reftable) is left to git.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

from promoter.gitformat import object_id


def write_object(git_dir: Path, kind: str, body: bytes, algorithm: str = "sha1") -> str:
    """Write a loose object (what `hash-object -w` does) and return its id."""
    oid = object_id(kind, body, algorithm=algorithm)
    path = git_dir / "objects" / oid[:2] / oid[2:]
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        data = zlib.compress(kind.encode() + b" %d\0" % len(body) + body)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix="tmp_obj_")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o444)
        os.replace(temporary, path)
    return oid


def read_ref(git_dir: Path, name: str) -> str | None:
    """A ref (or `HEAD`) as the `files` backend stores it: loose, else packed. None sends
    the caller to git (a ref it does not have, or another backend such as reftable)."""
    try:
        return (git_dir / name).read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    try:
        packed = (git_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        oid, _, ref = line.partition(" ")
        if ref == name and not line.startswith(("#", "^")):
            return oid
    return None
