"""Log format and levels. INFO never carries names, message texts or phone numbers."""

from __future__ import annotations

import logging


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiogram's per-update INFO lines are noise at scale; keep its warnings.
    logging.getLogger("aiogram.event").setLevel(max(logging.getLevelName(level), logging.WARNING))
    # APScheduler logs every wake-up of the scheduling engine's dispatcher at INFO.
    logging.getLogger("apscheduler").setLevel(max(logging.getLevelName(level), logging.WARNING))
