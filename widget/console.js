// frontdesk agent console: plain JavaScript over /ws/agent (docs/protocol.md, "The agent
// protocol"). Frames, mirrored:
//   console -> server: presence {status}, open {conversation, last_seq?}, claim,
//                      reply {text, client_id}, note {text, client_id}, typing, transfer {agent | team}, hand_back,
//                      close {resolution?}, followed_up   (all with {conversation})
//   server -> console: welcome {agent, canned}, queue {items}, chats {items}, follow_ups {items},
//                      agents {items}, conversation {..., earlier}, conversation_event
//                      {conversation, event}, typing {conversation},
//                      error {code, message, conversation?, client_id?}
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var onLogin = location.pathname === "/agent/login";

  if (onLogin) {
    var form = $("login");
    form.classList.remove("hidden");
    form.elements.id.focus();
    form.onsubmit = function (e) {
      e.preventDefault();
      fetch("/api/agent/login", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ id: form.elements.id.value, password: form.elements.password.value }) })
        .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) {
          if (res[0]) location.href = "/agent";
          else form.querySelector(".error").textContent = res[1].message || "Sign in failed";
        })
        .catch(function () { form.querySelector(".error").textContent = "The server cannot be reached"; });
    };
    return;
  }

  $("app").classList.remove("hidden");
  var me = null, canned = [], team = [], current = null;
  var queue = [], mine = [], followUps = [];
  // Per conversation: header, events seen (by seq), unread count.
  var convs = {};
  var knownWaiting = null, ws, retry = 0, lastTyping = 0, baseTitle = document.title;
  // Replies and notes not yet confirmed by the server: kept across reloads and resent after every
  // (re)connect with the same client_id, which the server never stores twice. One the server
  // refused keeps its text and the reason (`refused`) until the agent dismisses it.
  var outbox = [];
  function saveOutbox() { save("outbox", outbox); }
  // What this agent has read (the last seq seen, per conversation) and which chat was open: a
  // reload reopens it and counts as unread only what arrived since.
  var read = {};
  // This agent's own copy of `name` in this browser (private mode: nothing kept).
  function saved(name, fallback) {
    try { return JSON.parse(localStorage.getItem("frontdesk:agent-" + name + ":" + me.id)) || fallback; } catch (e) { return fallback; }
  }
  function save(name, value) { try { localStorage.setItem("frontdesk:agent-" + name + ":" + me.id, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  function markRead(c) {
    if ((read[c.id] || 0) >= c.lastSeq) return;
    read[c.id] = c.lastSeq; save("read", read);
  }

  // `refused`: actions on the conversation the server refused ({what, message}), shown until
  // dismissed; `asked`: the last action asked, to name a refusal.
  function conv(id) { return convs[id] || (convs[id] = { id: id, events: {}, lastSeq: 0, unread: 0, header: null, earlier: [], refused: [], asked: null }); }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text != null) n.textContent = text; return n; }
  /** "es" or "es-MX" as the agent reads it ("Spanish", "Spanish (Mexico)"); the code itself
   *  when the browser cannot name it. */
  function languageName(code) {
    try { return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code; } catch (e) { return code; }
  }
  function send(frame) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame)); }
  function ago(ms) { var s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + " s" : Math.round(s / 60) + " min"; }
  function reasonBadge(reason) {
    var r = reason || "";
    var kind = r === "visitor_asked" ? ["asked", "asked"] : r === "frustrated" ? ["frustrated", "frustrated"]
      : r === "repeated_misses" ? ["misses", "repeated misses"] : r.indexOf("rule:") === 0 ? ["rule", r]
      : r.indexOf("team:") === 0 ? ["rule", r] : [r ? "" : "offline", r || "offline message"];
    return el("span", "badge " + kind[0], kind[1]);
  }
  function who(v) { return (v && (v.name || v.email || v.user_id)) || "Visitor"; }

  // ---- notifications: sound, title badge, browser notification for new waiting visitors ----
  function alertNewVisitors(items) {
    var ids = items.map(function (i) { return i.conversation; });
    if (knownWaiting) {
      var fresh = items.filter(function (i) { return knownWaiting.indexOf(i.conversation) < 0; });
      if (fresh.length) {
        beep();
        if (window.Notification && Notification.permission === "granted" && document.hidden) {
          new Notification("A visitor is waiting", { body: fresh[0].first_message || who(fresh[0].visitor) });
        }
      }
    }
    knownWaiting = ids;
    document.title = (items.length ? "(" + items.length + ") " : "") + baseTitle;
  }
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)(), o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.05; o.connect(g); g.connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: the title badge still shows */ }
  }
  if (window.Notification && Notification.permission === "default") {
    document.addEventListener("click", function ask() { Notification.requestPermission(); document.removeEventListener("click", ask); });
  }

  // ---- lists ----
  // How long each waits, kept current between list changes (updated in place: no re-render).
  function waitBadge(since) {
    var b = el("span", "badge wait", since ? ago(since) : "");
    if (since) b.dataset.since = String(since);
    return b;
  }
  setInterval(function () {
    document.querySelectorAll(".wait[data-since]").forEach(function (b) { b.textContent = ago(Number(b.dataset.since)); });
  }, 15000);
  function renderLists() {
    $("qcount").textContent = String(queue.length);
    var q = $("queue"); q.innerHTML = "";
    if (!queue.length) q.appendChild(el("div", "empty", "Nobody is waiting."));
    queue.forEach(function (i) {
      var b = el("button", "item" + (current === i.conversation ? " current" : ""));
      b.type = "button"; b.dataset.conversation = i.conversation;
      var line = el("div", "line"); line.append(el("span", "name", "#" + i.position + " " + who(i.visitor)), reasonBadge(i.reason),
        waitBadge(i.waiting_since));
      b.append(line, el("div", "first", i.first_message || "(no message yet)"));
      if (i.language) b.appendChild(el("div", "first", "in " + languageName(i.language)));
      if (i.visitor && i.visitor.page) b.appendChild(el("div", "first", "on " + i.visitor.page));
      b.onclick = function () { openConv(i.conversation); };
      q.appendChild(b);
    });
    var m = $("mine"); m.innerHTML = "";
    if (!mine.length) m.appendChild(el("div", "empty", "No chats yet."));
    mine.forEach(function (c) {
      var b = el("button", "item" + (current === c.conversation ? " current" : ""));
      b.type = "button"; b.dataset.conversation = c.conversation;
      var line = el("div", "line"); line.append(el("span", "name", who(c.visitor)), reasonBadge(c.reason));
      var u = conv(c.conversation).unread;
      if (u) line.appendChild(el("span", "badge unread", String(u)));
      b.appendChild(line);
      // The last thing said, and when: rows of several "Visitor"s are told apart at a glance.
      var last = lastMessage(conv(c.conversation));
      if (last) b.appendChild(el("div", "first", new Date(last.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + " · " + (last.text || last.title || "")));
      b.onclick = function () { openConv(c.conversation); };
      m.appendChild(b);
    });
    var f = $("followups"); f.innerHTML = "";
    if (!followUps.length) f.appendChild(el("div", "empty", "None."));
    followUps.forEach(function (c) {
      var b = el("button", "item"); b.type = "button"; b.dataset.conversation = c.conversation;
      b.append(el("div", "name", who(c.visitor)), el("div", "first", "offline message"));
      b.onclick = function () { openConv(c.conversation); };
      f.appendChild(b);
    });
  }

  // ---- the open conversation ----
  function openConv(id) {
    current = id;
    var c = conv(id);
    c.unread = 0;
    markRead(c);
    save("open", id);
    c.asked = "open";
    send({ type: "open", conversation: id, last_seq: c.lastSeq });
    renderChat();
    renderLists();
    $("text").focus();
  }
  function isMine(id) { return mine.some(function (c) { return c.conversation === id; }); }
  function renderChat() {
    var c = current && conv(current);
    ["top", "log", "composer"].forEach(function (x) { $(x).classList.toggle("hidden", !c); });
    $("placeholder").classList.toggle("hidden", !!c);
    if (!c) return;
    var h = c.header || {};
    var offline = offlineMessage(c);
    var known = Object.assign({}, h.visitor || {});
    if (!known.email && offline) known.email = offline.email;
    $("title").textContent = who(known) + " · " + (h.state || "");
    var why = $("why"); why.innerHTML = "";
    if (offline) {
      // An offline message: what to do is write back.
      var mail = el("a", null, offline.email); mail.href = "mailto:" + offline.email;
      why.append("Offline message · reply by e-mail to ", mail);
    } else if (h.reason) {
      why.textContent = "Why the bot let go: " + reasonText(h.reason) +
        (h.frustration > 0 ? " · frustration " + Number(h.frustration).toFixed(2) : "");
    }
    var queued = h.state === "queued", owned = isMine(current);
    $("claim").classList.toggle("hidden", !queued);
    ["transfer", "dotransfer", "handback", "resolution", "close"].forEach(function (x) { $(x).classList.toggle("hidden", !owned); });
    $("followed").classList.toggle("hidden", !h.needs_follow_up);
    text.placeholder = owned ? "Reply… (Enter sends, Shift+Enter for a new line, / for canned replies)"
      : offline ? "This is an offline message: reply by e-mail, or write an internal note"
      : "Claim this chat to reply, or write an internal note";
    var t = $("transfer"); t.innerHTML = "";
    t.appendChild(new Option("Transfer to…", ""));
    t.appendChild(new Option("Back to the queue (anyone)", "queue"));
    $("dotransfer").disabled = true;
    team.filter(function (a) { return me && a.id !== me.id; }).forEach(function (a) {
      t.appendChild(new Option(a.name + " (" + a.presence + ", " + a.chats + "/" + a.capacity + ")", "agent:" + a.id));
    });
    var teams = {};
    team.forEach(function (a) { a.teams.forEach(function (x) { teams[x] = 1; }); });
    Object.keys(teams).forEach(function (x) { t.appendChild(new Option("Team " + x, "team:" + x)); });
    var log = $("log"); log.innerHTML = "";
    inOrder(c).forEach(function (e) { log.appendChild(renderEvent(e)); });
    outbox.filter(function (o) { return o.conversation === current; }).forEach(function (o) {
      log.appendChild(o.refused ? refusedWriting(o) : el("div", "ev pending " + (o.type === "note" ? "note" : "agent")));
      if (!o.refused) log.lastChild.append(el("div", "who", "sending…"), el("div", "body", o.text));
    });
    log.scrollTop = log.scrollHeight;
    var r = $("refusals"); r.innerHTML = "";
    c.refused.forEach(function (x, i) {
      var box = el("div", "refusal");
      box.setAttribute("role", "alert");
      box.appendChild(el("span", null, x.what + ": " + x.message));
      box.appendChild(dismiss(function () { c.refused.splice(i, 1); renderChat(); }));
      r.appendChild(box);
    });
    var v = $("visitor"); v.innerHTML = "";
    var info = Object.assign({}, h.visitor || {});
    if (!info.email && offline) info.email = offline.email;
    var spoken = h.language || info.locale;
    [["Name", info.name], ["E-mail", info.email], ["Verified id", info.user_id], ["Page", info.page], ["Time zone", info.tz], ["Language", spoken && languageName(spoken)]]
      .forEach(function (p) {
        if (!p[1]) return;
        var dd = el("dd", null, p[0] === "E-mail" ? null : p[1]);
        if (p[0] === "E-mail") { var a = el("a", null, p[1]); a.href = "mailto:" + p[1]; dd.appendChild(a); }
        v.append(el("dt", null, p[0]), dd);
      });
    var e = $("earlier"); e.innerHTML = "";
    if (!c.earlier.length) e.appendChild(el("div", "empty", "None."));
    c.earlier.forEach(function (x) {
      var b = el("button", "item"); b.type = "button";
      b.append(el("div", "name", new Date(x.created).toLocaleString() + " · " + x.state), el("div", "first", x.first_message || ""));
      b.onclick = function () { openConv(x.conversation); };
      e.appendChild(b);
    });
  }
  function dismiss(then) {
    var b = el("button", "dismiss", "Dismiss"); b.type = "button"; b.onclick = then;
    return b;
  }
  /** A reply or note the server refused: its text, why, and a way to write it again. */
  function refusedWriting(o) {
    var d = el("div", "ev refused " + (o.type === "note" ? "note" : "agent"));
    d.setAttribute("role", "alert");
    d.appendChild(el("div", "who", (o.type === "note" ? "Note" : "Reply") + " not sent: " + o.refused));
    d.appendChild(el("div", "body", o.text));
    var again = el("button", null, "Edit again"); again.type = "button";
    var forget = function () { outbox = outbox.filter(function (x) { return x !== o; }); saveOutbox(); renderChat(); };
    again.onclick = function () { text.value = o.text; forget(); text.focus(); };
    var row = el("div", "fix"); row.append(again, dismiss(forget));
    d.appendChild(row);
    return d;
  }
  /** What the server refused, in the words of the action asked. */
  var ASKED = {
    claim: "Not claimed", hand_back: "Not handed back", close: "Not closed", transfer: "Not transferred",
    followed_up: "Not marked as followed up", open: "Cannot open this conversation"
  };
  function refused(f) {
    var o = f.client_id && outbox.find(function (x) { return x.client_id === f.client_id; });
    if (o) {
      o.refused = f.message; saveOutbox();
    } else if (f.conversation) {
      var c = conv(f.conversation);
      if (c.asked === "open" && f.code === "not_found") {
        // The chat open before a reload is gone (erased): open nothing.
        if (current === c.id) { current = null; save("open", null); renderChat(); }
        return;
      }
      c.refused.push({ what: ASKED[c.asked] || "Refused", message: f.message });
    } else {
      var box = $("alerts"), line = el("div", "refusal");
      line.setAttribute("role", "alert");
      line.append(el("span", null, f.message), dismiss(function () { line.remove(); }));
      box.appendChild(line);
      return;
    }
    if (f.conversation === current) renderChat();
  }
  /** A conversation's events received so far, oldest first. */
  function inOrder(c) {
    return Object.keys(c.events).map(Number).sort(function (a, b) { return a - b; }).map(function (s) { return c.events[s]; });
  }
  /** The newest of `c`'s events whose kind is one of `kinds`, if any. */
  function latest(c, kinds) {
    var found = inOrder(c).filter(function (e) { return kinds.indexOf(e.kind) >= 0; });
    return found.length ? found[found.length - 1] : null;
  }
  /** The conversation's last message from the visitor or an agent, if one has arrived. */
  function lastMessage(c) { return latest(c, ["visitor_message", "agent_message", "visitor_choice"]); }
  /** The conversation's latest offline message ({email, text}), if it has one. */
  function offlineMessage(c) { return latest(c, ["offline_message"]); }
  /** A handoff reason as a person says it. */
  function reasonText(reason) {
    var kind = String(reason).split(":")[0], id = String(reason).split(":").slice(1).join(":");
    return ({
      visitor_asked: "the visitor asked for a person", frustrated: "the visitor seemed frustrated",
      repeated_misses: "the bot missed several times in a row", rule: "rule " + id,
      faq: "FAQ " + id + " is answered by people", team: "sent to team " + id,
      transfer: "an agent put it back in the queue", agent_left: "the agent went offline",
      not_answered: "the assigned agent did not answer"
    })[kind] || reason;
  }
  /** One line on why the bot said this: which FAQ or rule, how sure, the words, the runner-up. */
  function explainLine(x) {
    if (x.asked_for_person) return "Asked for a person (\u201c" + x.asked_for_person + "\u201d)";
    if (x.rule) return "Rule " + x.rule[0] + " (\u201c" + x.rule[1] + "\u201d)";
    var c = x.candidates || [];
    if (!c.length) return "No FAQ came close";
    var line = "FAQ " + c[0].faq + " · " + Math.round(c[0].confidence * 100) + "% sure";
    if (x.matched_terms && x.matched_terms.length) line += " · matched: " + x.matched_terms.join(", ");
    if (c[1] && c[1].confidence >= 0.05) line += " · runner-up: " + c[1].faq + " " + Math.round(c[1].confidence * 100) + "%";
    if (x.split) line += " · two questions: \u201c" + x.split.join("\u201d + \u201c") + "\u201d (the other offered)";
    if (x.corrections && x.corrections.length) line += " · read " + x.corrections.map(function (p) { return p[0] + " as " + p[1]; }).join(", ");
    if (x.language) line += " · read in " + languageName(x.language.code);
    return line;
  }
  function renderEvent(e) {
    var k = e.kind, d, body;
    if (k === "notice") {
      var n = e.notice;
      return el("div", "ev sys", n.notice === "queued" ? "Waiting for a person: " + reasonText(n.reason)
        : n.notice === "assigned" ? "Assigned to " + n.agent : n.notice === "back_to_bot" ? "Handed back to the bot"
        : "Closed" + (n.resolution ? " (" + n.resolution + ")" : ""));
    }
    if (k === "feedback") return el("div", "ev sys", "Visitor found answer #" + e.answer_seq + (e.helpful ? " helpful" : " NOT helpful"));
    if (k === "rating") return el("div", "ev sys", "Rated " + e.score + "/5" + (e.comment ? ": " + e.comment : ""));
    var cls = k === "visitor_message" || k === "visitor_choice" || k === "offline_message" ? "visitor"
      : k === "bot_answer" ? "bot" : k === "note" ? "note" : "agent";
    d = el("div", "ev " + cls);
    var label = cls === "visitor" ? "Visitor" : cls === "bot" ? "Bot · " + e.decision : k === "note" ? "Note · " + e.agent : e.agent;
    d.appendChild(el("div", "who", label + " · " + new Date(e.at).toLocaleTimeString()));
    body = el("div", "body");
    if (k === "bot_answer") body.innerHTML = e.html; // server-rendered, sanitised
    else if (k === "visitor_choice") body.textContent = "Picked: " + e.title;
    else if (k === "offline_message") {
      var mail = el("a", null, e.email); mail.href = "mailto:" + e.email;
      body.append(e.text, el("br"), "— reply to ", mail);
    } else body.textContent = e.text;
    d.appendChild(body);
    if (k === "bot_answer" && e.options && e.options.length) {
      // What the visitor saw as buttons.
      d.appendChild(el("div", "options", "Options shown: " + e.options.map(function (o) { return o.title; }).join(" · ")));
    }
    if (e.explanation) {
      d.appendChild(el("div", "explain", explainLine(e.explanation)));
      var det = el("details"); det.appendChild(el("summary", null, "Details"));
      det.appendChild(el("pre", null, JSON.stringify(e.explanation, function (key, value) {
        return typeof value === "number" ? Math.round(value * 100) / 100 : value;
      }, 2)));
      d.appendChild(det);
    }
    return d;
  }

  // ---- actions ----
  function act(type, extra) {
    if (!current) return;
    if (type !== "typing") conv(current).asked = type;
    send(Object.assign({ type: type, conversation: current }, extra || {}));
  }
  $("claim").onclick = function () { act("claim"); };
  $("handback").onclick = function () { act("hand_back"); };
  $("close").onclick = function () { act("close", { resolution: $("resolution").value }); };
  $("followed").onclick = function () { act("followed_up"); };
  // Choosing a target arms the button; the button transfers (a stray selection does nothing).
  $("transfer").onchange = function () { $("dotransfer").disabled = !this.value; };
  $("dotransfer").onclick = function () {
    var v = $("transfer").value; if (!v) return;
    act("transfer", v === "queue" ? {} : v.indexOf("agent:") === 0 ? { agent: v.slice(6) } : { team: v.slice(5) });
    $("transfer").value = ""; this.disabled = true;
  };
  $("presence").onchange = function () { send({ type: "presence", status: this.value }); };
  $("logout").onclick = function () { fetch("/api/agent/logout", { method: "POST" }).finally(function () { location.href = "/agent/login"; }); };
  $("asnote").onchange = function () { $("composer").classList.toggle("note", this.checked); };
  var text = $("text"), cannedBox = $("canned"), cannedSel = 0;
  function cannedMatches() {
    var q = text.value.slice(1).toLowerCase();
    return canned.map(inLanguage)
      .filter(function (c) { return (c.id + " " + c.title + " " + c.original).toLowerCase().indexOf(q) >= 0; });
  }
  /** Canned reply `c` in the open conversation's language, when it has that translation. */
  function inLanguage(c) {
    var h = current && convs[current] && convs[current].header;
    var code = String((h && h.language) || "").toLowerCase().split(/[-_]/)[0];
    var t = (c.translations || []).filter(function (x) { return x.language === code; })[0];
    return { id: c.id, original: c.title, title: t ? t.title : c.title, text: t ? t.text : c.text, language: t ? t.language : null };
  }
  function showCanned() {
    var open = text.value.charAt(0) === "/" && text.value.indexOf("\n") < 0;
    cannedBox.classList.toggle("open", open);
    if (!open) return;
    var list = cannedMatches(); cannedBox.innerHTML = "";
    cannedSel = Math.min(cannedSel, Math.max(0, list.length - 1));
    list.forEach(function (c, i) {
      var b = el("button", i === cannedSel ? "sel" : "", "/" + c.id + " — " + c.title + (c.language ? " (" + languageName(c.language) + ")" : "")); b.type = "button"; b.setAttribute("role", "option");
      b.onclick = function () { pickCanned(c); };
      cannedBox.appendChild(b);
    });
  }
  function pickCanned(c) { text.value = c.text; cannedBox.classList.remove("open"); text.focus(); }
  text.addEventListener("input", function () {
    showCanned();
    if (current && isMine(current) && Date.now() - lastTyping > 3000 && !$("asnote").checked) { lastTyping = Date.now(); act("typing"); }
  });
  text.addEventListener("keydown", function (e) {
    if (cannedBox.classList.contains("open")) {
      var list = cannedMatches();
      if (e.key === "ArrowDown") { cannedSel = Math.min(cannedSel + 1, list.length - 1); showCanned(); e.preventDefault(); return; }
      if (e.key === "ArrowUp") { cannedSel = Math.max(cannedSel - 1, 0); showCanned(); e.preventDefault(); return; }
      if (e.key === "Enter" && list[cannedSel]) { pickCanned(list[cannedSel]); e.preventDefault(); return; }
      if (e.key === "Escape") { cannedBox.classList.remove("open"); return; }
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  $("composer").onsubmit = function (e) { e.preventDefault(); submit(); };
  function submit() {
    var t = text.value.trim();
    if (!t || !current) return;
    var frame = { type: $("asnote").checked ? "note" : "reply", conversation: current, text: t,
      client_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) };
    outbox.push(frame);
    saveOutbox();
    send(frame);
    text.value = "";
    renderChat();
  }

  // ---- the socket ----
  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent");
    ws.onopen = function () { retry = 0; $("conn").textContent = "connected"; };
    ws.onmessage = function (m) {
      var f = JSON.parse(m.data), c;
      if (f.type === "welcome") {
        me = f.agent; canned = f.canned || [];
        $("me").textContent = me.name;
        outbox = saved("outbox", []);
        read = saved("read", {});
        outbox.forEach(function (o) { if (!o.refused) send(o); });
        // After a reconnect, catch up on the open conversation from where this page stopped;
        // after a reload, reopen the chat that was open.
        if (current) send({ type: "open", conversation: current, last_seq: conv(current).lastSeq });
        else if (saved("open", null)) openConv(saved("open", null));
        send({ type: "presence", status: $("presence").value });
      } else if (f.type === "queue") {
        queue = f.items; alertNewVisitors(queue); renderLists();
        if (current) renderChat();
      } else if (f.type === "chats") {
        mine = f.items;
        renderLists(); if (current) renderChat();
      } else if (f.type === "follow_ups") {
        followUps = f.items; renderLists();
      } else if (f.type === "agents") {
        team = f.items; if (current) renderChat();
      } else if (f.type === "conversation") {
        c = conv(f.conversation); c.header = f; c.earlier = f.earlier || [];
        if (f.conversation === current) renderChat();
      } else if (f.type === "conversation_event") {
        c = conv(f.conversation);
        if (c.events[f.event.seq]) return; // already shown: nothing doubles
        c.events[f.event.seq] = f.event;
        c.lastSeq = Math.max(c.lastSeq, f.event.seq);
        if (f.event.client_id && (f.event.kind === "agent_message" || f.event.kind === "note")) {
          outbox = outbox.filter(function (o) { return o.client_id !== f.event.client_id; });
          saveOutbox();
        }
        if (f.event.kind === "notice" && c.header) {
          var n = f.event.notice.notice;
          c.header.state = n === "queued" ? "queued" : n === "assigned" ? "assigned" : n === "back_to_bot" ? "bot" : "closed";
        }
        if (f.conversation === current) {
          markRead(c);
          var log = $("log"), atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
          renderChat();
          if (!atEnd) log.scrollTop = log.scrollTop;
          $("typing").textContent = "";
          if (/_message$|_choice$/.test(f.event.kind) && isMine(f.conversation)) renderLists();
        } else if (f.event.kind === "visitor_message" && f.event.seq > (read[f.conversation] || 0)) {
          c.unread++; renderLists();
        }
      } else if (f.type === "typing") {
        if (f.conversation === current) {
          $("typing").textContent = "The visitor is typing…";
          setTimeout(function () { $("typing").textContent = ""; }, 4000);
        }
      } else if (f.type === "error") {
        refused(f);
      }
    };
    ws.onclose = function (e) {
      $("conn").textContent = "reconnecting…";
      // The session expired or was ended: back to the sign-in page.
      fetch("/api/agent/me").then(function (r) {
        if (r.status === 401) { location.href = "/agent/login"; return; }
        var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
        setTimeout(connect, delay);
      }).catch(function () { setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, retry++))); });
    };
  }
  connect();
})();
