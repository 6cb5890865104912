// The sandbox's web chat: plays end users, shows what they would see.
// Talks only to the sandbox: POST /_sandbox/users/... to write as a user, and the live
// feed GET /_sandbox/events (server-sent events) for everything else.
"use strict";

const CONFIG = window.BOTKIT || { channels: {} };
const chats = new Map(); // "channel:user" -> { pane, list, bubbles: Map(uuid -> li), faults, day }
const seen = new Set(); // journal seq numbers already shown
const CLOSED_KEY = "botkit.closed-chats";
// Chats the person closed stay closed across reloads; they remain listed under "Open chats".
const closed = new Set(JSON.parse(localStorage.getItem(CLOSED_KEY) || "[]"));
// Tells the inspector (another tab of this origin) which chat is in use.
const inUse = "BroadcastChannel" in window ? new BroadcastChannel("botkit-chat-in-use") : null;

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
};

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      headers: { "Content-Type": "application/json" },
      ...options,
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
  } catch (error) {
    throw new Error(`The sandbox did not answer (${error.message}): is botkit dev still running?`);
  }
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text.slice(0, 200) };
  }
  if (!response.ok) {
    const reason = data.detail || data.error || data.message || data.title || response.statusText;
    throw new Error(`${response.status}: ${typeof reason === "string" ? reason : JSON.stringify(reason)}`);
  }
  return data;
}

// --- the banner: what went wrong outside any one chat ----------------------------------------

function banner(text, kind = "error", id = "general") {
  const box = $("#banner");
  let line = box.querySelector(`[data-id="${CSS.escape(id)}"]`);
  if (!text) {
    line?.remove();
    box.hidden = !box.children.length;
    return;
  }
  if (!line) {
    line = el("div", { "data-id": id });
    box.append(line);
  }
  line.className = `banner-line ${kind}`;
  line.textContent = text;
  box.hidden = false;
}

// --- the new-chat form ---------------------------------------------------------------------

function channelInfo(channel) {
  return CONFIG.channels[channel] || { label: channel, user_kind: "number", default_user: "" };
}

function syncForm() {
  const info = channelInfo($("#channel-select").value);
  const psid = info.user_kind === "id";
  $("#user-label").textContent = psid ? "Page-scoped id (PSID)" : "Phone number";
  $("#user-input").value = info.default_user || "";
  $("#user-hint").textContent = psid
    ? "Messenger users are page-scoped ids; the bot may only write to users who wrote first."
    : "E.164 digits, without + or 00.";
}

// --- panes -----------------------------------------------------------------------------------

function keyOf(channel, user) {
  return `${channel}:${user}`;
}

function listEntry(channel, user) {
  const key = keyOf(channel, user);
  let entry = document.querySelector(`#chat-list li[data-key="${CSS.escape(key)}"]`);
  if (!entry) {
    const info = channelInfo(channel);
    entry = el("li", { "data-key": key },
      el("button", { type: "button", class: "chat-entry", title: "Show this chat",
        onclick: () => openChat(channel, user) },
        el("span", { class: `badge ch-${channel}`, text: info.label }), ` ${user}`));
    $("#chat-list").append(entry);
  }
  entry.classList.toggle("closed", !chats.has(key));
  return entry;
}

function remember() {
  localStorage.setItem(CLOSED_KEY, JSON.stringify([...closed]));
}

function announce(channel, user) {
  inUse?.postMessage({ channel, user });
}

