"""Hostile HTTP requests for every route of the server, as hypothesis strategies.

What a fuzzer or an attacker sends: spec-valid webhooks with fields replaced by JSON nested
thousands deep, lone surrogates (``"\\ud800"``), integers of hundreds of digits, non-finite
numbers, values of the wrong type and oversized strings; SMS API parameters with bytes that are
not UTF-8; random bytes under any content type; any method on any route, including the health
and inspector routes and paths that do not exist. Used by the property test over every route
(``tests/test_server_fuzz.py``) and by ``bench/fuzz.py``, which counts the answers of a real
``botkit serve`` to 20,000 of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from hypothesis import strategies as st
from yarl import URL

from botkit.vonage.openapi.examples import SpecExample, webhook_examples

MESSAGES_EXAMPLES: list[SpecExample] = [
    example
    for spec in ("messages-v1", "messages-v0.1", "dispatch")
    for example in webhook_examples(spec)
]
SMS_EXAMPLES: list[SpecExample] = webhook_examples("sms")
INSPECTOR_TOKEN = "a-token-for-hostile-requests"
"""Set as ``BOTKIT_INSPECTOR_TOKEN`` and ``BOTKIT_API_TOKEN`` on the server, so the guarded
routes (the inspector, the events API) are reached too."""
EVENT_EXAMPLES: list[SpecExample] = [
    SpecExample(
        "events/order_shipped",
        "events",  # type: ignore[arg-type]
        "events",  # type: ignore[arg-type]
        {
            "channel": "whatsapp",
            "user": "447700900001",
            "name": "order_shipped",
            "data": {"order": "123", "items": [{"sku": "A1", "qty": 2}], "paid": True},
            "key": "order-123",
        },
    ),
    SpecExample(
        "events/minimal",
        "events",  # type: ignore[arg-type]
        "events",  # type: ignore[arg-type]
        {"channel": "messenger", "user": "psid-1", "name": "ping"},
    ),
]
"""Events API bodies (``POST /api/v1/events``), for the server configured with a WhatsApp
number and a Messenger page."""

ROUTES = (
    "/webhooks/inbound",
    "/webhooks/status",
    "/webhooks/sms/inbound",
    "/webhooks/sms/dlr",
    "/api/v1/events",
    "/healthz",
    "/readyz",
    "/metrics",
    "/_botkit/bot",
    "/_botkit/conversations",
    "/_botkit/conversations/whatsapp:447700900000:447700900001",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/vnd.vonage+json",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/octet-stream",
    "",
    "garbage/;;;==",
)


@dataclass(frozen=True)
class HostileRequest:
    """One request: ``target`` is the path with its query, already percent-encoded as sent."""

    method: str
    target: str
    body: bytes = b""
    content_type: str | None = None
    authorization: str | None = None
    what: str = field(default="", compare=False, kw_only=True)

    async def send(self, session: aiohttp.ClientSession, base: str) -> tuple[int, bytes]:
        """Send over ``session`` to the server at ``base``; the status and the body."""
        headers = {} if self.content_type is None else {"Content-Type": self.content_type}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        async with session.request(
            self.method,
            URL(base + self.target, encoded=True),
            data=self.body if self.body or self.method not in ("GET", "HEAD") else None,
            headers=headers,
            skip_auto_headers=["Content-Type"] if self.content_type is None else (),
            allow_redirects=False,
        ) as response:
            return response.status, await response.read()


# --- JSON fragments: text spliced into a payload where a value was -------------------------------


def _deep(depth: int, opener: str) -> str:
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

fragments: st.SearchStrategy[str] = st.one_of(
    st.builds(_deep, st.integers(min_value=20, max_value=3000), st.sampled_from("[{")),
    st.sampled_from(['"\\ud800"', '"hello \\udfff"', '{"\\ud800": 1}', '["\\udbff\\udbff"]']),
    st.builds(
        lambda digits, sign: sign + "9" * digits,
        st.integers(min_value=19, max_value=5000),
        st.sampled_from(["", "-"]),
    ),
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1.5e308", "2e-400"]),
    json_values.map(json.dumps),
    st.sampled_from([300, 5000, 70_000]).map(lambda n: json.dumps("9" * n)),
)
"""A JSON value as text: hostile ones, and any ordinary value of a possibly wrong type."""

_TOKEN = "\x00hostile-{}\x00"


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside ``value`` (keys and indexes), parents first."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from paths_in(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from paths_in(inner, (*prefix, index))


@st.composite
def hostile_json(draw: st.DrawFn, examples: list[SpecExample]) -> bytes:
    """A spec example with one to three values replaced by :data:`fragments` (or dropped)."""
    payload: Any = copy.deepcopy(draw(st.sampled_from(examples)).payload)
    spliced: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(paths_in(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        target = payload
        for step in path[:-1]:
            target = target[step]
        if draw(st.integers(min_value=0, max_value=5)) == 0 and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = _TOKEN.format(len(spliced))
            spliced.append(draw(fragments))
    if draw(st.booleans()) and isinstance(payload, dict):  # a key that is a lone surrogate
        payload = {**payload, _TOKEN.format(len(spliced)): 1}
        spliced.append('"\\ud800"')
    text = json.dumps(payload)
    for index, fragment in enumerate(spliced):
        text = text.replace(json.dumps(_TOKEN.format(index)), fragment)
    return text.encode("utf-8", "surrogatepass")


# --- SMS API parameters --------------------------------------------------------------------------


def _encoded(text: str) -> str:
    return quote(text, safe="")


sms_values = st.one_of(
    st.text(max_size=40).map(_encoded),
    st.sampled_from(["%ED%A0%80", "%FF%FE", "%00", "%C0%80", "%F4%90%80%80", "%", "%zz"]),
    st.integers(min_value=19, max_value=3000).map(lambda n: "9" * n),
    st.sampled_from(["-1", "0", "256", "99999999999999999999", "1e400", "NaN"]),
)
"""Parameter values as sent in a query string: percent-encoded, some as bytes that are not
UTF-8 and some as broken escapes."""


@st.composite
def sms_query(draw: st.DrawFn) -> str:
    """An SMS API example's parameters, some replaced, as a percent-encoded query string."""
    params = dict(draw(st.sampled_from(SMS_EXAMPLES)).payload)
    pairs = [(_encoded(str(k)), _encoded(str(v))) for k, v in params.items()]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(pairs) - 1))
        pairs[index] = (pairs[index][0], draw(sms_values))
    return "&".join(f"{k}={v}" for k, v in pairs)


