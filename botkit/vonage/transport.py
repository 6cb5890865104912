"""Sending to the provider: one small contract, the provider's send APIs, routing, retries, pacing.

:class:`Transport` is the extension point. A send has two steps: :meth:`~Transport.prepare`
builds the request once (its body and its ``client_ref``) and :meth:`~Transport.deliver` posts
it, as many times as a retry needs, always the very same request; :meth:`~Transport.send` is
the two in a row, and what callers use. Every transport here is one:

- :class:`MessagesTransport`: the Messages API, v1 or v0.1, with any
  :class:`~botkit.vonage.auth.Authenticator`.
- :class:`DispatchTransport`: the Dispatch API, for a message whose failover the provider
  carries out (one workflow).
- :class:`SmsApiTransport`: the legacy SMS API (form parameters, HTTP 200 with a status per part).
- :class:`ChannelRouter`: each channel to its own transport (SMS through the SMS API, say), and
  messages with a provider workflow to the Dispatch API.
- :class:`RetryingTransport`: delivers again after retryable failures, with backoff.
- :class:`RateLimitedTransport`: paces deliveries per channel and sender, honouring quota
  headers.
- :class:`UnconfiguredTransport`: stands in when no credentials are set; every send fails.

A typical stack is ``RetryingTransport(RateLimitedTransport(MessagesTransport(...), limiter))``,
so that every attempt waits for its turn. All of them share the caller's single
:class:`aiohttp.ClientSession`, whose connections are pooled and reused.

Failures raise :class:`SendError` subclasses from :mod:`botkit.vonage.errors`.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote

import aiohttp

from botkit.clock import Clock
from botkit.errors import BotkitError, ConfigError
from botkit.events import Channel
from botkit.outbound import Outbound
from botkit.ratelimit import RateLimiter
from botkit.settings import SmsSignatureMethod
from botkit.vonage.auth import Authenticator
from botkit.vonage.errors import (
    MalformedResponse,
    ProviderError,
    SendError,
    TimedOut,
    Unreachable,
    UnsendableMessage,
    from_response,
    from_sms_status,
    json_object,
)

__all__ = [
    "BodyBuilder",
    "ChannelRouter",
    "DispatchTransport",
    "MessagesTransport",
    "ParamsBuilder",
    "Prepared",
    "RateLimitedTransport",
    "RetryingTransport",
    "SendError",
    "SendReceipt",
    "SmsApiTransport",
    "Transport",
    "UnconfiguredTransport",
]

BodyBuilder = Callable[[Outbound], dict[str, Any]]
"""Turns an outbound message into a Messages API JSON body."""


class ParamsBuilder(Protocol):
    """Turns an outbound message into SMS API form parameters (signed when a signature secret
    is given)."""

    def __call__(
        self,
        message: Outbound,
        *,
        api_key: str,
        api_secret: str | None = None,
        signature_secret: str | None = None,
        signature_method: SmsSignatureMethod = "md5hash",
        status_report: bool | None = None,
        callback: str | None = None,
        now: float | None = None,
    ) -> dict[str, str]: ...


@dataclass(frozen=True)
class SendReceipt:
    """The provider took the message.

    ``message_id`` is how its statuses will refer to it; ``message_ids`` holds every id the
    provider gave (a long SMS gets one per part; ``message_id`` is the first). ``attempts`` is
    how many times it was posted, ``client_ref`` the reference sent with it, and ``headers``
    the answer's headers with lower-case names. ``workflow_id`` is set when the message went as
    a provider workflow (the Dispatch API's ``dispatch_uuid``, which is then ``message_id``
    too): its final report names it.
    """

    message_id: str
    message_ids: tuple[str, ...] = ()
    attempts: int = 1
    client_ref: str | None = None
    workflow_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.message_ids:
            object.__setattr__(self, "message_ids", (self.message_id,))


@dataclass(frozen=True)
class Prepared:
    """A message turned into its request ``payload`` (JSON body or form parameters) once, to be
    delivered as many times as needed with the same ``client_ref``."""

    message: Outbound
    client_ref: str
    payload: Mapping[str, Any] = field(default_factory=dict)


class Transport(ABC):
    """Carries outbound messages to the provider: :meth:`prepare` once, :meth:`deliver` once
    or more, or :meth:`send` for both.

    A subclass implements :meth:`deliver`, and :meth:`prepare` when it has a request to build.
    Every method raises only :class:`SendError` subclasses: a message that cannot be turned
    into a request raises :class:`~botkit.vonage.errors.UnsendableMessage` from
    :meth:`prepare`, before anything is posted.
    """

    def prepare(self, message: Outbound) -> Prepared:
        """Build what :meth:`deliver` posts for ``message``, with its ``client_ref``.

        This default builds no payload and pins the message's
        :attr:`~botkit.outbound.Outbound.effective_client_ref` on it, so that every delivery
        of the result carries the same reference.
        """
        ref = message.effective_client_ref
        return Prepared(message.model_copy(update={"client_ref": ref}), ref)

    @abstractmethod
    async def deliver(self, prepared: Prepared) -> SendReceipt:
        """Post ``prepared`` to the provider once (a retrying transport: until it is taken or
        a retry is not worth it) and return the provider's receipt. Delivering the same
        ``prepared`` again posts the same request."""

    async def send(self, message: Outbound) -> SendReceipt:
        """Prepare ``message`` and deliver it."""
        return await self.deliver(self.prepare(message))

    async def mark_read(self, channel: Channel, message_id: str) -> None:
        """Tell the provider the bot has read the user's message ``message_id`` on
        ``channel`` (WhatsApp's blue ticks). This default raises a non-retryable
        :class:`SendError`: the transport cannot."""
        error = SendError(f"{type(self).__name__} cannot mark messages read")
        error.retryable = False
        raise error


class MessagesTransport(Transport):
    """``POST {base_url}/v1/messages`` or ``{base_url}/v0.1/messages`` with ``auth``'s headers.

    ``body`` builds the JSON body (by default :func:`botkit.vonage.outbound.messages_v1.body` or
    :func:`~botkit.vonage.outbound.messages_v0.body` for the version); ``client_ref`` is the
    message's :attr:`~botkit.outbound.Outbound.effective_client_ref` unless the body sets one.
    A 2xx answer with a ``message_uuid`` is a receipt; a 2xx answer without one raises a
    non-retryable :class:`~botkit.vonage.errors.MalformedResponse` (the provider took the
    message). On a 401 the transport calls ``auth.refresh()`` and posts once more. Any other
    answer raises :func:`~botkit.vonage.errors.from_response`'s exception; no answer within
    ``timeout`` seconds raises :class:`~botkit.vonage.errors.TimedOut`.
    """

    subject: str = "the Messages API"
    refuser: str = "the provider"
    """Who refuses, in the text of an error answer's exception."""
    receipt_field: str = "message_uuid"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = "https://api.nexmo.com",
        auth: Authenticator,
        version: Literal["v1", "v0.1"] = "v1",
        timeout: float = 10.0,
        body: BodyBuilder | None = None,
    ) -> None:
        if version not in ("v1", "v0.1"):
            raise ConfigError(f"the Messages API versions are v1 and v0.1; got {version!r}")
        self.version = version
        self.url = f"{base_url.rstrip('/')}/{version}/messages"
        self._read_url = f"{base_url.rstrip('/')}/v1/messages"
        self.subject = f"the Messages API {version}"
        self._session = session
        self._auth = auth
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._body = body or _default_body(version)

    def prepare(self, message: Outbound) -> Prepared:
        payload = _build(self._body, message)
        payload.setdefault("client_ref", message.effective_client_ref)
        return Prepared(message, str(payload["client_ref"]), payload)

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        answer = await self._authorized("POST", self.url, prepared.payload)
        if not 200 <= answer.status < 300:
            raise from_response(answer.status, answer.headers, answer.text, subject=self.refuser)
        uuid = json_object(answer.text).get(self.receipt_field)
        if not isinstance(uuid, str) or not uuid:
            raise answer.unreadable(
                f"{self.subject} took the message ({answer.status}) but gave no "
                f"{self.receipt_field}; it is not sent again"
            )
        return self._receipt(uuid, prepared, answer.headers)

    def _receipt(self, uuid: str, prepared: Prepared, headers: Mapping[str, str]) -> SendReceipt:
        return SendReceipt(uuid, client_ref=prepared.client_ref, headers=headers)

    async def mark_read(self, channel: Channel, message_id: str) -> None:
        """``PATCH {base_url}/v1/messages/{message_id}`` with ``{"status": "read"}`` (the
        Messages API v1's, whatever version sends): the user's WhatsApp message shows read.
        Raises :class:`~botkit.vonage.errors.UnsendableMessage` off WhatsApp and what
        :func:`~botkit.vonage.errors.from_response` raises for an answer other than 2xx."""
        if channel is not Channel.WHATSAPP:
            raise UnsendableMessage(f"only WhatsApp messages can be marked read, not {channel}")
        url = f"{self._read_url}/{quote(message_id, safe='')}"
        answer = await self._authorized("PATCH", url, {"status": "read"})
        if not 200 <= answer.status < 300:
            raise from_response(answer.status, answer.headers, answer.text)

    async def _authorized(self, method: str, url: str, body: Mapping[str, Any]) -> _Answer:
        """``method`` ``url`` with ``body`` and ``auth``'s headers; after a 401, once more
        with refreshed credentials."""
        refreshed = False
        while True:
            answer = await _post(
                self._session,
                url,
                method=method,
                json_body=body,
                headers=await self._auth.headers(),
                timeout=self._timeout,
                subject=self.subject,
            )
            if answer.status != 401 or refreshed:
                return answer
            await self._auth.refresh()
            refreshed = True


