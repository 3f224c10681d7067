"""promoter: promote container images through a GitOps config repository."""

__version__ = "0.1.0"