async function openChat(channel, user, { focus = true } = {}) {
  const key = keyOf(channel, user);
  if (closed.delete(key)) remember();
  if (chats.has(key)) {
    const chat = chats.get(key);
    if (focus) {
      chat.pane.scrollIntoView({ block: "nearest" });
      $(".compose-text", chat.pane).focus();
    }
    return chat;
  }
  const info = channelInfo(channel);
  const pane = $("#pane-template").content.firstElementChild.cloneNode(true);
  pane.dataset.channel = channel;
  pane.dataset.user = user;
  $(".badge", pane).textContent = info.label;
  $(".badge", pane).classList.add(`ch-${channel}`);
  $(".who", pane).textContent = user;
  $(".who", pane).title = user;
  if (!info.location) $(".share-location", pane).remove();
  const chat = { pane, list: $(".messages", pane), bubbles: new Map(), faults: {}, pending: [], day: null, notes: new Map() };
  chats.set(key, chat);
  $("#panes").append(pane);
  listEntry(channel, user).classList.remove("unread");
  pane.addEventListener("focusin", () => announce(channel, user));

  $(".composer", pane).addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $(".compose-text", pane);
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(channel, user, { text }).catch((error) => note(chat, error.message, "error"));
  });
  const locate = $(".share-location", pane);
  if (locate) {
    locate.addEventListener("click", () =>
      send(channel, user, {
        location: { lat: 51.50135, long: -0.14189, name: "Buckingham Palace", address: "London SW1A 1AA" },
      }).catch((error) => note(chat, error.message, "error")),
    );
  }
  $(".close", pane).addEventListener("click", () => {
    pane.remove();
    chats.delete(key);
    closed.add(key);
    remember();
    listEntry(channel, user);
  });
  $(".offline", pane).addEventListener("change", (event) => setFault(chat, channel, user, "offline", event.target.checked));
  $(".unread", pane).addEventListener("change", (event) => setFault(chat, channel, user, "unread", event.target.checked));

  // Live events that arrive while the history loads wait, so the chat reads in order.
  const history = await api(`/_sandbox/conversations/${channel}/${encodeURIComponent(user)}`).catch((error) => {
    note(chat, `The chat's history did not load: ${error.message}`, "error");
    return null;
  });
  const waiting = chat.pending;
  chat.pending = null;
  for (const item of [...(history?.events || []), ...waiting]) await show(item);
  if (focus) {
    $(".compose-text", pane).focus();
    pane.scrollIntoView({ block: "nearest" });
  }
  return chat;
}

async function send(channel, user, content) {
  announce(channel, user);
  await api(`/_sandbox/users/${channel}/${encodeURIComponent(user)}/messages`, { method: "POST", body: content });
}

const FAULT_NOTES = {
  offline: ["The phone is off: messages wait at one tick until it is back.", "The phone is back on."],
  unread: ["The user leaves messages unread: they stay delivered, never read.", "The user reads messages again."],
};

async function setFault(chat, channel, user, kind, on) {
  try {
    if (on) {
      const fault = await api("/_sandbox/faults", { method: "POST", body: { kind, channel, user } });
      chat.faults[kind] = fault.id;
      note(chat, FAULT_NOTES[kind][0]);
    } else if (chat.faults[kind]) {
      await api(`/_sandbox/faults/${chat.faults[kind]}`, { method: "DELETE" });
      delete chat.faults[kind];
      note(chat, FAULT_NOTES[kind][1]);
    }
  } catch (error) {
    note(chat, error.message, "error");
  }
}

function note(chat, text, kind = "info", id = null) {
  // A note with an id is updated in place (a webhook's later attempts), not repeated.
  let li = id ? chat.notes.get(id) : null;
  if (li) li.textContent = text;
  else {
    li = el("li", { class: `note ${kind}`, text, role: kind === "error" ? "alert" : "status" });
    chat.list.append(li);
    if (id) chat.notes.set(id, li);
  }
  li.className = `note ${kind}`;
  chat.list.scrollTop = chat.list.scrollHeight;
}

// --- rendering what the user sees ------------------------------------------------------------

function ticks(status) {
  const marks = { submitted: "✓", delivered: "✓✓", read: "✓✓", rejected: "!", undeliverable: "!" };
  return el("span", { class: `ticks ${status}`, title: status, text: marks[status] || "" });
}

function media(content) {
  const url = content.url;
  const caption = content.caption ? el("div", { class: "caption", text: content.caption }) : null;
  if (content.type === "image" || content.type === "sticker") {
    return el("figure", {}, el("img", { src: url, alt: content.caption || content.type, loading: "lazy" }), caption);
  }
  if (content.type === "audio") return el("div", {}, el("audio", { src: url, controls: "" }), caption);
  if (content.type === "video") return el("div", {}, el("video", { src: url, controls: "", width: "220" }), caption);
  const name = content.name || url.split("/").pop();
  return el("div", { class: "file" }, el("a", { href: url, target: "_blank", text: `📄 ${name}` }), caption);
}

function interactive(chat, custom) {
  const box = el("div", { class: "interactive" });
  const inner = custom.interactive || {};
  if (inner.header?.image?.link) box.append(el("img", { src: inner.header.image.link, alt: "" }));
  box.append(el("div", { class: "text", text: inner.body?.text || "" }));
  const action = inner.action || {};
  const pick = (id, title) =>
    send(chat.pane.dataset.channel, chat.pane.dataset.user, { reply: { id, title } })
      .catch((error) => note(chat, error.message, "error"));
  if (action.buttons) {
    const row = el("div", { class: "buttons" });
    for (const button of action.buttons) {
      const { id, title } = button.reply || {};
      row.append(el("button", { type: "button", class: "choice", text: title, onclick: () => pick(id, title) }));
    }
    box.append(row);
  }
  for (const section of action.sections || []) {
    const list = el("div", { class: "list" });
    if (section.title) list.append(el("div", { class: "section", text: section.title }));
    for (const row of section.rows || []) {
      list.append(
        el("button", { type: "button", class: "choice row", onclick: () => pick(row.id, row.title) },
          el("strong", { text: row.title }), row.description ? el("small", { text: row.description }) : null),
      );
    }
    box.append(el("div", { class: "list-title", text: action.button || "Choose" }), list);
  }
  return box;
}

