// The playground's chat page: draws the emulator's state, sends what a person would.
// Plain JS, no build step. Text is always put in with textContent: the bot's HTML was
// parsed by the emulator into plain text and entities, never injected as markup.
"use strict";

const LANGUAGES = ["kk", "ru", "en"];
const SAFE_URL = /^(https?|tg):\/\//;
const URL_IN_TEXT = /https?:\/\/[^\s<>"«»]+[^\s<>"«».,;:!?)]/g;
const view = { persona: null, sig: "", data: null, seen: {}, toastId: null, poll: null };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ---- talking to the emulator ------------------------------------------------------------

async function act(action, body, persona = view.persona) {
  const options = { method: "POST", headers: { "X-Playground": "1" } };
  if (body instanceof FormData) options.body = body;
  else {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(`/api/personas/${persona}/${action}`, options);
  if (!response.ok) toast(await response.text(), false);
}

async function pollLoop() {
  for (;;) {
    const persona = view.persona;
    const controller = new AbortController();
    view.poll = controller;
    try {
      const since = view.data && view.data.chat.persona === persona ? view.sig : "";
      const url = `/api/state?persona=${persona}` + (since ? `&since=${since}` : "");
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      if (persona === view.persona) render(data);
    } catch (error) {
      if (error.name !== "AbortError") await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function switchTo(personaId) {
  if (personaId === view.persona) return;
  view.persona = personaId;
  view.sig = "";
  localStorage.setItem("persona", String(personaId));
  hidePopovers();
  if (view.poll) view.poll.abort();
}

// ---- drawing ---------------------------------------------------------------------------

function render(data) {
  const first = !view.data || view.data.chat.persona !== data.chat.persona;
  view.data = data;
  view.sig = data.sig;
  const me = data.personas.find((p) => p.id === data.chat.persona);
  view.seen[me.id] = me.bot_messages;
  renderPersonas(data.personas);
  document.getElementById("chat-title").textContent = data.bot.name;
  document.getElementById("chat-subtitle").textContent =
    `@${data.bot.username} · you are ${me.name} (${me.title})`;
  renderLanguages(me);
  renderMessages(data.chat.messages, first);
  renderReplyKeyboard(data.chat.reply_keyboard);
  renderCommands(data.chat.commands);
  const answer = data.chat.callback_answer;
  if (answer && answer.id !== view.toastId) {
    view.toastId = answer.id;
    if (answer.text && !first) toast(answer.text, answer.alert);
  }
}

function renderPersonas(personas) {
  const nav = document.getElementById("personas");
  nav.replaceChildren(
    ...personas.map((p) => {
      const unread = Math.max(0, p.bot_messages - (view.seen[p.id] ?? p.bot_messages));
      if (view.seen[p.id] === undefined) view.seen[p.id] = p.bot_messages;
      return el(
        "button",
        {
          class: "persona" + (p.id === view.persona ? " active" : ""),
          "aria-pressed": String(p.id === view.persona),
          "data-persona": String(p.id),
          onclick: () => switchTo(p.id),
        },
        el("span", { class: "avatar", text: p.name.slice(0, 1) }),
        el(
          "span",
          { class: "persona-text" },
          el("span", { class: "persona-name", text: p.name }),
          el("span", { class: "persona-title", text: `${p.title} · ${p.language_code}` }),
        ),
        unread ? el("span", { class: "badge", text: String(unread) }) : null,
      );
    }),
  );
}

function renderLanguages(me) {
  const box = document.getElementById("languages");
  box.replaceChildren(
    ...LANGUAGES.map((code) =>
      el("button", {
        class: "lang" + (me.language_code === code ? " active" : ""),
        "aria-pressed": String(me.language_code === code),
        title: "Telegram language of this persona",
        text: code.toUpperCase(),
        onclick: () => act("language", { language_code: code }),
      }),
    ),
  );
}

function formatted(text, entities) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  const out = document.createDocumentFragment();
  build(out, text, sorted, 0, text.length);
  return out;
}

function build(parent, text, entities, start, end) {
  let pos = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    if (entity.offset < pos) { i += 1; continue; }
    if (entity.offset >= end) break;
    plain(parent, text.slice(pos, entity.offset));
    const stop = Math.min(entity.offset + entity.length, end);
    let j = i + 1;
    while (j < entities.length && entities[j].offset < stop) j += 1;
    const node = entityNode(entity);
    build(node, text, entities.slice(i + 1, j), entity.offset, stop);
    parent.append(node);
    pos = stop;
    i = j;
  }
  plain(parent, text.slice(pos, end));
}

function plain(parent, text) {
  // Telegram shows bare links as links; so does the page (they open only when clicked).
  let last = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    parent.append(text.slice(last, match.index));
    parent.append(link(match[0], match[0]));
    last = match.index + match[0].length;
  }
  parent.append(text.slice(last));
}

function link(href, label) {
  const node = el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label });
  const payload = startPayload(href);
  if (payload !== null) {
    // A link to this bot with ?start=: Telegram opens the chat and sends /start PAYLOAD.
    node.addEventListener("click", (event) => { event.preventDefault(); chooseOpener(payload); });
  }
  return node;
}

