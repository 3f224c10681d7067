"""`promoter.registry`: the manifest check against the fake OCI registry on loopback (token
flow, basic auth, retries, the tag-on-digest rule), the URL a reference is asked at, and
what the run reads from the environment (`promotion.verification`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources

import jsonschema
import pytest
from fakes.registry import DOCKER_MANIFEST, OCI_INDEX, FakeRegistry

from promoter.config import parse_config
from promoter.errors import ConfigError, InputError, OperationalError
from promoter.imageref import parse_image_ref
from promoter.promotion import verification
from promoter.redact import Secret, redact
from promoter.registry import (
    MEDIA_TYPES,
    Credentials,
    ImageNotFoundError,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    manifest_url,
    parse_challenge,
)

REPO = "acme/web"


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with FakeRegistry() as fake:
        yield fake
    assert fake.errors == []


@pytest.fixture
def bearer() -> Iterator[FakeRegistry]:
    with FakeRegistry(auth="bearer") as fake:
        yield fake
    assert fake.errors == []


def _client(fake: FakeRegistry | None = None, password: str | None = None) -> RegistryClient:
    """A client with the fake's account (or `password` instead), and waits that are noted,
    not slept."""
    credentials = None
    if fake is not None:
        secret = Secret(password if password is not None else fake.password)
        credentials = Credentials(fake.host, fake.username, secret)
    waits: list[float] = []
    return RegistryClient(credentials, sleep=waits.append)


def _image(fake: FakeRegistry, version: str) -> str:
    separator = "@" if version.startswith("sha256:") else ":"
    return f"{fake.host}/{REPO}{separator}{version}"


def _check(client: RegistryClient, text: str) -> str:
    return client.check(parse_image_ref(text))


def _trail(fake: FakeRegistry) -> list[tuple[str, str, int, str]]:
    return [(r.method, r.path, r.status, r.authorization) for r in fake.requests]


def test_registry_check_existing_tag_returns_its_digest(registry: FakeRegistry) -> None:
    digest = registry.push(REPO, "1.4.2")
    assert _check(_client(), _image(registry, "1.4.2")) == digest
    assert _trail(registry) == [("HEAD", f"/v2/{REPO}/manifests/1.4.2", 200, "none")]
    accepted = registry.requests[0].accept.split(", ")
    assert accepted == list(MEDIA_TYPES)


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST])
def test_registry_check_index_and_docker_manifest_are_accepted(
    registry: FakeRegistry, media_type: str
) -> None:
    digest = registry.push(REPO, "1.4.2", media_type=media_type)
    assert _check(_client(), _image(registry, "1.4.2")) == digest


def test_registry_check_missing_tag_is_not_found_exit_2(registry: FakeRegistry) -> None:
    registry.push(REPO, "1.4.2")
    with pytest.raises(ImageNotFoundError) as raised:
        _check(_client(), _image(registry, "1.4.3"))
    assert isinstance(raised.value, InputError)
    assert raised.value.exit_code == 2
    host = registry.host
    assert str(raised.value) == (
        f"image {host}/{REPO}:1.4.3 not found in {host} (manifest unknown)"
    )
    assert registry.count("HEAD") == 1


def test_registry_check_get_when_head_is_not_allowed(registry: FakeRegistry) -> None:
    """A registry that answers 405 to HEAD is asked with GET; its 404 body names the
    spec's error code (an unknown repository here)."""
    registry.head = False
    digest = registry.push(REPO, "1.4.2")
    assert _check(_client(), _image(registry, "1.4.2")) == digest
    with pytest.raises(ImageNotFoundError, match=r"not found in .* \(repository unknown\)$"):
        _check(_client(), f"{registry.host}/acme/api:1.0.0")
    assert [(r.method, r.status) for r in registry.requests] == [
        ("HEAD", 405), ("GET", 200), ("HEAD", 405), ("GET", 404),
    ]  # fmt: skip


def test_registry_check_tag_on_its_digest_passes(registry: FakeRegistry) -> None:
    digest = registry.push(REPO, "1.4.2")
    assert _check(_client(), _image(registry, f"1.4.2@{digest}")) == digest
    assert registry.count("HEAD", "/manifests/1.4.2$") == 1  # asked by tag, then compared


