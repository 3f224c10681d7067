"""Whether an image was pushed: its manifest asked of its registry over the OCI distribution
API (`HEAD /v2/<name>/manifests/<reference>`), with the registry's usual token flow.

Owns where a reference's registry answers (Docker Hub's names at `registry-1.docker.io`;
HTTPS, except a loopback registry, spoken to over plain HTTP as Docker does), the
`WWW-Authenticate` challenges (`Bearer`: a token from the realm the registry names;
`Basic`), and a short bounded retry of a registry that fails (5xx, 429, a dropped
connection). A leaf: knows nothing of YAML, git, forges or the process environment (the
caller passes the credentials and the registry they are for).

Everything a registry sends is untrusted: an error quotes at most a short, escaped excerpt
of it. A secret (the password, the basic header, a token) is registered with `redact`
before it travels, never goes in a URL, and goes only to the registry it is for (and to
the token realm that registry names, over HTTPS).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from promoter import __version__
from promoter.errors import InputError, OperationalError
from promoter.imageref import DOCKER_HUB, ImageRef
from promoter.redact import Secret
from promoter.sinks import excerpt

HUB_ENDPOINT = "registry-1.docker.io"
"""Where Docker Hub's names (`nginx`, `docker.io/library/nginx`) are served."""
MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""The manifests a promoted image may have: without them in `Accept`, a registry may
answer 404 for an index or convert it (and its digest) to an old schema."""
USERNAME_VARIABLE = "PROMOTER_REGISTRY_USERNAME"
PASSWORD_VARIABLE = "PROMOTER_REGISTRY_PASSWORD"
HOST_VARIABLE = "PROMOTER_REGISTRY_HOST"
"""The registry the credentials are for: they are sent nowhere else (an image reference
read from the config repository could name any host)."""
ATTEMPTS = 3
TIMEOUT = 20.0
"""Seconds one socket operation may take (connect, send, each read)."""
MANIFEST_LIMIT = 4 * 1024 * 1024
"""The distribution spec's manifest size registries should accept: no answer is read
further."""
AGENT = f"promoter/{__version__}"
_AUTH_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)=("(?:[^"\\]|\\.)*"|[^\s,]*)')
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{1,128}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,16384}")
"""A bearer token as it may travel in a header: printable, no spaces or line breaks."""
_REASONS = {"MANIFEST_UNKNOWN": "manifest unknown", "NAME_UNKNOWN": "repository unknown"}


class ImageNotFoundError(InputError):
    """The registry has no manifest for the reference (or its tag is on another digest)."""


class RegistryError(OperationalError):
    """The registry could not be asked: unreachable, failing, or answering nonsense."""


class RegistryAuthError(RegistryError):
    """The registry wants credentials, or refused the ones given."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A registry account: sent only to `host`'s registry and the token realm it names."""

    host: str
    username: str
    password: Secret

    def is_for(self, host: str) -> bool:
        return registry_host(self.host) == registry_host(host)

    def basic(self) -> Secret:
        text = f"{self.username}:{self.password.reveal()}"
        return Secret("Basic " + base64.b64encode(text.encode()).decode())


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a reference's repository is asked about."""

    host: str
    """The registry as references name it (`docker.io` for Docker Hub)."""
    origin: str
    """`https://registry-1.docker.io`, `http://127.0.0.1:5000`."""
    path: str
    """The repository within the registry (`library/nginx`)."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    digest: str | None
    challenges: tuple[str, ...]


def registry_host(text: str) -> str:
    """A registry's name for comparing: lowercase, Docker Hub's aliases as `docker.io`."""
    host = text.strip().lower()
    return DOCKER_HUB if host in ("index.docker.io", HUB_ENDPOINT) else host


def is_loopback(address: str) -> bool:
    """`localhost`, `127.0.0.0/8` or `[::1]`, with or without a port."""
    host = urlsplit(f"//{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(image: ImageRef) -> Endpoint:
    registry, path = image.repository.split("/", 1)
    address = HUB_ENDPOINT if registry == DOCKER_HUB else registry
    scheme = "http" if is_loopback(address) else "https"
    return Endpoint(registry, f"{scheme}://{address}", path)


def manifest_url(image: ImageRef) -> str:
    """The manifest URL asked: by tag when there is one (a digest is then compared), else
    by digest."""
    where = endpoint(image)
    return f"{where.origin}/v2/{where.path}/manifests/{image.tag or image.digest}"


class RegistryClient:
    """Asks registries whether manifests exist; tokens kept per repository for the run."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        attempts: int = ATTEMPTS,
        timeout: float = TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials
        self.attempts = attempts
        self.timeout = timeout
        self.sleep = sleep
        self.calls = 0
        self._granted: dict[tuple[str, str], Secret] = {}

    def check(self, image: ImageRef) -> str:
        """The digest of `image`'s manifest in its registry (empty when the registry does
        not say); `ImageNotFoundError` when there is none, or when the reference has a tag
        and a digest and the tag is on another digest (it moved)."""
        if image.tag is None and image.digest is None:
            raise InputError(f"image {image} has no tag or digest to look for")
        where = endpoint(image)
        url = manifest_url(image)
        method = "HEAD"
        answer = self._authorised(method, url, where)
        if answer.status == 405:  # a registry without HEAD for manifests
            method = "GET"
            answer = self._authorised(method, url, where)
        if answer.status != 200:
            raise self._failure(image, where, answer)
        found = answer.digest if answer.digest and _DIGEST.fullmatch(answer.digest) else None
        if image.digest is None:
            return found or ""
        if image.tag is None:
            return image.digest
        algorithm = image.digest.split(":", 1)[0]
        if found is None or not found.startswith(algorithm + ":"):
            if method == "HEAD":  # the registry did not say: hash the manifest itself
                answer = self._authorised("GET", url, where)
                if answer.status != 200:
                    raise self._failure(image, where, answer)
            found = f"{algorithm}:{hashlib.new(algorithm, answer.body).hexdigest()}"
        if found != image.digest:
            raise ImageNotFoundError(
                f"image {image} not found in {where.host} (tag {image.tag} is "
                f"{excerpt(found, 80)}: the tag moved)"
            )
        return found

    def _authorised(self, method: str, url: str, where: Endpoint) -> _Answer:
        """`method url`, answering one challenge: a 401 is met once with a token (or basic
        credentials), and refused if the registry still says 401."""
        key = (where.origin, where.path)
        granted = self._granted.get(key)
        answer = self._send(method, url, f"registry {where.host}", granted)
        if answer.status != 401:
            return answer
        granted = self._answer_challenge(answer, where)
        answer = self._send(method, url, f"registry {where.host}", granted)
        if answer.status == 401:
            raise self._auth_error(where, 401)
        self._granted[key] = granted
        return answer

    def _answer_challenge(self, answer: _Answer, where: Endpoint) -> Secret:
        schemes = {scheme: params for scheme, params in map(parse_challenge, answer.challenges)}
        if "bearer" in schemes:
            return self._token(schemes["bearer"], where)
        credentials = self._credentials_for(where)
        if "basic" in schemes and credentials is not None:
            return credentials.basic()
        if "basic" in schemes:
            raise self._auth_error(where, 401)
        asked = excerpt(", ".join(answer.challenges) or "nothing")
        raise RegistryAuthError(
            f"registry {where.host} answered 401 for {where.path} with a challenge promoter "
            f"does not answer: {asked} (expected Bearer or Basic)"
        )

    def _token(self, params: dict[str, str], where: Endpoint) -> Secret:
        """A token from the realm the registry named, for `params`' scope (pull of the
        repository by default), with the credentials when they are for this registry."""
        try:
            realm = urlsplit(params.get("realm", ""))
        except ValueError:  # not a URL (an unclosed IPv6 bracket)
            realm = urlsplit("")
        secure = realm.scheme == "https" or (realm.scheme == "http" and is_loopback(realm.netloc))
        if not secure or not realm.hostname or "@" in realm.netloc:
            raise RegistryError(
                f"registry {where.host} names a token realm promoter will not ask: "
                f"{excerpt(params.get('realm', ''))} (expected an https:// URL)"
            )
        query = {"service": params["service"]} if "service" in params else {}
        query["scope"] = params.get("scope") or f"repository:{where.path}:pull"
        url = realm._replace(query="&".join(filter(None, (realm.query, urlencode(query)))))
        credentials = self._credentials_for(where)
        basic = credentials.basic() if credentials is not None else None
        service = f"the token service of registry {where.host}"
        answer = self._send("GET", url.geturl(), service, basic)
        if answer.status in (401, 403):
            raise self._auth_error(where, answer.status)
        if answer.status != 200:
            tried = f" after {self.attempts} attempts" if answer.status >= 500 else ""
            raise RegistryError(f"{service} answered HTTP {answer.status}{tried}")
        try:
            found = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RegistryError(
                f"{service} answered no JSON: {excerpt(answer.body.decode('utf-8', 'replace'))}"
            ) from exc
        token = None
        if isinstance(found, dict):  # the spec's `token`; `access_token` is OAuth's spelling
            token = found.get("token") or found.get("access_token")
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise RegistryError(f"{service} gave no token")
        return Secret(f"Bearer {Secret(token).reveal()}")

    def _credentials_for(self, where: Endpoint) -> Credentials | None:
        found = self.credentials
        return found if found is not None and found.is_for(where.host) else None

    def _auth_error(self, where: Endpoint, status: int) -> RegistryAuthError:
        credentials = self.credentials
        variables = f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
        if credentials is not None and credentials.is_for(where.host):
            return RegistryAuthError(
                f"registry {where.host} refused the credentials in {variables} for "
                f"{where.path} (HTTP {status}): set them to an account that can pull it"
            )
        elsewhere = f" (those set are for {credentials.host})" if credentials else ""
        return RegistryAuthError(
            f"registry {where.host} needs credentials to read {where.path} (HTTP {status}): "
            f"set {variables}, and {HOST_VARIABLE}={where.host}{elsewhere}"
        )

    def _failure(
        self, image: ImageRef, where: Endpoint, answer: _Answer
    ) -> ImageNotFoundError | RegistryError:
        status = answer.status
        if status == 404:
            reason = _reason(answer.body) or "manifest unknown"
            return ImageNotFoundError(f"image {image} not found in {where.host} ({reason})")
        if status == 403:
            return self._auth_error(where, status)
        if 300 <= status < 400:
            return RegistryError(
                f"registry {where.host} redirects the manifest of {where.path} (HTTP {status}); "
                "promoter does not follow redirects"
            )
        tried = f" after {self.attempts} attempts" if status >= 500 or status == 429 else ""
        code = _reason(answer.body)
        detail = f" ({code})" if code else ""
        return RegistryError(
            f"registry {where.host} answered HTTP {status} for {where.path}{tried}{detail}"
        )

    def _send(self, method: str, url: str, what: str, authorization: Secret | None) -> _Answer:
        """One request to `what` (named in errors), tried again (at most `attempts` in all,
        short waits) while the server fails (5xx, 429) or the connection does; the last
        answer is returned."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": AGENT, "Accept": ", ".join(MEDIA_TYPES)}
        if authorization is not None:
            headers["Authorization"] = authorization.reveal()
        for attempt in range(1, self.attempts + 1):
            self.calls += 1
            try:
                answer = self._exchange(parts.scheme, parts.netloc, method, target, headers)
            except (OSError, http.client.HTTPException) as exc:
                if attempt == self.attempts:
                    reason = excerpt(str(exc) or type(exc).__name__, 120)
                    raise RegistryError(
                        f"{what} unreachable after {self.attempts} attempts: {reason}"
                    ) from exc
            else:
                if (answer.status < 500 and answer.status != 429) or attempt == self.attempts:
                    return answer
            self.sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(
        self, scheme: str, netloc: str, method: str, target: str, headers: dict[str, str]
    ) -> _Answer:
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=context)
        else:
            connection = http.client.HTTPConnection(netloc, timeout=self.timeout)
        try:
            connection.request(method, target, headers=headers)
            response = connection.getresponse()
            body = response.read(MANIFEST_LIMIT + 1) if method == "GET" else b""
            if len(body) > MANIFEST_LIMIT:
                raise RegistryError(f"{excerpt(netloc)} answered more than {MANIFEST_LIMIT} bytes")
            challenges = tuple(response.headers.get_all("WWW-Authenticate") or ())
            digest = response.getheader("Docker-Content-Digest")
            return _Answer(response.status, body, digest, challenges)
        finally:
            connection.close()


def parse_challenge(text: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {"realm": …, …})."""
    scheme, _, rest = text.strip().partition(" ")
    params = {}
    for name, raw in _AUTH_PARAM.findall(rest):
        quoted = raw.startswith('"')
        params[name.lower()] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if quoted else raw
    return scheme.lower(), params


def _reason(body: bytes) -> str:
    """The distribution spec's error code of an error body, in words (empty: none)."""
    try:
        found = json.loads(body)
        code = found["errors"][0]["code"]
    except (ValueError, UnicodeDecodeError, LookupError, TypeError):
        return ""
    if not isinstance(code, str):
        return ""
    return _REASONS.get(code, excerpt(code))
