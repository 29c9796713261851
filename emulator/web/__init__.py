"""A chat page for the emulator: act as several people in their private chats with the bot.

The local playground (`python3 dev.py demo`, devtools/demo.py) serves it beside a
:class:`FakeBotAPI`. The page shows what a Telegram client would (formatted text from the
entities the emulator parsed out of the bot's HTML, inline and reply keyboards, edits in
place, photos, documents as downloads, locations as a pin, the command menu of the chat)
and acts through the same :class:`FakeUser` as the tests. Plain HTML, JS and CSS in
static/: no build step.

    GET  /api/personas                       who the page can act as
    GET  /api/state?persona=ID[&since=SIG]   the chat and the personas; with `since`, waits
                                             (long poll) until something differs from SIG
    POST /api/personas/ID/send               {"text": "..."} (a /command too)
    POST /api/personas/ID/press              {"message_id": N, "data": "..."} (inline button)
    POST /api/personas/ID/location           {"latitude": .., "longitude": ..}
    POST /api/personas/ID/contact            {} (the persona's own number)
    POST /api/personas/ID/language           {"language_code": "kk" | "ru" | "en"}
    POST /api/personas/ID/upload             multipart: file, caption (images go as photos)
    GET  /api/files/FILE_ID                  a file of a chat (documents as downloads)

Actions return at once (202); the bot's reaction shows up in the next state. Served on
loopback only, and only to requests addressed to a loopback name (no DNS rebinding);
every POST must carry the X-Playground header, which a web page of another origin cannot
add without a CORS preflight (never granted here), so no other site open in the same
browser can act as a persona.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from ..models import JsonDict, Msg
from ..server import FakeBotAPI
from ..state import UserRecord
from ..user import FakeUser

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
HEADER = "X-Playground"
LANGUAGES = ("kk", "ru", "en")
MAX_MESSAGES = 300  # the newest of a chat sent to the page
MAX_UPLOAD = 20 * 1024 * 1024  # Telegram's bots download files up to 20 MB
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)
_SAFE_URL = ("http://", "https://", "tg://")
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Persona:
    """One person the page can act as (a simulated user of the emulator)."""

    user_id: int
    title: str  # what they are in the story: "Administrator", "Caseworker", "Client"
    phone: str  # what the contact button shares


def _image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _IMAGES if data.startswith(magic)), None)


@web.middleware
async def _loopback_host_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuses a request addressed to another name (DNS rebinding: a site whose name
    points at 127.0.0.1 would otherwise be "same origin" and could add our header)."""
    host = request.url.host  # from the Host header, without the port
    if host not in _LOOPBACK_NAMES:
        raise web.HTTPMisdirectedRequest(text="the playground answers on 127.0.0.1 only")
    return await handler(request)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _buttons(msg: Msg) -> list[list[JsonDict]]:
    rows = (msg.reply_markup or {}).get("inline_keyboard") or []
    out: list[list[JsonDict]] = []
    for row in rows:
        line: list[JsonDict] = []
        for button in row:
            item: JsonDict = {"text": str(button.get("text", ""))}
            if "callback_data" in button:
                item["data"] = button["callback_data"]
            elif isinstance(button.get("url"), str) and button["url"].startswith(_SAFE_URL):
                item["url"] = button["url"]
            line.append(item)
        out.append(line)
    return out


def message_json(msg: Msg) -> JsonDict:
    """What the page needs to draw one message; text as plain text plus entities, never HTML."""
    out: JsonDict = {
        "id": msg.message_id,
        "from_bot": msg.from_bot,
        "kind": msg.kind,
        "date": msg.date,
        "text": msg.text or "",
        "entities": msg.entities,
        "edited": msg.edited > 0,
        "buttons": _buttons(msg),
    }
    if msg.file_id is not None and msg.document is not None:
        image = msg.kind in ("photo", "sticker") and _image_type(msg.document) is not None
        default_name = {"photo": "photo.jpg", "voice": "voice.oga"}.get(msg.kind, "file")
        out["file"] = {
            "id": msg.file_id,
            "name": msg.filename or default_name,
            "size": len(msg.document),
            "image": image,
        }
    if msg.location is not None:
        out["location"] = {"latitude": msg.location[0], "longitude": msg.location[1]}
    if msg.kind == "venue":
        out["venue"] = {"title": msg.venue_title or "", "address": msg.venue_address or ""}
    if msg.kind == "contact":
        out["contact"] = {"phone": msg.phone_number or ""}
    if msg.kind == "sticker":
        out["emoji"] = str(msg.media.get("sticker", {}).get("emoji", ""))
    if msg.forward_origin is not None:
        origin = msg.forward_origin.get("sender_user") or {}
        out["forwarded_from"] = str(
            origin.get("first_name") or msg.forward_origin.get("sender_user_name") or ""
        )
    return out


