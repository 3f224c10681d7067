"""Where promoter's text leaves the process: one encoder per sink, and nothing else.

Most of what promoter prints was written by someone else: values and file names from the
config repository, commit messages, CI payloads. Each is data, and each sink reads some
text as code: a CI log runs `::workflow-commands::`, Markdown renders `<img>` and
`@mentions`, a dotenv file splits on newlines, git reads trailers from a message's last
paragraph, YAML turns a newline and an indent into a new key. So text is encoded here, for
the sink it reaches, and an output that does not go through one of these functions does
not ship (`tests/hardening/test_sinks.py` checks each against hostile input). Secrets are
masked on the way out, so a sink can never be the place a token leaks. A leaf: imports
only `redact`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from promoter.redact import redact

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0/C1 controls, line/paragraph separators, and the bidi overrides that reorder text."""
_WORKFLOW_V1 = "##["
_MARKDOWN_SYNTAX = re.compile(r"[&\\\[\]`|<>@#*_~!$%]")
"""What GitHub's and GitLab's Markdown read as syntax or a reference inline (GitLab also
links `!1`, `$1`, `%name` and `~label`); `(` and `)` are inert without a `]` before them."""
_SAFE_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def escape_controls(text: str) -> str:
    """Control characters shown, not obeyed: `\\n`, `\\x1b`, `\\u202e`."""

    def shown(match: re.Match[str]) -> str:
        char = match.group()
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
        if char in named:
            return named[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(shown, text)


def one_line(text: str) -> str:
    """Redacted, control characters escaped: the form every single-line sink starts from."""
    return escape_controls(redact(text))


EXCERPT = 40
"""Characters of untrusted content an error message quotes at most."""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """A short quoted excerpt of untrusted content for an error message."""
    clipped = text if len(text) <= limit else text[:limit] + "…"
    return "'" + one_line(clipped).replace("'", "\\'") + "'"


def log_line(text: str) -> str:
    """One CI log line: no control characters, and no workflow command unless promoter
    writes it itself (GitHub's runner obeys `::cmd::` at a line's start after spaces, and
    the old `##[cmd]` anywhere in it)."""
    line = one_line(text).replace(_WORKFLOW_V1, "##\\[")
    if line.lstrip().startswith("::"):
        line = "\\" + line
    return line


def log_lines(text: str) -> str:
    """A block of log text (a diff, a table): each line encoded as `log_line`."""
    ending = "\n" if text.endswith("\n") else ""
    return "\n".join(log_line(line) for line in text.splitlines()) + ending


_DIFF_COLOURS = {"@": "\x1b[36m", "-": "\x1b[31m", "+": "\x1b[32m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def log_diff(text: str, *, colour: bool = False) -> str:
    """One file's unified diff in a log: each line encoded as `log_line`. Lines split at `\\n`
    only, so a carriage return or a form feed inside a line is shown (`\\r`), never obeyed
    (one cannot hide the changed line behind another); a CRLF line ending is an ending.
    With `colour` (a terminal), promoter's own ANSI codes go around each encoded line:
    headers bold, removals red, additions green, hunk lines cyan. A code from the file
    was escaped before these go in."""
    out = []
    header = True
    for raw in _text_lines(text):
        line = log_line(raw)
        header = header and not raw.startswith("@@")
        code = _BOLD if header else _DIFF_COLOURS.get(raw[:1])
        out.append(f"{code}{line}{_RESET}\n" if colour and code else line + "\n")
    return "".join(out)


def _text_lines(text: str) -> list[str]:
    """`text`'s lines, split at `\\n` only, without their `\\n` or a CRLF's `\\r`."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


_SECTION_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def gitlab_section_start(name: str, header: str, when: int) -> str:
    """promoter's own line that opens a collapsed section of a GitLab job log (GitLab's
    `section_start:<unix time>:<name>[collapsed=true]`): `name` checked against the
    characters GitLab allows, `header` a `log_line`, so it cannot open or close one."""
    if not _SECTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r}: a section name is made of A-Z, a-z, 0-9, _, . and -")
    return f"\x1b[0Ksection_start:{when}:{name}[collapsed=true]\r\x1b[0K{log_line(header)}"


def gitlab_section_end(name: str, when: int) -> str:
    """The line that closes `gitlab_section_start`'s section."""
    if not _SECTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r}: a section name is made of A-Z, a-z, 0-9, _, . and -")
    return f"\x1b[0Ksection_end:{when}:{name}\r\x1b[0K"


