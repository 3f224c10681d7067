"""git's smart-HTTP protocol spoken directly: discovery, `ls-refs`, `fetch` (v2) and a push.

Each exchange is one stateless request of `connection.HttpClient`. A server this client
cannot serve as git would (no protocol v2, no filters, sha256, a redirect) raises
`DirectUnsupportedError`, and the caller uses git instead. Knows nothing of stores, YAML
or forges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from promoter.errors import GitError, PushRejectedError
from promoter.redact import redact
from promoter.repo import pktline
from promoter.repo.background import Background
from promoter.repo.connection import (
    AGENT,
    DirectUnsupportedError,
    HttpClient,
    Response,
    check_status,
)

ZERO_ID = "0" * 40
_UPLOAD = "git-upload-pack"
_RECEIVE = "git-receive-pack"


@dataclass(slots=True)
class Discovery:
    """What the first, parallel requests said: v2 capabilities, and the refs asked for."""

    capabilities: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    symrefs: dict[str, str] = field(default_factory=dict)


def discover(client: HttpClient, prefixes: Sequence[str]) -> Discovery:
    """The `info/refs` request git's HTTP protocol starts with (asking for v2) and `ls-refs`
    of `prefixes` (with symrefs), at once: one round trip. `ls-refs` is stateless in v2;
    when the advertisement says the server has no v2, its answer is not used.

    receive-pack is not asked here: a run that pushes nothing (a dry run, an unchanged
    promotion) never contacts it (`receive_advertisement` comes right before a push)."""
    upload = Background(
        lambda: client.request(
            "GET", f"info/refs?service={_UPLOAD}", headers={"Git-Protocol": "version=2"}
        ),
        name="promoter-discover",
    )
    listed: bytes | None = None
    failure: GitError | None = None
    try:
        listed = ls_refs_request(client, prefixes, symrefs=True)
    except GitError as exc:  # a server without v2 refuses ls-refs: the advertisement says so
        failure = exc
    finally:
        upload_answer = upload.result()  # never leave a request running behind an error
    check_status(upload_answer, "info/refs")
    found = Discovery(parse_v2_capabilities(upload_answer.body))
    check_capabilities(found.capabilities)
    if failure is not None:
        raise failure
    assert listed is not None
    found.refs, found.symrefs = parse_ls_refs(listed)
    return found


def receive_advertisement(client: HttpClient) -> tuple[dict[str, str], set[str]]:
    """(branch tips, capabilities) of receive-pack's `info/refs`: the discovery git's HTTP
    protocol makes before a push, asked only when a push is about to be sent."""
    answer = client.request("GET", f"info/refs?service={_RECEIVE}")
    check_status(answer, "info/refs (push)", pushing=True)
    return parse_receive_advertisement(answer.body)


def parse_v2_capabilities(body: bytes) -> dict[str, str]:
    """The capabilities of a v2 advertisement; a v0/v1 one is `DirectUnsupportedError`."""
    reader = pktline.PacketReader(body, "capability advertisement")
    first = reader.read()
    if isinstance(first, bytes) and first.startswith(b"# service="):
        reader.read()  # its flush
        first = reader.read() if not reader.done else pktline.FLUSH
    if first != b"version 2\n":
        raise DirectUnsupportedError("the server does not speak git protocol v2")
    capabilities: dict[str, str] = {}
    for line in reader.lines():
        key, _, value = line.decode("utf-8", "replace").partition("=")
        capabilities[key] = value
    return capabilities


def check_capabilities(capabilities: dict[str, str]) -> None:
    """What the direct path needs of a v2 server: `ls-refs`, `fetch` with filters and
    shallow, and sha1 objects."""
    if "ls-refs" not in capabilities or "fetch" not in capabilities:
        raise DirectUnsupportedError("the server offers no ls-refs or fetch command")
    features = capabilities["fetch"].split()
    if "filter" not in features:
        raise DirectUnsupportedError("the server does not filter fetches")
    if "shallow" not in features:
        raise DirectUnsupportedError("the server does not serve shallow fetches")
    if capabilities.get("object-format", "sha1") != "sha1":
        raise DirectUnsupportedError("the repository uses sha256 object ids")


def parse_receive_advertisement(body: bytes) -> tuple[dict[str, str], set[str]]:
    """(branch tips, capabilities) of receive-pack's v0 advertisement."""
    reader = pktline.PacketReader(body, "push advertisement")
    first = reader.read()
    if isinstance(first, bytes) and first.startswith(b"# service="):
        reader.read()
    refs: dict[str, str] = {}
    capabilities: set[str] = set()
    for line in reader.lines():
        text, nul, caps = line.partition(b"\0")
        if nul:
            capabilities = set(caps.decode("utf-8", "replace").split())
        oid, _, name = text.decode("utf-8", "surrogateescape").partition(" ")
        if name.startswith("refs/heads/"):
            refs[name] = oid
    if any(c.startswith("object-format=") and c != "object-format=sha1" for c in capabilities):
        raise DirectUnsupportedError("the repository uses sha256 object ids")
    return refs, capabilities


