"""promoter: promote container images through a GitOps config repository."""

__version__ = "0.1.0"

BOT_NAME = "promoter[bot]"
BOT_EMAIL = "promoter[bot]@users.noreply.github.com"
DEFAULT_AUTHOR = f"{BOT_NAME} <{BOT_EMAIL}>"
"""Who promoter commits as unless `--author` says otherwise (`tree.DEFAULT_IDENTITY`),
as `--author` spells it: here, so the command line's default costs no import."""

HOME = "https://github.com/promoter-dev/promoter"
"""Where promoter is developed and released (tags `vX.Y.Z`, the Action's moving `vX`)."""
REQUIREMENT = f"promoter @ git+{HOME}.git@v{__version__}"
"""What a CI job installs to run this very release: the tag of the running version, from
the project's own repository (never a bare name from a package index, which anyone could
publish under it). The GitLab component's default and the pipelines `plan` generates."""
