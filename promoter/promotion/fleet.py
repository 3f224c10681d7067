"""The environments and apps of a config repository, as every command sees them: those
promoter.yaml names, or without it the repository's own.

Without promoter.yaml the environments are the names the repository's paths give
(`environments.infer_environments`), their order comes from the common stage names
(`environments.order`), and the apps are the image repositories its YAML files name
(`environments.inventory`); which of them an environment runs, and at which version, is
the environment model's answer, read per app like any configured one. So `status`,
`--to … --all`, `plan`, `--rollback` and `why` read a repository as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from promoter.environments import environments, inventory, order
from promoter.errors import InputError
from promoter.imageref import ImageRef
from promoter.promotion.files import SnapshotFiles
from promoter.promotion.workspace import Checkout, Workspace


@dataclass(frozen=True, slots=True)
class Fleet:
    """Environments in promotion order, each one's source, and the apps by name."""

    environments: tuple[str, ...]
    sources: Mapping[str, str | None]
    apps: Mapping[str, ImageRef]
    configured: bool
    """Read from promoter.yaml (else from the repository itself)."""
    _names: dict[str, str] | None = field(default=None, compare=False, repr=False)

    def app(self, name: str) -> ImageRef:
        """The repository of the app `name`; a clear error naming the known apps."""
        found = self.apps.get(name)
        if found is None:
            where = "promoter.yaml" if self.configured else "the repository (no promoter.yaml)"
            known = ", ".join(sorted(self.apps)) or "none"
            raise InputError(f"no app {name!r} in {where}; apps: {known}", field="--app")
        return found

    def name_of(self, image: ImageRef) -> str:
        """The app name of `image`'s repository (its last component if no app has it)."""
        if self._names is None:  # by repository, the first app naming it: asked per app
            names: dict[str, str] = {}
            for name, found in self.apps.items():
                names.setdefault(found.repository, name)
            object.__setattr__(self, "_names", names)
        assert self._names is not None
        return self._names.get(image.repository, image.app_name)

    def source(self, env: str, given: str | None = None) -> str:
        """`given` (`--from`), else the environment's source; a clear error when neither."""
        found = given or self.sources.get(env)
        if found is None:
            how = (
                f"set environments.{env}.from in promoter.yaml"
                if self.configured
                else "add a promoter.yaml whose environments name their `from:` (its "
                "order could not be inferred from the environment names: "
                f"{', '.join(self.environments) or 'none'})"
            )
            raise InputError(
                f"{env} names no environment to promote from: pass --from ENV, or {how}",
                field="--from",
            )
        if found == env:
            raise InputError(f"--from and --to are both {env!r}", field="--from")
        return found


def read_fleet(ws: Workspace, checkout: Checkout) -> Fleet:
    """The fleet of `checkout`: promoter.yaml's, or the repository's own (read once)."""
    key = (checkout.branch, checkout.tip)
    known = ws.fleets.get(key)
    if not isinstance(known, Fleet):
        known = ws.fleets[key] = _read(checkout)
    return known


def _read(checkout: Checkout) -> Fleet:
    config = checkout.config
    if config is not None:
        sources = {name: env.source for name, env in config.environments.items()}
        apps = {name: app.image for name, app in config.apps.items()}
        return Fleet(tuple(config.environments), sources, apps, configured=True)
    files = SnapshotFiles(checkout.snapshot, checkout.root, shared=checkout.read)
    envs = environments(files)
    sources = order.infer_sources(envs)
    names = inventory.app_names(inventory.repositories(files))
    return Fleet(tuple(order.ordered(envs, sources)), sources, names, configured=False)
