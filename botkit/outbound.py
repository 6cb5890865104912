"""What a bot sends: one outbound message to one user on one channel.

Outbound messages are written to the conversation's outbox as part of a turn's atomic commit
and sent after it, so they are plain, serialisable values.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from botkit.events import Audio, Channel, Contact, File, Image, Location, Sticker, Text, Video

OutboundContent = Text | Image | Audio | Video | File | Location | Contact | Sticker


class Button(BaseModel):
    """A choice offered with a message: ``id`` comes back in the user's ``ButtonReply``."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str


class Outbound(BaseModel):
    """One message for ``to`` on ``channel``, from the bot's address ``sender``.

    ``id`` is botkit's own id for the message; it is sent as the provider's ``client_ref``
    unless the bot set one, so statuses and retries can be matched to it.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    channel: Channel
    to: str
    sender: str
    content: OutboundContent = Field(discriminator="type")
    buttons: tuple[Button, ...] = ()
    client_ref: str | None = None

    @property
    def effective_client_ref(self) -> str:
        return self.client_ref or self.id


Choices = list[str] | list[Button] | list[tuple[str, str]]
"""Choices offered with a message: titles (each its own id), ``(id, title)`` pairs or Buttons."""


def as_buttons(choices: Choices | None) -> tuple[Button, ...]:
    """Buttons from plain titles (the title is also the id), ``(id, title)`` pairs or Buttons."""
    if not choices:
        return ()
    buttons = []
    for choice in choices:
        if isinstance(choice, Button):
            buttons.append(choice)
        elif isinstance(choice, tuple):
            buttons.append(Button(id=choice[0], title=choice[1]))
        else:
            buttons.append(Button(id=choice, title=choice))
    return tuple(buttons)
