// @ts-check
// Files the visitor sends and sees. A file comes from the paperclip (on a phone it offers the
// camera), a drop on the panel or a paste; it is checked here first (size, type: the server
// decides again from the content), shown with a remove button, and sent with the next Send,
// with a progress bar and a cancel button; a refusal stays on its bubble with a way to retry.
// Files in the transcript: images as thumbnails that open full size, others as a named link
// with the size. Bytes are fetched with the resume token in a header, never in a URL.
import { row, toEnd, ui } from "./widget-panel.js";
import { ctx, el } from "./widget-state.js";

let base = "";
/** @type {File | null} */
let chosen = null;

/** @param {URL} b */
export function wireFiles(b) {
  base = `${b.protocol}//${b.host}`;
  const input = ui.$(".file");
  ui.$(".clip").onclick = () => { input.click(); };
  input.onchange = () => { if (input.files[0]) choose(input.files[0]); input.value = ""; };
  ui.panel.addEventListener("dragover", (/** @type {DragEvent} */ e) => { e.preventDefault(); });
  ui.panel.addEventListener("drop", (/** @type {DragEvent} */ e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) choose(f);
  });
  ui.input.addEventListener("paste", e => {
    const f = e.clipboardData && e.clipboardData.files[0];
    if (f) { e.preventDefault(); choose(f); }
  });
}

/** What the server told in `welcome`. @param {number} max @param {string[]} types */
export function fileRules(max, types) {
  ctx.files = { max, types };
  ui.$(".clip").hidden = !max;
  ui.$(".file").accept = types.join(",");
}

/** `2.1 MB`, `340 KB`. @param {number} n */
function size(n) { return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`; }

/** @param {File} f */
function choose(f) {
  const { T, files } = ctx;
  const why = f.size > files.max ? T.fileBig.replace("{n}", size(files.max))
    : !files.types.includes(f.type) ? T.fileType : "";
  if (why) { failed(f, why); return; }
  chosen = f;
  const box = ui.$(".chosen");
  const name = el("span", null, `${f.name} (${size(f.size)})`);
  const x = el("button", null, "×");
  x.type = "button";
  x.setAttribute("aria-label", `${T.remove} ${f.name}`);
  x.onclick = () => { chosen = null; box.hidden = true; ui.input.focus(); };
  box.replaceChildren(name, x);
  box.hidden = false;
  ui.input.focus();
}

/** Sends the chosen file, if any (the composer's Send). @returns {boolean} */
export function sendChosen() {
  if (!chosen) return false;
  upload(chosen, Date.now().toString(36) + Math.random().toString(36).slice(2, 8));
  chosen = null;
  ui.$(".chosen").hidden = true;
  return true;
}

/** A bubble for `f` that was not sent, saying why, with a retry when one can help. @param {File} f @param {string} why @param {string} [id] */
function failed(f, why, id) {
  const m = row("me failed", 0);
  m.textContent = f.name;
  const meta = /** @type {HTMLElement} */ (m.nextSibling);
  meta.textContent = why;
  meta.setAttribute("role", "alert");
  if (id) {
    const again = el("button", "retry", ctx.T.notSentRetry);
    again.type = "button";
    again.onclick = () => { /** @type {HTMLElement} */ (m.parentNode).remove(); upload(f, id); };
    m.appendChild(again);
  }
  toEnd();
}

/** @param {File} f @param {string} id */
function upload(f, id) {
  const m = row("me pending", 0);
  m.textContent = f.name;
  const bar = el("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", f.name);
  const cancel = el("button", "retry", ctx.T.cancel);
  cancel.type = "button";
  m.append(bar, cancel);
  toEnd();
  const done = () => { /** @type {HTMLElement} */ (m.parentNode).remove(); };
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `${base}/api/files?name=${encodeURIComponent(f.name)}&client_id=${id}`);
  xhr.setRequestHeader("Authorization", `Bearer ${ctx.saved.token}`);
  xhr.upload.onprogress = e => { bar.value = e.total ? e.loaded / e.total : 0; };
  cancel.onclick = () => { xhr.abort(); done(); };
  // Stored: the event shows it. Refused: the server's reason; a lost answer: try again.
  xhr.onload = () => {
    done();
    if (xhr.status === 201) return;
    let why = ctx.T.notSent;
    try { why = JSON.parse(xhr.responseText).detail || why; } catch (e) { /* not JSON */ }
    failed(f, why, xhr.status >= 500 || xhr.status === 429 ? id : undefined);
  };
  xhr.onerror = () => { done(); failed(f, ctx.T.notSent, id); };
  xhr.send(f);
}

/**
 * A file of the transcript. @param {HTMLElement} m its bubble
 * @param {import("./types/frames").components["schemas"]["Attachment"]} file
 */
export function showFile(m, file) {
  const conversation = String(ctx.saved.token || "").split(".")[0];
  const url = `${base}/api/files/${conversation}/${file.id}`;
  const fetchBlob = () => fetch(url, { headers: { Authorization: `Bearer ${ctx.saved.token}` } })
    .then(r => (r.ok ? r.blob() : Promise.reject(r.status)));
  const link = el("a", null, `${file.name} (${size(file.size)})`);
  link.href = "#";
  m.appendChild(link);
  if (file.content_type.startsWith("image/")) {
    fetchBlob().then(blob => {
      const img = el("img", "thumb");
      img.alt = file.name;
      img.src = link.href = URL.createObjectURL(blob);
      link.target = "_blank";
      link.replaceChildren(img);
    }).catch(() => {});
    return;
  }
  link.onclick = (/** @type {Event} */ e) => {
    e.preventDefault();
    fetchBlob().then(blob => {
      const a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = file.name;
      a.click();
    }).catch(() => {});
  };
}
