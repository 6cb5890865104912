"""``botkit chat`` in a pseudo-terminal: type a line, read the bot's answer."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.terminal import CommandError, parse_duration, parse_location, render

ROOT = Path(__file__).resolve().parent.parent


def read_until(fd: int, wanted: str | re.Pattern[str], timeout: float = 30.0) -> str:
    """What the terminal showed until ``wanted`` (a text, or a pattern) appeared."""
    seen = ""
    deadline = time.monotonic() + timeout
    found = wanted.search if isinstance(wanted, re.Pattern) else lambda text: wanted in text
    while not found(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{wanted!r} did not appear; the terminal showed:\n{seen}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
    return seen


@contextlib.contextmanager
def chatting() -> Iterator[int]:
    """``botkit chat`` for the pizza bot on WhatsApp in a pseudo-terminal: yields the pty's
    controller; on leaving, types ``/quit`` and checks the process ends well."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "botkit", "chat", "bots.pizza:PizzaBot", "--channel", "whatsapp"],
        cwd=ROOT,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "BOTKIT_ENV": "development"},
    )
    os.close(terminal)
    try:
        yield controller
        os.write(controller, b"/quit\n")
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


@pytest.mark.slow
def test_chat_in_a_pseudo_terminal() -> None:
    with chatting() as controller:
        read_until(controller, "/quit to leave")
        os.write(controller, b"hi\n")
        shown = read_until(controller, "[3] Large")
        assert "bot › Welcome to Botkit Pizza!" in shown
        assert "bot › What size would you like?" in shown
        os.write(controller, b"2\n")  # picks the second button
        shown = read_until(controller, "A medium pizza")


@pytest.mark.slow
def test_commands_share_a_location_move_the_clock_switch_the_phone_and_show_the_status() -> None:
    with chatting() as controller:

        def type_line(line: str, wanted: str | re.Pattern[str]) -> str:
            os.write(controller, line.encode() + b"\n")
            return read_until(controller, wanted)

        read_until(controller, "/help lists the commands")
        shown = type_line("/help", "/phone off|on")
        assert "/location LAT,LONG" in shown
        assert "/advance 25h" in shown
        # With the phone off from the start, no message is read until it is back on.
        type_line("/phone off", "phone › off")
        shown = type_line("hi", "[3] Large")
        assert "you › hi" in shown, "the user's line is marked as theirs"
        type_line("3", "A large pizza")
        type_line("no more", "Where should we deliver?")
        shown = type_line("/location 51.501,-0.142", "Shall we bake it?")
        assert "you › /location 51.501,-0.142" in shown
        type_line("/location north", "/location takes LAT,LONG")
        type_line("yes", "Your pizza is in the oven")
        # The confirmation waits at one tick while the phone is off.
        shown = type_line(
            "/status", re.compile(r"submitted\s+Thank you! Your pizza is in the oven")
        )
        assert "state › done" in shown
        assert "window › open until" in shown
        type_line("/advance 25h", "(+25 h)")
        # The phone comes back, reads the confirmation a day late: the feedback question
        # goes as its template, shown with the text it stands for.
        shown = type_line("/phone on", "How was your large pizza?")
        assert "bot › [template pizza_feedback(large)] How was your large pizza?" in shown
        type_line("/status", "window › closed since")
        type_line("/advance soon", "/advance takes a positive duration")
        type_line("/teleport", "unknown command /teleport: /help lists the commands")


def test_durations_and_locations_are_read_or_refused_with_the_way_to_type_them() -> None:
    assert parse_duration("25h") == 25 * 3600
    assert parse_duration("90m") == 5400
    assert parse_duration("2d") == 2 * 86400
    assert parse_duration("1.5") == 5400
    assert parse_location("51.501, -0.142") == {"lat": 51.501, "long": -0.142}
    for bad in ("", "0h", "-3h", "soon"):
        with pytest.raises(CommandError, match="25h, 90m, 2d or 30s"):
            parse_duration(bad)
    with pytest.raises(CommandError, match="LAT,LONG"):
        parse_location("51.5")
    with pytest.raises(CommandError, match=r"-90\.\.90"):
        parse_location("91,0")


def test_render_offers_numbered_choices() -> None:
    text, choices = render(
        {
            "type": "custom",
            "custom": {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Size?"},
                    "action": {
                        "buttons": [{"type": "reply", "reply": {"id": "s", "title": "Small"}}]
                    },
                },
            },
        }
    )
    assert text == "Size?\n  [1] Small"
    assert choices == [("s", "Small")]
    assert render({"type": "template", "name": "pizza_feedback", "parameters": ["large"]})[0] == (
        "[template pizza_feedback(large)]"
    )
