"""Every body botkit builds, for every channel x content type x API, checked against the
provider's schema for that request.

Which content types a channel carries is read from the spec files, not restated: a type the
spec's request branch for the channel names must build and validate; any other must raise
UnsupportedContent naming the channel and the content. Where the live API moved on after the
public spec stopped (Feb 2023), the difference is listed below with its source, and a body
using it is validated against the spec plus that listed shape -- never against less.

The spec schemas are open (no ``additionalProperties: false``), so on top of validation every
key of a body must be declared by the spec branch or by one of the listed SDK-only shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_args

import jsonschema
import pytest

from botkit.events import (
    Audio,
    Channel,
    Contact,
    File,
    Image,
    Location,
    Reaction,
    Sticker,
    Text,
    Video,
)
from botkit.outbound import (
    Button,
    ButtonTemplate,
    ContactCard,
    Contacts,
    Custom,
    GenericElement,
    GenericTemplate,
    MessengerOptions,
    MmsOptions,
    Outbound,
    OutboundContent,
    SmsOptions,
    Template,
    ViberAction,
    ViberOptions,
    WhatsAppOptions,
    as_buttons,
)
from botkit.vonage.channel_names import wire_name
from botkit.vonage.openapi import SpecName, load_spec, to_json_schema
from botkit.vonage.outbound import UnsupportedContent, messages_v0, messages_v1, sms_api

Schema = dict[str, Any]

SAMPLES: tuple[Any, ...] = (
    Text(text="Hello from botkit"),
    Image(url="https://example.com/cat.jpg", caption="A cat"),
    Audio(url="https://example.com/purr.mp3", caption="Purring"),
    Video(
        url="https://example.com/cat.mp4",
        caption="A cat video",
        thumb_url="https://example.com/cat-thumb.jpg",
    ),
    File(url="https://example.com/menu.pdf", caption="Today's menu", name="menu.pdf"),
    Location(lat=51.5072, long=-0.1276, name="Office", address="1 Main St, London"),
    Contact(url="https://example.com/ann.vcf", caption="Ann's card"),
    Sticker(url="https://example.com/hello.webp"),
    Reaction(action="react", emoji="👍"),
    Template(name="acme:verify", parameters=("Ann", "1234")),
    Custom(payload={"type": "contacts", "contacts": [{"name": {"formatted_name": "Ann"}}]}),
    Contacts(
        cards=(
            ContactCard(
                name="Ann Lee",
                first_name="Ann",
                last_name="Lee",
                phones=("+44 20 7946 0000",),
                emails=("ann@example.com",),
                urls=("https://example.com",),
                company="Acme",
                birthday="1990-04-01",
            ),
            ContactCard(name="Front desk", phones=("+44 20 7946 0001",)),
        )
    ),
    GenericTemplate(
        elements=(
            GenericElement(
                title="Margherita",
                subtitle="Tomato, mozzarella, basil",
                image_url="https://example.com/margherita.jpg",
                url="https://example.com/menu#margherita",
                buttons=(
                    Button(id="order-margherita", title="Order"),
                    Button(id="https://example.com/menu", title="Menu"),
                ),
            ),
            GenericElement(title="Diavola"),
        )
    ),
    ButtonTemplate(
        text="What next?",
        buttons=(
            Button(id="track", title="Track my order"),
            Button(id="https://example.com", title="Visit"),
        ),
    ),
)
"""One of each content a bot can send."""

OWN_CUSTOM = {
    "custom": Channel.WHATSAPP,
    "contacts": Channel.WHATSAPP,
    "generic_template": Channel.MESSENGER,
    "button_template": Channel.MESSENGER,
}
"""Content botkit sends as a custom object, to the one channel whose object it is (``Custom``
passes WhatsApp's objects through)."""


def carries(types: Mapping[str, Any], channel: Channel, kind: str) -> bool:
    """Whether the spec branches ``types`` of ``channel`` take content of botkit type
    ``kind``."""
    if kind in OWN_CUSTOM and OWN_CUSTOM[kind] is not channel:
        return False
    return WIRE_TYPE.get(kind, kind) in types


ADDRESSES: Mapping[Channel, tuple[str, str]] = {
    Channel.WHATSAPP: ("447700900000", "447700900001"),
    Channel.MESSENGER: ("1234567890123456", "9876543210"),
    Channel.VIBER: ("447700900000", "botkit-service"),
    Channel.SMS: ("447700900000", "Botkit"),
    Channel.MMS: ("14155550100", "12345"),
}
"""``to`` and ``sender`` per channel: Messenger uses ids, Viber's sender is the service id."""

REPLY_TO = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
WIRE_TYPE = {
    "contact": "vcard",
    "contacts": "custom",
    "generic_template": "custom",
    "button_template": "custom",
}


def outbound(channel: Channel, content: Any, **extra: Any) -> Outbound:
    to, sender = ADDRESSES[channel]
    if isinstance(content, Reaction):
        extra.setdefault("reply_to", REPLY_TO)
    if isinstance(content, Video) and channel is Channel.VIBER:
        extra.setdefault("viber", ViberOptions(duration=42, file_size=3))
    return Outbound(channel=channel, to=to, sender=sender, content=content, **extra)


def test_the_samples_cover_every_outbound_content_type() -> None:
    union = get_args(get_args(OutboundContent)[0])
    assert {type(sample) for sample in SAMPLES} == set(union)


@dataclass(frozen=True)
class Variant:
    """A message beyond the plain samples: options, choices, quoting. ``apis`` says which
    Messages API versions carry it (the others' refusals are tested beside their bodies)."""

    label: str
    channel: Channel
    content: Any
    extra: dict[str, Any] = field(default_factory=dict)
    apis: tuple[str, ...] = ("v1", "v0.1")


_ACTION = ViberAction(url="https://example.com/offer", text="See the offer")
VARIANTS = (
    Variant(
        "reply-buttons",
        Channel.WHATSAPP,
        Text(text="Pick one"),
        {"buttons": as_buttons(["Yes", "No"])},
    ),
    Variant(
        "image-header-buttons",
        Channel.WHATSAPP,
        Image(url="https://example.com/shirt.jpg", caption="Which size?"),
        {"buttons": as_buttons(["S", "M", "L"])},
    ),
    Variant(
        "video-header-buttons",
        Channel.WHATSAPP,
        Video(url="https://example.com/tour.mp4", caption="Book a visit?"),
        {"buttons": as_buttons([("yes", "Book"), ("no", "Not now")])},
    ),
    Variant(
        "document-header-buttons",
        Channel.WHATSAPP,
        File(url="https://example.com/terms.pdf", caption="Accept the terms?", name="terms.pdf"),
        {"buttons": as_buttons(["Accept", "Decline"])},
    ),
    Variant(
        "list-of-five",
        Channel.WHATSAPP,
        Text(text="Which city?"),
        {
            "buttons": tuple(
                Button(id=f"city-{n}", title=title, description=f"Deliveries to {title}")
                for n, title in enumerate(("London", "Paris", "Rome", "Madrid", "Berlin"))
            )
        },
    ),
    Variant(
        "list-style",
        Channel.WHATSAPP,
        Text(text="Which size?"),
        {"buttons": as_buttons(["Small", "Large"]), "choice_style": "list", "list_title": "Sizes"},
    ),
    Variant("reply-to", Channel.WHATSAPP, Text(text="Quoted"), {"reply_to": REPLY_TO}),
    Variant(
        "template-locale",
        Channel.WHATSAPP,
        Template(name="acme:welcome", parameters=("Ann",)),
        {"whatsapp": WhatsAppOptions(locale="de_DE", policy="deterministic")},
    ),
    Variant(
        "message-tag",
        Channel.MESSENGER,
        Text(text="Your order shipped"),
        {"messenger": MessengerOptions(category="message_tag", tag="POST_PURCHASE_UPDATE")},
    ),
    Variant(
        "options",
        Channel.VIBER,
        Text(text="A new offer"),
        {"viber": ViberOptions(category="promotion", ttl=600)},
    ),
    Variant(
        "text-action",
        Channel.VIBER,
        Text(text="A new offer"),
        {"viber": ViberOptions(category="transaction", ttl=3600, action=_ACTION)},
        apis=("v1",),
    ),
    Variant(
        "image-action",
        Channel.VIBER,
        Image(url="https://example.com/offer.jpg", caption="The offer"),
        {"viber": ViberOptions(action=_ACTION)},
        apis=("v1",),
    ),
    Variant(
        "file-options",
        Channel.VIBER,
        File(url="https://example.com/menu.pdf", name="menu.pdf"),
        {"viber": ViberOptions(category="transaction", ttl=86400)},
        apis=("v1",),
    ),
    Variant(
        "sms-options",
        Channel.SMS,
        Text(text="Grüße, 10 €"),
        {
            "sms": SmsOptions(
                encoding="auto", ttl=900, entity_id="1101456324675322134", content_id="1107457"
            )
        },
        apis=("v1",),
    ),
    Variant(
        "video-options",
        Channel.VIBER,
        Video(url="https://example.com/tour.mp4", thumb_url="https://example.com/tour.jpg"),
        {"viber": ViberOptions(category="transaction", ttl=3600, duration=600, file_size=200)},
        apis=("v1",),
    ),
    Variant(
        "webhook-url",
        Channel.WHATSAPP,
        Text(text="Tracked"),
        {"webhook_url": "https://bot.example.com/webhooks/status?order=17"},
        apis=("v1",),
    ),
    Variant(
        "ttl-webhook-url",
        Channel.MMS,
        Image(url="https://example.com/cat.jpg", caption="A cat"),
        {"mms": MmsOptions(ttl=300), "webhook_url": "https://bot.example.com/status"},
        apis=("v1",),
    ),
    Variant("client-ref", Channel.SMS, Text(text="Hi"), {"client_ref": "r" * 40}),
    Variant(
        "long-client-ref", Channel.WHATSAPP, Text(text="Hi"), {"client_ref": "r" * 100}, ("v1",)
    ),
)


# --- what the live API takes beyond the public spec ---------------------------------------------

_TTL_SECONDS = {"type": "integer", "minimum": 1}
_CONTEXT = {
    "type": "object",
    "required": ["message_uuid"],
    "properties": {"message_uuid": {"type": "string"}},
    "additionalProperties": False,
}

V1_SDK_TYPES: Mapping[tuple[str, str], Schema] = {
    # MMS text and file: java Channel / node MMSText, MMSFile (DIGEST 2.1).
    ("mms", "text"): {
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1}},
    },
    ("mms", "file"): {
        "required": ["file"],
        "properties": {
            "file": {
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": {"type": "string"},
                    "caption": {"type": "string", "minLength": 1, "maxLength": 2000},
                },
                "additionalProperties": False,
            }
        },
    },
    # WhatsApp sticker: py/java/node Sticker -- url (.webp) or id, not both.
    ("whatsapp", "sticker"): {
        "required": ["sticker"],
        "properties": {
            "sticker": {
                "type": "object",
                "properties": {"url": {"type": "string"}, "id": {"type": "string"}},
                "oneOf": [{"required": ["url"]}, {"required": ["id"]}],
                "additionalProperties": False,
            }
        },
    },
    # WhatsApp reaction: node WhatsAppReactionRequest / java -- needs context.message_uuid.
    ("whatsapp", "reaction"): {
        "required": ["reaction", "context"],
        "properties": {
            "reaction": {
                "type": "object",
                "required": ["action"],
                "properties": {
                    "action": {"enum": ["react", "unreact"]},
                    "emoji": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "context": _CONTEXT,
        },
    },
}
"""v1 message types of the SDKs that no branch of the 1.4.0 spec describes, by wire channel
and message_type. Validated against the channel's common part of the spec plus this."""

V1_SDK_FIELDS: Mapping[tuple[str, str], Schema] = {
    # WhatsApp context (quote / reply): py WhatsappContext, node.
    ("whatsapp", "context"): _CONTEXT,
    # WhatsApp file name: py WhatsappFileResource.
    ("whatsapp", "file.name"): {"type": "string"},
    # MMS vCard caption: py MmsResource.
    ("mms", "vcard.caption"): {"type": "string", "minLength": 1, "maxLength": 2000},
    # SMS options and ttl (seconds): py SmsOptions / Sms.ttl, node SMSExtraParams, java.
    ("sms", "sms"): {
        "type": "object",
        "properties": {
            "encoding_type": {"enum": ["text", "unicode", "auto"]},
            "content_id": {"type": "string"},
            "entity_id": {"type": "string"},
        },
        "additionalProperties": False,
    },
    ("sms", "ttl"): _TTL_SECONDS,
    # MMS ttl: py BaseMms.ttl (ge=300, le=259200), java MmsRequest.
    ("mms", "ttl"): {"type": "integer", "minimum": 300, "maximum": 259200},
    # Per-message status URL: py BaseMessage.webhook_url, node MessageParams, java.
    **{
        (channel, "webhook_url"): {"type": "string", "pattern": "^https?://"}
        for channel in ("sms", "mms", "whatsapp", "messenger", "viber_service")
    },
}
"""v1 fields of the SDKs that the 1.4.0 spec does not declare, by wire channel and path."""

_V0_CUSTOM: Schema = {
    "properties": {
        "message": {
            "type": "object",
            "required": ["content"],
            "properties": {
                "content": {
                    "type": "object",
                    "required": ["type", "custom"],
                    "properties": {
                        "type": {"enum": ["custom"]},
                        "custom": {"type": "object"},
                    },
                }
            },
        }
    }
}

V0_DOC_TYPES: Mapping[tuple[str, str], Schema] = {
    # Custom objects on v0.1: doc:messages/concepts/custom-objects.md (and spec 0.3.9), not
    # in the 0.5.0 spec. WhatsApp's interactive buttons, lists and contact cards travel this
    # way, and Messenger's templates (doc:messages/code-snippets/messenger/send-template).
    ("messenger", "custom"): _V0_CUSTOM,
    ("whatsapp", "custom"): _V0_CUSTOM,
}
"""v0.1 content types the provider documents but the 0.5.0 spec does not list."""

V1_KNOWN_GAPS: Mapping[tuple[Channel, str], str] = {}
"""Types the v1 spec offers that botkit cannot build yet, with words the refusal must say."""

INTERACTIVE = {
    "type": "object",
    "required": ["type", "interactive"],
    "properties": {
        "type": {"const": "interactive"},
        "interactive": {
            "type": "object",
            "required": ["type", "body", "action"],
            "properties": {
                "type": {"enum": ["button", "list"]},
                "header": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["text", "image", "video", "document"]}},
                },
                "body": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1024}},
                    "additionalProperties": False,
                },
                "action": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["buttons"],
                            "additionalProperties": False,
                            "properties": {
                                "buttons": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 3,
                                    "items": {
                                        "type": "object",
                                        "required": ["type", "reply"],
                                        "properties": {
                                            "type": {"const": "reply"},
                                            "reply": {
                                                "type": "object",
                                                "required": ["id", "title"],
                                                "additionalProperties": False,
                                                "properties": {
                                                    "id": {"type": "string", "maxLength": 256},
                                                    "title": {"type": "string", "maxLength": 20},
                                                },
                                            },
                                        },
                                    },
                                }
                            },
                        },
                        {
                            "type": "object",
                            "required": ["button", "sections"],
                            "additionalProperties": False,
                            "properties": {
                                "button": {"type": "string", "maxLength": 20},
                                "sections": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 10,
                                    "items": {
                                        "type": "object",
                                        "required": ["rows"],
                                        "properties": {
                                            "title": {"type": "string", "maxLength": 24},
                                            "rows": {
                                                "type": "array",
                                                "minItems": 1,
                                                "maxItems": 10,
                                                "items": {
                                                    "type": "object",
                                                    "required": ["id", "title"],
                                                    "additionalProperties": False,
                                                    "properties": {
                                                        "id": {"type": "string", "maxLength": 200},
                                                        "title": {
                                                            "type": "string",
                                                            "maxLength": 24,
                                                        },
                                                        "description": {
                                                            "type": "string",
                                                            "maxLength": 72,
                                                        },
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    ]
                },
            },
        },
    },
}
"""WhatsApp's own rules for interactive messages (Cloud API reference), which the provider
passes through in ``custom``: its specs type ``custom`` as a free-form object only."""


# --- reading the specs ------------------------------------------------------------------------


def enums_at(schema: Any, path: tuple[str, ...]) -> set[str]:
    """Every enum value found at ``properties`` path ``path`` through allOf/oneOf/anyOf."""
    found: set[str] = set()
    if not isinstance(schema, dict):
        return found
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            found |= enums_at(sub, path)
    if not path:
        found |= set(schema.get("enum", []))
        return found
    child = schema.get("properties", {}).get(path[0])
    if child is not None:
        found |= enums_at(child, path[1:])
    return found


def declared(schemas: list[Any]) -> dict[str, list[Any]]:
    """The properties the schemas declare (through allOf/oneOf/anyOf), each with its schemas."""
    found: dict[str, list[Any]] = {}

    def walk(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        for name, sub in schema.get("properties", {}).items():
            found.setdefault(name, []).append(sub)
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key, []):
                walk(sub)

    for schema in schemas:
        walk(schema)
    return found


def undeclared(instance: Mapping[str, Any], schemas: list[Any], prefix: str = "") -> set[str]:
    """Dotted paths of the keys of ``instance`` that ``schemas`` do not declare.

    An object whose schemas declare no properties at all is free-form (``custom``): its
    keys are not checked.
    """
    properties = declared(schemas)
    if not properties:
        return set()
    missing: set[str] = set()
    for key, value in instance.items():
        path = prefix + key
        if key not in properties:
            missing.add(path)
        elif isinstance(value, Mapping):
            missing |= undeclared(value, properties[key], path + ".")
    return missing


def at_path(path: str, schema: Schema) -> Schema:
    """A schema constraining the value at dotted ``path`` with ``schema``."""
    for name in reversed(path.split(".")):
        schema = {"properties": {name: schema}}
    return schema


def without(body: Mapping[str, Any], paths: set[str]) -> dict[str, Any]:
    """``body`` less the values at ``paths``."""
    out = {key: value for key, value in body.items() if key not in paths}
    for path in paths:
        head, _, rest = path.partition(".")
        if rest and isinstance(out.get(head), Mapping):
            out[head] = without(out[head], {rest})
    return out


@dataclass(frozen=True)
class Branch:
    """The part of a request schema for one channel and one content type."""

    schema: Schema
    """JSON Schema (converted from the spec's OpenAPI with :func:`to_json_schema`)."""
    source: str
    """``spec`` or where the shape comes from when the spec lacks it."""


SPEC_NAMES: Mapping[str, SpecName] = {"v1": "messages-v1", "v0.1": "messages-v0.1"}


@cache
def request_validator(api: str) -> jsonschema.Draft202012Validator:
    """A validator for the whole ``POST /`` request body of the API version."""
    spec = load_spec(SPEC_NAMES[api])
    request = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]
    schema = to_json_schema(spec, request["schema"])
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def v1_branches() -> dict[str, dict[str, Branch]]:
    """v1 request branches by wire channel and message_type: the spec's, then the SDKs'."""
    spec = load_spec("messages-v1")
    request = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]
    branches: dict[str, dict[str, Branch]] = {}
    for channel_branch in request["schema"]["oneOf"]:
        inlined = to_json_schema(spec, channel_branch)
        (channel,) = enums_at(inlined, ("channel",))
        by_type = branches.setdefault(channel, {})
        for sub in channel_branch["oneOf"]:
            converted = to_json_schema(spec, sub)
            (message_type,) = enums_at(converted, ("message_type",))
            by_type[message_type] = Branch(converted, "spec")
        common = {"allOf": [part for part in sub["allOf"] if _is_channel_options(part)]}
        for (sdk_channel, message_type), fragment in V1_SDK_TYPES.items():
            if sdk_channel == channel:
                schema = {
                    "allOf": [
                        {"$ref": "#/components/schemas/baseMessageType"},
                        common,
                        {"properties": {"message_type": {"enum": [message_type]}}},
                        fragment,
                    ]
                }
                by_type[message_type] = Branch(to_json_schema(spec, schema), "sdk")
    return branches


