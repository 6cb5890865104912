"""One contract, every transport: each test runs over every implementation of
:class:`~botkit.vonage.transport.Transport` against a provider on loopback.

The implementations are the Messages API v1 and v0.1 and the SMS API (plain and signed), the
per-channel router on either of its routes, all of them against the scripted provider of
:mod:`tests.vonage.provider`, and the three send APIs against the sandbox, which plays the
provider from its documentation. The contract: a send returns a receipt; a prepared request is
delivered the same every time, so every attempt of a retry carries one ``client_ref``; nothing
but :class:`~botkit.vonage.errors.SendError` escapes, whatever the provider does; quota headers
reach the rate limiter, from successes and refusals alike.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from botkit.clock import OffsetClock
from botkit.events import Channel, Text
from botkit.outbound import Outbound, Template, WorkflowStep
from botkit.ratelimit import ChannelLimiter
from botkit.sandbox import SANDBOX, Delays, Sandbox, create_sandbox_app
from botkit.vonage.auth import BasicAuth
from botkit.vonage.errors import MalformedResponse, ProviderError, SendError
from botkit.vonage.transport import (
    ChannelRouter,
    DispatchTransport,
    MessagesTransport,
    RateLimitedTransport,
    RetryingTransport,
    SmsApiTransport,
    Transport,
    UnconfiguredTransport,
)
from tests.sandbox.harness import API_KEY, API_SECRET, WA_BOT, WA_USER
from tests.vonage.provider import Answer, FakeTime, Provider, closed_port_url

Failure = Literal["server error", "throttled", "timeout", "malformed"]
RETRYABLE: tuple[Failure, ...] = ("server error", "throttled", "timeout")
TIMEOUT = 0.3
"""The transports' timeout; a stalled answer comes well after it."""


@dataclass
class Subject:
    """One transport implementation, wired to the provider it talks to."""

    build: Callable[[str], Transport]
    """The transport, posting to the given base URL."""
    url: str
    message: Callable[[], Outbound]
    requests: Callable[[], list[dict[str, Any]]]
    """Every send request that reached the provider, in order (form or JSON, secrets aside)."""
    inject: Callable[[Failure], None]
    """The next send meets this failure."""
    failures: frozenset[Failure]
    quota: Callable[[dict[str, str]], None] | None = None
    """The next send is taken, its answer carrying these headers (None: the provider never
    sends quota headers)."""

    def transport(self) -> Transport:
        return self.build(self.url)


def client_ref(request: dict[str, Any]) -> str:
    if "workflow" in request:  # a Dispatch workflow: its first step's
        return str(request["workflow"][0].get("client_ref"))
    return str(request.get("client_ref") or request.get("client-ref"))


def whatsapp() -> Outbound:
    return Outbound(channel=Channel.WHATSAPP, to=WA_USER, sender=WA_BOT, content=Text(text="hi"))


def sms() -> Outbound:
    return Outbound(channel=Channel.SMS, to=WA_USER, sender=WA_BOT, content=Text(text="hi"))


def sms_then_whatsapp() -> Outbound:
    """An SMS the provider follows with a WhatsApp template when it is not delivered in time."""
    template = Template(name="reminder", parameters=("10:00",))
    fallback = whatsapp().model_copy(update={"content": template})
    step = WorkflowStep(when="delivered", within=60, message=fallback)
    return sms().model_copy(update={"workflow": (step,)})


