"""The SMS API form parameters, GSM-7 detection and SMS segment arithmetic."""

from __future__ import annotations

import time
from typing import Any

import pytest

from botkit.events import Channel, Image, Text
from botkit.outbound import Outbound, SmsOptions
from botkit.vonage.outbound import UnsupportedContent
from botkit.vonage.outbound.sms_api import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentInfo,
    is_gsm7,
    params,
    sms_segments,
)
from botkit.vonage.signing import sms_signature, verify_sms_signature

# --- GSM-7 ---------------------------------------------------------------------------------------


def test_the_gsm_tables_have_their_sizes() -> None:
    # 128 code points less the escape to the extension table; ten extension characters.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, world!",
        "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡¿ÄÖÑÜ§äöñüà",
        "line\nbreak\r",
        "{[~]}|^\\€\f",
    ],
    ids=["empty", "ascii", "basic-specials", "newlines", "extension"],
)
def test_gsm7_texts(text: str) -> None:
    assert is_gsm7(text)


@pytest.mark.parametrize(
    "text",
    ["ç", "`", "Привет", "α", "Hi 👋", "\x1b", "\t", "naïve"],
    ids=[
        "small-c-cedilla",
        "backtick",
        "cyrillic",
        "small-greek",
        "emoji",
        "escape",
        "tab",
        "i-diaeresis",
    ],
)
def test_texts_outside_gsm7(text: str) -> None:
    assert not is_gsm7(text)


# --- segments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("text", 1, 160)),
        ("a" * 160, SegmentInfo("text", 1, 160)),
        ("a" * 161, SegmentInfo("text", 2, 153)),
        ("a" * 306, SegmentInfo("text", 2, 153)),
        ("a" * 307, SegmentInfo("text", 3, 153)),
        ("€" * 80, SegmentInfo("text", 1, 160)),
        ("€" * 81, SegmentInfo("text", 2, 153)),
        ("a" * 159 + "€", SegmentInfo("text", 2, 153)),
        # 306 septets would fill two parts, but the escape pair of "€" cannot straddle them.
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("text", 3, 153)),
        ("я" * 70, SegmentInfo("unicode", 1, 70)),
        ("я" * 71, SegmentInfo("unicode", 2, 67)),
        ("я" * 134, SegmentInfo("unicode", 2, 67)),
        ("я" * 135, SegmentInfo("unicode", 3, 67)),
        ("😀" * 35, SegmentInfo("unicode", 1, 70)),
        ("😀" * 36, SegmentInfo("unicode", 2, 67)),
        ("a" * 69 + "😀", SegmentInfo("unicode", 2, 67)),
        # 134 UTF-16 units, but the surrogate pair of the emoji cannot straddle two parts.
        ("я" * 66 + "😀" + "я" * 66, SegmentInfo("unicode", 3, 67)),
    ],
    ids=[
        "empty",
        "gsm-160",
        "gsm-161",
        "gsm-306",
        "gsm-307",
        "euro-80",
        "euro-81",
        "euro-counts-two",
        "escape-pair-not-split",
        "ucs2-70",
        "ucs2-71",
        "ucs2-134",
        "ucs2-135",
        "emoji-35",
        "emoji-36",
        "emoji-counts-two",
        "surrogate-pair-not-split",
    ],
)
def test_sms_segments(text: str, expected: SegmentInfo) -> None:
    assert sms_segments(text) == expected


def test_a_forced_unicode_encoding_counts_utf16_units() -> None:
    assert sms_segments("a" * 71, "unicode") == SegmentInfo("unicode", 2, 67)


def test_a_forced_text_encoding_refuses_what_gsm7_cannot_carry() -> None:
    with pytest.raises(ValueError, match="cannot carry 'я'"):
        sms_segments("abя", "text")


# --- params --------------------------------------------------------------------------------------


def sms(text: str = "Hello", **extra: Any) -> Outbound:
    extra.setdefault("id", "m1")
    return Outbound(
        channel=Channel.SMS, to="447700900000", sender="Botkit", content=Text(text=text), **extra
    )


