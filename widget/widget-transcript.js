// @ts-check
// How each event of the conversation shows to the visitor: their messages, the bot's answers
// (with options, "Talk to a person" and the helpful vote), a person's replies, and the notices
// of where they stand (waiting, who has it, back with the assistant, closed).
import { showFile } from "./widget-files.js";
import { feedback, offlineForm, ratingForm, voted } from "./widget-forms.js";
import { confirmed } from "./widget-outbox.js";
import { arrived, buttons, newTab, notice, row, showAgent, speak, toEnd, ui, withBot } from "./widget-panel.js";
import { ctx, el, send } from "./widget-state.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["Event"]} LogEvent */

/**
 * What a visitor is told when their conversation (re)joins the queue, by why.
 * @type {Record<Schemas["ReasonKind"], () => string>}
 */
const WAITING_AFTER = {
  visitor_asked: () => `${ctx.T.waiting}…`, frustrated: () => `${ctx.T.waiting}…`,
  repeated_misses: () => `${ctx.T.waiting}…`, rule: () => `${ctx.T.waiting}…`, faq: () => `${ctx.T.waiting}…`,
  not_answered: () => ctx.T.requeued, agent_left: () => ctx.T.requeued,
  transfer: () => ctx.T.transferred, team: () => ctx.T.toTeam
};

/**
 * One handler per kind of event the visitor is sent: a kind missing here fails the type check.
 * @type {{ [K in LogEvent["kind"]]: (e: Extract<LogEvent, { kind: K }>) => void }}
 */
const shown = {
  visitor_message(e) {
    confirmed(e.client_id || "");
    row("me", e.at).textContent = e.text;
  },
  visitor_choice(e) { row("me", e.at).textContent = e.title; },
  visitor_file(e) { showFile(row("me", e.at), e.file); },
  agent_file(e) {
    showFile(row("agent", e.at, e.agent), e.file);
    arrived(e.seq);
  },
  agent_message(e) {
    row("agent", e.at, e.agent).textContent = e.text;
    if (ctx.agentName && !ctx.agentSpoke) { ctx.agentSpoke = true; showAgent(); }
    arrived(e.seq);
  },
  bot_answer(e) {
    speak(e.lang);
    const m = row("bot", e.at);
    m.innerHTML = e.html; // rendered and sanitised by the server (bot answers only)
    newTab(m);
    /** @type {[string, () => void][]} */
    const items = (e.options || []).map(o => [o.title, () => { send({ type: "choose", option: o.id }); }]);
    if (e.offer_human) items.push([ctx.T.human, () => { send({ type: "request_human" }); }]);
    if (items.length) buttons(m, items);
    if (e.decision === "answer" && e.faq) feedback(m, e.seq); // not for "You're welcome!"
    // Nobody can answer now: the form, in view, and no "Talk to a person" that only says so
    // again (it returns with the bot's next answer).
    if (e.decision === "offline") offlineForm();
    withBot(e.decision !== "offline");
    arrived(e.seq);
  },
  notice(e) {
    const n = e.notice;
    // Say only what is true now: assigned is not yet "joined" (the agent may not have looked).
    if (n.notice === "queued") {
      notice(WAITING_AFTER[n.reason_kind ?? "visitor_asked"](), e.at);
      ui.status.textContent = ctx.T.waiting;
      ctx.queuedSince = e.at || Date.now();
      ctx.agentName = "";
    } else if (n.notice === "assigned") {
      notice(`${n.agent} ${ctx.T.assigned}`, e.at);
      ctx.agentName = n.agent;
      ctx.agentSpoke = false;
      showAgent();
      ctx.queued = null;
      // A person has it now: an unsent message form is no longer the way to reach us.
      const form = ui.log.querySelector(".offline");
      if (form) form.remove();
    } else {
      notice(n.notice === "back_to_bot" ? ctx.T.back : ctx.T.closed, e.at);
      ui.status.textContent = ctx.T.bot;
      ctx.queued = null;
      ctx.agentName = "";
    }
    withBot(n.notice !== "queued" && n.notice !== "assigned");
    if (n.notice === "closed") { ratingForm(); arrived(e.seq); }
  },
  offline_message(e) {
    const o = ui.log.querySelector(".offline");
    if (o) o.remove();
    notice(`${ctx.T.sentMessage} ${e.email}`);
  },
  rating() {
    const f = ui.log.querySelector(".rating");
    if (f) f.replaceWith(el("div", "notice", ctx.T.rated));
  },
  feedback(e) { voted(e.answer_seq); },
  // Internal notes never reach the visitor.
  note() {}
};

/** Shows event `e` at the end of the transcript. @param {LogEvent} e */
export function render(e) {
  const show = /** @type {(e: LogEvent) => void} */ (shown[e.kind]);
  show(e);
  toEnd();
}
