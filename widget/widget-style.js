// @ts-check
// The chat widget's look: the panel's stylesheet (scoped by its Shadow DOM: the site's CSS cannot
// reach in, ours cannot leak out) and the brand colour made readable whatever the site sets.

/** [r, g, b] of "#rgb" or "#rrggbb". @param {string} hex */
function rgb(hex) {
  let h = hex.slice(1);
  if (h.length === 3) h = h.replace(/./g, "$&$&");
  return [0, 2, 4].map(i => parseInt(h.slice(i, i + 2), 16));
}
/** @param {number[]} c */
function luminance(c) {
  const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
/** WCAG contrast ratio of two colours. @param {string} a @param {string} b */
export function contrast(a, b) {
  const la = luminance(rgb(a));
  const lb = luminance(rgb(b));
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
/** The colour, darkened just enough to be read as text on white. @param {string} hex */
function readableOnWhite(hex) {
  const c = rgb(hex);
  for (let k = 1; k >= 0; k -= 0.05) {
    const d = `#${c.map(x => (`0${Math.round(x * k).toString(16)}`).slice(-2)).join("")}`;
    if (contrast(d, "#ffffff") >= 4.5) return d;
  }
  return "#111111";
}

/**
 * The site's settings as custom properties on the host: its colour (a valid hex, else ours),
 * text on it and that colour as text on white, both readable (WCAG AA, 4.5:1), and a ring in
 * the readable shade around a light launcher so it stays findable on a light page.
 * @param {HTMLElement} host @param {string | undefined} setting
 */
export function brand(host, setting) {
  const color = /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(setting || "") ? String(setting) : "#3d5a40";
  const ink = readableOnWhite(color);
  host.style.setProperty("--brand", color);
  host.style.setProperty("--on-brand", contrast(color, "#ffffff") >= 4.5 ? "#ffffff" : "#111111");
  host.style.setProperty("--ink", ink);
  host.style.setProperty("--launch-ring", contrast(color, "#ffffff") < 3 ? ink : "transparent");
}

/** The panel's stylesheet, the launcher on `side` ("left" or "right"). @param {string} side */
export function stylesheet(side) {
  return `
    :host { all: initial; }
    * { box-sizing: border-box; font-family: system-ui, -apple-system, Segoe UI, sans-serif; }
    .launch, .panel { position: fixed; ${side}: 20px; z-index: 2147483000; }
    .launch {
      bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0;
      background: var(--brand); color: var(--on-brand); display: flex; align-items: center;
      justify-content: center; cursor: pointer;
      box-shadow: 0 0 0 2px var(--launch-ring), 0 2px 8px rgba(0,0,0,.3);
    }
    .badge {
      position: absolute; top: -4px; ${side}: -4px; min-width: 20px; height: 20px; padding: 0 5px;
      border-radius: 10px; background: #c0392b; color: #fff; font-size: 12px; line-height: 20px;
      text-align: center;
    }
    .badge[hidden] { display: none; }
    .panel {
      bottom: 88px; width: 370px; max-width: calc(100vw - 40px); height: 560px;
      max-height: calc(100vh - 110px); background: #fff; border-radius: 12px;
      box-shadow: 0 4px 24px rgba(0,0,0,.25); display: none; flex-direction: column;
      overflow: hidden; color: #222;
    }
    .panel.open { display: flex; }
    .head {
      background: var(--brand); color: var(--on-brand); padding: 10px 12px; display: flex;
      align-items: center; gap: 8px;
    }
    .who { flex: 1; min-width: 0; }
    .title { font-weight: 600; font-size: 15px; }
    .status { font-size: 12px; opacity: .9; }
    .head button {
      border: 1px solid var(--on-brand); background: none; color: var(--on-brand);
      border-radius: 14px; padding: 4px 9px; cursor: pointer; font-size: 12px;
    }
    .x { border: 0 !important; font-size: 20px !important; line-height: 1; padding: 2px 6px !important; }
    .head { position: relative; }
    .head [hidden] { display: none; }
    .menu { position: absolute; top: 100%; right: 8px; z-index: 2; background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 4px; }
    .head .menu button { border: 0; color: #222; padding: 8px 10px; font-size: 14px; }
    .head .menu button:focus { background: #eee; }
    .log { flex: 1; overflow-y: auto; padding: 12px; background: #f7f7f5; }
    .row { display: flex; flex-direction: column; margin: 6px 0; }
    .row.me { align-items: flex-end; }
    .msg {
      padding: 8px 11px; border-radius: 10px; max-width: 85%; line-height: 1.4; font-size: 14px;
      overflow-wrap: anywhere;
    }
    .msg p { margin: 0 0 6px; }
    .msg p:last-child { margin: 0; }
    .msg a { color: inherit; }
    .me .msg { background: var(--brand); color: var(--on-brand); }
    .failed .msg { background: #fff; color: #222; border: 1px solid #b3261e; }
    .failed .meta { color: #b3261e; }
    .bot .msg, .agent .msg { background: #fff; border: 1px solid #e3e3de; }
    .agent .msg { border-color: var(--brand); }
    .pending .msg { opacity: .6; }
    .meta { font-size: 11px; color: #666; margin: 2px 4px; }
    .notice { font-size: 12px; color: #555; text-align: center; margin: 8px 0; }
    .acts { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
    .acts button, .form button {
      padding: 6px 10px; border: 1px solid var(--ink); background: #fff; color: var(--ink);
      border-radius: 14px; cursor: pointer; font-size: 13px; text-align: left;
    }
    .form {
      display: flex; flex-direction: column; gap: 6px; background: #fff;
      border: 1px solid #e3e3de; border-radius: 10px; padding: 10px; margin: 6px 0;
    }
    .form input, .form textarea { border: 1px solid #ccc; border-radius: 6px; padding: 7px; font-size: 14px; }
    .stars { display: flex; gap: 6px; }
    /* 32 px targets apart (WCAG 2.5.8); picked stars are filled, the others outlined. */
    .stars button {
      min-width: 32px; min-height: 32px; font-size: 24px; line-height: 1; border: 0; background: none;
      cursor: pointer; color: #595959; padding: 0;
    }
    .stars button[aria-pressed=true] { color: var(--ink); }
    .said { font-size: 12px; color: #b3261e; }
    .said:empty { display: none; }
    .typing { font-size: 12px; color: #555; padding: 0 12px 6px; min-height: 18px; background: #f7f7f5; }
    .compose { display: flex; flex-wrap: wrap; border-top: 1px solid #e3e3de; }
    /* Grows with what is typed, up to 40% of the screen; its focus ring is drawn inside it,
       where the panel's rounded edge cannot cut it off. */
    .compose textarea {
      flex: 1; border: 0; padding: 12px; font-size: 14px; resize: none; height: 46px;
      max-height: 40vh; overflow-y: auto;
    }
    .compose textarea:focus-visible { outline-offset: -3px; }
    .chosen { flex-basis: 100%; display: flex; align-items: center; gap: 6px; padding: 6px 12px 0; font-size: 13px; }
    .chosen[hidden], .clip[hidden] { display: none; }
    .compose .chosen button { border: 1px solid #ccc; border-radius: 50%; min-width: 28px; min-height: 28px; background: #fff; cursor: pointer; }
    .compose .clip { padding: 0 4px 0 10px; font-weight: normal; }
    .thumb { display: block; max-width: 100%; max-height: 180px; border-radius: 6px; }
    .msg progress { display: block; width: 100%; margin-top: 4px; }
    .msg .retry { margin-top: 6px; padding: 4px 10px; border: 1px solid currentColor; border-radius: 12px; background: #fff; color: #222; cursor: pointer; }
    .left { flex-basis: 100%; font-size: 12px; color: #555; padding: 0 12px 6px; }
    .left.over { color: #b3261e; font-weight: 600; }
    .left:empty { display: none; }
    .compose button {
      border: 0; background: #fff; color: var(--ink); font-weight: 600; padding: 0 14px; cursor: pointer;
    }
    button:focus-visible, textarea:focus-visible, input:focus-visible { outline: 2px solid #1a73e8; outline-offset: 1px; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    @media (max-width: 640px) {
      /* The screen the visitor sees (the visual viewport, followed from script), whatever the
         page does: a page wider than the screen, the on-screen keyboard, pinch zoom. */
      .launch {
        top: calc(var(--vv-top, 0px) + var(--vv-height, 100vh) - 76px); bottom: auto;
        ${side === "left" ? "left: calc(var(--vv-left, 0px) + 20px); right: auto;"
          : "left: calc(var(--vv-left, 0px) + var(--vv-width, 100vw) - 76px); right: auto;"}
      }
      .panel {
        left: var(--vv-left, 0); top: var(--vv-top, 0); right: auto; bottom: auto;
        width: var(--vv-width, 100vw); max-width: none; height: var(--vv-height, 100%);
        max-height: none; border-radius: 0;
      }
    }
    @media (prefers-reduced-motion: no-preference) {
      .panel.open { animation: in .15s ease-out; }
      @keyframes in { from { opacity: 0; transform: translateY(8px); } }
    }
  `;
}
