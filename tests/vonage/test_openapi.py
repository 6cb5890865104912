"""The shipped specs: loading, the patches for their known mistakes, refs, and the synthesiser."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from botkit.vonage.openapi import (
    SPEC_FILES,
    SPEC_NAMES,
    SpecName,
    inline,
    load_spec,
    resolve,
    to_json_schema,
)
from botkit.vonage.openapi.examples import synthesise, webhook_examples, webhook_schemas
from botkit.vonage.openapi.patches import PATCHES, PatchMismatchError, apply_patches


def raw_spec(name: SpecName) -> dict[str, Any]:
    """The file as published, without botkit's patches."""
    text = resources.files("botkit.vonage.openapi").joinpath(SPEC_FILES[name]).read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


# --- loading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_spec_loads_as_an_openapi_3_document(name: SpecName) -> None:
    spec = load_spec(name)

    assert str(spec["openapi"]).startswith("3.0")
    assert spec["components"]


def test_load_spec_hands_out_independent_copies() -> None:
    first = load_spec("messages-v1")
    first["components"]["schemas"].clear()

    assert load_spec("messages-v1")["components"]["schemas"]


def test_unquoted_dates_stay_strings_as_in_json() -> None:
    v1 = load_spec("messages-v1")
    sms = load_spec("sms")

    assert schema(v1, "Timestamp")["example"] == "2020-01-01T14:00:00.000Z"
    timestamp = schema(sms, "InboundMessage")["properties"]["message-timestamp"]
    assert timestamp["example"] == "2020-01-01 12:00:00"


# --- patches -----------------------------------------------------------------------------------


def test_every_patch_says_what_the_spec_gets_wrong() -> None:
    for patch in PATCHES:
        assert patch.spec in SPEC_NAMES
        assert len(patch.description) > 40, patch.name


@pytest.mark.parametrize("name", sorted({patch.spec for patch in PATCHES}))
def test_a_patch_refuses_a_spec_it_already_fixed(name: SpecName) -> None:
    with pytest.raises(PatchMismatchError):
        apply_patches(name, load_spec(name))


def test_apply_patches_names_the_patches_it_applied() -> None:
    applied = apply_patches("dispatch", raw_spec("dispatch"))

    assert applied == [patch.name for patch in PATCHES if patch.spec == "dispatch"]


def test_v1_base_message_no_longer_requires_message() -> None:
    assert "message" in schema(raw_spec("messages-v1"), "baseMessageType")["required"]
    assert "message" not in schema(load_spec("messages-v1"), "baseMessageType")["required"]


@pytest.mark.parametrize(
    "name", ["ErrorUnauthorizedInvalidApplication", "ErrorUnauthorizedMissingCredentials"]
)
def test_v1_unauthorized_errors_require_detail(name: str) -> None:
    assert "details" in schema(raw_spec("messages-v1"), name)["required"]
    required = schema(load_spec("messages-v1"), name)["required"]
    assert "detail" in required
    assert "details" not in required


def test_v1_status_error_title_example_is_a_string() -> None:
    def title(spec: dict[str, Any]) -> Any:
        error = schema(spec, "messageStatusBase")["properties"]["error"]
        return error["properties"]["title"]["example"]

    assert title(raw_spec("messages-v1")) == 1000
    assert title(load_spec("messages-v1")) == "1000"


def test_v1_read_status_is_allowed_where_the_channel_has_it() -> None:
    spec = load_spec("messages-v1")
    status_schema = to_json_schema(spec, {"$ref": "#/components/schemas/messageStatusWhatsApp"})
    sms_schema = to_json_schema(spec, {"$ref": "#/components/schemas/messageStatusSMS"})
    status = {
        "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "to": "447700900000",
        "from": "447700900001",
        "timestamp": "2020-01-01T14:00:00.000Z",
        "status": "read",
    }

    jsonschema.validate({**status, "channel": "whatsapp"}, status_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**status, "channel": "sms"}, sms_schema)


def test_v1_messenger_status_addresses_are_ids_of_any_length() -> None:
    spec = load_spec("messages-v1")
    messenger = to_json_schema(spec, {"$ref": "#/components/schemas/messageStatusMessenger"})
    status = {
        "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "channel": "messenger",
        "to": "1234",
        "from": "107083064136738000",
        "timestamp": "2020-01-01T14:00:00.000Z",
        "status": "delivered",
    }

    jsonschema.validate(status, messenger)