function template(content) {
  const params = (content.parameters || []).map(String);
  const text = el("div", { class: "text template-text", text: "…" });
  const box = el("div", { class: "template" },
    el("div", { class: "template-name", text: `Template · ${content.name} · ${content.locale || ""}` }),
    text,
    el("div", { class: "template-params", text: params.length ? `Parameters: ${params.map((p, i) => `{{${i + 1}}} = ${p}`).join(", ")}` : "(no parameters)" }));
  // The bot's templates map its own messages to templates: show the message it stands for.
  const query = params.map((p) => `parameter=${encodeURIComponent(p)}`).join("&");
  api(`${CONFIG.inspector_api || "/_botkit"}/templates/${encodeURIComponent(content.name)}?${query}`)
    .then((found) => { text.textContent = found.text; })
    .catch(() => { text.textContent = "(the bot declares no text for this template)"; text.classList.add("unknown"); });
  return box;
}

function body(chat, content) {
  switch (content.type) {
    case "text":
      return el("div", { class: "text", text: content.text });
    case "template":
      return template(content);
    case "custom":
      return content.custom?.type === "interactive" ? interactive(chat, content.custom) : el("pre", { text: JSON.stringify(content.custom, null, 2) });
    case "location": {
      const where = `${content.lat},${content.long}`;
      return el("div", { class: "location" },
        el("a", { href: `https://maps.google.com/?q=${where}`, target: "_blank", text: `📍 ${content.name || where}` }),
        content.address ? el("div", { class: "caption", text: content.address }) : null);
    }
    case "reply":
      return el("div", { class: "text", text: `↩ ${content.title}` });
    case "button":
      return el("div", { class: "text", text: `↩ ${content.text || content.payload}` });
    case "vcard":
    case "contact":
      return el("a", { href: content.url, target: "_blank", text: "👤 contact card" });
    case "reaction":
      return el("div", { class: "text", text: content.emoji || "(reaction removed)" });
    default:
      return content.url ? media(content) : el("pre", { text: JSON.stringify(content) });
  }
}

