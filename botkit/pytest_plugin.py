"""The pytest plugin botkit installs (entry point ``pytest11``): the ``bot_chat`` fixture.

A conversation test needs nothing but ``pip install botkit``::

    from botkit.testing import BotChats
    from mybot import PizzaBot

    async def test_greeting(bot_chat: BotChats) -> None:
        chat = await bot_chat(PizzaBot, channel="whatsapp", user="447700900001")
        welcome, question = await chat.say("hi")
        assert question.buttons == ["Small", "Medium", "Large"]
        await chat.tap("Large")
        assert chat.state == "toppings"

- No credentials: the bot sends to a stand-in for the provider on loopback (real HTTP), which
  the chat reads replies from.
- No asyncio configuration: an ``async def`` test that uses ``bot_chat`` runs in an event loop
  of its own when no asyncio plugin claims it (with pytest-asyncio or pytest-aiohttp, theirs
  runs it); the bots run on a loop of their own either way.
- A handler that raises makes ``await chat.say(...)`` raise that exception, with the handler's
  traceback.
- The store is the embedded memory store, or Redis when ``REDIS_URL`` is set (under a key
  prefix of the test's own, deleted afterwards).
- The clock is fake: ``await chat.advance(hours=25)`` moves it forward at once (WhatsApp's
  window closes, due timers fire).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

from botkit.testing import BotChats


@pytest.fixture
def bot_chat() -> Iterator[BotChats]:
    """Make chats with a bot: ``chat = await bot_chat(MyBot, channel="sms", user="4477...")``
    (see :class:`botkit.testing.BotChat`). Every bot it started stops when the test ends."""
    chats = BotChats()
    try:
        yield chats
    finally:
        chats.close()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses ``bot_chat`` when no asyncio plugin took it (one that
    did has made the test function synchronous by now)."""
    function = pyfuncitem.obj
    if "bot_chat" not in pyfuncitem.fixturenames or not inspect.iscoroutinefunction(function):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(function(**arguments))
    return True