class DispatchTransport(MessagesTransport):
    """``POST {base_url}/v0.1/dispatch``: a message and its
    :attr:`~botkit.outbound.Outbound.workflow` as one failover workflow the provider carries
    out (the body of :func:`botkit.vonage.outbound.dispatch.body`).

    Authentication, the 401 refresh, timeouts and errors are :class:`MessagesTransport`'s: a
    4xx (the workflow refused) raises a non-retryable error, so the reply is refused as a
    whole. The receipt's ``message_id`` and ``workflow_id`` are the ``dispatch_uuid``; its
    ``client_ref`` is the first step's, and every step keeps its own in each attempt.
    """

    receipt_field = "dispatch_uuid"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = "https://api.nexmo.com",
        auth: Authenticator,
        timeout: float = 10.0,
    ) -> None:
        from botkit.vonage.outbound import dispatch

        super().__init__(
            session,
            base_url=base_url,
            auth=auth,
            version="v0.1",
            timeout=timeout,
            body=dispatch.body,
        )
        self.url = f"{base_url.rstrip('/')}/v0.1/dispatch"
        self.subject = self.refuser = "the Dispatch API"

    def _receipt(self, uuid: str, prepared: Prepared, headers: Mapping[str, str]) -> SendReceipt:
        return SendReceipt(uuid, client_ref=prepared.client_ref, headers=headers, workflow_id=uuid)


