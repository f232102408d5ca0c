// @ts-check
// frontdesk chat widget: one script tag, a launcher and a panel in a Shadow DOM, no framework.
// Install and settings: docs/widget.md; the protocol: docs/protocol.md.
//
// A classic script (not a module), so sites load it with a plain <script src> from our origin.
// It checks that this page's origin may use the chat, then loads the widget itself, ES modules
// served beside it under /widget/ (widget-app.js lists them, one per part of the panel).
(() => {
  const script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  const base = new URL(script ? script.src : "/widget.js", location.href);
  // Only start where the server allows this page's origin (its /ws allowlist); elsewhere say why
  // in the console instead of showing a panel that cannot connect.
  fetch(new URL("/api/widget/allowed", base), { mode: "cors", credentials: "omit" })
    .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); })
    .then(() => import(new URL("/widget/widget-app.js", base).href), () => {
      console.error(`frontdesk: ${location.origin} may not use the chat at ${base.host} (add it to the server's allowed_origins)`);
      return null;
    })
    .then(app => { if (app) app.start(base); })
    .catch(e => { console.error("frontdesk: the chat could not start", e); });
})();
