// @ts-check
// The agent console's visitor panel: what is known of the visitor of the open conversation
// (name, e-mail, verified id, page, time zone, language), the key their conversations are
// linked by (with Copy, for access and erasure requests), the files of this conversation, and
// their earlier conversations.
import { $, el, languageName } from "./common.js";
import { fileLink } from "./console-transcript.js";

/** @typedef {import("./console-state.js").Conv} Conv */

/**
 * The panel for conversation `c`: `offline` is its offline message (its e-mail counts as the
 * visitor's when they gave none); `open` opens an earlier conversation.
 * @param {Conv} c
 * @param {{ email: string } | null} offline
 * @param {(id: string) => void} open
 */
export function renderVisitor(c, offline, open) {
  const h = c.header;
  const v = $("visitor"); v.innerHTML = "";
  const info = Object.assign({}, (h && h.visitor) || {});
  if (!info.email && offline) info.email = offline.email;
  const spoken = (h && h.language) || info.locale;
  [["Name", info.name], ["E-mail", info.email], ["Verified id", info.user_id], ["Page", info.page], ["Time zone", info.tz], ["Language", spoken && languageName(spoken)]]
    .forEach(p => {
      if (!p[1]) return;
      const dd = el("dd", null, p[0] === "E-mail" ? null : p[1]);
      if (p[0] === "E-mail") { const a = el("a", null, p[1]); a.href = `mailto:${p[1]}`; dd.appendChild(a); }
      v.append(el("dt", null, p[0]), dd);
    });
  // The key that links this visitor's conversations: what an admin erases them by.
  const visitorKey = h && h.visitor_key;
  if (visitorKey) {
    const key = el("code", "key", visitorKey);
    const copy = el("button", "copy", "Copy"); copy.type = "button";
    copy.setAttribute("aria-label", "Copy the visitor key");
    copy.onclick = () => {
      navigator.clipboard.writeText(visitorKey).then(() => { copy.textContent = "Copied"; }, () => { copy.textContent = "Select it to copy"; });
    };
    const dd = el("dd"); dd.append(key, " ", copy);
    v.append(el("dt", null, "Visitor key (for access and erasure requests)"), dd);
  }
  // The files of this conversation, both ways, oldest first.
  const files = Object.values(c.events).flatMap(ev => (ev.kind === "visitor_file" || ev.kind === "agent_file" ? [ev] : []));
  if (files.length) {
    const dd = el("dd", "files");
    files.forEach(f => { dd.append(fileLink(c.id, f.file), el("br")); });
    v.append(el("dt", null, `Files (${files.length})`), dd);
  }
  const e = $("earlier"); e.innerHTML = "";
  if (!c.earlier.length) e.appendChild(el("div", "empty", "None."));
  c.earlier.forEach(x => {
    const b = el("button", "item"); b.type = "button";
    b.append(el("div", "name", `${new Date(x.created).toLocaleString()} · ${x.state}`), el("div", "first", x.first_message || ""));
    b.onclick = () => { open(x.conversation); };
    e.appendChild(b);
  });
}
