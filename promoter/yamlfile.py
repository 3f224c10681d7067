"""YAML files by name and by tag: the suffixes promoter reads as YAML, the names with a
fixed role (a kustomization, a chart's own values), the size past which a file is a
generated bundle, and the core tags a composed node carries. Defined once, here; a leaf
that imports nothing (parsing itself is `editing.source`).
"""

from __future__ import annotations

YAML_SUFFIXES = (".yaml", ".yml")
VALUES_NAMES = ("values.yaml", "values.yml")
"""A chart's own values file, in the order it is looked for."""
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_FILE_BYTES = 8 * 1024 * 1024
"""Larger files are generated bundles, not hand-kept settings: not read, screened or edited."""

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"


def stem(name: str) -> str:
    """`name` without its YAML suffix (`values-prod.yaml` → `values-prod`)."""
    for suffix in YAML_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