class TickingClock:
    """A clock one second later at every reading: a request built twice would differ."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1_700_000_000)

    def now(self) -> float:
        return float(next(self._ticks))


# --- against the scripted provider -------------------------------------------------------------


def _stand_in_answers(provider: Provider, api: Literal["messages", "sms"]) -> Subject:
    def sms_status(status: str, text: str) -> Answer:
        return Answer(200, {"messages": [{"status": status, "error-text": text}]})

    failures: dict[Failure, Answer] = (
        {
            "server error": Answer(500, {"title": "Internal Error"}),
            "throttled": Answer(429, {"title": "Rate Limit Hit"}, {"Retry-After": "0"}),
            "timeout": Answer(202, delay=TIMEOUT * 10),
            "malformed": Answer(202, "<html>accepted</html>"),
        }
        if api == "messages"
        else {
            "server error": sms_status("5", "Internal Error"),
            "throttled": sms_status("1", "Throughput Rate Exceeded"),
            "timeout": Answer(200, delay=TIMEOUT * 10),
            "malformed": Answer(200, "<html>"),
        }
    )
    return Subject(
        build=lambda url: UnconfiguredTransport("unused"),
        url=provider.url,
        message=whatsapp if api == "messages" else sms,
        requests=lambda: [seen.body for seen in provider.seen],
        inject=lambda failure: provider.script.append(failures[failure]),
        failures=frozenset(failures),
        quota=lambda headers: provider.script.append(
            Answer(202 if api == "messages" else 200, headers=headers)
        ),
    )


def stand_in_subject(name: str, provider: Provider, session: aiohttp.ClientSession) -> Subject:
    def messages(url: str, version: Literal["v1", "v0.1"] = "v1") -> MessagesTransport:
        return MessagesTransport(
            session, base_url=url, auth=BasicAuth("key", "secret"), version=version, timeout=TIMEOUT
        )

    def sms_api(url: str, signed: bool = False) -> SmsApiTransport:
        return SmsApiTransport(
            session,
            base_url=url,
            api_key="key",
            api_secret=None if signed else "secret",
            signature_secret="sign" if signed else None,
            timeout=TIMEOUT,
            clock=TickingClock(),
        )

    builders: dict[str, tuple[Callable[[str], Transport], Literal["messages", "sms"]]] = {
        "messages v1": (messages, "messages"),
        "messages v0.1": (lambda url: messages(url, "v0.1"), "messages"),
        "sms api": (sms_api, "sms"),
        "sms api, signed": (lambda url: sms_api(url, signed=True), "sms"),
        "router, whatsapp": (
            lambda url: ChannelRouter(messages(url), {Channel.SMS: sms_api(url, signed=True)}),
            "messages",
        ),
        "router, sms": (
            lambda url: ChannelRouter(messages(url), {Channel.SMS: sms_api(url, signed=True)}),
            "sms",
        ),
    }
    build, api = builders[name]
    subject = _stand_in_answers(provider, api)
    subject.build = build
    return subject


# --- against the sandbox ----------------------------------------------------------------------


def sandbox_subject(
    name: str, sandbox: Sandbox, url: str, session: aiohttp.ClientSession
) -> Subject:
    api: Literal["v1", "v0.1", "sms", "dispatch"] = {  # type: ignore[assignment]
        "sandbox v1": "v1",
        "sandbox v0.1": "v0.1",
        "sandbox dispatch": "dispatch",
    }.get(name, "sms")

    def build(base_url: str) -> Transport:
        if api == "dispatch":
            return DispatchTransport(
                session, base_url=base_url, auth=BasicAuth(API_KEY, API_SECRET), timeout=TIMEOUT
            )
        if api == "sms":
            return SmsApiTransport(
                session, base_url=base_url, api_key=API_KEY, api_secret=API_SECRET, timeout=TIMEOUT
            )
        return MessagesTransport(
            session,
            base_url=base_url,
            auth=BasicAuth(API_KEY, API_SECRET),
            version=api,
            timeout=TIMEOUT,
        )

    def requests() -> list[dict[str, Any]]:
        return [
            dict(event.fields["request"])
            for event in sandbox.journal.events()
            if (event.kind in ("outbound", "rejected") and event.fields.get("api") == api)
            or (api == "dispatch" and event.fields.get("action") == "accepted")
        ]

    def inject(failure: Failure) -> None:
        kind = {"server error": "error", "throttled": "throttle"}[failure]
        sandbox.add_fault(kind=kind, channel=Channel.SMS, count=1, retry_after=0)

    return Subject(
        build=build,
        url=url,
        message=sms_then_whatsapp if api == "dispatch" else sms,
        requests=requests,
        inject=inject,
        failures=frozenset({"server error", "throttled"}),
    )


# --- the subjects ------------------------------------------------------------------------------

STAND_IN = ["messages v1", "messages v0.1", "sms api", "sms api, signed"]
ROUTER = ["router, whatsapp", "router, sms"]
SANDBOX_APIS = ["sandbox v1", "sandbox v0.1", "sandbox sms api", "sandbox dispatch"]
EVERY = STAND_IN + ROUTER + SANDBOX_APIS


@pytest.fixture(params=EVERY)
async def subject(
    request: pytest.FixtureRequest, provider: Provider, session: aiohttp.ClientSession
) -> AsyncIterator[Subject]:
    name: str = request.param
    if name not in SANDBOX_APIS:
        yield stand_in_subject(name, provider, session)
        return
    app = create_sandbox_app(
        clock=OffsetClock(),
        signature_secret=None,
        api_key=API_KEY,
        api_secret=API_SECRET,
        delays=Delays.none(),
        webhook_retry_delays=(),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield sandbox_subject(name, app[SANDBOX], str(server.make_url("")).rstrip("/"), session)
    await server.close()


def retrying(transport: Transport, fake: FakeTime) -> RetryingTransport:
    return RetryingTransport(
        transport, attempts=5, sleep=fake.sleep, clock=fake.monotonic, jitter=lambda: 0.5
    )


# --- the contract ------------------------------------------------------------------------------


async def test_a_send_returns_the_receipt_of_one_request(subject: Subject) -> None:
    message = subject.message()
    receipt = await subject.transport().send(message)
    assert receipt.message_id
    assert receipt.message_ids[0] == receipt.message_id
    assert receipt.client_ref == message.effective_client_ref
    assert receipt.attempts == 1
    assert [client_ref(r) for r in subject.requests()] == [message.effective_client_ref]


async def test_a_prepared_request_is_delivered_the_same_every_time(subject: Subject) -> None:
    transport = subject.transport()
    message = subject.message()
    prepared = transport.prepare(message)
    assert subject.requests() == []
    first = await transport.deliver(prepared)
    second = await transport.deliver(prepared)
    assert first.client_ref == second.client_ref == message.effective_client_ref
    one, again = subject.requests()
    assert one == again
    assert client_ref(one) == message.effective_client_ref


async def test_every_attempt_of_a_retry_carries_the_same_request(
    subject: Subject, fake: FakeTime
) -> None:
    failures = [f for f in RETRYABLE if f in subject.failures]
    for failure in failures:
        subject.inject(failure)
    message = subject.message()
    receipt = await retrying(subject.transport(), fake).send(message)
    assert receipt.attempts == len(failures) + 1
    assert receipt.client_ref == message.effective_client_ref
    requests = subject.requests()
    assert len(requests) == len(failures) + 1
    assert all(r == requests[0] for r in requests)
    assert client_ref(requests[0]) == message.effective_client_ref


@pytest.mark.parametrize("failure", ["server error", "throttled", "timeout", "malformed"])
async def test_a_failing_provider_raises_send_errors_only(
    subject: Subject, failure: Failure
) -> None:
    if failure not in subject.failures:
        pytest.skip(f"this provider cannot be made to answer with a {failure}")
    subject.inject(failure)
    with pytest.raises(SendError) as caught:
        await subject.transport().send(subject.message())
    assert caught.value.retryable is (failure in RETRYABLE)
    if failure == "malformed":
        assert isinstance(caught.value, MalformedResponse)
    assert len(subject.requests()) == 1


async def test_an_unreachable_provider_raises_a_retryable_send_error(subject: Subject) -> None:
    transport = subject.build(closed_port_url())
    with pytest.raises(SendError) as caught:
        await transport.send(subject.message())
    assert caught.value.retryable is True


async def test_quota_headers_reach_the_rate_limiter(subject: Subject, fake: FakeTime) -> None:
    if subject.quota is None:
        pytest.skip("this provider sends no quota headers")
    limiter = ChannelLimiter(clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall)
    transport = RateLimitedTransport(subject.transport(), limiter)
    message = subject.message()
    reset = str(int(fake.wall() + 30))
    subject.quota({"Quota-Remaining": "3", "Quota-Reset-UTC": reset})
    receipt = await transport.send(message)
    assert receipt.headers["quota-remaining"] == "3"
    rate = await limiter.effective_rate(message.channel, message.sender)
    assert rate == pytest.approx(3 / 30)


async def test_quota_headers_of_a_refusal_reach_the_rate_limiter(
    provider: Provider, session: aiohttp.ClientSession, fake: FakeTime
) -> None:
    limiter = ChannelLimiter(clock=fake.monotonic, sleep=fake.sleep, wall=fake.wall)
    transport = RateLimitedTransport(
        MessagesTransport(session, base_url=provider.url, auth=BasicAuth("k", "s")), limiter
    )
    reset = str(int(fake.wall() + 30))
    provider.script.append(
        Answer(429, {"title": "Rate Limit Hit"}, {"quota-remaining": "0", "quota-reset-utc": reset})
    )
    with pytest.raises(ProviderError) as caught:
        await transport.send(whatsapp())
    assert caught.value.headers["quota-remaining"] == "0"
    assert await limiter.effective_rate(Channel.WHATSAPP, WA_BOT) == 0


async def test_the_unconfigured_transport_refuses_for_good_and_posts_nothing(
    fake: FakeTime,
) -> None:
    transport = retrying(UnconfiguredTransport("set VONAGE_API_KEY"), fake)
    message = whatsapp()
    prepared = transport.prepare(message)
    assert prepared.client_ref == message.effective_client_ref
    with pytest.raises(SendError, match="set VONAGE_API_KEY") as caught:
        await transport.send(message)
    assert caught.value.retryable is False
    assert caught.value.attempts == 1
    assert fake.sleeps == []
