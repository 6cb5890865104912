"""Finding a bot class from a ``module:Class`` target, as the command line names it."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from botkit.bot import Bot
from botkit.errors import ConfigError


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
