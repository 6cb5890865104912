"""Wire objects both Messages API versions (and Dispatch) share: usage, media, location,
replies, buttons, reactions, stickers, orders, templates and multi-part items.

Each is a :class:`WireModel`: the object as the provider sends it, with unknown fields kept.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from botkit.events import Usage
from botkit.vonage.inbound.values import (
    Amount,
    Count,
    Latitude,
    Longitude,
    Price,
    TemplateParameter,
    Url,
    one_of,
)


class WireModel(BaseModel):
    """A wire format object: unknown fields are kept (the provider adds fields over time)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class WireUsage(WireModel):
    currency: str | None = None
    price: Price | None = None

    def event_usage(self) -> Usage:
        return Usage(price=self.price, currency=self.currency)


class WireMedia(WireModel):
    url: Url
    caption: str | None = None
    name: str | None = None
    thumb_url: str | None = None


class WireLocation(WireModel):
    """Both location shapes: ``{lat, long}`` numbers and v0.1's ``{latitude, longitude}``."""

    lat: Latitude | None = None
    long: Longitude | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class WireReply(WireModel):
    id: str
    title: str | None = None
    description: str | None = None


class WireButton(WireModel):
    payload: str | None = None
    text: str | None = None
    subtype: str | None = None


class WireReaction(WireModel):
    action: Annotated[str, one_of("react", "unreact")]
    emoji: str | None = None


class WireSticker(WireModel):
    url: str | None = None
    id: str | None = None


class WireOrderItem(WireModel):
    product_retailer_id: str
    quantity: Count
    item_price: Amount | None = None
    currency: str | None = None


class WireOrder(WireModel):
    catalog_id: str | None = None
    product_items: list[WireOrderItem] = Field(default_factory=list)


class WireTemplate(WireModel):
    name: str
    parameters: list[TemplateParameter] = Field(default_factory=list)


class WireMultiPartItem(WireModel):
    type: str
    text: str | None = None


class WireProfile(WireModel):
    name: str | None = None
