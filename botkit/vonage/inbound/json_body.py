"""A webhook's JSON body, decoded within bounds every later step can hold.

Python's decoder accepts what no webhook carries and what later steps cannot take: nesting
deep enough to exhaust the stack, lone surrogates (``"\\ud800"``, which no UTF-8 encoder
accepts, so the event could not be stored), integers of thousands of digits and non-finite
numbers (``1e400``, ``NaN``). :func:`read_json` refuses each of them with an
:class:`~botkit.errors.InvalidPayload` naming the field, before any parser sees the value.
Decoding is bounded whatever the body: linear in its size, and never deeper than the stack.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final

from botkit.errors import InvalidPayload, Problem

MAX_DEPTH: Final = 32
"""The deepest nesting of arrays and objects accepted; the provider's webhooks use under 10."""

MAX_INTEGER: Final = 2**63 - 1
"""The largest magnitude of an integer accepted (64-bit): no id, count or price is larger."""

MAX_PROBLEMS: Final = 10
"""At most this many problems are reported for one body."""

_MAX_DIGITS = len(str(MAX_INTEGER))
_SEGMENT = 40  # characters of a key shown in a path


class _Oversized:
    """What an integer literal of more digits than any accepted integer decodes to."""


_OVERSIZED = _Oversized()
_BAD_KEY = object()  # stands, in the walk, for the value of a key that is not valid Unicode


def read_json(body: bytes, *, format_name: str | None = None) -> Any:
    """The JSON value in ``body`` (UTF-8, or UTF-16/32 with a BOM, as :func:`json.loads`).

    Raises :class:`InvalidPayload` for a body that is not JSON, or whose value nests deeper
    than :data:`MAX_DEPTH`, holds a string or key that is not valid Unicode (a lone
    surrogate), an integer beyond :data:`MAX_INTEGER` or a number that is not finite. Each
    problem names the dotted path of the field (``body`` for the whole), never its value.
    ``format_name`` names the webhook in the error.
    """
    try:
        value = json.loads(body, parse_int=_integer, parse_constant=float)
    except RecursionError:
        raise InvalidPayload(_too_deep("body"), format_name=format_name) from None
    except (UnicodeDecodeError, ValueError) as exc:
        # JSONDecodeError's message says where, never what: safe to repeat.
        reason = f" ({exc})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InvalidPayload(
            Problem("body", f"a JSON object; it is not valid JSON{reason}"),
            format_name=format_name,
        ) from None
    problems = value_problems(value)
    if problems:
        raise InvalidPayload(problems, format_name=format_name)
    return value


def value_problems(value: Any) -> list[Problem]:
    """What :func:`read_json` would refuse in ``value``, a value built in Python (nesting too
    deep, text that is not valid Unicode, numbers out of bounds), at most
    :data:`MAX_PROBLEMS`, each naming the dotted path of its field."""
    problems = []
    for problem in _problems(value):
        problems.append(problem)
        if len(problems) == MAX_PROBLEMS:
            break
    return problems


def _integer(text: str) -> int | _Oversized:
    # Digits beyond the bound are refused unread: int() of thousands of digits is slow, and
    # past 4300 it raises.
    if len(text.lstrip("-")) > _MAX_DIGITS:
        return _OVERSIZED
    return int(text)


def _problems(value: Any) -> Iterator[Problem]:
    """Each field of ``value`` that is too deep, not Unicode or not a sane number, in the
    order of the document.

    Iterative, so a value nested deeper than the stack (handed in by a caller that built it
    in Python) is walked all the same.
    """
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            if len(path) >= MAX_DEPTH:
                yield _too_deep(_dotted(path))
                continue
            stack.extend(
                ((*path, key), inner) if _is_unicode(key) else ((*path, ascii(key)), _BAD_KEY)
                for key, inner in reversed(node.items())
            )
        elif isinstance(node, list):
            if len(path) >= MAX_DEPTH:
                yield _too_deep(_dotted(path))
                continue
            stack.extend(((*path, str(i)), inner) for i, inner in reversed(list(enumerate(node))))
        elif node is _BAD_KEY:
            yield Problem(_dotted(path), "a key that is valid Unicode")
        elif isinstance(node, str):
            if not _is_unicode(node):
                yield Problem(_dotted(path), "text that is valid Unicode (no lone surrogates)")
        elif node is _OVERSIZED or (
            isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INTEGER
        ):
            yield Problem(_dotted(path), "an integer within the 64-bit range")
        elif isinstance(node, float) and not math.isfinite(node):
            yield Problem(_dotted(path), "a finite number")


def _too_deep(where: str) -> Problem:
    return Problem(where, f"JSON nested at most {MAX_DEPTH} levels deep")


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dotted(path: tuple[str, ...]) -> str:
    if not path:
        return "body"
    return ".".join(s if len(s) <= _SEGMENT else s[: _SEGMENT - 3] + "..." for s in path)
