"""Corrections to the provider's public OpenAPI files: the one place where they are fixed.

The YAML files beside this module are unmodified copies of Vonage's public specs (last
published February 2023). Where a file contradicts itself or the API's observed behaviour,
a small function below repairs the parsed document in place. Its docstring says what the
public file gets wrong and how botkit knows. :data:`PATCHES` lists them per spec;
:func:`apply_patches` runs them.

Each patch first checks that the mistake is still there and raises :class:`PatchMismatchError` if
not. A newer copy of a spec then fails loudly instead of being silently "fixed" twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]


class PatchMismatchError(RuntimeError):
    """A patch did not find the mistake it repairs: the spec file changed under it."""


@dataclass(frozen=True)
class SpecPatch:
    """One named repair of one spec."""

    spec: str
    """The :data:`botkit.vonage.openapi.SpecName` it applies to."""
    apply: Callable[[Spec], None]

    @property
    def name(self) -> str:
        return self.apply.__name__

    @property
    def description(self) -> str:
        return (self.apply.__doc__ or "").strip()


def _schemas(spec: Spec) -> dict[str, Any]:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


def _expect(condition: bool, patch: str, what: str) -> None:
    if not condition:
        raise PatchMismatchError(f"patch {patch} no longer applies: {what}")


def _channel_part(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The inline part of an ``allOf: [$ref base, {...}]`` status schema."""
    part: dict[str, Any] = schema["allOf"][1]
    return part


# --- Messages API v1 (messages-olympus.yml 1.4.0) ----------------------------------------------


def v1_base_message_requires_message(spec: Spec) -> None:
    """``baseMessageType.required`` lists ``message``, a field v1 does not have.

    v1 messages are flat (``message_type`` plus a content field named after it); ``message``
    is a leftover of v0.1's nested body. No v1 payload, sent or received, carries it.
    """
    required = _schemas(spec)["baseMessageType"]["required"]
    _expect("message" in required, "v1_base_message_requires_message", "`message` not required")
    required.remove("message")


def v1_unauthorized_requires_details(spec: Spec) -> None:
    """The two 401 error schemas require ``details`` but define (and the API sends) ``detail``.

    The property list, the examples and every other problem+json error in the file say
    ``detail`` (RFC 7807); ``details`` is a typo in ``required`` only.
    """
    for name in ("ErrorUnauthorizedInvalidApplication", "ErrorUnauthorizedMissingCredentials"):
        schema = _schemas(spec)[name]
        required = schema["required"]
        _expect("details" in required, "v1_unauthorized_requires_details", f"{name} fixed")
        _expect("detail" in schema["properties"], "v1_unauthorized_requires_details", name)
        required[required.index("details")] = "detail"


def v1_status_error_title_example_is_a_number(spec: Spec) -> None:
    """The status ``error.title`` is declared a string but its example is the number ``1000``.

    The YAML leaves ``1000`` unquoted. The property's description and the SDK fixtures
    (``"title": "1000"``) make it the error code as a string; botkit's parser also accepts a
    number, which one SDK's tests send.
    """
    title = _schemas(spec)["messageStatusBase"]["properties"]["error"]["properties"]["title"]
    _expect(title.get("example") == 1000, "v1_status_error_title_example_is_a_number", "example")
    title["example"] = "1000"


def v1_status_base_enum_omits_read(spec: Spec) -> None:
    """``messageStatusBase.status`` allows no ``read``, yet WhatsApp, Messenger and Viber add it.

    Those channel schemas extend the base with ``allOf``, which can only narrow an enum, so
    their own example status ``read`` fails the base. The base now lists ``read`` and the SMS
    and MMS schemas (where ``read`` does not exist) carry the narrower enum themselves.
    """
    schemas = _schemas(spec)
    status = schemas["messageStatusBase"]["properties"]["status"]
    _expect("read" not in status["enum"], "v1_status_base_enum_omits_read", "base has read")
    narrow = list(status["enum"])
    status["enum"] = [*narrow, "read"]
    for name in ("messageStatusSMS", "messageStatusMMS"):
        properties = _channel_part(schemas[name])["properties"]
        _expect("status" not in properties, "v1_status_base_enum_omits_read", name)
        properties["status"] = {"type": "string", "enum": narrow}


_ADDRESSES = "v1_status_addresses_are_numbers_for_every_channel"


