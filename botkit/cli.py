"""The ``botkit`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from botkit.account import add_commands as add_vonage_commands
from botkit.connections import run_server
from botkit.devserver import DevServer
from botkit.errors import ConfigError, InvalidPayload
from botkit.eventloop import loop_kind
from botkit.events import Channel
from botkit.log import configure_logging, get_logger
from botkit.notifications import Notifier
from botkit.sandbox.credentials import SandboxCredentials
from botkit.sandbox.gateway import MESSAGES_BASE as GATEWAY_MESSAGES_BASE
from botkit.sandbox.gateway import TOKEN_PATH as GATEWAY_TOKEN_PATH
from botkit.scaffold import class_name, create_project
from botkit.server import EVENTS_PATH, create_app, drain
from botkit.settings import Settings, load_settings
from botkit.store.base import StoreUnavailable
from botkit.targets import BotLoadError, load_bot_class
from botkit.terminal import TerminalChat

log = get_logger("botkit.cli")


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    configure_logging(
        level=settings.log_level,
        fmt=settings.effective_log_format,
        mask=settings.log_mask_numbers,
        cache_loggers=True,
    )
    bot_class = load_bot_class(args.bot)
    app = create_app(settings, bot_class())

    def serving() -> None:
        log.info(
            "serving",
            bot=args.bot,
            url=f"http://{settings.host}:{settings.port}",
            env=settings.env,
            vonage_api_url=settings.vonage_api_url,
            event_loop=loop_kind(asyncio.get_running_loop()),
        )

    run_server(app, settings, drain=lambda: drain(app), serving=serving)
    return 0


def _dev(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(
        level=settings.log_level, fmt=settings.effective_log_format, mask=settings.log_mask_numbers
    )

    async def run() -> None:
        credentials = SandboxCredentials.fresh(
            api_secret=args.api_secret, signature_secret=args.signature_secret
        )
        server = DevServer(
            args.bot,
            settings,
            host=args.host,
            port=args.port,
            sandbox_port=args.sandbox_port,
            credentials=credentials,
            gateway=args.gateway,
        )
        await server.start()
        store = "Redis at REDIS_URL" if settings.redis_url else "the embedded memory store"
        print(
            f"\n  botkit dev: {args.bot} with a local sandbox playing Vonage\n\n"
            f"  Chat with your bot:   {server.chat_url}\n"
            f"  Inspector:            {server.inspector_url}\n"
            f"  Bot webhooks:         {server.bot_url}/webhooks/inbound\n"
            f"  Conversations live in {store}; the bot reloads when its file changes.\n\n"
            "  The sandbox answers curl, Postman and Vonage's SDKs as Vonage would:\n"
            f"  API base URL:         {server.sandbox_url}  "
            "(/v1/messages, /sms/json, /v2/applications, /account/numbers;\n"
            f"                        botkit vonage --api-url {server.sandbox_url} ...)\n"
            f"  API key:              {credentials.api_key}\n"
            f"  API secret:           {credentials.api_secret}\n"
            f"  Signature secret:     {credentials.signature_secret}  (checks signed webhooks)\n"
            f"  Application id:       {credentials.application_id}\n"
            f"  Private key:          {server.private_key_path}\n"
            f"{_gateway_lines(server)}\n"
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


def _gateway_lines(server: DevServer) -> str:
    if server.gateway == "vonage":
        return ""
    return (
        "\n  The bot sends through the sandbox playing KPN's API Store (VONAGE_GATEWAY=kpn):\n"
        f"  Gateway URL:          {server.sandbox_url}{GATEWAY_MESSAGES_BASE}\n"
        f"  Token URL:            {server.sandbox_url}{GATEWAY_TOKEN_PATH}  "
        "(client id and secret: the API key and secret)\n"
    )


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
        chat.say(
            f"Chatting with {args.bot} on {channel.value} as {args.user}. "
            "/help lists the commands, /quit to leave."
        )
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


class _Refused(Exception):
    """``botkit notify`` could not record the event; the message says why and the fix."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _notify(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(level="error", fmt="console", mask=settings.log_mask_numbers)
    try:
        data = json.loads(args.data) if args.data is not None else None
    except ValueError as exc:
        print(f"botkit notify: --data is not JSON ({exc}); give an object, such as "
              """'{"order": "123"}'""", file=sys.stderr)  # fmt: skip
        return 2
    url = args.url or settings.api_url
    try:
        if url:
            answer = asyncio.run(_notify_over_http(url, settings, args, data))
        elif settings.redis_url:
            answer = asyncio.run(_notify_in_store(settings, args, data))
        else:
            raise _Refused(
                "nothing to notify through: without REDIS_URL the server keeps conversations in "
                "its own process's memory, which no other process can reach. Set REDIS_URL to "
                "the server's Redis, or post to the running server with --url http://HOST:PORT "
                "(or BOTKIT_API_URL) and BOTKIT_API_TOKEN set to its token",
                code=2,
            )
    except _Refused as exc:
        print(f"botkit notify: {exc}", file=sys.stderr)
        return exc.code
    word = "recorded" if answer["status"] == "accepted" else "already recorded (a duplicate key)"
    print(f"{args.name} for {args.user} on {args.channel}: {word}; key {answer['key']}")
    return 0


