"""Sends the provider refuses at once: each rule meets a hand-made violating request.

Every 422 body is also checked against the v1 spec's own error schema.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.harness import (
    PAGE,
    PSID,
    VIBER_SERVICE,
    WA_BOT,
    WA_USER,
    Harness,
    application_jwt,
    assert_matches_error_schema,
    basic,
    make_key_pair,
)


def whatsapp_text(**fields: Any) -> dict[str, Any]:
    return {
        "channel": "whatsapp",
        "message_type": "text",
        "to": WA_USER,
        "from": WA_BOT,
        "text": "hello",
        **fields,
    }


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        basic(secret="wrong-secret"),
        basic(key="zzzz9999"),
        "Bearer not-a-jwt",
        "Token abc",
    ],
)
async def test_wrong_credentials_are_refused_with_401(harness: Harness, authorization: str) -> None:
    status, body, headers = await harness.send(whatsapp_text(), authorization=authorization)

    assert status == 401
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["title"] == "You did not provide correct credentials."
    assert_matches_error_schema("ErrorUnauthorizedMissingCredentials", body)


async def test_an_application_jwt_is_accepted(harness: Harness, keys: Any) -> None:
    token = application_jwt(keys.private_pem)

    status, body, _ = await harness.send(whatsapp_text(), authorization=f"Bearer {token}")

    assert status == 202, body


async def test_a_jwt_signed_with_another_key_is_refused(harness: Harness) -> None:
    token = application_jwt(make_key_pair().private_pem)

    status, body, _ = await harness.send(whatsapp_text(), authorization=f"Bearer {token}")

    assert status == 401
    assert body["title"] == "You did not provide correct credentials."


async def test_an_expired_jwt_is_refused(harness: Harness, keys: Any) -> None:
    token = application_jwt(keys.private_pem, exp=1_000_000)

    status, _, _ = await harness.send(whatsapp_text(), authorization=f"Bearer {token}")

    assert status == 401


async def test_an_hs256_jwt_is_refused(harness: Harness) -> None:
    import jwt

    token = jwt.encode({"application_id": "x", "iat": 1, "jti": "j"}, "k" * 32, algorithm="HS256")

    status, _, _ = await harness.send(whatsapp_text(), authorization=f"Bearer {token}")

    assert status == 401


# --- body shape --------------------------------------------------------------------------------


async def test_invalid_json_is_422_invalid_json(harness: Harness) -> None:
    status, body, _ = await harness.send(b'{"channel": "whatsapp",')

    assert status == 422
    assert body["type"].endswith("#invalid-json")
    assert_matches_error_schema("ErrorInvalidJson", body)


async def test_a_json_array_is_422_invalid_json(harness: Harness) -> None:
    status, body, _ = await harness.send([whatsapp_text()])

    assert status == 422
    assert body["type"].endswith("#invalid-json")


@pytest.mark.parametrize("channel", ["viber", "telegram", "WhatsApp"])
async def test_an_unknown_channel_is_unsupported(harness: Harness, channel: str) -> None:
    status, body, _ = await harness.send(whatsapp_text(channel=channel))

    assert status == 422
    assert body["title"] == "Unsupported channel"
    assert_matches_error_schema("ErrorChannel", body)


async def test_a_missing_channel_is_an_invalid_param(harness: Harness) -> None:
    body_in = whatsapp_text()
    del body_in["channel"]

    status, body, _ = await harness.send(body_in)

    assert status == 422
    assert body["invalid_parameters"] == [{"name": "channel", "reason": "is required."}]


@pytest.mark.parametrize(
    ("channel", "message_type", "content", "to", "sender"),
    [
        ("messenger", "location", {"location": {"lat": 1, "long": 2}}, PSID, PAGE),
        ("viber_service", "template", {"template": {"name": "t"}}, WA_USER, VIBER_SERVICE),
        ("sms", "image", {"image": {"url": "https://example.com/a.jpg"}}, WA_USER, WA_BOT),
        ("messenger", "template", {"template": {"name": "t"}}, PSID, PAGE),
        ("whatsapp", "vcard", {"vcard": {"url": "https://example.com/a.vcf"}}, WA_USER, WA_BOT),
        ("whatsapp", "button", {"button": {}}, WA_USER, WA_BOT),
    ],
)
async def test_content_a_channel_cannot_carry_is_an_invalid_message_type(
    harness: Harness,
    channel: str,
    message_type: str,
    content: dict[str, Any],
    to: str,
    sender: str,
) -> None:
    body_in = {"channel": channel, "message_type": message_type, "to": to, "from": sender}

    status, body, _ = await harness.send({**body_in, **content})

    assert status == 422
    assert body["title"] == "Invalid message type"
    assert message_type in body["detail"]
    assert_matches_error_schema("ErrorMessageType", body)


async def test_a_missing_required_field_names_it(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {"channel": "whatsapp", "message_type": "image", "to": WA_USER, "from": WA_BOT, "image": {}}
    )

    assert status == 422
    assert body["title"] == "Invalid params"
    assert body["invalid_parameters"] == [{"name": "image.url", "reason": "is required."}]
    assert_matches_error_schema("ErrorMessageParams", body)


async def test_a_failover_list_is_refused_not_ignored(harness: Harness) -> None:
    sms = {"channel": "sms", "message_type": "text", "to": WA_USER, "from": WA_BOT, "text": "x"}

    status, body, _ = await harness.send(whatsapp_text(failover=[sms]) | {"failover": [sms]})

    assert status == 422
    assert body["title"] == "Invalid params"
    [parameter] = body["invalid_parameters"]
    assert parameter["name"] == "failover"
    assert "not supported by this sandbox yet" in parameter["reason"]
    assert_matches_error_schema("ErrorMessageParams", body)
    assert harness.sandbox.messages == {}


async def test_a_wrong_type_is_an_invalid_param(harness: Harness) -> None:
    status, body, _ = await harness.send(whatsapp_text(text=42))

    assert status == 422
    assert body["invalid_parameters"] == [{"name": "text", "reason": "must be of type string."}]


async def test_a_bad_channel_option_is_invalid_channel_parameters(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {
            "channel": "messenger",
            "message_type": "text",
            "to": PSID,
            "from": PAGE,
            "text": "hi",
            "messenger": {"category": "marketing"},
        }
    )

    assert status == 422
    assert body["title"] == "Invalid channel parameters"
    assert body["invalid_parameters"][0]["name"] == "messenger.category"
    assert_matches_error_schema("ErrorChannelParams", body)


async def test_a_message_tag_needs_a_tag(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {
            "channel": "messenger",
            "message_type": "text",
            "to": PSID,
            "from": PAGE,
            "text": "hi",
            "messenger": {"category": "message_tag"},
        }
    )

    assert status == 422
    assert body["title"] == "Invalid channel parameters"
    assert body["invalid_parameters"][0]["name"] == "messenger.tag"


async def test_a_whatsapp_template_needs_the_locale(harness: Harness) -> None:
    template = {"channel": "whatsapp", "message_type": "template", "to": WA_USER, "from": WA_BOT}

    without = await harness.send({**template, "template": {"name": "ns:welcome"}})
    no_locale = await harness.send(
        {**template, "template": {"name": "ns:welcome"}, "whatsapp": {"policy": "deterministic"}}
    )

    assert without[0] == 422
    assert without[1]["invalid_parameters"] == [{"name": "whatsapp", "reason": "is required."}]
    assert no_locale[0] == 422
    assert no_locale[1]["title"] == "Invalid channel parameters"
    assert no_locale[1]["invalid_parameters"][0]["name"] == "whatsapp.locale"


@pytest.mark.parametrize(
    ("channel", "to", "sender", "limit"),
    [
        ("sms", WA_USER, WA_BOT, 1000),
        ("whatsapp", WA_USER, WA_BOT, 4096),
        ("messenger", PSID, PAGE, 640),
        ("viber_service", WA_USER, VIBER_SERVICE, 1000),
    ],
)
async def test_text_over_the_channel_limit_is_refused(
    harness: Harness, channel: str, to: str, sender: str, limit: int
) -> None:
    body_in = {"channel": channel, "message_type": "text", "to": to, "from": sender}

    at_limit = await harness.send({**body_in, "text": "x" * limit})
    over = await harness.send({**body_in, "text": "x" * (limit + 1)})

    assert at_limit[0] == 202, at_limit[1]
    assert over[0] == 422
    assert over[1]["title"] == "Invalid params"
    assert over[1]["invalid_parameters"][0]["name"] == "text"
    assert str(limit) in over[1]["invalid_parameters"][0]["reason"]


async def test_empty_text_is_refused(harness: Harness) -> None:
    status, body, _ = await harness.send(whatsapp_text(text=""))

    assert status == 422
    assert body["invalid_parameters"] == [{"name": "text", "reason": "must not be empty."}]


@pytest.mark.parametrize("to", ["+447700900001", "00447700900001", "0770 090 0001", "12345"])
async def test_a_recipient_not_in_e164_is_an_invalid_recipient(harness: Harness, to: str) -> None:
    status, body, _ = await harness.send(whatsapp_text(to=to))

    assert status == 422
    assert body["title"] == "Invalid recipient"
    assert_matches_error_schema("ErrorRecipient", body)


async def test_a_sender_that_is_not_the_bot_is_an_invalid_sender(harness: Harness) -> None:
    status, body, _ = await harness.send(whatsapp_text(**{"from": "447700900999"}))

    assert status == 422
    assert body["title"] == "Invalid sender"
    assert WA_BOT in body["detail"]
    assert_matches_error_schema("ErrorSender", body)


async def test_a_client_ref_over_100_characters_is_refused(harness: Harness) -> None:
    ok = await harness.send(whatsapp_text(client_ref="r" * 100))
    over = await harness.send(whatsapp_text(client_ref="r" * 101))

    assert ok[0] == 202
    assert over[0] == 422
    assert over[1]["title"] == "Invalid client reference"
    assert_matches_error_schema("ErrorClientReference", over[1])


async def test_a_wrong_sdk_field_value_is_refused(harness: Harness) -> None:
    status, body, _ = await harness.send(whatsapp_text(webhook_version="v2"))

    assert status == 422
    assert body["invalid_parameters"][0]["name"] == "webhook_version"


async def test_viber_video_needs_duration_and_file_size(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {
            "channel": "viber_service",
            "message_type": "video",
            "to": WA_USER,
            "from": VIBER_SERVICE,
            "video": {"url": "https://example.com/v.mp4", "thumb_url": "https://example.com/t"},
        }
    )

    assert status == 422
    assert body["title"] == "Invalid channel parameters"
    names = {p["name"] for p in body["invalid_parameters"]}
    assert names == {"viber_service.duration", "viber_service.file_size"}


async def test_a_sticker_with_both_url_and_id_is_refused(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {
            "channel": "whatsapp",
            "message_type": "sticker",
            "to": WA_USER,
            "from": WA_BOT,
            "sticker": {"url": "https://example.com/s.webp", "id": "abc"},
        }
    )

    assert status == 422
    assert body["invalid_parameters"][0]["name"] == "sticker"


async def test_a_reaction_needs_the_message_it_reacts_to(harness: Harness) -> None:
    status, body, _ = await harness.send(
        {
            "channel": "whatsapp",
            "message_type": "reaction",
            "to": WA_USER,
            "from": WA_BOT,
            "reaction": {"action": "react", "emoji": "👍"},
        }
    )

    assert status == 422
    assert body["invalid_parameters"] == [{"name": "context", "reason": "is required."}]


@pytest.mark.parametrize(
    "extra",
    [
        {"context": {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}},
        {"webhook_url": "https://example.com/status", "webhook_version": "v0.1"},
        {"ttl": 600, "trusted_recipient": True},
    ],
)
async def test_sdk_only_fields_are_accepted(harness: Harness, extra: dict[str, Any]) -> None:
    status, body, _ = await harness.send(whatsapp_text(**extra))

    assert status == 202, body


@pytest.mark.parametrize(
    "body_in",
    [
        {
            "channel": "sms",
            "message_type": "text",
            "to": WA_USER,
            "from": "AcmeInc",
            "text": "hi",
            "sms": {"encoding_type": "unicode", "entity_id": "1", "content_id": "2"},
            "ttl": 900,
        },
        {
            "channel": "whatsapp",
            "message_type": "sticker",
            "to": WA_USER,
            "from": WA_BOT,
            "sticker": {"id": "sticker-id"},
        },
        {
            "channel": "whatsapp",
            "message_type": "reaction",
            "to": WA_USER,
            "from": WA_BOT,
            "reaction": {"action": "react", "emoji": "👍"},
            "context": {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
        },
        {
            "channel": "whatsapp",
            "message_type": "custom",
            "to": WA_USER,
            "from": WA_BOT,
            "custom": {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Pick one"},
                    "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
                },
            },
        },
    ],
    ids=["sms-options", "sticker", "reaction", "interactive"],
)
async def test_sdk_only_content_is_accepted(harness: Harness, body_in: dict[str, Any]) -> None:
    await harness.sandbox.settle()
    status, body, _ = await harness.send(body_in)

    assert status == 202, body


async def test_refusals_are_logged_with_the_problem(harness: Harness) -> None:
    await harness.send(whatsapp_text(text=""))

    log = await harness.get(f"/_sandbox/conversations/whatsapp/{WA_USER}")

    rejected = [e for e in log["events"] if e["kind"] == "rejected"]
    assert rejected[0]["http_status"] == 422
    assert rejected[0]["problem"]["invalid_parameters"][0]["name"] == "text"
    assert rejected[0]["request"]["text"] == ""


# --- v0.1 --------------------------------------------------------------------------------------


def v0_text(**fields: Any) -> dict[str, Any]:
    return {
        "to": {"type": "whatsapp", "number": WA_USER},
        "from": {"type": "whatsapp", "number": WA_BOT},
        "message": {"content": {"type": "text", "text": "hello"}},
        **fields,
    }


async def test_v0_a_valid_send_is_accepted(harness: Harness) -> None:
    status, body, _ = await harness.send(v0_text(), api="v0.1")

    assert status == 202
    assert body["message_uuid"]


async def test_v0_a_violation_is_its_documented_400(harness: Harness) -> None:
    body_in = v0_text()
    body_in["message"]["content"]["text"] = "x" * 4097

    status, body, headers = await harness.send(body_in, api="v0.1")

    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == "https://www.nexmo.com/messages/Errors#InvalidParams"
    assert body["title"] == "Your request parameters didn't validate."
    assert body["detail"] == "Found errors validating 1 of your submitted parameters."
    assert body["invalid_parameters"][0]["name"] == "message.content.text"


async def test_v0_a_messenger_send_needs_ids(harness: Harness) -> None:
    body_in = {
        "to": {"type": "messenger", "number": PSID},
        "from": {"type": "messenger", "id": PAGE},
        "message": {"content": {"type": "text", "text": "hi"}},
    }

    status, body, _ = await harness.send(body_in, api="v0.1")

    assert status == 400
    assert {"name": "to.id", "reason": "is required."} in body["invalid_parameters"]


async def test_v0_names_rule_violations_by_their_v0_path(harness: Harness) -> None:
    status, body, _ = await harness.send(
        v0_text(to={"type": "whatsapp", "number": "+447700900001"}, client_ref="r" * 41),
        api="v0.1",
    )

    assert status == 400
    names = {p["name"] for p in body["invalid_parameters"]}
    assert names == {"to.number", "client_ref"}


async def test_v0_viber_is_viber_service_msg(harness: Harness) -> None:
    body_in = {
        "to": {"type": "viber_service", "number": WA_USER},
        "from": {"type": "viber_service", "id": VIBER_SERVICE},
        "message": {"content": {"type": "text", "text": "hi"}},
    }

    status, body, _ = await harness.send(body_in, api="v0.1")

    assert status == 400
    assert body["invalid_parameters"][0]["name"] == "to.type"


async def test_v0_a_channel_cannot_carry_every_type(harness: Harness) -> None:
    body_in = {
        "to": {"type": "sms", "number": WA_USER},
        "from": {"type": "sms", "number": WA_BOT},
        "message": {"content": {"type": "image", "image": {"url": "https://e.com/a.png"}}},
    }

    status, body, _ = await harness.send(body_in, api="v0.1")

    assert status == 400
    assert body["invalid_parameters"][0]["name"] == "message.content.type"
