"""git's pack format, read and written in memory: what a fetch brings and a push sends.

`parse_pack` checks the trailer checksum, inflates every object, resolves `OFS_DELTA` and
`REF_DELTA` (against the pack, or against objects the caller already holds) and recomputes
every object's id from its bytes, so an object is only ever known by the id of what
arrived. `write_pack` writes whole objects, or deltas against what the receiver has (thin).
Pure: knows nothing of HTTP or stores.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping

from promoter.errors import GitError
from promoter.gitformat import object_id

KINDS = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_TYPES = {kind: number for number, kind in KINDS.items()}
_OFS_DELTA = 6
_REF_DELTA = 7
_FIRST_FEED = 64
_FEED = 64 * 1024

Object = tuple[str, bytes]
"""(kind, body) of one object."""
Lookup = Callable[[str], Object | None]


def write_pack(
    objects: Iterable[Object],
    algorithm: str = "sha1",
    *,
    bases: Mapping[str, Object] | None = None,
) -> bytes:
    """A version 2 pack of `objects`, with its trailer checksum. An object with an entry in
    `bases` (its id → the object the receiver already has at its place) is sent as a
    `REF_DELTA` against it when that is smaller: a thin pack, as `git push` sends."""
    items = list(objects)
    parts = [b"PACK" + struct.pack(">II", 2, len(items))]
    for kind, body in items:
        base = (bases or {}).get(object_id(kind, body, algorithm=algorithm))
        delta = make_delta(base[1], body) if base is not None and base[0] == kind else None
        if base is not None and delta is not None and len(delta) < len(body) // 2:
            base_id = bytes.fromhex(object_id(base[0], base[1], algorithm=algorithm))
            parts.append(_entry(_REF_DELTA, len(delta)) + base_id + zlib.compress(delta))
        else:
            parts.append(_entry(_TYPES[kind], len(body)) + zlib.compress(body))
    data = b"".join(parts)
    return data + hashlib.new(algorithm, data, usedforsecurity=False).digest()


def _entry(type_number: int, size: int) -> bytes:
    byte = (type_number << 4) | (size & 0x0F)
    size >>= 4
    header = bytearray()
    while size:
        header.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    header.append(byte)
    return bytes(header)


def make_delta(source: bytes, target: bytes) -> bytes:
    """A delta making `target` from `source`: their common prefix and suffix copied, the
    middle inserted (an edited file or a tree with one changed entry: a few dozen bytes)."""
    prefix = _common_length(source, target, backwards=False)
    limit = min(len(source), len(target)) - prefix
    suffix = min(_common_length(source, target, backwards=True), limit)
    out = bytearray(_size(len(source)) + _size(len(target)))
    out += _copies(0, prefix)
    middle = target[prefix : len(target) - suffix]
    for at in range(0, len(middle), 127):
        chunk = middle[at : at + 127]
        out.append(len(chunk))
        out += chunk
    out += _copies(len(source) - suffix, suffix)
    return bytes(out)


def _common_length(a: bytes, b: bytes, *, backwards: bool) -> int:
    """The length of `a` and `b`'s common prefix (or suffix), by bisection over slices."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        same = a[-middle:] == b[-middle:] if backwards else a[:middle] == b[:middle]
        if same:
            low = middle
        else:
            high = middle - 1
    return low


def _size(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _copies(offset: int, size: int) -> bytes:
    out = bytearray()
    while size > 0:
        step = min(size, 0xFFFFFF)
        op, operands = 0x80, bytearray()
        for bit in range(4):
            if (offset >> (8 * bit)) & 0xFF:
                op |= 1 << bit
                operands.append((offset >> (8 * bit)) & 0xFF)
        for bit in range(3):
            if (step >> (8 * bit)) & 0xFF:
                op |= 1 << (4 + bit)
                operands.append((step >> (8 * bit)) & 0xFF)
        out.append(op)
        out += operands
        offset += step
        size -= step
    return bytes(out)


def parse_pack(
    data: bytes, *, known: Lookup = lambda oid: None, algorithm: str = "sha1"
) -> dict[str, Object]:
    """Every object of the pack `data`, by the id recomputed from its bytes.

    A bad checksum, a truncated or undecodable object or a delta whose base is neither in
    the pack nor `known` is a `GitError`: nothing of a damaged pack is used.
    """
    digest = hashlib.new(algorithm, usedforsecurity=False)
    width = digest.digest_size
    if len(data) < 12 + width or data[:4] != b"PACK":
        raise GitError("the server sent no pack (or a truncated one)")
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3):
        raise GitError(f"the server sent a pack of unsupported version {version}")
    digest.update(data[:-width])
    if digest.digest() != data[-width:]:
        raise GitError("the pack the server sent is damaged (its checksum does not match)")
    view = memoryview(data)[: len(data) - width]
    by_offset: dict[int, Object] = {}
    found: dict[str, Object] = {}
    deltas: list[tuple[int, int | str, bytes]] = []
    at = 12
    for _ in range(count):
        start = at
        kind_number, size, at = _entry_header(view, at)
        base: int | str | None = None
        if kind_number == _OFS_DELTA:
            distance, at = _offset(view, at)
            base = start - distance
        elif kind_number == _REF_DELTA:
            base = bytes(view[at : at + width]).hex()
            at += width
        elif kind_number not in KINDS:
            raise GitError(f"the pack holds an object of unknown type {kind_number}")
        body, at = _inflate(view, at, size)
        if base is None:
            kind = KINDS[kind_number]
            by_offset[start] = (kind, body)
            found[object_id(kind, body, algorithm=algorithm)] = (kind, body)
        else:
            deltas.append((start, base, body))
    if at != len(view):
        raise GitError("the pack holds bytes after its last object")
    _resolve(deltas, by_offset, found, known, algorithm)
    return found


