"""promoter: promote container images through a GitOps config repository."""

__version__ = "0.1.0"

BOT_NAME = "promoter[bot]"
BOT_EMAIL = "promoter[bot]@users.noreply.github.com"
DEFAULT_AUTHOR = f"{BOT_NAME} <{BOT_EMAIL}>"
"""Who promoter commits as unless `--author` says otherwise (`tree.DEFAULT_IDENTITY`),
as `--author` spells it: here, so the command line's default costs no import."""
