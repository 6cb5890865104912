"""The official request schemas a send must satisfy, one per channel and message type.

The send body of ``POST /v1/messages`` is a ``oneOf`` per channel of a ``oneOf`` per message
type; v0.1's ``message`` schema is built the same way. Rather than checking a body against the
whole tree (whose errors name every branch it failed), the sandbox picks the one leaf for the
body's channel and type, as the provider does, and reports that leaf's violations as
``invalid_parameters``.

A few types are not in the public spec but are sent by the provider's own SDKs (WhatsApp
``sticker`` and ``reaction``; MMS ``text``, ``file`` and multi-part ``content``; v0.1
``custom`` and WhatsApp ``location``). Each gets a small schema here, built on the spec's own
channel options, and the SDK-only top-level fields (``webhook_url``, ``webhook_version``,
``ttl``, ``context``, ``sms`` options) are checked on every v1 leaf so that a wrong value is
refused while the field itself is never.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal

import jsonschema

from botkit.sandbox.problems import InvalidParameter
from botkit.vonage.openapi import SpecName, load_spec, resolve, to_json_schema

SendApi = Literal["v1", "v0.1"]

_REF = "#/components/schemas/"

_V1_SDK_FIELDS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_url": {"type": "string", "minLength": 1},
        "webhook_version": {"type": "string", "enum": ["v1", "v0.1"]},
        "ttl": {"type": "integer", "minimum": 1},
        "trusted_recipient": {"type": "boolean"},
        "failover": {"type": "array"},
    },
}

_V1_SDK_CHANNEL_FIELDS: Mapping[str, dict[str, Any]] = {
    "whatsapp": {
        "type": "object",
        "properties": {
            "context": {
                "type": "object",
                "required": ["message_uuid"],
                "properties": {"message_uuid": {"type": "string", "minLength": 1}},
            }
        },
    },
    "sms": {
        "type": "object",
        "properties": {
            "sms": {
                "type": "object",
                "properties": {
                    "encoding_type": {"type": "string", "enum": ["text", "unicode", "auto"]},
                    "content_id": {"type": "string"},
                    "entity_id": {"type": "string"},
                },
            }
        },
    },
    "mms": {
        "type": "object",
        "properties": {"ttl": {"type": "integer", "minimum": 300, "maximum": 259200}},
    },
}


def _typed(message_type: str, required: Sequence[str], properties: dict[str, Any]) -> Any:
    return {
        "type": "object",
        "required": ["message_type", *required],
        "properties": {
            "message_type": {"type": "string", "enum": [message_type]},
            **properties,
        },
    }


_URL = {"type": "string", "minLength": 1}
_MEDIA = {"type": "object", "required": ["url"], "properties": {"url": _URL}}

_V1_SDK_LEAVES: Mapping[tuple[str, str], tuple[str, Any]] = {
    ("whatsapp", "sticker"): (
        "channelOptionsWhatsapp",
        _typed(
            "sticker",
            ["sticker"],
            {
                "sticker": {
                    "type": "object",
                    "properties": {"url": _URL, "id": {"type": "string", "minLength": 1}},
                }
            },
        ),
    ),
    ("whatsapp", "reaction"): (
        "channelOptionsWhatsapp",
        _typed(
            "reaction",
            ["reaction", "context"],
            {
                "reaction": {
                    "type": "object",
                    "required": ["action"],
                    "properties": {
                        "action": {"type": "string", "enum": ["react", "unreact"]},
                        "emoji": {"type": "string"},
                    },
                }
            },
        ),
    ),
    ("mms", "text"): ("channelOptionsMms", _typed("text", ["text"], {"text": {"type": "string"}})),
    ("mms", "file"): ("channelOptionsMms", _typed("file", ["file"], {"file": _MEDIA})),
    ("mms", "content"): (
        "channelOptionsMms",
        _typed(
            "content",
            ["content"],
            {
                "content": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "url"],
                        "properties": {
                            "type": {
                                "type": "string",
                                "enum": ["image", "audio", "video", "file", "vcard"],
                            },
                            "url": _URL,
                            "caption": {"type": "string"},
                        },
                    },
                }
            },
        ),
    ),
}


def _v0_custom(options: str) -> Any:
    return {
        "allOf": [
            {"$ref": _REF + options},
            {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {
                        "type": "object",
                        "required": ["content"],
                        "properties": {
                            "content": {
                                "type": "object",
                                "required": ["type", "custom"],
                                "properties": {
                                    "type": {"type": "string", "enum": ["custom"]},
                                    "custom": {"type": "object"},
                                },
                            }
                        },
                    }
                },
            },
        ]
    }


_V0_EXTRA_LEAVES: Mapping[tuple[str, str], Any] = {
    ("whatsapp", "custom"): _v0_custom("channelOptionsWhatsapp"),
    ("messenger", "custom"): _v0_custom("channelOptionsFacebook"),
    ("viber_service_msg", "custom"): _v0_custom("channelOptionsViber"),
    ("whatsapp", "location"): {
        "allOf": [
            {"$ref": _REF + "channelOptionsWhatsapp"},
            {"$ref": _REF + "locationMessageWhatsApp"},
        ]
    },
}

_LEAF_KEYS: Mapping[SendApi, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "v1": (("channel",), ("message_type",)),
    "v0.1": (("to", "type"), ("message", "content", "type")),
}
_SPEC: Mapping[SendApi, SpecName] = {"v1": "messages-v1", "v0.1": "messages-v0.1"}


class SendSchemas:
    """The validators of one send API, by ``(wire channel, message type)``."""

    def __init__(self, api: SendApi) -> None:
        self.api = api
        spec = load_spec(_SPEC[api])
        body = spec["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        channel_path, type_path = _LEAF_KEYS[api]
        leaves: dict[tuple[str, str], Any] = {}
        for leaf in _leaves(spec, body):
            for channel in _enums_at(spec, leaf, channel_path):
                for message_type in _enums_at(spec, leaf, type_path):
                    leaves[(channel, message_type)] = leaf
        if api == "v1":
            for key, (options, part) in _V1_SDK_LEAVES.items():
                leaves[key] = {
                    "allOf": [{"$ref": _REF + "baseMessageType"}, {"$ref": _REF + options}, part]
                }
            for (channel, message_type), leaf in list(leaves.items()):
                extras = [_V1_SDK_FIELDS]
                if channel in _V1_SDK_CHANNEL_FIELDS:
                    extras.append(_V1_SDK_CHANNEL_FIELDS[channel])
                leaves[(channel, message_type)] = {"allOf": [leaf, *extras]}
        else:
            leaves.update(_V0_EXTRA_LEAVES)
        self._validators = {
            key: jsonschema.Draft202012Validator(to_json_schema(spec, leaf))
            for key, leaf in leaves.items()
        }

    @property
    def channels(self) -> frozenset[str]:
        """The wire channel names this API sends to."""
        return frozenset(channel for channel, _ in self._validators)

    def message_types(self, channel: str) -> frozenset[str]:
        """The message types ``channel`` can carry in this API."""
        return frozenset(kind for name, kind in self._validators if name == channel)

    def check(self, channel: str, message_type: str, body: Any) -> list[InvalidParameter]:
        """Every violation of the leaf for ``channel`` and ``message_type`` (which must be a
        pair this API knows), sorted by parameter name."""
        return parameters_of(self._validators[(channel, message_type)].iter_errors(body))


@cache
def send_schemas(api: SendApi) -> SendSchemas:
    """The (cached) :class:`SendSchemas` of ``api``."""
    return SendSchemas(api)


@cache
def sms_schema() -> dict[str, Any]:
    """The SMS API's ``NewMessage`` parameters as a JSON Schema (``required`` left out: the SMS
    API answers missing parameters with its own status code)."""
    spec = load_spec("sms")
    schema = to_json_schema(spec, {"$ref": _REF + "NewMessage"})
    schema.pop("required", None)
    return schema


def check_sms_params(params: Mapping[str, Any]) -> list[InvalidParameter]:
    """Violations of ``NewMessage`` by ``params`` (values already converted to the schema's
    types where they could be)."""
    validator = jsonschema.Draft202012Validator(sms_schema())
    return parameters_of(validator.iter_errors(dict(params)))


def parameters_of(errors: Iterable[Any]) -> list[InvalidParameter]:
    """``invalid_parameters`` entries for jsonschema errors: one per parameter, in name order."""
    found: dict[str, str] = {}
    for error in errors:
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, Mapping):
            for name in error.validator_value:
                if name not in error.instance:
                    found.setdefault(_join([*path, name]), "is required.")
            continue
        found.setdefault(_join(path), _reason(error))
    return [InvalidParameter(name, found[name]) for name in sorted(found)]


def _join(path: Sequence[str]) -> str:
    out = ""
    for part in path:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "body"


def _reason(error: Any) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "type":
        kinds = value if isinstance(value, list) else [value]
        return "must be of type " + " or ".join(str(k) for k in kinds) + "."
    if kind == "enum":
        return "must be one of: " + ", ".join(f"`{v}`" for v in value) + "."
    if kind == "minLength":
        return "must not be empty." if value == 1 else f"must be at least {value} characters."
    if kind == "maxLength":
        return f"must be at most {value} characters."
    if kind == "minimum":
        return f"must be at least {value}."
    if kind == "maximum":
        return f"must be at most {value}."
    if kind == "minItems":
        return f"must have at least {value} item{'s' if value != 1 else ''}."
    if kind == "pattern":
        return f"must match the pattern `{value}`."
    return str(error.message)


def _leaves(spec: Mapping[str, Any], node: Any) -> list[Any]:
    """The schemas at the ends of nested ``oneOf`` branches."""
    node = resolve(spec, node)
    if isinstance(node, Mapping) and isinstance(node.get("oneOf"), list):
        return [leaf for branch in node["oneOf"] for leaf in _leaves(spec, branch)]
    return [node]


def _enums_at(spec: Mapping[str, Any], node: Any, path: Sequence[str]) -> set[str]:
    """Every ``enum`` value a schema gives the property at ``path`` (through ``allOf``)."""
    node = resolve(spec, node)
    found: set[str] = set()
    if not isinstance(node, Mapping):
        return found
    for part in node.get("allOf", []):
        found |= _enums_at(spec, part, path)
    if not path:
        found |= {str(v) for v in node.get("enum", [])}
        return found
    properties = node.get("properties", {})
    if path[0] in properties:
        found |= _enums_at(spec, properties[path[0]], path[1:])
    return found
