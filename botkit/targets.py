"""Finding a bot class from a ``module:Class`` target, as the command line names it.

Whatever goes wrong says the fix: a file name given for a module (``tablebot.py:TableBot``), a
module or class that does not exist (with the closest names there are), and an error raised
while the module is imported, told in one line (``file:line: what``) as
:class:`BotLoadError`, whose ``__cause__`` keeps the full traceback.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import botkit
from botkit.bot import Bot
from botkit.definition import BotDefinitionError
from botkit.errors import ConfigError


class BotLoadError(ConfigError):
    """The bot's module raised while it was imported; the message is the one line to fix."""


def load_bot_class(target: str) -> type[Bot[Any]]:
    """Import ``module:BotClass`` (the current directory is importable, like ``python -m``)."""
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name:
        raise ConfigError(f"{target!r} is not module:BotClass; for example bots.echo:EchoBot")
    if module_name.endswith(".py") or "/" in module_name:
        dotted = module_name.removesuffix(".py").strip("/").replace("/", ".")
        raise ConfigError(
            f"{target!r} names a file; botkit wants the module: {dotted}:{class_name} "
            f"(drop the .py, with dots for folders), run from the folder that holds it"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise BotLoadError(one_line(exc)) from exc
        raise ConfigError(
            f"cannot import {module_name!r} ({exc}) from {os.getcwd()}; run botkit from the "
            f"folder that holds it{_did_you_mean(module_name, _modules_here())}"
        ) from exc
    except Exception as exc:
        raise BotLoadError(one_line(exc)) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Bot):
        bots = [
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Bot) and value is not Bot
        ]
        found = f"; its bots: {', '.join(sorted(bots))}" if bots else "; it defines no bot"
        raise ConfigError(
            f"{module_name} has no Bot subclass named {class_name!r}"
            f"{_did_you_mean(class_name, bots) or found}"
        )
    return cls


def one_line(exc: BaseException) -> str:
    """``exc`` as the one line that matters: where in the author's code (the deepest frame
    outside botkit and Python's import machinery) and what. A message that names its own
    ``file:line`` (a bot definition error) is kept as it is."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}"
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BotDefinitionError):
        return str(exc)
    library = str(Path(inspect.getfile(botkit)).parent)
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith((library, "<frozen"))
    ]
    if not frames:
        return message
    return f"{frames[-1].filename}:{frames[-1].lineno}: {message}"


def _modules_here() -> list[str]:
    return [p.stem for p in Path.cwd().glob("*.py")] + [
        p.parent.name for p in Path.cwd().glob("*/__init__.py")
    ]


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f"; did you mean {close[0]!r}?" if close else ""
