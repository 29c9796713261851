"""Validation of reply_markup objects with Telegram's error descriptions."""

from __future__ import annotations

from .models import JsonDict, bad_request

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")
MAX_CALLBACK_DATA_BYTES = 64


def _rows(markup: JsonDict, key: str) -> list[list[object]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" of the reply markup must be an Array of Arrays')
    return rows


def _inline_button(button: object) -> JsonDict:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    # The limit is in bytes, so non-ASCII data overflows sooner than len() suggests.
    data_ok = isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    if "callback_data" in button and not data_ok:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or not url.startswith(_URL_SCHEMES)):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return dict(button)


def _reply_button(button: object) -> JsonDict:
    if isinstance(button, str):
        button = {"text": button}
    if (
        not isinstance(button, dict)
        or not isinstance(button.get("text"), str)
        or not button["text"]
    ):
        raise bad_request("keyboard button text is empty")
    return dict(button)


def validate_reply_markup(markup: object, *, inline_only: bool = False) -> JsonDict | None:
    """Return the normalized markup (None for "no markup") or raise a 400 like Telegram."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in markup:
        rows = [[_inline_button(b) for b in row] for row in _rows(markup, "inline_keyboard")]
        rows = [row for row in rows if row]
        # An empty inline keyboard means "no keyboard" (used to strip buttons on edit).
        return {"inline_keyboard": rows} if rows else None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = [[_reply_button(b) for b in row] for row in _rows(markup, "keyboard")]
        if not any(rows):
            raise bad_request("keyboard must be non-empty")
        return {**markup, "keyboard": rows}
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")
