// @ts-check
// What the agent console knows: the signed-in agent, the team, the lists, every conversation
// seen (events by seq, header, refusals), the replies not yet confirmed (the outbox) and what
// was read. The views (console-lists.js, console-chat.js, console-visitor.js) render from it;
// console.js fills it from the socket.

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["AgentServerFrame"]} ServerFrame */
/** @typedef {Schemas["AgentFrame"]} ConsoleFrame */
/** @typedef {Schemas["Event"]} LogEvent */

/**
 * What the console knows of one conversation. `refused`: actions on it the server refused,
 * shown until dismissed; `asked`: the last action asked, to name a refusal.
 * @typedef {{ id: string, events: Record<number, LogEvent>, lastSeq: number, unread: number,
 *   header: Extract<ServerFrame, { type: "conversation" }> | null,
 *   earlier: Schemas["EarlierConversation"][], refused: { what: string, message: string }[],
 *   asked: string | null }} Conv
 */

/**
 * A reply or note sent and not yet confirmed; `refused` is the server's reason once refused.
 * @typedef {Extract<ConsoleFrame, { type: "note" | "reply" }> & { refused?: string }} Pending
 */

export const state = {
  /** @type {Schemas["Colleague"] | null} */
  me: null,
  /** @type {Schemas["CannedReply"][]} */
  canned: [],
  // Seconds an agent has to answer an assigned chat before it goes back to the queue.
  assignTimeout: 0,
  // This server sends e-mail: offline messages are answered from the console.
  email: false,
  /** @type {Schemas["Colleague"][]} */
  team: [],
  /** The open conversation. @type {string | null} */
  current: null,
  /** @type {Schemas["QueueItem"][]} */
  queue: [],
  /** @type {Schemas["ChatItem"][]} */
  mine: [],
  /** @type {Schemas["ChatItem"][]} */
  followUps: [],
  /** @type {Record<string, Conv>} */
  convs: {},
  // Replies and notes not yet confirmed by the server: kept across reloads and resent after
  // every (re)connect with the same client_id, which the server never stores twice. One the
  // server refused keeps its text and the reason (`refused`) until the agent dismisses it.
  /** @type {Pending[]} */
  outbox: [],
  // What this agent has read (the last seq seen, per conversation): a reload counts as unread
  // only what arrived since.
  /** @type {Record<string, number>} */
  read: {},
  /** @type {WebSocket | null} */
  ws: null,
};

/** This agent's own copy of `name` in this browser (private mode: nothing kept). */
export function saved(name, fallback) {
  try { return JSON.parse(localStorage.getItem(`frontdesk:agent-${name}:${state.me?.id}`) ?? "null") ?? fallback; } catch { return fallback; }
}
export function save(name, value) { try { localStorage.setItem(`frontdesk:agent-${name}:${state.me?.id}`, JSON.stringify(value)); } catch { /* private mode */ } }
export function saveOutbox() { save("outbox", state.outbox); }
/** @param {Conv} c */
export function markRead(c) {
  if ((state.read[c.id] || 0) >= c.lastSeq) return;
  state.read[c.id] = c.lastSeq; save("read", state.read);
}

/** @param {string} id @returns {Conv} */
export function conv(id) {
  return state.convs[id] || (state.convs[id] = { id, events: {}, lastSeq: 0, unread: 0, header: null, earlier: [], refused: [], asked: null });
}
/** @param {ConsoleFrame} frame */
export function send(frame) { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(frame)); }

/** A conversation's events received so far, oldest first. @param {Conv} c */
export function inOrder(c) {
  return Object.keys(c.events).map(Number).sort((a, b) => a - b).map(s => c.events[s]);
}
/** The newest of `c`'s events whose kind is one of `kinds`, if any. @param {Conv} c @param {string[]} kinds */
export function latest(c, kinds) {
  const found = inOrder(c).filter(e => kinds.includes(e.kind));
  return found.length ? found[found.length - 1] : null;
}
/** The conversation's last message from the visitor or an agent, if one has arrived. @param {Conv} c */
export function lastMessage(c) { return latest(c, ["visitor_message", "agent_message", "visitor_choice"]); }
/**
 * The conversation's latest offline message ({email, text}), if it has one.
 * @param {Conv} c @returns {Extract<LogEvent, { kind: "offline_message" }> | null}
 */
export function offlineMessage(c) { return /** @type {any} */ (latest(c, ["offline_message"])); }

/** @param {string | null} id */
export function isMine(id) { return state.mine.some(c => c.conversation === id); }
export function who(v) { return (v && (v.name || v.email || v.user_id)) || "Visitor"; }
/** @param {number} ms */
export function ago(ms) { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? `${s} s` : `${Math.round(s / 60)} min`; }
