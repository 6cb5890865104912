"""The web chat and the inspector in a real headless Chromium (Debian's, driven by Playwright).

A person's path: order a pizza on WhatsApp with buttons and a shared location, see the read
ticks, switch the phone off, confirm, move the clock a day, switch it on, and see the feedback
question arrive as a template; order on Messenger by typing; open the inspector and see the
conversation's state highlighted. The screenshots the README shows are taken here: into a
temporary folder on a test run, into the folder ``BOTKIT_SCREENSHOTS`` names to regenerate
them (``BOTKIT_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/sandbox/test_pages.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from botkit.devserver import DevServer
from tests.conftest import RedisServer, dev_server

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.async_api")
# Generous: CI machines are shared, and a slow answer is not a wrong one.
playwright_api.expect.set_options(timeout=15_000)
if CHROMIUM is None:
    pytest.fail("chromium is not installed: run .ci/run, or apt-get install chromium")


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the README's screenshots go: ``BOTKIT_SCREENSHOTS`` when set, else this test's
    temporary folder (a test run writes nothing into the checkout)."""
    chosen = os.environ.get("BOTKIT_SCREENSHOTS")
    folder = Path(chosen).resolve() if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def page() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        tab = await context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        yield tab
        await browser.close()
        assert not errors, f"the page raised: {errors}"


async def open_chat(page: object, dev: DevServer, channel: str, user: str) -> object:
    await page.goto(dev.chat_url)  # type: ignore[attr-defined]
    await page.wait_for_selector("body[data-ready=true]")  # type: ignore[attr-defined]
    return await open_pane(page, channel, user)


async def open_pane(page: object, channel: str, user: str) -> object:
    """Open one more chat on the page already loaded."""
    await page.select_option("#channel-select", channel)  # type: ignore[attr-defined]
    await page.fill("#user-input", user)  # type: ignore[attr-defined]
    await page.click("#open-chat")  # type: ignore[attr-defined]
    return page.locator(f'.pane[data-channel="{channel}"][data-user="{user}"]')  # type: ignore[attr-defined]


async def say(pane: object, text: str) -> None:
    await pane.locator(".compose-text").fill(text)  # type: ignore[attr-defined]
    await pane.locator(".compose-text").press("Enter")  # type: ignore[attr-defined]


def last_bot_message(pane: object) -> object:
    return pane.locator(".bubble.outbound").last  # type: ignore[attr-defined]


async def test_order_on_whatsapp_then_the_feedback_arrives_as_a_template(
    page: object, dev: DevServer, screenshots: Path
) -> None:
    expect = playwright_api.expect
    pane = await open_chat(page, dev, "whatsapp", "447700900001")
    await say(pane, "hi")
    await expect(last_bot_message(pane)).to_contain_text("What size would you like?")
    await pane.locator("button.choice", has_text="Large").click()  # type: ignore[attr-defined]
    await expect(last_bot_message(pane)).to_contain_text("A large pizza")
    await pane.locator("button.choice", has_text="Cheese").click()  # type: ignore[attr-defined]
    await expect(last_bot_message(pane)).to_contain_text("Added cheese")
    await pane.locator("button.choice", has_text="No more").click()  # type: ignore[attr-defined]
    await expect(last_bot_message(pane)).to_contain_text("Where should we deliver?")
    await pane.locator(".share-location").click()  # type: ignore[attr-defined]
    summary = pane.locator(".bubble.outbound", has_text="Shall we bake it?")  # type: ignore[attr-defined]
    await expect(summary).to_contain_text("A large pizza with cheese, to London SW1A 1AA")
    # What a user sees: the bot's messages were delivered and read.
    await expect(summary.locator(".ticks.read")).to_be_visible()

    # The phone goes off; the confirmation waits at one tick for a day.
    await pane.locator(".offline").check()  # type: ignore[attr-defined]
    await pane.locator("button.choice", has_text="Yes, bake it").click()  # type: ignore[attr-defined]
    confirmation = pane.locator(".bubble.outbound", has_text="Your pizza is in the oven")  # type: ignore[attr-defined]
    await expect(confirmation).to_have_count(1)
    await expect(confirmation.locator(".ticks.submitted")).to_be_visible()
    await page.click("#advance-25h")  # type: ignore[attr-defined]
    await expect(page.locator("#clock-offset")).to_have_text("(+25 h)")  # type: ignore[attr-defined]
    await pane.locator(".offline").uncheck()  # type: ignore[attr-defined]

    # The feedback timer (an hour after the order) fell due during the day the clock moved:
    # WhatsApp's window is closed by then, so the bot's feedback question goes as its approved
    # template, not as free text.
    await expect(confirmation.locator(".ticks.read")).to_be_visible()
    feedback = last_bot_message(pane)
    await expect(feedback.locator(".template-name")).to_contain_text("pizza_feedback")  # type: ignore[attr-defined]
    await expect(feedback).to_contain_text("{{1}} = large")
    # The bubble reads as the bot's own message the template stands for...
    await expect(feedback.locator(".template-text")).to_have_text(  # type: ignore[attr-defined]
        "How was your large pizza? Reply with a mark from 1 to 5."
    )
    # ...and no free-text bubble carries it.
    free_text = pane.locator(".bubble.outbound:not(:has(.template))", has_text="How was your")  # type: ignore[attr-defined]
    await expect(free_text).to_have_count(0)

    await page.screenshot(path=str(screenshots / "chat.png"))  # type: ignore[attr-defined]
    assert is_png(screenshots / "chat.png")


