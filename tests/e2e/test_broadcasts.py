"""Broadcasts end to end over the fake Bot API: composing, audiences and scope, each client's
language version, blocked recipients, 429, cancel, a scheduled start, a restart mid-way."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from db import broadcasts
from db.clock import now_db
from db.database import Database
from db.migrate import migrate
from db.staff import add_caseworker
from emulator import FakeBotAPI, FakeUser
from emulator.params import Params
from handlers.broadcast.callbacks import BcAudience, BcDraft, DraftAction
from scheduler.broadcasts import SenderConfig
from tests.harness import BotUnderTest, start_bot
from tests.processes import check_kill_outcome, start_bot_process, stop_process


@pytest.fixture
async def bapp(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """Quiet hours off: a test may run at any hour."""
    async with start_bot(api, tmp_path, quiet_hours="off") as running:
        yield running


async def add_clients(
    app: BotUnderTest,
    caseworker_id: int,
    ids: range | list[int],
    language: str = "en",
    timezone: str | None = None,
) -> list[FakeUser]:
    """Clients of `caseworker_id` who have pressed Start (stored directly: faster than joining)."""
    await seed_clients(app.db, caseworker_id, list(ids), language, timezone)
    people = []
    for client_id in ids:
        person = app.user(client_id, language_code=language)
        person.record.started = True
        people.append(person)
    return people


async def seed_clients(
    db: Database, caseworker_id: int, ids: list[int], language: str, timezone: str | None = None
) -> None:
    now = now_db()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (telegram_id, role, language, timezone, created_at, updated_at) "
            "VALUES (?, 'client', ?, ?, ?, ?)",
            [(i, language, timezone, now, now) for i in ids],
        )
        await conn.executemany(
            "INSERT INTO clients (telegram_id, caseworker_id, status, consented_at, linked_at) "
            "VALUES (?, ?, 'active', ?, ?)",
            [(i, caseworker_id, now, now) for i in ids],
        )


def copies(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m.body for m in api.outgoing(chat_id) if m.copied_from is not None]


async def wait_done(app: BotUnderTest, broadcast_id: int, timeout: float = 20) -> None:  # noqa: ASYNC109
    async def done() -> bool:
        found = await broadcasts.get(app.db, broadcast_id)
        return found is not None and found.state in (
            broadcasts.State.DONE,
            broadcasts.State.CANCELLED,
        )

    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await done():
        assert loop.time() < deadline, "the broadcast did not finish"
        await asyncio.sleep(0.05)


async def test_a_text_broadcast_reaches_exactly_my_clients_each_in_their_language(
    bapp: BotUnderTest,
) -> None:
    app = bapp
    officer = await app.caseworker(2001, "Aliya")
    other = await app.caseworker(2002, "Bolat")
    kk = await add_clients(app, 2001, [2101, 2102], "kk")
    ru = await add_clients(app, 2001, [2111], "ru")
    en = await add_clients(app, 2001, [2121], "en")
    theirs = await add_clients(app, 2002, [2201], "en")

    [screen] = await officer.command("broadcast")
    assert "Who should receive it?" in screen.body
    assert "👥 All clients" not in screen.button_texts  # administrators only
    await officer.press("👥 All my clients")
    [preview] = await officer.send("Job fair on Friday at 10:00")
    assert "It goes to 4 clients" in preview.body
    assert "Қазақша: 2 (they get the version: English)" in preview.body
    assert "Русский: 1 (they get the version: English)" in preview.body
    await officer.press("➕ Қазақша version")
    [preview] = await officer.send("Жұма күні сағат 10:00-де жәрмеңке")
    assert "  Қазақша: 2\n" in preview.body
    assert "  English: 1" in preview.body
    assert "Қазақша, English ⭐" in preview.body
    await officer.press("📤 Send now")
    assert "Sending the broadcast #1" in officer.last.body

    report = await officer.wait_for("is finished", timeout=10)
    assert "sent 4 of 4" in report.body
    for person in kk:
        assert copies(app.api, person.id) == ["Жұма күні сағат 10:00-де жәрмеңке"]
    for person in ru + en:  # no Russian version: the main one
        assert copies(app.api, person.id) == ["Job fair on Friday at 10:00"]
    assert copies(app.api, theirs[0].id) == []
    assert all(
        m.copied_from and m.copied_from[0] == 2001
        for p in kk + ru + en
        for m in app.api.outgoing(p.id)
    )
    # The progress message was edited to the final figures.
    assert any("is finished: sent 4 of 4" in m.body for m in officer.bot_messages)
    # The list shows it with its figures; the other caseworker does not see it.
    [listing] = await officer.command("broadcasts")
    assert "#1" in listing.body
    assert "sent 4 of 4" in listing.body
    [empty] = await other.command("broadcasts")
    assert "No broadcasts yet" in empty.body


async def test_a_photo_by_language_in_russian(bapp: BotUnderTest) -> None:
    app = bapp
    officer = await app.caseworker(2301, "Aliya", language="ru")
    ru = await add_clients(app, 2301, [2311, 2312], "ru")
    kk = await add_clients(app, 2301, [2321], "kk")
    [screen] = await officer.command("broadcast")
    assert "Кому отправить?" in screen.body
    await officer.press("🌐 По языку")
    await officer.press("Русский")
    [preview] = await officer.send_photo(caption="Новая вакансия")
    assert "Получат 2 клиента" in preview.body
    await officer.press("📤 Отправить сейчас")
    report = await officer.wait_for("завершена", timeout=10)
    assert "отправлено 2 из 2" in report.body
    for person in ru:
        [copy] = [m for m in app.api.outgoing(person.id) if m.copied_from]
        assert copy.kind == "photo"
        assert copy.body == "Новая вакансия"
    assert copies(app.api, kk[0].id) == []


async def test_blocked_recipients_are_reported_and_the_caseworker_told_once(
    bapp: BotUnderTest,
) -> None:
    app = bapp
    officer = await app.caseworker(2401, "Aliya")
    people = await add_clients(app, 2401, [2411, 2412, 2413], "en")
    people[0].record.blocked = True
    people[1].record.deactivated = True

    for round_ in (1, 2):
        await officer.command("broadcast")
        await officer.press("👥 All my clients")
        [preview] = await officer.send(f"News {round_}")
        if round_ == 2:
            assert "It goes to 1 client" in preview.body
            assert "Skipped (unreachable or blocked): 2" in preview.body
        await officer.press("📤 Send now")
        report = await officer.wait_for(f"#{round_} is finished", timeout=10)
        if round_ == 1:
            assert "sent 1 of 3 · unreachable: 2" in report.body
    await app.settle()
    told = [m for m in officer.bot_messages if "Telegram no longer delivers" in m.body]
    assert len(told) == 2  # once for each of the two clients, not again in round 2
    assert copies(app.api, people[2].id) == ["News 1", "News 2"]
    figures = await broadcasts.figures(app.db, 1)
    assert figures.failed == 2
    assert set(figures.by_error) == {"forbidden:blocked", "forbidden:deactivated"}


async def test_a_429_is_honoured_a_502_retried_and_nobody_gets_it_twice(bapp: BotUnderTest) -> None:
    app = bapp
    officer = await app.caseworker(2501, "Aliya")
    people = await add_clients(app, 2501, range(2510, 2530), "en")
    app.api.fail_next("copyMessage", 429, retry_after=1)
    # Then a 502 and a dropped connection: retried with backoff (short here).
    app.app.broadcasts.config.backoff_base = 0.05
    app.api.fail_next("copyMessage", 502)
    await officer.command("broadcast")
    await officer.press("👥 All my clients")
    await officer.send("Office closed on Monday")
    await officer.press("📤 Send now")
    await officer.wait_for("is finished", timeout=15)
    assert any(status == 429 for _m, status, _d in app.api.errors)
    assert any(status == 502 for _m, status, _d in app.api.errors)
    assert app.app.broadcasts.counters.retried == 1  # the 429 was waited out by the session
    for person in people:
        assert copies(app.api, person.id) == ["Office closed on Monday"]


def quiet_zone_now() -> str:
    """A fixed-offset zone where it is now about 23:00 (inside 22:00-08:00)."""
    hour = datetime.now(UTC).hour
    offset = (23 - hour + 12) % 24 - 12  # in -12..11
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # Etc signs are inverted


async def test_quiet_hours_hold_news_urgent_goes_at_once_and_cancel_stops_it(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with start_bot(api, tmp_path) as app:  # quiet hours 22:00-08:00
        officer = await app.caseworker(2601, "Aliya")
        [night] = await add_clients(app, 2601, [2611], "en", timezone=quiet_zone_now())
        [day] = await add_clients(app, 2601, [2612], "en", timezone="Etc/GMT+0")
        day_hour = datetime.now(UTC).hour
        await officer.command("broadcast")
        await officer.press("👥 All my clients")
        await officer.send("Job fair")
        await officer.press("📤 Send now")
        if 8 <= day_hour < 22:
            await day.wait_for("Job fair")
        await app.api.wait_idle()
        assert copies(api, night.id) == []  # waits for the morning
        running = await broadcasts.get(app.db, 1)
        assert running is not None
        assert running.state is broadcasts.State.SENDING
        # Cancelled from the list: what waits is skipped and never sent.
        [listing] = await officer.command("broadcasts")
        assert "sending" in listing.body
        await officer.press("✖️ Cancel #1")
        assert "was cancelled" in officer.last.body
        figures = await broadcasts.figures(app.db, 1)
        day_quiet = not 8 <= day_hour < 22
        assert figures.by_error.get("cancelled") == 1 + day_quiet
        assert (await broadcasts.get(app.db, 1)).state is broadcasts.State.CANCELLED  # type: ignore[union-attr]

        # Urgent: delivered inside quiet hours.
        await officer.command("broadcast")
        await officer.press("👥 All my clients")
        await officer.send("Office closed tomorrow")
        await officer.press("🔕 Urgent: off")
        assert "🚨 Urgent: on" in officer.last.button_texts
        await officer.press("📤 Send now")
        await night.wait_for("Office closed tomorrow")


async def test_a_scheduled_broadcast_goes_out_at_its_time(bapp: BotUnderTest) -> None:
    app = bapp
    officer = await app.caseworker(2701, "Aliya")
    [person, archived] = await add_clients(app, 2701, [2711, 2712], "en")
    await officer.command("broadcast")
    await officer.press("👥 All my clients")
    await officer.send("Deadline reminder")
    await officer.press("🕘 Send at…")
    [bad] = await officer.send("yesterday")
    assert "could not read" in bad.body
    local = datetime.now(UTC).astimezone(app.app.settings.zone_for(None)) + timedelta(hours=2)
    await officer.send(f"{local:%d.%m} {local:%H:%M}")
    assert "is scheduled" in officer.last.body
    await app.api.wait_idle()
    assert copies(app.api, person.id) == []
    # Archived before the time comes: no longer theirs to reach, skipped at send time.
    await app.db.execute("UPDATE clients SET status = 'archived' WHERE telegram_id = 2712")
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2, minutes=1), tick=True):
        app.app.broadcasts.poke()
        await person.wait_for("Deadline reminder")
        await officer.wait_for("is finished")
    assert copies(app.api, person.id) == ["Deadline reminder"]
    assert copies(app.api, archived.id) == []
    assert (await broadcasts.figures(app.db, 1)).by_error == {"not_a_client": 1}


async def test_a_client_can_never_start_one(bapp: BotUnderTest) -> None:
    app = bapp
    officer = await app.caseworker(2801, "Aliya")
    [person] = await add_clients(app, 2801, [2811], "en")
    await person.send("/start")
    replies = await person.command("broadcast")
    assert not any("Who should receive it?" in m.body for m in replies)
    last = person.last.message_id
    await person.press_data(BcAudience(code="mine").pack(), last)
    await person.press_data(BcDraft(action=DraftAction.NOW).pack(), last)
    assert await app.db.fetchval("SELECT count(*) FROM broadcasts") == 0
    assert copies(app.api, person.id) == []
    assert not [m for m in officer.bot_messages if "Broadcast" in m.body]


async def test_a_caseworker_can_never_reach_another_caseworkers_clients(
    bapp: BotUnderTest,
) -> None:
    app = bapp
    officer = await app.caseworker(2901, "Aliya")
    await app.caseworker(2902, "Bolat")
    [mine] = await add_clients(app, 2901, [2911], "en")
    [theirs] = await add_clients(app, 2902, [2921], "en")
    await officer.command("broadcast")
    # Forged buttons: everyone's clients, another caseworker's.
    await officer.press_data(BcAudience(code="all").pack())
    assert "Only administrators" in (officer.last_callback_answer.text or "")  # type: ignore[union-attr]
    await officer.press_data(BcAudience(code="cws").pack())
    assert "Only administrators" in (officer.last_callback_answer.text or "")  # type: ignore[union-attr]
    await officer.press_data(BcAudience(code="cws_done").pack())
    assert officer.last_callback_answer.text  # type: ignore[union-attr]
    # By language is scoped to their own clients.
    await officer.press("🌐 By language")
    await officer.press("English")
    [preview] = await officer.send("Hello")
    assert "It goes to 1 client" in preview.body
    await officer.press("📤 Send now")
    await officer.wait_for("is finished")
    assert copies(app.api, mine.id) == ["Hello"]
    assert copies(app.api, theirs.id) == []


async def test_an_admin_sends_to_chosen_caseworkers_and_downloads_the_csv(
    bapp: BotUnderTest,
) -> None:
    app = bapp
    await app.caseworker(3001, "Aliya")
    await app.caseworker(3002, "Bolat")
    admin = await app.admin()
    a = await add_clients(app, 3001, [3011, 3012], "en")
    b = await add_clients(app, 3002, [3021], "en")
    await admin.command("broadcast")
    await admin.press("🧑‍💼 Chosen caseworkers' clients")
    await admin.press("▫️ Bolat")
    await admin.press("➡️ Next")
    [preview] = await admin.send("For Bolat's clients")
    assert "It goes to 1 client" in preview.body
    await admin.press("📤 Send now")
    await admin.wait_for("is finished")
    assert copies(app.api, b[0].id) == ["For Bolat's clients"]
    assert all(copies(app.api, p.id) == [] for p in a)
    await admin.command("broadcasts")
    [csv_message] = await admin.press("📄 CSV #1")
    assert csv_message.document is not None
    lines = csv_message.document.decode().splitlines()
    assert lines[0] == "broadcast_id,client_id,version,status,error,attempts,sent_at"
    assert lines[1].startswith("1,3021,en,sent,,1,")
    assert Counter(len(line.split(",")) for line in lines) == Counter({7: 2})


PROCESS_ENV = {"DEFAULT_LANGUAGE": "en", "QUIET_HOURS": "off"}


async def officer_with_clients_in_a_process(
    api: FakeBotAPI, tmp_path: Path, ids: list[int]
) -> tuple[Path, asyncio.subprocess.Process, FakeUser]:
    """`python -m bot` with caseworker 3101 and his clients `ids`, who has composed a text
    broadcast to them all and is about to press Send now: (database path, process, officer)."""
    path = tmp_path / "db" / "bot.sqlite3"
    path.parent.mkdir()
    db = Database(path)
    await db.connect()
    await migrate(db)
    await add_caseworker(db, 3101, "Officer", actor_id=None)
    await seed_clients(db, 3101, ids, "en")
    await db.close()
    for client_id in ids:
        api.user(client_id).record.started = True
    process = await start_bot_process(tmp_path, api, **PROCESS_ENV)
    officer = api.user(3101)
    await officer.start()
    await officer.press("English")
    await officer.command("broadcast")
    await officer.press("👥 All my clients")
    await officer.send("Job fair on Friday")
    return path, process, officer


async def recipient_states(path: Path) -> dict[int, str]:
    db = Database(path)
    await db.connect()
    try:
        rows = await db.fetchall(
            "SELECT client_id, status FROM broadcast_recipients WHERE broadcast_id = 1"
        )
    finally:
        await db.close()
    return {r["client_id"]: r["status"] for r in rows}


async def test_kill_9_mid_broadcast_resumes_without_duplicates_beyond_the_wire(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """The bot process is SIGKILLed inside the fake Telegram as it accepts the 20th copy (the
    worst moment: delivered, never marked); started again, it finishes the broadcast. Only
    copies Telegram accepted and the dead process had not marked come twice."""
    ids = list(range(3200, 3260))
    path, process, officer = await officer_with_clients_in_a_process(api, tmp_path, ids)
    original = api.methods.call
    try:
        accepted = 0
        reached = asyncio.Event()
        never = asyncio.Event()

        async def hanging(method: str, params: Params) -> object:
            nonlocal accepted
            if method != "copyMessage":
                return await original(method, params)
            result = await original(method, params)  # delivered...
            accepted += 1
            if accepted == 20:
                reached.set()
                await never.wait()  # ...but the answer never reaches the bot
            return result

        api.methods.call = hanging  # type: ignore[method-assign]
        pressing = asyncio.create_task(officer.press("📤 Send now", timeout=60))
        await asyncio.wait_for(reached.wait(), 30)
        process.kill()  # SIGKILL: no clean-up of any kind
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        api.methods.call = original  # type: ignore[method-assign]
        pressing.cancel()

        states = await recipient_states(path)
        delivered_at_kill = {i for i in ids if copies(api, i)}
        in_flight = {i for i, status in states.items() if status == "sending"}
        accepted_unrecorded = len(in_flight & delivered_at_kill)
        assert 20 <= len(delivered_at_kill) < len(ids)  # killed mid-way
        assert accepted_unrecorded >= 1  # the copy accepted at the kill

        process = await start_bot_process(tmp_path, api, **PROCESS_ENV)
        await officer.wait_for("is finished", timeout=60)
        check_kill_outcome(
            (len(copies(api, i)) for i in ids),
            delivered_at_kill=len(delivered_at_kill),
            in_flight=len(in_flight),
            unrecorded=accepted_unrecorded,
            bound=SenderConfig().concurrency,
        )
    finally:
        api.methods.call = original  # type: ignore[method-assign]
        if process.returncode is None:
            await stop_process(process)


async def test_a_clean_stop_mid_broadcast_marks_what_went_out_and_resumes_with_no_duplicate(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """SIGTERM (systemd's stop, a deploy) as the 20th copy goes out: the sender claims
    nothing more, lets the sends in flight finish and marks them, so nothing is left
    `sending`; started again, the bot sends the rest. Nobody gets it twice, nobody misses it."""
    ids = list(range(3300, 3360))
    path, process, officer = await officer_with_clients_in_a_process(api, tmp_path, ids)
    try:
        pressing = asyncio.create_task(officer.press("📤 Send now", timeout=60))
        reached = await api.state.wait_until(
            lambda: sum(1 for i in ids if copies(api, i)) >= 20, 30
        )
        assert reached
        status, errors = await stop_process(process)  # SIGTERM
        assert status == 0, errors
        pressing.cancel()

        states = await recipient_states(path)
        delivered_at_stop = {i for i in ids if copies(api, i)}
        assert 20 <= len(delivered_at_stop) < len(ids)  # stopped mid-way
        assert "sending" not in states.values()
        assert {i for i, status in states.items() if status == "sent"} == delivered_at_stop

        process = await start_bot_process(tmp_path, api, **PROCESS_ENV)
        await officer.wait_for("is finished", timeout=60)
        assert [len(copies(api, i)) for i in ids] == [1] * len(ids)
    finally:
        if process.returncode is None:
            await stop_process(process)


async def test_in_kazakh_to_those_who_missed_a_checkin_or_a_visit(bapp: BotUnderTest) -> None:
    app = bapp
    officer = await app.caseworker(3301, "Aliya", language="kk")
    people = await add_clients(app, 3301, [3311, 3312, 3313, 3314], "kk")
    now = datetime.now(UTC)

    def at(days: float) -> str:
        return (now - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")

    async with app.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO checkins (client_id, opens_at, closes_at, status) "
            "VALUES (3311, ?, ?, 'missed'), (3314, ?, ?, 'missed')",
            (at(2), at(2), at(10), at(10)),
        )
        await conn.execute(
            "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, ends_at, "
            "origin, status, created_at, updated_at) VALUES ('b@x', 3312, 3301, ?, ?, "
            "'assigned', 'no_show', ?, ?)",
            (at(1), at(1), at(3), at(1)),
        )
    [screen] = await officer.command("broadcast")
    assert "Кімге жіберу керек?" in screen.body
    await officer.press("⚠️ Белгіленуді өткізіп алғандар")
    [preview] = await officer.send("Ертең кеңсеге келіңіз")
    assert "Алушылар: 2 клиент" in preview.body
    assert "соңғы 7 күнде" in preview.body
    await officer.press("📤 Қазір жіберу")
    report = await officer.wait_for("тарату аяқталды", timeout=10)
    assert "жіберілді 2 / 2" in report.body
    got = [p.id for p in people if copies(app.api, p.id)]
    assert got == [3311, 3312]


async def test_two_broadcasts_at_once_share_the_sends_fairly(bapp: BotUnderTest) -> None:
    from db.users import get as get_user
    from services import broadcasts as service

    app = bapp
    senders = [await app.caseworker(3401, "Aliya"), await app.caseworker(3402, "Bolat")]
    await add_clients(app, 3401, range(3500, 3540), "en")
    await add_clients(app, 3402, range(3600, 3640), "en")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    for officer in senders:
        await officer.send("Announcement")
        [source] = [m for m in officer.messages if not m.from_bot and m.body == "Announcement"]
        author = await get_user(app.db, officer.id)
        assert author is not None
        await service.create(
            app.db,
            app.app.broadcasts,
            author=author,
            audience=service.MINE,
            versions=[broadcasts.Version("en", officer.id, source.message_id)],
            main_language="en",
            urgent=False,
            send_at=start,
            now=datetime.now(UTC),
            rules=app.app.settings,
            default_language="en",
        )
    with time_machine.travel(start + timedelta(seconds=1), tick=True):
        app.app.broadcasts.poke()
        await wait_done(app, 1)
        await wait_done(app, 2)
        await app.app.engine.run_due()  # the final reports (the engine's clock is travelled)
        for officer in senders:
            await officer.wait_for("is finished", timeout=20)
    order = [int(c["from_chat_id"]) for c in app.api.calls("copyMessage")]
    assert Counter(order) == {3401: 40, 3402: 40}
    # Started together, they go out side by side: in any stretch of 20, both have a share.
    for i in range(0, 60, 10):
        window = Counter(order[i : i + 20])
        assert min(window[3401], window[3402]) >= 6, (i, window)
