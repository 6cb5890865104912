"""``botkit chat`` in a pseudo-terminal: type a line, read the bot's answer."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from botkit.terminal import render

ROOT = Path(__file__).resolve().parent.parent


def read_until(fd: int, wanted: str, timeout: float = 30.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
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


@pytest.mark.slow
def test_chat_in_a_pseudo_terminal() -> None:
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
        read_until(controller, "/quit to leave")
        os.write(controller, b"hi\n")
        shown = read_until(controller, "[3] Large")
        assert "bot › Welcome to Botkit Pizza!" in shown
        assert "bot › What size would you like?" in shown
        os.write(controller, b"2\n")  # picks the second button
        shown = read_until(controller, "A medium pizza")
        os.write(controller, b"/quit\n")
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


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
