"""How a user's address and words are hidden wherever botkit writes them down.

One mask for phone numbers and user ids, used by the channel rules' refusals and by the logs:
:func:`mask` keeps the first two and the last two characters (``447700900001`` becomes
``44********01``), so that lines stay tellable apart without naming anyone.

In free text (log lines, exception messages, raw query strings), :func:`mask_text` masks every
run of 9 to 20 digits that stands alone (a phone number, a Messenger page-scoped id), the
values of the parameters that carry a user's words or address (``text=``, ``msisdn=`` ... in a
query string, ``"text": "..."`` in JSON), and any of the ``private`` strings given, such as the
words of the message being handled, wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Collection

REDACTED = "[redacted]"
"""What replaces a user's words."""

_NUMBER = re.compile(r"(?<![\w.-])\+?\d{9,20}(?![\w-])")
_WORD_FIELDS = "text|keyword|caption|body|title|data|udh|token|sig"
_ADDRESS_FIELDS = "msisdn|to|from|number|user|phone"
# A raw request line may carry unencoded blanks: a value runs to the next parameter, the
# protocol version, a quote or the end of the line.
_QUERY_WORDS = re.compile(
    rf"(?i)(?<![\w-])((?:{_WORD_FIELDS})=)[^&'\"#\n]*?(?=&|\s+HTTP/|['\"#\n]|$)"
)
_QUERY_ADDRESS = re.compile(rf"(?i)(?<![\w-])((?:{_ADDRESS_FIELDS})=)([^&\s'\"#]*)")
_JSON_WORDS = re.compile(rf"""(?i)(["']?(?:{_WORD_FIELDS})["']?\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""")

PRIVATE_MIN_LENGTH = 4
"""Private strings shorter than this are left alone: replacing every ``hi`` or ``2`` in a line
would mangle it while hiding almost nothing."""


def mask(address: str) -> str:
    """``address`` with all but its first two and last two characters hidden: ``44********00``.

    Addresses of four characters or fewer are hidden whole.
    """
    if len(address) <= 4:
        return "*" * len(address)
    return address[:2] + "*" * (len(address) - 4) + address[-2:]


def mask_numbers(text: str) -> str:
    """``text`` with every standalone run of 9 to 20 digits (a leading ``+`` kept) masked."""
    return _NUMBER.sub(lambda m: mask(m[0]), text)


def mask_text(text: str, private: Collection[str] = (), *, numbers: bool = True) -> str:
    """``text`` with the user's words and addresses hidden.

    Replaces with :data:`REDACTED` each of ``private`` (those of at least
    :data:`PRIVATE_MIN_LENGTH` characters) and the value of every word-carrying parameter in a
    query string or JSON; masks the address parameters of a query string; with ``numbers``,
    masks every phone-number-like run of digits too.
    """
    for value in sorted(private, key=len, reverse=True):
        if len(value) >= PRIVATE_MIN_LENGTH and value in text:
            text = text.replace(value, REDACTED)
    # Most values (ids, channel names, sentences) carry no parameter at all: a scan for the
    # character each pattern needs is far cheaper than the pattern.
    if "=" in text:
        text = _QUERY_WORDS.sub(lambda m: m[1] + REDACTED, text)
    if ":" in text:
        text = _JSON_WORDS.sub(lambda m: m[1] + m[2] + REDACTED + m[2], text)
    if "=" in text:
        text = _QUERY_ADDRESS.sub(lambda m: m[1] + mask(m[2]), text)
    return mask_numbers(text) if numbers else text