async def test_order_on_messenger_by_typing(page: object, dev: DevServer) -> None:
    expect = playwright_api.expect
    pane = await open_chat(page, dev, "messenger", "4711000222333")
    await say(pane, "hello")
    await expect(last_bot_message(pane)).to_contain_text("1. Small")
    await say(pane, "2")  # a numbered option picks that button
    await expect(last_bot_message(pane)).to_contain_text("A medium pizza")
    await say(pane, "ham")
    await expect(last_bot_message(pane)).to_contain_text("Added ham")
    await say(pane, "no more")
    await expect(last_bot_message(pane)).to_contain_text("Where should we deliver?")
    await say(pane, "1 Main Street")
    await expect(last_bot_message(pane)).to_contain_text("A medium pizza with ham")
    await say(pane, "yes")
    confirmation = pane.locator(".bubble.outbound", has_text="Your pizza is in the oven")  # type: ignore[attr-defined]
    await expect(confirmation.locator(".ticks.read")).to_be_visible()
    # An hour later, within the window: the feedback question goes as free text.
    await page.click("button[data-advance='3600']")  # type: ignore[attr-defined]
    await expect(last_bot_message(pane)).to_contain_text("How was your medium pizza?")


async def test_inspector_shows_the_state_highlighted(
    page: object, dev: DevServer, screenshots: Path
) -> None:
    expect = playwright_api.expect
    pane = await open_chat(page, dev, "whatsapp", "447700900002")
    await say(pane, "hi")
    await pane.locator("button.choice", has_text="Small").click()  # type: ignore[attr-defined]
    await expect(last_bot_message(pane)).to_contain_text("A small pizza")

    await page.goto(f"{dev.sandbox_url}/inspector")  # type: ignore[attr-defined]
    await page.wait_for_selector("body[data-ready=true]")  # type: ignore[attr-defined]
    await expect(page.locator("#state")).to_have_text("toppings")  # type: ignore[attr-defined]
    await expect(page.locator("#data")).to_contain_text('"size": "small"')  # type: ignore[attr-defined]
    # Mermaid drew the machine, the conversation's state in the highlighted class.
    active = page.locator("#diagram svg g.node.s_active")  # type: ignore[attr-defined]
    await expect(active).to_have_count(1)
    await expect(active).to_contain_text("toppings")
    await expect(page.locator("#timeline tr.sent")).to_have_count(3)  # type: ignore[attr-defined]
    await page.screenshot(path=str(screenshots / "inspector.png"))  # type: ignore[attr-defined]
    assert is_png(screenshots / "inspector.png")


# --- the dev loop: what the web chat and the inspector show ------------------------------------


async def test_at_1400_px_a_closed_chat_stays_closed_and_its_entry_reopens_it(
    page: object, dev: DevServer
) -> None:
    expect = playwright_api.expect
    await page.set_viewport_size({"width": 1400, "height": 900})  # type: ignore[attr-defined]
    pane = await open_chat(page, dev, "whatsapp", "447700900001")
    await say(pane, "hi")
    await expect(last_bot_message(pane)).to_contain_text("What size would you like?")
    # The header's close button lies wholly inside the pane.
    box = await pane.bounding_box()  # type: ignore[attr-defined]
    close = await pane.locator(".close").bounding_box()  # type: ignore[attr-defined]
    assert close["x"] >= box["x"]
    assert close["x"] + close["width"] <= box["x"] + box["width"]

    await pane.locator(".close").click()  # type: ignore[attr-defined]
    await expect(pane).to_have_count(0)
    entry = page.locator('#chat-list li[data-key="whatsapp:447700900001"]')  # type: ignore[attr-defined]
    await expect(entry).to_have_class("closed")
    await page.reload()  # type: ignore[attr-defined]
    await page.wait_for_selector("body[data-ready=true]")  # type: ignore[attr-defined]
    await expect(entry).to_have_class("closed")
    await expect(pane).to_have_count(0)

    await entry.locator("button").click()
    await expect(last_bot_message(pane)).to_contain_text("What size would you like?")
    await expect(pane.locator(".compose-text")).to_be_focused()  # type: ignore[attr-defined]
    await expect(entry).not_to_have_class("closed")


