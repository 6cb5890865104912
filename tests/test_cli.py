"""``botkit serve`` as an operator runs it: a real process, real sockets."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from botkit.cli import load_bot_class, main
from botkit.errors import ConfigError
from botkit.testing import ProviderStandIn
from tests.conftest import _free_port, basic
from tests.test_server import now_iso

ROOT = Path(__file__).resolve().parent.parent


async def wait_until_up(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError(f"botkit serve exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


async def test_serve_echo_bot_answers_a_whatsapp_text(provider: ProviderStandIn) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "BOTKIT_HOST": "127.0.0.1",
        "VONAGE_API_URL": provider.url,
        "VONAGE_API_KEY": "key123",
        "VONAGE_API_SECRET": "secret456",
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botkit",
        "serve",
        "bots.echo:EchoBot",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
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
            url = f"http://127.0.0.1:{port}/webhooks/inbound"
            async with session.post(url, json=webhook) as response:
                assert response.status == 200
        (sent,) = await provider.wait_for(1)
        assert sent.text == "echo: hello there"
        assert sent.body["to"] == "447700900001"
        assert sent.body["from"] == "447700900000"
        assert sent.authorization == basic("key123", "secret456")
    finally:
        process.terminate()
        output, _ = await process.communicate()
    log = output.decode()
    assert "webhook accepted" in log
    assert "447700900001" not in log, "phone numbers must be masked in logs"


async def test_port_flag_beats_the_environment(provider: ProviderStandIn) -> None:
    port = _free_port()
    env = {**os.environ, "PORT": "1", "BOTKIT_HOST": "127.0.0.1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botkit",
        "serve",
        "bots.echo:EchoBot",
        "--port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        process.terminate()
        await process.wait()


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
    assert ("toppings", "address", "toppings_chosen") in edges
    assert ("confirm", "size", "change") in edges