def workflow_group(title: str) -> str:
    """promoter's own `::group::` line, a fold in the GitHub Actions log: the title one
    line, `%` escaped as the runner unescapes command data (`%0A` stays text). The lines
    inside are `log_line`s, so none of them can end the group or run a command."""
    return "::group::" + one_line(title).replace("%", "%25")


def workflow_group_end() -> str:
    """The line that closes `workflow_group`'s fold."""
    return "::endgroup::"


def markdown_text(text: str) -> str:
    """Plain text in Markdown, one line: what could open a link, code, HTML, a table cell
    or a mention becomes a character reference (GFM decodes those in text and splits
    cells before it does, so they render as the character and act as nothing);
    emphasis and `#` references are backslash-escaped."""
    return _MARKDOWN_SYNTAX.sub(_markdown_escape, one_line(text))


def _markdown_escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in "*_~" else f"&#{ord(char)};"


def markdown_code(text: str) -> str:
    """A code span that its content cannot close, safe inside a table cell: the fence is
    one backtick longer than the longest run inside, `|` is escaped (GFM splits cells on
    it even in code), and the span stays on one line. Text holding `<`, `>`, `@` or `&`
    is written as escaped plain text instead, so no raw markup ever reaches the page."""
    if set(text) & set("<>@&"):
        return markdown_text(text)  # entities do not decode inside a code span
    content = one_line(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if content.startswith("`") or content.endswith("`") or not content else ""
    return f"{fence}{pad}{content}{pad}{fence}"


_INFO = re.compile(r"[A-Za-z0-9_+-]*")


def markdown_code_block(text: str, info: str = "") -> str:
    """A fenced code block (`info`: its language) that its content cannot close: the fence
    is a backtick run longer than any inside, and at least three (CommonMark §4.5). Inside
    it, Markdown and HTML are literal text; each line is redacted, control characters
    escaped, split at `\\n` only as `log_diff` does."""
    if not _INFO.fullmatch(info):
        raise ValueError(f"{info!r}: not a code block language")
    body = "".join(one_line(line) + "\n" for line in _text_lines(text))
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}{fence}\n"


def markdown_link(label: str, url: str | None) -> str:
    """A link only to an http(s) URL made of URL characters; anything else is plain text
    (a `javascript:` or `data:` link never renders as one)."""
    text = markdown_text(label)
    if url is None or not is_web_url(url):
        return text
    target = url.replace("(", "%28").replace(")", "%29")
    return f"[{text}]({target})"


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no credentials, in URL characters only."""
    if not _SAFE_URL.fullmatch(url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def html_text(text: str) -> str:
    """Text or an attribute value in HTML."""
    import html  # here, like `json` below: `promote --help` loads no encoder it does not use

    return html.escape(redact(text), quote=True)


def yaml_scalar(text: str) -> str:
    """A YAML double-quoted scalar in printable ASCII: no newline, comment, flow indicator
    or line-break character (NEL, LS, PS) escapes it."""
    out = []
    for char in redact(text):
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def output_value(text: str) -> str:
    """A `$GITHUB_OUTPUT` or dotenv value: a single line, so no value adds a key."""
    return one_line(text)


def trailer_value(text: str) -> str:
    """A commit trailer's value, or a commit subject: one line, so nobody's text starts a
    paragraph or a trailer of its own."""
    return one_line(text).strip()


def json_document(value: object) -> str:
    """A JSON document on one line (a serializer escapes every string), secrets masked."""
    import json

    return redact(json.dumps(value, ensure_ascii=False))


def encoded(text: str) -> str:
    """A document this module's encoders already built field by field (the status page,
    a child pipeline, a Markdown table): only masked here, not encoded twice."""
    return redact(text)


_COMMAND = re.compile(r"::add-mask::[^\r\n]+")


def workflow_command(line: str) -> str:
    """promoter's own GitHub workflow command (`::add-mask::` of a token it must hide):
    checked to be exactly that. Besides `workflow_group` and its end, the one kind of line
    that may start with `::`."""
    if not _COMMAND.fullmatch(line):
        raise ValueError("not an ::add-mask:: command on one line")
    return line