function startPayload(href) {
  const match = /^https:\/\/t\.me\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$/.exec(href);
  const username = view.data ? view.data.bot.username.toLowerCase() : "";
  return match && match[1].toLowerCase() === username ? match[2] : null;
}

function chooseOpener(payload) {
  const box = document.getElementById("open-as");
  const others = view.data.personas.filter((p) => p.id !== view.persona);
  box.replaceChildren(
    el("div", { class: "popover-title", text: "Open this link as…" }),
    ...others.map((p) =>
      el("button", {
        class: "command-item",
        onclick: () => {
          hidePopovers();
          switchTo(p.id);
          act("send", { text: `/start ${payload}` }, p.id);
        },
      }, el("b", { text: p.name }), el("span", { text: p.title })),
    ),
  );
  showPopover("open-as");
}

function entityNode(entity) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre");
    case "blockquote": return el("blockquote");
    case "expandable_blockquote": return el("blockquote", { class: "expandable" });
    case "spoiler": {
      const node = el("span", { class: "spoiler", title: "Spoiler: click to show" });
      node.addEventListener("click", () => node.classList.add("shown"));
      return node;
    }
    case "text_link":
      return SAFE_URL.test(entity.url || "") ? link(entity.url, "") : el("span", { class: "link" });
    case "bot_command": return el("span", { class: "command" });
    default: return el("span");
  }
}

function mediaNode(message) {
  const file = message.file;
  if (message.kind === "sticker") return el("div", { class: "sticker", text: message.emoji || "🖼" });
  if (file && file.image) {
    const src = `/api/files/${encodeURIComponent(file.id)}`;
    return el(
      "div",
      { class: "photo" },
      el("a", { href: src, target: "_blank" }, el("img", { src, alt: "photo" })),
      el("a", { class: "save", href: `${src}?download=1`, download: file.name, text: `⬇ ${file.name}` }),
    );
  }
  if (file) {
    const icon = message.kind === "voice" ? "🎤" : "📄";
    return el(
      "a",
      {
        class: "document",
        href: `/api/files/${encodeURIComponent(file.id)}?download=1`,
        download: file.name,
      },
      el("span", { class: "doc-icon", text: icon }),
      el(
        "span",
        { class: "doc-text" },
        el("span", { class: "doc-name", text: file.name }),
        el("span", { class: "doc-size", text: size(file.size) }),
      ),
    );
  }
  if (message.location) {
    const { latitude: lat, longitude: lon } = message.location;
    const osm = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
    const venue = message.venue;
    return el(
      "div",
      { class: "pin" },
      el("span", { class: "pin-mark", text: "📍" }),
      el(
        "span",
        { class: "pin-text" },
        venue ? el("b", { text: venue.title }) : null,
        venue ? el("span", { text: venue.address }) : null,
        el("span", { class: "coords", text: `${lat.toFixed(5)}, ${lon.toFixed(5)}` }),
        link(osm, "Open in OpenStreetMap"),
      ),
    );
  }
  if (message.contact) return el("div", { class: "contact", text: `👤 ${message.contact.phone}` });
  return null;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function messageNode(message) {
  const bubble = el("div", { class: "bubble" });
  if (message.forwarded_from) bubble.append(el("div", { class: "forwarded", text: `Forwarded from ${message.forwarded_from}` }));
  const media = mediaNode(message);
  if (media) bubble.append(media);
  if (message.text) bubble.append(el("div", { class: "text" }, formatted(message.text, message.entities)));
  const time = new Date(message.date * 1000).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: view.data.time_zone || undefined,
  });
  bubble.append(el("div", { class: "meta", text: (message.edited ? "edited " : "") + time }));
  const row = el("div", {
    class: "message " + (message.from_bot ? "incoming" : "outgoing"),
    "data-id": String(message.id),
  }, bubble);
  if (message.buttons.length) {
    const keyboard = el("div", { class: "inline-keyboard" });
    for (const buttons of message.buttons) {
      keyboard.append(el("div", { class: "inline-row" }, ...buttons.map((b) => inlineButton(message, b))));
    }
    row.append(keyboard);
  }
  return row;
}

