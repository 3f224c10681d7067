"""templates/promote.yml (the component `promote`): a valid CI/CD component whose job
script, run the way a shell runner runs it against the fake GitLab, promotes and writes the
dotenv report.

The job is executed here by interpolating the component's `$[[ inputs.x ]]` into its
variables, as GitLab does, and running `script:` in bash with those variables (fast, no
npm); `tests/test_gitlab_ci_local.py` runs the component through gitlab-ci-local too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.githttp import make_bare_repo
from fakes.gitlab import FakeGitLab
from ruamel.yaml import YAML
from schemas import check_builtin

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "promote.yml"
TOKEN = "glpat-template-token"


def _documents() -> tuple[dict[str, object], dict[str, object]]:
    header, jobs = TEMPLATE.read_text().split("\n---\n")
    return YAML(typ="safe").load(header), YAML(typ="safe").load(jobs)


@pytest.mark.parametrize("part", [0, 1], ids=["spec", "jobs"])
def test_template_validates_against_the_gitlab_ci_schema(part: int, tmp_path: Path) -> None:
    text = TEMPLATE.read_text().split("\n---\n")[part]
    path = tmp_path / "part.yml"
    path.write_text(text)
    check_builtin("vendor.gitlab-ci", path)


def test_template_scripts_use_variables_not_inputs() -> None:
    _, jobs = _documents()
    (job,) = jobs.values()
    assert isinstance(job, dict)
    for line in [*job["before_script"], *job["script"]]:
        assert "$[[" not in line, line


def _interpolate(value: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", lambda m: inputs[m.group(1)], value)


def _run_job(
    inputs: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    spec, jobs = _documents()
    declared = spec["spec"]["inputs"]  # type: ignore[index]
    given = {k: str(v.get("default", "")).lower() if isinstance(v.get("default"), bool)
             else str(v.get("default", "")) for k, v in declared.items()} | inputs  # fmt: skip
    (job,) = jobs.values()
    assert isinstance(job, dict)
    variables = {k: _interpolate(str(v), given) for k, v in job["variables"].items()}
    work = tmp_path / "job"
    work.mkdir()
    env = variables | {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "acme/web",
        "PROMOTER_TOKEN": TOKEN,
    }
    script = "\n".join(job["script"])
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    return done, work / "promote.env"


@pytest.mark.parametrize("no_clone", ["false", "true"])
def test_template_job_promotes_and_writes_the_dotenv_report(tmp_path: Path, no_clone: str) -> None:
    files = {
        p.relative_to(ROOT / "promoter" / "demo_repo").as_posix(): p.read_bytes()
        for p in (ROOT / "promoter" / "demo_repo").rglob("*")
        if p.is_file()
    }
    with FakeGitLab(tmp_path / "gl", token=TOKEN) as gitlab:
        gitlab.create_project("acme/config", files)
        inputs = {
            "environment": "production",
            "image": "ghcr.io/acme/web:1.5.0",
            "config-repo": gitlab.git_url("acme/config"),
            "api-url": gitlab.url,
            "labels": "urgent, team::sre",
            "no-clone": no_clone,
            "extra-args": "--forge gitlab",
        }
        done, report = _run_job(inputs, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "section_start:" in done.stdout
        assert "section_end:" in done.stdout
        values = dict(line.split("=", 1) for line in report.read_text().splitlines())
        assert values["PROMOTE_STATUS"] == "changed"
        assert values["PROMOTE_OPERATION"] == "created"
        assert values["PROMOTE_MR_IID"] == "1"
        (request,) = gitlab.open_requests("acme/config")
        assert request.labels == ["promotion", "production", "urgent", "team::sre"]
        git_used = gitlab.git_requests_count() > 0
        assert git_used is (no_clone == "false")
        assert values["PROMOTE_MR_URL"].endswith("/acme/config/-/merge_requests/1")
        assert len(values["PROMOTE_COMMIT_SHA"]) == 40
        assert len(report.read_bytes()) < 5 * 1024
        assert TOKEN not in done.stdout + done.stderr + report.read_text()


def test_template_job_fails_with_promoters_exit_code(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path / "srv", "config.git", {"README.md": b"x\n"})
    done, _ = _run_job(
        {"environment": "staging", "image": "not a reference", "config-repo": str(bare)},
        tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "section_end:" in done.stdout  # the section closes even on failure