async def _notify_in_store(
    settings: Settings, args: argparse.Namespace, data: Any
) -> dict[str, str]:
    bot = load_bot_class(args.bot) if args.bot else None
    try:
        async with Notifier.from_settings(settings, bot=bot) as notifier:
            done = await notifier.notify(
                args.channel, args.user, args.name, data=data, key=args.key
            )
    except InvalidPayload as exc:
        raise _Refused(_problems(exc.problems), code=2) from None
    except StoreUnavailable as exc:
        raise _Refused(f"{exc}; nothing was recorded: run it again once Redis answers") from None
    return {"status": "duplicate" if done.duplicate else "accepted", "key": done.key}


async def _notify_over_http(
    url: str, settings: Settings, args: argparse.Namespace, data: Any
) -> dict[str, str]:
    if settings.api_token is None:
        raise _Refused(
            "BOTKIT_API_TOKEN is not set: set it to the token the server at "
            f"{url} was started with",
            code=2,
        )
    body: dict[str, Any] = {"channel": args.channel, "user": args.user, "name": args.name}
    if data is not None:
        body["data"] = data
    if args.key is not None:
        body["key"] = args.key
    headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.post(url.rstrip("/") + EVENTS_PATH, json=body, headers=headers) as response,
        ):
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _Refused(
            f"cannot reach {url} ({type(exc).__name__}: {exc}); is botkit serve running there?"
        ) from None
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {}
    if status == 202 and isinstance(answer, dict):
        return {"status": str(answer.get("status")), "key": str(answer.get("key"))}
    if status == 404:
        raise _Refused(
            f"{url} serves no events API: start the server with BOTKIT_API_TOKEN set", code=2
        )
    if status == 401:
        raise _Refused(f"{url} refused the token: BOTKIT_API_TOKEN differs from the server's")
    if status == 400 and isinstance(answer, dict) and isinstance(answer.get("problems"), list):
        found = [
            f"{p.get('field')}: {p.get('expected')}"
            for p in answer["problems"]
            if isinstance(p, dict)
        ]
        raise _Refused("invalid event: " + "; ".join(found), code=2)
    message = answer.get("message") if isinstance(answer, dict) else None
    raise _Refused(f"{url} answered {status}: {message or text[:200]}")


def _problems(problems: Sequence[Any]) -> str:
    return "invalid event: " + "; ".join(str(p) for p in problems)


