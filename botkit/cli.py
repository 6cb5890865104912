"""The ``botkit`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
from collections.abc import Sequence

import aiohttp

from botkit.connections import run_server
from botkit.devserver import DevServer
from botkit.errors import ConfigError
from botkit.events import Channel
from botkit.log import configure_logging, get_logger
from botkit.server import create_app
from botkit.settings import load_settings
from botkit.targets import load_bot_class
from botkit.terminal import TerminalChat

log = get_logger("botkit.cli")


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    configure_logging(
        level=settings.log_level, fmt=settings.effective_log_format, mask=settings.log_mask_numbers
    )
    bot_class = load_bot_class(args.bot)
    app = create_app(settings, bot_class())
    log.info(
        "serving",
        bot=args.bot,
        url=f"http://{settings.host}:{settings.port}",
        env=settings.env,
        vonage_api_url=settings.vonage_api_url,
    )
    run_server(app, settings)
    return 0


def _dev(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(
        level=settings.log_level, fmt=settings.effective_log_format, mask=settings.log_mask_numbers
    )

    async def run() -> None:
        server = DevServer(
            args.bot, settings, host=args.host, port=args.port, sandbox_port=args.sandbox_port
        )
        await server.start()
        store = "Redis at REDIS_URL" if settings.redis_url else "the embedded memory store"
        print(
            f"\n  botkit dev: {args.bot} with a local sandbox playing Vonage\n\n"
            f"  Chat with your bot:   {server.chat_url}\n"
            f"  Inspector:            {server.inspector_url}\n"
            f"  Bot webhooks:         {server.bot_url}/webhooks/inbound\n"
            f"  Conversations live in {store}; the bot reloads when its file changes.\n"
            "  Press Ctrl+C to stop.\n",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _chat(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(level="error", fmt="console", mask=settings.log_mask_numbers)
    channel = Channel(args.channel)

    async def run() -> None:
        server = DevServer(
            args.bot,
            settings,
            port=_free_port(),
            sandbox_port=_free_port(),
            delays=(0.0, 0.05, 0.2),
        )
        await server.start(watch=False)
        chat = TerminalChat(server, channel, args.user, sys.stdout)
        chat.say(f"Chatting with {args.bot} on {channel.value} as {args.user}. /quit to leave.")
        try:
            async with aiohttp.ClientSession() as session:
                await chat.run(session)
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _graph(args: argparse.Namespace) -> int:
    bot_class = load_bot_class(args.bot)
    print(bot_class.mermaid(current=args.state), end="")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botkit", description="Conversational bots on WhatsApp, Messenger, Viber and SMS."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the webhook server for a bot")
    serve.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.echo:EchoBot)")
    serve.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: $PORT, else 8080)"
    )
    serve.set_defaults(run=_serve)
    dev = commands.add_parser(
        "dev", help="run a bot with a local sandbox that plays Vonage, a web chat and an inspector"
    )
    dev.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.pizza:PizzaBot)")
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=8080, help="the bot's port (default 8080)")
    dev.add_argument(
        "--sandbox-port", type=int, default=8090, help="the sandbox's port (default 8090)"
    )
    dev.set_defaults(run=_dev)
    chat = commands.add_parser("chat", help="chat with a bot from the terminal, over the sandbox")
    chat.add_argument("bot", help="the bot class, as module:BotClass")
    chat.add_argument(
        "--channel", default="whatsapp", choices=[c.value for c in Channel], help="the channel"
    )
    chat.add_argument("--user", default="447700900001", help="the user's number or PSID")
    chat.set_defaults(run=_chat)
    graph = commands.add_parser(
        "graph", help="print a bot's state machine as a Mermaid stateDiagram-v2"
    )
    graph.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.pizza:PizzaBot)")
    graph.add_argument("--state", default=None, help="highlight this state")
    graph.set_defaults(run=_graph)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"botkit: {exc}", file=sys.stderr)
        return 2
    return code