@cache
def v0_branches() -> dict[str, dict[str, Branch]]:
    """v0.1 request branches by wire channel and content type: the spec's, then the docs'."""
    spec = load_spec("messages-v0.1")
    request = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]
    message = spec["components"]["schemas"][request["schema"]["$ref"].rsplit("/", 1)[1]]
    branches: dict[str, dict[str, Branch]] = {}
    for channel_branch in message["oneOf"]:
        subs = channel_branch.get("oneOf", [channel_branch])
        inlined = to_json_schema(spec, subs[0])
        (channel,) = enums_at(inlined, ("to", "type"))
        by_type = branches.setdefault(channel, {})
        for sub in subs:
            converted = to_json_schema(spec, sub)
            (content_type,) = enums_at(converted, ("message", "content", "type"))
            by_type[content_type] = Branch(converted, "spec")
        common = {"allOf": [part for part in subs[0]["allOf"] if _is_channel_options(part)]}
        for (doc_channel, content_type), fragment in V0_DOC_TYPES.items():
            if doc_channel == channel:
                schema = to_json_schema(spec, {"allOf": [common, fragment]})
                by_type[content_type] = Branch(schema, "doc")
    return branches


def _is_channel_options(part: Mapping[str, Any]) -> bool:
    name = str(part.get("$ref", "")).rsplit("/", 1)[-1]
    return name.startswith("channelOptions") or name == "mmsMessage"


