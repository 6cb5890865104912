"""botkit's pytest plugin as a bot author meets it: a project of their own, no configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BOT = """
from botkit import Bot, Context, on


class Greeter(Bot):
    @on.text("hi")
    async def hello(self, ctx: Context) -> None:
        await ctx.reply("Hello! Pick one", buttons=["Tea", "Coffee"])

    @on.button("Tea", "Coffee")
    async def picked(self, ctx: Context) -> None:
        await ctx.reply(f"{ctx.text} it is")

    @on.text("boom")
    async def boom(self, ctx: Context) -> None:
        raise RuntimeError("the kettle broke")
"""

TESTS = """
from greeter import Greeter


async def test_greeting(bot_chat):
    chat = await bot_chat(Greeter, channel="sms", user="447700900001")
    (hello,) = await chat.say("hi")
    assert "1. Tea" in hello.text
    assert [r.text for r in await chat.tap("Coffee")] == ["Coffee it is"]
    assert [r.text for r in await chat.say("tea")] == ["Tea it is"]


async def test_boom(bot_chat):
    chat = await bot_chat(Greeter)
    await chat.say("boom")
"""


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "plugins",
    [(), ("-p", "no:aiohttp", "-p", "no:asyncio")],
    ids=["with-pytest-asyncio-strict", "without-any-asyncio-plugin"],
)
def test_an_author_project_needs_no_configuration(tmp_path: Path, plugins: tuple[str, ...]) -> None:
    (tmp_path / "greeter.py").write_text(BOT)
    (tmp_path / "test_greeter.py").write_text(TESTS)
    result = run_pytest(tmp_path, *plugins)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    # The handler's exception is raised at `await chat.say(...)`, with the handler's line.
    failure = result.stdout.split("test_boom", 1)[1]
    assert "greeter.py:16: RuntimeError" in failure
    assert 'raise RuntimeError("the kettle broke")' in failure
    assert 'await chat.say("boom")' in failure
