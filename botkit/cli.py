"""The ``botkit`` command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from botkit.bot import Bot
from botkit.errors import ConfigError
from botkit.log import configure_logging, get_logger
from botkit.server import create_app
from botkit.settings import load_settings

log = get_logger("botkit.cli")


def load_bot_class(target: str) -> type[Bot[Any]]:
    """Import ``module:BotClass`` (the current directory is importable, like ``python -m``)."""
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name:
        raise ConfigError(f"{target!r} is not module:BotClass; for example bots.echo:EchoBot")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"cannot import {module_name!r} ({exc}); run botkit from the folder that holds it"
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Bot):
        raise ConfigError(f"{module_name} has no Bot subclass named {class_name!r}")
    return cls


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
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


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
