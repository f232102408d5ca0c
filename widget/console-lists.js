// @ts-check
// The agent console's lists: who waits in the queue, this agent's chats, the offline messages
// to follow up; the badges on each (why, how long, unread, answer due) and the alert for a new
// waiting visitor (sound, title count, browser notification).
import { $, el, languageName } from "./common.js";
import { ago, conv, inOrder, lastMessage, state, who } from "./console-state.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */

/** The badge of a list item: why it waits, in a word (no reason: an offline message). */
const BADGES = {
  visitor_asked: ["asked", "asked"], frustrated: ["frustrated", "frustrated"], repeated_misses: ["misses", "repeated misses"],
  rule: ["rule", "rule"], faq: ["rule", "FAQ"], team: ["rule", "team"], transfer: ["", "transferred"],
  agent_left: ["", "agent left"], not_answered: ["", "not answered"]
};
/** @param {Schemas["Reason"] | null | undefined} reason */
function reasonBadge(reason) {
  if (!reason) return el("span", "badge offline", "offline message");
  const [cls, word] = BADGES[reason.kind];
  return el("span", `badge ${cls}`, reason.id ? `${word}: ${reason.id}` : word);
}

// ---- notifications: sound, title badge, browser notification for new waiting visitors ----
const baseTitle = document.title;
/** @type {string[] | null} */
let knownWaiting = null;
/** @param {Schemas["QueueItem"][]} items */
export function alertNewVisitors(items) {
  const ids = items.map(i => i.conversation);
  if (knownWaiting) {
    const known = knownWaiting;
    const fresh = items.filter(i => !known.includes(i.conversation));
    if (fresh.length) {
      beep();
      if (window.Notification && Notification.permission === "granted" && document.hidden) {
        new Notification("A visitor is waiting", { body: fresh[0].first_message || who(fresh[0].visitor) });
      }
    }
  }
  knownWaiting = ids;
  document.title = (items.length ? `(${items.length}) ` : "") + baseTitle;
}
function beep() {
  try {
    const ctx = new (window.AudioContext || /** @type {any} */ (window).webkitAudioContext)();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = 880;g.gain.value = 0.05;o.connect(g);g.connect(ctx.destination);o.start();o.stop(ctx.currentTime + 0.15);
  } catch (e) { /* no audio: the title badge still shows */ }
}
/** Asks for the browser's permission to notify, on the agent's first click (browsers allow it only then). */
export function askToNotify() {
  if (window.Notification && Notification.permission === "default") {
    document.addEventListener("click", function ask() { Notification.requestPermission(); document.removeEventListener("click", ask); });
  }
}

// How long each waits, kept current between list changes (updated in place: no re-render).
/** @param {number | null | undefined} since */
function waitBadge(since) {
  const b = el("span", "badge wait", since ? ago(since) : "");
  if (since) b.dataset.since = String(since);
  return b;
}
setInterval(() => {
  document.querySelectorAll(/** @type {"span"} */ (".wait[data-since]")).forEach(b => { b.textContent = ago(Number(b.dataset.since)); });
}, 15000);
/**
 * When an assigned chat nobody has answered yet goes back to the queue (ms), if it does: the
 * agent sees it coming instead of the chat silently leaving their list.
 * @param {Schemas["ChatItem"]} c
 */
function answerDue(c) {
  if (c.agent_answered || !c.assigned_at || !state.assignTimeout) return 0;
  const at = c.assigned_at;
  if (inOrder(conv(c.conversation)).some(e => e.kind === "agent_message" && e.at >= at)) return 0;
  return at + state.assignTimeout * 1000;
}
/** @param {number} due */
function dueText(due) {
  const s = Math.max(0, Math.ceil((due - Date.now()) / 1000));
  return s > 0 ? `answer within ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : "going back to the queue";
}
/** @param {number} due */
function dueBadge(due) {
  const b = el("span", "badge due", dueText(due));
  b.dataset.due = String(due);
  b.title = "Not answered yet: write to the visitor before this runs out, or the chat goes back to the queue";
  return b;
}
setInterval(() => {
  document.querySelectorAll(/** @type {"span"} */ (".due[data-due]")).forEach(b => { b.textContent = dueText(Number(b.dataset.due)); });
}, 1000);

/**
 * A list entry that opens its conversation.
 * @param {string} conversation @param {(id: string) => void} open
 */
function entry(conversation, open) {
  const b = el("button", `item${state.current === conversation ? " current" : ""}`);
  b.type = "button"; b.dataset.conversation = conversation;
  b.onclick = () => { open(conversation); };
  return b;
}

/** The three lists, as the state has them; `open` opens a conversation picked in them. @param {(id: string) => void} open */
export function renderLists(open) {
  const { queue, mine, followUps } = state;
  $("qcount").textContent = String(queue.length);
  const q = $("queue"); q.innerHTML = "";
  if (!queue.length) q.appendChild(el("div", "empty", "Nobody is waiting."));
  queue.forEach(i => {
    const b = entry(i.conversation, open);
    const line = el("div", "line"); line.append(el("span", "name", `#${i.position} ${who(i.visitor)}`), reasonBadge(i.reason),
      waitBadge(i.waiting_since));
    b.append(line, el("div", "first", i.first_message || "(no message yet)"));
    if (i.language) b.appendChild(el("div", "first", `in ${languageName(i.language)}`));
    if (i.visitor && i.visitor.page) b.appendChild(el("div", "first", `on ${i.visitor.page}`));
    q.appendChild(b);
  });
  const m = $("mine"); m.innerHTML = "";
  if (!mine.length) m.appendChild(el("div", "empty", "No chats yet."));
  mine.forEach(c => {
    const b = entry(c.conversation, open);
    const line = el("div", "line"); line.append(el("span", "name", who(c.visitor)), reasonBadge(c.reason));
    const u = conv(c.conversation).unread;
    if (u) line.appendChild(el("span", "badge unread", String(u)));
    const due = answerDue(c);
    if (due) line.appendChild(dueBadge(due));
    b.appendChild(line);
    // The last thing said, and when: rows of several "Visitor"s are told apart at a glance.
    const last = lastMessage(conv(c.conversation));
    if (last) {
      const said = "text" in last ? last.text : "title" in last ? last.title : "";
      b.appendChild(el("div", "first", `${new Date(last.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} · ${said}`));
    }
    m.appendChild(b);
  });
  const f = $("followups"); f.innerHTML = "";
  if (!followUps.length) f.appendChild(el("div", "empty", "None."));
  followUps.forEach(c => {
    const b = entry(c.conversation, open);
    // Who left it (their e-mail when they gave no name), when, and what they wrote.
    const left = c.offline_message;
    b.append(el("div", "name", who({ ...c.visitor, email: (c.visitor && c.visitor.email) || (left && left.email) })));
    if (left) {
      b.append(el("div", "first", left.email),
        el("div", "first", `${new Date(left.at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })} · ${left.text}`));
    } else {
      b.append(el("div", "first", "offline message"));
    }
    f.appendChild(b);
  });
}
