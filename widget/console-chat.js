// @ts-check
// The agent console's open conversation: its header (who, where it stands, why the bot let
// go), the actions on it (claim, transfer, hand back, close, followed up) and what the server
// refused, the transcript, and the views of a narrow screen (a phone shows the chats, the
// conversation or the visitor; console.html's media query).
import { $, el, reasonText } from "./common.js";
import { renderLists } from "./console-lists.js";
import { conv, inOrder, isMine, markRead, offlineMessage, save, saveOutbox, send, state, who } from "./console-state.js";
import { renderEvent } from "./console-transcript.js";
import { renderVisitor } from "./console-visitor.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["AgentFrame"]} ConsoleFrame */
/** @typedef {import("./console-state.js").Conv} Conv */
/** @typedef {import("./console-state.js").Pending} Pending */

/** The lists, with entries that open their conversation here. */
export function refreshLists() { renderLists(openConv); }

// ---- views ----
const viewButtons = /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#views button"));
/** @param {string} view */
function showView(view) {
  $("main").dataset.view = view;
  viewButtons.forEach(b => {
    b.setAttribute("aria-pressed", String(b.dataset.view === view));
    if (b.dataset.view !== "list") b.disabled = !state.current;
  });
}

/** Opens conversation `id`: asks the server for what this page has not seen yet. @param {string} id */
export function openConv(id) {
  if (state.current !== id) $("email-said").textContent = "";
  state.current = id;
  const c = conv(id);
  c.unread = 0;
  markRead(c);
  save("open", id);
  c.asked = "open";
  send({ type: "open", conversation: id, last_seq: c.lastSeq });
  // A new chat starts from the usual resolution, not the last chat's choice.
  $("resolution").value = "solved";
  renderChat();
  refreshLists();
  showView("chat");
  $("text").focus();
}

/** Where a conversation stands, in words (not the protocol's state names).
 * @param {Partial<NonNullable<Conv["header"]>>} h */
function stateText(h) {
  const agent = h.agent && state.team.find(a => a.id === h.agent);
  return h.state === "bot" ? (h.needs_follow_up ? "left a message" : "with the bot")
    : h.state === "queued" ? "waiting for a person"
    : h.state === "assigned" ? (isMine(h.conversation || "") || (state.me && h.agent === state.me.id) ? "with you" : `with ${agent ? agent.name : "an agent"}`)
    : h.state === "closed" ? "closed" : "";
}

/** The transfer menu's options: each option's target as the frame says it. */
/** @type {Map<string, Record<string, string>>} */
const transferTargets = new Map();

