"""The playground's page in a real browser: Debian's Chromium, headless, driven by Playwright.

Never `playwright install`: the browser is the system's /usr/bin/chromium (.ci/run installs
it when missing). The screenshot goes to test-artifacts/ (git-ignored) for a person to look
at: `python -m pytest tests/e2e/test_playground_browser.py` and open the PNG.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from devtools.demo import Demo, running_demo
from tests.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
ARTIFACTS = ROOT / "test-artifacts"
# Nothing but the page on 127.0.0.1: no updates, no sync, no QUIC probes, no first-run UI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000  # a loaded 2-core machine: generous, never a fixed sleep


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    folder = tmp_path / "demo"
    folder.mkdir(mode=0o700)
    async with running_demo(folder) as running:
        yield running


@pytest.fixture
async def page(demo: Demo, tmp_path: Path) -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    profile = tmp_path / "chromium-profile"  # a fresh profile every time
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        try:
            browser_page = context.pages[0] if context.pages else await context.new_page()
            browser_page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            browser_page.on("pageerror", lambda error: errors.append(str(error)))
            yield browser_page
            assert errors == [], errors  # the page's JavaScript never failed
        finally:
            await context.close()
    shutil.rmtree(profile, ignore_errors=True)


async def test_a_newcomer_tries_the_bot_in_the_browser(demo: Demo, page: Page) -> None:
    await page.goto(demo.url)
    # The caseworker's chat opens first, with the seeded invitations and their QR codes.
    await expect(page.locator(".persona.active")).to_contain_text("Caseworker")
    await expect(page.locator(".message.incoming img").first).to_be_visible()
    qr_download = page.locator(".message.incoming .photo a[download]").first
    await expect(qr_download).to_have_attribute("download", "invitation.png")

    # The administrator has never written: pick Russian as their Telegram language, /start,
    # then choose English in the bot's own picker, which wins from then on.
    await page.locator(".persona", has_text="Administrator").click()
    await expect(page.locator(".empty")).to_be_visible()
    await page.get_by_role("button", name="RU", exact=True).click()
    await expect(page.locator(".persona.active")).to_contain_text("Administrator · ru")
    await page.get_by_role("button", name="☰ Menu").click()
    await expect(page.locator("#commands")).to_contain_text("Главное меню")
    await page.locator("#commands .command-item", has_text="/start").click()
    await page.get_by_role("button", name="English", exact=True).click()
    await expect(page.locator(".message.incoming").last).to_contain_text("signed in as staff")
    await expect(page.locator(".message.incoming").first).to_contain_text("Language: English ✓")

    # The reply keyboard, then an inline button, by their visible text.
    await page.locator("#reply-keyboard").get_by_role("button", name="📋 Services").click()
    await expect(page.locator(".message.incoming").last).to_contain_text("Service directory")
    await page.get_by_role("button", name="📍 Nearest to me").click()
    # The bot asks for a location with a request_location button: the page's pin form.
    await page.locator("#reply-keyboard").get_by_role("button", name="📍 Send my location").click()
    await page.locator("#location-form").get_by_role("button", name="Send location").click()
    await expect(page.locator(".message.outgoing .pin").last).to_contain_text("49.46690, 57.41610")
    await expect(page.locator(".message.incoming").last).to_contain_text("Nearest to you")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "playground-admin.png"))

    # Typed text, as any person would send it.
    await page.locator("#text").fill("/help")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.outgoing").last).to_contain_text("/help")
    await expect(page.locator(".message.incoming").last).to_contain_text("/staff")

    # One click to another persona: the client, in Kazakh, with the menu of a client.
    await page.locator(".persona", has_text="Арман").click()
    await expect(page.locator(".persona.active")).to_contain_text("Client · kk")
    await expect(page.locator(".message.incoming b").first).to_contain_text("Айгүл Серікқызы")
    await page.get_by_role("button", name="☰ Menu").click()
    await expect(page.locator("#commands")).to_contain_text("/checkin")
    await page.keyboard.press("Escape")
    await page.locator("#reply-keyboard").get_by_role("button", name="✅ Белгі қою").click()
    await expect(page.locator(".message.outgoing").last).to_contain_text("✅ Белгі қою")
    await expect(page.locator(".message.incoming").last).not_to_contain_text("Рақмет. Енді")

    await page.screenshot(path=str(ARTIFACTS / "playground.png"))

    # The caseworker's pending invitation: its link opens the bot as another persona, who
    # joins through the consent screen; the caseworker is told.
    await page.locator(".persona", has_text="Caseworker").click()
    await expect(page.locator(".persona.active")).to_contain_text("Caseworker")
    await page.locator(".message.incoming a[href*='?start=']").last.click()
    await page.locator("#open-as .command-item", has_text="Ерлан").click()
    await expect(page.locator(".persona.active")).to_contain_text("Ерлан")
    consent = page.locator(".message.incoming").last
    await expect(consent).to_contain_text("Айгүл Серікқызы")
    await consent.locator(".inline-button").first.click()  # ✅ I agree, in Kazakh
    await expect(page.locator(".message.incoming").last).to_contain_text("Рақмет")
    await page.locator(".persona", has_text="Caseworker").click()
    await expect(page.locator(".message.incoming").last).to_contain_text("Ерлан")
    await page.screenshot(path=str(ARTIFACTS / "playground-caseworker.png"))
