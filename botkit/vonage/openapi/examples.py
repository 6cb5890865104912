"""Example webhook payloads synthesised from the specs' own schemas.

The provider's files describe each webhook as a schema, often a tree of ``oneOf`` branches (one
per channel, then one per message type). :func:`webhook_examples` walks that tree and builds one
complete payload per leaf, so tests can be generated from the contract itself instead of from
hand-written fixtures.

How a value is chosen, per schema: ``allOf`` parts are merged into one schema (later parts win,
``properties`` merge, ``required`` accumulates); every ``oneOf``/``anyOf`` branch becomes its own
example, and nested branches multiply. An object gets every declared property. An array gets
its ``example`` or else one element. A scalar gets its ``example``, else the first ``enum``
value, else its ``default``, else a placeholder of its type that respects ``format``,
``minLength``/``maxLength`` and ``minimum``/``maximum``.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botkit.vonage.openapi import SpecName, load_spec, resolve

WebhookName = Literal["inbound", "status", "final-report", "sms-inbound", "sms-dlr"]

_WEBHOOKS: Mapping[str, WebhookName] = {
    "inbound-message": "inbound",
    "message-status": "status",
    "final-report": "final-report",
    "inbound-sms": "sms-inbound",
    "delivery-receipt": "sms-dlr",
}
"""Webhook names by the ``operationId`` the specs give them."""

# The SMS API spec declares these bodies as JSON, but they arrive as query or form parameters
# (the account chooses), where every value is a string.
_FORM_WEBHOOKS: frozenset[WebhookName] = frozenset({"sms-inbound", "sms-dlr"})

_ID_PREFIX: Mapping[SpecName, str] = {
    "messages-v1": "v1",
    "messages-v0.1": "v0.1",
    "dispatch": "dispatch",
    "sms": "sms",
    "application": "application",
}

_COMBINERS = ("allOf", "oneOf", "anyOf")
_MAX_DEPTH = 64

Labels = tuple[str, ...]


@dataclass(frozen=True)
class SpecExample:
    """One payload a webhook of ``spec`` may carry, built from the spec's schema.

    ``id`` names the spec, the webhook and the ``oneOf`` branches taken, for example
    ``v1/inbound/whatsapp/location``.
    """

    id: str
    spec: SpecName
    webhook: WebhookName
    payload: dict[str, Any]


def webhook_schemas(spec_name: SpecName) -> dict[WebhookName, Any]:
    """The request-body schema of each webhook (or callback) ``spec_name`` declares.

    Keys are the webhook names of :class:`SpecExample`; values are schema objects of the patched
    spec, with ``$ref``s in place. A spec without webhooks gives an empty dict.
    """
    spec = load_spec(spec_name)
    schemas: dict[WebhookName, Any] = {}
    for operation in _webhook_operations(spec):
        webhook = _WEBHOOKS.get(str(operation.get("operationId")))
        if webhook is None:
            continue
        content = operation["requestBody"]["content"]
        schemas[webhook] = next(iter(content.values()))["schema"]
    return schemas


def webhook_examples(spec_name: SpecName) -> list[SpecExample]:
    """One example payload per variant of every webhook ``spec_name`` declares.

    Variants are the leaves of the schema's ``oneOf``/``anyOf`` tree. Payloads of the SMS API's
    inbound and delivery-receipt webhooks hold strings only, as they do on the wire. Ids are
    unique; should two variants ever get the same name, the later ones end in ``-2``, ``-3``...
    Raises :class:`ValueError` if a schema refers to itself or does not describe an object.
    """
    spec = load_spec(spec_name)
    examples: list[SpecExample] = []
    seen: Counter[str] = Counter()
    for webhook, schema in webhook_schemas(spec_name).items():
        for labels, payload in synthesise(spec, schema):
            if not isinstance(payload, dict):
                raise ValueError(f"{spec_name} {webhook}: the schema does not describe an object")
            if webhook in _FORM_WEBHOOKS:
                payload = {key: _form_value(value) for key, value in payload.items()}
            example_id = "/".join((_ID_PREFIX[spec_name], webhook, *labels))
            seen[example_id] += 1
            if seen[example_id] > 1:
                example_id = f"{example_id}-{seen[example_id]}"
            examples.append(SpecExample(example_id, spec_name, webhook, payload))
    return examples


def synthesise(spec: Mapping[str, Any], schema: Any) -> list[tuple[Labels, Any]]:
    """Every example value of ``schema`` (a schema object of ``spec``), with its branch labels.

    Each item pairs the labels of the ``oneOf``/``anyOf`` branches taken (a branch is named by
    its ``x-tab-id`` or ``title``, or those of its last titled ``allOf`` part, or its ``$ref``
    name, else its index; lower-cased, dashes for other characters) with a value built as the
    module describes. Values share nothing with ``spec``.
    """
    return [(labels, copy.deepcopy(value)) for labels, value in _examples(spec, schema, 0)]


def _webhook_operations(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Operations of ``x-webhooks`` and of every path operation's ``callbacks``."""
    containers: list[Any] = list(spec.get("x-webhooks", {}).values())
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, Mapping):
                containers.extend(operation.get("callbacks", {}).values())
    for expressions in containers:
        for path_item in expressions.values():
            for operation in path_item.values():
                if isinstance(operation, Mapping) and "requestBody" in operation:
                    yield operation


