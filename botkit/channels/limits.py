"""Step 6: lengths and ranges: client_ref, time to live, video details, per-message webhook URLs,
names, labels, and long texts."""

from __future__ import annotations

from botkit.channels.capabilities import capability
from botkit.channels.errors import TooLong, UnsupportedOnChannel
from botkit.channels.facts import Facts, Stage, derive, each_message
from botkit.channels.text import split_text
from botkit.channels.words import NOUNS, hours, shown
from botkit.events import Channel, File, Image, Text, Video
from botkit.outbound import Outbound, ViberOptions
from botkit.vonage.outbound import VIBER_VIDEO_MEGABYTES, VIBER_VIDEO_SECONDS


@each_message
def check_client_ref(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``TooLong`` when the ``client_ref`` sent (the message id when none is set) is
    over the API version's limit: 100 characters on v1, 40 on v0.1."""
    ref = message.effective_client_ref
    limit = facts.client_ref_limit
    if len(ref) <= limit:
        return None
    what = "client_ref" if message.client_ref is not None else "message id (sent as client_ref)"
    raise TooLong(
        f"The {what} '{ref[:24]}...' has {len(ref)} characters; the Messages API "
        f"{facts.api_version} allows up to {limit}. Set a client_ref of at most {limit}.",
        channel=message.channel,
    )


@each_message
def check_ttl(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``TooLong`` for a time to live outside the channel's range (Viber: 30 to 259200
    seconds, ``viber.ttl``; MMS: 300 to 259200, ``mms.ttl``)."""
    cap = capability(message.channel)
    options = message.viber if cap.channel is Channel.VIBER else message.mms
    ttl = options.ttl if options is not None and cap.channel in _TTL_OPTIONS else None
    if cap.ttl_range is None or ttl is None:
        return None
    low, high = cap.ttl_range
    if low <= ttl <= high:
        return None
    raise TooLong(
        f"{cap.name} keeps a message for {low} to {high} seconds ({hours(high)}); "
        f"ttl={ttl} is outside that range. Set {_TTL_OPTIONS[cap.channel]}.ttl within it.",
        channel=cap.channel,
    )


_TTL_OPTIONS = {Channel.VIBER: "viber", Channel.MMS: "mms"}

THUMB_URL_MAX = 1000


@each_message
def check_video_details(message: Outbound, facts: Facts) -> Stage | None:
    """On a channel whose videos state their details (Viber), raises
    ``UnsupportedOnChannel`` for a video without ``thumb_url``, ``viber.duration`` (seconds)
    or ``viber.file_size`` (MB), and ``TooLong`` for a duration outside 1 to 600, a size
    outside 1 to 200 or a thumbnail URL over 1000 characters."""
    cap = capability(message.channel)
    content = message.content
    if not cap.video_details or not isinstance(content, Video):
        return None
    options = message.viber or ViberOptions()
    duration, size = options.duration, options.file_size
    if duration is None or size is None or content.thumb_url is None:
        given = {
            "thumb_url": content.thumb_url,
            "viber.duration": duration,
            "viber.file_size": size,
        }
        missing = ", ".join(name for name, value in given.items() if value is None)
        raise UnsupportedOnChannel(
            f"{cap.name} takes a video only with its thumbnail, length and size: set {missing} "
            "(the video's thumb_url, viber=ViberOptions(duration=seconds, "
            "file_size=megabytes)).",
            channel=cap.channel,
        )
    for name, value, (low, high), unit in (
        ("viber.duration", duration, VIBER_VIDEO_SECONDS, "seconds"),
        ("viber.file_size", size, VIBER_VIDEO_MEGABYTES, "MB"),
    ):
        if not low <= value <= high:
            raise TooLong(
                f"{cap.name} takes videos of {low} to {high} {unit}; {name}={value} is outside "
                "that range.",
                channel=cap.channel,
            )
    if len(content.thumb_url) > THUMB_URL_MAX:
        raise TooLong(
            f"{cap.name} takes a video thumb_url of up to {THUMB_URL_MAX} characters; this one "
            f"has {len(content.thumb_url)}.",
            channel=cap.channel,
        )
    return None


@each_message
def check_webhook_url(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``UnsupportedOnChannel`` for a per-message ``webhook_url`` on the Messages API
    v0.1, which has none."""
    if message.webhook_url is None or facts.api_version == "v1":
        return None
    raise UnsupportedOnChannel(
        f"The Messages API {facts.api_version} takes no per-message webhook_url: statuses go "
        "to the application's status URL. Send without webhook_url, or use v1.",
        channel=message.channel,
    )


@each_message
def check_file_name(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``TooLong`` for a file name over the channel's limit (Viber: 25 characters)."""
    cap = capability(message.channel)
    content = message.content
    limit = cap.file_name_limit
    if not isinstance(content, File) or not content.name or not limit:
        return None
    if len(content.name) <= limit:
        return None
    raise TooLong(
        f"{cap.name} allows file names of up to {limit} characters, extension included; "
        f"'{content.name}' has {len(content.name)}. Use a shorter name.",
        channel=cap.channel,
    )


@each_message
def check_action_button(message: Outbound, facts: Facts) -> Stage | None:
    """Checks an action button the bot set itself (Viber options ``action``): it needs the
    Messages API v1 and a text or a captioned image (else ``UnsupportedOnChannel``), and a text
    of at most 30 characters (else ``TooLong``)."""
    cap = capability(message.channel)
    support = cap.choices
    action = message.viber.action if message.viber is not None else None
    if not support.link_button or action is None:
        return None
    content = message.content
    if (
        facts.api_version != "v1"
        or content.type not in support.link_button_content
        or (isinstance(content, Image) and not content.caption)
    ):
        raise UnsupportedOnChannel(
            f"{cap.name} cannot show an action button with {NOUNS[content.type]} here: it "
            f"shows {shown(cap).removeprefix(cap.name + ' shows ')}.",
            channel=cap.channel,
        )
    limit = support.link_button_title
    if limit is not None and len(action.text) > limit:
        raise TooLong(
            f"{cap.name} action buttons show up to {limit} characters; '{action.text}' has "
            f"{len(action.text)}. Shorten the button text.",
            channel=cap.channel,
        )
    return None


@each_message
def check_list_label(message: Outbound, facts: Facts) -> Stage | None:
    """Raises ``TooLong`` for a ``list_title`` (the label of the button that opens a list) over
    the channel's limit (WhatsApp: 20 characters)."""
    cap = capability(message.channel)
    limit = cap.choices.list_label
    label = message.list_title
    if not message.buttons or message.choice_style != "list" or not label or not limit:
        return None
    if len(label) <= limit:
        return None
    raise TooLong(
        f"{cap.name} shows a list button label of up to {limit} characters; list_title "
        f"'{label}' has {len(label)}. Shorten it.",
        channel=cap.channel,
    )


@each_message
def split_long_texts(message: Outbound, facts: Facts) -> Stage | None:
    """Splits a text over the channel's limit into several texts, in order, at word boundaries
    (see :func:`~botkit.channels.text.split_text`). The first part keeps ``reply_to``; the last
    keeps the choices, and fits the limit of a message with choices (WhatsApp: 1024)."""
    cap = capability(message.channel)
    content = message.content
    if not isinstance(content, Text):
        return None
    limit = cap.text_limit
    parts = [content.text] if limit is None else split_text(content.text, limit)
    body_limit = cap.choices.body_limit
    if message.buttons and body_limit is not None and len(parts[-1]) > body_limit:
        parts[-1:] = split_text(parts[-1], body_limit)
    if len(parts) == 1:
        return None
    last = len(parts)
    split = [
        derive(
            message,
            str(number),
            facts,
            content=Text(text=part),
            reply_to=message.reply_to if number == 1 else None,
            buttons=message.buttons if number == last else (),
        )
        for number, part in enumerate(parts, 1)
    ]
    allowed = f"{cap.name} allows {limit} characters" if limit else ""
    if message.buttons and body_limit is not None:
        allowed += f"{', ' if allowed else ''}{body_limit} with choices"
    return Stage(
        split,
        (f"a text of {len(content.text)} characters split into {last} messages ({allowed})",),
    )
