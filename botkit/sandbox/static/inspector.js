// The inspector: what the bot thinks. Reads the bot's own inspector API, which the sandbox
// passes on under /_botkit/ (same origin, same token cookie), and redraws when the sandbox's
// live feed says something happened. It follows the chat in use (the latest conversation with
// activity, or the one the web chat says it is typing in) until a conversation is picked.
"use strict";

const CONFIG = window.BOTKIT || {};
const BOT = CONFIG.inspector_api || "/_botkit";
const RETRY_MS = 2000;
let selected = null;
let conversations = [];
let drawn = "";
let renders = 0;

const $ = (selector) => document.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
};

class Unavailable extends Error {}

async function get(path) {
  let response;
  try {
    response = await fetch(BOT + path);
  } catch (error) {
    throw new Unavailable(`The sandbox did not answer (${error.message}): is botkit dev still running?`);
  }
  if (response.ok) return response.json();
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (response.status === 503) throw new Unavailable(`The bot's store is unreachable (is Redis down?): ${answer.message || "no answer"}.`);
  if (response.status === 502) throw new Unavailable(`The bot is not answering: ${answer.message || "no answer"}.`);
  throw new Error(`${response.status}: ${answer.message || answer.error || response.statusText}`);
}

function banner(text) {
  $("#banner").replaceChildren(...(text ? [el("div", { class: "banner-line error", text })] : []));
  $("#banner").hidden = !text;
  document.body.dataset.trouble = text ? "true" : "false";
}

function when(seconds, full = true) {
  if (!seconds) return "–";
  const text = new Date(seconds * 1000).toISOString().replace("T", " ");
  return full ? text.slice(0, 19) + " UTC" : text.slice(11, 19);
}

async function drawDiagram(text) {
  if (text === drawn) return;
  drawn = text;
  const { svg } = await window.mermaid.render(`machine-${++renders}`, text);
  $("#diagram").innerHTML = svg;
  document.body.dataset.diagramState = selected ? $("#state").textContent : "";
}

function windowText(conversation) {
  const w = conversation.window || {};
  if (!w.applies) return `${conversation.channel} has no reply window: the bot may write at any time.`;
  if (!conversation.last_inbound_at) return "The user has not written yet: only what goes outside the window may be sent.";
  const outside = w.outside === "template" ? "only approved templates go" : "only messages with a message tag go";
  return w.open
    ? `Open until ${when(w.until)}: free-form replies allowed (${w.hours} h after the user's last message, ${when(conversation.last_inbound_at)}).`
    : `Closed since ${when(w.closed_since)}: ${outside} until the user writes again.`;
}

function turnRow(turn) {
  const trigger = turn.triggers.length ? ` · trigger ${turn.triggers.join(", ")}` : "";
  const change = turn.state_before === turn.state_after ? `stays ${turn.state_after}` : `${turn.state_before} → ${turn.state_after}`;
  const handler = turn.handler ? `${turn.handler}()` : "no handler";
  const bot = el("td", {},
    el("div", { class: "handler", text: `${handler}${trigger}` }),
    el("div", { class: "change", text: `${change} · ${turn.outcome} · ${turn.duration_ms} ms` }));
  if (turn.error) bot.append(el("div", { class: "status-rejected", text: turn.error }));
  if (turn.notes.length) bot.append(el("ul", { class: "notes" }, ...turn.notes.map((n) => el("li", { text: n }))));
  const who = turn.kind === "message" ? "user ›" : turn.kind;
  return el("tr", { class: `turn ${turn.kind}` },
    el("td", { text: when(turn.at, false) }),
    el("td", {}, el("span", { class: "who", text: who }), ` ${turn.event}`),
    bot,
    el("td", { text: "" }));
}

function sentRow(message) {
  const history = message.history.map((h) => h.original + (h.error ? ` (${h.error.code ?? ""} ${h.error.title})` : "")).join(" → ");
  return el("tr", { class: "sent" },
    el("td", { text: when(message.sent_at, false) }),
    el("td", {}, el("span", { class: "who", text: "bot ›" }), ` ${message.summary}`),
    el("td", { class: "empty", text: history || "–" }),
    el("td", { class: `status-${message.status}`, text: message.status }));
}