def test_v1_viber_video_options_are_required_where_they_are_defined() -> None:
    options = schema(load_spec("messages-v1"), "channelOptionsViberVideo")
    assert options["properties"]["viber_service"]["required"] == ["duration", "file_size"]


def test_v0_inbound_mms_describes_its_content() -> None:
    def mms(spec: dict[str, Any]) -> dict[str, Any]:
        branches = schema(spec, "inbound-message")["oneOf"]
        found: dict[str, Any] = next(b for b in branches if b.get("title") == "MMS")
        return found

    assert "oneOf" not in mms(raw_spec("messages-v0.1"))
    assert [b["title"] for b in mms(load_spec("messages-v0.1"))["oneOf"]] == ["Image", "VCard"]


def test_v0_inbound_template_does_not_require_send_options() -> None:
    message = schema(load_spec("messages-v0.1"), "templateMessageWhatsAppInbound")
    assert "whatsapp" not in message["properties"]["message"]["required"]


def test_dispatch_final_report_spells_viber_right() -> None:
    def channels(spec: dict[str, Any]) -> list[str]:
        links = schema(spec, "finalReport")["properties"]["_links"]["properties"]
        enum: list[str] = links["messages"]["items"]["properties"]["channel"]["enum"]
        return enum

    assert "viber_sevice_msg" in channels(raw_spec("dispatch"))
    assert "viber_service_msg" in channels(load_spec("dispatch"))
    assert "viber_sevice_msg" not in channels(load_spec("dispatch"))


def test_dispatch_error_requires_only_declared_fields() -> None:
    error = schema(load_spec("dispatch"), "Error")
    assert set(error["required"]) <= set(error["properties"])
    assert isinstance(error["properties"]["instance"]["example"], str)


def _step(channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "to": {"type": channel, "number": "447700900001"},
        "from": {"type": channel, "number": "447700900000"},
        "message": {"content": {"type": "text", "text": "hi"}},
        **extra,
    }


def test_dispatch_workflow_steps_are_told_apart_by_failover() -> None:
    def errors(spec: dict[str, Any], body: Any) -> list[str]:
        workflow = to_json_schema(spec, {"$ref": "#/components/schemas/createWorkflow"})
        return [e.message for e in jsonschema.Draft202012Validator(workflow).iter_errors(body)]

    failover = {"expiry_time": 600, "condition_status": "read"}
    steps = [_step("whatsapp", failover=failover), _step("sms")]
    body = {"template": "failover", "workflow": steps}

    assert errors(raw_spec("dispatch"), body)  # each step matches both branches
    assert errors(load_spec("dispatch"), body) == []


# --- refs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_ref_of_every_spec_resolves(name: SpecName) -> None:
    spec = load_spec(name)

    for ref in set(refs(spec)):
        assert resolve(spec, {"$ref": ref}) is not None, ref


def test_resolve_returns_a_node_without_ref_unchanged() -> None:
    node = {"type": "string"}
    assert resolve(load_spec("sms"), node) is node


def test_resolve_follows_a_local_ref() -> None:
    spec = load_spec("messages-v1")
    resolved = resolve(spec, {"$ref": "#/components/schemas/MessageUuid"})
    assert resolved["example"] == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def test_resolve_reads_refs_into_common_errors_for_the_application_api() -> None:
    spec = load_spec("application")
    ref = "common/common_errors.yml#/components/responses/ThrottledError"

    throttled = resolve(spec, {"$ref": ref})
    schema_ = throttled["content"]["application/json"]["schema"]

    assert schema_["properties"]["retry_after"]["type"] == "integer"
    # The file's own refs now point into it, so they resolve against the application spec.
    instance = resolve(spec, schema_["properties"]["instance"])
    assert instance["description"] == "Instance ID"


def test_resolve_rejects_a_missing_target_and_a_cycle() -> None:
    spec: dict[str, Any] = {
        "components": {
            "schemas": {
                "A": {"$ref": "#/components/schemas/B"},
                "B": {"$ref": "#/components/schemas/A"},
            }
        }
    }
    with pytest.raises(KeyError):
        resolve(spec, {"$ref": "#/components/schemas/Nope"})
    with pytest.raises(ValueError, match="cycle"):
        resolve(spec, {"$ref": "#/components/schemas/A"})


