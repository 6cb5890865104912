// The inspector: what the bot thinks. Reads the bot's own inspector API, which the sandbox
// passes on under /_botkit/ (same origin, same token cookie), and redraws when the sandbox's
// live feed says something happened.
"use strict";

const CONFIG = window.BOTKIT || {};
const BOT = CONFIG.inspector_api || "/_botkit";
let selected = null;
let drawn = "";
let renders = 0;

const $ = (selector) => document.querySelector(selector);

async function get(path) {
  const response = await fetch(BOT + path);
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

function when(seconds) {
  if (!seconds) return "–";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

async function drawDiagram(text) {
  if (text === drawn) return;
  drawn = text;
  const { svg } = await window.mermaid.render(`machine-${++renders}`, text);
  $("#diagram").innerHTML = svg;
  document.body.dataset.diagramState = selected ? $("#state").textContent : "";
}

async function showConversation(key) {
  const conversation = await get(`/conversations/${encodeURIComponent(key)}`);
  $("#where").textContent = `· ${conversation.channel} ${conversation.user}`;
  $("#state").textContent = conversation.state;
  $("#revision").textContent = conversation.revision;
  $("#data").textContent = JSON.stringify(conversation.data, null, 2);
  const window24 = conversation.channel === "whatsapp" || conversation.channel === "messenger";
  $("#window").textContent = conversation.last_inbound_at
    ? `Last message from the user: ${when(conversation.last_inbound_at)}` +
      (window24 ? " — free-form replies allowed for 24 h after it." : "")
    : "The user has not written yet.";
  const rows = conversation.messages.map((m) => {
    const history = m.history.map((h) => h.original + (h.error ? ` (${h.error.code ?? ""} ${h.error.title})` : "")).join(" → ");
    const row = document.createElement("tr");
    for (const [text, css] of [[when(m.sent_at), ""], [m.summary, ""], [m.status, `status-${m.status}`], [history || "–", ""]]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (css) cell.className = css;
      row.append(cell);
    }
    return row;
  });
  $("#messages").replaceChildren(...rows);
  await drawDiagram(conversation.mermaid);
}

async function refresh() {
  const { conversations } = await get("/conversations");
  $("#no-conversations").hidden = conversations.length > 0;
  const list = conversations.map((c) => {
    const li = document.createElement("li");
    li.dataset.key = c.key;
    li.innerHTML = `<strong></strong><span class="state">state <span class="state-name"></span> · ${c.revision} events</span>`;
    li.querySelector("strong").textContent = `${c.channel} · ${c.user}`;
    li.querySelector(".state-name").textContent = c.state;
    li.classList.toggle("selected", c.key === selected);
    li.addEventListener("click", () => {
      selected = c.key;
      refresh();
    });
    return li;
  });
  $("#conversations").replaceChildren(...list);
  if (!selected && conversations.length) selected = conversations[0].key;
  if (selected) await showConversation(selected);
  else if (!drawn) {
    const bot = await get("/bot");
    await drawDiagram(bot.mermaid);
  }
}

let pending = null;
function soon() {
  // Bursts of feed events cause one refresh.
  clearTimeout(pending);
  pending = setTimeout(() => refresh().catch(console.error), 150);
}

async function start() {
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  const bot = await get("/bot");
  $("#bot-name").textContent = `· ${bot.name}`;
  await refresh();
  const feed = new EventSource("/_sandbox/events");
  feed.onmessage = soon;
  setInterval(soon, 5000);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  $("#no-conversations").textContent = `The bot's inspector API did not answer: ${error.message}`;
});
