"""/stats end to end: an administrator sees the programme, each caseworker only their own
clients, a client is refused and never offered it; the text and a PNG chart in the viewer's
language; a chart that fails leaves the text and a note; matplotlib stays out of the bot."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_skeleton

import core.charts
from core.charts import PNG_MAGIC, ChartRenderer
from db.clock import utcnow
from emulator import FakeBotAPI, FakeUser, Msg
from handlers import stats as stats_handler
from services.stats import week_periods
from tests.harness import BotUnderTest, start_bot
from tests.unit.test_stats_queries import ALMATY, add_appointment, add_checkin, local

CW_A, CW_B = 601, 602
STATS_WAIT = (
    90.0  # the chart's child process starts Python and matplotlib: generous on 2 loaded cores
)


async def programme(app: BotUnderTest) -> tuple[FakeUser, FakeUser, list[FakeUser]]:
    """Caseworker A with two clients, B with one; check-ins and visits in the last days."""
    a = await app.caseworker(CW_A, "Aliya Sarsenova")
    b = await app.caseworker(CW_B, "Bolat Nurlanov")
    clients = [
        await app.join(a, 701, label="Case 1"),
        await app.join(a, 702, label="Case 2"),
        await app.join(b, 703, label="Case 3"),
    ]
    yesterday = utcnow().astimezone(ALMATY).date() - timedelta(days=1)
    # A: 3 answered of 4 due; B: 0 of 2.
    for n, (client, status) in enumerate(
        (
            (701, "done"),
            (701, "help"),
            (702, "done"),
            (702, "missed"),
            (703, "missed"),
            (703, "missed"),
        )
    ):
        await add_checkin(app.db, client, local(yesterday - timedelta(days=n // 2), 9 + n), status)
    await add_appointment(app.db, 701, CW_A, local(yesterday, 10), "attended")
    await add_appointment(app.db, 703, CW_B, local(yesterday, 10), "no_show")
    return a, b, clients


def photo_of(replies: list[Msg]) -> Msg:
    [photo] = [m for m in replies if m.kind == "photo"]
    assert photo.document is not None
    assert photo.document.startswith(PNG_MAGIC)
    return photo


def text_of(replies: list[Msg]) -> str:
    return "\n".join(m.body for m in replies if m.kind == "text")


async def test_admin_sees_the_programme_as_text_and_chart_and_the_bot_never_loads_matplotlib(
    app: BotUnderTest,
) -> None:
    await programme(app)
    admin = await app.admin()
    replies = await admin.command("stats", timeout=STATS_WAIT)
    text = text_of(replies)
    assert "📊 Programme statistics" in text
    assert "Active: 3 · unreachable: 0" in text
    assert "Last 7 days: 50% (3 of 6)" in text
    assert "Attended: 1 · no-show: 1 · cancelled: 0" in text
    assert "• Aliya Sarsenova: 2" in text
    assert "• Bolat Nurlanov: 1" in text
    assert "Searches: 0 · cards opened: 0" in text
    assert photo_of(replies).caption == "Last 12 weeks: the programme"
    assert "matplotlib" not in sys.modules
    assert not any(name.startswith("matplotlib") for name in sys.modules)


async def test_each_caseworker_sees_only_their_own_clients(app: BotUnderTest) -> None:
    a, b, _ = await programme(app)
    mine = await a.command("stats", timeout=STATS_WAIT)
    text = text_of(mine)
    assert "📊 My clients: statistics" in text
    assert "Active: 2 · unreachable: 0" in text
    assert "Last 7 days: 75% (3 of 4)" in text
    assert "Attended: 1 · no-show: 0 · cancelled: 0" in text
    assert "Bolat" not in text
    assert "Caseworkers" not in text
    assert "Directory" not in text
    assert photo_of(mine).caption == "Last 12 weeks: my clients"

    theirs = await b.press("📊 Statistics", timeout=STATS_WAIT)  # the menu button
    text = text_of(theirs)
    assert "Active: 1 · unreachable: 0" in text
    assert "Last 7 days: 0% (0 of 2)" in text
    assert "Attended: 0 · no-show: 1 · cancelled: 0" in text
    assert "Aliya" not in text
    photo_of(theirs)


async def test_a_client_is_refused_and_never_offered_stats(app: BotUnderTest) -> None:
    a, _, clients = await programme(app)
    client = clients[0]
    [reply] = await client.command("stats")
    assert reply.body == "This command is only for caseworkers and administrators."
    assert "stats" not in [c["command"] for c in app.api.commands_for(client.id)]
    assert "📊 Statistics" not in [t for row in client.reply_buttons() for t in row]
    # A client typing the label gets no figures either.
    replies = await client.send("📊 Statistics")
    assert all("Active:" not in m.body for m in replies)
    assert not [m for m in replies if m.kind == "photo"]
    # Staff are offered it in their menu and on their keyboard.
    admin = await app.admin()
    for person in (a, admin):
        assert "stats" in [c["command"] for c in app.api.commands_for(person.id)]
    await a.command("help")
    assert "📊 Statistics" in [t for row in a.reply_buttons() for t in row]


async def test_kazakh_labels_in_text_and_chart(
    app: BotUnderTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await programme(app)
    specs: list[dict[str, Any]] = []
    render = ChartRenderer.render

    async def spy(self: ChartRenderer, spec: dict[str, Any]) -> bytes:
        specs.append(spec)
        return await render(self, spec)

    monkeypatch.setattr(ChartRenderer, "render", spy)
    admin = await app.admin("kk")
    replies = await admin.press("📊 Статистика", timeout=STATS_WAIT)
    text = text_of(replies)
    assert "📊 Бағдарлама статистикасы" in text
    assert "Белсенді: 3 · байланыс жоқ: 0" in text
    assert "Соңғы 7 күн: 50% (6 ішінен 3)" in text
    photo = photo_of(replies)
    assert photo.caption == "Соңғы 12 апта: бағдарлама"
    [spec] = specs
    assert spec["x_label"] == "Апта басы"
    mondays = [p.first_day for p in week_periods(utcnow(), ALMATY)]
    assert spec["x_ticks"] == [format_skeleton("MMMd", d, locale="kk") for d in mondays]
    assert [p["y_label"] for p in spec["panels"]] == ["Белгі қойылды", "Клиенттер", "Қабылдаулар"]
    assert [s["label"] for s in spec["panels"][2]["series"]] == ["Келді", "Келмеді"]
    assert spec["panels"][0]["series"][0]["label"] == "Қойылған белгілер"
    assert photo.document is not None
    (tmp_path / "stats-kk.png").write_bytes(photo.document)  # to look at when it fails


@pytest.mark.parametrize(
    ("worker", "seconds"),
    [
        (("-c", "import sys; sys.exit(3)"), 60.0),  # the child fails
        (("-c", "import time; time.sleep(60)"), 1.0),  # the child hangs: killed
    ],
)
async def test_a_chart_that_fails_leaves_the_text_and_a_note(
    api: FakeBotAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    worker: tuple[str, ...],
    seconds: float,
) -> None:
    monkeypatch.setattr(core.charts, "WORKER_ARGS", worker)
    monkeypatch.setattr(stats_handler, "RENDER_TIMEOUT", seconds)
    async with start_bot(api, tmp_path) as app:
        admin = await app.admin()
        replies = await admin.command("stats", timeout=STATS_WAIT)
        assert "📊 Programme statistics" in text_of(replies)
        assert replies[-1].body == (
            "The chart could not be drawn this time. The figures above are complete."
        )
        assert not [m for m in replies if m.kind == "photo"]


async def test_directory_searches_and_card_views_are_counted(app: BotUnderTest) -> None:
    person = await app.client(801)
    await person.command("services", "fire")
    [card] = await person.press("1. 101 — fire service")
    assert "101" in card.body
    rows = await app.db.fetchall("SELECT kind, count FROM dir_usage ORDER BY kind")
    assert [tuple(r) for r in rows] == [("card", 1), ("search", 1)]
    admin = await app.admin()
    replies = await admin.command("stats", timeout=STATS_WAIT)
    assert "Searches: 1 · cards opened: 1" in text_of(replies)
