"""Which images a run checks in their registries before anything is written, and with which
credentials (issue 24): `--verify-image` asks it of every environment the run changes,
promoter.yaml's `policies.verify_image` of one.

The run collects the images of every unit that would change its environment, on every path
that promotes (`--env`/`--image`, `--to`, a rollback; a plain directory too), and checks
them all before the first push, so a refusal writes nothing and a dry run predicts it. A
missing image is `registry.ImageNotFoundError` (exit 2); a registry that cannot be asked,
or refuses the credentials, a `RegistryError` (exit 1). The credentials come from the
environment the cli read once: `PROMOTER_REGISTRY_USERNAME` and `_PASSWORD`, for the one
registry `PROMOTER_REGISTRY_HOST` names (an image read from the config repository may name
any host: the password goes to none of the others). No forge token is reused: it is for
the config repository, and a registry host is named by data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from promoter import config as configuration
from promoter.errors import ConfigError
from promoter.imageref import ImageRef
from promoter.redact import Secret

if TYPE_CHECKING:
    from promoter.registry import Credentials


def is_wanted(settings: configuration.Environment | None, asked: bool) -> bool:
    """Whether the images promoted to an environment are checked: `--verify-image`, or
    the environment's policy (promoter.yaml's `defaults` included)."""
    return asked or (settings is not None and settings.policies.verify_image)


def verify(images: Iterable[ImageRef], environ: Mapping[str, str]) -> None:
    """Each distinct image's manifest exists in its registry (with the tag on the digest,
    when a reference has both); raises on the first that does not, or cannot be asked."""
    wanted = list(dict.fromkeys(images))
    if not wanted:
        return
    from promoter.registry import RegistryClient

    client = RegistryClient(credentials(environ))
    for image in wanted:
        client.check(image)


def credentials(environ: Mapping[str, str]) -> Credentials | None:
    """The registry account the environment holds, and the registry it is for; none when
    neither the user nor the password is set (loaded only by a run that checks images)."""
    from promoter.registry import HOST_VARIABLE, PASSWORD_VARIABLE, USERNAME_VARIABLE, Credentials

    names = (USERNAME_VARIABLE, PASSWORD_VARIABLE, HOST_VARIABLE)
    user, password, host = (environ.get(name, "").strip() for name in names)
    if not user and not password:
        return None
    if not user or not password:
        raise ConfigError(f"set both {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, or neither")
    if not host:
        raise ConfigError(
            f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE} are set without {HOST_VARIABLE}: "
            "name the registry they are for (e.g. ghcr.io); promoter sends them to no other"
        )
    return Credentials(host, user, Secret(password))