# --- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    api: str
    message: Outbound

    @property
    def wire_channel(self) -> str:
        return wire_name(self.message.channel, "v1" if self.api == "v1" else "v0.1")

    @property
    def wire_type(self) -> str:
        if self.message.buttons:
            return "custom"
        kind = self.message.content.type
        return WIRE_TYPE.get(kind, kind)

    def body(self) -> dict[str, Any]:
        builder = messages_v1.body if self.api == "v1" else messages_v0.body
        return builder(self.message)


def offered(api: str, channel: Channel) -> dict[str, Branch]:
    branches = v1_branches() if api == "v1" else v0_branches()
    return branches[wire_name(channel, "v1" if api == "v1" else "v0.1")]


def sdk_fields(case: Case) -> dict[str, Schema]:
    if case.api != "v1":
        return {}
    return {
        path: schema
        for (channel, path), schema in V1_SDK_FIELDS.items()
        if channel == case.wire_channel
    }


def carried_cases() -> Iterator[Any]:
    for api in ("v1", "v0.1"):
        for channel in Channel:
            types = offered(api, channel)
            for sample in SAMPLES:
                if (
                    carries(types, channel, sample.type)
                    and (api, channel, sample.type) not in _GAP_KEYS
                ):
                    yield _param(Case(api, outbound(channel, sample)), sample.type)
        for variant in VARIANTS:
            if api in variant.apis:
                message = outbound(variant.channel, variant.content, **variant.extra)
                yield _param(Case(api, message), variant.label)


