// @ts-check
// The chat widget's launcher and panel: the round button with its unread count, the panel
// (its header and status line: with the assistant, waiting and where in line, with which
// person), opening and closing it, fitting it to a phone's screen, and the transcript's rows.
import { ctx, el, persist } from "./widget-state.js";
import { brand, stylesheet } from "./widget-style.js";
import { TEXTS, textsIn } from "./widget-texts.js";

/**
 * The panel's parts, once built.
 * @type {{ host: HTMLElement, root: ShadowRoot, $: (s: string) => any, launch: HTMLButtonElement,
 *   badge: HTMLElement, panel: HTMLElement, log: HTMLElement, status: HTMLElement, typing: HTMLElement,
 *   input: HTMLTextAreaElement }}
 */
export const ui = /** @type {any} */ ({});

/** Builds the launcher and the panel in a Shadow DOM at the end of the page. */
export function build() {
  const host = el("div");
  host.setAttribute("data-frontdesk", "");
  document.body.appendChild(host);
  const root = host.attachShadow({ mode: "open" });
  brand(host, ctx.settings.color);
  const side = ctx.settings.position === "left" ? "left" : "right";
  root.innerHTML = `<style>${stylesheet(side)}</style>` +
    `<button class="launch" aria-expanded="false"><svg width="26" height="26" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">` +
    `<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg><span class="badge" hidden></span></button>` +
    `<div class="panel" role="dialog" aria-modal="false">` +
    `<div class="head"><div class="who"><div class="title"></div><div class="status" role="status"></div></div>` +
    `<button class="human" type="button"></button><button class="more" type="button" aria-haspopup="menu" aria-expanded="false" hidden>⋯</button>` +
    `<button class="x" type="button">×</button><div class="menu" role="menu" hidden><button type="button" role="menuitem" class="mail-me"></button></div></div>` +
    `<div class="log" role="log" aria-live="polite"></div><div class="typing" aria-live="polite"></div>` +
    `<form class="compose"><div class="chosen" hidden></div><button type="button" class="clip" hidden>` +
    `<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">` +
    `<path d="M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"/></svg></button>` +
    `<input type="file" class="file" hidden><label class="sr" for="fd-in"></label><textarea id="fd-in" rows="1"></textarea>` +
    `<button type="submit"></button><div class="left" aria-live="polite"></div></form></div>`;
  /** @param {string} s */
  const $ = s => root.querySelector(s);
  Object.assign(ui, {
    host, root, $, launch: $(".launch"), badge: $(".badge"), panel: $(".panel"), log: $(".log"),
    status: $(".status"), typing: $(".typing"), input: $("textarea")
  });
  label();
  ui.status.textContent = ctx.T.bot;
  if (vv) { vv.addEventListener("resize", fitScreen); vv.addEventListener("scroll", fitScreen); fitScreen(); }
  ui.launch.onclick = () => { setOpen(!ui.panel.classList.contains("open")); };
  $(".x").onclick = () => { setOpen(false); };
  ui.panel.addEventListener("keydown", e => { if (e.key === "Escape") setOpen(false); });
  setInterval(showQueue, 5000);
}

/** Writes the panel's own labels in the current language. */
function label() {
  const { T, settings } = ctx;
  ui.host.lang = ctx.lang;
  ui.$(".title").textContent = settings.title || T.title;
  ui.panel.setAttribute("aria-label", settings.title || T.title);
  ui.$(".human").textContent = T.human;
  ui.$(".x").setAttribute("aria-label", T.close);
  ui.$(".more").setAttribute("aria-label", T.more);
  ui.$(".mail-me").textContent = T.emailMe;
  ui.$("label").textContent = T.placeholder;
  ui.input.placeholder = T.placeholder;
  ui.$(".compose button[type=submit]").textContent = T.send;
  ui.$(".clip").setAttribute("aria-label", T.attach);
  showUnread();
}
/** Follows the conversation's language, when the widget has texts for it. @param {string | null | undefined} code */
export function speak(code) {
  if (!code || !TEXTS[code] || code === ctx.lang) return;
  const was = ctx.T;
  ctx.lang = code;
  ctx.T = textsIn(code, ctx.settings.texts);
  label();
  // The status line keeps its meaning in the new language.
  if (ui.status.textContent === was.bot) ui.status.textContent = ctx.T.bot;
  else if (ui.status.textContent === was.waiting) ui.status.textContent = ctx.T.waiting;
}

// On a phone the open panel covers exactly the visual viewport (what is on screen), not the
// layout viewport that a too-wide page or the keyboard makes larger than the screen.
const vv = window.visualViewport;
function fitScreen() {
  if (!vv) return;
  ui.host.style.setProperty("--vv-left", `${vv.offsetLeft}px`);
  ui.host.style.setProperty("--vv-top", `${vv.offsetTop}px`);
  ui.host.style.setProperty("--vv-width", `${vv.width}px`);
  ui.host.style.setProperty("--vv-height", `${vv.height}px`);
}