def _init(args: argparse.Namespace) -> int:
    folder = create_project(args.name, Path.cwd())
    cls = class_name(args.name)
    print(
        f"Created {folder}: bot.py ({cls}), test_bot.py, pyproject.toml, Procfile, README.md, "
        f".env.example.\n\n"
        f"  cd {args.name}\n"
        f"  python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'\n"
        f"  .venv/bin/pytest\n"
        f"  .venv/bin/botkit dev bot:{cls}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    # Every command takes --traceback, before or after its name.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--traceback",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error in the bot's module (or set BOTKIT_DEBUG=1)",
    )
    parser = argparse.ArgumentParser(
        prog="botkit",
        description="Conversational bots on WhatsApp, Messenger, Viber and SMS.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser(
        "init", parents=[common], help="create a new bot project: bot, test, pyproject, Procfile"
    )
    init.add_argument("name", help="the project's folder, created here (e.g. tablebot)")
    init.set_defaults(run=_init)
    serve = commands.add_parser("serve", parents=[common], help="run the webhook server for a bot")
    serve.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.echo:EchoBot)")
    serve.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: $PORT, else 8080)"
    )
    serve.set_defaults(run=_serve)
    dev = commands.add_parser(
        "dev",
        parents=[common],
        help="run a bot with a local sandbox that plays Vonage, a web chat and an inspector",
    )
    dev.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.pizza:PizzaBot)")
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=8080, help="the bot's port (default 8080)")
    dev.add_argument(
        "--sandbox-port", type=int, default=8090, help="the sandbox's port (default 8090)"
    )
    dev.add_argument(
        "--api-secret",
        default=None,
        help="the sandbox account's API secret (default: a random one, printed at start)",
    )
    dev.add_argument(
        "--signature-secret",
        default=None,
        help="the secret the sandbox signs webhooks with (default: a random one, printed)",
    )
    dev.add_argument(
        "--gateway",
        choices=["vonage", "kpn"],
        default="vonage",
        help="kpn: the sandbox plays KPN's API Store and the bot sends through it with the "
        "VONAGE_GATEWAY=kpn profile (default: vonage)",
    )
    dev.set_defaults(run=_dev)
    chat = commands.add_parser(
        "chat", parents=[common], help="chat with a bot from the terminal, over the sandbox"
    )
    chat.add_argument("bot", help="the bot class, as module:BotClass")
    chat.add_argument(
        "--channel", default="whatsapp", choices=[c.value for c in Channel], help="the channel"
    )
    chat.add_argument("--user", default="447700900001", help="the user's number or PSID")
    chat.set_defaults(run=_chat)
    graph = commands.add_parser(
        "graph", parents=[common], help="print a bot's state machine as a Mermaid stateDiagram-v2"
    )
    graph.add_argument("bot", help="the bot class, as module:BotClass (e.g. bots.pizza:PizzaBot)")
    graph.add_argument("--state", default=None, help="highlight this state")
    graph.set_defaults(run=_graph)
    notify = commands.add_parser(
        "notify",
        help="send the bot a proactive event for one user (such as order_shipped)",
        description="Record a proactive event in the user's conversation, for the bot's "
        "@on.event(NAME) handlers: straight into Redis when REDIS_URL is set, else (or with "
        "--url) through the running server's events API with BOTKIT_API_TOKEN.",
    )
    notify.add_argument("channel", choices=[c.value for c in Channel], help="the user's channel")
    notify.add_argument("user", help="the user's number (E.164) or id on the channel")
    notify.add_argument("name", help="the event's name, as @on.event(NAME) matches it")
    notify.add_argument("--data", default=None, help="the event's data, a JSON object")
    notify.add_argument(
        "--key", default=None, help="a dedup key: a key seen before is not delivered again"
    )
    notify.add_argument(
        "--url",
        default=None,
        help="post to the server at this base URL (default: $BOTKIT_API_URL) instead of Redis",
    )
    notify.add_argument(
        "--bot",
        default=None,
        help="module:BotClass whose senders give the bot's addresses (the VONAGE_* settings win)",
    )
    notify.set_defaults(run=_notify)
    add_vonage_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        debug = getattr(args, "traceback", False) or os.environ.get("BOTKIT_DEBUG", "") not in (
            "",
            "0",
        )
        if isinstance(exc, BotLoadError) and debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"botkit: {exc}", file=sys.stderr)
        if isinstance(exc, BotLoadError) and not debug:
            print(
                "botkit: the full traceback: add --traceback (or set BOTKIT_DEBUG=1)",
                file=sys.stderr,
            )
        return 2
    return code
