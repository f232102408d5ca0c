// @ts-check
// The chat widget's composer: the text box (Enter sends, Shift+Enter a new line), how much more
// fits in one message as the visitor nears the limit, the box growing with the text, the typing
// signal, and a sent message shown as pending until the server confirms it.
import { sendChosen } from "./widget-files.js";
import { pump } from "./widget-outbox.js";
import { row, toEnd, ui } from "./widget-panel.js";
import { ctx, persist } from "./widget-state.js";

/** A message sent and not yet confirmed, at the end of the transcript. @param {{ text: string, client_id: string }} m */
export function pendingRow(m) {
  const r = row("me pending", 0);
  r.textContent = m.text; // visitor text is never HTML
  /** @type {HTMLElement} */ (r.parentNode).setAttribute("data-client-id", m.client_id);
  toEnd();
}

// How much more fits in one message frame (the server's limit, told in `welcome`), shown from
// 80% on; over it, nothing is sent and the counter says by how much.
function roomLeft() {
  const text = ui.input.value;
  const bytes = new TextEncoder().encode(JSON.stringify({ type: "message", text, client_id: "x".repeat(14) })).length;
  const perChar = text.length ? Math.max(1, bytes / Math.max(1, text.length)) : 1;
  const chars = Math.floor(Math.abs(ctx.maxFrame - bytes) / perChar) || 1;
  return { over: bytes > ctx.maxFrame, near: bytes > ctx.maxFrame * 0.8, chars };
}
function showRoom() {
  const { input } = ui;
  const left = ui.$(".left");
  const room = roomLeft();
  left.textContent = !room.near ? "" : (room.over ? ctx.T.charsOver : ctx.T.charsLeft).replace("{n}", String(room.chars));
  left.classList.toggle("over", room.over);
  // The box grows with the text (up to its max-height), so a long text can be edited.
  input.style.height = "auto";
  input.style.height = `${Math.max(46, input.scrollHeight)}px`;
}
function submit() {
  sendChosen();
  const text = ui.input.value.trim();
  if (!text) return;
  if (roomLeft().over) { showRoom(); return; }
  ui.input.value = "";
  showRoom();
  /** @type {{ type: "message", text: string, client_id: string }} */
  const m = { type: "message", text, client_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) };
  ctx.saved.outbox.push(m);
  persist();
  pendingRow(m);
  pump();
}

export function wireComposer() {
  let lastTyping = 0;
  ui.input.addEventListener("keydown", e => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
    else if (Date.now() - lastTyping > 3000 && ctx.ws && ctx.ready) { lastTyping = Date.now(); ctx.ws.send('{"type":"typing"}'); }
  });
  ui.$(".compose").onsubmit = e => { e.preventDefault(); submit(); };
  ui.input.addEventListener("input", showRoom);
}
