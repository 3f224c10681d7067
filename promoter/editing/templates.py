"""Go templates (Helm chart templates and the like): files promoter refuses to edit.

A template is rendered before anything reads it as YAML, so an edit that verifies as YAML
proves nothing about what gets deployed, and some templates parse as YAML by accident
(`name: {{ .Release.Name }}` reads as a nested flow mapping). Refused up front, file
untouched:

- a file whose template actions are part of its structure: a `{{` that YAML reads as a
  flow collection, or, in a file that does not parse, one where a YAML node would start
  (a line, a list item or a plain mapping value opens with it);
- any file under a Helm chart's `templates/` directory (a `Chart.yaml` beside it), with or
  without template actions.

A `{{` inside a string value or a comment is data, not structure: Helm `tpl` values and
Argo CD ApplicationSet parameters (`path: 'apps/{{cluster}}'`) live in files promoter does
edit. A templated value that an edit would replace is refused by
`model.check_replaceable`. Knows nothing of git or of the other editors.
"""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from pathlib import PurePosixPath

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from promoter.editing.source import YamlFile, decode, iter_documents, parse_bytes
from promoter.errors import EditRefusedError, YamlError
from promoter.filetree import FileTree

CHART_FILE = "Chart.yaml"
TEMPLATES_DIRECTORY = "templates"
_NODE_START_ACTION = re.compile(r"^[ \t]*(?:-[ \t]+)*(?:[^\s#'\"{\[][^#'\"]*?:[ \t]+)?\{\{")
"""A `{{` where a YAML node would start: line start, after `- `, or as a plain value."""
_ADVICE = (
    "promoter does not edit templates; set the image in the values or the file the "
    "template renders it from"
)


def parse_editable(raw: bytes, name: str) -> YamlFile:
    """`parse_bytes`, refusing a Go template whether or not it happens to parse as YAML."""
    try:
        yaml_file = parse_bytes(raw, name)
    except YamlError as exc:
        line = _action_line(raw, name)
        if line is None:
            raise
        raise EditRefusedError(
            f"not YAML but a Go template ({{{{ … }}}} at line {line}); {_ADVICE}",
            path=name,
            line=line,
        ) from exc
    check_not_template(yaml_file)
    return yaml_file


def check_not_template(yaml_file: YamlFile) -> None:
    """Refuse a file in which YAML reads a template action as a flow collection."""
    text = yaml_file.text
    if "{{" not in text:  # what every refusal below starts with
        return
    for _, doc in iter_documents(yaml_file):
        stack: list[Node] = [doc]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode | SequenceNode):
                if node.flow_style and text.startswith("{{", node.start_mark.index):
                    line = int(node.start_mark.line) + 1
                    raise EditRefusedError(
                        f"a Go template ({{{{ … }}}} at line {line} is template syntax, "
                        f"not YAML); {_ADVICE}",
                        path=yaml_file.name,
                        line=line,
                    )
                if isinstance(node, MappingNode):
                    stack.extend(part for pair in node.value for part in pair)
                else:
                    stack.extend(node.value)


def check_not_chart_template(path: FsPath, name: str, root: FsPath | None = None) -> None:
    """Refuse a file under a Helm chart's `templates/` (the chart's `Chart.yaml` is beside
    that directory); directories are looked at up to `root`, or to the filesystem root."""
    chart = find_chart(path, root)
    if chart is not None:
        raise _chart_template(chart.as_posix(), name)


def check_not_chart_template_in(tree: FileTree, path: str, name: str) -> None:
    """`check_not_chart_template` for the file `path` of a tree: the directories above it
    up to the tree's root are looked at."""
    parts = PurePosixPath(path).parts[:-1] if TEMPLATES_DIRECTORY in path else ()
    for end in range(len(parts), 0, -1):
        chart = PurePosixPath(*parts[: end - 1])
        if parts[end - 1] == TEMPLATES_DIRECTORY and tree.is_file((chart / CHART_FILE).as_posix()):
            raise _chart_template(chart.as_posix(), name)


def _chart_template(chart: str, name: str) -> EditRefusedError:
    return EditRefusedError(
        f"a template of the Helm chart in {chart} "
        f"({TEMPLATES_DIRECTORY}/ beside {CHART_FILE}); {_ADVICE}",
        path=name,
    )


def find_chart(path: FsPath, root: FsPath | None = None) -> FsPath | None:
    """The chart directory when `path` lies under its `templates/` directory, else None;
    relative to `root` when one is given."""
    stop = root.absolute() if root is not None else None
    directory = path.absolute().parent
    while stop is None or directory.is_relative_to(stop):
        if directory.name == TEMPLATES_DIRECTORY and (directory.parent / CHART_FILE).is_file():
            chart = directory.parent
            return chart.relative_to(stop) if stop is not None else chart
        if directory in (stop, directory.parent):
            break
        directory = directory.parent
    return None


def chart_files(path: str) -> list[str]:
    """The `Chart.yaml` beside each `templates/` directory `path` lies under: the files
    `find_chart` looks at, named before a partial tree is fetched."""
    if TEMPLATES_DIRECTORY not in path:  # no directory of that name: no chart to look at
        return []
    parts = PurePosixPath(path).parts[:-1]
    return [
        PurePosixPath(*parts[:index], CHART_FILE).as_posix()
        for index, part in enumerate(parts)
        if part == TEMPLATES_DIRECTORY
    ]


def _action_line(raw: bytes, name: str) -> int | None:
    """First line (1-based) where a template action opens a node, in text that did not parse."""
    try:
        text, _ = decode(raw, name)
    except YamlError:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if _NODE_START_ACTION.match(line):
            return number
    return None