def test_registry_check_tag_moved_off_the_digest_is_refused(registry: FakeRegistry) -> None:
    old = registry.push(REPO, "1.4.2")
    new = registry.push(REPO, "1.4.2")  # pushed again: the tag moved
    with pytest.raises(ImageNotFoundError) as raised:
        _check(_client(), _image(registry, f"1.4.2@{old}"))
    assert f"(tag 1.4.2 is '{new}': the tag moved)" in str(raised.value)
    assert raised.value.exit_code == 2


def test_registry_check_without_digest_header_hashes_the_manifest(registry: FakeRegistry) -> None:
    """A registry that does not say the digest: the manifest is fetched and hashed."""
    registry.digest_header = False
    old = registry.push(REPO, "1.4.2")
    assert _check(_client(), _image(registry, f"1.4.2@{old}")) == old
    assert [r.method for r in registry.requests] == ["HEAD", "GET"]
    registry.push(REPO, "1.4.2")
    with pytest.raises(ImageNotFoundError, match="the tag moved"):
        _check(_client(), _image(registry, f"1.4.2@{old}"))


def test_registry_check_digest_only(registry: FakeRegistry) -> None:
    digest = registry.push(REPO, None)
    assert _check(_client(), _image(registry, digest)) == digest
    missing = "sha256:" + "0" * 64
    with pytest.raises(ImageNotFoundError, match=r"@sha256:0{64} not found"):
        _check(_client(), _image(registry, missing))
    assert [r.path.rsplit("/", 1)[1] for r in registry.requests] == [digest, missing]


def test_registry_token_flow_with_credentials(bearer: FakeRegistry) -> None:
    digest = bearer.push(REPO, "1.4.2")
    client = _client(bearer)
    assert _check(client, _image(bearer, "1.4.2")) == digest
    assert _check(client, _image(bearer, "1.4.2")) == digest  # the token is kept
    manifest = f"/v2/{REPO}/manifests/1.4.2"
    assert _trail(bearer) == [
        ("HEAD", manifest, 401, "none"),
        ("GET", "/token", 200, "basic"),
        ("HEAD", manifest, 200, "bearer"),
        ("HEAD", manifest, 200, "bearer"),
    ]
    token_request = bearer.requests[1]
    assert f"scope=repository%3A{REPO.replace('/', '%2F')}%3Apull" in token_request.query
    assert "service=fake-registry" in token_request.query
    (token,) = bearer.issued
    assert redact(f"token {token}") == "token ***"  # registered before it travelled


def test_registry_token_flow_with_wrong_credentials_exit_1(bearer: FakeRegistry) -> None:
    bearer.push(REPO, "1.4.2")
    wrong = "not-the-password-" + bearer.password[:4]
    with pytest.raises(RegistryAuthError) as raised:
        _check(_client(bearer, wrong), _image(bearer, "1.4.2"))
    message = str(raised.value)
    assert isinstance(raised.value, OperationalError)
    assert raised.value.exit_code == 1
    assert message == (
        f"registry {bearer.host} refused the credentials in PROMOTER_REGISTRY_USERNAME and "
        f"PROMOTER_REGISTRY_PASSWORD for {REPO} (HTTP 401): set them to an account that can "
        "pull it"
    )
    assert wrong not in message
    assert bearer.issued == []


def test_registry_token_flow_without_credentials_names_the_variables(bearer: FakeRegistry) -> None:
    bearer.push(REPO, "1.4.2")
    with pytest.raises(RegistryAuthError) as raised:
        _check(_client(), _image(bearer, "1.4.2"))
    assert str(raised.value) == (
        f"registry {bearer.host} needs credentials to read {REPO} (HTTP 401): set "
        "PROMOTER_REGISTRY_USERNAME and PROMOTER_REGISTRY_PASSWORD, and "
        f"PROMOTER_REGISTRY_HOST={bearer.host}"
    )


def test_registry_anonymous_token(bearer: FakeRegistry) -> None:
    """A public repository: the token service gives a pull token without credentials."""
    bearer.anonymous = True
    bearer.token_field = "access_token"  # OAuth's spelling, which some registries use
    digest = bearer.push(REPO, "1.4.2")
    assert _check(_client(), _image(bearer, "1.4.2")) == digest
    assert [r.authorization for r in bearer.requests] == ["none", "none", "bearer"]