@st.composite
def sms_json(draw: st.DrawFn) -> bytes:
    return draw(hostile_json(SMS_EXAMPLES))


# --- requests ------------------------------------------------------------------------------------


@st.composite
def messages_requests(draw: st.DrawFn) -> HostileRequest:
    path = draw(st.sampled_from(["/webhooks/inbound", "/webhooks/status"]))
    content_type = draw(st.sampled_from(["application/json"] * 6 + list(CONTENT_TYPES)))
    body = draw(hostile_json(MESSAGES_EXAMPLES))
    return HostileRequest("POST", path, body, content_type, what="messages json")


@st.composite
def sms_requests(draw: st.DrawFn) -> HostileRequest:
    path = draw(st.sampled_from(["/webhooks/sms/inbound", "/webhooks/sms/dlr"]))
    how = draw(st.sampled_from(["query", "form", "json"]))
    if how == "query":
        return HostileRequest("GET", f"{path}?{draw(sms_query())}", what="sms query")
    if how == "form":
        form = draw(sms_query()).encode()
        return HostileRequest(
            "POST", path, form, "application/x-www-form-urlencoded", what="sms form"
        )
    return HostileRequest("POST", path, draw(sms_json()), "application/json", what="sms json")


@st.composite
def events_requests(draw: st.DrawFn) -> HostileRequest:
    """Events API bodies made hostile, mostly with the right token (so they reach the body)."""
    content_type = draw(st.sampled_from(["application/json"] * 6 + list(CONTENT_TYPES)))
    token = draw(st.sampled_from([INSPECTOR_TOKEN] * 4 + [None, "wrong"]))
    return HostileRequest(
        "POST",
        "/api/v1/events",
        draw(hostile_json(EVENT_EXAMPLES)),
        content_type,
        None if token is None else f"Bearer {token}",
        what="events json",
    )


@st.composite
def garbage_requests(draw: st.DrawFn) -> HostileRequest:
    """Any method on any route (or none), with random bytes under any content type."""
    route = draw(st.sampled_from(ROUTES) | st.text(min_size=1, max_size=20).map(_as_path))
    query = draw(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=3))
    token = draw(st.sampled_from([None, INSPECTOR_TOKEN, "wrong", "%ED%A0%80"]))
    in_header = draw(st.booleans())
    target = route + "?" + urlencode(query)
    if token is not None and not in_header:
        target += "&token=" + (token if token.startswith("%") else _encoded(token))
    return HostileRequest(
        draw(st.sampled_from(METHODS)),
        target,
        draw(st.binary(max_size=2000)),
        draw(st.sampled_from([*CONTENT_TYPES, None])),
        f"Bearer {token}" if token is not None and in_header else None,
        what="garbage",
    )


def _as_path(text: str) -> str:
    return "/" + quote(text.encode("utf-8", "surrogatepass"), safe="/%")


hostile_requests: st.SearchStrategy[HostileRequest] = st.one_of(
    messages_requests(), sms_requests(), events_requests(), garbage_requests()
)
"""Every kind above, over every route."""


def names_a_field(body: bytes) -> bool:
    """Whether a 4xx answer's body is a JSON object that says what was wrong: an ``error``
    and, for a refused payload, the ``field`` of each problem."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
        return False
    problems = answer.get("problems")
    if answer["error"] != "invalid_payload":
        return problems is None
    return (
        isinstance(problems, list)
        and bool(problems)
        and all(isinstance(p, dict) and isinstance(p.get("field"), str) for p in problems)
    )
