"""The render oracle of shared/realworld/README.md: did `promote --env ENV` change what ENV deploys?

One case (a line of `cases.jsonl`) is judged by materialising its repository as a git working
tree, rendering every render key before and after one `promote ... --mode push --output json`
run, and applying the README's checks:

* **promote**: exit 0 with status `changed`, a new commit, a clean tree; every target render
  changed; every changed or added leaf of a target render is the new tag, the new digest, the full
  image or a reference to the same repository with the new tag (and digest); no leaf disappears;
  no reference to the image in a target render keeps another tag or digest (unless `all_refs` is
  false); every other render is identical; the same command run again reports `unchanged` and
  changes nothing.
* **refuse**: exit 2, no commit, no file changed, exactly one non-empty stderr line, no traceback.
* always a failure: exit 0 with status `unchanged` (false success), a render outside the targets
  that changed (wrong-environment edit), any other exit code, exit 2 after committing or
  changing files.

Renders are plain data (dict, list, str, int, float, bool, None, and dates as YAML 1.1 reads them).
Nothing here imports promoter: the oracle has its own YAML loader, Helm merge and image-ref parser.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from sharedpath import SHARED

ROOT = Path(__file__).resolve().parents[2]
"""The project checkout (the directory holding `promoter/` and `tests/`)."""

PROMOTE_TIMEOUT = 60.0
"""Seconds one `promote` run may take."""

RENDER_TIMEOUT = 60.0
"""Seconds one `kubectl kustomize` may take."""

OUTCOMES = ("promote", "refuse", "false-success", "wrong-env", "other failure")
"""What a run did, as the report names it."""

_SCRUBBED_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "PROMOTER_", "GIT_")
_SCRUBBED_NAMES = frozenset({"CI"})
_IDENTITY = {
    "GIT_AUTHOR_NAME": "realworld oracle",
    "GIT_AUTHOR_EMAIL": "oracle@example.invalid",
    "GIT_COMMITTER_NAME": "realworld oracle",
    "GIT_COMMITTER_EMAIL": "oracle@example.invalid",
}

Json = Any
"""Plain parsed data: dict, list, str, int, float, bool, None (and YAML 1.1 dates)."""


def find_shared() -> Path:
    """`shared/` beside the repository (cases skip with a reason where it is absent)."""
    return SHARED


def load_cases(shared: Path) -> list[dict[str, Any]]:
    """Every case of `realworld/cases.jsonl`, in file order (empty when the file is absent)."""
    path = shared / "realworld" / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


FLEETS = ROOT / "fixtures" / "fleets"
"""The project's own real-shaped repositories (`fixtures/fleets/<name>/`), with cases in the
same format in `fixtures/fleets/cases.jsonl`: a case's `repo` there is `fleets/<name>`."""


def repo_snapshot(case: Mapping[str, Any], shared: Path) -> Path:
    """`realworld/repos/<owner>__<name>/` of a case, or `fixtures/fleets/<name>/` for the
    project's own (`repo: fleets/<name>`)."""
    repo = str(case["repo"])
    if repo.startswith("fleets/"):
        return FLEETS / repo.removeprefix("fleets/")
    return shared / "realworld" / "repos" / repo.replace("/", "__")


def load_fleet_cases() -> list[dict[str, Any]]:
    """Every case of `fixtures/fleets/cases.jsonl`, in file order."""
    path = FLEETS / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def skip_reason(case: Mapping[str, Any], shared: Path) -> str | None:
    """Why a case cannot run here (its snapshot or kubectl is missing), else None."""
    if not repo_snapshot(case, shared).is_dir():
        return f"{repo_snapshot(case, shared)} is absent"
    if shutil.which("kubectl") is None:
        return "kubectl is not on PATH"
    return None


# --------------------------------------------------------------------------------------------
# YAML 1.1, as go-yaml and Helm read it


class _LastKeyWinsConstructor(SafeConstructor):
    """Safe YAML 1.1 construction where a repeated mapping key overrides the earlier one.

    ruamel's `allow_duplicate_keys` keeps the *first* value of a repeated key (except inside a
    mapping holding a merge key); go-yaml, and so Helm and Kubernetes, keep the last.
    """

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        return True


