"""git's pkt-line framing and side-band multiplexing, as smart HTTP carries them.

A pkt-line is four hex digits of length (the digits included) and the payload; the
lengths 0, 1 and 2 are the flush, delimiter and response-end packets of protocol v2.
A side-band stream puts a band number before each payload: 1 data, 2 progress and
remote messages, 3 a fatal error. Pure: knows nothing of HTTP, packs or stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from promoter.errors import GitError

FLUSH = 0
DELIM = 1
RESPONSE_END = 2
Packet = bytes | int
"""A payload, or one of the special packets `FLUSH`, `DELIM`, `RESPONSE_END`."""
_MAX_PAYLOAD = 65516


def encode(*lines: bytes | str | int) -> bytes:
    """Each line as a pkt-line (`str` gets a trailing newline); ints are special packets."""
    out: list[bytes] = []
    for line in lines:
        if isinstance(line, int):
            out.append(b"%04x" % line)
            continue
        data = (line + "\n").encode() if isinstance(line, str) else line
        if len(data) > _MAX_PAYLOAD:
            raise ValueError(f"pkt-line payload of {len(data)} bytes exceeds {_MAX_PAYLOAD}")
        out.append(b"%04x" % (len(data) + 4) + data)
    return b"".join(out)


class PacketReader:
    """The pkt-lines of one response body, in order."""

    def __init__(self, data: bytes, what: str = "response") -> None:
        self.data = data
        self.at = 0
        self.what = what

    @property
    def done(self) -> bool:
        return self.at >= len(self.data)

    def read(self) -> Packet:
        """The next packet; a truncated or malformed one is a `GitError`."""
        head = self.data[self.at : self.at + 4]
        try:
            length = int(head, 16) if len(head) == 4 else -1
        except ValueError:
            length = -1
        if length < 0 or length == 3 or self.at + max(length, 4) > len(self.data):
            raise GitError(f"malformed pkt-line in the server's {self.what} at byte {self.at}")
        if length < 4:
            self.at += 4
            return length
        payload = self.data[self.at + 4 : self.at + length]
        self.at += length
        return payload

    def lines(self) -> Iterator[bytes]:
        """Payloads (newline stripped) up to the next special packet, which is consumed."""
        while True:
            packet = self.read()
            if isinstance(packet, int):
                return
            yield packet.rstrip(b"\n")


def demultiplex(packets: Iterable[Packet], what: str = "response") -> tuple[bytes, list[str]]:
    """(band 1's bytes, band 2's messages) of a side-band stream up to its flush; band 3
    (the server gave up) is a `GitError` carrying its message."""
    data: list[bytes] = []
    messages: list[str] = []
    for packet in packets:
        if isinstance(packet, int):
            break
        if not packet:
            continue
        band, payload = packet[0], packet[1:]
        if band == 1:
            data.append(payload)
        elif band == 2:
            text = payload.decode("utf-8", "replace").replace("\r", "\n")
            messages += [line.strip() for line in text.splitlines() if line.strip()]
        elif band == 3:
            reason = payload.decode("utf-8", "replace").strip()
            raise GitError(f"the server stopped the {what}: {reason}", stderr=reason)
        else:
            raise GitError(f"unknown side-band {band} in the server's {what}")
    return b"".join(data), messages


def until_flush(reader: PacketReader) -> Iterator[Packet]:
    """Packets up to and including the next flush (for `demultiplex`)."""
    while not reader.done:
        packet = reader.read()
        yield packet
        if packet == FLUSH:
            return
