"""``botkit init``: a new project whose test passes and whose ``botkit dev`` answers, from a
fresh virtual environment, and which mypy checks against botkit (a missing ``await`` found)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from botkit.cli import main
from botkit.errors import ConfigError
from botkit.scaffold import class_name, create_project
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("tablebot", "TableBot"),
        ("table-bot", "TableBot"),
        ("pizza", "PizzaBot"),
        ("my_bot", "MyBot"),
    ],
)
def test_the_class_is_named_for_the_project(name: str, cls: str) -> None:
    assert class_name(name) == cls


def test_init_creates_the_project_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "tablebot"]) == 0
    files = {p.name for p in (tmp_path / "tablebot").iterdir()}
    assert files == {
        "bot.py", "test_bot.py", "pyproject.toml", "Procfile", "README.md", ".env.example",
        ".gitignore",
    }  # fmt: skip
    assert "botkit dev bot:TableBot" in capsys.readouterr().out
    assert (tmp_path / "tablebot" / "Procfile").read_text() == "web: botkit serve bot:TableBot\n"
    assert main(["init", "tablebot"]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="cannot name a project"):
        create_project("../elsewhere", tmp_path)


def test_the_new_project_s_test_passes(tmp_path: Path) -> None:
    folder = create_project("tablebot", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    assert len((folder / "test_bot.py").read_text().strip().splitlines()) < 10


# --- from a fresh virtual environment, as an author starts -----------------------------------


def copy_of_the_repository(into: Path) -> Path:
    """The repository's tracked files (what a clone has), so installing builds nothing here."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, **env}
    )
    assert result.returncode == 0, f"{cmd}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A new virtual environment with botkit installed from a copy of this repository, as the
    new project's README says; and the folder it runs in. pip's cache makes it quick."""
    base = tmp_path_factory.mktemp("author")
    source = copy_of_the_repository(base / "botkit-src")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], base)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(source)], base)
    return venv, base


@pytest.mark.slow
async def test_a_fresh_project_passes_its_test_and_answers_in_botkit_dev(
    fresh_venv: tuple[Path, Path],
) -> None:
    venv, base = fresh_venv
    bin_ = venv / "bin"
    _run([str(bin_ / "botkit"), "init", "tablebot"], base)
    project = base / "tablebot"
    _run([str(bin_ / "pip"), "install", "-q", "-e", ".[test]"], project)
    result = _run([str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider"], project)
    assert "1 passed" in result.stdout

    port, sandbox_port = _free_port(), _free_port()
    process = await asyncio.create_subprocess_exec(
        str(bin_ / "botkit"), "dev", "bot:TableBot", "--port", str(port),
        "--sandbox-port", str(sandbox_port),
        cwd=project, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        chat_url = await asyncio.wait_for(_printed_chat_url(process.stdout), 60)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(chat_url) as page:
                assert page.status == 200
            sandbox = f"http://127.0.0.1:{sandbox_port}"
            async with session.get(f"{sandbox}/_sandbox/events?since=0") as feed:
                url = f"{sandbox}/_sandbox/users/whatsapp/447700900001/messages"
                async with session.post(url, json={"text": "hi"}) as sent:
                    assert sent.status == 201
                line = b""
                while b"What brings you?" not in line:
                    line = await asyncio.wait_for(feed.content.readline(), 30)
    finally:
        process.terminate()
        await process.wait()


async def _printed_chat_url(stdout: asyncio.StreamReader) -> str:
    while True:
        line = (await stdout.readline()).decode()
        assert line, "botkit dev ended before it printed its chat link"
        found = re.search(r"Chat with your bot:\s+(\S+)", line)
        if found:
            return found.group(1)


MISSING_AWAIT = """

class Forgetful(TableBot):
    @on.text("again")
    async def again(self, ctx: Context[Visit]) -> None:
        ctx.reply("no await")
"""


@pytest.mark.slow
@pytest.mark.parametrize("editable", [False, True], ids=["install", "editable-install"])
def test_mypy_sees_botkit_in_an_author_s_project(
    fresh_venv: tuple[Path, Path], tmp_path: Path, editable: bool
) -> None:
    venv, base = fresh_venv
    if editable:  # the repository's README: pip install -e . in a clone
        venv = tmp_path / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
        _run([str(venv / "bin" / "pip"), "install", "-q", "-e", str(base / "botkit-src")], tmp_path)
    _run([str(venv / "bin" / "pip"), "install", "-q", "mypy"], tmp_path)
    project = create_project("typed", tmp_path)
    result = _run([str(venv / "bin" / "mypy")], project)
    assert "Success: no issues found" in result.stdout
    bot = project / "bot.py"
    bot.write_text(bot.read_text() + MISSING_AWAIT)
    found = subprocess.run(
        [str(venv / "bin" / "mypy")], cwd=project, capture_output=True, text=True, timeout=600
    )
    assert found.returncode == 1, found.stdout
    assert re.search(r"bot\.py:\d+: error: Value of type .* must be used", found.stdout)
    assert "[unused-awaitable]" in found.stdout
