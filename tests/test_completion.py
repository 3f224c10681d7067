"""`promote completion`: the script each shell loads, and the answers `promote` gives it.

The scripts run in the real shells where they exist, against the real entry point
(`python -m promoter`, as `promote` on PATH); the variable they call back with must be
the one `promoter.cli.main` has click read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import run

COMPLETE_VAR = "_PROMOTE_COMPLETE"


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `promote` on PATH that is this checkout's entry point (the scripts call it back)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    promote = bin_dir / "promote"
    promote.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m promoter "$@"\n')
    promote.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    return bin_dir


def bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def complete(
    monkeypatch: pytest.MonkeyPatch, instruction: str, words: str, cword: str
) -> list[str]:
    """What `promote` answers a shell's completion request (the lines it prints)."""
    monkeypatch.setenv(COMPLETE_VAR, instruction)
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", cword)
    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_completion_bash_script_registers_promote(on_path: Path) -> None:
    done = bash("source <(promote completion bash) && complete -p promote")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "complete -o nosort -F _promote_completion promote\n"
    assert done.stderr == ""  # no "Bash version not supported" warning


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("promote --ima", "1", ["--image"]),
        ("promote sta", "1", ["status"]),
        ("promote completion ", "2", ["bash", "zsh", "fish"]),
    ],
)
def test_completion_bash_completes_in_bash(
    on_path: Path, words: str, cword: str, expected: list[str]
) -> None:
    """The whole loop: bash runs the script's function, which runs `promote`."""
    done = bash(
        "source <(promote completion bash)\n"
        f"COMP_WORDS=({words}); COMP_CWORD={cword}\n"
        '_promote_completion promote\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_completion_entry_point_answers_bash(monkeypatch: pytest.MonkeyPatch) -> None:
    assert complete(monkeypatch, "bash_complete", "promote --ima", "1") == ["plain,--image"]
    assert complete(monkeypatch, "bash_complete", "promote sta", "1") == ["plain,status"]
    offered = complete(monkeypatch, "bash_complete", "promote ", "1")
    assert {"plain,status", "plain,bump", "plain,completion"} <= set(offered)


def test_completion_entry_point_answers_zsh_and_fish(monkeypatch: pytest.MonkeyPatch) -> None:
    zsh = complete(monkeypatch, "zsh_complete", "promote completion f", "2")
    assert zsh == ["plain", "fish", "_"]
    fish = complete(monkeypatch, "fish_complete", "promote --ima", "--ima")
    assert [line.split("\t")[0] for line in fish] == ["plain,--image"]  # then its help


@pytest.mark.parametrize(
    ("shell", "needles"),
    [
        ("zsh", ["#compdef promote\n", "compdef _promote_completion promote\n",
                 f"{COMPLETE_VAR}=zsh_complete promote"]),
        ("fish", ['complete --no-files --command promote --arguments "(_promote_completion)"',
                  f"env {COMPLETE_VAR}=fish_complete "]),
        ("bash", ["complete -o nosort -F _promote_completion promote\n",
                  f"{COMPLETE_VAR}=bash_complete $1"]),
    ],
)  # fmt: skip
def test_completion_script_for_each_shell(shell: str, needles: list[str], tmp_path: Path) -> None:
    done = run("completion", shell)
    assert done.returncode == 0, done.stderr
    for needle in needles:
        assert needle in done.stdout
    assert done.stdout.endswith("\n")
    assert not done.stdout.endswith("\n\n")
    if shell == "bash":
        return  # bash runs it above
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed: its script is not syntax-checked")
    script = tmp_path / f"promote.{shell}"
    script.write_text(done.stdout)
    checked = subprocess.run(
        [binary, "-n", str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_completion_zsh_script_registers_promote(on_path: Path) -> None:
    """As the help says: evaluated in ~/.zshrc after compinit (which defines `compdef`)."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed: its script is not run")
    script = 'autoload -Uz compinit && compinit -u\neval "$(promote completion zsh)"\n'
    done = subprocess.run(
        ["zsh", "-f", "-c", script + "print -r -- ${_comps[promote]}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "_promote_completion\n"
    assert done.stderr == ""


def test_completion_fish_completes_in_fish(on_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed: its completion is not run")
    script = (
        'promote completion fish | source\ncomplete -C "promote --ima"; complete -C "promote sta"'
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", script],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["--image", "status"]


def test_completion_unknown_shell_is_a_usage_error() -> None:
    done = run("completion", "tcsh")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "Usage: promote completion [OPTIONS] SHELL",
        "promote: error: Invalid value for 'SHELL': 'tcsh' is not one of 'bash', 'zsh', 'fish'.",
    ]


def test_completion_help_says_how_to_install() -> None:
    done = run("completion", "--help")
    assert done.returncode == 0, done.stderr
    assert 'eval "$(promote completion bash)"' in done.stdout
    assert "promote completion fish > ~/.config/fish/completions/promote.fish" in done.stdout
