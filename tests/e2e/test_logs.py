"""The bot token never reaches the log, even in the traceback of a failed download (F6)."""

from __future__ import annotations

import logging

import pytest

from tests.harness import BotUnderTest
from tests.unit.test_logging import captured_logs


async def test_a_failed_csv_download_does_not_log_the_token(
    app: BotUnderTest, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake answers 404 on the file download: aiohttp's error names the URL,
    # /file/bot<TOKEN>/..., and a logged traceback would carry it (a05 of the audit).
    monkeypatch.setattr(app.api.state, "file_by_path", lambda path: None)
    admin = await app.admin()
    with captured_logs("INFO", [app.api.token]) as stream, caplog.at_level(logging.INFO):
        await admin.send_document(b"id,organization_id,categories\n", "x.csv")
        await admin.wait_for(lambda m: True, timeout=30)  # answered: the failure was handled
    ours, captured = stream.getvalue(), caplog.text
    for text in (ours, captured):
        assert app.api.token not in text
        assert "TEST-TOKEN" not in text