def _reply_keyboard(record: UserRecord) -> JsonDict | None:
    keyboard = record.reply_keyboard
    if keyboard is None:
        return None
    rows = []
    for row in keyboard.get("keyboard", []):
        line = []
        for button in row:
            if button.get("request_location"):
                kind = "location"
            elif button.get("request_contact"):
                kind = "contact"
            elif any(key != "text" for key in button):
                kind = "unsupported"  # pickers and web apps: not simulated
            else:
                kind = "text"
            line.append({"text": button["text"], "kind": kind})
        rows.append(line)
    return {
        "rows": rows,
        "placeholder": str(keyboard.get("input_field_placeholder") or ""),
        "one_time": bool(keyboard.get("one_time_keyboard")),
    }


class Playground:
    """The chat page for ``personas`` (users of ``api``, created with ``api.user(...)`` first)."""

    def __init__(
        self,
        api: FakeBotAPI,
        personas: Sequence[Persona],
        *,
        time_zone: str | None = None,
        long_poll: float = 25.0,
    ) -> None:
        self.api = api
        # The zone the page shows message times in (the bot's, so they match its texts);
        # None: the browser's own, as a Telegram client does.
        self.time_zone = time_zone
        self.personas = {p.user_id: p for p in personas}
        missing = [p for p in self.personas if p not in api.state.users]
        if missing:
            raise ValueError(
                f"personas {missing} are not users of the emulator: api.user() them first"
            )
        self.long_poll = long_poll
        self.url = ""  # known after start()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._actions: set[asyncio.Task[object]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_UPLOAD + 64 * 1024, middlewares=[_loopback_host_only]
        )
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.router.add_get("/api/personas", self._personas)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/files/{file_id}", self._file)
        for action in ("send", "press", "location", "contact", "language", "upload"):
            app.router.add_post(f"/api/personas/{{persona}}/{action}", self._action(action))
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: any free port); returns the page's address."""
        self._closing = False
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        self.api.state.notify()  # long polls return now
        for task in list(self._actions):
            task.cancel()
        if self._actions:
            await asyncio.gather(*self._actions, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what the page shows ---------------------------------------------------------------

    def _persona_json(self, persona: Persona) -> JsonDict:
        record = self.api.state.users[persona.user_id]
        history = self.api.state.chat(persona.user_id)
        name = " ".join(part for part in (record.first_name, record.last_name) if part)
        return {
            "id": persona.user_id,
            "name": name,
            "title": persona.title,
            "language_code": record.language_code or "",
            "bot_messages": sum(1 for m in history.messages.values() if m.from_bot),
        }

    def snapshot(self, persona_id: int) -> JsonDict:
        """The personas, and the chat of ``persona_id`` as a Telegram client would draw it."""
        state = self.api.state
        record = state.users[persona_id]
        messages = list(state.chat(persona_id).messages.values())[-MAX_MESSAGES:]
        answer = record.last_callback_answer
        return {
            "sig": self.signature(persona_id),
            "bot": {
                "name": str(state.bot_user.get("first_name", "")),
                "username": str(state.bot_user.get("username", "")),
            },
            "time_zone": self.time_zone,
            "personas": [self._persona_json(p) for p in self.personas.values()],
            "chat": {
                "persona": persona_id,
                "messages": [message_json(m) for m in messages],
                "reply_keyboard": _reply_keyboard(record),
                "commands": self.api.commands_for(persona_id, record.language_code or ""),
                "callback_answer": None
                if answer is None
                else {
                    "id": answer.callback_query_id,
                    "text": answer.body,
                    "alert": answer.show_alert,
                },
            },
        }

    def signature(self, persona_id: int) -> str:
        """Changes whenever anything :meth:`snapshot` shows changes (cheap: no rendering)."""
        state = self.api.state
        parts: list[object] = []
        for user_id in self.personas:
            history = state.chat(user_id)
            edits = sum(m.edited for m in history.messages.values())
            parts += [user_id, history.last_message_id, len(history.messages), edits]
            parts.append(state.users[user_id].language_code)
        record = state.users[persona_id]
        answer = record.last_callback_answer
        parts += [
            persona_id,
            json.dumps(record.reply_keyboard, sort_keys=True),
            json.dumps(self.api.commands_for(persona_id, record.language_code or "")),
            None if answer is None else answer.callback_query_id,
        ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]

    # -- HTTP ------------------------------------------------------------------------------

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def _persona(self, request: web.Request) -> Persona:
        raw = request.match_info.get("persona") or request.query.get("persona")
        try:
            return self.personas[int(raw or "")]
        except (ValueError, KeyError):
            raise web.HTTPNotFound(text="no such persona") from None

    async def _personas(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response([self._persona_json(p) for p in self.personas.values()])

    async def _state(self, request: web.Request) -> web.StreamResponse:
        persona = self._persona(request)
        since = request.query.get("since")
        if since:
            state = self.api.state
            await state.wait_until(
                lambda: self._closing or self.signature(persona.user_id) != since,
                self.long_poll,
            )
        return web.json_response(
            self.snapshot(persona.user_id), headers={"Cache-Control": "no-store"}
        )

    async def _file(self, request: web.Request) -> web.StreamResponse:
        stored = self.api.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound(text="no such file")
        image = _image_type(stored.data)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if image is not None and request.query.get("download") is None:
            return web.Response(body=stored.data, content_type=image, headers=headers)
        # Anything else is a download, never shown in the page's origin.
        name = stored.filename or stored.file_path.rsplit("/", 1)[-1]
        fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
        headers["Content-Disposition"] = (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
        )
        return web.Response(
            body=stored.data, content_type="application/octet-stream", headers=headers
        )

    def _action(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.headers.get(HEADER) != "1":
                raise web.HTTPForbidden(text=f"the {HEADER} header is required")
            persona = self._persona(request)
            user = self.api.user(persona.user_id)
            if name == "upload":
                action: Awaitable[object] | None = await self._upload(request, user)
            else:
                action = self._simple(name, await self._json(request), user, persona)
            if action is not None:
                self._run(action)
            return web.json_response({"ok": True}, status=202)

        return handle

    @staticmethod
    async def _json(request: web.Request) -> JsonDict:
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object expected")
        return body

    def _simple(
        self, name: str, body: JsonDict, user: FakeUser, persona: Persona
    ) -> Awaitable[object] | None:
        if name == "send":
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > 4096:
                raise web.HTTPBadRequest(text="text: 1 to 4096 characters")
            return user.send(text)
        if name == "press":
            message_id, data = body.get("message_id"), body.get("data")
            if not isinstance(message_id, int) or not isinstance(data, str):
                raise web.HTTPBadRequest(text="message_id and data expected")
            msg = self.api.state.find_message(persona.user_id, message_id)
            if msg is None or data not in {d for row in msg.inline_buttons for _, d in row}:
                raise web.HTTPBadRequest(text="no such button")
            return user.press_data(data, message_id)
        if name == "location":
            latitude, longitude = _number(body.get("latitude")), _number(body.get("longitude"))
            if latitude is None or longitude is None:
                raise web.HTTPBadRequest(text="latitude and longitude expected")
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise web.HTTPBadRequest(text="not a place on Earth")
            return user.share_location(latitude, longitude)
        if name == "contact":
            return user.send_contact(persona.phone)
        code = body.get("language_code")
        if code not in LANGUAGES:
            raise web.HTTPBadRequest(text=f"language_code: one of {', '.join(LANGUAGES)}")
        user.record.language_code = code  # Telegram's app language: sent with every update
        self.api.state.notify()
        return None

    async def _upload(self, request: web.Request, user: FakeUser) -> Awaitable[object]:
        if not request.content_type.startswith("multipart/"):
            raise web.HTTPUnsupportedMediaType(text="send multipart/form-data")
        form = await request.post()
        upload = form.get("file")
        caption = form.get("caption")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="a file expected")
        data = upload.file.read()
        if not data:
            raise web.HTTPBadRequest(text="the file is empty")
        text = caption.strip() if isinstance(caption, str) and caption.strip() else None
        if _image_type(data) in ("image/png", "image/jpeg"):
            return user.send_photo(data, text)
        mime = upload.content_type or "application/octet-stream"
        return user.send_document(data, upload.filename or "file", mime, text)

    def _run(self, action: Awaitable[object]) -> None:
        """The person acts now; the page sees the bot's answer through /api/state."""

        async def act() -> object:
            try:
                return await action
            except AssertionError as exc:  # FakeUser's "the bot did not react in time"
                log.warning("Playground: %s", exc)
            return None

        task = asyncio.ensure_future(act())
        self._actions.add(task)
        task.add_done_callback(self._actions.discard)
