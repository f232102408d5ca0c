// @ts-check
// The visitor's messages on their way: kept in the browser until the server confirms them, sent
// one at a time (so a refusal is known to be about the one in flight), resent after a reconnect
// with the same client_id, and a refusal said on the message's own bubble.
import { ui, toEnd } from "./widget-panel.js";
import { ctx, persist, send } from "./widget-state.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */

/** The message in flight (its client_id). @type {string | null} */
let inFlight = null;
/** Those the server took while its store was down (held), by client_id. @type {Record<string, boolean>} */
let accepted = {};
let pumpTimer = 0;

/** A (re)connected socket: everything not confirmed goes out again, oldest first. */
export function restart() {
  inFlight = null;
  accepted = {};
  pump();
}
/** Sends the oldest unsent message, if none is in flight. */
export function pump() {
  if (inFlight || !ctx.ws || ctx.ws.readyState !== 1 || !ctx.ready) return;
  const next = ctx.saved.outbox.find(m => !accepted[m.client_id]);
  if (!next) return;
  inFlight = next.client_id;
  send(next);
}
/** @param {string} clientId */
function settled(clientId) {
  if (inFlight === clientId) inFlight = null;
  pump();
}
/** Taken while the store was down: not resent, its answer shown now. @param {string} clientId */
export function held(clientId) {
  accepted[clientId] = true;
  settled(clientId);
}
/** Stored by the server: out of the outbox, its pending bubble gone. @param {string} clientId */
export function confirmed(clientId) {
  ctx.saved.outbox = ctx.saved.outbox.filter(m => m.client_id !== clientId);
  persist();
  const p = ui.log.querySelector(`.pending[data-client-id="${CSS.escape(clientId)}"]`);
  if (p) p.remove();
  delete accepted[clientId];
  settled(clientId);
}
/**
 * The server refused the message in flight: wait and resend (rate limit, our failure), or say
 * on its bubble why it was not sent and take it out of the outbox.
 * @param {Extract<Schemas["ServerFrame"], { type: "error" }>} f
 */
export function refused(f) {
  const id = f.client_id || inFlight;
  if (!id || id !== inFlight) return;
  inFlight = null;
  /** @type {any} */
  const bubble = ui.log.querySelector(`.pending[data-client-id="${CSS.escape(id)}"]`);
  if (f.code === "rate_limited" || f.code === "internal") {
    if (bubble) bubble.querySelector(".meta").textContent = ctx.T.later;
    clearTimeout(pumpTimer);
    pumpTimer = setTimeout(pump, 2000);
    return;
  }
  const lost = ctx.saved.outbox.find(m => m.client_id === id);
  ctx.saved.outbox = ctx.saved.outbox.filter(m => m.client_id !== id);
  persist();
  // Back in the composer, to shorten or send again (unless the visitor is typing already).
  if (lost && !ui.input.value) ui.input.value = lost.text;
  if (bubble) {
    bubble.classList.remove("pending");
    bubble.classList.add("failed");
    bubble.querySelector(".meta").textContent = f.code === "too_large" ? ctx.T.tooLong : ctx.T.notSent;
    toEnd();
  }
  pump();
}
