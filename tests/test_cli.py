"""``botkit serve`` as an operator runs it: a real process, real sockets."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog

from botkit import Event, Notification
from botkit.cli import main
from botkit.errors import ConfigError
from botkit.store.redis import RedisStore
from botkit.targets import load_bot_class
from botkit.testing import ProviderStandIn
from tests.conftest import RedisServer, _free_port, basic
from tests.served import Served
from tests.test_server import now_iso

ROOT = Path(__file__).resolve().parent.parent


async def test_serve_echo_bot_answers_a_whatsapp_text(provider: ProviderStandIn) -> None:
    env = {
        "VONAGE_API_URL": provider.url,
        "VONAGE_API_KEY": "key123",
        "VONAGE_API_SECRET": "secret456",
        "LOG_FORMAT": "json",
    }
    async with Served("bots.echo:EchoBot", env) as served:
        webhook = {
            "channel": "whatsapp",
            "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
            "to": "447700900000",
            "from": "447700900001",
            "timestamp": now_iso(),
            "message_type": "text",
            "text": "hello there",
        }
        async with aiohttp.ClientSession() as session:
            url = f"{served.url}/webhooks/inbound"
            async with session.post(url, json=webhook) as response:
                assert response.status == 200
        (sent,) = await provider.wait_for(1)
        assert sent.text == "echo: hello there"
        assert sent.body["to"] == "447700900001"
        assert sent.body["from"] == "447700900000"
        assert sent.authorization == basic("key123", "secret456")
        await served.wait_for_line("reply sent")
    log = served.output
    assert "webhook accepted" in log
    assert "447700900001" not in log, "phone numbers must be masked in logs"


async def test_port_flag_beats_the_environment() -> None:
    port = _free_port()
    served = Served("bots.echo:EchoBot", {"PORT": "1"}, args=["--port", str(port)], port=port)
    url = f"http://127.0.0.1:{port}/healthz"
    async with served, aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200


def test_malformed_setting_stops_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    assert main(["serve", "bots.echo:EchoBot"]) == 2
    err = capsys.readouterr().err
    assert "PORT='eighty'" in err
    assert "integer" in err


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("bots.echo", "module:BotClass"),
        ("bots.nowhere:Bot", "cannot import"),
        ("bots.echo:Nope", "no Bot subclass"),
    ],
)
def test_bad_bot_target_says_what_to_do(target: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_bot_class(target)


def test_help_works_without_a_bot() -> None:
    """``python -m botkit --help`` works without a bot."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0


_STATEMENT = re.compile(
    r"""^(?:
        stateDiagram-v2
      | direction\ (?:LR|TB|RL|BT)
      | classDef\ \w+\ [\w:,#\-]+
      | state\ "(?P<label>[^"]+)"\ as\ (?P<decl>\w+)
      | class\ (?P<classed>\w+)\ \w+
      | (?P<src>\[\*\]|\w+)\ -->\ (?P<dst>\w+)(?::\ (?P<trigger>[\w\[\]\ ,()=]+))?
    )$""",
    re.X,
)


def parse_state_diagram(text: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Parse the Mermaid stateDiagram-v2 subset botkit emits; fail on any other line."""
    front, _, body = text.partition("---\n")[2].partition("---\n")
    assert front.strip(), "the diagram has a title block"
    states: set[str] = set()
    edges: set[tuple[str, str, str]] = set()
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _STATEMENT.match(line)
        assert match, f"not Mermaid stateDiagram-v2: {line!r}"
        if match["decl"]:
            states.add(match["decl"])
        if match["classed"]:
            assert match["classed"] in states, line
        if match["dst"]:
            assert match["dst"] in states, f"transition to an undeclared state: {line!r}"
            assert match["src"] == "[*]" or match["src"] in states, line
            edges.add((match["src"], match["dst"], match["trigger"] or ""))
    assert body.lstrip().startswith("stateDiagram-v2")
    return states, edges


def test_graph_prints_a_diagram_that_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "bots.pizza:PizzaBot", "--state", "toppings"]) == 0
    states, edges = parse_state_diagram(capsys.readouterr().out)
    from bots.pizza import PizzaBot

    assert states == set(PizzaBot.states)
    assert ("[*]", "greeting", "") in edges
    assert ("toppings", "address", "address") in edges
    assert ("confirm", "size", "size") in edges


# --- botkit notify --------------------------------------------------------------------------------


@pytest.fixture
def notify_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment with the bot's WhatsApp number and no store or server to reach; the
    logging the command configures is undone afterwards."""
    for name in ("REDIS_URL", "BOTKIT_API_URL", "BOTKIT_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOTKIT_ENV", "test")
    monkeypatch.setenv("VONAGE_WHATSAPP_NUMBER", "447700900000")
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    yield monkeypatch
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_notify_without_a_shared_store_or_a_server_says_what_to_set(
    notify_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "whatsapp", "447700900001", "order_shipped"]) == 2
    said = capsys.readouterr().err
    assert "REDIS_URL" in said
    assert "--url" in said
    assert "BOTKIT_API_TOKEN" in said


def test_notify_refuses_data_that_is_not_json(
    notify_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify", "whatsapp", "447700900001", "x", "--data", "{order: 1}"])
    assert code == 2
    assert "--data is not JSON" in capsys.readouterr().err


def test_notify_over_http_needs_the_token_and_a_server(
    notify_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    assert main(["notify", "whatsapp", "447700900001", "x", "--url", url]) == 2
    assert "BOTKIT_API_TOKEN is not set" in capsys.readouterr().err
    notify_env.setenv("BOTKIT_API_TOKEN", "a-token-nobody-serves-yet")
    assert main(["notify", "whatsapp", "447700900001", "x", "--url", url]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_notify_into_redis_records_once_and_names_a_bad_argument(
    notify_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    redis_prefix: str,
) -> None:
    notify_env.setenv("REDIS_URL", redis_server.url)
    notify_env.setenv("BOTKIT_REDIS_PREFIX", redis_prefix)
    args = ["notify", "whatsapp", "+44 7700 900001", "order_shipped", "--key", "order-9"]
    assert main([*args, "--data", '{"order": "9"}']) == 0
    assert capsys.readouterr().out.strip() == (
        "order_shipped for +44 7700 900001 on whatsapp: recorded; key order-9"
    )
    assert main(args) == 0
    assert "already recorded (a duplicate key)" in capsys.readouterr().out
    assert main(["notify", "whatsapp", "nobody", "order_shipped"]) == 2
    assert "invalid event: user: a WhatsApp recipient" in capsys.readouterr().err

    async def inbox() -> list[Event]:
        store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
        try:
            claim = await store.claim("whatsapp:447700900000:447700900001", owner="test")
        finally:
            await store.close()
        assert claim is not None
        return [claim.event] if claim.event is not None else []

    (event,) = asyncio.run(inbox())
    assert event.content == Notification(name="order_shipped", data={"order": "9"})
