"""Minimal-diff YAML editing: locate with ruamel, splice text, prove with jsonpatch.

Bytes in, bytes out. Knows nothing of git, forges or the CLI. `edit_file` is the one
entry point that touches the disk.
"""

from promoter.editing.engine import edit_bytes, edit_file, write_atomic
from promoter.editing.model import BumpRequest, Context, Edit, FileEdit

__all__ = [
    "BumpRequest",
    "Context",
    "Edit",
    "FileEdit",
    "edit_bytes",
    "edit_file",
    "write_atomic",
]
