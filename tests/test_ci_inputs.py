"""`promote ci-run` and the CI integrations built on it: the GitHub Action (`action.yml`)
and the GitLab component (`templates/promote.yml`) take the same inputs and report the
same outputs, by the names of `promoter.cli.inputs.INPUTS` and `report.OUTPUTS`, and the
same inputs make the same promotion through either."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import promoter
from promoter.cli.inputs import INPUTS, PREFIX, argv
from promoter.errors import InputError
from promoter.promotion.report import OUTPUTS, dotenv_name

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
COMPONENT = ROOT / "templates" / "promote.yml"
ACTION_OWN = {"token", "python-version"}
COMPONENT_OWN = {"stage", "job-name", "python-image", "promoter-package"}


def _action() -> dict[str, object]:
    document = YAML(typ="safe").load(ACTION.read_text())
    assert isinstance(document, dict)
    return document


def _component() -> tuple[dict[str, object], dict[str, object]]:
    header, jobs = COMPONENT.read_text().split("\n---\n")
    spec = YAML(typ="safe").load(header)["spec"]["inputs"]
    (job,) = YAML(typ="safe").load(jobs).values()
    return spec, job


def test_every_input_has_a_unique_name_and_variable() -> None:
    names = [i.name for i in INPUTS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z-]*", n) for n in names)
    assert {i.variable for i in INPUTS} == {PREFIX + n.upper().replace("-", "_") for n in names}


def test_action_and_component_declare_the_same_inputs_with_the_same_descriptions() -> None:
    action_inputs = _action()["inputs"]
    spec, _ = _component()
    assert isinstance(action_inputs, dict)
    shared = {i.name for i in INPUTS}
    assert set(action_inputs) == shared | ACTION_OWN
    assert set(spec) == shared | COMPONENT_OWN
    for item in INPUTS:
        assert action_inputs[item.name]["description"] == item.description, item.name
        assert spec[item.name]["description"] == item.description, item.name


def test_environment_and_image_are_optional_and_only_config_repo_is_required() -> None:
    action_inputs = _action()["inputs"]
    spec, _ = _component()
    assert isinstance(action_inputs, dict)
    required = {name for name, v in action_inputs.items() if v.get("required")}
    assert required == {"config-repo", "token"}
    assert {name for name, v in spec.items() if "default" not in v} == {"config-repo"}
    flags = {i.name for i in INPUTS if i.kind == "flag"}
    assert {name for name, v in spec.items() if v.get("type") == "boolean"} == flags


def test_both_hand_every_input_over_by_its_variable_and_run_ci_run() -> None:
    steps = _action()["runs"]["steps"]  # type: ignore[index]
    step = next(s for s in steps if s.get("id") == "promote")
    _, job = _component()
    for item in INPUTS:
        assert step["env"][item.variable] == f"${{{{ inputs.{item.name} }}}}"
        assert str(job["variables"][item.variable]) == f"$[[ inputs.{item.name} ]]"
    assert step["run"].strip() == "promote ci-run"
    assert "promote ci-run" in "\n".join(job["script"])


def test_action_outputs_are_the_shared_outputs_plus_githubs_names() -> None:
    outputs = _action()["outputs"]
    assert isinstance(outputs, dict)
    assert set(outputs) == {*OUTPUTS, "pr-url", "pr-number"}
    header = COMPONENT.read_text().split("\n---\n")[0]
    for name in OUTPUTS:  # the component documents its dotenv report by the same names
        assert dotenv_name(name) in header, name


def test_component_installs_the_release_it_belongs_to() -> None:
    spec, job = _component()
    assert spec["promoter-package"]["default"] == promoter.REQUIREMENT
    assert promoter.REQUIREMENT.endswith(f"@v{promoter.__version__}")
    assert '"$PROMOTER_PACKAGE"' in " ".join(job["before_script"])


def test_action_and_component_are_generated_from_the_table() -> None:
    """Both files come from `.ci/ci_files.py`: a hand edit of either, or a change of the
    table without regenerating them, fails here."""
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "ci_files.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_pipelines_install_the_running_release() -> None:
    from promoter.queries.fanout import Fanout, gitlab_pipeline

    text = gitlab_pipeline(Fanout("staging", "production", ()), config_repo="https://x/c.git")
    install = next(line for line in text.splitlines() if "pip install" in line)
    assert promoter.REQUIREMENT in install
    assert not re.search(r"pip install --quiet promoter\b", install)


def _env(**inputs: str) -> dict[str, str]:
    return {PREFIX + k.upper(): v for k, v in inputs.items()}


def test_lists_split_on_lines_and_commas_and_values_stay_one_word() -> None:
    words = argv(
        _env(
            ENVIRONMENT="dev\nstaging, production qa\n",
            IMAGE="ghcr.io/acme/web:1.4.2",
            LABELS="needs review, team::sre",
            DRY_RUN="TRUE",
            FORCE="false",
            MODE=" push ",
            EXTRA_ARGS="--skip-ci --author 'CI Bot <ci@example.com>'",
        )
    )
    assert words == [
        "--env=dev", "--env=staging", "--env=production", "--env=qa",
        "--image=ghcr.io/acme/web:1.4.2",
        "--dry-run", "--mode=push", "--label=needs review", "--label=team::sre",
        "--skip-ci", "--author", "CI Bot <ci@example.com>",
    ]  # fmt: skip


def test_a_value_that_looks_like_an_option_stays_a_value() -> None:
    assert argv(_env(ENVIRONMENT="--force")) == ["--env=--force"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DRY_RUN", "yes", "dry-run: PROMOTE_INPUT_DRY_RUN is true or false, not 'yes'"),
        ("IMAGE", "ghcr.io/acme/web:1\x1b[2J", "image: PROMOTE_INPUT_IMAGE has no control"),
        ("TO", "production\nstaging", "to: PROMOTE_INPUT_TO has no control characters"),
        ("EXTRA_ARGS", "--base 'main", "extra-args: PROMOTE_INPUT_EXTRA_ARGS is options split"),
    ],
)
def test_a_bad_input_is_refused_naming_it(variable: str, value: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        argv({PREFIX + variable: value})
    assert str(caught.value).startswith(message)


def _promote(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "promoter", "ci-run"], env=base | env, cwd=cwd,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_ci_run_refuses_a_command_hidden_in_extra_args(tmp_path: Path) -> None:
    done = _promote(_env(EXTRA_ARGS="status"), tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "promote: error: extra-args: takes promote's options, not a command or argument "
        "('status')"
    )


def test_ci_run_exits_2_on_a_bad_flag_before_anything_runs(tmp_path: Path) -> None:
    done = _promote(_env(ALL="1", TO="production", CONFIG_REPO=str(tmp_path / "none")), tmp_path)
    assert done.returncode == 2
    assert "PROMOTE_INPUT_ALL is true or false" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def config_remote(tmp_path: Path) -> Path:
    from fakes.githttp import make_bare_repo

    source = ROOT / "promoter" / "demo_repo"
    files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*")
             if p.is_file()}  # fmt: skip
    return make_bare_repo(tmp_path / "srv", "config.git", files)


def _tip_files(remote: Path, *paths: str) -> list[str]:
    return [
        subprocess.run(
            ["git", "--git-dir", str(remote), "show", f"main:{path}"],
            capture_output=True, text=True, check=True,
        ).stdout
        for path in paths
    ]  # fmt: skip


def test_to_and_all_promote_what_the_source_runs_with_no_environment_or_image(
    tmp_path: Path, config_remote: Path
) -> None:
    """The scheduled staging → production promotion through the CI inputs alone."""
    work = tmp_path / "job"
    work.mkdir()
    staging, production = _tip_files(
        config_remote,
        "apps/web/overlays/staging/kustomization.yaml",
        "apps/web/overlays/production/kustomization.yaml",
    )
    def tag(text: str) -> str:
        found = re.search(r"newTag: \"?([\w.-]+)", text)
        assert found is not None
        return found.group(1)

    assert tag(staging) != tag(production)
    done = _promote(
        _env(TO="production", ALL="true", MODE="push", CONFIG_REPO=str(config_remote)), work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (after,) = _tip_files(config_remote, "apps/web/overlays/production/kustomization.yaml")
    assert tag(after) == tag(staging)


def test_the_catalog_release_pipeline_is_valid_gitlab_ci() -> None:
    from schemas import check_builtin

    check_builtin("vendor.gitlab-ci", ROOT / ".gitlab-ci.yml")
    text = (ROOT / ".gitlab-ci.yml").read_text()
    assert "python .ci/ci_files.py --check" in text
    assert "release:" in text