def test_inline_leaves_no_ref_and_rejects_recursion() -> None:
    spec = load_spec("application")
    responses = spec["paths"]["/"]["post"]["responses"]

    assert not list(refs(inline(spec, responses)))
    recursive: dict[str, Any] = {
        "components": {
            "schemas": {
                "Node": {"properties": {"next": {"$ref": "#/components/schemas/Node"}}},
            }
        }
    }
    with pytest.raises(ValueError, match="cycle"):
        inline(recursive, {"$ref": "#/components/schemas/Node"})


def test_to_json_schema_treats_nullable_and_leaves_properties_alone() -> None:
    converted = to_json_schema(
        {},
        {
            "type": "object",
            "properties": {
                "nullable": {"type": "string", "nullable": True, "enum": ["a"]},
                "count": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
            },
        },
    )

    validator = jsonschema.Draft202012Validator(converted)
    assert validator.is_valid({"nullable": None, "count": 1})
    assert not validator.is_valid({"count": 0})
    assert not validator.is_valid({"nullable": "b"})


# --- the synthesiser ---------------------------------------------------------------------------


def test_synthesise_uses_examples_then_enums_then_defaults_then_placeholders() -> None:
    [(labels, value)] = synthesise(
        {},
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "example": "given"},
                "b": {"type": "string", "enum": ["first", "second"]},
                "c": {"type": "integer", "default": 7},
                "d": {"type": "string", "minLength": 10},
                "e": {"type": "integer", "minimum": 30},
                "f": {"type": "array", "items": {"type": "boolean"}},
            },
        },
    )

    assert labels == ()
    assert value == {"a": "given", "b": "first", "c": 7, "d": "stringxxxx", "e": 30, "f": [False]}


def test_synthesise_merges_all_of_with_later_parts_winning() -> None:
    spec = {
        "components": {
            "schemas": {
                "Base": {
                    "properties": {"status": {"type": "string", "example": "submitted"}},
                    "required": ["status"],
                }
            }
        }
    }
    [(_, value)] = synthesise(
        spec,
        {
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"properties": {"status": {"example": "read"}, "channel": {"example": "sms"}}},
            ]
        },
    )

    assert value == {"status": "read", "channel": "sms"}


def test_synthesise_enumerates_every_branch_and_nested_branches_multiply() -> None:
    examples = synthesise(
        {},
        {
            "oneOf": [
                {
                    "title": "Text",
                    "properties": {"kind": {"example": "text"}},
                },
                {
                    "title": "Media",
                    "properties": {"kind": {"example": "media"}},
                    "oneOf": [
                        {"x-tab-id": "Image", "properties": {"url": {"example": "i.jpg"}}},
                        {"x-tab-id": "Video", "properties": {"url": {"example": "v.mp4"}}},
                    ],
                },
            ],
            "properties": {"id": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
        },
    )

    assert [labels for labels, _ in examples] == [
        ("text", "0"),
        ("text", "1"),
        ("media", "image", "0"),
        ("media", "image", "1"),
        ("media", "video", "0"),
        ("media", "video", "1"),
    ]
    assert examples[3][1] == {"id": "string", "kind": "media", "url": "i.jpg"}


def test_webhook_examples_cover_every_declared_webhook() -> None:
    assert set(webhook_schemas("messages-v1")) == {"inbound", "status"}
    assert set(webhook_schemas("messages-v0.1")) == {"inbound", "status"}
    assert set(webhook_schemas("dispatch")) == {"status", "final-report"}
    assert set(webhook_schemas("sms")) == {"sms-inbound", "sms-dlr"}
    assert webhook_examples("application") == []


def test_webhook_example_ids_are_unique_and_readable() -> None:
    ids = [example.id for name in SPEC_NAMES for example in webhook_examples(name)]

    assert len(ids) == len(set(ids))
    assert "v1/inbound/whatsapp/location" in ids
    assert "v0.1/inbound/mms/vcard" in ids
    assert "dispatch/final-report" in ids


def test_sms_api_examples_hold_only_strings_as_on_the_wire() -> None:
    for example in webhook_examples("sms"):
        assert all(isinstance(value, str) for value in example.payload.values()), example.id