class SmsApiTransport(Transport):
    """``POST {base_url}/sms/json`` with form parameters: the legacy SMS API.

    Exactly one of ``api_secret`` and ``signature_secret`` is given (the API refuses both); with
    a signature secret the parameters carry ``timestamp`` and ``sig`` instead of the secret.
    ``params`` builds them (by default :func:`botkit.vonage.outbound.sms_api.params`, which sets
    ``client-ref``); ``status_report`` is every send's ``status-report-req`` and ``callback``
    its receipt URL (a message's own ``webhook_url`` wins), both left out when None. The API
    answers HTTP 200 with one status per SMS part: all ``"0"`` is a
    receipt holding every part's ``message-id``; otherwise the first failing part's status
    raises :func:`~botkit.vonage.errors.from_sms_status`'s exception (status 1, throttled, is
    retryable). When some parts were taken and others refused, the error is not retryable:
    sending again would repeat the parts already taken.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = "https://rest.nexmo.com",
        api_key: str,
        api_secret: str | None = None,
        signature_secret: str | None = None,
        signature_method: SmsSignatureMethod = "md5hash",
        status_report: bool | None = None,
        callback: str | None = None,
        timeout: float = 10.0,
        params: ParamsBuilder | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not api_key:
            raise ConfigError("the SMS API needs an API key")
        if bool(api_secret) == bool(signature_secret):
            raise ConfigError(
                "the SMS API takes an API secret or a signature secret, exactly one of them"
            )
        self.url = f"{base_url.rstrip('/')}/sms/json"
        self._session = session
        self._api_key = api_key
        self._api_secret = api_secret or None
        self._signature_secret = signature_secret or None
        self._signature_method: SmsSignatureMethod = signature_method
        self._status_report = status_report
        self._callback = callback
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._params = params or _default_params()
        self._clock = clock

    def prepare(self, message: Outbound) -> Prepared:
        payload = _build(self._params_of, message)
        client_ref = payload.get("client-ref") or message.effective_client_ref
        return Prepared(message, str(client_ref), payload)

    def _params_of(self, message: Outbound) -> dict[str, str]:
        return self._params(
            message,
            api_key=self._api_key,
            api_secret=self._api_secret,
            signature_secret=self._signature_secret,
            signature_method=self._signature_method,
            status_report=self._status_report,
            callback=self._callback,
            now=self._clock.now() if self._clock else None,
        )

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        answer = await _post(
            self._session,
            self.url,
            form=prepared.payload,
            headers={"Accept": "application/json"},
            timeout=self._timeout,
            subject="the SMS API",
        )
        if answer.status != 200:
            raise from_response(answer.status, answer.headers, answer.text, subject="the SMS API")
        parts = json_object(answer.text).get("messages")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
            raise answer.unreadable(
                "the SMS API answered 200 with a body botkit cannot read; the message is not "
                "sent again"
            )
        taken = [_id(p.get("message-id")) for p in parts if str(p.get("status")) == "0"]
        refused = next((p for p in parts if str(p.get("status")) != "0"), None)
        if refused is None:
            if not all(taken):
                raise answer.unreadable(
                    "the SMS API took the message without a message-id for every part"
                )
            return SendReceipt(
                taken[0],
                message_ids=tuple(taken),
                client_ref=prepared.client_ref,
                headers=answer.headers,
            )
        error_text = refused.get("error-text")
        error = from_sms_status(
            str(refused.get("status")),
            error_text if isinstance(error_text, str) else None,
            headers=answer.headers,
            body=answer.text,
        )
        if taken:
            error = type(error)(
                f"{error}; {len(taken)} of {len(parts)} parts were taken "
                f"({', '.join(t for t in taken if t) or 'without ids'}), so the message is not "
                "sent again",
                status=error.status,
                code=error.code,
                title=error.title,
                detail=error.detail,
                retryable=False,
                body=error.body,
                headers=error.headers,
            )
        raise error


Sleep = Callable[[float], Awaitable[object]]
_T = TypeVar("_T")


class RetryingTransport(Transport):
    """Sends again after a retryable :class:`SendError` (see ``retryable`` on it), at most
    ``attempts`` times in all and never beyond ``max_elapsed`` seconds since the first try.

    :meth:`prepare` is the inner transport's, so the request is built once and every attempt
    posts the same one, with the same ``client_ref``. Waits grow exponentially with full
    jitter: a random time up to ``min(max_delay, base_delay * 2**(n-1))`` after the n-th
    failure, and at least the error's ``retry_after`` (a ``Retry-After`` header, seconds or
    HTTP date) when the provider gave one; a wait that would pass ``max_elapsed`` is not
    started and the last error is raised, its ``attempts`` set. A success (2xx) is never
    followed by another attempt.

    A timeout is ambiguous: the provider may have taken the message before the answer was
    lost. It is retried all the same, because losing a reply is worse than a rare duplicate,
    and the attempts share a ``client_ref`` by which the duplicate can be recognised in the
    status webhooks. ``retry_timeouts=False`` gives up on a timeout instead.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        attempts: int = 5,
        max_elapsed: float = 30.0,
        base_delay: float = 0.2,
        max_delay: float = 8.0,
        retry_timeouts: bool = True,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if attempts < 1:
            raise ConfigError(f"attempts is at least 1; got {attempts}")
        self.inner = inner
        self.attempts = attempts
        self.max_elapsed = max_elapsed
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retry_timeouts = retry_timeouts
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    def prepare(self, message: Outbound) -> Prepared:
        return self.inner.prepare(message)

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        receipt, attempts = await self._retried(lambda: self.inner.deliver(prepared))
        return replace(receipt, attempts=attempts)

    async def mark_read(self, channel: Channel, message_id: str) -> None:
        """The inner transport's, retried as a delivery is."""
        await self._retried(lambda: self.inner.mark_read(channel, message_id))

    async def _retried(self, attempt_once: Callable[[], Awaitable[_T]]) -> tuple[_T, int]:
        """What ``attempt_once`` returns, and after how many attempts."""
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await attempt_once(), attempt
            except SendError as exc:
                exc.attempts = attempt
                if not self._retryable(exc) or attempt >= self.attempts:
                    raise
                delay = self._delay(attempt, exc)
                if self._clock() - started + delay > self.max_elapsed:
                    raise
                await self._sleep(delay)

    def _retryable(self, exc: SendError) -> bool:
        if isinstance(exc, TimedOut) and not self.retry_timeouts:
            return False
        return exc.retryable

    def _delay(self, attempt: int, exc: SendError) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        delay = self._jitter() * ceiling
        retry_after: float | None = exc.retry_after if isinstance(exc, ProviderError) else None
        return delay if retry_after is None else max(delay, retry_after)


