"""How the webhook parsers say what was wrong: pydantic's errors as :class:`Problem` values in
words, and the checks every parser starts or ends with (a JSON object in, an Event out).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from botkit.errors import InvalidPayload, Problem
from botkit.events import Event

EXPECTED = "expected"
"""pydantic error type of botkit's own value checks; its message is what was expected."""

NOW = "now"
"""Key of the validation context that holds the time the webhook was read."""

M = TypeVar("M", bound=BaseModel)

_WORDS: Mapping[str, str] = {
    "missing": "a value (the field is required)",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
}


def expected(what: str) -> PydanticCustomError:
    """An error whose message is ``what``: the words :attr:`Problem.expected` carries."""
    return PydanticCustomError(EXPECTED, what)


def problems_of(error: ValidationError, path: str = "") -> list[Problem]:
    """Each pydantic error as a :class:`Problem` at its dotted path (below ``path``).

    Errors of :func:`expected` carry their own words; pydantic's common ones are translated;
    any other keeps pydantic's message. One problem per field.
    """
    problems: dict[str, Problem] = {}
    for item in error.errors(include_url=False):
        where = ".".join(p for p in (path, *(str(part) for part in item["loc"])) if p) or "body"
        if item["type"] == EXPECTED:
            what = item["msg"]
        else:
            what = _WORDS.get(item["type"], str(item["msg"]).lower())
        problems.setdefault(where, Problem(where, what))
    return list(problems.values())


def validate(
    model: type[M], value: Any, path: str, format_name: str, *, now: datetime | None = None
) -> M:
    """``model`` validated from ``value``, or :class:`InvalidPayload` naming what was wrong.

    ``now`` is the time the webhook was read: the models holding a
    :data:`~botkit.vonage.inbound.values.Timestamp` need it.
    """
    try:
        return model.model_validate(value, context={NOW: now})
    except ValidationError as error:
        raise InvalidPayload(problems_of(error, path), format_name=format_name) from None


def require_object(payload: object, format_name: str) -> dict[str, Any]:
    """``payload`` if it is a JSON object (a dict with string keys); else InvalidPayload."""
    if not isinstance(payload, dict) or not all(isinstance(key, str) for key in payload):
        raise InvalidPayload(Problem("body", "a JSON object"), format_name=format_name)
    return payload


def make_event(format_name: str, **fields: Any) -> Event:
    """An :class:`Event` of ``fields``; should the model still refuse them, InvalidPayload."""
    try:
        return Event(**fields)
    except ValidationError as error:
        raise InvalidPayload(problems_of(error), format_name=format_name) from None