/**
 * Opens or closes the panel. It stays open or closed across page loads; restoring it does not
 * move the focus.
 * @param {boolean} open @param {boolean} [restoring]
 */
export function setOpen(open, restoring) {
  ui.panel.classList.toggle("open", open);
  fitScreen();
  ui.launch.setAttribute("aria-expanded", String(open));
  ctx.saved.open = open;
  if (open) { markRead(); toEnd(); }
  persist();
  if (restoring) return;
  if (open) ui.input.focus(); else ui.launch.focus();
}
// What the visitor has seen: events up to `saved.read` (of this conversation) were on screen
// with the panel open, so a reload or another page does not count them as unread again.
function markRead() {
  ctx.unread = 0;
  ctx.saved.read = Math.max(ctx.saved.read || 0, ctx.lastSeq);
  showUnread();
}
export function showUnread() {
  const { unread, T } = ctx;
  ui.badge.textContent = String(unread);
  ui.badge.hidden = unread === 0;
  ui.launch.setAttribute("aria-label", unread ? `${T.open}, ${unread} ${T.unread}` : T.open);
}
// The estimate counts down from the minutes it stated ("about 2 min" runs out after two
// minutes, never before); only then "taking longer".
export function showQueue() {
  const { queued, T } = ctx;
  if (!queued) return;
  const waited = (Date.now() - ctx.queuedSince) / 1000;
  const left = queued.deadline == null ? null : (queued.deadline - Date.now()) / 1000;
  const since = waited >= 60 ? ` · ${T.waited.replace("{n}", String(Math.floor(waited / 60)))}` : "";
  const more = left == null ? since
    : left > 0 ? T.about.replace("{n}", String(Math.max(1, Math.ceil(left / 60)))) : ` · ${T.longer}${since}`;
  ui.status.textContent = `${T.waiting} · #${queued.position} ${T.inLine}${queued.nobody ? "" : more}`;
}
/** The header while an agent has the conversation. */
export function showAgent() {
  ui.status.textContent = ctx.agentSpoke ? `${ctx.T.talking} ${ctx.agentName}` : `${ctx.agentName} ${ctx.T.assigned}`;
}
/** "Talk to a person" only while the bot has the conversation. @param {boolean} yes */
export function withBot(yes) { ui.$(".human").hidden = !yes; }

// ---- the transcript's rows ----
/** Scrolls to the newest item once it is complete (call after filling it in). */
export function toEnd() { ui.log.scrollTop = ui.log.scrollHeight; }
/** @param {number} [at] */
function time(at) {
  const d = at ? new Date(at) : new Date();
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
/**
 * A message row of class `cls` ("me", "bot", "agent", ... ), said at `at` by `label`: its bubble.
 * @param {string} cls @param {number} at @param {string} [label]
 * @returns {HTMLElement}
 */
export function row(cls, at, label) {
  const r = el("div", `row ${cls}`);
  const m = el("div", "msg");
  r.appendChild(m);
  r.appendChild(el("div", "meta", (label ? `${label} · ` : "") + time(at)));
  place(r);
  return m;
}
/** Adds to the transcript, above the messages still being sent (they are the newest). @param {HTMLElement} node */
export function place(node) {
  ui.log.insertBefore(node, node.classList.contains("pending") ? null : ui.log.querySelector(".row.pending"));
}
/** A line from us; with `at`, when it was said (notices of the log carry their time). @param {string} text @param {number} [at] */
export function notice(text, at) { place(el("div", "notice", at ? `${text} · ${time(at)}` : text)); }
/**
 * Something was said to the visitor (event `seq`): unread unless the panel is open or it was
 * seen before.
 * @param {number} seq
 */
export function arrived(seq) {
  if (seq <= (ctx.saved.read || 0)) return; // seen before (a replay after a reload)
  if (ui.panel.classList.contains("open")) { ctx.saved.read = seq; persist(); return; }
  ctx.unread++;
  showUnread();
}
/** Links in answers open beside the shop, never in place of it. @param {HTMLElement} m */
export function newTab(m) {
  m.querySelectorAll(/** @type {"a"} */ ("a[href]")).forEach(a => { a.target = "_blank"; a.rel = "noopener noreferrer"; });
}
/**
 * A row of buttons under `parent`: each [label, what it does].
 * @param {HTMLElement} parent @param {[string, (b: HTMLButtonElement, acts: HTMLElement) => void][]} items
 */
export function buttons(parent, items) {
  const acts = el("div", "acts");
  items.forEach(it => { const b = el("button", null, it[0]); b.type = "button"; b.onclick = () => { it[1](b, acts); }; acts.appendChild(b); });
  parent.appendChild(acts);
  return acts;
}
