"""Retention limits: what the bot forgets on its own, run by the engine's housekeeping.

- Conversation state (`fsm_state`) not updated for 24 hours: the flow was abandoned.
- Pending invitations past their expiry: marked 'expired', their label (a name or case
  number) cleared.
Finished timed items are purged by the engine itself (30 days). Cases (messages,
check-ins) are kept until the person deletes them; there is no limit for archived cases.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from db import fsm_storage, invitations, privacy
from db.database import Database

log = logging.getLogger(__name__)

CONVERSATION_IDLE = timedelta(hours=24)


async def purge_expired(db: Database, now: datetime) -> dict[str, int]:
    """Apply every limit once; returns how many rows each one removed or cleared."""
    done = {
        "conversations": await fsm_storage.purge_idle(db, now - CONVERSATION_IDLE),
        "invitations_expired": await invitations.expire(db, now),
    }
    # The forgotten values leave the WAL too, and so do those of an erasure whose own
    # checkpoint was kept from finishing (e.g. `admin erase-user` while the bot was busy).
    await privacy.checkpoint(db)
    if any(done.values()):
        log.info(
            "Retention: %d idle conversations forgotten, %d invitations expired",
            done["conversations"],
            done["invitations_expired"],
        )
    return done