def test_registry_credentials_go_only_to_their_registry(bearer: FakeRegistry) -> None:
    """Credentials for another registry are not sent here (an image read from the config
    repository may name any host)."""
    bearer.anonymous = True
    bearer.push(REPO, "1.4.2")
    elsewhere = RegistryClient(Credentials("ghcr.io", bearer.username, Secret(bearer.password)))
    _check(elsewhere, _image(bearer, "1.4.2"))
    assert "basic" not in [r.authorization for r in bearer.requests]
    bearer.anonymous = False
    with pytest.raises(RegistryAuthError, match=r"\(those set are for ghcr\.io\)$"):
        _check(elsewhere, f"{bearer.host}/acme/api:1.0.0")


def test_registry_refuses_a_realm_over_plain_http(bearer: FakeRegistry) -> None:
    bearer.realm = "http://registry.invalid/token"
    bearer.push(REPO, "1.4.2")
    with pytest.raises(RegistryError, match="names a token realm promoter will not ask"):
        _check(_client(bearer), _image(bearer, "1.4.2"))
    assert bearer.count() == 1


def test_registry_basic_challenge() -> None:
    with FakeRegistry(auth="basic") as fake:
        digest = fake.push(REPO, "1.4.2")
        assert _check(_client(fake), _image(fake, "1.4.2")) == digest
        assert [r.authorization for r in fake.requests] == ["none", "basic"]
        with pytest.raises(RegistryAuthError, match="needs credentials"):
            _check(_client(), _image(fake, "1.4.2"))
        with pytest.raises(RegistryAuthError, match="refused the credentials"):
            _check(_client(fake, "wrong-password"), _image(fake, "1.4.2"))
    assert fake.errors == []


def test_registry_server_errors_are_retried(registry: FakeRegistry) -> None:
    digest = registry.push(REPO, "1.4.2")
    registry.fail_next(503, times=2)
    client = _client()
    waits: list[float] = []
    client.sleep = waits.append
    assert _check(client, _image(registry, "1.4.2")) == digest
    assert [r.status for r in registry.requests] == [503, 503, 200]
    assert waits == [0.5, 1.0]


def test_registry_server_errors_give_up_exit_1(registry: FakeRegistry) -> None:
    registry.push(REPO, "1.4.2")
    registry.fail_next(503, times=5)
    with pytest.raises(RegistryError) as raised:
        _check(_client(), _image(registry, "1.4.2"))
    assert not isinstance(raised.value, InputError)
    assert raised.value.exit_code == 1
    assert str(raised.value) == (
        f"registry {registry.host} answered HTTP 503 for {REPO} after 3 attempts"
    )
    assert registry.count() == 3


def test_registry_unreachable_exit_1() -> None:
    with FakeRegistry() as fake:
        host = fake.host
    client = _client()
    with pytest.raises(RegistryError, match=rf"^registry {host} unreachable after 3 attempts: "):
        _check(client, f"{host}/{REPO}:1.4.2")
    assert client.calls == 3


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        ("nginx:1.25", "https://registry-1.docker.io/v2/library/nginx/manifests/1.25"),
        ("library/nginx:1.25", "https://registry-1.docker.io/v2/library/nginx/manifests/1.25"),
        ("docker.io/nginx:1.25", "https://registry-1.docker.io/v2/library/nginx/manifests/1.25"),
        ("index.docker.io/acme/web:2", "https://registry-1.docker.io/v2/acme/web/manifests/2"),
        ("docker.io/acme/web@sha256:" + "a" * 64,
         "https://registry-1.docker.io/v2/acme/web/manifests/sha256:" + "a" * 64),
        ("ghcr.io/acme/web:1.4.2", "https://ghcr.io/v2/acme/web/manifests/1.4.2"),
        ("ghcr.io/acme/web:1.4.2@sha256:" + "b" * 64,
         "https://ghcr.io/v2/acme/web/manifests/1.4.2"),
        ("registry.example.com:5000/a/b/c:1", "https://registry.example.com:5000/v2/a/b/c/manifests/1"),
        ("localhost:5000/web:1", "http://localhost:5000/v2/web/manifests/1"),
        ("127.0.0.1:5000/acme/web:1", "http://127.0.0.1:5000/v2/acme/web/manifests/1"),
        ("[::1]:5000/web:1", "http://[::1]:5000/v2/web/manifests/1"),
    ],
)  # fmt: skip
def test_registry_manifest_url(reference: str, url: str) -> None:
    """Docker Hub's names at registry-1.docker.io, `library/` for official images; plain
    HTTP for loopback registries only. No network."""
    assert manifest_url(parse_image_ref(reference)) == url


