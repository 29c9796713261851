"""The caseworker's message buttons on a client (on the card and under a relayed message).

Prefixes carry a version: changing the fields bumps it (see handlers/client_card.py).
The client's side (WriteAgain, CancelWriting) lives with its state in writing.py.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MessagesAction(StrEnum):
    WRITE = "write"  # ✍️ Write / ↩️ Reply: the next message goes to the client
    HISTORY = "history"  # 📜 History: the messages exchanged with the client


class ClientMessages(CallbackData, prefix="cm1"):
    client_id: int
    action: MessagesAction
