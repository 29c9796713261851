"""/stats screens without a bot: an empty programme reads as zeros and dashes (no crash),
numbers and percentages follow the viewer's locale, and its chart draws (in a child)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import create_i18n
from core.charts import PNG_MAGIC, ChartRenderer
from db.stats import Caseload, Counts, Current
from handlers.stats import chart_spec, stats_text
from services.stats import Stats, Week

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 30)


def result(counts: Counts, *, active: int = 0, caseloads: list[Caseload] | None) -> Stats:
    return Stats(
        caseworker_id=None if caseloads is not None else 7,
        now=NOW,
        zone=ALMATY,
        current=Current(active=active, unreachable=0),
        windows={7: counts, 28: counts},
        weeks=[Week(MONDAY - timedelta(weeks=n), counts) for n in range(11, -1, -1)],
        caseloads=caseloads,
    )


def test_an_empty_programme_reads_as_zeros_and_dashes() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        text = stats_text(result(Counts(), caseloads=[]), "en")
        spec = chart_spec(result(Counts(), caseloads=[]), "en")
    assert "Active: 0 · unreachable: 0" in text
    assert "Last 7 days: —" in text
    assert "Broadcasts: 0 · delivered: — · unreachable: 0" in text
    assert "No caseworkers yet." in text
    assert spec["panels"][0]["series"][0]["values"] == [None] * 12


def test_numbers_follow_the_viewers_locale() -> None:
    counts = Counts(checkins_due=12_000, checkins_answered=10_200, broadcast_recipients=3)
    load = [Caseload(5, "<b>Aliya</b>", 1_234, 2)]
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("ru"):
        ru = stats_text(result(counts, active=1_234, caseloads=load), "ru")
    with i18n.context(), i18n.use_locale("en"):
        en = stats_text(result(counts, active=1_234, caseloads=load), "en")
        mine = stats_text(result(counts, active=3, caseloads=None), "en")
    assert "Последние 7 дней: 85\xa0% (10\xa0200 из 12\xa0000)" in ru
    assert "Last 7 days: 85% (10,200 of 12,000)" in en
    assert "• &lt;b&gt;Aliya&lt;/b&gt;: 1,234 (unreachable: 2)" in en  # names are escaped
    assert "Caseworkers" not in mine
    assert "Directory" not in mine


async def test_an_empty_programmes_chart_draws() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("kk"):
        spec = chart_spec(result(Counts(), caseloads=[]), "kk")
    png = await ChartRenderer(timeout=120).render(spec)
    assert png.startswith(PNG_MAGIC)
