// @ts-check
// How a conversation's log reads in the agent console: one element per event (who, when,
// what), the bot's answers with why the bot said them.
import { el, explainLine, reasonText } from "./common.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["Event"]} LogEvent */
/** @typedef {import("./console-state.js").Conv} Conv */

/**
 * A file of conversation `conversation`: an image as a thumbnail that opens full size, anything
 * else as a named link with its size (the console's own origin: the session cookie goes along).
 * @param {string} conversation @param {Schemas["Attachment"]} file
 */
export function fileLink(conversation, file) {
  const url = `/api/files/${encodeURIComponent(conversation)}/${encodeURIComponent(file.id)}`;
  const a = el("a", "file", `${file.name} (${Math.ceil(file.size / 1024)} KB)`);
  a.href = url;
  a.target = "_blank";
  a.rel = "noopener";
  if (file.content_type.startsWith("image/")) {
    const img = el("img", "thumb");
    img.src = url;
    img.alt = file.name;
    a.prepend(img, el("br"));
  }
  return a;
}

/**
 * A line of the transcript: who, when, what.
 * @param {"visitor" | "bot" | "note" | "agent"} cls
 * @param {string} who
 * @param {number} at
 */
function said(cls, who, at) {
  const d = el("div", `ev ${cls}`);
  d.appendChild(el("div", "who", `${who} · ${new Date(at).toLocaleTimeString()}`));
  const body = el("div", "body");
  d.appendChild(body);
  return { d, body };
}

/**
 * How each kind of event reads in the transcript of `c`: a kind missing here fails the type check.
 * @type {{ [K in LogEvent["kind"]]: (e: Extract<LogEvent, { kind: K }>, c: Conv) => HTMLElement }}
 */
const RENDER = {
  // Each with its time: the returns to the queue are the chat's routing history.
  notice({ notice: n, at }) {
    /** @param {Schemas["ReasonKind"]} kind @param {string | null | undefined} id */
    const waiting = (kind, id) => `${kind === "not_answered" || kind === "agent_left" ? "Back in the queue" : "Waiting for a person"}: ${reasonText(kind, id)}`;
    const text = n.notice === "queued" ? waiting(n.reason_kind ?? "visitor_asked", n.reason_id)
      : n.notice === "assigned" ? `Assigned to ${n.agent}` : n.notice === "back_to_bot" ? "Handed back to the bot"
      : `Closed${n.resolution ? ` (${n.resolution})` : ""}`;
    return el("div", "ev sys", `${text} · ${new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`);
  },
  // Which answer, in its own first words (the transcript shows no numbers).
  feedback(e, c) {
    const answer = c.events[e.answer_seq];
    const words = answer && answer.kind === "bot_answer" ? answer.text.replace(/\s+/g, " ").trim() : "";
    const quoted = words ? `“${words.length > 70 ? `${words.slice(0, 69)}…` : words}”` : "the bot's answer";
    return el("div", "ev sys", `The visitor found ${quoted} ${e.helpful ? "helpful" : "not helpful"}`);
  },
  rating: e => el("div", "ev sys", `Rated ${e.score}/5${e.comment ? `: ${e.comment}` : ""}`),
  visitor_message(e) {
    const { d, body } = said("visitor", "Visitor", e.at);
    body.textContent = e.text;
    return d;
  },
  visitor_file(e, c) {
    const { d, body } = said("visitor", "Visitor", e.at);
    body.appendChild(fileLink(c.id, e.file));
    return d;
  },
  agent_file(e, c) {
    const { d, body } = said("agent", e.agent, e.at);
    body.appendChild(fileLink(c.id, e.file));
    return d;
  },
  visitor_choice(e) {
    const { d, body } = said("visitor", "Visitor", e.at);
    body.textContent = `Picked: ${e.title}`;
    return d;
  },
  offline_message(e) {
    const { d, body } = said("visitor", "Visitor", e.at);
    const mail = el("a", null, e.email); mail.href = `mailto:${e.email}`;
    body.append(e.text, el("br"), "— reply to ", mail);
    return d;
  },
  agent_message(e) {
    const { d, body } = said("agent", e.agent, e.at);
    body.textContent = e.text;
    return d;
  },
  note(e) {
    const { d, body } = said("note", `Note · ${e.agent}`, e.at);
    body.textContent = e.text;
    return d;
  },
  bot_answer(e) {
    const { d, body } = said("bot", `Bot · ${e.decision}`, e.at);
    body.innerHTML = e.html; // server-rendered, sanitised
    if (e.options && e.options.length) {
      // What the visitor saw as buttons.
      d.appendChild(el("div", "options", `Options shown: ${e.options.map(o => o.title).join(" · ")}`));
    }
    if (e.explanation) {
      d.appendChild(el("div", "explain", explainLine(e.explanation)));
      const det = el("details"); det.appendChild(el("summary", null, "Details"));
      det.appendChild(el("pre", null, JSON.stringify(e.explanation, (key, value) => typeof value === "number" ? Math.round(value * 100) / 100 : value, 2)));
      d.appendChild(det);
    }
    return d;
  }
};

/** Event `e` of conversation `c` as it reads in the transcript. @param {LogEvent} e @param {Conv} c */
export function renderEvent(e, c) {
  return /** @type {(e: LogEvent, c: Conv) => HTMLElement} */ (RENDER[e.kind])(e, c);
}
