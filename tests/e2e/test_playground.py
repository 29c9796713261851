"""The local playground (`python3 dev.py demo`): seeding, the page's JSON endpoints, the
launcher as a process, and `dev.py run`'s advice without a token. The page in a real
browser: test_playground_browser.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from db.clock import utcnow
from devtools.demo import ADMIN_ID, CASEWORKER_ID, CLIENT_IDS, INVITED_ID, Demo, running_demo
from emulator import TINY_PNG
from tests.processes import ROOT, bot_env

Snapshot = dict[str, Any]
ARMAN, MADINA = CLIENT_IDS


class PageClient:
    """What the page's JavaScript does, over HTTP."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")

    async def state(self, persona: int, since: str | None = None) -> Snapshot:
        params = {"persona": str(persona)} | ({"since": since} if since else {})
        async with self.session.get(f"{self.url}/api/state", params=params) as response:
            assert response.status == 200, await response.text()
            body: Snapshot = await response.json()
            return body

    async def act(self, persona: int, action: str, body: dict[str, Any] | None = None) -> int:
        async with self.session.post(
            f"{self.url}/api/personas/{persona}/{action}",
            json=body or {},
            headers={"X-Playground": "1"},
        ) as response:
            return response.status

    async def wait(
        self, persona: int, predicate: Callable[[Snapshot], bool], within: float = 30
    ) -> Snapshot:
        """The persona's state once `predicate` holds, following changes with the long poll."""
        async with asyncio.timeout(within):
            snapshot = await self.state(persona)
            while not predicate(snapshot):
                snapshot = await self.state(persona, since=snapshot["sig"])
            return snapshot


