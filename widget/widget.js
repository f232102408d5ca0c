// frontdesk chat widget (minimal): one script tag, a launcher and a panel in a Shadow DOM.
// The protocol is docs/protocol.md; its frames are mirrored here:
//   visitor -> server: hello {token?, visitor_key?, user_id?, user_hash?, name?, email?, last_seq?, page?, tz?},
//                      message {text, client_id},
//                      choose {option}, request_human, feedback {seq, helpful}
//   server -> visitor: welcome {token, conversation, state, resumed, visitor_key?}, event {seq, kind, ...},
//                      queue {position, eta_seconds}, typing {from}, held {client_id, answer},
//                      ack {client_id, seq}, error {code, message}
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/ws";
  var KEY = "frontdesk:" + base.host;
  var saved = JSON.parse(localStorage.getItem(KEY) || "{}");
  // What the site tells us about a signed-in visitor (docs/widget.md): id + hash from its backend.
  var who = (window.frontdeskSettings && window.frontdeskSettings.visitor) || {};
  // Highest seq shown on this page: a fresh page (load, reload, navigation) shows nothing yet, so
  // it asks for the whole transcript; a reconnect asks only for what it missed.
  var lastSeq = 0;
  var pending = [];
  var ws, retry = 0;

  var host = document.createElement("div");
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var ICON = '<svg width="26" height="26" viewBox="0 0 24 24" fill="#fff" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  root.innerHTML =
    '<style>' +
    ':host{all:initial}*{box-sizing:border-box;font-family:system-ui,sans-serif}' +
    '.launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#3d5a40;color:#fff;display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3)}' +
    '.panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden}' +
    '.panel.open{display:flex}.head{background:#3d5a40;color:#fff;padding:12px 14px;font-weight:600}.status{font-weight:400;font-size:12px;opacity:.85}' +
    '.log{flex:1;overflow-y:auto;padding:12px;background:#f7f7f5}.msg{margin:6px 0;padding:8px 11px;border-radius:10px;max-width:85%;line-height:1.35;font-size:14px;word-wrap:break-word}' +
    '.me{background:#3d5a40;color:#fff;margin-left:auto}.bot{background:#fff;border:1px solid #e3e3de}.notice{font-size:12px;color:#666;text-align:center;margin:8px 0}' +
    '.opts button{display:block;margin:4px 0;padding:6px 10px;border:1px solid #3d5a40;background:#fff;color:#3d5a40;border-radius:14px;cursor:pointer;font-size:13px;text-align:left}' +
    'form{display:flex;border-top:1px solid #e3e3de}input{flex:1;border:0;padding:12px;font-size:14px}form button{border:0;background:#fff;color:#3d5a40;font-weight:600;padding:0 14px;cursor:pointer}' +
    '.human{border:0;background:none;color:#fff;text-decoration:underline;cursor:pointer;font-size:12px;float:right}' +
    '</style>' +
    '<button class="launch" aria-label="Open chat">' + ICON + '</button>' +
    '<div class="panel" role="dialog" aria-label="Chat"><div class="head">Larkspur help <button class="human">Talk to a person</button><div class="status">Connecting…</div></div>' +
    '<div class="log" aria-live="polite"></div><form><input placeholder="Type your question…" aria-label="Message" maxlength="2000"><button>Send</button></form></div>';
  var panel = root.querySelector(".panel"), log = root.querySelector(".log"), status = root.querySelector(".status");
  var input = root.querySelector("input");
  root.querySelector(".launch").onclick = function () { panel.classList.toggle("open"); if (panel.classList.contains("open")) input.focus(); };
  root.querySelector(".human").onclick = function () { send({ type: "request_human" }); };
  root.querySelector("form").onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ type: "message", text: text, client_id: Math.random().toString(36).slice(2) + Date.now().toString(36) });
  };

  function send(frame) {
    if (ws && ws.readyState === 1 && ws.ready) ws.send(JSON.stringify(frame));
    else pending.push(frame);
  }
  function add(cls, text, html) {
    var div = document.createElement("div");
    div.className = "msg " + cls;
    if (html) div.innerHTML = html; // server-rendered safe HTML (bot answers only)
    else div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function render(e) {
    if (e.kind === "visitor_message") add("me", e.text);
    else if (e.kind === "visitor_choice") add("me", e.title);
    else if (e.kind === "agent_message") add("bot", e.agent + ": " + e.text);
    else if (e.kind === "bot_answer") {
      var div = add("bot", null, e.html);
      if (e.options && e.options.length) {
        var opts = document.createElement("div");
        opts.className = "opts";
        e.options.forEach(function (o) {
          var b = document.createElement("button");
          b.textContent = o.title;
          b.onclick = function () { send({ type: "choose", option: o.id }); };
          opts.appendChild(b);
        });
        div.appendChild(opts);
      }
    } else if (e.kind === "notice") {
      var n = document.createElement("div");
      n.className = "notice";
      var k = e.notice.notice;
      n.textContent = k === "queued" ? "Waiting for a person…"
        : k === "assigned" ? e.notice.agent + " joined"
        : k === "back_to_bot" ? "You're back with the assistant"
        : k === "closed" ? "Conversation closed" : k;
      status.textContent = k === "queued" ? "Waiting for a person"
        : k === "assigned" ? "Talking to " + e.notice.agent
        : "Assistant · usually instant";
      log.appendChild(n);
    }
  }
  function connect() {
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      retry = 0;
      ws.send(JSON.stringify({ type: "hello", token: saved.token, visitor_key: saved.visitor_key,
        user_id: who.id, user_hash: who.hash, name: who.name, email: who.email,
        last_seq: lastSeq, page: location.pathname,
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone }));
    };
    ws.onmessage = function (m) {
      var f = JSON.parse(m.data);
      if (f.type === "welcome") {
        if (!f.resumed) { lastSeq = 0; log.innerHTML = ""; }
        saved.token = f.token;
        if (f.visitor_key) saved.visitor_key = f.visitor_key;
        localStorage.setItem(KEY, JSON.stringify({ token: f.token, visitor_key: saved.visitor_key }));
        status.textContent = f.state === "bot" ? "Assistant · usually instant" : "Waiting for a person";
        ws.ready = true;
        pending.splice(0).forEach(send);
      } else if (f.type === "event") {
        if (f.seq <= lastSeq) return;
        lastSeq = f.seq;
        render(f);
      } else if (f.type === "queue") {
        status.textContent = "Waiting · #" + f.position + " in line" +
          (f.eta_seconds != null ? ", about " + Math.max(1, Math.ceil(f.eta_seconds / 60)) + " min" : "");
      } else if (f.type === "typing") {
        status.textContent = f.from + " is typing…";
      } else if (f.type === "held") {
        // The server could not save yet: show the bot's answer now; the saved copy follows.
        add("bot held", null, f.answer.html);
      } else if (f.type === "error") {
        console.warn("frontdesk:", f.code, f.message);
      }
    };
    ws.onclose = function () {
      status.textContent = "Reconnecting…";
      var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