async def test_the_clock_ticks_and_a_day_jump_shows_the_date(page: object, dev: DevServer) -> None:
    expect = playwright_api.expect
    pane = await open_chat(page, dev, "messenger", "4711000222333")
    clock = page.locator("#clock-time")  # type: ignore[attr-defined]
    await expect(clock).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    shown = await clock.inner_text()
    await expect(clock).not_to_have_text(shown)  # it moves on without any event

    await say(pane, "hello")
    await expect(last_bot_message(pane)).to_contain_text("1. Small")
    days = pane.locator("li.day")  # type: ignore[attr-defined]
    await expect(days).to_have_count(1)
    await page.click("#advance-25h")  # type: ignore[attr-defined]
    await expect(page.locator("#clock-offset")).to_have_text("(+25 h)")  # type: ignore[attr-defined]
    await say(pane, "2")
    await expect(last_bot_message(pane)).to_contain_text("A medium pizza")
    await expect(days).to_have_count(2)
    first, second = await days.nth(0).inner_text(), await days.nth(1).inner_text()
    assert first != second
    # The new day's separator comes right before the user's message of that day.
    after = pane.locator("li.day >> nth=1 >> xpath=following-sibling::li[1]")  # type: ignore[attr-defined]
    await expect(after).to_have_class(re.compile(r"bubble inbound"))


