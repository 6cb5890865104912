"""The project's own promises: lint and types are clean, the README's commands are the real ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    result = _run(str(BIN / "ruff"), "check", "botkit", "bots", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run(str(BIN / "ruff"), "format", "--check", "botkit", "bots", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    """botkit, its tests and the example bots (the files pyproject.toml gives mypy)."""
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:sh|bash|console)\n(.*?)```", readme, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    blocks = _readme_commands()
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci, f"README's test command is not what .ci/run runs: {test_command}"


def test_procfile_serves_a_bot_that_exists() -> None:
    procfile = (ROOT / "Procfile").read_text()
    target = re.search(r"^web: (?:\w+=\S+ )*botkit \w+ (\S+)", procfile, flags=re.M)
    assert target, procfile
    from botkit.targets import load_bot_class

    load_bot_class(target.group(1))


def test_procfile_runs_in_production_unless_told_otherwise() -> None:
    procfile = (ROOT / "Procfile").read_text()
    command = re.search(r"^web: (.*)$", procfile, flags=re.M)
    assert command, procfile
    # The shell the platform runs the line with, the server swapped for a look at the setting.
    line = re.sub(r"botkit serve .*", "printenv BOTKIT_ENV", command.group(1))
    shown = subprocess.run(["bash", "-c", line], env={}, capture_output=True, text=True)
    assert shown.stdout.strip() == "production"
    staging = {"BOTKIT_ENV": "test"}
    shown = subprocess.run(["bash", "-c", line], env=staging, capture_output=True, text=True)
    assert shown.stdout.strip() == "test"
