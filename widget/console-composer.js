// @ts-check
// The agent console's composer: a reply or an internal note to the open conversation, canned
// replies after "/" (in the conversation's language when translated), the typing signal.
import { $, el, languageName } from "./common.js";
import { act, renderChat } from "./console-chat.js";
import { isMine, saveOutbox, send, state } from "./console-state.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["AgentFrame"]} ConsoleFrame */

/** Canned reply `c` in the open conversation's language, when it has that translation. @param {Schemas["CannedReply"]} c */
function inLanguage(c) {
  const h = state.current && state.convs[state.current] && state.convs[state.current].header;
  const code = String((h && h.language) || "").toLowerCase().split(/[-_]/)[0];
  const t = (c.translations || []).filter(x => x.language === code)[0];
  return { id: c.id, original: c.title, title: t ? t.title : c.title, text: t ? t.text : c.text, language: t ? t.language : null };
}

export function wireComposer() {
  const text = $("text");
  const cannedBox = $("canned");
  let cannedSel = 0;
  let lastTyping = 0;
  function cannedMatches() {
    const q = text.value.slice(1).toLowerCase();
    return state.canned.map(inLanguage)
      .filter(c => (`${c.id} ${c.title} ${c.original}`).toLowerCase().includes(q));
  }
  function showCanned() {
    const open = text.value.charAt(0) === "/" && !text.value.includes("\n");
    cannedBox.classList.toggle("open", open);
    if (!open) return;
    const list = cannedMatches(); cannedBox.innerHTML = "";
    cannedSel = Math.min(cannedSel, Math.max(0, list.length - 1));
    list.forEach((c, i) => {
      const b = el("button", i === cannedSel ? "sel" : "", `/${c.id} — ${c.title}${c.language ? ` (${languageName(c.language)})` : ""}`); b.type = "button"; b.setAttribute("role", "option");
      b.onclick = () => { pickCanned(c); };
      cannedBox.appendChild(b);
    });
  }
  /** @param {{ text: string }} c */
  function pickCanned(c) { text.value = c.text; cannedBox.classList.remove("open"); text.focus(); }
  text.addEventListener("input", () => {
    showCanned();
    if (state.current && isMine(state.current) && Date.now() - lastTyping > 3000 && !$("asnote").checked) { lastTyping = Date.now(); act("typing"); }
  });
  text.addEventListener("keydown", e => {
    if (cannedBox.classList.contains("open")) {
      const list = cannedMatches();
      if (e.key === "ArrowDown") { cannedSel = Math.min(cannedSel + 1, list.length - 1); showCanned(); e.preventDefault(); return; }
      if (e.key === "ArrowUp") { cannedSel = Math.max(cannedSel - 1, 0); showCanned(); e.preventDefault(); return; }
      if (e.key === "Enter" && list[cannedSel]) { pickCanned(list[cannedSel]); e.preventDefault(); return; }
      if (e.key === "Escape") { cannedBox.classList.remove("open"); return; }
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  $("attachbtn").onclick = () => { $("attach").click(); };
  $("attach").onchange = () => {
    const input = /** @type {HTMLInputElement} */ ($("attach"));
    const file = input.files && input.files[0];
    input.value = "";
    if (file && state.current) sendFile(state.current, file);
  };
  $("composer").onsubmit = e => { e.preventDefault(); submit(); };
  $("asnote").onchange = function () { $("composer").classList.toggle("note", this.checked); };
  function submit() {
    const t = text.value.trim();
    if (!t || !state.current) return;
    /** @type {Extract<ConsoleFrame, { type: "note" | "reply" }>} */
    const frame = { type: $("asnote").checked ? "note" : "reply", conversation: state.current, text: t,
      client_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) };
    state.outbox.push(frame);
    saveOutbox();
    send(frame);
    text.value = "";
    renderChat();
  }
}

/**
 * Sends `file` to the visitor of `conversation` (the server checks the type from the content
 * and re-encodes images), saying how far it got and, if refused, why.
 * @param {string} conversation @param {File} file
 */
function sendFile(conversation, file) {
  const status = $("filestatus");
  status.className = "";
  status.textContent = `Sending ${file.name}…`;
  const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/api/files?conversation=${encodeURIComponent(conversation)}&name=${encodeURIComponent(file.name)}&client_id=${id}`);
  xhr.upload.onprogress = e => { if (e.total) status.textContent = `Sending ${file.name}… ${Math.round(e.loaded / e.total * 100)}%`; };
  xhr.onload = () => {
    if (xhr.status === 201) { status.textContent = ""; return; }
    let why = `the server answered ${xhr.status}`;
    try { why = JSON.parse(xhr.responseText).detail || why; } catch { /* not JSON */ }
    status.className = "bad";
    status.textContent = `${file.name} was not sent: ${why}`;
  };
  xhr.onerror = () => { status.className = "bad"; status.textContent = `${file.name} was not sent: no connection. Try again.`; };
  xhr.send(file);
}