def bot_messages(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [m for m in snapshot["chat"]["messages"] if m["from_bot"]]


def button_data(snapshot: Snapshot, text: str) -> tuple[int, str]:
    """(message id, callback data) of the newest inline button with this visible text."""
    for message in reversed(snapshot["chat"]["messages"]):
        for row in message["buttons"]:
            for button in row:
                if button["text"] == text and "data" in button:
                    return message["id"], button["data"]
    raise AssertionError(f"no button {text!r}")


# One seeded playground for the tests that use it (seeding paces the caseworker's chat as
# Telegram would: some seconds); each acts as different personas or only reads.
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    async with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def page(demo: Demo) -> AsyncIterator[PageClient]:
    async with aiohttp.ClientSession() as session:
        yield PageClient(session, demo.url)


@pytest.mark.asyncio(loop_scope="module")
async def test_it_comes_seeded_with_people_invitations_and_menus(
    demo: Demo, page: PageClient
) -> None:
    assert demo.url.startswith("http://127.0.0.1:")
    caseworker = await page.state(CASEWORKER_ID)
    titles = [(p["id"], p["title"]) for p in caseworker["personas"]]
    assert titles == [
        (CASEWORKER_ID, "Caseworker"),
        (ARMAN, "Client"),
        (MADINA, "Client"),
        (ADMIN_ID, "Administrator"),
        (INVITED_ID, "Invited, not joined"),
    ]
    # Three invitations made through /invite (QR codes as photos); two accepted, and the
    # caseworker was told of each, in the language picked in the bot.
    sent = bot_messages(caseworker)
    invitations = [m for m in sent if m["kind"] == "photo"]
    assert len(invitations) == 3
    assert all(m["file"]["image"] for m in invitations)
    assert len([m for m in sent if m["text"].startswith("✅")]) == 2
    assert any("Мадина" in m["text"] for m in sent if m["text"].startswith("✅"))
    # The client's consent screen: bold from the bot's HTML as an entity, the buttons gone.
    arman = await page.state(ARMAN)
    consent = bot_messages(arman)[0]
    assert consent["edited"]
    assert consent["buttons"] == []
    assert any(e["type"] == "bold" for e in consent["entities"])
    assert "<b>" not in consent["text"]
    assert arman["time_zone"] == "Asia/Almaty"  # the page's clock is the bot's
    # Each chat's command menu, as Telegram resolves it: role and language.
    menus = {
        who: [c["command"] for c in (await page.state(who))["chat"]["commands"]]
        for who in (CASEWORKER_ID, ARMAN, ADMIN_ID)
    }
    assert "invite" in menus[CASEWORKER_ID]
    assert "checkin" in menus[ARMAN]
    assert "invite" not in menus[ARMAN]
    assert menus[ADMIN_ID]  # never wrote: the default menu in their Telegram language
    # Reply keyboards: the client's main menu, with the check-in buttons, in Kazakh.
    keyboard = arman["chat"]["reply_keyboard"]
    labels = [b["text"] for row in keyboard["rows"] for b in row]
    assert "🆘 Маған көмек керек" in labels


@pytest.mark.asyncio(loop_scope="module")
async def test_a_check_in_reminder_comes_within_a_minute_and_can_be_answered(
    demo: Demo, page: PageClient
) -> None:
    assert demo.first_reminder <= utcnow() + timedelta(seconds=60)
    # Not waiting up to a minute: the engine runs what is due at the reminder's time.
    await demo.app.engine.run_due(now=max(demo.first_reminder, utcnow()))

    def reminded(snapshot: Snapshot) -> bool:
        return any(m["text"].startswith("🔔") for m in bot_messages(snapshot))

    arman = await page.wait(ARMAN, reminded)
    [reminder] = [m for m in bot_messages(arman) if m["text"].startswith("🔔")]
    [[fine], [_help]] = reminder["buttons"]
    assert (
        await page.act(ARMAN, "press", {"message_id": reminder["id"], "data": fine["data"]}) == 202
    )

    def answered(snapshot: Snapshot) -> bool:
        newer = [m for m in bot_messages(snapshot) if m["id"] > reminder["id"]]
        return bool(newer) and snapshot["chat"]["callback_answer"] is not None

    answered_state = await page.wait(ARMAN, answered)
    [updated] = [m for m in answered_state["chat"]["messages"] if m["id"] == reminder["id"]]
    assert updated["buttons"] == []  # answered: the buttons are gone, in place


@pytest.mark.asyncio(loop_scope="module")
async def test_acting_through_the_page(demo: Demo, page: PageClient) -> None:
    # The persona's Telegram language picks the menu before they choose one in the bot.
    assert await page.act(ADMIN_ID, "language", {"language_code": "ru"}) == 202
    admin = await page.state(ADMIN_ID)
    [me] = [p for p in admin["personas"] if p["id"] == ADMIN_ID]
    assert me["language_code"] == "ru"
    assert any(c["description"] == "Главное меню" for c in admin["chat"]["commands"])

    assert await page.act(ADMIN_ID, "send", {"text": "/start"}) == 202
    admin = await page.wait(ADMIN_ID, lambda s: len(bot_messages(s)) == 1)
    message_id, english = button_data(admin, "English")
    assert await page.act(ADMIN_ID, "press", {"message_id": message_id, "data": english}) == 202
    admin = await page.wait(
        ADMIN_ID, lambda s: any("signed in as staff" in m["text"] for m in bot_messages(s))
    )
    assert admin["chat"]["reply_keyboard"] is not None

    # A document the bot sends (the directory's CSV export) comes as a download.
    assert await page.act(ADMIN_ID, "send", {"text": "/directory"}) == 202
    admin = await page.wait(ADMIN_ID, lambda s: "Export" in str(s["chat"]["messages"][-1]))
    message_id, export = button_data(admin, "⬇️ Export CSV")
    assert await page.act(ADMIN_ID, "press", {"message_id": message_id, "data": export}) == 202

    def exported(snapshot: Snapshot) -> bool:
        return any(m["kind"] == "document" for m in bot_messages(snapshot))

    admin = await page.wait(ADMIN_ID, exported)
    [csv_file] = [m["file"] for m in bot_messages(admin) if m["kind"] == "document"]
    assert csv_file["name"].endswith(".csv")
    assert not csv_file["image"]
    async with page.session.get(f"{page.url}/api/files/{csv_file['id']}") as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.content_type == "application/octet-stream"  # never shown in the page
        assert b"organization_id" in await response.read()

    # An administrator sends a directory CSV as a document: the bot answers with its check.
    form = aiohttp.FormData()
    form.add_field("file", b"id;name_en\n", filename="services.csv", content_type="text/csv")
    async with page.session.post(
        f"{page.url}/api/personas/{ADMIN_ID}/upload", data=form, headers={"X-Playground": "1"}
    ) as response:
        assert response.status == 202
    before = len(bot_messages(admin))
    admin = await page.wait(ADMIN_ID, lambda s: len(bot_messages(s)) > before)
    [upload] = [
        m for m in admin["chat"]["messages"] if m["kind"] == "document" and not m["from_bot"]
    ]
    assert upload["file"]["name"] == "services.csv"
    assert not upload["from_bot"]

    # A client's photo, location and contact, as the page's buttons send them.
    form = aiohttp.FormData()
    form.add_field("file", TINY_PNG, filename="me.png", content_type="image/png")
    async with page.session.post(
        f"{page.url}/api/personas/{MADINA}/upload", data=form, headers={"X-Playground": "1"}
    ) as response:
        assert response.status == 202
    location = {"latitude": 49.4669, "longitude": 57.4161}
    assert await page.act(MADINA, "location", location) == 202
    assert await page.act(MADINA, "contact") == 202

    def shared(snapshot: Snapshot) -> bool:
        kinds = {m["kind"] for m in snapshot["chat"]["messages"] if not m["from_bot"]}
        return {"photo", "location", "contact"} <= kinds

    madina = await page.wait(MADINA, shared)
    mine = {m["kind"]: m for m in madina["chat"]["messages"] if not m["from_bot"]}
    assert mine["location"]["location"] == location
    assert mine["contact"]["contact"]["phone"].startswith("+7")
    assert mine["photo"]["file"]["image"]


@pytest.mark.asyncio(loop_scope="module")
async def test_files_and_refusals(demo: Demo, page: PageClient) -> None:
    caseworker = await page.state(CASEWORKER_ID)
    qr = next(m for m in bot_messages(caseworker) if m["kind"] == "photo")
    file_url = f"{page.url}/api/files/{qr['file']['id']}"
    async with page.session.get(file_url) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert (await response.read()).startswith(b"\x89PNG")
    async with page.session.get(file_url, params={"download": "1"}) as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "invitation.png" in response.headers["Content-Disposition"]
    async with page.session.get(f"{page.url}/api/files/nope") as response:
        assert response.status == 404

    # Another web site open in the same browser cannot act: no custom header, no action.
    async with page.session.post(
        f"{page.url}/api/personas/{ARMAN}/send", data="text=hi"
    ) as response:
        assert response.status == 403
    # Nor a site whose name was made to point at 127.0.0.1 (DNS rebinding).
    rebound = {"Host": "evil.example:8080", "X-Playground": "1"}
    async with page.session.post(
        f"{page.url}/api/personas/{ARMAN}/send", json={"text": "hi"}, headers=rebound
    ) as response:
        assert response.status == 421
    async with page.session.get(
        f"{page.url}/api/state", params={"persona": str(ARMAN)}, headers=rebound
    ) as response:
        assert response.status == 421
    assert await page.act(123, "send", {"text": "hi"}) == 404
    assert await page.act(ARMAN, "language", {"language_code": "de"}) == 400
    assert await page.act(ARMAN, "send", {"text": "  "}) == 400
    assert await page.act(ARMAN, "location", {"latitude": 99, "longitude": 0}) == 400
    consent = bot_messages(await page.state(ARMAN))[0]
    forged = {"message_id": consent["id"], "data": "oc1:agree"}  # no longer on the message
    assert await page.act(ARMAN, "press", forged) == 400
    async with page.session.get(f"{page.url}/") as response:
        assert "Jańa Jol playground" in await response.text()
    async with page.session.get(f"{page.url}/static/app.js") as response:
        assert response.status == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _read_until(stream: asyncio.StreamReader, needle: str, within: float = 90) -> str:
    seen = ""
    async with asyncio.timeout(within):
        while needle not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"the demo ended before printing {needle!r}: {seen}")
            seen += line.decode()
    return seen


