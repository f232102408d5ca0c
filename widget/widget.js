// frontdesk chat widget: one script tag, a launcher and a panel in a Shadow DOM, no framework.
// Install and settings: docs/widget.md. The protocol is docs/protocol.md; its frames, mirrored:
//   visitor -> server: hello {token?, visitor_key?, user_id?, user_hash?, name?, email?, last_seq?,
//                      page?, tz?, locale?}, message {text, client_id}, typing, choose {option},
//                      request_human, feedback {seq, helpful}, rate {score, comment?},
//                      leave_message {email, text}
//   server -> visitor: welcome {token, conversation, state, resumed, visitor_key?, language?},
//                      event {seq, at, kind, ..., lang? (bot answers)}, queue {position, eta_seconds},
//                      typing {from}, held {client_id, answer}, ack {client_id, seq},
//                      error {code, message}
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/ws";
  var settings = window.frontdeskSettings || {};
  // The widget's own texts per language. The visitor's language (settings.language, else the
  // browser's) picks the first and is sent as the locale; the conversation's language, which
  // the server tells among the knowledge base's (welcome, each bot answer), then rules.
  // settings.texts overrides any of them on every language.
  var TEXTS = {};
  TEXTS.en = {
    title: "Help", greeting: "Hi! Ask me anything about your order, shipping or returns.",
    placeholder: "Type your question…", send: "Send", human: "Talk to a person",
    bot: "Assistant · usually instant", waiting: "Waiting for a person", reconnecting: "Reconnecting…",
    helpful: "Was this helpful?", yes: "Yes", no: "No", thanks: "Thanks for the feedback!",
    rate: "How did we do?", comment: "Anything to add? (optional)", rated: "Thank you!",
    email: "Your e-mail", message: "Your message", leave: "Send message", open: "Open chat", close: "Close chat",
    unread: "unread", yesLabel: "Yes, this answer helped", noLabel: "No, this answer did not help",
    closed: "Conversation closed", back: "You're back with the assistant", joined: "joined",
    talking: "Talking to", assigned: "will be with you shortly",
    requeued: "Sorry for the wait: finding someone else to help you", transferred: "Passing you to a colleague…",
    tooLong: "Not sent: this message is too long. Shorten it and send again.",
    notSent: "Not sent. Please try again.", later: "Sending in a moment…",
    inLine: "in line", longer: "taking longer than expected, sorry", waited: "waiting {n} min",
    sentMessage: "Message sent: we'll reply to", about: ", about {n} min"
  };
  TEXTS.de = {
    title: "Hilfe", greeting: "Hallo! Fragen Sie mich alles zu Bestellung, Versand oder Rücksendung.",
    placeholder: "Ihre Frage…", send: "Senden", human: "Mit einem Menschen sprechen",
    bot: "Assistent · antwortet sofort", waiting: "Warten auf einen Menschen", reconnecting: "Verbinde neu…",
    helpful: "War das hilfreich?", yes: "Ja", no: "Nein", thanks: "Danke für Ihr Feedback!",
    rate: "Wie waren wir?", comment: "Möchten Sie etwas ergänzen? (optional)", rated: "Vielen Dank!",
    email: "Ihre E-Mail", message: "Ihre Nachricht", leave: "Nachricht senden", open: "Chat öffnen", close: "Chat schließen",
    unread: "ungelesen", yesLabel: "Ja, diese Antwort hat geholfen", noLabel: "Nein, diese Antwort hat nicht geholfen",
    closed: "Gespräch beendet", back: "Sie sind wieder beim Assistenten", joined: "ist da",
    talking: "Im Gespräch mit", assigned: "ist gleich für Sie da",
    requeued: "Entschuldigen Sie die Wartezeit: wir suchen jemand anderen für Sie", transferred: "Wir verbinden Sie mit einer Kollegin oder einem Kollegen…",
    tooLong: "Nicht gesendet: die Nachricht ist zu lang. Kürzen Sie sie und senden Sie erneut.",
    notSent: "Nicht gesendet. Bitte versuchen Sie es noch einmal.", later: "Wird gleich gesendet…",
    inLine: "in der Warteschlange", longer: "dauert länger als erwartet, Entschuldigung", waited: "wartet seit {n} Min.",
    sentMessage: "Nachricht gesendet: wir antworten an", about: ", etwa {n} Min."
  };
  TEXTS.es = {
    title: "Ayuda", greeting: "¡Hola! Pregúntame lo que quieras sobre tu pedido, envíos o devoluciones.",
    placeholder: "Escribe tu pregunta…", send: "Enviar", human: "Hablar con una persona",
    bot: "Asistente · responde al momento", waiting: "Esperando a una persona", reconnecting: "Reconectando…",
    helpful: "¿Te ha servido?", yes: "Sí", no: "No", thanks: "¡Gracias por tu opinión!",
    rate: "¿Qué tal lo hemos hecho?", comment: "¿Algo más que añadir? (opcional)", rated: "¡Gracias!",
    email: "Tu correo", message: "Tu mensaje", leave: "Enviar mensaje", open: "Abrir chat", close: "Cerrar chat",
    unread: "sin leer", yesLabel: "Sí, esta respuesta me ha servido", noLabel: "No, esta respuesta no me ha servido",
    closed: "Conversación cerrada", back: "Vuelves a hablar con el asistente", joined: "se ha unido",
    talking: "Hablando con", assigned: "te atenderá enseguida",
    requeued: "Perdona la espera: buscamos a otra persona para ayudarte", transferred: "Te pasamos con un compañero…",
    tooLong: "No enviado: el mensaje es demasiado largo. Acórtalo y envíalo de nuevo.",
    notSent: "No enviado. Inténtalo de nuevo.", later: "Se enviará en un momento…",
    inLine: "en la cola", longer: "tarda más de lo previsto, perdona", waited: "esperando {n} min",
    sentMessage: "Mensaje enviado: te responderemos a", about: ", unos {n} min"
  };
  TEXTS.fr = {
    title: "Aide", greeting: "Bonjour ! Posez-moi vos questions sur votre commande, la livraison ou les retours.",
    placeholder: "Votre question…", send: "Envoyer", human: "Parler à une personne",
    bot: "Assistant · répond tout de suite", waiting: "En attente d'une personne", reconnecting: "Reconnexion…",
    helpful: "Cela vous a-t-il aidé ?", yes: "Oui", no: "Non", thanks: "Merci pour votre avis !",
    rate: "Comment s'est passé l'échange ?", comment: "Quelque chose à ajouter ? (facultatif)", rated: "Merci !",
    email: "Votre e-mail", message: "Votre message", leave: "Envoyer le message", open: "Ouvrir le chat", close: "Fermer le chat",
    unread: "non lus", yesLabel: "Oui, cette réponse m'a aidé", noLabel: "Non, cette réponse ne m'a pas aidé",
    closed: "Conversation terminée", back: "Vous êtes de retour avec l'assistant", joined: "a rejoint",
    talking: "En conversation avec", assigned: "arrive dans un instant",
    requeued: "Désolé pour l'attente : nous cherchons quelqu'un d'autre", transferred: "Nous vous passons un collègue…",
    tooLong: "Non envoyé : le message est trop long. Raccourcissez-le et renvoyez-le.",
    notSent: "Non envoyé. Veuillez réessayer.", later: "Envoi dans un instant…",
    inLine: "dans la file", longer: "plus long que prévu, désolé", waited: "attente {n} min",
    sentMessage: "Message envoyé : nous répondrons à", about: ", environ {n} min"
  };
  TEXTS.nl = {
    title: "Hulp", greeting: "Hallo! Vraag me alles over uw bestelling, verzending of retouren.",
    placeholder: "Uw vraag…", send: "Versturen", human: "Met een medewerker praten",
    bot: "Assistent · antwoordt meteen", waiting: "Wachten op een medewerker", reconnecting: "Opnieuw verbinden…",
    helpful: "Had u hier iets aan?", yes: "Ja", no: "Nee", thanks: "Bedankt voor uw feedback!",
    rate: "Hoe hebben we het gedaan?", comment: "Nog iets toe te voegen? (optioneel)", rated: "Dank u!",
    email: "Uw e-mail", message: "Uw bericht", leave: "Bericht versturen", open: "Chat openen", close: "Chat sluiten",
    unread: "ongelezen", yesLabel: "Ja, dit antwoord hielp", noLabel: "Nee, dit antwoord hielp niet",
    closed: "Gesprek gesloten", back: "U bent weer bij de assistent", joined: "is erbij",
    talking: "In gesprek met", assigned: "helpt u zo",
    requeued: "Sorry voor het wachten: we zoeken iemand anders voor u", transferred: "We verbinden u met een collega…",
    tooLong: "Niet verstuurd: dit bericht is te lang. Maak het korter en verstuur het opnieuw.",
    notSent: "Niet verstuurd. Probeer het opnieuw.", later: "Wordt zo verstuurd…",
    inLine: "in de rij", longer: "duurt langer dan verwacht, sorry", waited: "wacht {n} min",
    sentMessage: "Bericht verstuurd: we antwoorden naar", about: ", ongeveer {n} min"
  };
  /** The first language of `tag` ("es-MX" -> "es") that the widget has texts for, else English. */
  function languageOf(tag) {
    var code = String(tag || "").toLowerCase().split(/[-_]/)[0];
    return TEXTS[code] ? code : "en";
  }
  var pageLanguage = settings.language || navigator.language || document.documentElement.lang || "en";
  var lang = languageOf(pageLanguage);
  var T = textsIn(lang);
  /** The texts of language `code`: the built-in ones, then the site's (settings.texts: keys for
   *  every language, and per language under its code, e.g. texts.es.greeting). */
  function textsIn(code) {
    var site = settings.texts || {}, shared = {};
    Object.keys(site).forEach(function (k) { if (typeof site[k] === "string") shared[k] = site[k]; });
    return Object.assign({}, TEXTS.en, TEXTS[code], shared, site[code] || {});
  }
  var color = /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(settings.color || "") ? settings.color : "#3d5a40";
  // Text on the brand colour, and the brand colour as text on white, both readable (WCAG AA,
  // 4.5:1) whatever colour the site sets.
  var onColor = contrast(color, "#ffffff") >= 4.5 ? "#ffffff" : "#111111";
  var ink = readableOnWhite(color);
  var side = settings.position === "left" ? "left" : "right";
  var who = settings.visitor || {};
  var KEY = "frontdesk:" + base.host;
  var saved = load();
  // Highest seq shown on this page: a fresh page shows nothing yet, so it asks for the whole
  // transcript; a reconnect asks only for what it missed.
  var lastSeq = 0;
  var ws, retry = 0, typingTimer = 0, lastTyping = 0, unread = 0;
  // The outbox goes out one message at a time, so a refusal is known to be about the one in
  // flight; `accepted` holds those the server took while its store was down (held).
  var inFlight = null, accepted = {}, pumpTimer = 0;
  // While waiting for a person: the place and estimate last told, when they were told, and when
  // the wait began (the queued notice's time), so the status line moves on between changes.
  var queued = null, queuedSince = 0;

  /** [r, g, b] of "#rgb" or "#rrggbb". */
  function rgb(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }
  function luminance(c) {
    var v = c.map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var la = luminance(rgb(a)), lb = luminance(rgb(b));
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  /** The colour, darkened just enough to be read as text on white. */
  function readableOnWhite(hex) {
    var c = rgb(hex);
    for (var k = 1; k >= 0; k -= 0.05) {
      var d = "#" + c.map(function (x) { return ("0" + Math.round(x * k).toString(16)).slice(-2); }).join("");
      if (contrast(d, "#ffffff") >= 4.5) return d;
    }
    return "#111111";
  }

  function load() { try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; } }
  function persist() { try { localStorage.setItem(KEY, JSON.stringify(saved)); } catch (e) { /* private mode */ } }
  // Messages not yet confirmed by the server survive reloads and are resent with the same
  // client_id (the server never stores one twice).
  saved.outbox = saved.outbox || [];

  // Only start where the server allows this page's origin (its /ws allowlist); elsewhere say why
  // in the console instead of showing a panel that cannot connect.
  fetch(new URL("/api/widget/allowed", base), { mode: "cors", credentials: "omit" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); start(); })
    .catch(function () {
      console.error("frontdesk: " + location.origin + " may not use the chat at " + base.host +
        " (add it to the server's allowed_origins)");
    });

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  function start() {
    var host = el("div");
    host.setAttribute("data-frontdesk", "");
    document.body.appendChild(host);
    var root = host.attachShadow({ mode: "open" });
    root.innerHTML = "<style>" +
      ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,sans-serif}" +
      ".launch{position:fixed;" + side + ":20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:" + color + ";color:" + onColor + ";display:flex;align-items:center;justify-content:center;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3);z-index:2147483000}" +
      ".badge{position:absolute;top:-4px;" + side + ":-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#c0392b;color:#fff;font-size:12px;line-height:20px;text-align:center}.badge[hidden]{display:none}" +
      ".panel{position:fixed;" + side + ":20px;bottom:88px;width:370px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden;z-index:2147483000;color:#222}" +
      ".panel.open{display:flex}.head{background:" + color + ";color:" + onColor + ";padding:10px 12px;display:flex;align-items:center;gap:8px}.who{flex:1;min-width:0}.title{font-weight:600;font-size:15px}.status{font-size:12px;opacity:.9}" +
      ".head button{border:1px solid " + onColor + ";background:none;color:" + onColor + ";border-radius:14px;padding:4px 9px;cursor:pointer;font-size:12px}.x{border:0!important;font-size:20px!important;line-height:1;padding:2px 6px!important}" +
      ".log{flex:1;overflow-y:auto;padding:12px;background:#f7f7f5}.row{display:flex;flex-direction:column;margin:6px 0}.row.me{align-items:flex-end}" +
      ".msg{padding:8px 11px;border-radius:10px;max-width:85%;line-height:1.4;font-size:14px;overflow-wrap:anywhere}.msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg a{color:inherit}" +
      ".me .msg{background:" + color + ";color:" + onColor + "}.failed .msg{background:#fff;color:#222;border:1px solid #b3261e}.failed .meta{color:#b3261e}.bot .msg,.agent .msg{background:#fff;border:1px solid #e3e3de}.agent .msg{border-color:" + color + "}.pending .msg{opacity:.6}" +
      ".meta{font-size:11px;color:#666;margin:2px 4px}.notice{font-size:12px;color:#555;text-align:center;margin:8px 0}" +
      ".acts{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}.acts button,.form button{padding:6px 10px;border:1px solid " + ink + ";background:#fff;color:" + ink + ";border-radius:14px;cursor:pointer;font-size:13px;text-align:left}" +
      ".form{display:flex;flex-direction:column;gap:6px;background:#fff;border:1px solid #e3e3de;border-radius:10px;padding:10px;margin:6px 0}.form input,.form textarea{border:1px solid #ccc;border-radius:6px;padding:7px;font-size:14px}" +
      ".stars button{font-size:20px;border:0;background:none;cursor:pointer;color:#767676;padding:0 2px}.stars button[aria-pressed=true]{color:#a86f00}" +
      ".typing{font-size:12px;color:#555;padding:0 12px 6px;min-height:18px;background:#f7f7f5}" +
      ".compose{display:flex;border-top:1px solid #e3e3de}.compose textarea{flex:1;border:0;padding:12px;font-size:14px;resize:none;height:46px}.compose button{border:0;background:#fff;color:" + ink + ";font-weight:600;padding:0 14px;cursor:pointer}" +
      "button:focus-visible,textarea:focus-visible,input:focus-visible{outline:2px solid #1a73e8;outline-offset:1px}" +
      ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
      "@media (max-width:640px){.panel{left:0;right:0;top:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}}" +
      "@media (prefers-reduced-motion:no-preference){.panel.open{animation:in .15s ease-out}@keyframes in{from{opacity:0;transform:translateY(8px)}}}" +
      "</style>" +
      '<button class="launch" aria-label="' + T.open + '" aria-expanded="false"><svg width="26" height="26" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg><span class="badge" hidden></span></button>' +
      '<div class="panel" role="dialog" aria-modal="false"><div class="head"><div class="who"><div class="title"></div><div class="status" role="status"></div></div>' +
      '<button class="human" type="button"></button><button class="x" type="button">×</button></div>' +
      '<div class="log" role="log" aria-live="polite"></div><div class="typing" aria-live="polite"></div>' +
      '<form class="compose"><label class="sr" for="fd-in"></label><textarea id="fd-in" rows="1"></textarea><button type="submit"></button></form></div>';
    var $ = function (s) { return root.querySelector(s); };
    var launch = $(".launch"), badge = $(".badge"), panel = $(".panel"), log = $(".log");
    var status = $(".status"), typing = $(".typing"), input = $("textarea");
    /** Writes the panel's own labels in the current language. */
    function label() {
      root.host.lang = lang;
      $(".title").textContent = settings.title || T.title;
      panel.setAttribute("aria-label", settings.title || T.title);
      $(".human").textContent = T.human;
      $(".x").setAttribute("aria-label", T.close);
      $("label").textContent = T.placeholder;
      input.placeholder = T.placeholder;
      $(".compose button").textContent = T.send;
      showUnread();
    }
    /** Follows the conversation's language, when the widget has texts for it. */
    function speak(code) {
      if (!code || !TEXTS[code] || code === lang) return;
      var was = T;
      lang = code;
      T = textsIn(code);
      label();
      // The status line keeps its meaning in the new language.
      if (status.textContent === was.bot) status.textContent = T.bot;
      else if (status.textContent === was.waiting) status.textContent = T.waiting;
    }
    label();
    status.textContent = T.bot;

    // The panel stays open or closed across page loads; restoring it does not move the focus.
    function setOpen(open, restoring) {
      panel.classList.toggle("open", open);
      launch.setAttribute("aria-expanded", String(open));
      saved.open = open;
      if (open) { markRead(); toEnd(); }
      persist();
      if (restoring) return;
      if (open) input.focus(); else launch.focus();
    }
    // What the visitor has seen: events up to `saved.read` (of this conversation) were on screen
    // with the panel open, so a reload or another page does not count them as unread again.
    function markRead() {
      unread = 0;
      saved.read = Math.max(saved.read || 0, lastSeq);
      showUnread();
    }
    function showUnread() {
      badge.textContent = String(unread);
      badge.hidden = unread === 0;
      launch.setAttribute("aria-label", unread ? T.open + ", " + unread + " " + T.unread : T.open);
    }
    function showQueue() {
      if (!queued) return;
      var waited = (Date.now() - queuedSince) / 1000, left = queued.eta == null ? null : queued.eta - (Date.now() - queued.told) / 1000;
      var more = left == null ? (waited >= 60 ? " · " + T.waited.replace("{n}", Math.floor(waited / 60)) : "")
        : left > 0 ? T.about.replace("{n}", Math.max(1, Math.ceil(left / 60))) : " · " + T.longer;
      status.textContent = T.waiting + " · #" + queued.position + " " + T.inLine + more;
    }
    setInterval(showQueue, 15000);
    // Scrolls to the newest item once it is complete (call after filling it in).
    function toEnd() { log.scrollTop = log.scrollHeight; }
    launch.onclick = function () { setOpen(!panel.classList.contains("open")); };
    $(".x").onclick = function () { setOpen(false); };
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
    $(".human").onclick = function () { send({ type: "request_human" }); };
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
      else if (Date.now() - lastTyping > 3000 && ws && ws.ready) { lastTyping = Date.now(); ws.send('{"type":"typing"}'); }
    });
    $(".compose").onsubmit = function (e) { e.preventDefault(); submit(); };
    function submit() {
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      var m = { type: "message", text: text, client_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) };
      saved.outbox.push(m);
      persist();
      pendingRow(m);
      pump();
    }
    // Sends the oldest unsent message, if none is in flight.
    function pump() {
      if (inFlight || !ws || ws.readyState !== 1 || !ws.ready) return;
      var next = saved.outbox.find(function (m) { return !accepted[m.client_id]; });
      if (!next) return;
      inFlight = next.client_id;
      send(next);
    }
    function settled(clientId) {
      if (inFlight === clientId) inFlight = null;
      pump();
    }
    // The server refused the message in flight: wait and resend (rate limit, our failure), or
    // say on its bubble why it was not sent and take it out of the outbox.
    function refused(f) {
      var id = f.client_id || inFlight;
      if (!id || id !== inFlight) return;
      inFlight = null;
      var bubble = log.querySelector('.pending[data-client-id="' + CSS.escape(id) + '"]');
      if (f.code === "rate_limited" || f.code === "internal") {
        if (bubble) bubble.querySelector(".meta").textContent = T.later;
        clearTimeout(pumpTimer);
        pumpTimer = setTimeout(pump, 2000);
        return;
      }
      var lost = saved.outbox.find(function (m) { return m.client_id === id; });
      saved.outbox = saved.outbox.filter(function (m) { return m.client_id !== id; });
      persist();
      // Back in the composer, to shorten or send again (unless the visitor is typing already).
      if (lost && !input.value) input.value = lost.text;
      if (bubble) {
        bubble.classList.remove("pending");
        bubble.classList.add("failed");
        bubble.querySelector(".meta").textContent = f.code === "too_large" ? T.tooLong : T.notSent;
        toEnd();
      }
      pump();
    }
    function send(frame) { if (ws && ws.readyState === 1 && ws.ready) ws.send(JSON.stringify(frame)); }

    function time(at) {
      var d = at ? new Date(at) : new Date();
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    function row(cls, at, label) {
      var r = el("div", "row " + cls), m = el("div", "msg");
      r.appendChild(m);
      r.appendChild(el("div", "meta", (label ? label + " · " : "") + time(at)));
      place(r);
      return m;
    }
    // Adds to the transcript, above the messages still being sent (they are the newest).
    function place(node) {
      log.insertBefore(node, node.classList.contains("pending") ? null : log.querySelector(".row.pending"));
    }
    function pendingRow(m) {
      var r = row("me pending", 0);
      r.textContent = m.text; // visitor text is never HTML
      r.parentNode.setAttribute("data-client-id", m.client_id);
      toEnd();
    }
    function confirmed(clientId) {
      saved.outbox = saved.outbox.filter(function (m) { return m.client_id !== clientId; });
      persist();
      var p = log.querySelector('.pending[data-client-id="' + CSS.escape(clientId) + '"]');
      if (p) p.remove();
      delete accepted[clientId];
      settled(clientId);
    }
    function notice(text) { place(el("div", "notice", text)); }
    // Something was said to the visitor (event `seq`): unread unless the panel is open or it was
    // seen before.
    function arrived(seq) {
      if (seq <= (saved.read || 0)) return; // seen before (a replay after a reload)
      if (panel.classList.contains("open")) { saved.read = seq; persist(); return; }
      unread++;
      showUnread();
    }
    // Links in answers open beside the shop, never in place of it.
    function newTab(m) {
      m.querySelectorAll("a[href]").forEach(function (a) { a.target = "_blank"; a.rel = "noopener noreferrer"; });
    }
    // "Talk to a person" only while the bot has the conversation.
    function withBot(yes) { $(".human").hidden = !yes; }
    function buttons(parent, items) {
      var acts = el("div", "acts");
      items.forEach(function (it) { var b = el("button", null, it[0]); b.type = "button"; b.onclick = function () { it[1](b, acts); }; acts.appendChild(b); });
      parent.appendChild(acts);
      return acts;
    }

    function render(e) {
      var m;
      if (e.kind === "visitor_message") {
        confirmed(e.client_id);
        row("me", e.at).textContent = e.text;
      } else if (e.kind === "visitor_choice") {
        row("me", e.at).textContent = e.title;
      } else if (e.kind === "agent_message") {
        row("agent", e.at, e.agent).textContent = e.text;
        arrived(e.seq);
      } else if (e.kind === "bot_answer") {
        speak(e.lang);
        m = row("bot", e.at);
        m.innerHTML = e.html; // rendered and sanitised by the server (bot answers only)
        newTab(m);
        var items = (e.options || []).map(function (o) { return [o.title, function () { send({ type: "choose", option: o.id }); }]; });
        if (e.offer_human) items.push([T.human, function () { send({ type: "request_human" }); }]);
        if (items.length) buttons(m, items);
        if (e.decision === "answer" && e.faq) feedback(m, e.seq); // not for "You're welcome!"
        if (e.decision === "offline") offlineForm();
        arrived(e.seq);
      } else if (e.kind === "notice") {
        var k = e.notice.notice;
        var why = k === "queued" ? e.notice.reason : "";
        // Say only what is true now: assigned is not yet "joined" (the agent may not have looked).
        notice(k === "queued" ? (why === "not_answered" || why === "agent_left" ? T.requeued
          : why === "transfer" || /^team/.test(why) ? T.transferred : T.waiting + "…")
          : k === "assigned" ? e.notice.agent + " " + T.assigned
          : k === "back_to_bot" ? T.back : T.closed);
        status.textContent = k === "queued" ? T.waiting : k === "assigned" ? T.talking + " " + e.notice.agent : T.bot;
        withBot(k !== "queued" && k !== "assigned");
        if (k === "queued") queuedSince = e.at || Date.now(); else queued = null;
        if (k === "closed") { ratingForm(); arrived(e.seq); }
      } else if (e.kind === "offline_message") {
        var o = log.querySelector(".offline");
        if (o) o.remove();
        notice(T.sentMessage + " " + e.email);
      } else if (e.kind === "rating") {
        var f = log.querySelector(".rating");
        if (f) f.replaceWith(el("div", "notice", T.rated));
      } else if (e.kind === "feedback") {
        voted(e.answer_seq);
      }
      toEnd();
    }
    // One vote per answer: a vote (here or in another tab, before a reload) removes the question.
    function voted(seq) {
      var q = log.querySelector('.vote[data-seq="' + seq + '"]');
      if (q) q.replaceWith(el("div", "meta", T.thanks));
    }
    function feedback(m, seq) {
      var wrap = el("div", "acts vote");
      wrap.setAttribute("data-seq", String(seq));
      wrap.appendChild(el("span", "meta", T.helpful));
      [[T.yes, T.yesLabel, true], [T.no, T.noLabel, false]].forEach(function (p) {
        var b = el("button", null, p[0]); b.type = "button";
        b.setAttribute("aria-label", p[1]);
        b.onclick = function () { send({ type: "feedback", seq: seq, helpful: p[2] }); voted(seq); };
        wrap.appendChild(b);
      });
      m.appendChild(wrap);
    }
    function offlineForm() {
      if (log.querySelector(".offline")) return;
      var f = el("form", "form offline");
      var email = el("input"); email.type = "email"; email.required = true; email.placeholder = T.email; email.setAttribute("aria-label", T.email);
      if (who.email) email.value = who.email;
      var text = el("textarea"); text.required = true; text.placeholder = T.message; text.setAttribute("aria-label", T.message);
      var b = el("button", null, T.leave); b.type = "submit";
      f.append(email, text, b);
      f.onsubmit = function (e) { e.preventDefault(); send({ type: "leave_message", email: email.value, text: text.value }); f.remove(); };
      place(f);
    }
    function ratingForm() {
      if (log.querySelector(".rating")) return;
      var f = el("form", "form rating"), score = 0;
      f.appendChild(el("div", null, T.rate));
      var stars = el("div", "stars");
      for (var i = 1; i <= 5; i++) (function (n) {
        var s = el("button", null, "★"); s.type = "button"; s.setAttribute("aria-label", n + " of 5"); s.setAttribute("aria-pressed", "false");
        s.onclick = function () { score = n; stars.querySelectorAll("button").forEach(function (x, j) { x.setAttribute("aria-pressed", String(j < n)); }); };
        stars.appendChild(s);
      })(i);
      var c = el("textarea"); c.placeholder = T.comment; c.setAttribute("aria-label", T.comment);
      var b = el("button", null, T.send); b.type = "submit";
      f.append(stars, c, b);
      f.onsubmit = function (e) { e.preventDefault(); if (score) send({ type: "rate", score: score, comment: c.value || undefined }); };
      place(f);
    }

    function greet() { if (settings.greeting !== false) notice(settings.greeting || T.greeting); }
    greet();
    saved.outbox.forEach(pendingRow);
    showUnread();
    if (settings.open || saved.open) setOpen(true, !settings.open);

    function connect() {
      ws = new WebSocket(wsUrl);
      ws.onopen = function () {
        ws.send(JSON.stringify({ type: "hello", token: saved.token, visitor_key: saved.visitor_key,
          user_id: who.id, user_hash: who.hash, name: who.name, email: who.email, last_seq: lastSeq,
          page: location.pathname, tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
          locale: pageLanguage }));
      };
      ws.onmessage = function (msg) {
        var f = JSON.parse(msg.data);
        if (f.type === "welcome") {
          retry = 0;
          if (!f.resumed && lastSeq > 0) {
            // A new conversation (the old one is gone): start the transcript afresh.
            lastSeq = 0;
            log.querySelectorAll(".row:not(.pending),.form,.notice").forEach(function (n) { n.remove(); });
            greet();
          }
          if (!f.resumed) saved.read = 0;
          saved.token = f.token;
          if (f.visitor_key) saved.visitor_key = f.visitor_key;
          persist();
          speak(f.language);
          status.textContent = f.state === "bot" || f.state === "closed" ? T.bot : f.state === "queued" ? T.waiting : status.textContent;
          withBot(f.state === "bot" || f.state === "closed");
          ws.ready = true;
          inFlight = null;
          accepted = {};
          pump();
        } else if (f.type === "event") {
          if (f.seq <= lastSeq) return;
          lastSeq = f.seq;
          typing.textContent = "";
          render(f);
        } else if (f.type === "ack") {
          confirmed(f.client_id);
        } else if (f.type === "queue") {
          queued = { position: f.position, eta: f.eta_seconds, told: Date.now() };
          if (!queuedSince) queuedSince = Date.now();
          showQueue();
        } else if (f.type === "typing") {
          typing.textContent = f.from + " is typing…";
          clearTimeout(typingTimer);
          typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
        } else if (f.type === "held") {
          if (f.client_id) { accepted[f.client_id] = true; settled(f.client_id); }
          // Not saved yet (the server's store is down): show the answer now; the saved copy follows.
          var held = row("bot", 0);
          held.innerHTML = f.answer.html;
          newTab(held);
          toEnd();
        } else if (f.type === "error") {
          console.warn("frontdesk:", f.code, f.message);
          refused(f);
        }
      };
      ws.onclose = function () {
        ws.ready = false;
        status.textContent = T.reconnecting;
        // Exponential backoff with jitter, capped at 30 s.
        var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
        setTimeout(connect, delay);
      };
    }
    connect();
  }
})();