function dayOf(at) {
  const day = new Date(at.slice(0, 10) + "T00:00:00Z");
  return day.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

function bubble(chat, event, direction) {
  const at = event.at || "";
  if (at && at.slice(0, 10) !== chat.day) {
    chat.day = at.slice(0, 10);
    chat.list.append(el("li", { class: "day", "data-day": chat.day, text: dayOf(at) }));
  }
  const li = el("li", { class: `bubble ${direction}`, "data-uuid": event.message_uuid || "" });
  li.append(body(chat, event.message || {}));
  const meta = el("div", { class: "meta" },
    el("time", { datetime: at, title: at.replace("T", " ").slice(0, 19) + " UTC", text: at.slice(11, 16) }));
  if (direction === "outbound") meta.append(ticks("none"));
  li.append(meta);
  chat.list.append(li);
  if (event.message_uuid) chat.bubbles.set(event.message_uuid, li);
  chat.list.scrollTop = chat.list.scrollHeight;
}

function status(chat, event) {
  const li = chat.bubbles.get(event.message_uuid);
  if (!li) return;
  const order = ["none", "submitted", "delivered", "read"];
  const current = li.dataset.status || "none";
  const next = event.status;
  if (next === "rejected" || next === "undeliverable") {
    li.dataset.status = next;
    li.classList.add("failed");
    const error = event.error || {};
    li.append(el("div", { class: "error", text: `Not delivered (${next}): ${[error.code, error.reason || error.title].filter(Boolean).join(" ")}` }));
  } else if (order.indexOf(next) > order.indexOf(current)) {
    li.dataset.status = next;
  } else {
    return;
  }
  $(".ticks", li)?.replaceWith(ticks(li.dataset.status));
}

// The header clock ticks on its own between the sandbox's answers: the sandbox's time when last
// told, plus the time since on this page.
const clock = { at: null, since: 0 };

function tick() {
  if (clock.at === null) return;
  const now = new Date(clock.at + (performance.now() - clock.since));
  $("#clock-time").textContent = now.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function showClock(event) {
  const time = event.now || event.at;
  if (time) {
    clock.at = Date.parse(time);
    clock.since = performance.now();
    tick();
  }
  const offset = event.offset_seconds ?? event.offset;
  if (offset !== undefined) $("#clock-offset").textContent = offset ? `(+${(offset / 3600).toFixed(offset % 3600 ? 1 : 0)} h)` : "";
}

async function show(event) {
  const waiting = event.channel && chats.get(keyOf(event.channel, event.user))?.pending;
  if (waiting) {
    waiting.push(event);
    return;
  }
  if (event.seq && seen.has(event.seq)) return;
  if (event.seq) seen.add(event.seq);
  if (event.kind === "reload") {
    if (event.ok) {
      banner(null, "error", "reload");
      banner(`The bot reloaded at ${(event.at || "").slice(11, 19)}.`, "info", "reloaded");
    } else {
      banner(null, "info", "reloaded");
      banner(`The bot did not reload: ${event.error}. It still runs the last version that loaded; fix the file and save again.`, "error", "reload");
    }
    return;
  }
  if (event.kind === "clock") {
    showClock(event);
    const seconds = event.advanced_seconds || 0;
    const moved = seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 360) / 10} h`;
    for (const chat of chats.values()) note(chat, `Time moved forward ${moved}.`);
    return;
  }
  if (!event.channel || !event.user) return;
  const key = keyOf(event.channel, event.user);
  let chat = chats.get(key);
  if (!chat) {
    if (event.kind !== "outbound" && event.kind !== "inbound") return;
    seen.delete(event.seq); // shown again as part of the history
    if (closed.has(key)) listEntry(event.channel, event.user).classList.add("unread");
    else await openChat(event.channel, event.user, { focus: false });
    return;
  }
  if (event.kind === "inbound") bubble(chat, event, "inbound");
  else if (event.kind === "outbound") bubble(chat, event, "outbound");
  else if (event.kind === "status") status(chat, event);
  else if (event.kind === "rejected") {
    const problem = event.problem || {};
    note(chat, `The provider refused a message (${event.http_status} ${problem.title || ""}): ${problem.detail || ""}`, "error");
  } else if (event.kind === "webhook" && event.error) {
    const what = event.webhook === "inbound" ? "this message" : `a ${event.webhook} report`;
    const answer = event.response_status ? `The bot answered ${event.response_status}` : `The bot could not be reached (${event.error})`;
    note(chat, `${answer} to the webhook for ${what} (attempt ${event.attempt}); the sandbox tries again as Vonage would.`, "error", `webhook:${event.webhook}:${event.message_uuid}`);
  } else if (event.kind === "webhook" && event.attempt > 1) {
    note(chat, `The bot took the webhook at attempt ${event.attempt}.`, "info", `webhook:${event.webhook}:${event.message_uuid}`);
  } else if (event.kind === "fault" && event.action === "applied") {
    note(chat, `Fault applied: ${event.fault?.kind}.`);
  }
}

// --- start -----------------------------------------------------------------------------------

async function start() {
  $("#bot-name").textContent = CONFIG.bot_name ? `· ${CONFIG.bot_name}` : "";
  if (CONFIG.inspector_url) $("#inspector-link").href = CONFIG.inspector_url;
  syncForm();
  $("#channel-select").addEventListener("change", syncForm);
  $("#new-chat").addEventListener("submit", (event) => {
    event.preventDefault();
    const channel = $("#channel-select").value;
    const user = $("#user-input").value.trim();
    if (user) openChat(channel, user);
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () =>
      api("/_sandbox/clock", { method: "POST", body: { advance_seconds: Number(button.dataset.advance) } })
        .then(showClock)
        .catch((error) => banner(`The clock did not move: ${error.message}`, "error", "clock")));
  }
  showClock(await api("/_sandbox/clock"));
  setInterval(tick, 1000);
  const overview = await api("/_sandbox/conversations");
  for (const c of overview.conversations || []) {
    if (closed.has(keyOf(c.channel, c.user))) listEntry(c.channel, c.user);
    else await openChat(c.channel, c.user, { focus: false });
  }
  const feed = new EventSource(`/_sandbox/events?since=${overview.last_seq ?? ""}`);
  feed.onmessage = (message) => show(JSON.parse(message.data));
  feed.onerror = () => banner("Lost the sandbox's live feed: reconnecting…", "error", "feed");
  feed.onopen = () => banner(null, "error", "feed");
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  banner(`The chat did not load: ${error.message}. Reload the page once botkit dev runs (open the link it prints).`);
});