def v1_status_addresses_are_numbers_for_every_channel(spec: Spec) -> None:
    """``messageStatusBase`` pins ``to``/``from`` to the 7-15 character phone number schemas.

    Messenger statuses carry page and user ids (1-50 characters) and Viber statuses come
    ``from`` a service id, but ``allOf`` cannot loosen the base, so a Messenger id of another
    length fails. The base now leaves the addresses to each channel's schema.
    """
    schemas = _schemas(spec)
    base = schemas["messageStatusBase"]["properties"]
    _expect("to" in base and "from" in base, _ADDRESSES, "the base has no to/from")
    del base["to"], base["from"]
    ref = "#/components/schemas/"
    addresses = {
        "messageStatusSMS": ("ToNumber", "FromNumber"),
        "messageStatusMMS": ("ToNumber", "FromNumber"),
        "messageStatusWhatsApp": ("ToNumber", "FromNumber"),
        "messageStatusViber": ("ToNumber", "FromId"),
    }
    for name, (to, sender) in addresses.items():
        properties = _channel_part(schemas[name])["properties"]
        properties["to"] = {"$ref": ref + to}
        properties["from"] = {"$ref": ref + sender}
    messenger = _channel_part(schemas["messageStatusMessenger"])["properties"]
    _expect("to" in messenger, _ADDRESSES, "Messenger lost its own ids")


def v1_viber_video_requires_options_on_video(spec: Spec) -> None:
    """The Viber video send schema requires ``video.duration`` and ``video.file_size``.

    Both are defined (and sent, by the SDKs) under ``viber_service``, not ``video``; the
    ``required`` list sits on the wrong object.
    """
    branches = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]
    viber = next(b for b in branches["schema"]["oneOf"] if b.get("title") == "Viber")
    video_branch = viber["oneOf"][2]["allOf"]
    video = video_branch[1]["properties"]["video"]
    _expect(
        "duration" in video["required"],
        "v1_viber_video_requires_options_on_video",
        "video no longer requires duration",
    )
    video["required"] = [f for f in video["required"] if f not in ("duration", "file_size")]
    options = _schemas(spec)["channelOptionsViberVideo"]["properties"]["viber_service"]
    options["required"] = ["duration", "file_size"]


# --- Messages API v0.1 (messages-olympus.v0.yml 0.5.0) -----------------------------------------


def v0_inbound_mms_has_no_content(spec: Spec) -> None:
    """The inbound MMS schema requires ``message`` but never says what is in it.

    ``mmsMessageCommon`` only defines ``to`` and ``from``. The send side of the same file
    describes MMS content as an image or a vCard; the inbound branch now offers the same two.
    That schema is shared with sending, where ``from`` is the business's US short code: on an
    inbound message ``to`` is the business's number and ``from`` the handset, so the examples
    are swapped to match.
    """
    inbound = _schemas(spec)["inbound-message"]["oneOf"]
    mms = next(b for b in inbound if b.get("title") == "MMS")
    _expect(len(mms.get("allOf", [])) == 2, "v0_inbound_mms_has_no_content", "MMS changed")
    common = mms.pop("allOf")
    ref = "#/components/schemas/"
    directions = {
        "properties": {
            "to": {"properties": {"number": {"example": "12345"}}},
            "from": {"properties": {"number": {"example": "447700900001"}}},
        }
    }
    mms["oneOf"] = [
        {"title": title, "x-tab-id": tab, "allOf": [*common, directions, {"$ref": ref + schema}]}
        for title, tab, schema in (
            ("Image", "image", "imageMessageMms"),
            ("VCard", "vcard", "vcardMessageMms"),
        )
    ]


def v0_inbound_template_requires_whatsapp_options(spec: Spec) -> None:
    """``templateMessageWhatsAppInbound`` requires ``message.whatsapp`` without defining it.

    ``whatsapp`` (locale and policy) is an option of *sending* a template; the inbound copy
    dropped the property but kept it in ``required``.
    """
    message = _schemas(spec)["templateMessageWhatsAppInbound"]["properties"]["message"]
    name = "v0_inbound_template_requires_whatsapp_options"
    _expect("whatsapp" in message["required"], name, "whatsapp is not required")
    _expect("whatsapp" not in message["properties"], name, "whatsapp is now defined")
    message["required"].remove("whatsapp")


