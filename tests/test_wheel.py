"""promoter as users install it, with no source checkout: the wheel the Dockerfile builds,
the Action's install step, every command run from the installed package.

Docker cannot run here, so the Dockerfile's build stage is done as it would do it: the
files its `COPY` lines name, and nothing else, go into a directory, which is built into
a wheel and installed into a fresh venv (no promoter visible but that one, no index, no
network). Commands run from a directory outside this checkout, with a clean environment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import freshvenv
import pytest
from ruamel.yaml import YAML

import promoter

ROOT = Path(__file__).resolve().parents[1]


def _build_stage_sources() -> list[str]:
    """What the Dockerfile's build stage copies into its build context (`COPY a b ./`)."""
    stages: list[list[str]] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            stages.append([])
        elif stages:
            stages[-1].append(line)
    return [word for line in stages[0] if line.startswith("COPY ") for word in line.split()[1:-1]]


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    if check:
        assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("docker-build")
    context = work / "src"
    context.mkdir()
    sources = _build_stage_sources()
    assert {"pyproject.toml", "README.md", "LICENSE", "promoter"} <= set(sources), sources
    for name in sources:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, context / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, context / name)
    env = freshvenv.clean_environment(work, Path(sys.executable).parent)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(work / "wheels"), str(context)],
        work, env | freshvenv.pip_environment(),
    )  # fmt: skip
    (built,) = (work / "wheels").glob("promoter-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its `bin`."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    bin_dir = freshvenv.create(venv)
    freshvenv.pip_install(bin_dir, str(wheel), freshvenv.clean_environment(venv, bin_dir))
    return bin_dir


def test_the_wheel_ships_the_demo_repository_the_schema_and_the_license(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert f"promoter-{promoter.__version__}.dist-info/licenses/LICENSE" in names
    assert "promoter/demo_repo/promoter.yaml" in names
    assert "promoter/schema/promoter.schema.json" in names
    shipped = {n.removeprefix("promoter/demo_repo/") for n in names if "/demo_repo/" in n}
    source = ROOT / "promoter" / "demo_repo"
    assert shipped == {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
    metadata = zipfile.ZipFile(wheel).read(f"promoter-{promoter.__version__}.dist-info/METADATA")
    assert b"Project-URL: Source, https://github.com/promoter-dev/promoter" in metadata


def _where(bin_dir: Path, cwd: Path) -> str:
    done = _run([str(bin_dir / "python"), "-c", "import promoter; print(promoter.__file__)"],
                cwd, freshvenv.clean_environment(cwd, bin_dir))  # fmt: skip
    return done.stdout.strip()


def test_installed_promote_runs_the_demo_with_no_checkout(installed: Path, tmp_path: Path) -> None:
    assert Path(_where(installed, tmp_path)).is_relative_to(installed.parent)
    done = _run([str(installed / "promote"), "demo"], tmp_path,
                freshvenv.clean_environment(tmp_path, installed))  # fmt: skip
    assert "Promote web 1.5.0 to staging" in done.stdout
    assert "staging: changed web" in done.stdout
    assert "production: changed web 1.5.0 → 1.5.1" in done.stdout or "1.5.1" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def _commands() -> list[str]:
    from promoter.cli import cli

    return sorted(cli.commands)


@pytest.mark.parametrize("command", ["", *_commands()])
def test_installed_promote_shows_every_commands_help(
    installed: Path, tmp_path: Path, command: str
) -> None:
    argv = [str(installed / "promote"), *([command] if command else []), "--help"]
    done = _run(argv, tmp_path, freshvenv.clean_environment(tmp_path, installed))
    assert done.stdout.startswith(f"Usage: promote {command}".rstrip())


def test_installed_promote_reads_and_edits_the_packaged_repository(
    installed: Path, tmp_path: Path
) -> None:
    """The read commands, a dry run and `bump` against a git repository seeded from the
    config repository the package ships."""
    packaged = Path(_where(installed, tmp_path)).parent / "demo_repo"
    repo = tmp_path / "config"
    shutil.copytree(packaged, repo)
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgSign=false"]  # fmt: skip
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "config"]):
        _run([*git, *args], repo, freshvenv.clean_environment(tmp_path, installed))
    env = freshvenv.clean_environment(tmp_path, installed)
    promote = str(installed / "promote")
    assert _run([promote, "--version"], tmp_path, env).stdout.strip() == (
        f"promote, version {promoter.__version__}"
    )
    assert _run([promote, "validate", "--config-repo", str(repo)], tmp_path, env).returncode == 0
    status = _run([promote, "status", "--config-repo", str(repo), "--output", "json"], tmp_path,
                  env)  # fmt: skip
    assert '"web"' in status.stdout
    explain = _run([promote, "explain", "--config-repo", str(repo), "--env", "staging",
                    "--image", "ghcr.io/acme/web:9.9.9"], tmp_path, env)  # fmt: skip
    assert "staging" in explain.stdout
    dry = _run([promote, "--config-repo", str(repo), "--env", "staging", "--image",
                "ghcr.io/acme/web:9.9.9", "--dry-run"], tmp_path, env)  # fmt: skip
    assert "+    newTag: 9.9.9" in dry.stdout
    target = repo / "apps" / "web" / "overlays" / "dev" / "kustomization.yaml"
    _run([promote, "bump", str(target), "--image", "ghcr.io/acme/web:9.9.9"], tmp_path, env)
    assert "newTag: 9.9.9" in target.read_text()
    assert "bash" in _run([promote, "completion", "bash"], tmp_path, env).stdout


def _expression(value: str, action_path: Path) -> str:
    return re.sub(r"\$\{\{\s*github\.action_path\s*\}\}", str(action_path), value)


def test_the_actions_install_step_installs_the_release_its_ref_pins(tmp_path: Path) -> None:
    """A runner checks the action out at the ref the workflow pins (`@vX.Y.Z`) and runs its
    steps: the install step installs that checkout, so `promote` is that release."""
    origin = tmp_path / "promoter.git"
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgSign=false"]  # fmt: skip
    env = freshvenv.clean_environment(tmp_path, Path("/usr/bin"))
    work = tmp_path / "source"
    for name, data in freshvenv.checkout_files(ROOT).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "release"],
                 ["tag", f"v{promoter.__version__}"]):  # fmt: skip
        _run([*git, *args], work, env)
    _run([*git, "clone", "-q", "--bare", str(work), str(origin)], tmp_path, env)
    action_path = tmp_path / "_actions" / "promoter-dev" / "promoter" / f"v{promoter.__version__}"
    _run([*git, "clone", "-q", "--depth", "1", "--branch", f"v{promoter.__version__}",
          f"file://{origin}", str(action_path)], tmp_path, env)  # fmt: skip

    action = YAML(typ="safe").load((action_path / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("name") == "Install promoter")
    bin_dir = freshvenv.create(tmp_path / "runner-python")
    step_env = freshvenv.clean_environment(tmp_path, bin_dir) | freshvenv.pip_environment()
    step_env |= {k: _expression(str(v), action_path) for k, v in step.get("env", {}).items()}
    _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], tmp_path,
         step_env)  # fmt: skip
    version = _run([str(bin_dir / "promote"), "--version"], tmp_path, step_env).stdout
    assert version.strip() == f"promote, version {promoter.__version__}"
    assert Path(_where(bin_dir, tmp_path)).is_relative_to(bin_dir.parent)