async def test_the_launcher_serves_on_the_given_port_and_cleans_up_on_sigterm(
    tmp_path: Path,
) -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devtools.demo",
        "--port",
        str(port),
        cwd=tmp_path,
        env=bot_env(tmp_path, TMPDIR=str(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await _read_until(process.stdout, "Ctrl+C")
        assert f"http://127.0.0.1:{port}/" in banner
        [folder] = tmp_path.glob("jana-jol-demo-*")  # noqa: ASYNC240 - a local listing
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "bot.sqlite3").stat().st_mode) == 0o600
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/api/personas") as response,
        ):
            assert len(await response.json()) == 5
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            assert await process.wait() == 0
        leftover = list(tmp_path.glob("jana-jol-demo-*"))  # noqa: ASYNC240 - a local listing
        assert leftover == []  # the demo data went with the process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_launcher_says_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "devtools.demo", "--port", str(port)],
            cwd=tmp_path,
            env=bot_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


_RUN_WITHOUT_A_TOKEN = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import dev
dev.RUN.ensure = lambda: Path(sys.executable)  # this environment has the runtime too
dev.cmd_run([])
"""


def test_dev_py_run_without_a_token_says_where_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in bot_env(tmp_path).items() if k != "BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_A_TOKEN, str(ROOT)],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    first, *advice = result.stderr.strip().splitlines()
    assert first.startswith("Configuration error: BOT_TOKEN is not set")  # the bot's own line
    assert any('"Getting a token"' in line for line in advice)
    assert any("python3 dev.py demo" in line for line in advice)
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "db")  # nothing was started
