"""``botkit init NAME``: a new bot project whose test passes and whose ``botkit dev`` runs.

The folder holds the bot (``bot.py``), its test, ``pyproject.toml`` (botkit as the dependency,
pytest for the tests, mypy set to catch a missing ``await``), a ``Procfile``, a ``README.md``
and ``.env.example`` with the settings a deployment needs.
"""

from __future__ import annotations

import json
import keyword
import re
from importlib import metadata
from pathlib import Path

from botkit.errors import ConfigError

BOT = '''"""{cls}: greets the user, offers a choice, and answers a shared location."""

from pydantic import BaseModel

from botkit import Bot, ButtonReply, Context, Location, on


class Visit(BaseModel):
    topic: str | None = None


class {cls}(Bot[Visit]):
    """Say hi, pick a topic (tap it, or type its name or number), then share a location."""

    states = ("start", "chosen")
    transitions = (["choose", "start", "chosen"], ["restart", "*", "start"])

    @on.text("restart", then="restart")
    async def restart(self, ctx: Context[Visit]) -> None:
        ctx.data = Visit()
        await ctx.reply("Starting over. Say hi!")

    @on.button("news", "help", state="start", then="choose")
    async def chose(self, ctx: Context[Visit], picked: ButtonReply) -> None:
        ctx.data.topic = picked.id
        await ctx.reply(f"{{ctx.text}} it is. Share your location and I will say where you are.")

    @on.message(state="start")
    async def greet(self, ctx: Context[Visit]) -> None:
        await ctx.reply("Hello! What brings you?", buttons=[("news", "News"), ("help", "Help")])

    @on.message(state="chosen")
    async def located(self, ctx: Context[Visit], where: Location) -> None:
        await ctx.reply(f"You are at {{where.lat:.3f}}, {{where.long:.3f}}. Say 'restart' anytime.")

    @on.fallback()
    async def unclear(self, ctx: Context[Visit]) -> None:
        await ctx.reply("Sorry, I did not get that. Say 'restart' to begin again.")
'''

TEST = """from bot import {cls}


async def test_a_visit(bot_chat):
    chat = await bot_chat({cls}, channel="whatsapp", user="447700900001")
    assert (await chat.say("hi"))[0].buttons == ["News", "Help"]
    await chat.tap("Help")
    (where,) = await chat.share_location(51.5, -0.12)
    assert where.text.startswith("You are at 51.500, -0.120.") and chat.data.topic == "help"
"""

PYPROJECT = """[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependency}]

[project.optional-dependencies]
test = ["pytest>=8", "mypy>=1.10"]

[tool.setuptools]
py-modules = ["bot"]

[tool.mypy]
strict = true
enable_error_code = ["unused-awaitable"]
plugins = ["pydantic.mypy"]
files = ["bot.py"]
"""

PROCFILE = "web: botkit serve bot:{cls}\n"

ENV_EXAMPLE = """# What `botkit serve` reads from the environment (your platform's config vars, or
# `set -a; . ./.env; set +a` locally); `botkit dev` and the tests need none of it.
# The Vonage application that owns your numbers (dashboard.nexmo.com):
VONAGE_API_KEY=
VONAGE_API_SECRET=
VONAGE_APPLICATION_ID=
VONAGE_PRIVATE_KEY=private.key
# Signs the webhooks Vonage posts to you: set it, or anyone can post events as Vonage.
VONAGE_SIGNATURE_SECRET=
# The bot's own numbers and ids, one per channel it writes first on:
VONAGE_WHATSAPP_NUMBER=
VONAGE_SMS_FROM=
VONAGE_MESSENGER_PAGE_ID=
VONAGE_VIBER_SERVICE_ID=
# Conversations live in Redis when this is set (several processes share it), else in memory.
REDIS_URL=
"""

README = """# {name}

A conversational bot made with [botkit](https://github.com/botkit/botkit): `bot.py` holds
`{cls}`, `test_bot.py` its test.

```sh
python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'
.venv/bin/pytest                         # the test: no Vonage account, no Redis needed
.venv/bin/botkit dev bot:{cls}           # chat with it in the browser (the printed link)
.venv/bin/mypy                           # types, and a forgotten `await ctx.reply(...)`
```

To serve it for real, set the variables `.env.example` lists in the environment and run
`botkit serve bot:{cls}` (the `Procfile` does, on Heroku-like platforms). Point your Vonage
application's inbound and status webhooks at `https://<your host>/webhooks/inbound` and
`/webhooks/status`.
"""

GITIGNORE = ".venv/\n.env\n__pycache__/\n*.key\n"


def class_name(name: str) -> str:
    """The bot class a project called ``name`` gets: ``table-bot`` and ``tablebot`` give
    ``TableBot``, ``pizza`` gives ``PizzaBot``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    base = "".join(w[:1].upper() + w[1:] for w in words)
    if base.lower().endswith("bot"):
        base = base[:-3]
    if not base or not base[0].isalpha():
        base = "My" + base
    return base + "Bot"


def botkit_requirement() -> str:
    """How the new project depends on botkit: the folder or URL this botkit was installed
    from when it was not installed from an index, else ``botkit``."""
    try:
        found = metadata.distribution("botkit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        found = None
    url = json.loads(found).get("url") if found else None
    return f"botkit @ {url}" if url else "botkit"


def create_project(name: str, parent: Path) -> Path:
    """Create the project folder ``parent/name``; return it. Raises :class:`ConfigError` when
    the name cannot be a project's or the folder exists."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", name) or keyword.iskeyword(name):
        raise ConfigError(
            f"{name!r} cannot name a project: use letters, digits, '-', '_' or '.', starting "
            "with a letter (for example tablebot)"
        )
    folder = parent / name
    if folder.exists():
        raise ConfigError(f"{folder} already exists: pick another name, or remove it first")
    cls = class_name(name)
    files = {
        "bot.py": BOT.format(cls=cls),
        "test_bot.py": TEST.format(cls=cls),
        "pyproject.toml": PYPROJECT.format(name=name, dependency=json.dumps(botkit_requirement())),
        "Procfile": PROCFILE.format(cls=cls),
        "README.md": README.format(name=name, cls=cls),
        ".env.example": ENV_EXAMPLE,
        ".gitignore": GITIGNORE,
    }
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder
