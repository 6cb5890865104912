"""The web chat and the inspector in a real headless Chromium (Debian's, driven by Playwright).

A person's path: order a pizza on WhatsApp with buttons and a shared location, see the read
ticks, switch the phone off, confirm, move the clock a day, switch it on, and see the feedback
question arrive as a template; order on Messenger by typing; open the inspector and see the
conversation's state highlighted. The screenshots the README shows are taken here.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botkit.devserver import DevServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
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
    page: object, dev: DevServer
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
    await expect(summary.locator(".ticks.read")).to_be_visible()  # type: ignore[attr-defined]

    # The phone goes off; the confirmation waits at one tick for a day.
    await pane.locator(".offline").check()  # type: ignore[attr-defined]
    await pane.locator("button.choice", has_text="Yes, bake it").click()  # type: ignore[attr-defined]
    confirmation = pane.locator(".bubble.outbound", has_text="Your pizza is in the oven")  # type: ignore[attr-defined]
    await expect(confirmation).to_have_count(1)
    await expect(confirmation.locator(".ticks.submitted")).to_be_visible()  # type: ignore[attr-defined]
    await page.click("#advance-25h")  # type: ignore[attr-defined]
    await expect(page.locator("#clock-offset")).to_have_text("(+25 h)")  # type: ignore[attr-defined]
    await pane.locator(".offline").uncheck()  # type: ignore[attr-defined]

    # Read a day after the user's last message: WhatsApp's window is closed, so the bot's
    # feedback question goes as its approved template, not as free text.
    await expect(confirmation.locator(".ticks.read")).to_be_visible()  # type: ignore[attr-defined]
    feedback = last_bot_message(pane)
    await expect(feedback.locator(".template-name")).to_contain_text("pizza_feedback")  # type: ignore[attr-defined]
    await expect(feedback).to_contain_text("{{1}} = large")
    assert "How was your" not in await pane.inner_text()  # type: ignore[attr-defined]

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "chat.png"))  # type: ignore[attr-defined]


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
    # Read within the window: the feedback question goes as free text.
    await expect(last_bot_message(pane)).to_contain_text("How was your medium pizza?")


async def test_inspector_shows_the_state_highlighted(page: object, dev: DevServer) -> None:
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
    await expect(page.locator("#messages tr")).to_have_count(3)  # type: ignore[attr-defined]
    await page.screenshot(path=str(SCREENSHOTS / "inspector.png"))  # type: ignore[attr-defined]
