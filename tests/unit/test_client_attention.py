"""Why a client is put on top of the caseload: the reasons from visits beside the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.clients import ACK_ATTENTION_AFTER, Client

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def client(**changes: object) -> Client:
    values: dict[str, object] = {
        "telegram_id": 2,
        "caseworker_id": 1,
        "label": "Case 2",
        "telegram_name": None,
        "status": "active",
        "linked_at": NOW - timedelta(days=40),
        "last_contact_at": None,
        "unreachable_since": None,
    }
    return Client(**(values | changes))  # type: ignore[arg-type]


def test_the_latest_visit_missed_needs_attention_until_one_is_attended() -> None:
    assert client().attention(NOW) == []
    assert client(last_visit="no_show", visits_missed_30=1).attention(NOW) == ["no_show"]
    assert client(last_visit="attended", visits_missed_30=1).attention(NOW) == []


def test_an_assigned_visit_not_acknowledged_needs_attention_after_the_window() -> None:
    fresh = client(unacknowledged_since=NOW - ACK_ATTENTION_AFTER + timedelta(minutes=1))
    assert fresh.attention(NOW) == []
    late = client(unacknowledged_since=NOW - ACK_ATTENTION_AFTER)
    assert late.attention(NOW) == ["unacknowledged"]
    # The office's own window (APPOINTMENT_ACK_HOURS) decides.
    assert fresh.attention(NOW, ack_within=timedelta(hours=1)) == ["unacknowledged"]
