"""`promote bump` and the error contract: one clear line, the right exit code, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KUSTOMIZATION = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\n"
    "kind: Kustomization\n"
    "images:\n"
    "  - name: ghcr.io/acme/web  # app\n"
    "    newTag: 1.4.1\n"
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promoter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("promote: error: ")
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def kustomization(tmp_path: Path) -> Path:
    path = tmp_path / "kustomization.yaml"
    path.write_text(KUSTOMIZATION)
    return path


def test_cli_bump_changes_only_the_tag(kustomization: Path) -> None:
    done = run("bump", str(kustomization), "--image", "ghcr.io/acme/web:1.4.2")
    assert done.returncode == 0, done.stderr
    assert kustomization.read_text() == KUSTOMIZATION.replace("1.4.1", "1.4.2")
    assert "/images/0/newTag: 1.4.1 → 1.4.2" in done.stdout


def test_cli_bump_json_output_reports_change(kustomization: Path) -> None:
    done = run("bump", str(kustomization), "--image", "ghcr.io/acme/web:1.10", "--output", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "changed"
    assert report["schema_version"] == 1
    assert report["changes"] == [
        {
            "file": str(kustomization),
            "line": 5,
            "pointer": "/images/0/newTag",
            "old": "1.4.1",
            "new": "1.10",
            "image": "ghcr.io/acme/web",
            "editor": "kustomize",
        }
    ]
    assert 'newTag: "1.10"' in kustomization.read_text()


def test_cli_bump_already_matching_is_unchanged_exit_0(kustomization: Path) -> None:
    done = run("bump", str(kustomization), "--image", "ghcr.io/acme/web:1.4.1", "--output", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["status"] == "unchanged"
    assert kustomization.read_text() == KUSTOMIZATION


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        ("ghcr.io/acme/Web:1.0", "bad path component 'Web'"),
        ("ghcr.io/acme/web:-bad", "bad tag '-bad'"),
        ("ghcr.io/acme/web@sha256:abc", "bad digest"),
        ("ghcr.io/acme/web", "has no tag or digest"),
        ("", "empty image reference"),
    ],
)
def test_cli_bump_invalid_ref_exit_2(kustomization: Path, ref: str, needle: str) -> None:
    done = run("bump", str(kustomization), "--image", ref)
    assert_one_line_error(done, 2, needle)
    assert kustomization.read_text() == KUSTOMIZATION


def test_cli_bump_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "values.yaml"
    content = "image:\n  repository: ghcr.io/acme/web\n  tag: [1.0\nother: x\n"
    broken.write_text(content)
    done = run("bump", str(broken), "--image", "ghcr.io/acme/web:2.0")
    assert_one_line_error(done, 2, f"{broken}:", "not valid YAML")
    assert broken.read_text() == content


def test_cli_bump_alias_bomb_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, 10):
        previous = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{previous}]")
    lines.append("images:\n- name: ghcr.io/acme/web\n  newTag: 1.0")
    bomb = tmp_path / "kustomization.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    before = bomb.read_bytes()
    done = run("bump", str(bomb), "--image", "ghcr.io/acme/web:2.0")
    assert_one_line_error(done, 2, "alias")
    assert bomb.read_bytes() == before


def test_cli_bump_no_reference_exit_2(kustomization: Path) -> None:
    done = run("bump", str(kustomization), "--image", "ghcr.io/acme/api:2.0")
    assert_one_line_error(done, 2, str(kustomization), "no reference to ghcr.io/acme/api")
    assert kustomization.read_text() == KUSTOMIZATION


def test_cli_bump_missing_file_exit_2(tmp_path: Path) -> None:
    done = run("bump", str(tmp_path / "nope.yaml"), "--image", "ghcr.io/acme/web:2.0")
    assert_one_line_error(done, 2, "nope.yaml", "file not found")


def test_cli_bump_skips_files_without_the_image(kustomization: Path, tmp_path: Path) -> None:
    """Several files: those without the image are skipped (issue 19), and the run fails
    only when none has it, writing nothing."""
    other = tmp_path / "other.yaml"
    other.write_text("unrelated: true\n")
    done = run("bump", str(other), str(kustomization), "--image", "ghcr.io/acme/web:2.0")
    assert done.returncode == 0, done.stderr
    assert kustomization.read_text() != KUSTOMIZATION
    assert "2.0" in kustomization.read_text()
    assert other.read_text() == "unrelated: true\n"
    none = run("bump", str(other), "--image", "ghcr.io/acme/web:3.0")
    assert_one_line_error(none, 2, "other.yaml")
    assert other.read_text() == "unrelated: true\n"


def test_cli_bump_json_error_object(kustomization: Path) -> None:
    done = run("bump", str(kustomization), "--image", "ghcr.io/acme/api:2.0", "--output", "json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["status"] == "error"
    assert report["error"]["exit_code"] == 2
    assert report["error"]["path"] == str(kustomization)


def test_cli_debug_shows_traceback(kustomization: Path) -> None:
    done = run("--debug", "bump", str(kustomization), "--image", "ghcr.io/acme/api:2.0")
    assert done.returncode == 2
    assert "Traceback" in done.stderr


def test_cli_sops_file_refused(tmp_path: Path) -> None:
    secret = tmp_path / "values.yaml"
    content = (
        "image:\n  repository: ghcr.io/acme/web\n  tag: ENC[AES256_GCM,data:abc]\n"
        "sops:\n  mac: ENC[AES256_GCM,data:xyz]\n  version: 3.8.1\n"
    )
    secret.write_text(content)
    done = run("bump", str(secret), "--image", "ghcr.io/acme/web:2.0")
    assert_one_line_error(done, 2, "SOPS")
    assert secret.read_text() == content


def test_cli_usage_error_exit_2(kustomization: Path) -> None:
    done = run("bump", str(kustomization))
    assert done.returncode == 2
    assert "--image" in done.stderr


def test_cli_help_lists_exit_codes() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "3  blocked by a policy" in done.stdout


FIXTURE_REPO = Path(__file__).resolve().parents[1] / "promoter" / "demo_repo"


def test_cli_validate_without_config_shows_discovery(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE_REPO, repo)
    (repo / "promoter.yaml").unlink()
    done = run("validate", "--config-repo", str(repo))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "no promoter.yaml: zero-config discovery applies "
        "(3 environments found: dev, staging, production)"
    )  # in promotion order, inferred from the names
    assert "  staging: apps/web/overlays/staging/kustomization.yaml, " in done.stdout
    assert "order: dev → staging → production" in done.stdout


def test_cli_validate_reads_a_bare_repository_at_its_branch_not_its_refs(tmp_path: Path) -> None:
    import shutil

    work = tmp_path / "work"
    shutil.copytree(FIXTURE_REPO, work)
    (work / "promoter.yaml").unlink()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=work, check=True)
    bare = tmp_path / "config.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "branch", "promote/production/web"], check=True)
    for target in (str(bare), f"file://{bare}"):
        done = run("validate", "--config-repo", target, "--output", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["schema_version"] == 1
        assert [e["name"] for e in report["environments"]] == ["dev", "staging", "production"]
        assert [e["from"] for e in report["environments"]] == [None, "dev", "staging"]
    done = run("validate", cwd=work)  # the current repository by default
    assert done.returncode == 0, done.stderr
    assert "3 environments found" in done.stdout


def test_cli_explain_text_names_settings_and_actions() -> None:
    done = run(
        "explain", "--config-repo", str(FIXTURE_REPO), "--env", "staging",
        "--image", "ghcr.io/acme/api:9.9.9",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "staging / ghcr.io/acme/api (promoter.yaml)" in done.stdout
    assert "would: edit charts/api/values-staging.yaml" in done.stdout


def test_cli_explain_refusal_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "overlays/dev").mkdir(parents=True)
    (tmp_path / "overlays/dev/kustomization.yaml").write_text("resources: []\n")
    done = run(
        "explain", "--config-repo", str(tmp_path), "--env", "dev",
        "--image", "ghcr.io/acme/web:1.0", "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)["explanations"]
    assert item["actions"] == []
    assert "no file of the repository references ghcr.io/acme/web" in item["refusal"]


def test_cli_explain_answers_where_the_run_refuses_with_what_it_found(tmp_path: Path) -> None:
    """The run refuses (the reference is in a SOPS file); explain still shows the entry
    point, the setting, the files it set aside and the refusal itself."""
    (tmp_path / "overlays/dev").mkdir(parents=True)
    (tmp_path / "overlays/dev/kustomization.yaml").write_text(
        "resources:\n  - slack.enc.yaml\n  - web.enc.yaml\n"
    )
    sops = "sops:\n  mac: ENC[AES256_GCM,data:m=,iv:i=,tag:t=,type:str]\n  version: 3.8.1\n"
    (tmp_path / "overlays/dev/web.enc.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "    - name: web\n      image: ghcr.io/acme/web:1.0\n" + sops
    )
    (tmp_path / "overlays/dev/slack.enc.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: slack\n"
        "data:\n  token: ENC[AES256_GCM,data:a=,iv:b=,tag:c=,type:str]\n" + sops
    )
    image = ("--image", "ghcr.io/acme/web:2.0")
    refused = run("--config-repo", str(tmp_path), "--env", "dev", *image, "--dry-run")
    assert refused.returncode == 2
    assert "overlays/dev/web.enc.yaml: refusing to edit a SOPS-encrypted file" in refused.stderr
    done = run("explain", "--config-repo", str(tmp_path), "--env", "dev", *image)
    assert done.returncode == 0, done.stderr
    assert "entry points: overlays/dev/kustomization.yaml" in done.stdout
    assert "refuses: overlays/dev/web.enc.yaml: refusing to edit a SOPS" in done.stdout
    assert "skipped: overlays/dev/slack.enc.yaml (SOPS-encrypted" in done.stdout


def test_cli_label_with_a_comma_is_exit_2_naming_the_option(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "promoter", "--config-repo", str(tmp_path), "--env", "dev",
         "--image", "ghcr.io/acme/web:1.5.0", "--label", "a,b"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "promote: error: --label: 'a,b': a label has no commas and no surrounding spaces"
    )


def test_cli_modes_are_configs() -> None:
    """`--mode`'s choices are promoter.yaml's modes (spelled twice so --help stays light)."""
    from promoter.cli.options import MODES
    from promoter.config import MODES as CONFIG_MODES

    assert tuple(MODES) == tuple(CONFIG_MODES)


def test_cli_read_commands_outside_a_repository_say_so(tmp_path: Path) -> None:
    """`--config-repo` defaults to the current directory; one that is no repository is
    one clear line, exit 2, not git's exit 128."""
    for args in (("status",), ("why", "--env", "prod", "--app", "web"), ("plan", "--to",
                 "prod", "--all")):  # fmt: skip
        done = run(*args, cwd=tmp_path)
        assert_one_line_error(done, 2, "is not a git repository", "--config-repo")
    done = run("status", "--config-repo", str(tmp_path / "missing"))
    assert_one_line_error(done, 2, "config repository not found")


def test_main_runs_with_the_run_collector_thresholds_and_restores_them() -> None:
    """A run collects cycles rarely (`RUN_GC_THRESHOLDS`: most of what it allocates lives
    until it ends); the caller's thresholds come back when `main` returns."""
    from promoter.cli import RUN_GC_THRESHOLDS

    code = (
        "import gc, json\n"
        "calls = []\n"
        "real = gc.set_threshold\n"
        "gc.set_threshold = lambda *a: (calls.append(list(a)), real(*a))\n"
        "gc.set_threshold(700, 10, 10)\n"
        "from promoter.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps([calls, list(gc.get_threshold())]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    calls, after = json.loads(done.stdout.splitlines()[-1])
    assert calls == [[700, 10, 10], list(RUN_GC_THRESHOLDS), [700, 10, 10]]
    assert after == [700, 10, 10]
