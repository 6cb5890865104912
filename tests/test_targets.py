"""A bot target that cannot load says the fix, in one line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.cli import main
from botkit.errors import ConfigError
from botkit.targets import load_bot_class

TABLEBOT = """from botkit import Bot, Context, on


class TableBot(Bot):
    states = ("asked", "booked")

    @on.text(state="asked")
    async def book(self, ctx: Context) -> None:
        await ctx.reply("booked")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An author's folder, the current directory, holding ``tablebot.py``."""
    (tmp_path / "tablebot.py").write_text(TABLEBOT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOTKIT_DEBUG", raising=False)
    yield tmp_path
    for name in ("tablebot", "broken"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("tablebot.py:TableBot", "names a file; botkit wants the module: tablebot:TableBot"),
        ("tablebot:TabelBot", "no Bot subclass named 'TabelBot'; did you mean 'TableBot'?"),
        ("tablebot:Other", "no Bot subclass named 'Other'; its bots: TableBot"),
        ("tablbot:TableBot", "cannot import 'tablbot'.*; did you mean 'tablebot'?"),
    ],
)
def test_a_wrong_target_says_the_fix(project: Path, target: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_bot_class(target)


def test_a_definition_error_prints_one_line_unless_asked(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "broken.py").write_text(TABLEBOT.replace('state="asked")', 'state="askd")'))
    assert main(["graph", "broken:TableBot"]) == 2
    err = capsys.readouterr().err
    line, hint = err.splitlines()
    assert line.startswith(f"botkit: TableBot.book ({project / 'broken.py'}:7): ")
    assert "'askd'" in line
    assert "add --traceback" in hint
    sys.modules.pop("broken", None)
    assert main(["graph", "broken:TableBot", "--traceback"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "botkit/definition.py" in err
    sys.modules.pop("broken", None)
    monkeypatch.setenv("BOTKIT_DEBUG", "1")
    assert main(["graph", "broken:TableBot"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_an_error_raised_by_the_module_names_its_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "broken.py").write_text("import os\n\nLIMIT = int(os.environ['NO_SUCH'])\n")
    assert main(["graph", "broken:TableBot"]) == 2
    line = capsys.readouterr().err.splitlines()[0]
    assert line == f"botkit: {project / 'broken.py'}:3: KeyError: 'NO_SUCH'"