function inlineButton(message, button) {
  if (button.url) return el("a", { class: "inline-button", href: button.url, target: "_blank", rel: "noopener noreferrer", text: `${button.text} ↗` });
  if (button.data === undefined) return el("button", { class: "inline-button", disabled: "", text: button.text });
  return el("button", {
    class: "inline-button",
    text: button.text,
    onclick: () => act("press", { message_id: message.id, data: button.data }),
  });
}

function renderMessages(messages, first) {
  const box = document.getElementById("messages");
  const atBottom = first || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (!messages.length) {
    box.replaceChildren(el("div", { class: "empty", text: "No messages yet. Send /start to begin." }));
    return;
  }
  box.replaceChildren(...messages.map(messageNode));
  if (!atBottom) return;
  box.scrollTop = box.scrollHeight;
  // Photos take their height once loaded: stay at the bottom.
  for (const img of box.querySelectorAll("img")) {
    if (!img.complete) img.addEventListener("load", () => { box.scrollTop = box.scrollHeight; }, { once: true });
  }
}

function renderReplyKeyboard(keyboard) {
  const box = document.getElementById("reply-keyboard");
  const input = document.getElementById("text");
  input.placeholder = (keyboard && keyboard.placeholder) || "Message";
  if (!keyboard) { box.hidden = true; box.replaceChildren(); return; }
  box.hidden = false;
  box.replaceChildren(
    ...keyboard.rows.map((row) =>
      el("div", { class: "reply-row" }, ...row.map((button) =>
        el("button", {
          class: "reply-button",
          text: button.text,
          disabled: button.kind === "unsupported" ? "" : null,
          onclick: () => replyPressed(button),
        }),
      )),
    ),
  );
}

function replyPressed(button) {
  if (button.kind === "location") return showPopover("location-form");
  if (button.kind === "contact") return act("contact");
  return act("send", { text: button.text });
}

function renderCommands(commands) {
  const box = document.getElementById("commands");
  document.getElementById("menu-button").disabled = !commands.length;
  box.replaceChildren(
    el("div", { class: "popover-title", text: "Menu" }),
    ...commands.map((c) =>
      el("button", {
        class: "command-item",
        onclick: () => { hidePopovers(); act("send", { text: `/${c.command}` }); },
      }, el("span", { class: "command", text: `/${c.command}` }), el("span", { text: c.description })),
    ),
  );
}

// ---- popovers, toasts, the composer ------------------------------------------------------

function showPopover(id) {
  const box = document.getElementById(id);
  const open = box.hidden;
  hidePopovers();
  box.hidden = !open;
}

function hidePopovers() {
  for (const box of document.querySelectorAll(".popover")) box.hidden = true;
}

function toast(text, alert) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, alert ? 8000 : 3500);
}

function setUp() {
  const composer = document.getElementById("composer");
  const input = document.getElementById("text");
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    act("send", { text });
  });
  document.getElementById("menu-button").addEventListener("click", () => showPopover("commands"));
  document.getElementById("location-button").addEventListener("click", () => showPopover("location-form"));
  document.getElementById("contact-button").addEventListener("click", () => act("contact"));
  const fileInput = document.getElementById("file-input");
  document.getElementById("attach-button").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const [file] = fileInput.files;
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("caption", input.value);
    input.value = "";
    fileInput.value = "";
    act("upload", form);
  });
  const locationForm = document.getElementById("location-form");
  locationForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const latitude = Number(locationForm.latitude.value);
    const longitude = Number(locationForm.longitude.value);
    hidePopovers();
    act("location", { latitude, longitude });
  });
  locationForm.querySelector("[data-close]").addEventListener("click", hidePopovers);
  document.getElementById("toast").addEventListener("click", (e) => { e.currentTarget.hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") hidePopovers(); });
}

async function main() {
  setUp();
  const response = await fetch("/api/personas");
  const personas = await response.json();
  const saved = Number(localStorage.getItem("persona"));
  view.persona = personas.some((p) => p.id === saved) ? saved : personas[0].id;
  pollLoop();
}

main();
