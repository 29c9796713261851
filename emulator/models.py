"""Plain data shared by the fake server, its method handlers and simulated users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Bot API objects are heterogeneous JSON; a precise TypedDict per object would
# dwarf the fake itself, so JSON stays ``dict[str, Any]`` at the edges.
JsonDict = dict[str, Any]

# One inline button as tests see it: (visible text, callback_data or url).
Button = tuple[str, str | None]


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """400 with the ``Bad Request: `` prefix Telegram puts on every such description."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part received from the bot."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file the fake knows by file_id (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None

    def as_file_json(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot passed to answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int

    @property
    def body(self) -> str:
        """The notice text shown to the person; "" when the answer only stopped the spinner."""
        return self.text or ""


@dataclass(eq=False, repr=False)
class Msg:
    """One message of a private chat, from either side, with its *current* content.

    The fake mutates these objects in place on edits, so a ``Msg`` returned by an
    earlier action shows later edits too.
    """

    message_id: int
    chat_id: int
    from_bot: bool
    kind: str  # "text", "photo", "document", "location", "venue", "voice", "sticker", "contact"
    date: int
    text: str | None = None  # plain text (tags stripped) for text messages, caption for media
    html: str | None = None  # text/caption exactly as the bot sent it (before parsing)
    entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    # The content part of the API object, e.g. {"document": {...}} or {"location": {...}}.
    media: JsonDict = field(default_factory=dict)
    document: bytes | None = None  # file bytes for documents/photos/voices
    filename: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    location: tuple[float, float] | None = None
    venue_title: str | None = None
    venue_address: str | None = None
    phone_number: str | None = None
    edited: int = 0
    edit_date: int | None = None
    copied_from: tuple[int, int] | None = None  # (chat_id, message_id) of the source
    forwarded_from: tuple[int, int] | None = None
    forward_origin: JsonDict | None = None
    reply_to: int | None = None
    link_preview_disabled: bool = False
    raw: JsonDict = field(default_factory=dict)  # the Bot API Message object, refreshed on edits

    @property
    def body(self) -> str:
        """The text (of a media message: the caption) as the person reads it; "" if none."""
        return self.text or ""

    @property
    def caption(self) -> str | None:
        return None if self.kind == "text" else self.text

    @property
    def inline_buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [(str(b.get("text", "")), b.get("callback_data", b.get("url"))) for b in row]
            for row in rows
        ]

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.inline_buttons for text, _ in row]

    def __repr__(self) -> str:
        side = "bot" if self.from_bot else "user"
        parts = [f"#{self.message_id}", side, self.kind]
        if self.text is not None:
            parts.append(repr(self.text if len(self.text) <= 80 else self.text[:77] + "..."))
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            parts.append(f"buttons={[[t for t, _ in row] for row in self.inline_buttons]}")
        if self.edited:
            parts.append(f"edited={self.edited}")
        return f"Msg({' '.join(parts)})"