class RateLimitedTransport(Transport):
    """Waits for the turn of the message's channel and sender in ``limiter`` before each
    delivery, and lets ``limiter`` see the quota headers of every answer (success or
    error)."""

    def __init__(self, inner: Transport, limiter: RateLimiter) -> None:
        self.inner = inner
        self.limiter = limiter

    def prepare(self, message: Outbound) -> Prepared:
        return self.inner.prepare(message)

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        channel, sender = prepared.message.channel, prepared.message.sender
        await self.limiter.acquire(channel, sender)
        try:
            receipt = await self.inner.deliver(prepared)
        except ProviderError as exc:
            await self.limiter.observe_quota(exc.headers, channel, sender)
            raise
        await self.limiter.observe_quota(receipt.headers, channel, sender)
        return receipt

    async def mark_read(self, channel: Channel, message_id: str) -> None:
        """The inner transport's, unpaced: a read mark is no message."""
        await self.inner.mark_read(channel, message_id)


class ChannelRouter(Transport):
    """Each channel through its own transport: ``routes[channel]``, else ``default``; a message
    with a provider :attr:`~botkit.outbound.Outbound.workflow` through ``workflows`` (a
    :class:`DispatchTransport`) whatever its channel.

    :meth:`prepare` and :meth:`deliver` go to the same transport (the one for the message),
    so a route's request is built once however often it is delivered. A message with a
    workflow and no ``workflows`` transport is refused by :meth:`prepare`
    (:class:`~botkit.vonage.errors.UnsendableMessage`).
    """

    def __init__(
        self,
        default: Transport,
        routes: Mapping[Channel, Transport] | None = None,
        *,
        workflows: Transport | None = None,
    ):
        self.default = default
        self.routes: Mapping[Channel, Transport] = dict(routes or {})
        self.workflows = workflows

    def route(self, channel: Channel) -> Transport:
        """The transport that carries ``channel``."""
        return self.routes.get(channel, self.default)

    def _for(self, message: Outbound) -> Transport:
        if not message.workflow:
            return self.route(message.channel)
        if self.workflows is None:
            raise UnsendableMessage(
                "this message has a provider failover workflow, and no Dispatch API transport "
                "is configured: set BOTKIT_FAILOVER=provider, or send it with local failover"
            )
        return self.workflows

    def prepare(self, message: Outbound) -> Prepared:
        return self._for(message).prepare(message)

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        return await self._for(prepared.message).deliver(prepared)

    async def mark_read(self, channel: Channel, message_id: str) -> None:
        await self.route(channel).mark_read(channel, message_id)