_GAP_KEYS = {("v1", channel, kind) for channel, kind in V1_KNOWN_GAPS}


def _param(case: Case, label: str) -> Any:
    """The case, its id saying what is validated against more than the spec."""
    branch = offered(case.api, case.message.channel)[case.wire_type]
    body = case.body()
    extra = sorted(undeclared(body, [branch.schema]))
    notes = []
    if branch.source != "spec":
        notes.append(f"{branch.source}-only type")
    if extra:
        notes.append("sdk-only " + ",".join(extra))
    suffix = f"[{'; '.join(notes)}]" if notes else ""
    name = f"{case.api}-{case.message.channel.value}-{label}{suffix}"
    return pytest.param(case, id=name)


CARRIED = list(carried_cases())


@pytest.mark.parametrize("case", CARRIED)
def test_body_matches_the_request_schema_of_its_channel_and_type(case: Case) -> None:
    body = case.body()
    schema = offered(case.api, case.message.channel)[case.wire_type].schema

    listed = sdk_fields(case)
    extra = undeclared(body, [schema])
    assert extra <= set(listed), f"fields neither the spec nor the SDK list declares: {extra}"
    # The spec alone, on everything it describes...
    jsonschema.validate(without(body, extra), schema)
    # ...and the listed SDK shapes on the rest.
    jsonschema.validate(body, {"allOf": [schema, *(at_path(p, listed[p]) for p in extra)]})


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=param.id)
        for param in CARRIED
        for case in param.values
        if offered(case.api, case.message.channel)[case.wire_type].source == "spec"
    ],
)
def test_spec_described_body_matches_exactly_one_request_branch(case: Case) -> None:
    """The whole request schema (a oneOf over channels, then over types) picks one branch
    for the part of the body the spec describes."""
    body = case.body()
    branch = offered(case.api, case.message.channel)[case.wire_type].schema
    spec_part = without(body, undeclared(body, [branch]))
    request_validator(case.api).validate(spec_part)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=param.id)
        for param in CARRIED
        for case in param.values
        if case.message.buttons
    ],
)
def test_interactive_custom_payload_keeps_whatsapp_rules(case: Case) -> None:
    body = case.body()
    payload = body["custom"] if case.api == "v1" else body["message"]["content"]["custom"]
    jsonschema.validate(payload, INTERACTIVE)