/** The open conversation (or the placeholder when none is open). */
export function renderChat() {
  const { current } = state;
  const c = current ? conv(current) : null;
  ["top", "log", "composer"].forEach(x => { $(x).classList.toggle("hidden", !c); });
  $("placeholder").classList.toggle("hidden", !!c);
  if (!c) { showView("list"); return; }
  /** @type {Partial<NonNullable<Conv["header"]>>} */
  const h = c.header || {};
  // A live chat (waiting or with an agent) is about what the visitor asks now, whatever they
  // left as an offline message before.
  const live = h.state === "queued" || h.state === "assigned";
  const offline = live ? null : offlineMessage(c);
  const known = Object.assign({}, h.visitor || {});
  if (!known.email && offline) known.email = offline.email;
  $("title").textContent = `${who(known)} · ${stateText(h)}`;
  const why = $("why"); why.innerHTML = "";
  // With e-mail set up, the answer is written here: kept in the transcript and mailed.
  const byMail = Boolean(offline && state.email);
  $("email-reply").classList.toggle("hidden", !byMail);
  if (byMail && offline) {
    why.textContent = "Offline message · answer it below: it is e-mailed and kept in the transcript";
    $("email-label").textContent = `Reply by e-mail to ${offline.email}`;
  } else if (offline) {
    // An offline message: what to do is write back.
    const mail = el("a", null, offline.email); mail.href = `mailto:${offline.email}`;
    why.append("Offline message · reply by e-mail to ", mail, " (this server does not send e-mail)");
  } else if (h.reason) {
    why.textContent = `Why the bot let go: ${reasonText(h.reason.kind, h.reason.id)}${(h.frustration ?? 0) > 0 ? ` · frustration ${Number(h.frustration).toFixed(2)}` : ""}`;
  }
  const queued = h.state === "queued";
  const owned = isMine(current);
  $("claim").classList.toggle("hidden", !queued);
  ["transfer", "dotransfer", "handback", "resolution", "close"].forEach(x => { $(x).classList.toggle("hidden", !owned); });
  $("followed").classList.toggle("hidden", !h.needs_follow_up || live);
  const text = $("text");
  text.placeholder = owned ? "Reply… (Enter sends, Shift+Enter for a new line, / for canned replies)"
    : offline ? "Internal note (the visitor is not in a chat: write to them by e-mail, above)"
    : queued ? "Claim this chat to reply, or write an internal note"
    : "Internal note (nobody has this chat: it is with the bot or closed)";
  // Where nobody can claim the chat, only a note can be written here: say so on the switch.
  // (Only once the chat's state is known; the switch is given back as it was when it can be
  // used again.)
  const notesOnly = !owned && !queued && Boolean(h.state);
  const asnote = /** @type {HTMLInputElement} */ ($("asnote"));
  if (notesOnly && !asnote.disabled) { asnote.dataset.was = String(asnote.checked); asnote.checked = true; }
  if (!notesOnly && asnote.disabled) asnote.checked = asnote.dataset.was === "true";
  asnote.disabled = notesOnly;
  $("composer").classList.toggle("note", asnote.checked);
  const t = $("transfer"); t.innerHTML = "";
  t.appendChild(new Option("Transfer to…", ""));
  transferTargets.clear();
  /** @param {string} label @param {string} key @param {Record<string, string>} target */
  const target = (label, key, target) => { transferTargets.set(key, target); t.appendChild(new Option(label, key)); };
  target("Back to the queue (anyone)", "queue", {});
  $("dotransfer").disabled = true;
  state.team.filter(a => state.me && a.id !== state.me.id).forEach(a => {
    target(`${a.name} (${a.presence}, ${a.chats}/${a.capacity})`, `agent:${a.id}`, { agent: a.id });
  });
  const teams = {};
  state.team.forEach(a => { a.teams.forEach(x => { teams[x] = 1; }); });
  Object.keys(teams).forEach(x => { target(`Team ${x}`, `team:${x}`, { team: x }); });
  const log = $("log"); log.innerHTML = "";
  inOrder(c).forEach(e => { log.appendChild(renderEvent(e, c)); });
  state.outbox.filter(o => o.conversation === current).forEach(o => {
    log.appendChild(o.refused ? refusedWriting(o) : el("div", `ev pending ${o.type === "note" ? "note" : "agent"}`));
    if (!o.refused) log.lastChild.append(el("div", "who", "sending…"), el("div", "body", o.text));
  });
  log.scrollTop = log.scrollHeight;
  const r = $("refusals"); r.innerHTML = "";
  c.refused.forEach((x, i) => {
    const box = el("div", "refusal");
    box.setAttribute("role", "alert");
    box.appendChild(el("span", null, `${x.what}: ${x.message}`));
    box.appendChild(dismiss(() => { c.refused.splice(i, 1); renderChat(); }));
    r.appendChild(box);
  });
  renderVisitor(c, offline, openConv);
}