async def test_a_refused_send_and_a_failed_reload_show_where_the_user_looks(
    page: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect = playwright_api.expect
    source = tmp_path / "reloaded_bot.py"
    source.write_text(
        "from bots.pizza import PizzaBot\n\n\nclass ReloadedBot(PizzaBot):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    dev = dev_server("reloaded_bot:ReloadedBot")
    await dev.start(watch=False)
    try:
        pane = await open_chat(page, dev, "whatsapp", "447700900001")
        # The provider refuses the bot's next send (an error fault): the chat says so.
        async with aiohttp.ClientSession(headers=dev.auth_headers) as session:
            fault = {"kind": "error", "channel": "whatsapp", "user": "447700900001", "count": 9}
            async with session.post(f"{dev.sandbox_url}/_sandbox/faults", json=fault) as answer:
                assert answer.status == 201
        await say(pane, "hi")
        refused = pane.locator(".note.error", has_text="The provider refused a message")  # type: ignore[attr-defined]
        await expect(refused.first).to_be_visible()

        source.write_text("from bots.pizza import PizzaBot\n\nclass ReloadedBot(PizzaBot:\n")
        await dev.reload()
        banner = page.locator("#banner .banner-line.error")  # type: ignore[attr-defined]
        await expect(banner).to_contain_text("The bot did not reload: SyntaxError")
        await expect(banner).to_contain_text("still runs the last version")

        source.write_text(
            "from bots.pizza import PizzaBot\n\n\nclass ReloadedBot(PizzaBot):\n    '''Back.'''\n"
        )
        await dev.reload()
        await expect(banner).to_have_count(0)
        await expect(page.locator("#banner .banner-line.info")).to_contain_text("The bot reloaded")  # type: ignore[attr-defined]
    finally:
        await dev.stop()


async def test_the_inspector_follows_the_chat_in_use_and_traces_each_turn(
    page: object, dev: DevServer
) -> None:
    expect = playwright_api.expect
    messenger = await open_chat(page, dev, "messenger", "4711000222333")
    await say(messenger, "hello")
    await expect(last_bot_message(messenger)).to_contain_text("1. Small")
    whatsapp = await open_pane(page, "whatsapp", "447700900001")
    await say(whatsapp, "hi")
    await expect(last_bot_message(whatsapp)).to_contain_text("What size would you like?")

    inspector = await page.context.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    inspector.on("pageerror", lambda error: errors.append(str(error)))
    await inspector.goto(f"{dev.sandbox_url}/inspector")
    await inspector.wait_for_selector("body[data-ready=true]")
    # The chat used last, not the alphabetically first (messenger).
    await expect(inspector.locator("#where")).to_have_text("· whatsapp 447700900001")
    turn = inspector.locator("#timeline tr.turn.message").first
    await expect(turn).to_contain_text("user › 'hi'")
    await expect(turn).to_contain_text("greet() · trigger size")
    await expect(turn).to_contain_text("greeting → size · handled")
    await expect(turn).to_contain_text(re.compile(r"\d+(\.\d+)? ms"))
    sent = inspector.locator("#timeline tr.sent")
    await expect(sent.first).to_contain_text("bot › Welcome to Botkit Pizza!")
    await expect(inspector.locator("#window")).to_contain_text("Open until")
    await expect(inspector.locator("#no-timers")).to_have_text("No pending timers.")

    # Typing in the other chat's pane: the inspector follows it there.
    await say(messenger, "2")
    await expect(inspector.locator("#where")).to_have_text("· messenger 4711000222333")
    await expect(inspector.locator("#state")).to_have_text("toppings")
    rule_notes = inspector.locator("#timeline tr.turn .notes")
    await expect(rule_notes.first).to_contain_text("numbered options")

    # A picked conversation stays; a day later WhatsApp's window reads closed.
    await inspector.locator("#conversations li", has_text="whatsapp").click()
    await expect(inspector.locator("#follow")).not_to_be_checked()
    await page.click("#advance-25h")  # type: ignore[attr-defined]
    await expect(inspector.locator("#window")).to_contain_text("Closed since")
    await expect(inspector.locator("#window")).to_contain_text("only approved templates go")
    await say(messenger, "ham")
    await expect(last_bot_message(messenger)).to_contain_text("Added ham")
    await expect(inspector.locator("#where")).to_have_text("· whatsapp 447700900001")
    assert not errors, f"the inspector raised: {errors}"


async def test_the_store_goes_away_the_pages_say_so_and_recover(
    page: object, own_redis: RedisServer, redis_prefix: str
) -> None:
    expect = playwright_api.expect
    dev = dev_server(REDIS_URL=own_redis.url, BOTKIT_REDIS_PREFIX=redis_prefix)
    await dev.start(watch=False)
    try:
        pane = await open_chat(page, dev, "whatsapp", "447700900001")
        await say(pane, "hi")
        await expect(last_bot_message(pane)).to_contain_text("What size would you like?")
        inspector = await page.context.new_page()  # type: ignore[attr-defined]
        await inspector.goto(f"{dev.sandbox_url}/inspector")
        await inspector.wait_for_selector("body[data-ready=true]")
        await expect(inspector.locator("#state")).to_have_text("size")

        own_redis.stop()
        await page.bring_to_front()  # type: ignore[attr-defined]
        await say(pane, "large")
        # The webhook's 503 shows in the chat, next to the message that caused it.
        webhook = pane.locator(".note.error", has_text="The bot answered 503")  # type: ignore[attr-defined]
        await expect(webhook).to_contain_text("the sandbox tries again")
        trouble = inspector.locator("#banner .banner-line.error")
        await expect(trouble).to_contain_text("The bot's store is unreachable")
        await expect(trouble).to_contain_text("Retrying every 2 s")
        assert "{" not in await trouble.inner_text(), "no raw JSON"

        own_redis.start()
        await expect(trouble).to_have_count(0)
        await expect(inspector.locator("body")).to_have_attribute("data-trouble", "false")
        await expect(inspector.locator("#where")).to_have_text("· whatsapp 447700900001")
        # The turns traced on Redis read back as on the memory store.
        turn = inspector.locator("#timeline tr.turn.message").first
        await expect(turn).to_contain_text("user › 'hi'")
        await expect(turn).to_contain_text("greeting → size")
    finally:
        await dev.stop()


async def test_a_whatsapp_message_left_unread_comes_as_an_sms_ten_minutes_later(
    page: object,
) -> None:
    expect = playwright_api.expect
    dev = dev_server("tests.reminding:RemindingBot")
    await dev.start(watch=False)
    try:
        whatsapp = await open_chat(page, dev, "whatsapp", "447700900001")
        await whatsapp.locator(".unread").check()  # type: ignore[attr-defined]
        await expect(whatsapp.locator(".note").last).to_contain_text("leaves messages unread")  # type: ignore[attr-defined]
        await say(whatsapp, "remind me")
        reminder = whatsapp.locator(".bubble.outbound", has_text="Reminder:")  # type: ignore[attr-defined]
        await expect(reminder.locator(".ticks.delivered")).to_be_visible()
        sms = page.locator('.pane[data-channel="sms"][data-user="447700900001"]')  # type: ignore[attr-defined]
        await expect(sms).to_have_count(0)

        await page.click("button[data-advance='600']")  # type: ignore[attr-defined]
        await expect(sms.locator(".bubble.outbound")).to_contain_text(
            "Reminder: your appointment is tomorrow at 10."
        )
        await expect(reminder.locator(".ticks.delivered")).to_be_visible()

        inspector = await page.context.new_page()  # type: ignore[attr-defined]
        await inspector.goto(f"{dev.sandbox_url}/inspector")
        await inspector.wait_for_selector("body[data-ready=true]")
        await expect(inspector.locator("#where")).to_have_text("· whatsapp 447700900001")
        steps = inspector.locator("#failovers li.failover .steps li")
        await expect(steps.first).to_contain_text("whatsapp · delivered · not read within 10 min")
        await expect(steps.nth(1)).to_contain_text("sms")
    finally:
        await dev.stop()