def _command(name: str, arguments: Sequence[str], capabilities: dict[str, str]) -> bytes:
    head: list[bytes | str | int] = [f"command={name}", f"agent={AGENT}"]
    if "object-format" in capabilities:
        head.append(f"object-format={capabilities['object-format']}")
    return pktline.encode(*head, pktline.DELIM, *arguments, pktline.FLUSH)


def _post(client: HttpClient, body: bytes, what: str) -> Response:
    response = client.request(
        "POST",
        _UPLOAD,
        body=body,
        headers={
            "Content-Type": f"application/x-{_UPLOAD}-request",
            "Accept": f"application/x-{_UPLOAD}-result",
            "Git-Protocol": "version=2",
        },
    )
    check_status(response, what)
    return response


def ls_refs_request(
    client: HttpClient,
    prefixes: Sequence[str],
    *,
    symrefs: bool = False,
    capabilities: dict[str, str] | None = None,
) -> bytes:
    arguments = (["symrefs"] if symrefs else []) + [f"ref-prefix {p}" for p in prefixes]
    body = _command("ls-refs", arguments, capabilities or {})
    return _post(client, body, "ls-refs").body


def ls_refs(
    client: HttpClient, prefixes: Sequence[str], capabilities: dict[str, str]
) -> dict[str, str]:
    """Ref name → id of the refs starting with one of `prefixes` (git matches them as
    prefixes, not patterns): one request."""
    return parse_ls_refs(ls_refs_request(client, prefixes, capabilities=capabilities))[0]