class UnconfiguredTransport(Transport):
    """Stands where the provider's transport would be when no credentials are set: every
    delivery raises a non-retryable :class:`SendError` whose text is ``reason`` (what to set);
    nothing is posted."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def deliver(self, prepared: Prepared) -> SendReceipt:
        error = SendError(self.reason)
        error.retryable = False
        raise error


def _default_body(version: Literal["v1", "v0.1"]) -> BodyBuilder:
    from botkit.vonage.outbound import messages_v0, messages_v1

    return messages_v1.body if version == "v1" else messages_v0.body


def _default_params() -> ParamsBuilder:
    from botkit.vonage.outbound import sms_api

    return sms_api.params


def _build(make: Callable[[Outbound], Mapping[str, Any]], message: Outbound) -> dict[str, Any]:
    try:
        return dict(make(message))
    except SendError:
        raise
    except (BotkitError, ValueError, TypeError, LookupError) as exc:
        raise UnsendableMessage(
            f"botkit cannot send this {message.content.type} message on {message.channel}: {exc}"
        ) from exc


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    text: str

    def unreadable(self, why: str) -> MalformedResponse:
        """The non-retryable error for an answer that says too little: ``why``, then the
        start of the body."""
        return MalformedResponse(
            f"{why}: {self.text[:300]!r}", status=self.status, body=self.text, headers=self.headers
        )


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: aiohttp.ClientTimeout,
    subject: str,
    json_body: Mapping[str, Any] | None = None,
    form: Mapping[str, Any] | None = None,
    method: str = "POST",
) -> _Answer:
    try:
        async with session.request(
            method, url, json=json_body, data=form, headers=dict(headers), timeout=timeout
        ) as response:
            text = await response.text(errors="replace")
            lowered = {k.lower(): v for k, v in response.headers.items()}
            return _Answer(response.status, lowered, text)
    except TimeoutError as exc:
        raise TimedOut(
            f"{subject} did not answer within {timeout.total} s at {url}; it may have taken "
            f"the message"
        ) from exc
    except aiohttp.ClientError as exc:
        raise Unreachable(f"{subject} could not be reached at {url}: {exc}") from exc


def _id(value: object) -> str:
    return value if isinstance(value, str) else ""
