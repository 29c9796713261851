"""Logs never carry SQL values (F14) or the bot token (F6), whatever LOG_LEVEL says."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.logging_setup import QUIET_LOGGERS, setup_logging
from db import messages
from db.database import Database
from db.migrate import migrate

TOKEN = "123456:TEST-TOKEN"  # as short as the tests' token: masked because it is configured
REAL_SHAPED = "7712345678:AAH5v9JkQ_lmNoPqRsTuVwXyZ0123456789ab"  # not configured, but shaped


@contextlib.contextmanager
def captured_logs(level: str, secrets: list[str]) -> Iterator[io.StringIO]:
    """What setup_logging's handler writes; the logging configuration is restored after."""
    root = logging.getLogger()
    saved_level = root.level
    saved_filters = {h: list(h.filters) for h in root.handlers}
    saved_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    stream = io.StringIO()
    handler = setup_logging(level, secrets=secrets, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        for existing, filters in saved_filters.items():
            existing.filters[:] = filters
        for name, level_before in saved_levels.items():
            logging.getLogger(name).setLevel(level_before)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with captured_logs("DEBUG", [TOKEN]) as stream:
        yield stream


async def test_debug_level_logs_no_sql_values(tmp_path: Path, log_output: io.StringIO) -> None:
    db = Database(tmp_path / "x.sqlite3")
    await db.connect()
    await migrate(db)
    await db.execute(
        "INSERT INTO users (telegram_id, created_at, updated_at) VALUES (1,'x','x'), (2,'x','x')"
    )
    await db.execute(
        "INSERT INTO clients (telegram_id, caseworker_id, label, telegram_name, consented_at,"
        " linked_at) VALUES (1, 2, 'Case 17 Zhumabekov', 'Arman', 'x', 'x')"
    )
    await messages.record(
        db, client_id=1, caseworker_id=2, direction="in", kind="text", body="relapsed-at-Abai-12"
    )
    await db.close()
    logging.getLogger("bot.test").debug("a debug line of our own")  # DEBUG is really on
    out = log_output.getvalue()
    assert "a debug line of our own" in out
    assert "relapsed-at-Abai-12" not in out
    assert "Zhumabekov" not in out
    assert "INSERT" not in out


def _log_everything(logger: logging.Logger) -> None:
    logger.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)  # in args
    logger.info(f"calling https://api.telegram.org/bot{TOKEN}/getMe")  # in the message
    logger.warning("other token %s", REAL_SHAPED)
    logger.info("escaped %s", TOKEN.replace(":", "%3A"))
    try:  # what aiogram's download raises on a 404 (F6): the URL in the exception text
        raise aiohttp.ClientResponseError(
            request_info=aiohttp.RequestInfo(
                url=URL(f"http://127.0.0.1:1/file/bot{TOKEN}/documents/f.csv"),
                method="GET",
                headers=CIMultiDictProxy(CIMultiDict()),
            ),
            history=(),
            status=404,
            message="Not Found",
        )
    except aiohttp.ClientResponseError:
        logger.exception("Handler failed: update=%s", 17)
    try:
        raise RuntimeError(f"token {REAL_SHAPED} in a traceback")
    except RuntimeError:
        logger.error("failed", exc_info=True, stack_info=True)


def test_the_token_is_masked_in_messages_args_and_tracebacks(log_output: io.StringIO) -> None:
    _log_everything(logging.getLogger("bot.test"))
    out = log_output.getvalue()
    assert "ClientResponseError: (message withheld)" in out  # the traceback is there...
    assert "Traceback (most recent call last)" in out
    assert "RuntimeError: (message withheld)" in out  # ...without the exceptions' messages
    assert "/file/bot" not in out  # the URL in the message (with the token) is not logged
    assert TOKEN not in out
    assert "TEST-TOKEN" not in out
    assert REAL_SHAPED not in out
    assert REAL_SHAPED.split(":")[1] not in out
    assert "update=17" in out  # the rest of the line is intact


def test_a_traceback_never_carries_what_a_person_wrote(log_output: io.StringIO) -> None:
    written = "Айгерім: my address is Abai 10"
    known: dict[str, int] = {}
    try:
        try:
            known[written]
        except KeyError as inner:
            raise ValueError(f"could not parse {written!r}") from inner
    except ValueError:
        logging.getLogger("bot.test").exception("Handler failed: update=%s", 5)
    out = log_output.getvalue()
    assert "Abai" not in out
    assert "builtins.KeyError: (message withheld)" in out  # the cause, then
    assert "builtins.ValueError: (message withheld)" in out  # what it caused
    assert "test_a_traceback_never_carries_what_a_person_wrote" in out  # the frames stay
    assert "update=5" in out


def test_other_root_handlers_get_the_masked_record_too(
    log_output: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    setup_logging("INFO", secrets=[TOKEN], stream=log_output)  # again: caplog's handler is on root
    with caplog.at_level(logging.INFO):
        _log_everything(logging.getLogger("bot.test"))
    rendered = "\n".join(caplog.text.splitlines())
    assert "getMe" in rendered
    assert TOKEN not in rendered
    assert REAL_SHAPED not in rendered


def test_quiet_loggers_stay_at_warning_whatever_the_level(log_output: io.StringIO) -> None:
    for name in ("aiosqlite", "asyncio", "apscheduler", "aiogram.event"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("bot").getEffectiveLevel() == logging.DEBUG
