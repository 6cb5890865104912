"""Splitting a text that is too long for its channel at word boundaries."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """``text`` cut into parts of at most ``limit`` characters, in order.

    A text within the limit is returned whole. Otherwise each cut is made at whitespace, which
    is dropped at the cut: preferably at the last line break in the second half of the allowed
    span, else at the last whitespace in it. A word (a URL, say) is cut only when it alone
    exceeds the limit; then the cut falls exactly at the limit and nothing is dropped. Joining
    the parts with the dropped whitespace gives back ``text``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_at_whitespace(rest, limit)
        if cut is None:
            parts.append(rest[:limit])
            rest = rest[limit:]
        else:
            parts.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut_at_whitespace(text: str, limit: int) -> int | None:
    """The index of the whitespace to cut ``text`` at, or None when no word boundary fits.

    The part before the cut must fit ``limit`` once trailing whitespace is dropped and must
    hold something other than whitespace.
    """
    span = text[: limit + 1]
    first_word = len(span) - len(span.lstrip())
    candidates = [i for i in range(first_word + 1, len(span)) if span[i].isspace()]
    if not candidates:
        return None
    breaks = [i for i in candidates if span[i] == "\n" and i >= limit // 2]
    return (breaks or candidates)[-1]