def _yaml() -> YAML:
    yaml = YAML(typ="safe")
    yaml.version = (1, 1)
    yaml.allow_duplicate_keys = True
    yaml.Constructor = _LastKeyWinsConstructor
    return yaml


def load_documents(text: str) -> list[Json]:
    """Every YAML document of `text`: YAML 1.1, `<<` merges resolved, repeated keys: last wins."""
    return [plain(doc) for doc in _yaml().load_all(text)]


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def plain(value: Any) -> Json:
    """`value` with string keys and lists for sequences (tuples, sets) all the way down."""
    if isinstance(value, Mapping):
        return {_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    return value


# --------------------------------------------------------------------------------------------
# Helm values, leaves


def helm_merge(base: Json, override: Json) -> Json:
    """`override` coalesced over `base` with Helm's rule for values files given in order.

    Mappings merge recursively, a `null` in `override` deletes the key, anything else replaces.
    Neither argument is modified.
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def same(a: Json, b: Json) -> bool:
    """Equality that also compares types, so that `1`, `1.0`, `True` and `"1"` all differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def flatten(value: Json, pointer: str = "") -> dict[str, Json]:
    """Every leaf of `value` by JSON pointer: scalars, and empty mappings and lists."""
    leaves: dict[str, Json] = {}
    if isinstance(value, dict) and value:
        for key, child in value.items():
            leaves.update(flatten(child, f"{pointer}/{_escape(_key(key))}"))
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            leaves.update(flatten(child, f"{pointer}/{index}"))
    else:
        leaves[pointer] = value
    return leaves


# --------------------------------------------------------------------------------------------
# Image references


_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: `[domain/]path[:tag][@digest]`."""

    domain: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The canonical repository: `docker.io` by default, `library/` for one-part Hub names."""
        domain = (self.domain or "docker.io").lower()
        if domain == "index.docker.io":
            domain = "docker.io"
        path = self.path
        if domain == "docker.io" and "/" not in path:
            path = f"library/{path}"
        return f"{domain}/{path}"

    def same_repository(self, other: ImageRef) -> bool:
        return self.repository == other.repository


def parse_name(text: str) -> tuple[str | None, str] | None:
    """`(domain, path)` of a repository name such as `ghcr.io/acme/web`, or None."""
    if not text or len(text) > 255:
        return None
    first, slash, rest = text.partition("/")
    domain: str | None = None
    path = text
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
        if not _DOMAIN_RE.fullmatch(domain):
            return None
    if not _PATH_RE.fullmatch(path):
        return None
    return domain, path


def parse_image_ref(text: str) -> ImageRef | None:
    """The image reference `text` spells (distribution's grammar), or None when it spells none."""
    rest, at, digest = text.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return None
    name, tag = rest, None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            return None
    parsed = parse_name(name)
    if parsed is None:
        return None
    return ImageRef(parsed[0], parsed[1], tag, digest if at else None)


def parse_images_entry(text: str) -> list[ImageRef]:
    """The references of an Argo CD `kustomize.images` entry: `ref`, or `old=new[:tag][@digest]`.

    For `old=new`, both names are returned, each carrying the tag and digest of the new side.
    """
    old, eq, new = text.partition("=")
    if not eq:
        ref = parse_image_ref(text)
        return [ref] if ref else []
    new_ref = parse_image_ref(new)
    if new_ref is None:
        return []
    refs = [new_ref]
    old_ref = parse_image_ref(old)
    if old_ref is not None:
        refs.append(ImageRef(old_ref.domain, old_ref.path, new_ref.tag, new_ref.digest))
    return refs


def _mapping_ref(node: Mapping[str, Json]) -> ImageRef | None:
    repository = node.get("repository")
    if not isinstance(repository, str) or "tag" not in node:
        return None
    registry = node.get("registry")
    if isinstance(registry, str) and registry:
        repository = f"{registry.rstrip('/')}/{repository}"
    name = parse_name(repository)
    if name is None:
        return None
    tag_value = node.get("tag")
    tag = None if tag_value is None or tag_value == "" else str(tag_value)
    digest_value = node.get("digest")
    digest = str(digest_value) if digest_value else None
    if tag is not None and "@" in tag:
        tag, _, digest = tag.partition("@")
    return ImageRef(name[0], name[1], tag or None, digest)


def image_refs(
    value: Json, pointer: str = "", key: str | None = None
) -> Iterator[tuple[str, ImageRef]]:
    """Every image reference of a render, by JSON pointer (README, "Image references").

    A string under a key ending in `image` (any case); a mapping with `repository` (after
    `registry`) and `tag` (and `digest`); a mapping `{name: <contains "image">, value: <ref>}`; a
    string in a list under an `images` key (`old=new:tag` allowed).
    """
    if isinstance(value, dict):
        ref = _mapping_ref(value)
        if ref is not None:
            yield pointer, ref
        name, param = value.get("name"), value.get("value")
        if isinstance(name, str) and "image" in name.lower() and isinstance(param, str):
            ref = parse_image_ref(param)
            if ref is not None:
                yield f"{pointer}/value", ref
        for child_key, child in value.items():
            yield from image_refs(child, f"{pointer}/{_escape(child_key)}", child_key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            child_pointer = f"{pointer}/{index}"
            if isinstance(child, str) and key is not None and key.lower() == "images":
                for ref in parse_images_entry(child):
                    yield child_pointer, ref
            else:
                yield from image_refs(child, child_pointer, key)
    elif isinstance(value, str) and key is not None and key.lower().endswith("image"):
        ref = parse_image_ref(value)
        if ref is not None:
            yield pointer, ref


# --------------------------------------------------------------------------------------------
# Renders


class RenderError(Exception):
    """A render key could not be rendered."""


@dataclass(frozen=True)
class Failed:
    """A render that failed (kept as a value, so that it compares unequal to any real render)."""

    message: str


Render = Json | Failed


def _read_yaml_file(repo: Path, relative: str) -> list[Json]:
    path = repo / relative
    try:
        return load_documents(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise RenderError(f"cannot read {relative}: {error}") from error
    except Exception as error:  # ruamel's YAMLError and constructor errors
        raise RenderError(f"{relative} is not valid YAML: {error}") from error


def _resource_id(doc: Json) -> str:
    if not isinstance(doc, dict):
        return "?"
    metadata = doc.get("metadata")
    meta: dict[str, Json] = metadata if isinstance(metadata, dict) else {}
    return "|".join(
        str(part)
        for part in (
            doc.get("apiVersion"),
            doc.get("kind"),
            meta.get("namespace"),
            meta.get("name"),
        )
    )


def render_kustomize(repo: Path, directory: str) -> dict[str, Json]:
    """`kubectl kustomize <directory>`: its documents keyed by `apiVersion|kind|namespace|name`."""
    try:
        done = subprocess.run(
            ["kubectl", "kustomize", directory],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"kubectl kustomize {directory} timed out") from error
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise RenderError(f"kubectl kustomize {directory}: {message[0]}")
    try:
        docs = load_documents(done.stdout)
    except Exception as error:
        raise RenderError(f"kubectl kustomize {directory} printed invalid YAML: {error}") from error
    rendered: dict[str, Json] = {}
    for doc in docs:
        if doc is None:
            continue
        key = _resource_id(doc)
        while key in rendered:
            key += "#"
        rendered[key] = doc
    return rendered


def render_helm_values(repo: Path, files: Iterable[str]) -> Json:
    """The first document of each values file, merged in order with Helm's rule."""
    merged: Json = None
    for index, relative in enumerate(files):
        docs = _read_yaml_file(repo, relative)
        doc = docs[0] if docs and docs[0] is not None else {}
        merged = doc if index == 0 else helm_merge(merged, doc)
    return merged


def _substitute(value: Json, params: Mapping[str, Json]) -> Json:
    if isinstance(value, dict):
        return {_substitute(k, params): _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            found: Json = params
            for part in match.group(1).split("."):
                if not isinstance(found, dict) or part not in found:
                    return match.group(0)
                found = found[part]
            return found if isinstance(found, str) else json.dumps(found)

        return re.sub(r"\{\{\s*([\w.-]+)\s*\}\}", replace, value)
    return value


def render_appset(repo: Path, file: str, name: str, element: Mapping[str, Json]) -> Json:
    """`spec.template` of ApplicationSet `name`, filled from the matching list-generator element."""
    for doc in _read_yaml_file(repo, file):
        if not (isinstance(doc, dict) and doc.get("kind") == "ApplicationSet"):
            continue
        if (doc.get("metadata") or {}).get("name") != name:
            continue
        spec = doc.get("spec") or {}
        elements = [
            item
            for generator in spec.get("generators") or []
            if isinstance(generator, dict) and isinstance(generator.get("list"), dict)
            for item in generator["list"].get("elements") or []
            if isinstance(item, dict) and all(item.get(k) == v for k, v in element.items())
        ]
        if len(elements) != 1:
            raise RenderError(f"{file}: {len(elements)} list elements of {name} match {element}")
        return _substitute(spec.get("template"), elements[0])
    raise RenderError(f"{file}: no ApplicationSet {name}")


def render(repo: Path, spec: Mapping[str, Any]) -> Json:
    """One render spec of a case, rendered in the working tree `repo` (raises RenderError)."""
    kind = spec.get("kind")
    if kind == "kustomize":
        if "dirs" in spec:
            return {d: render_kustomize(repo, d) for d in spec["dirs"]}
        return render_kustomize(repo, spec["dir"])
    if kind == "helm-values":
        return render_helm_values(repo, spec["files"])
    if kind == "files":
        return {path: _read_yaml_file(repo, path) for path in spec["paths"]}
    if kind == "appset":
        return render_appset(repo, spec["file"], spec["name"], spec["element"])
    raise RenderError(f"unknown render kind {kind!r}")


_RENDERS: dict[tuple[str, str], Render] = {}
"""Renders by (digest of every file of the tree, spec): a render is a function of the files
alone, so the cases of one repository share their renders before promotion."""


def render_all(repo: Path, specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Render]:
    """Every render key; a key that fails to render maps to `Failed`."""
    digest = tree_digest(repo)

    def one(spec: Mapping[str, Any]) -> Render:
        key = (digest, json.dumps(spec, sort_keys=True))
        if key not in _RENDERS:
            try:
                _RENDERS[key] = render(repo, spec)
            except RenderError as error:
                _RENDERS[key] = Failed(str(error))
        return copy.deepcopy(_RENDERS[key])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(specs, pool.map(one, specs.values()), strict=True))


# --------------------------------------------------------------------------------------------
# The working tree and promoter


def subprocess_env(workdir: Path) -> dict[str, str]:
    """The environment minus forge, CI, git and PROMOTER_ variables, plus a throwaway git config."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED_NAMES
    }
    gitconfig = workdir / "gitconfig"
    gitconfig.touch()
    env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def git(repo: Path, env: Mapping[str, str], *args: str) -> str:
    """Plain git in `repo`; its stdout (raises CalledProcessError on failure)."""
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**env, "LC_ALL": "C"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def materialise(snapshot: Path, workdir: Path, env: Mapping[str, str]) -> Path:
    """A git working tree (branch `main`, one commit) holding a copy of `snapshot`."""
    repo = workdir / "repo"
    shutil.copytree(snapshot, repo, symlinks=True)
    identity = {**env, **_IDENTITY}
    git(repo, identity, "init", "-q", "-b", "main")
    git(repo, identity, "add", "-A")
    git(repo, identity, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "snapshot")
    return repo


def tree_digest(repo: Path) -> str:
    """A digest of every file (path, content, symlink target) outside `.git`."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if not (dirpath == str(repo) and d == ".git"))
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
            else:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        for dirname in dirnames:
            path = Path(dirpath, dirname)
            if path.is_symlink():
                digest.update(path.relative_to(repo).as_posix().encode() + b"\0link:")
                digest.update(os.readlink(path).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class GitState:
    """What the oracle checks of the working tree: HEAD, commit count, files, cleanliness."""

    head: str
    commits: int
    files: str
    clean: bool


def git_state(repo: Path, env: Mapping[str, str]) -> GitState:
    return GitState(
        head=git(repo, env, "rev-parse", "HEAD").strip(),
        commits=int(git(repo, env, "rev-list", "--count", "HEAD")),
        files=tree_digest(repo),
        clean=git(repo, env, "status", "--porcelain", "--untracked-files=all") == "",
    )


@dataclass(frozen=True)
class Run:
    """One promote run: exit code (None on timeout), JSON status, stderr."""

    code: int | None
    status: str | None
    stdout: str
    stderr: str

    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def promote_command(case: Mapping[str, Any], repo: Path) -> list[str]:
    """`python -m promoter --config-repo REPO --env E.. --image IMAGE --mode push --output json`."""
    envs = [f"--env={env}" for env in case_envs(case)]
    return [
        sys.executable,
        "-m",
        "promoter",
        "--config-repo",
        str(repo),
        *envs,
        "--image",
        str(case["image"]),
        "--mode",
        "push",
        "--output",
        "json",
    ]


def run_promote(case: Mapping[str, Any], repo: Path, workdir: Path, env: Mapping[str, str]) -> Run:
    try:
        done = subprocess.run(
            promote_command(case, repo),
            cwd=workdir,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=PROMOTE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        out = error.stdout.decode() if isinstance(error.stdout, bytes) else error.stdout or ""
        err = error.stderr.decode() if isinstance(error.stderr, bytes) else error.stderr or ""
        return Run(None, None, out, err)
    status: str | None = None
    try:
        parsed = json.loads(done.stdout)
        if isinstance(parsed, dict) and isinstance(parsed.get("status"), str):
            status = parsed["status"]
    except ValueError:
        pass
    return Run(done.returncode, status, done.stdout, done.stderr)


# --------------------------------------------------------------------------------------------
# Judging


def case_envs(case: Mapping[str, Any]) -> list[str]:
    """The `--env` values of a case: `envs`, else `[env]`."""
    return [str(e) for e in case["envs"]] if "envs" in case else [str(case["env"])]


def case_targets(case: Mapping[str, Any]) -> dict[str, list[str]]:
    """Env → the render keys it deploys (`targets`, default `[env]`)."""
    declared = case.get("targets") or {}
    return {env: [str(k) for k in declared.get(env, [env])] for env in case_envs(case)}


def acceptable_leaf(value: Json, image: ImageRef, full: str) -> str | None:
    """Why a changed or added leaf of a target render is not acceptable, or None when it is.

    Acceptable: the new tag, the new digest, the full image string, or a string that parses as a
    reference to the same repository with the new tag and the new digest (or none, when the image
    has none). An Argo CD `old=new:tag` entry is judged by its new side.
    """
    if not isinstance(value, str):
        return f"{value!r} is a {type(value).__name__}, not a string"
    if value == full or (image.tag is not None and value == image.tag):
        return None
    if image.digest is not None and value == image.digest:
        return None
    ref = parse_image_ref(value.partition("=")[2] if "=" in value else value)
    if ref is None or not ref.same_repository(image):
        return f"{value!r} is not the new tag, digest or a reference to {image.repository}"
    if image.tag is not None and ref.tag != image.tag:
        return f"{value!r} does not carry tag {image.tag}"
    if ref.digest != image.digest:
        return f"{value!r} carries digest {ref.digest}, not {image.digest}"
    return None


def leaf_problems(before: Json, after: Json, image: ImageRef, full: str) -> list[str]:
    """Condition 3 for one target render: changed/added leaves acceptable, none disappeared."""
    old, new = flatten(before), flatten(after)
    problems: list[str] = []
    for pointer, value in new.items():
        if pointer in old and same(old[pointer], value):
            continue
        problem = acceptable_leaf(value, image, full)
        if problem is not None:
            problems.append(f"{pointer or '/'}: {problem}")
    for pointer, value in old.items():
        if pointer in new:
            continue
        grown = (value is None or value in ({}, [])) and any(
            p.startswith(f"{pointer}/") for p in new
        )
        if not grown:
            problems.append(f"{pointer or '/'}: leaf {value!r} disappeared")
    return problems


def stale_refs(after: Json, image: ImageRef) -> list[str]:
    """Condition 4 for one target render: references to the image with another tag or digest."""
    stale: list[str] = []
    for pointer, ref in image_refs(after):
        if not ref.same_repository(image):
            continue
        if (image.tag is not None and ref.tag != image.tag) or ref.digest != image.digest:
            spelled = f"{ref.tag or '(no tag)'}{'@' + ref.digest if ref.digest else ''}"
            stale.append(f"{pointer} still {spelled}")
    return stale


@dataclass(frozen=True)
class Verdict:
    """The oracle's judgement of one case."""

    case_id: str
    passed: bool
    outcome: str
    reason: str


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(run: Run) -> str:
    if run.code is None:
        return f"timed out after {PROMOTE_TIMEOUT:.0f} s"
    lines = run.stderr_lines()
    last = lines[-1] if lines else "(no stderr)"
    return f"exit {run.code}, status {run.status}: {last}"


def judge(case: dict[str, Any], shared: Path, workdir: Path) -> Verdict:
    """Run one case in `workdir` (a fresh, empty directory) and judge it by the README's oracle."""
    case_id = str(case["id"])
    accept = set(case["accept"])
    image_text = str(case["image"])
    image = parse_image_ref(image_text)
    if image is None:
        return Verdict(case_id, False, "other failure", f"oracle: cannot parse image {image_text}")
    specs: dict[str, Mapping[str, Any]] = case["renders"]
    targets = case_targets(case)
    target_keys = {key for keys in targets.values() for key in keys}

    env = subprocess_env(workdir)
    repo = materialise(repo_snapshot(case, shared), workdir, env)
    before = render_all(repo, specs)
    broken = {key: r.message for key, r in before.items() if isinstance(r, Failed)}
    if broken:
        raise RenderError(f"oracle: renders fail before promotion: {broken}")
    initial = git_state(repo, env)

    run = run_promote(case, repo, workdir, env)
    state = git_state(repo, env)
    touched = state.files != initial.files or state.head != initial.head
    after = render_all(repo, specs) if touched else before

    outside = sorted(
        key for key in specs if key not in target_keys and not same(before[key], after[key])
    )
    if outside:
        return Verdict(
            case_id,
            False,
            "wrong-env",
            _short(
                f"changed {', '.join(outside)} (targets: {', '.join(sorted(target_keys))}); "
                f"{_describe(run)}"
            ),
        )
    if run.code == 0 and run.status == "unchanged":
        return Verdict(
            case_id,
            False,
            "false-success",
            "exit 0, status unchanged: "
            + ("no file changed" if not touched else "but the tree changed"),
        )
    if run.code == 0 and run.status == "changed":
        problems = _promote_problems(
            case, repo, workdir, env, image, (initial, state), (before, after), targets
        )
        if "promote" not in accept:
            problems.insert(0, f"promoted; expected {'/'.join(sorted(accept))}")
        if problems:
            return Verdict(case_id, False, "promote", _short("; ".join(problems)))
        changed = sorted(k for keys in targets.values() for k in keys)
        return Verdict(
            case_id, True, "promote", _short(f"changed {', '.join(changed)}; rerun unchanged")
        )
    if run.code == 2:
        if touched or state.commits != initial.commits:
            return Verdict(
                case_id,
                False,
                "other failure",
                _short(f"exit 2 after committing or changing files: {_describe(run)}"),
            )
        lines = run.stderr_lines()
        problems = []
        if "refuse" not in accept:
            problems.append(f"refused; expected {'/'.join(sorted(accept))}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} non-empty stderr lines, not 1")
        if "Traceback" in run.stderr:
            problems.append("traceback on stderr")
        said = lines[-1] if lines else "(no stderr)"
        if problems:
            return Verdict(case_id, False, "refuse", _short(f"{'; '.join(problems)}: {said}"))
        return Verdict(case_id, True, "refuse", _short(f"refused: {said}"))
    return Verdict(case_id, False, "other failure", _short(_describe(run)))


def snapshot_commit(repo: Path, env: Mapping[str, str]) -> str:
    """The snapshot's own commit, the one `materialise` made."""
    return git(repo, env, "rev-list", "--max-parents=0", "HEAD").split()[0]


def _targets_right(
    case: Mapping[str, Any],
    before: Mapping[str, Render],
    after: Mapping[str, Render],
    image: ImageRef,
    targets: Mapping[str, list[str]],
) -> bool:
    """Conditions 2-4 and 5 hold for `after`: every target render right, no other changed."""
    target_keys = {key for keys in targets.values() for key in keys}
    for key in before:
        if key not in target_keys and not same(before[key], after[key]):
            return False
    for key in target_keys:
        if key not in after or isinstance(after[key], Failed) or same(before[key], after[key]):
            return False
        if leaf_problems(before[key], after[key], image, case["image"]):
            return False
        if case.get("all_refs", True) and stale_refs(after[key], image):
            return False
    return True


def _redundant_files(
    case: Mapping[str, Any],
    repo: Path,
    env: Mapping[str, str],
    image: ImageRef,
    before: Mapping[str, Render],
    targets: Mapping[str, list[str]],
) -> list[str]:
    """The minimal-diff check: a changed file is redundant when the renders are still right
    with that one file put back as it was. So the files changed are the fewest that make the
    render right, one file at a time (a promotion of N files needs every one of them). A
    case may also state `fewest_files` (the project's own fleets): where one kustomization
    above every cluster can take the override, N per-cluster overrides are each needed
    and yet not the fewest."""
    root = snapshot_commit(repo, env)
    changed = git(repo, env, "diff", "--name-only", root, "HEAD").split()
    fewest = case.get("fewest_files")
    if fewest is not None and len(changed) != fewest:
        return [f"not minimal: {len(changed)} files changed, the fewest is {fewest}"]
    if len(changed) < 2:
        return []
    problems = []
    for path in changed:
        current = (repo / path).read_bytes() if (repo / path).exists() else None
        if git(repo, env, "ls-tree", root, "--", path).strip():
            git(repo, env, "checkout", "-q", root, "--", path)
        else:
            (repo / path).unlink()
        try:
            if _targets_right(case, before, render_all(repo, case["renders"]), image, targets):
                problems.append(f"not minimal: the renders are right without the change to {path}")
        finally:
            if current is None:
                (repo / path).unlink(missing_ok=True)
            else:
                (repo / path).write_bytes(current)
            git(repo, env, "add", "-A", "--", path)
    return problems


def _promote_problems(
    case: Mapping[str, Any],
    repo: Path,
    workdir: Path,
    env: Mapping[str, str],
    image: ImageRef,
    states: tuple[GitState, GitState],
    renders: tuple[dict[str, Render], dict[str, Render]],
    targets: Mapping[str, list[str]],
) -> list[str]:
    """Conditions 1-4 and 6 of a promote (5 is the wrong-environment check done before)."""
    initial, state = states
    before, after = renders
    problems: list[str] = []
    problems.extend(_redundant_files(case, repo, env, image, before, targets))
    if state.commits <= initial.commits:
        problems.append("no new commit")
    if not state.clean:
        problems.append("working tree not clean")
    for env_name, keys in targets.items():
        for key in keys:
            if key not in before:
                problems.append(f"target {key} of {env_name} is not a render key")
                continue
            if isinstance(after[key], Failed):
                problems.append(f"{key} no longer renders: {after[key].message}")
                continue
            if same(before[key], after[key]):
                problems.append(f"{key} ({env_name}) render unchanged")
                continue
            problems.extend(
                f"{key} {p}" for p in leaf_problems(before[key], after[key], image, case["image"])
            )
            if case.get("all_refs", True):
                problems.extend(f"{key} {p}" for p in stale_refs(after[key], image))
    rerun = run_promote(case, repo, workdir, env)
    again = git_state(repo, env)
    if rerun.code != 0 or rerun.status != "unchanged":
        problems.append(f"rerun: {_describe(rerun)}, not exit 0 unchanged")
    if again.commits != state.commits or again.head != state.head:
        problems.append("rerun committed")
    if again.files != state.files:
        problems.append("rerun changed files")
    return problems