def refused_cases() -> Iterator[Any]:
    for api in ("v1", "v0.1"):
        for channel in Channel:
            types = offered(api, channel)
            for sample in SAMPLES:
                gap = V1_KNOWN_GAPS.get((channel, sample.type)) if api == "v1" else None
                if not carries(types, channel, sample.type) or gap:
                    case = Case(api, outbound(channel, sample))
                    words = (channel.value, sample.type, *([gap] if gap else []))
                    label = f"{api}-{channel.value}-{sample.type}"
                    yield pytest.param(case, words, id=label + ("[known gap]" if gap else ""))


@pytest.mark.parametrize(("case", "words"), list(refused_cases()))
def test_content_a_channel_cannot_carry_is_refused_with_words(
    case: Case, words: tuple[str, ...]
) -> None:
    with pytest.raises(UnsupportedContent) as refused:
        case.body()

    for word in words:
        assert word in str(refused.value)
    assert refused.value.channel is case.message.channel


@pytest.mark.parametrize("api", ["v1", "v0.1"])
@pytest.mark.parametrize("channel", [c for c in Channel if c is not Channel.WHATSAPP])
def test_buttons_off_whatsapp_are_refused_with_words(api: str, channel: Channel) -> None:
    message = outbound(channel, Text(text="Pick one"), buttons=as_buttons(["Yes", "No"]))
    builder: Callable[[Outbound], dict[str, Any]] = (
        messages_v1.body if api == "v1" else messages_v0.body
    )

    with pytest.raises(UnsupportedContent, match=rf"buttons to {channel.value}"):
        builder(message)


