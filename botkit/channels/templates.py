"""A bot's map from its own messages to approved WhatsApp templates.

WhatsApp accepts only approved templates outside its 24-hour window, so a bot declares which
template stands in for which of its messages: ``templates: Mapping[str, Template]``, keyed by
the message's text (a caption for media).

- A key without fields matches that exact text, and its template is sent as declared.
- A key with ``{name}`` fields is a pattern: ``"Your order {order} ships {day}."`` matches
  ``"Your order 1234 ships Monday."``. Each parameter of its template is then a format string
  over those fields: ``Template(name="order_shipped", parameters=("{order}", "{day}"))`` becomes
  the parameters ``("1234", "Monday")``. Literal braces are written doubled.

An exact key is preferred; patterns are tried in the mapping's order and the first match wins.
:func:`template_text` goes the other way, for pages that show what a sent template said.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence

from botkit.errors import ConfigError
from botkit.outbound import Template


def match_template(text: str, templates: Mapping[str, Template]) -> Template | None:
    """The template that stands in for ``text``, with its parameters filled, or None."""
    exact = templates.get(text)
    if exact is not None:
        return exact
    for key, template in templates.items():
        pattern = _pattern(key)
        if pattern is None:
            continue
        found = pattern.fullmatch(text)
        if found is not None:
            return _filled(template, key, found.groupdict())
    return None


def template_text(
    name: str, parameters: Sequence[str], templates: Mapping[str, Template]
) -> str | None:
    """The text of the bot's message that the template ``name``, sent with ``parameters``,
    stands in for (the key's fields filled back from the parameters), or None when no key of
    ``templates`` maps to that template with parameters of that shape."""
    for key, template in templates.items():
        if template.name != name or len(template.parameters) != len(parameters):
            continue
        if _pattern(key) is None:
            if tuple(parameters) == template.parameters:
                return key
            continue
        values: dict[str, str] = {}
        for declared, sent in zip(template.parameters, parameters, strict=True):
            found = _parameter_pattern(declared).fullmatch(sent)
            if found is None:
                break
            values.update(found.groupdict())
        else:
            try:
                return key.format_map(values)
            except (KeyError, IndexError, ValueError):
                continue
    return None


def _parameter_pattern(parameter: str) -> re.Pattern[str]:
    """A declared parameter (``"{size}"``, ``"Order {order}"``) as a regular expression that
    reads the fields back from the parameter as sent; a literal parameter matches itself."""
    pattern = _pattern(parameter)
    if pattern is not None:
        return pattern
    try:
        literal = parameter.format_map({})
    except (KeyError, IndexError, ValueError):
        literal = parameter
    return re.compile(re.escape(literal))


@functools.lru_cache(maxsize=512)
def _pattern(key: str) -> re.Pattern[str] | None:
    """The regular expression of a key with ``{name}`` fields; None for any other key."""
    try:
        pieces = list(string.Formatter().parse(key))
    except ValueError:
        return None
    names = [name for _, name, _, _ in pieces if name is not None]
    if not names or not all(name.isidentifier() for name in names):
        return None
    regex, seen = [], set()
    for literal, name, _, _ in pieces:
        regex.append(re.escape(literal))
        if name is None:
            continue
        regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return re.compile("".join(regex), re.DOTALL)


def _filled(template: Template, key: str, values: Mapping[str, str]) -> Template:
    try:
        parameters = tuple(parameter.format_map(values) for parameter in template.parameters)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"template {template.name!r}: its parameters {template.parameters!r} must use only "
            f"the fields of the key {key!r} ({exc}); write literal braces doubled"
        ) from exc
    return template.model_copy(update={"parameters": parameters})
