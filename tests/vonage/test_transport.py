"""Transports against a provider played by a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

import aiohttp
import pytest

from botkit.events import Channel, Text
from botkit.outbound import Button, Outbound
from botkit.ratelimit import ChannelLimiter
from botkit.vonage.auth import BasicAuth, OAuth2ClientCredentials
from botkit.vonage.errors import (
    InvalidRequest,
    MalformedResponse,
    PaymentRequired,
    ProviderError,
    ProviderUnavailable,
    Throttled,
    TimedOut,
    Unauthorized,
    Unreachable,
    UnsendableMessage,
)
from botkit.vonage.outbound import messages_v0, messages_v1
from botkit.vonage.signing import sms_signature
from botkit.vonage.transport import (
    ChannelRouter,
    MessagesTransport,
    Prepared,
    RateLimitedTransport,
    RetryingTransport,
    SendReceipt,
    SmsApiTransport,
    Transport,
)
from tests.vonage.provider import Answer, FakeTime, Provider

BASIC = "Basic " + base64.b64encode(b"key:secret").decode()


def whatsapp(text: str = "hello", **kwargs: Any) -> Outbound:
    return Outbound(
        channel=Channel.WHATSAPP, to="447700900001", sender="447700900000", content=Text(text=text)
    ).model_copy(update=kwargs)


def sms(text: str = "hello") -> Outbound:
    return Outbound(
        channel=Channel.SMS, to="447700900001", sender="Botkit", content=Text(text=text)
    )


def messages(
    session: aiohttp.ClientSession, provider: Provider, **kwargs: Any
) -> MessagesTransport:
    kwargs.setdefault("auth", BasicAuth("key", "secret"))
    return MessagesTransport(session, base_url=provider.url, **kwargs)


def retrying(inner: Any, fake: FakeTime, **kwargs: Any) -> RetryingTransport:
    return RetryingTransport(
        inner, sleep=fake.sleep, clock=fake.monotonic, jitter=lambda: 0.5, **kwargs
    )


# --- Messages API ------------------------------------------------------------------------------


async def test_v1_send_posts_the_v1_body_and_returns_the_uuid(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    message = whatsapp()
    receipt = await messages(session, provider).send(message)
    assert receipt == SendReceipt("uuid-1", client_ref=message.id)
    assert receipt.message_ids == ("uuid-1",)
    assert receipt.attempts == 1
    (seen,) = provider.seen
    assert seen.path == "/v1/messages"
    assert seen.body == messages_v1.body(message)
    assert seen.authorization == BASIC


async def test_v01_send_posts_the_v01_body(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    message = whatsapp()
    receipt = await messages(session, provider, version="v0.1").send(message)
    assert receipt.message_id == "uuid-1"
    (seen,) = provider.seen
    assert seen.path == "/v0.1/messages"
    assert seen.body == messages_v0.body(message)
    assert seen.body["client_ref"] == message.id


async def test_a_custom_body_builder_gets_a_client_ref(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    transport = messages(session, provider, body=lambda m: {"text": "custom"})
    message = whatsapp(client_ref="mine")
    assert (await transport.send(message)).client_ref == "mine"
    assert provider.seen[0].body == {"text": "custom", "client_ref": "mine"}


async def test_500_then_429_then_202_is_sent_once_with_one_client_ref(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [
        Answer(500, {"title": "Internal Error"}),
        Answer(429, {"title": "Rate Limit Hit"}, {"Retry-After": "2"}),
    ]
    message = whatsapp()
    receipt = await retrying(messages(session, provider), fake).send(message)
    assert receipt.message_id == "uuid-3"
    assert receipt.attempts == 3
    assert [s.client_ref for s in provider.seen] == [message.id] * 3
    assert provider.taken == [message.id]
    # Full jitter (0.5 of 0.2 s), then the provider's Retry-After over the 0.2 s jitter.
    assert fake.sleeps == [0.1, 2.0]


async def test_nothing_is_sent_again_after_a_success(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    transport = retrying(messages(session, provider), fake)
    for n in range(3):
        await transport.send(whatsapp(f"message {n}"))
    assert len(provider.seen) == 3
    assert len(set(provider.taken)) == 3
    assert fake.sleeps == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(422, {"title": "Invalid params", "invalid_parameters": []}), InvalidRequest),
        (Answer(402, {"title": "Low balance"}), PaymentRequired),
        (Answer(404, "<html>not here</html>"), ProviderError),
    ],
)
async def test_refusals_are_not_retried(
    session: aiohttp.ClientSession,
    provider: Provider,
    fake: FakeTime,
    answer: Answer,
    error: type[ProviderError],
) -> None:
    provider.script = [answer]
    with pytest.raises(error) as caught:
        await retrying(messages(session, provider), fake).send(whatsapp())
    assert type(caught.value) is error
    assert caught.value.attempts == 1
    assert len(provider.seen) == 1


async def test_422_from_the_provider_in_words(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    provider.script = [
        Answer(
            422,
            {
                "title": "Invalid params",
                "detail": "The value of one or more parameters is invalid.",
                "invalid_parameters": [{"name": "image.url", "reason": "is required."}],
            },
            {"Content-Type": "application/problem+json"},
        )
    ]
    with pytest.raises(InvalidRequest) as caught:
        await messages(session, provider).send(whatsapp())
    assert str(caught.value) == (
        "the provider refused the message (422 Invalid params): image.url is required"
    )


@pytest.mark.parametrize(
    "answer",
    [Answer(202, {"status": "ok"}), Answer(202, "<html>accepted</html>"), Answer(200, "")],
)
async def test_a_2xx_without_a_message_uuid_is_never_sent_again(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime, answer: Answer
) -> None:
    provider.script = [answer]
    with pytest.raises(MalformedResponse, match="is not sent again") as caught:
        await retrying(messages(session, provider), fake).send(whatsapp())
    assert caught.value.retryable is False
    assert len(provider.seen) == 1


@pytest.mark.parametrize("body", ["<html>Bad Gateway</html>", "{", "[]", ""])
async def test_malformed_error_bodies_are_still_typed(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime, body: str
) -> None:
    provider.script = [Answer(502, body)]
    receipt = await retrying(messages(session, provider), fake).send(whatsapp())
    assert receipt.attempts == 2
    provider.script = [Answer(502, body)]
    with pytest.raises(ProviderUnavailable, match=r"\(502\)"):
        await messages(session, provider).send(whatsapp())


async def test_a_timeout_is_retried_with_the_same_client_ref(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(202, delay=2.0)]
    message = whatsapp()
    transport = retrying(messages(session, provider, timeout=0.2), fake)
    receipt = await transport.send(message)
    assert receipt.attempts == 2
    assert [s.client_ref for s in provider.seen] == [message.id, message.id]
    # The stalled attempt was taken too; the shared client_ref tells the duplicate apart.
    assert provider.taken == [message.id, message.id]


async def test_a_timeout_can_be_final(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(202, delay=2.0)]
    transport = retrying(messages(session, provider, timeout=0.2), fake, retry_timeouts=False)
    with pytest.raises(TimedOut, match="may have taken the message") as caught:
        await transport.send(whatsapp())
    assert caught.value.retryable is True
    assert len(provider.seen) == 1


async def test_attempts_are_bounded_in_count(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(503) for _ in range(10)]
    with pytest.raises(ProviderUnavailable) as caught:
        await retrying(messages(session, provider), fake, attempts=4).send(whatsapp())
    assert caught.value.attempts == 4
    assert len(provider.seen) == 4
    assert fake.sleeps == [0.1, 0.2, 0.4]


async def test_attempts_are_bounded_in_time(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(429, headers={"Retry-After": "12"}) for _ in range(5)]
    transport = retrying(messages(session, provider), fake, max_elapsed=30.0)
    with pytest.raises(Throttled) as caught:
        await transport.send(whatsapp())
    # Waits of 12 s and 12 s fit in 30 s; a third would not, so it is not started.
    assert fake.sleeps == [12.0, 12.0]
    assert caught.value.attempts == 3
    assert caught.value.retry_after == 12.0


async def test_backoff_grows_to_its_ceiling(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(500) for _ in range(7)]
    transport = RetryingTransport(
        messages(session, provider),
        attempts=8,
        max_elapsed=100,
        max_delay=1.0,
        sleep=fake.sleep,
        clock=fake.monotonic,
        jitter=lambda: 1.0,
    )
    assert (await transport.send(whatsapp())).attempts == 8
    assert fake.sleeps == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]


async def test_401_refreshes_the_token_and_posts_once_more(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    auth = OAuth2ClientCredentials(provider.url + "/token", "id", "secret", session)
    provider.refused_tokens = {"t1"}
    receipt = await messages(session, provider, auth=auth).send(whatsapp())
    assert receipt.attempts == 1
    assert [s.authorization for s in provider.seen] == ["Bearer t1", "Bearer t2"]
    assert provider.tokens_issued == 2


async def test_a_second_401_is_final(session: aiohttp.ClientSession, provider: Provider) -> None:
    auth = OAuth2ClientCredentials(provider.url + "/token", "id", "secret", session)
    provider.refused_tokens = {"t1", "t2", "t3"}
    with pytest.raises(Unauthorized) as caught:
        await messages(session, provider, auth=auth).send(whatsapp())
    assert caught.value.retryable is False
    assert len(provider.seen) == 2
    assert provider.tokens_issued == 2


async def test_an_unsendable_message_posts_nothing(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    message = Outbound(
        channel=Channel.MESSENGER,
        to="user",
        sender="page",
        content=Text(text="pick"),
        buttons=(Button(id="a", title="A"),),
    )
    with pytest.raises(UnsendableMessage, match="cannot send buttons to messenger"):
        await messages(session, provider).send(message)
    assert provider.seen == []


async def test_an_unreachable_provider_is_retryable(
    session: aiohttp.ClientSession, fake: FakeTime
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = MessagesTransport(
        session, base_url=f"http://127.0.0.1:{port}", auth=BasicAuth("key", "secret")
    )
    with pytest.raises(Unreachable) as caught:
        await retrying(transport, fake, attempts=2).send(whatsapp())
    assert caught.value.retryable is True
    assert caught.value.attempts == 2


async def test_connections_are_reused(session: aiohttp.ClientSession, provider: Provider) -> None:
    transport = messages(session, provider)
    for n in range(10):
        await transport.send(whatsapp(f"message {n}"))
    await asyncio.gather(*(transport.send(whatsapp(f"burst {n}")) for n in range(10)))
    assert len(provider.seen) == 20
    assert provider.connections < len(provider.seen)
    assert provider.connections <= 10


async def test_a_transport_with_the_default_prepare_is_retried_with_a_pinned_client_ref(
    fake: FakeTime,
) -> None:
    refs: list[str | None] = []

    class Flaky(Transport):
        async def deliver(self, prepared: Prepared) -> SendReceipt:
            refs.append(prepared.message.client_ref)
            if len(refs) < 3:
                raise ProviderUnavailable("down")
            return SendReceipt("ok", client_ref=prepared.message.client_ref)

    message = whatsapp()
    receipt = await retrying(Flaky(), fake).send(message)
    assert receipt.attempts == 3
    assert refs == [message.id] * 3


# --- SMS API -----------------------------------------------------------------------------------


def sms_api(session: aiohttp.ClientSession, provider: Provider, **kwargs: Any) -> SmsApiTransport:
    if "signature_secret" not in kwargs:
        kwargs.setdefault("api_secret", "secret")
    return SmsApiTransport(session, base_url=provider.url, api_key="key", **kwargs)


async def test_sms_send_posts_form_params(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    message = sms()
    receipt = await sms_api(session, provider).send(message)
    assert receipt.message_ids == ("sms-1",)
    assert receipt.client_ref == message.id
    (seen,) = provider.seen
    assert seen.path == "/sms/json"
    assert seen.body["api_key"] == "key"
    assert seen.body["api_secret"] == "secret"
    assert seen.body["client-ref"] == message.id
    assert seen.body["text"] == "hello"


async def test_a_signed_sms_carries_a_valid_sig(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    await sms_api(session, provider, signature_secret="sign", signature_method="sha256").send(sms())
    form = provider.seen[0].body
    assert "api_secret" not in form
    assert form["sig"] == sms_signature(form, "sign", "sha256")


async def test_a_long_sms_keeps_every_part_id(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    parts = [{"status": "0", "message-id": f"part-{n}", "to": "447700900001"} for n in range(3)]
    provider.script = [Answer(200, {"message-count": "3", "messages": parts})]
    receipt = await sms_api(session, provider).send(sms("x" * 400))
    assert receipt.message_id == "part-0"
    assert receipt.message_ids == ("part-0", "part-1", "part-2")


async def test_a_throttled_sms_is_sent_again(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    throttled = {
        "message-count": "1",
        "messages": [
            {
                "status": "1",
                "error-text": "Throughput Rate Exceeded - please wait [ 702 ] and retry",
            }
        ],
    }
    provider.script = [Answer(200, throttled)]
    message = sms()
    receipt = await retrying(sms_api(session, provider), fake).send(message)
    assert receipt.attempts == 2
    assert [s.client_ref for s in provider.seen] == [message.id, message.id]
    assert provider.taken == [message.id]


@pytest.mark.parametrize(
    ("status", "error"),
    [("2", InvalidRequest), ("4", Unauthorized), ("9", PaymentRequired), ("99", ProviderError)],
)
async def test_sms_refusals_are_not_retried(
    session: aiohttp.ClientSession,
    provider: Provider,
    fake: FakeTime,
    status: str,
    error: type[ProviderError],
) -> None:
    provider.script = [Answer(200, {"messages": [{"status": status, "error-text": "no"}]})]
    with pytest.raises(error) as caught:
        await retrying(sms_api(session, provider), fake).send(sms())
    assert type(caught.value) is error
    assert caught.value.code == int(status)
    assert len(provider.seen) == 1


async def test_a_partly_taken_sms_is_not_sent_again(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    parts = [{"status": "0", "message-id": "part-0"}, {"status": "1", "error-text": "slow down"}]
    provider.script = [Answer(200, {"messages": parts})]
    with pytest.raises(Throttled, match="1 of 2 parts were taken") as caught:
        await retrying(sms_api(session, provider), fake).send(sms("x" * 200))
    assert caught.value.retryable is False
    assert len(provider.seen) == 1


@pytest.mark.parametrize(
    "body",
    ["<html>", {"messages": []}, {"messages": "none"}, {"messages": [{"status": "0"}]}, {}],
)
async def test_an_unreadable_sms_answer_is_not_sent_again(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime, body: Any
) -> None:
    provider.script = [Answer(200, body)]
    with pytest.raises(MalformedResponse):
        await retrying(sms_api(session, provider), fake).send(sms())
    assert len(provider.seen) == 1


async def test_sms_http_errors(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    provider.script = [Answer(503, "busy", {"Retry-After": "1"})]
    receipt = await retrying(sms_api(session, provider), fake).send(sms())
    assert receipt.attempts == 2
    assert fake.sleeps == [1.0]


def test_sms_needs_exactly_one_secret(session: aiohttp.ClientSession) -> None:
    from botkit.errors import ConfigError

    with pytest.raises(ConfigError, match="exactly one"):
        SmsApiTransport(session, api_key="k", api_secret="s", signature_secret="t")
    with pytest.raises(ConfigError, match="exactly one"):
        SmsApiTransport(session, api_key="k")


# --- Routing by channel ---------------------------------------------------------------------


async def test_the_router_sends_each_channel_through_its_route(
    session: aiohttp.ClientSession, provider: Provider
) -> None:
    router = ChannelRouter(messages(session, provider), {Channel.SMS: sms_api(session, provider)})
    assert router.route(Channel.SMS) is router.routes[Channel.SMS]
    assert router.route(Channel.VIBER) is router.default
    text, chat = sms(), whatsapp()
    assert (await router.send(text)).message_id == "sms-1"
    assert (await router.send(chat)).message_id == "uuid-2"
    assert [s.path for s in provider.seen] == ["/sms/json", "/v1/messages"]
    assert [s.client_ref for s in provider.seen] == [text.id, chat.id]


# --- Rate limiting ------------------------------------------------------------------------------


async def test_rate_limited_sends_are_paced_and_follow_quota_headers(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    limiter = ChannelLimiter(
        {Channel.WHATSAPP: 10}, clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall
    )
    transport = RateLimitedTransport(messages(session, provider), limiter)
    await transport.send(whatsapp())
    await transport.send(whatsapp())
    assert fake.sleeps == [pytest.approx(0.1)]
    reset = str(int(fake.wall() + 20))
    provider.script = [
        Answer(202, headers={"Quota-Remaining": "5", "Quota-Reset-UTC": reset}),
        Answer(
            429, {"title": "Rate Limit Hit"}, {"quota-remaining": "5", "quota-reset-utc": reset}
        ),
    ]
    await transport.send(whatsapp())
    with pytest.raises(Throttled):
        await transport.send(whatsapp())
    # 5 left for about 20 s: one every 4 s instead of ten a second.
    assert fake.sleeps[-1] == pytest.approx(4.0, abs=0.2)


async def test_retries_wait_for_the_rate_limiter(
    session: aiohttp.ClientSession, provider: Provider, fake: FakeTime
) -> None:
    limiter = ChannelLimiter(clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall)
    transport = retrying(RateLimitedTransport(sms_api(session, provider), limiter), fake)
    provider.script = [
        Answer(200, {"messages": [{"status": "5", "error-text": "internal"}]}),
    ]
    message = sms()
    receipt = await transport.send(message)
    assert receipt.attempts == 2
    assert [s.client_ref for s in provider.seen] == [message.id, message.id]
    # Backoff of 0.1 s, then the rest of SMS's 1/30 s spacing was already over.
    assert fake.sleeps == [0.1]