# --- the SMS API -------------------------------------------------------------------------------

API_KEY = "abcd1234"
LONG_SIGNATURES = {"sha256": 64, "sha512": 128}
"""Hex lengths of HMAC signatures beyond NewMessage's ``sig`` maxLength of 60."""


def sms_cases() -> Iterator[Any]:
    texts = {"gsm": "Hello", "gsm-extension": "Grüße, 10 €", "unicode": "Привет 👋"}
    options = (None, SmsOptions(ttl=900, entity_id="1101456324675322134", content_id="110745"))
    for name, text in texts.items():
        for option in options:
            message = outbound(Channel.SMS, Text(text=text), sms=option)
            label = f"secret-{name}-{'options' if option else 'plain'}"
            yield pytest.param(message, {"api_secret": "s3cr3t-value"}, id=label)
    message = outbound(Channel.SMS, Text(text="Signed"))
    for method in ("md5hash", "md5", "sha1", "sha256", "sha512"):
        auth = {"signature_secret": "sig-secret", "signature_method": method, "now": 1.7e9}
        yield pytest.param(message, auth, id=f"signed-{method}")
    yield pytest.param(message, {"api_secret": "s3cr3t", "status_report": False}, id="no-dlr")


def form_to_typed(form: Mapping[str, str], schema: Schema) -> dict[str, Any]:
    """Form values (all strings) as the types the schema gives them, as a form decoder would."""
    properties = schema.get("properties", {})
    typed: dict[str, Any] = {}
    for key, value in form.items():
        kind = properties.get(key, {}).get("type")
        if kind == "integer":
            typed[key] = int(value)
        elif kind == "boolean":
            assert value in ("true", "false"), f"{key}={value!r} is not a form boolean"
            typed[key] = value == "true"
        else:
            typed[key] = value
    return typed


