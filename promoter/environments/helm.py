"""Helm values as an environment sees them: which files hold objects, not values.

Which chart `values.yaml` an environment's values file layers over is the Helm kind's own
rule (`editing.helm_layers`), asked through `editing.kinds` like every kind's companions.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode

from promoter.editing.source import YamlFile, mapping_get


def is_object_file(yaml_file: YamlFile) -> bool:
    """Kubernetes objects, not Helm values: a new top-level key would break them."""
    for doc in yaml_file.docs:
        if isinstance(doc, MappingNode) and None not in (
            mapping_get(doc, "kind"),
            mapping_get(doc, "apiVersion"),
        ):
            return True
    return False
