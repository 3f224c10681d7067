"""Which transport reaches a remote: promoter's direct smart HTTP, or git's own.

The direct path speaks for git only where it would do what git does: an http(s) remote,
with no proxy, client certificate, disabled verification or URL rewrite that git's
config or environment carries (a CA bundle git is given is honoured). Everything else,
and every server the direct path cannot serve (`protocol.DirectUnsupportedError`), goes
to git. The environment read is the one git would get (`git_environment`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from promoter.errors import InputError
from promoter.repo.git import git_environment, run_git
from promoter.repo.remote import Remote

TRANSPORT_VARIABLE = "PROMOTER_TRANSPORT"
"""`git`, `direct` or `auto` (the default): for benchmarks and tests only, to measure or
pin one transport; users never need it."""
_PROXIES = ("http_proxy", "https_proxy", "all_proxy")
_GIT_TLS = ("GIT_SSL_NO_VERIFY", "GIT_SSL_CERT", "GIT_SSL_KEY", "GIT_SSL_CERT_PASSWORD_PROTECTED")
_HARMLESS = {
    "http.lowspeedlimit",
    "http.lowspeedtime",
    "http.postbuffer",
    "http.version",
    "http.maxrequests",
    "http.minsessions",
    "http.followredirects",
    "http.sslbackend",
    "http.receivepack",
    "http.uploadpack",
    "http.getanyfile",
}
"""git settings that change nothing the direct path must honour (server-side ones too)."""


@dataclass(frozen=True, slots=True)
class Choice:
    mode: str
    """`auto`, `direct` or `git`."""
    refusal: str | None
    """Why git's transport must be used (None: the direct path may be tried)."""
    cafile: str | None = None
    capath: str | None = None


def choose_transport(remote: Remote, cwd: Path) -> Choice:
    """The transport for `remote`: one `git config` read (in `cwd`, where git would run)
    for an http(s) remote, no request."""
    environ = git_environment()
    mode = environ.get(TRANSPORT_VARIABLE, "auto") or "auto"
    if mode not in ("auto", "direct", "git"):
        raise InputError(f"{TRANSPORT_VARIABLE} must be auto, direct or git, not {mode!r}")
    if mode == "git":
        return Choice(mode, f"{TRANSPORT_VARIABLE}=git")
    if remote.is_local:
        return Choice(mode, "a local remote")
    refusal = _environment_refusal(remote, environ)
    if refusal is not None:
        return Choice(mode, refusal)
    config = _http_config(cwd)
    refusal = _config_refusal(remote, config)
    cafile = environ.get("GIT_SSL_CAINFO") or config.get("http.sslcainfo")
    capath = environ.get("GIT_SSL_CAPATH") or config.get("http.sslcapath")
    return Choice(mode, refusal, cafile or None, capath or None)


def _environment_refusal(remote: Remote, environ: Mapping[str, str]) -> str | None:
    host = urlsplit(remote.url).hostname or ""
    lowered = {k.lower(): v for k, v in environ.items() if k.lower().endswith("_proxy")}
    for name in _PROXIES:
        if lowered.get(name) and not _bypassed(host, lowered.get("no_proxy", "")):
            return f"a proxy is set ({name})"
    for name in _GIT_TLS:
        if environ.get(name):
            return f"{name} is set"
    return None


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether `no_proxy` (as curl reads it: `*`, hosts, `.domain` suffixes) exempts `host`."""
    for entry in no_proxy.replace(" ", "").split(","):
        name = entry.rpartition(":")[0] if entry.count(":") == 1 else entry
        name = name.lstrip(".").lower()
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def _http_config(cwd: Path) -> dict[str, str]:
    """git's `http.*` and `url.*` settings (keys lowercased), from every config file."""
    args = ["config", "--get-regexp", r"^(http|url)\."]
    result = run_git(args, cwd=cwd, check=False, timeout=30)
    found: dict[str, str] = {}
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        found[key.lower()] = value
    return found


def _config_refusal(remote: Remote, config: Mapping[str, str]) -> str | None:
    for key, value in config.items():
        if key.startswith("url."):
            if value and remote.url.startswith(value):
                return f"git config rewrites the URL ({key})"
            continue
        short = key if key.count(".") == 1 else "http." + key.rpartition(".")[2]
        if short in _HARMLESS or short in ("http.sslcainfo", "http.sslcapath"):
            continue
        if short == "http.sslverify" and value.lower() in ("true", "1", "yes", "on"):
            continue
        return f"git config sets {short}"
    return None