@pytest.mark.parametrize(("message", "auth"), list(sms_cases()))
def test_sms_api_params_match_new_message(message: Outbound, auth: dict[str, Any]) -> None:
    form = sms_api.params(message, api_key=API_KEY, **auth)
    spec = load_spec("sms")
    schema = to_json_schema(spec, spec["components"]["schemas"]["NewMessage"])

    assert all(isinstance(value, str) for value in form.values())
    extra = set(form) - set(schema["properties"])
    # ``timestamp`` belongs to request signing (doc:concepts/guides/signing-messages), which
    # NewMessage does not describe.
    assert extra <= {"timestamp"}
    assert ("timestamp" in extra) == ("sig" in form)
    typed = form_to_typed(form, schema)
    method = auth.get("signature_method", "")
    if method in LONG_SIGNATURES:
        # NewMessage caps ``sig`` at 60 characters, shorter than the hex HMAC-SHA256/512 the
        # account's signature methods produce; everything else is checked as published.
        assert len(form["sig"]) == LONG_SIGNATURES[method]
        schema["properties"]["sig"] = {**schema["properties"]["sig"], "maxLength": 128}
    jsonschema.validate(without(typed, {"timestamp"}), schema)


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if not isinstance(s, Text)], ids=lambda s: s.type
)
def test_sms_api_refuses_everything_but_text_with_words(sample: Any) -> None:
    with pytest.raises(UnsupportedContent, match=rf"SMS API cannot send {sample.type} to sms"):
        sms_api.params(outbound(Channel.SMS, sample), api_key=API_KEY, api_secret="s3cr3t")


