// @ts-check
// What the chat widget knows and keeps: the site's settings, the visitor's saved state in this
// browser (resume token, outbox, what was read, whether the panel was open), the socket, and
// where the conversation stands (who has it, the place in line).
import { languageOf, textsIn } from "./widget-texts.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {Schemas["VisitorFrame"]} VisitorFrame */

/** What the site set before the script (docs/widget.md). */
const settings = /** @type {any} */ (window).frontdeskSettings || {};
const pageLanguage = String(settings.language || navigator.language || document.documentElement.lang || "en");

export const ctx = {
  settings,
  /** The visitor as the site knows them (settings.visitor: id, hash, name, email). */
  who: settings.visitor || {},
  /** The page's language, sent as the locale. */
  pageLanguage,
  /** The language the widget speaks now, and its texts. */
  lang: languageOf(pageLanguage),
  T: textsIn(languageOf(pageLanguage), settings.texts),
  /** Where localStorage keeps this visitor's state for the server at `base`. */
  key: "",
  /**
   * Kept across reloads: the resume token and visitor key, messages not yet confirmed (resent
   * with the same client_id: the server never stores one twice), the last seq read, open or not.
   * @type {{ token?: string, visitor_key?: string, email?: string, outbox: { type: "message", text: string, client_id: string }[], read?: number, open?: boolean }}
   */
  saved: { outbox: [] },
  /** @type {WebSocket | null} */
  ws: null,
  /** Whether the socket has been welcomed (frames before `welcome` would be refused). */
  ready: false,
  /** Highest seq shown on this page: a fresh page asks for the whole transcript; a reconnect only for what it missed. */
  lastSeq: 0,
  unread: 0,
  /** The largest frame the server accepts (told in `welcome`). */
  maxFrame: 4096,
  /** Files the visitor may send: the largest, in bytes (0: none), and the MIME types (told in `welcome`). */
  files: { max: 0, types: /** @type {string[]} */ ([]) },
  // While waiting for a person: the place and estimate last told, when they were told, and when
  // the wait began (the queued notice's time), so the status line moves on between changes.
  /** @type {{ position: number, eta: number | null | undefined, nobody: boolean, deadline: number | null } | null} */
  queued: null,
  queuedSince: 0,
  // The agent who has the conversation, and whether they have written (or typed) yet: until
  // then the header says they will be with the visitor, not that they are talking.
  agentName: "",
  agentSpoke: false,
};

/** Reads the saved state of the visitor of the server at `base`. @param {URL} base */
export function load(base) {
  ctx.key = `frontdesk:${base.host}`;
  try { ctx.saved = JSON.parse(localStorage.getItem(ctx.key) || "{}"); } catch (e) { ctx.saved = { outbox: [] }; }
  ctx.saved.outbox = ctx.saved.outbox || [];
}
export function persist() { try { localStorage.setItem(ctx.key, JSON.stringify(ctx.saved)); } catch (e) { /* private mode */ } }

/** @param {VisitorFrame} frame */
export function send(frame) { if (ctx.ws && ctx.ws.readyState === 1 && ctx.ready) ctx.ws.send(JSON.stringify(frame)); }

/**
 * A new element of class `cls` with text `text` (never HTML).
 * @param {string} tag @param {string | null} [cls] @param {string | null} [text]
 * @returns {any}
 */
export function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text != null) n.textContent = text;
  return n;
}