def test_registry_parse_challenge() -> None:
    text = 'Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull"'
    assert parse_challenge(text) == (
        "bearer",
        {
            "realm": "https://auth.example.com/token",
            "service": "reg",
            "scope": "repository:a/b:pull",
        },
    )
    assert parse_challenge('Basic realm="x \\"y\\""') == ("basic", {"realm": 'x "y"'})


def test_registry_fake_answers_as_the_spec_says(bearer: FakeRegistry) -> None:
    """The fake itself, asked with plain urllib: the 401 challenge, the token service's
    checks, and the spec's error body (the client's tests rest on these)."""
    bearer.push(REPO, "1.4.2")
    url = f"{bearer.url}/v2/{REPO}/manifests/1.4.3"
    with pytest.raises(urllib.error.HTTPError) as unauthorised:
        urllib.request.urlopen(url, timeout=10)
    unauthorised.value.close()
    challenge = unauthorised.value.headers["WWW-Authenticate"]
    assert challenge == (
        f'Bearer realm="{bearer.url}/token",service="fake-registry",scope="repository:{REPO}:pull"'
    )
    wrong_scope = f"{bearer.url}/token?service=fake-registry&scope=everything"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong_scope, timeout=10)
    refused.value.close()
    assert refused.value.code == 400
    bearer.anonymous = True
    token_url = f"{bearer.url}/token?service=fake-registry&scope=repository:{REPO}:pull"
    with urllib.request.urlopen(token_url, timeout=10) as answer:
        token = json.load(answer)["token"]
    ask = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(ask, timeout=10)
    with missing.value as error:
        assert error.code == 404
        assert json.load(error)["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_verification_credentials_from_the_environment() -> None:
    assert verification.credentials({}) is None
    found = verification.credentials(
        {
            "PROMOTER_REGISTRY_USERNAME": "ci",
            "PROMOTER_REGISTRY_PASSWORD": "pw-123456",
            "PROMOTER_REGISTRY_HOST": "ghcr.io",
        }
    )
    assert found is not None
    assert (found.host, found.username, found.password.reveal()) == ("ghcr.io", "ci", "pw-123456")
    assert "pw-123456" not in repr(found)
    with pytest.raises(ConfigError, match="without PROMOTER_REGISTRY_HOST"):
        verification.credentials(
            {"PROMOTER_REGISTRY_USERNAME": "ci", "PROMOTER_REGISTRY_PASSWORD": "pw-123456"}
        )
    with pytest.raises(ConfigError, match="set both"):
        verification.credentials({"PROMOTER_REGISTRY_USERNAME": "ci"})


def test_verification_checks_each_image_once(registry: FakeRegistry) -> None:
    registry.push(REPO, "1.4.2")
    image = parse_image_ref(_image(registry, "1.4.2"))
    verification.verify([image, image, image], {})
    verification.verify([], {})
    assert registry.count() == 1


POLICY = """version: 1
defaults:
  policies: {verify_image: true}
environments:
  staging: {}
  production:
    policies: {verify_image: %s}
apps:
  web:
    image: ghcr.io/acme/web
    targets: {staging: {kustomize: s.yaml}, production: {kustomize: p.yaml}}
"""


def test_verification_policy_is_parsed_per_environment() -> None:
    """`verify_image` merges from `defaults` key by key like every policy, is a boolean at
    its line, and the schema says the same."""
    config = parse_config(POLICY % "false", "promoter.yaml")
    assert config.environments["staging"].policies.verify_image is True
    assert config.environments["production"].policies.verify_image is False
    assert verification.is_wanted(config.environments["staging"], asked=False)
    assert not verification.is_wanted(config.environments["production"], asked=False)
    assert verification.is_wanted(config.environments["production"], asked=True)
    assert not verification.is_wanted(None, asked=False)
    with pytest.raises(ConfigError, match=r"^promoter.yaml:7: environments.production"):
        parse_config(POLICY % "'yes please'", "promoter.yaml")
    shipped = resources.files("promoter").joinpath("schema/promoter.schema.json").read_text()
    schema = json.loads(shipped)["$defs"]["policies"]
    jsonschema.validate({"verify_image": True}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"verify_image": "yes"}, schema)
