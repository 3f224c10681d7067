"""Minimal-diff YAML editing: locate with ruamel, splice text, prove with jsonpatch.

Bytes in, bytes out. Knows nothing of git, forges or the CLI; `write_atomic` is the one
function that touches the disk (promotion decides when).
"""

from promoter.editing.engine import edit_bytes, write_atomic
from promoter.editing.model import BumpRequest, Context, Edit, FileEdit

__all__ = [
    "BumpRequest",
    "Context",
    "Edit",
    "FileEdit",
    "edit_bytes",
    "write_atomic",
]