# --- Dispatch API (dispatch.yml 0.3.4) ---------------------------------------------------------


def dispatch_final_report_viber_channel_typo(spec: Spec) -> None:
    """The final report's ``_links.messages[].channel`` enum spells Viber ``viber_sevice_msg``.

    Its own example, the rest of the file and the Messages API v0.1 say ``viber_service_msg``.
    botkit's parser accepts both spellings, in case the typo ever reached the wire.
    """
    links = _schemas(spec)["finalReport"]["properties"]["_links"]["properties"]
    channel = links["messages"]["items"]["properties"]["channel"]
    enum = channel["enum"]
    _expect("viber_sevice_msg" in enum, "dispatch_final_report_viber_channel_typo", "fixed")
    enum[enum.index("viber_sevice_msg")] = "viber_service_msg"


def dispatch_error_requires_undeclared_title(spec: Spec) -> None:
    """The 400 ``Error`` schema requires ``title``, which it does not declare.

    The properties (and the description of the response) are ``type``, ``detail``,
    ``instance`` and ``invalid_parameters``; ``title`` is dropped from ``required``.
    """
    error = _schemas(spec)["Error"]
    name = "dispatch_error_requires_undeclared_title"
    _expect("title" in error["required"], name, "title is not required")
    _expect("title" not in error["properties"], name, "title is now declared")
    error["required"].remove("title")


def dispatch_error_instance_example_is_empty(spec: Spec) -> None:
    """``Error.instance`` is a string whose ``example:`` is left empty, which YAML reads as null.

    The example becomes a trace id shaped like the ones in the Messages API spec.
    """
    instance = _schemas(spec)["Error"]["properties"]["instance"]
    name = "dispatch_error_instance_example_is_empty"
    _expect(instance.get("example", "") is None, name, "the example is set")
    instance["example"] = "bf0ca0bf927b3b52e3cb03217e1a1ddf"


def dispatch_workflow_steps_match_both_branches(spec: Spec) -> None:
    """``workflow[]`` items are ``oneOf`` two schemas that differ only in declaring
    ``failover``, which neither requires nor forbids: every step matches both, so no body
    validates.

    The request's own description says which is which: every message but the last "must
    contain a failover attribute" and the last "does not have" one. ``sendWithFailoverMessage``
    now requires ``failover`` and ``sendMessage`` refuses it, so each step matches exactly one.
    """
    schemas = _schemas(spec)
    with_failover, plain = schemas["sendWithFailoverMessage"], schemas["sendMessage"]
    name = "dispatch_workflow_steps_match_both_branches"
    _expect("failover" not in with_failover["required"], name, "failover is required")
    _expect("not" not in plain, name, "sendMessage already excludes something")
    with_failover["required"].append("failover")
    plain["not"] = {"required": ["failover"]}


PATCHES: tuple[SpecPatch, ...] = (
    SpecPatch("messages-v1", v1_base_message_requires_message),
    SpecPatch("messages-v1", v1_unauthorized_requires_details),
    SpecPatch("messages-v1", v1_status_error_title_example_is_a_number),
    SpecPatch("messages-v1", v1_status_base_enum_omits_read),
    SpecPatch("messages-v1", v1_status_addresses_are_numbers_for_every_channel),
    SpecPatch("messages-v1", v1_viber_video_requires_options_on_video),
    SpecPatch("messages-v0.1", v0_inbound_mms_has_no_content),
    SpecPatch("messages-v0.1", v0_inbound_template_requires_whatsapp_options),
    SpecPatch("dispatch", dispatch_final_report_viber_channel_typo),
    SpecPatch("dispatch", dispatch_error_requires_undeclared_title),
    SpecPatch("dispatch", dispatch_error_instance_example_is_empty),
    SpecPatch("dispatch", dispatch_workflow_steps_match_both_branches),
)
"""Every patch, in the order it is applied."""


def apply_patches(spec_name: str, spec: Spec) -> list[str]:
    """Apply, in place and in order, every patch of :data:`PATCHES` for ``spec_name``.

    Returns the names of the patches applied. Raises :class:`PatchMismatchError` when a patch does
    not find the mistake it repairs, and :class:`KeyError` when the document lacks a part a
    patch expects.
    """
    applied = []
    for patch in PATCHES:
        if patch.spec == spec_name:
            patch.apply(spec)
            applied.append(patch.name)
    return applied