def _examples(spec: Mapping[str, Any], schema: Any, depth: int) -> list[tuple[Labels, Any]]:
    out: list[tuple[Labels, Any]] = []
    for labels, flat in _flatten(spec, schema, depth):
        out.extend((labels + sub, value) for sub, value in _value(spec, flat, depth))
    return out


def _flatten(
    spec: Mapping[str, Any], schema: Any, depth: int
) -> list[tuple[Labels, dict[str, Any]]]:
    """The schema's variants, each with ``allOf``, ``oneOf`` and ``anyOf`` merged away."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"schemas nest deeper than {_MAX_DEPTH} levels (a recursive $ref?)")
    node = resolve(spec, schema)
    if not isinstance(node, Mapping):
        return [((), {})]
    variants: list[tuple[Labels, dict[str, Any]]] = [
        ((), {key: value for key, value in node.items() if key not in _COMBINERS})
    ]
    for part in node.get("allOf", []):
        parts = _flatten(spec, part, depth + 1)
        variants = [(la + lb, _merge(a, b)) for la, a in variants for lb, b in parts]
    for combiner in ("oneOf", "anyOf"):
        if combiner not in node:
            continue
        branches = [
            ((_label(spec, branch, index), *labels), flat)
            for index, branch in enumerate(node[combiner])
            for labels, flat in _flatten(spec, branch, depth + 1)
        ]
        variants = [(la + lb, _merge(a, b)) for la, a in variants for lb, b in branches]
    return variants


def _merge(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two flat schemas as ``allOf`` would, ``second``'s keywords winning."""
    merged = dict(first)
    for key, value in second.items():
        if key == "properties" and isinstance(merged.get(key), Mapping):
            properties = dict(merged[key])
            for name, sub in value.items():
                # Both schemas of a property apply; a nested allOf merges them when the
                # property's own value is built.
                properties[name] = {"allOf": [properties[name], sub]} if name in properties else sub
            merged[key] = properties
        elif key == "required" and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *(name for name in value if name not in merged[key])]
        else:
            merged[key] = value
    return merged


def _value(
    spec: Mapping[str, Any], flat: Mapping[str, Any], depth: int
) -> list[tuple[Labels, Any]]:
    kind = flat.get("type")
    if kind == "object" or (kind is None and "properties" in flat):
        if "example" in flat and "properties" not in flat:
            return [((), flat["example"])]
        objects: list[tuple[Labels, dict[str, Any]]] = [((), {})]
        for name, sub in flat.get("properties", {}).items():
            values = _examples(spec, sub, depth + 1)
            objects = [(la + lb, {**obj, name: v}) for la, obj in objects for lb, v in values]
        return list(objects)
    if kind == "array" or (kind is None and "items" in flat):
        if "example" in flat:
            return [((), flat["example"])]
        if "items" not in flat:
            return [((), [])]
        return [(labels, [item]) for labels, item in _examples(spec, flat["items"], depth + 1)]
    if "example" in flat:
        return [((), flat["example"])]
    if flat.get("enum"):
        return [((), flat["enum"][0])]
    if "default" in flat:
        return [((), flat["default"])]
    return [((), _placeholder(flat))]


def _placeholder(flat: Mapping[str, Any]) -> Any:
    """A value of the schema's type within its bounds, for a schema with no example."""
    kind = flat.get("type", "string")
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        low, high = flat.get("minimum"), flat.get("maximum")
        value = low if low is not None else (min(0, high) if high is not None else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "null":
        return None
    fmt = flat.get("format")
    if fmt == "date-time":
        return "2020-01-01T14:00:00Z"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    text = "string"
    low_len = flat.get("minLength")
    high_len = flat.get("maxLength")
    if isinstance(low_len, int) and len(text) < low_len:
        text = text.ljust(low_len, "x")
    if isinstance(high_len, int):
        text = text[:high_len]
    return text


def _label(spec: Mapping[str, Any], branch: Any, index: int) -> str:
    title = _title(spec, branch, 0)
    if title is None and isinstance(branch, Mapping) and isinstance(branch.get("$ref"), str):
        title = branch["$ref"].rsplit("/", 1)[-1]
    return _slug(title) if title else str(index)


def _title(spec: Mapping[str, Any], node: Any, depth: int) -> str | None:
    """The branch's tab id or title, else its last titled ``allOf`` part's, else None."""
    if depth > _MAX_DEPTH:
        return None
    node = resolve(spec, node)
    if not isinstance(node, Mapping):
        return None
    for key in ("x-tab-id", "title"):
        if isinstance(node.get(key), str):
            return str(node[key])
    for part in reversed(node.get("allOf", [])):
        title = _title(spec, part, depth + 1)
        if title is not None:
            return title
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def _form_value(value: Any) -> str:
    """How a value reads once sent as a query or form parameter."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