/** @param {() => void} then */
function dismiss(then) {
  const b = el("button", "dismiss", "Dismiss"); b.type = "button"; b.onclick = then;
  return b;
}
/** A reply or note the server refused: its text, why, and a way to write it again. @param {Pending} o */
function refusedWriting(o) {
  const d = el("div", `ev refused ${o.type === "note" ? "note" : "agent"}`);
  d.setAttribute("role", "alert");
  d.appendChild(el("div", "who", `${o.type === "note" ? "Note" : "Reply"} not sent: ${o.refused}`));
  d.appendChild(el("div", "body", o.text));
  const again = el("button", null, "Edit again"); again.type = "button";
  const forget = () => { state.outbox = state.outbox.filter(x => x !== o); saveOutbox(); renderChat(); };
  again.onclick = () => { const text = $("text"); text.value = o.text; forget(); text.focus(); };
  const row = el("div", "fix"); row.append(again, dismiss(forget));
  d.appendChild(row);
  return d;
}

/** What the server refused, in the words of the action asked. */
const ASKED = {
  claim: "Not claimed", hand_back: "Not handed back", close: "Not closed", transfer: "Not transferred",
  followed_up: "Not marked as followed up", open: "Cannot open this conversation",
  email_reply: "Not sent by e-mail"
};
/**
 * A refusal from the server, shown on what it concerns: the reply, the conversation, or the
 * page.
 * @param {Extract<Schemas["AgentServerFrame"], { type: "error" }>} f
 */
export function refused(f) {
  const o = f.client_id && state.outbox.find(x => x.client_id === f.client_id);
  if (o) {
    o.refused = f.message; saveOutbox();
  } else if (f.conversation) {
    const c = conv(f.conversation);
    if (c.asked === "open" && f.code === "not_found") {
      // The chat open before a reload is gone (erased): open nothing.
      if (state.current === c.id) { state.current = null; save("open", null); renderChat(); }
      return;
    }
    c.refused.push({ what: ASKED[c.asked || ""] || "Refused", message: f.message });
  } else {
    const box = $("alerts");
    const line = el("div", "refusal");
    line.setAttribute("role", "alert");
    line.append(el("span", null, f.message), dismiss(() => { line.remove(); }));
    box.appendChild(line);
    return;
  }
  if (f.conversation === state.current) renderChat();
}

/**
 * An action on the open conversation (remembered, to name a refusal).
 * @param {ConsoleFrame["type"]} type
 * @param {Record<string, string>} [extra]
 */
export function act(type, extra) {
  const { current } = state;
  if (!current) return;
  if (type !== "typing") conv(current).asked = type;
  send(/** @type {ConsoleFrame} */ ({ type, conversation: current, ...extra }));
}

/** The buttons of the header and the view switch. */
export function wireChat() {
  viewButtons.forEach(b => { b.onclick = () => showView(b.dataset.view || "list"); });
  $("claim").onclick = () => { act("claim"); };
  $("email-reply").addEventListener("submit", (/** @type {Event} */ ev) => {
    ev.preventDefault();
    const text = $("email-text").value.trim();
    if (!text) { $("email-said").textContent = "Write the answer first."; return; }
    if (!state.current) return;
    act("email_reply", { text, client_id: `mail-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` });
    $("email-text").value = "";
    $("email-said").textContent = "Sent: it is in the transcript and on its way by e-mail.";
    // Answered is followed up (the server marks it so).
    const h = conv(state.current).header;
    if (h) h.needs_follow_up = false;
    renderChat();
  });
  $("handback").onclick = () => { act("hand_back"); };
  $("close").onclick = () => { act("close", { resolution: $("resolution").value }); };
  // Done at once on screen (the list updates when the server confirms; a refusal is shown).
  $("followed").onclick = () => {
    if (!state.current) return;
    act("followed_up");
    const h = conv(state.current).header;
    if (h) h.needs_follow_up = false;
    renderChat();
  };
  // Choosing a target arms the button; the button transfers (a stray selection does nothing).
  $("transfer").onchange = function () { $("dotransfer").disabled = !this.value; };
  $("dotransfer").onclick = function () {
    const v = $("transfer").value; if (!v) return;
    act("transfer", transferTargets.get(v));
    $("transfer").value = ""; this.disabled = true;
  };
}