def parse_ls_refs(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(ref → id, symref → target) of an `ls-refs` answer."""
    refs: dict[str, str] = {}
    symrefs: dict[str, str] = {}
    reader = pktline.PacketReader(body, "ls-refs answer")
    for line in reader.lines():
        fields = line.decode("utf-8", "surrogateescape").split(" ")
        if len(fields) < 2 or fields[0] == "ERR":
            said = redact(line.decode("utf-8", "replace"))
            raise GitError(f"ls-refs: the server answered {said}")
        refs[fields[1]] = fields[0]
        for attribute in fields[2:]:
            if attribute.startswith("symref-target:"):
                symrefs[fields[1]] = attribute.removeprefix("symref-target:")
    return refs, symrefs


def fetch(
    client: HttpClient,
    wants: Sequence[str],
    capabilities: dict[str, str],
    *,
    filter_spec: str | None,
    deepen: int | None = None,
) -> bytes:
    """The pack of `wants` (and what the filter keeps below them), sending no `have`s:
    one request. Returns the pack's bytes."""
    arguments = ["no-progress", "ofs-delta"]
    if deepen is not None:
        arguments.append(f"deepen {deepen}")
    if filter_spec is not None:
        arguments.append(f"filter {filter_spec}")
    arguments += [f"want {oid}" for oid in wants]
    arguments.append("done")
    body = _post(client, _command("fetch", arguments, capabilities), "fetch").body
    return parse_fetch_response(body)


def parse_fetch_response(body: bytes) -> bytes:
    """The pack of a v2 `fetch` answer's `packfile` section (the others are skipped)."""
    reader = pktline.PacketReader(body, "fetch answer")
    while not reader.done:
        header = reader.read()
        if not isinstance(header, bytes):
            continue
        if header.startswith(b"ERR "):
            message = redact(header[4:].decode("utf-8", "replace").strip())
            raise GitError(f"fetch: the server refused: {message}", stderr=message)
        if header.rstrip(b"\n") == b"packfile":
            pack, _ = pktline.demultiplex(pktline.until_flush(reader), "fetch")
            return pack
        for _ in reader.lines():
            pass
    raise GitError("fetch: the server's answer holds no pack")


@dataclass(frozen=True, slots=True)
class PushReport:
    """What receive-pack said: whether it unpacked, each ref's `ok`/`ng`, its messages."""

    unpack: str
    refs: dict[str, str | None]
    """Ref → None when updated, else the server's reason."""
    messages: list[str]


_PUSH_CAPABILITIES = ("report-status", "side-band-64k", "atomic", "delete-refs")


def push(
    client: HttpClient,
    commands: Sequence[tuple[str, str, str]],
    capabilities: set[str],
    *,
    options: Sequence[str] = (),
    pack: bytes | None,
) -> PushReport:
    """One receive-pack request: `(old, new, ref)` compare-and-swap commands (atomic when
    offered), push options, the pack; returns the parsed report-status. `capabilities`
    are the advertised ones (`receive_advertisement`)."""
    offered = [c for c in _PUSH_CAPABILITIES if c in capabilities]
    if "report-status" not in offered:
        raise GitError("the server does not report the status of a push")
    if options:
        if "push-options" not in capabilities:
            raise GitError("the receiving end does not support push options")
        offered.append("push-options")
    offered.append(f"agent={AGENT}")
    lines: list[bytes | str | int] = []
    for index, (old, new, ref) in enumerate(commands):
        line = f"{old} {new} {ref}".encode()
        lines.append(line + b"\0" + " ".join(offered).encode() if index == 0 else line)
    lines.append(pktline.FLUSH)
    if options:
        lines += [*options, pktline.FLUSH]
    body = pktline.encode(*lines) + (pack or b"")
    response = client.request(
        "POST",
        _RECEIVE,
        body=body,
        headers={
            "Content-Type": f"application/x-{_RECEIVE}-request",
            "Accept": f"application/x-{_RECEIVE}-result",
        },
    )
    check_status(response, "push", pushing=True)
    return parse_push_report(response.body)


def parse_push_report(body: bytes) -> PushReport:
    """The report-status of receive-pack's answer, side-banded or not."""
    messages: list[str] = []
    if body[4:11] != b"unpack ":
        reader = pktline.PacketReader(body, "push report")
        body, messages = pktline.demultiplex(pktline.until_flush(reader), "push")
    unpack = ""
    refs: dict[str, str | None] = {}
    for line in pktline.PacketReader(body, "push report").lines():
        text = line.decode("utf-8", "replace")
        if text.startswith("unpack "):
            unpack = text.removeprefix("unpack ")
        elif text.startswith("ok "):
            refs[text[3:]] = None
        elif text.startswith("ng "):
            ref, _, reason = text[3:].partition(" ")
            refs[ref] = reason or "rejected"
    return PushReport(unpack, refs, [redact(m) for m in messages])


_RACE_WORDS = (
    "non-fast-forward",
    "fetch first",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "reference already exists",
    "failed to lock",
    "but expected",
)
"""What receive-pack says (in the ref's `ng` reason or its messages) when the ref moved."""


def check_report(report: PushReport, branch: str, *, deleting: bool) -> None:
    """A push the server did not apply, classified as git's `push_error` does: the branch
    moved (transient: re-read and retry), or refused for the server's own reason."""
    ref = f"refs/heads/{branch}"
    reason = report.refs.get(ref, "no status reported")
    if report.unpack == "ok" and reason is None:
        return
    said = "; ".join(report.messages[-3:])
    if report.unpack != "ok":
        raise GitError(
            f"the remote refused the push to {branch}: unpack {report.unpack or 'failed'}"
            + (f"; {said}" if said else ""),
            stderr=said,
        )
    text = f"{reason} {said}".lower()
    if any(word in text for word in _RACE_WORDS):
        moved = "while it was being deleted" if deleting else "since it was read"
        raise PushRejectedError(
            f"push to {branch} was rejected because the branch moved {moved}; retrying on the "
            "new tip",
            stderr=reason or "",
        )
    detail = "; ".join(part for part in [reason or "", *report.messages[-3:]] if part)
    raise GitError(f"the remote refused the push to {branch}: {detail}", stderr=said)
