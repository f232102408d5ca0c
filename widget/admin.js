// frontdesk admin page: knowledge-base status and reload, KPIs with their definitions, inline
// SVG charts, unanswered questions, per-FAQ feedback, erasing a visitor. Plain JS; every value
// from the server goes in with textContent (never as HTML).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
  function dur(s) {
    if (s === null || s === undefined) return "–";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function when(ms) { return ms ? new Date(ms).toLocaleString() : "–"; }

  // ---- sign-in ------------------------------------------------------------------------------
  function showLogin() {
    $("app").classList.add("hidden");
    $("login").classList.remove("hidden");
    if (location.pathname !== "/admin/login") history.replaceState(null, "", "/admin/login");
    $("login-id").focus();
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    fetch("/api/admin/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: $("login-id").value, password: $("login-password").value })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || "cannot sign in");
        history.replaceState(null, "", "/admin");
        start(body);
      });
    }).catch(function (e) { $("login-error").textContent = e.message; });
  });

  $("logout").addEventListener("click", function () {
    fetch("/api/admin/logout", { method: "POST" }).then(showLogin, showLogin);
  });

  // ---- data ---------------------------------------------------------------------------------
  function api(path, options) {
    return fetch(path, options).then(function (r) {
      if (r.status === 401) { showLogin(); throw new Error("signed out"); }
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    });
  }

  var loads = 0;
  function load() {
    var days = $("period").value, query;
    if (days === "custom") {
      // Whole days in the browser's time zone, both ends included.
      var from = $("from").valueAsDate, to = $("to").valueAsDate;
      if (!from || !to) return Promise.resolve();
      var start = new Date(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()).getTime();
      var end = new Date(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate() + 1).getTime();
      if (end <= start) return Promise.resolve();
      query = "from=" + start + "&to=" + end;
    } else {
      query = "days=" + encodeURIComponent(days);
    }
    var mine = ++loads;
    return api("/api/admin/report?" + query).then(function (res) {
      if (mine !== loads) return; // a newer period was asked for meanwhile
      if (!res.ok) throw new Error(res.body.message || "cannot load the report");
      renderKb(res.body.knowledge_base);
      render(res.body.report);
      document.body.setAttribute("data-loaded", String(Date.now()));
    });
  }

  function renderKb(kb) {
    $("kb-hash").textContent = kb.content_hash;
    $("kb-loaded").textContent = when(kb.loaded_at) + (kb.reloads ? " (" + kb.reloads + " reloads since start)" : "");
    $("kb-faqs").textContent = kb.faqs + (kb.warnings.length ? " (" + kb.warnings.length + " warnings)" : "");
    var box = $("kb-errors");
    clear(box);
    if (kb.errors.length) {
      $("kb-state").textContent = "the last edit was rejected at " + when(kb.failed_at) + "; still serving the last good knowledge base";
      $("kb-state").className = "";
      box.appendChild(document.createTextNode(kb.errors.map(problemLine).join("\n")));
      box.classList.remove("hidden");
    } else {
      $("kb-state").textContent = "good";
      $("kb-state").className = "ok";
      box.classList.add("hidden");
    }
  }

  function problemLine(p) {
    var where = p.file + (p.line ? ":" + p.line : "") + (p.field ? " field `" + p.field + "`" : "");
    return where + ": " + p.message;
  }

  $("reload").addEventListener("click", function () {
    $("reload").disabled = true;
    api("/api/kb/reload", { method: "POST" }).then(function (res) {
      renderKb(res.body.status);
    }).finally(function () { $("reload").disabled = false; });
  });

  $("period").addEventListener("change", function () {
    var custom = $("period").value === "custom";
    $("custom").classList.toggle("hidden", !custom);
    if (custom && !$("from").value) {
      var today = new Date(), week = new Date(Date.now() - 6 * 86400000);
      var day = function (d) { return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0"); };
      $("from").value = day(week);
      $("to").value = day(today);
    }
    load();
  });
  ["input", "change"].forEach(function (kind) {
    $("from").addEventListener(kind, load);
    $("to").addEventListener(kind, load);
  });

  $("forget").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var visitor = $("forget-visitor").value.trim();
    if (!visitor || !confirm("Erase every conversation of " + visitor + "? This cannot be undone.")) return;
    api("/api/admin/forget", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitor: visitor })
    }).then(function (res) {
      $("forget-result").textContent = res.ok ? "Erased " + res.body.erased + " conversation(s)." : res.body.message;
      if (res.ok) load();
    });
  });

  // ---- KPIs ---------------------------------------------------------------------------------
  function kpi(key, name, value, sub, defs) {
    var box = el("div", { "class": "kpi", "data-kpi": key });
    box.appendChild(el("div", { "class": "name" }, name));
    if (value instanceof Node) box.appendChild(value);
    else box.appendChild(el("div", { "class": "value" }, value));
    if (sub) box.appendChild(el("div", { "class": "sub" }, sub));
    box.appendChild(el("div", { "class": "def" }, defs[key] || ""));
    return box;
  }

  function render(r) {
    var k = r.kpis, d = r.definitions, o = k.outcomes;
    var box = $("kpis");
    clear(box);
    box.appendChild(kpi("conversations", "Conversations", k.conversations, null, d));
    box.appendChild(kpi("bot_resolution", "Bot resolution", pct(k.bot_resolution), o.bot_resolved + " of " + k.conversations, d));
    var reasons = Object.keys(k.handoffs_by_reason).map(function (x) { return x.replace(/_/g, " ") + " " + k.handoffs_by_reason[x]; }).join(", ");
    box.appendChild(kpi("handoff_rate", "Handoff rate", pct(k.handoff_rate), o.handed_off + " of " + k.conversations + (reasons ? ": " + reasons : ""), d));
    box.appendChild(kpi("first_response_time", "First response time", dur(k.first_response_time.seconds), "average of " + k.first_response_time.count, d));
    box.appendChild(kpi("average_wait", "Average wait", dur(k.average_wait.seconds), "average of " + k.average_wait.count, d));
    box.appendChild(kpi("average_handle_time", "Average handle time", dur(k.average_handle_time.seconds), "average of " + k.average_handle_time.count, d));
    box.appendChild(kpi("first_contact_resolution", "First contact resolution", pct(k.first_contact_resolution), null, d));
    box.appendChild(kpi("csat", "CSAT", k.csat.average === null ? "–" : k.csat.average.toFixed(2) + " / 5",
      k.csat.count ? k.csat.count + " ratings, " + pct(k.csat.satisfied) + " gave 4 or 5" : "no ratings yet", d));
    box.appendChild(kpi("outcomes", "Outcomes", outcomeList(o, k.conversations), null, d));

    charts(k);
    unanswered(r.unanswered);
    feedback(r.faq_feedback);
  }

  // Each outcome with its name, count and share: a person reads "Handed off 6 (67%)", not "1 / 6".
  function outcomeList(o, total) {
    var list = el("dl", { "class": "outcomes" });
    [["Bot resolved", o.bot_resolved], ["Handed off", o.handed_off],
      ["Offline message", o.offline_message], ["Not resolved", o.not_resolved]].forEach(function (row) {
      list.appendChild(el("dt", null, row[0]));
      list.appendChild(el("dd", null, row[1] + (total ? " (" + Math.round(100 * row[1] / total) + "%)" : "")));
    });
    return list;
  }

  // ---- charts (inline SVG) ------------------------------------------------------------------
  var COLORS = ["#2f8f5b", "#3b6fb6", "#9a6fd0", "#d08a2f", "#c0392b", "#6b7280"];

  function stacked(target, parts) {
    clear(target);
    var total = parts.reduce(function (s, p) { return s + p.value; }, 0);
    var w = 320, h = 26;
    var chart = svg("svg", { width: "100%", viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": parts.map(function (p) { return p.label + " " + p.value; }).join(", ") });
    var x = 0;
    if (!total) chart.appendChild(svg("rect", { x: 0, y: 0, width: w, height: h, fill: "#eee" }));
    parts.forEach(function (p, i) {
      if (!total || !p.value) return;
      var pw = w * p.value / total;
      chart.appendChild(svg("rect", { x: x, y: 0, width: pw, height: h, fill: COLORS[i % COLORS.length] }));
      x += pw;
    });
    target.appendChild(chart);
    var legend = el("div", { "class": "legend" });
    parts.forEach(function (p, i) {
      var item = el("span");
      var swatch = el("i");
      swatch.style.background = COLORS[i % COLORS.length];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(p.label + " " + p.value + (total ? " (" + Math.round(100 * p.value / total) + "%)" : "")));
      legend.appendChild(item);
    });
    target.appendChild(legend);
  }

  function bars(target, parts) {
    clear(target);
    var max = parts.reduce(function (m, p) { return Math.max(m, p.value); }, 0);
    var row = 20, w = 320, label = 110, h = Math.max(row, parts.length * row);
    var chart = svg("svg", { width: "100%", viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": parts.map(function (p) { return p.label + " " + p.value; }).join(", ") || "none in this period" });
    if (!parts.length) chart.appendChild(svg("text", { x: 0, y: 14 }, "none in this period"));
    parts.forEach(function (p, i) {
      var y = i * row;
      chart.appendChild(svg("text", { x: 0, y: y + 14 }, p.label));
      var bw = max ? (w - label - 40) * p.value / max : 0;
      chart.appendChild(svg("rect", { x: label, y: y + 3, width: Math.max(bw, p.value ? 2 : 0), height: row - 7, rx: 2, fill: COLORS[(p.color || 0) % COLORS.length] }));
      chart.appendChild(svg("text", { x: label + bw + 4, y: y + 14 }, p.value));
    });
    target.appendChild(chart);
  }

  function charts(k) {
    var o = k.outcomes;
    stacked($("chart-outcomes"), [
      { label: "bot resolved", value: o.bot_resolved },
      { label: "handed off", value: o.handed_off },
      { label: "offline message", value: o.offline_message },
      { label: "not resolved", value: o.not_resolved }
    ]);
    bars($("chart-reasons"), Object.keys(k.handoffs_by_reason).map(function (x) {
      return { label: x.replace(/_/g, " "), value: k.handoffs_by_reason[x], color: 1 };
    }));
    bars($("chart-csat"), [5, 4, 3, 2, 1].map(function (s) {
      return { label: s + " star" + (s > 1 ? "s" : ""), value: k.csat.distribution[s - 1], color: s >= 4 ? 0 : (s === 3 ? 3 : 4) };
    }));
  }

  /** "es" as a manager reads it ("Spanish"); the code when the browser cannot name it. */
  function languageName(code) {
    if (!code) return "Unknown language";
    try { return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code; } catch (e) { return code; }
  }

  // ---- tables -------------------------------------------------------------------------------
  function unanswered(groups) {
    var body = $("unanswered");
    clear(body);
    if (!groups.length) {
      var tr = el("tr"); var td = el("td", { colspan: "4", "class": "muted" }, "Nothing unanswered in this period.");
      tr.appendChild(td); body.appendChild(tr); return;
    }
    // With several languages, each language's questions under its own heading (a question is
    // grouped with others of its language only), the language with most first.
    var languages = [];
    groups.forEach(function (g) { if (languages.indexOf(g.language) < 0) languages.push(g.language); });
    if (languages.length > 1) {
      var total = function (code) { return groups.filter(function (g) { return g.language === code; }).reduce(function (n, g) { return n + g.count; }, 0); };
      languages.sort(function (a, b) { return total(b) - total(a); });
      groups = languages.flatMap(function (code) { return groups.filter(function (g) { return g.language === code; }); });
    }
    var heading = null;
    groups.forEach(function (g) {
      if (languages.length > 1 && g.language !== heading) {
        heading = g.language;
        var h = el("tr", { "class": "language" });
        h.appendChild(el("th", { colspan: "4", scope: "colgroup" }, languageName(g.language)));
        body.appendChild(h);
      }
      var tr = el("tr", { "class": "group" });
      tr.appendChild(el("td", { "class": "num" }, g.count));
      var q = el("td");
      q.appendChild(el("div", { "class": "question" }, g.question));
      var others = g.examples.filter(function (e) { return e !== g.question; });
      if (others.length) q.appendChild(el("div", { "class": "examples" }, "also: " + others.join(" · ")));
      tr.appendChild(q);
      var kinds = el("td");
      Object.keys(g.kinds).forEach(function (kind) {
        kinds.appendChild(el("span", { "class": "tag " + kind }, kind.replace(/_/g, " ") + " " + g.kinds[kind]));
      });
      tr.appendChild(kinds);
      var closest = g.closest_faq ? g.closest_faq + (g.closest_confidence ? " (" + g.closest_confidence.toFixed(2) + ")" : "") : "–";
      var cell = el("td", { "class": "closest" }, closest);
      if (g.closest_file) cell.appendChild(el("div", { "class": "examples file" }, g.closest_file));
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function feedback(rows) {
    var body = $("feedback");
    clear(body);
    if (!rows.length) {
      var tr = el("tr"); tr.appendChild(el("td", { colspan: "4", "class": "muted" }, "No answers in this period."));
      body.appendChild(tr); return;
    }
    rows.forEach(function (f) {
      var tr = el("tr");
      tr.appendChild(el("td", null, f.faq));
      tr.appendChild(el("td", { "class": "num" }, f.answered));
      tr.appendChild(el("td", { "class": "num" }, f.helpful));
      tr.appendChild(el("td", { "class": "num" }, f.not_helpful));
      body.appendChild(tr);
    });
  }

  // ---- start --------------------------------------------------------------------------------
  function start(me) {
    $("me").textContent = me.name;
    $("login").classList.add("hidden");
    $("app").classList.remove("hidden");
    load().catch(function (e) { if (e.message !== "signed out") alert(e.message); });
  }

  fetch("/api/admin/me").then(function (r) {
    if (!r.ok) return showLogin();
    return r.json().then(start);
  }, showLogin);
})();