@pytest.mark.parametrize("channel", [c for c in Channel if c is not Channel.SMS])
def test_sms_api_refuses_other_channels_with_words(channel: Channel) -> None:
    with pytest.raises(UnsupportedContent, match=rf"to {channel.value}"):
        sms_api.params(outbound(channel, Text(text="Hi")), api_key=API_KEY, api_secret="s3cr3t")


# --- custom objects botkit builds --------------------------------------------------------------

_TEXT = {"type": "string", "minLength": 1}


def _listed(key: str) -> Schema:
    return {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": [key],
            "properties": {key: _TEXT, "type": {"type": "string"}},
            "additionalProperties": False,
        },
    }


CONTACTS: Schema = {
    "type": "object",
    "required": ["type", "contacts"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "contacts"},
        "contacts": {
            "type": "array",
            "minItems": 1,
            "maxItems": 257,
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {
                        "type": "object",
                        "required": ["formatted_name"],
                        "anyOf": [{"required": ["first_name"]}, {"required": ["last_name"]}],
                        "additionalProperties": False,
                        "properties": {
                            "formatted_name": _TEXT,
                            "first_name": _TEXT,
                            "last_name": _TEXT,
                        },
                    },
                    "phones": _listed("phone"),
                    "emails": _listed("email"),
                    "urls": _listed("url"),
                    "org": {
                        "type": "object",
                        "properties": {"company": _TEXT},
                        "additionalProperties": False,
                    },
                    "birthday": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
            },
        },
    },
}
"""WhatsApp's contacts message (Cloud API reference): ``formatted_name`` and one more name part
required, the rest optional."""

_FB_BUTTONS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 3,
    "items": {
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "url", "title"],
                "additionalProperties": False,
                "properties": {
                    "type": {"const": "web_url"},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "title": {"type": "string", "minLength": 1, "maxLength": 20},
                },
            },
            {
                "type": "object",
                "required": ["type", "payload", "title"],
                "additionalProperties": False,
                "properties": {
                    "type": {"const": "postback"},
                    "payload": {"type": "string", "minLength": 1, "maxLength": 1000},
                    "title": {"type": "string", "minLength": 1, "maxLength": 20},
                },
            },
        ]
    },
}

MESSENGER_TEMPLATE: Schema = {
    "type": "object",
    "required": ["attachment"],
    "additionalProperties": False,
    "properties": {
        "attachment": {
            "type": "object",
            "required": ["type", "payload"],
            "properties": {
                "type": {"const": "template"},
                "payload": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["template_type", "elements"],
                            "additionalProperties": False,
                            "properties": {
                                "template_type": {"const": "generic"},
                                "elements": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 10,
                                    "items": {
                                        "type": "object",
                                        "required": ["title"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "title": {"type": "string", "maxLength": 80},
                                            "subtitle": {"type": "string", "maxLength": 80},
                                            "image_url": {"type": "string"},
                                            "default_action": {
                                                "type": "object",
                                                "required": ["type", "url"],
                                                "properties": {"type": {"const": "web_url"}},
                                            },
                                            "buttons": _FB_BUTTONS,
                                        },
                                    },
                                },
                            },
                        },
                        {
                            "type": "object",
                            "required": ["template_type", "text", "buttons"],
                            "additionalProperties": False,
                            "properties": {
                                "template_type": {"const": "button"},
                                "text": {"type": "string", "minLength": 1, "maxLength": 640},
                                "buttons": _FB_BUTTONS,
                            },
                        },
                    ]
                },
            },
        }
    },
}
"""Messenger's generic and button templates (Messenger Platform reference)."""

OWN_SCHEMAS = {
    "contacts": CONTACTS,
    "generic_template": MESSENGER_TEMPLATE,
    "button_template": MESSENGER_TEMPLATE,
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=param.id)
        for param in CARRIED
        for case in param.values
        if case.message.content.type in OWN_SCHEMAS
    ],
)
def test_contact_cards_and_messenger_templates_keep_their_platforms_rules(case: Case) -> None:
    body = case.body()
    payload = body["custom"] if case.api == "v1" else body["message"]["content"]["custom"]
    jsonschema.validate(payload, OWN_SCHEMAS[case.message.content.type])