def _resolve(
    deltas: list[tuple[int, int | str, bytes]],
    by_offset: dict[int, Object],
    found: dict[str, Object],
    known: Lookup,
    algorithm: str,
) -> None:
    """Apply deltas whose base is resolved, again and again (chains arrive in any order)."""
    pending = deltas
    while pending:
        left: list[tuple[int, int | str, bytes]] = []
        for start, base, delta in pending:
            source = by_offset.get(base) if isinstance(base, int) else found.get(base)
            if source is None and isinstance(base, str):
                source = known(base)
            if source is None:
                left.append((start, base, delta))
                continue
            kind = source[0]
            obj = (kind, apply_delta(source[1], delta))
            by_offset[start] = obj
            found[object_id(kind, obj[1], algorithm=algorithm)] = obj
        if len(left) == len(pending):
            raise GitError("the pack holds a delta whose base object is missing")
        pending = left


def apply_delta(source: bytes, delta: bytes) -> bytes:
    """git's delta encoding: source and target sizes, then copy and insert instructions."""
    view = memoryview(delta)
    source_size, at = _varint(view, 0)
    target_size, at = _varint(view, at)
    if source_size != len(source):
        raise GitError("a delta in the pack does not fit its base object")
    out = bytearray()
    try:
        while at < len(view):
            op = view[at]
            at += 1
            if op & 0x80:
                offset = size = 0
                for bit in range(4):
                    if op & (1 << bit):
                        offset |= view[at] << (8 * bit)
                        at += 1
                for bit in range(3):
                    if op & (1 << (4 + bit)):
                        size |= view[at] << (8 * bit)
                        at += 1
                size = size or 0x10000
                if offset + size > len(source):
                    raise GitError("a delta in the pack copies past its base object")
                out += source[offset : offset + size]
            elif op:
                out += view[at : at + op]
                at += op
            else:
                raise GitError("a delta in the pack holds a reserved instruction")
    except IndexError as exc:
        raise GitError("a delta in the pack is truncated") from exc
    if len(out) != target_size:
        raise GitError("a delta in the pack does not produce its stated size")
    return bytes(out)


def _entry_header(view: memoryview, at: int) -> tuple[int, int, int]:
    try:
        byte = view[at]
        kind, size, shift = (byte >> 4) & 7, byte & 0x0F, 4
        at += 1
        while byte & 0x80:
            byte = view[at]
            size |= (byte & 0x7F) << shift
            shift += 7
            at += 1
    except IndexError as exc:
        raise GitError("the pack is truncated") from exc
    return kind, size, at


def _offset(view: memoryview, at: int) -> tuple[int, int]:
    """An `OFS_DELTA`'s base distance (git's offset encoding, not a plain varint)."""
    try:
        byte = view[at]
        value = byte & 0x7F
        at += 1
        while byte & 0x80:
            byte = view[at]
            value = ((value + 1) << 7) | (byte & 0x7F)
            at += 1
    except IndexError as exc:
        raise GitError("the pack is truncated") from exc
    return value, at


def _varint(view: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(view):
            raise GitError("a delta in the pack is truncated")
        byte = view[at]
        value |= (byte & 0x7F) << shift
        shift += 7
        at += 1
        if not byte & 0x80:
            return value, at


def _inflate(view: memoryview, at: int, size: int) -> tuple[bytes, int]:
    """One zlib stream at `at`, fed in growing slices so the rest of the pack is never
    copied per object; returns the body and where the next entry starts."""
    inflater = zlib.decompressobj()
    parts: list[bytes] = []
    fed = at
    step = size + _FIRST_FEED
    try:
        while not inflater.eof:
            if fed >= len(view):
                raise GitError("the pack is truncated")
            chunk = view[fed : fed + step]
            fed += len(chunk)
            parts.append(inflater.decompress(chunk))
            step = _FEED
    except zlib.error as exc:
        raise GitError("an object in the pack does not inflate") from exc
    body = b"".join(parts)
    if len(body) != size:
        raise GitError("an object in the pack does not have its stated size")
    return body, fed - len(inflater.unused_data)