def test_params_with_the_api_secret() -> None:
    assert params(sms(), api_key="abcd1234", api_secret="s3cr3t") == {
        "api_key": "abcd1234",
        "from": "Botkit",
        "to": "447700900000",
        "text": "Hello",
        "type": "text",
        "client-ref": "m1",
        "api_secret": "s3cr3t",
    }


def test_text_outside_gsm7_is_sent_as_unicode() -> None:
    assert params(sms("Привет"), api_key="k", api_secret="s")["type"] == "unicode"
    assert params(sms("10 €"), api_key="k", api_secret="s")["type"] == "text"


def test_the_encoding_option_is_followed() -> None:
    forced = params(sms(sms=SmsOptions(encoding="unicode")), api_key="k", api_secret="s")
    auto = params(sms("Привет", sms=SmsOptions(encoding="auto")), api_key="k", api_secret="s")

    assert forced["type"] == "unicode"
    assert auto["type"] == "unicode"
    with pytest.raises(ValueError, match="cannot carry"):
        params(sms("Привет", sms=SmsOptions(encoding="text")), api_key="k", api_secret="s")


def test_options_become_hyphenated_params_and_ttl_milliseconds() -> None:
    options = SmsOptions(ttl=900, entity_id="e-1", content_id="c-1")
    form = params(sms(sms=options, client_ref="ref-9"), api_key="k", api_secret="s")

    assert form["ttl"] == "900000"
    assert form["entity-id"] == "e-1"
    assert form["content-id"] == "c-1"
    assert form["client-ref"] == "ref-9"


@pytest.mark.parametrize(
    ("seconds", "ok"), [(19, False), (20, True), (604800, True), (604801, False)]
)
def test_ttl_bounds(seconds: int, ok: bool) -> None:
    message = sms(sms=SmsOptions(ttl=seconds))
    if ok:
        assert params(message, api_key="k", api_secret="s")["ttl"] == str(seconds * 1000)
    else:
        with pytest.raises(ValueError, match="between 20 and 604800"):
            params(message, api_key="k", api_secret="s")


@pytest.mark.parametrize(("wanted", "sent"), [(True, "true"), (False, "false")])
def test_status_report_request(wanted: bool, sent: str) -> None:
    form = params(sms(), api_key="k", api_secret="s", status_report=wanted)

    assert form["status-report-req"] == sent


def test_no_status_report_param_unless_asked() -> None:
    assert "status-report-req" not in params(sms(), api_key="k", api_secret="s")


def test_client_ref_over_100_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="limited to 100"):
        params(sms(client_ref="r" * 101), api_key="k", api_secret="s")


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
def test_signed_params_carry_sig_and_timestamp_and_no_secret(method: Any) -> None:
    form = params(
        sms("a&b=c"),
        api_key="abcd1234",
        signature_secret="sig-secret",
        signature_method=method,
        now=1_700_000_000.7,
    )

    assert "api_secret" not in form
    assert form["timestamp"] == "1700000000"
    assert form["sig"] == sms_signature(
        {k: v for k, v in form.items() if k != "sig"}, "sig-secret", method
    )
    verify_sms_signature(form, "sig-secret", method, max_age=60, now=1_700_000_010)


def test_the_timestamp_defaults_to_now() -> None:
    before = int(time.time())
    form = params(sms(), api_key="k", signature_secret="sig-secret")

    assert before <= int(form["timestamp"]) <= int(time.time())


@pytest.mark.parametrize(
    "auth",
    [{}, {"api_secret": "s", "signature_secret": "sig"}],
    ids=["neither", "both"],
)
def test_exactly_one_way_to_authenticate(auth: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one of api_secret and signature_secret"):
        params(sms(), api_key="k", **auth)


def test_only_text_content_is_sent() -> None:
    message = Outbound(
        channel=Channel.SMS, to="447700900000", sender="B", content=Image(url="https://x.test")
    )

    with pytest.raises(UnsupportedContent, match="the SMS API cannot send image to sms"):
        params(message, api_key="k", api_secret="s")


def test_only_the_sms_channel_is_sent() -> None:
    message = Outbound(
        channel=Channel.WHATSAPP, to="447700900000", sender="B", content=Text(text="Hi")
    )

    with pytest.raises(UnsupportedContent, match="to whatsapp: it sends SMS only"):
        params(message, api_key="k", api_secret="s")