function failoverItem(failover) {
  const ended = failover.ended_at === null
    ? "in progress"
    : failover.channel ? `reached on ${failover.channel} (${when(failover.ended_at, false)})` : "reached nobody";
  const steps = failover.steps.map((step) => {
    const error = step.error ? ` (${step.error.code ?? ""} ${step.error.title})` : "";
    return el("li", { class: `step status-${step.status || "none"}`, "data-channel": step.channel },
      el("strong", { text: step.channel }),
      ` · ${step.status || "not sent"}${error}`,
      step.reason ? el("span", { class: "empty", text: ` · ${step.reason}` }) : null);
  });
  return el("li", { class: "failover", "data-id": failover.id },
    el("div", { text: `“${failover.summary}” · ${ended}` }),
    el("ol", { class: "steps" }, ...steps));
}

async function showConversation(key) {
  const conversation = await get(`/conversations/${encodeURIComponent(key)}`);
  $("#where").textContent = `· ${conversation.channel} ${conversation.user}`;
  $("#state").textContent = conversation.state;
  $("#revision").textContent = conversation.revision;
  $("#data").textContent = JSON.stringify(conversation.data, null, 2);
  $("#window").textContent = windowText(conversation);
  $("#window").dataset.open = String(Boolean(conversation.window?.open));
  const timers = conversation.timers || [];
  $("#timers").replaceChildren(...timers.map((t) => el("li", { text: `${t.name} · due ${when(t.due_at)}` })));
  $("#no-timers").hidden = timers.length > 0;
  const failovers = conversation.failovers || [];
  $("#failovers").replaceChildren(...failovers.map(failoverItem));
  $("#no-failovers").hidden = failovers.length > 0;
  const rows = conversation.timeline.map((item) => (item.entry === "turn" ? turnRow(item) : sentRow(item)));
  $("#timeline").replaceChildren(...rows);
  await drawDiagram(conversation.mermaid);
}

function pick(key) {
  selected = key;
  $("#follow").checked = false;
  refresh().catch(trouble);
}

async function refresh() {
  ({ conversations } = await get("/conversations"));
  $("#no-conversations").hidden = conversations.length > 0;
  if ($("#follow").checked || !conversations.some((c) => c.key === selected)) {
    const inUse = followed && conversations.find((c) => c.channel === followed.channel && c.user === followed.user);
    const latest = conversations.reduce((best, c) => (best && best.active_at >= c.active_at ? best : c), null);
    selected = (inUse || latest)?.key ?? null;
  }
  const list = conversations.map((c) => {
    const li = el("li", { "data-key": c.key },
      el("strong", { text: `${c.channel} · ${c.user}` }),
      el("span", { class: "state" }, "state ", el("span", { class: "state-name", text: c.state }), ` · ${c.revision} events`));
    li.classList.toggle("selected", c.key === selected);
    li.addEventListener("click", () => pick(c.key));
    return li;
  });
  $("#conversations").replaceChildren(...list);
  if (selected) await showConversation(selected);
  else if (!drawn) await drawDiagram((await get("/bot")).mermaid);
  banner(null);
}

// The chat in use: the conversation of the feed's latest message, or the one the web chat (another
// tab of this origin) says the person is typing in.
let followed = null;

// --- refreshing, and recovering after trouble ------------------------------------------------

let pending = null;
function soon(delay = 150) {
  // Bursts of feed events cause one refresh; trouble retries every RETRY_MS until it clears.
  clearTimeout(pending);
  pending = setTimeout(() => refresh().catch(trouble), delay);
}

function say(error) {
  banner(error instanceof Unavailable ? `${error.message} Retrying every ${RETRY_MS / 1000} s…` : `The inspector failed: ${error.message}`);
}

function trouble(error) {
  say(error);
  soon(RETRY_MS);
}

async function start() {
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  $("#follow").addEventListener("change", () => soon(0));
  const feed = new EventSource("/_sandbox/events");
  feed.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.channel && event.user && (event.kind === "inbound" || event.kind === "outbound")) {
      followed = { channel: event.channel, user: event.user };
    }
    soon();
  };
  if ("BroadcastChannel" in window) {
    new BroadcastChannel("botkit-chat-in-use").onmessage = ({ data }) => {
      followed = { channel: data.channel, user: data.user };
      soon(0);
    };
  }
  for (;;) {
    try {
      const bot = await get("/bot");
      $("#bot-name").textContent = `· ${bot.name}`;
      await refresh();
      break;
    } catch (error) {
      say(error);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  setInterval(() => soon(), 5000);
  document.body.dataset.ready = "true";
}

start();
