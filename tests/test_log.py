"""Logs hide the user: numbers masked, message texts hidden above debug level, in botkit's own
lines, in tracebacks and in aiohttp's own lines, checked on a real ``botkit serve``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import textwrap
from pathlib import Path

import aiohttp
import structlog

from botkit.log import configure_logging, get_logger, private
from botkit.masking import mask_text
from botkit.testing import ProviderStandIn
from tests.served import Served
from tests.test_server import now_iso

NUMBER = "447700900001"
SECRET = "my card is 4929 secret"

FAILING_BOT = textwrap.dedent(
    """
    from botkit import Bot, Context, on

    class FailingBot(Bot):
        @on.text()
        async def fail(self, ctx: Context) -> None:
            raise RuntimeError(f"cannot handle {ctx.event.user} saying {ctx.text!r}")
    """
)


async def test_a_failing_handler_and_aiohttp_errors_leak_neither_number_nor_text(
    tmp_path: Path, provider: ProviderStandIn
) -> None:
    (tmp_path / "failing_bot.py").write_text(FAILING_BOT)
    env = {"BOTKIT_ENV": "test", "VONAGE_API_URL": provider.url, "LOG_LEVEL": "info"}
    async with Served("failing_bot:FailingBot", env, pythonpath=tmp_path) as served:
        webhook = {
            "channel": "whatsapp",
            "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
            "to": "447700900000",
            "from": NUMBER,
            "timestamp": now_iso(),
            "message_type": "text",
            "text": SECRET,
        }
        async with aiohttp.ClientSession() as session:
            url = f"{served.url}/webhooks/inbound"
            async with session.post(url, json=webhook) as response:
                assert response.status == 200
        await served.wait_for_line("Traceback")
        await served.wait_for_line("RuntimeError: cannot handle")
        # A request line aiohttp cannot parse: it logs the raw query string it choked on.
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        query = f"msisdn={NUMBER}&text={SECRET}"
        writer.write(f"GET /webhooks/sms/inbound?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        assert (await reader.readline()).startswith((b"HTTP/1.0 400", b"HTTP/1.1 400"))
        writer.close()
        await served.wait_for_line("Error handling request")
    log = served.output
    assert "handler failed" in log
    assert NUMBER not in log, log
    assert "secret" not in log, log
    assert "44********01" in log


def _configured(level: str = "info", fmt: str = "json") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level=level, fmt=fmt, stream=stream)
    return stream


def test_texts_show_at_debug_level_only() -> None:
    stream = _configured(level="debug")
    log = get_logger("test")
    with private([SECRET]):
        log.debug("what the user wrote", text=SECRET)
        log.info("handled", detail=f"the user said {SECRET}")
    debug, info = (json.loads(line) for line in stream.getvalue().splitlines())
    assert debug["text"] == SECRET
    assert info["detail"] == "the user said [redacted]"
    structlog.reset_defaults()


def test_cached_loggers_hide_the_words_of_each_message_they_log() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream, cache_loggers=True)
    log = get_logger("cached")
    for words in ("first secret", "second secret"):
        with private([words]):
            log.info("handled", detail=f"{NUMBER} said {words}")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["detail"] for line in lines] == ["44********01 said [redacted]"] * 2
    structlog.reset_defaults()


def test_standard_library_lines_are_masked_after_their_traceback_is_rendered() -> None:
    stream = _configured()
    try:
        raise ValueError(f"bad {NUMBER}")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("failed on /x?text=hello+world")
    (line,) = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "text=[redacted]" in line["event"]
    assert "ValueError: bad 44********01" in line["exception"]
    structlog.reset_defaults()


def test_a_repeated_standard_library_line_is_logged_once_per_interval() -> None:
    stream = _configured()
    for _ in range(10_000):
        logging.getLogger("asyncio").error("socket.accept() out of system resource")
    assert len(stream.getvalue().splitlines()) == 1
    structlog.reset_defaults()


def test_mask_text_hides_query_json_and_private_words() -> None:
    assert mask_text("GET /x?msisdn=447700900001&text=hi+there&type=text") == (
        "GET /x?msisdn=44********01&text=[redacted]&type=text"
    )
    assert mask_text('{"text": "hi \\"there\\"", "to": "447700900001"}') == (
        '{"text": "[redacted]", "to": "44********01"}'
    )
    assert mask_text("the user said pineapple", ["pineapple", "hi"]) == ("the user said [redacted]")
    assert mask_text("call 447700900001", numbers=False) == "call 447700900001"
    assert mask_text("uuid aaaaaaaa-1234-4ccc-8ddd-0123456789ab") == (
        "uuid aaaaaaaa-1234-4ccc-8ddd-0123456789ab"
    )
