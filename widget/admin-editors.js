// @ts-check
// The editors' loop on the admin page: try a question on the live bot, turn an unanswered
// question into a fix (a phrasing of an FAQ, a new FAQ, an off-topic test case, or a dismissal)
// with a check first, run the editors' test suite, and the record of changes. Every value from
// the server goes in with textContent (never as HTML).
import { $, clear, el, explainLine, languageName } from "./common.js";

/** @typedef {import("./types/frames").components["schemas"]} Schemas */
/** @typedef {{ ok: boolean, status: number, body: any }} Answer */
/** @typedef {(path: string, options?: RequestInit) => Promise<Answer>} Api */

/** @type {Api} */
let api = () => Promise.reject(new Error("not started"));
/** Called after a change is saved (the report and the record are read again). */
let changed = () => {};
/** @type {Schemas["FaqList"] | null} */
let faqList = null;

/** @param {number} x */
function pct(x) { return `${Math.round(x * 100)}%`; }

function loadFaqs() {
  return api("/api/admin/kb/faqs").then(res => {
    if (res.ok) faqList = res.body;
    return faqList;
  });
}

/** @param {string} id @param {string | null | undefined} language */
function faqNamed(id, language) {
  const all = faqList ? faqList.faqs : [];
  return all.find(f => f.id === id && (!language || f.language === language)) || all.find(f => f.id === id);
}

/** A diff with its added and removed lines marked. @param {string} diff */
function diffView(diff) {
  const pre = el("pre", "diff");
  for (const line of diff.split("\n")) {
    const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : null;
    pre.appendChild(cls ? el("span", cls, line) : document.createTextNode(line));
    pre.appendChild(document.createTextNode("\n"));
  }
  return pre;
}

/**
 * What the bot does with a message, as an editor reads it: the decision, why, the answer, and
 * why not the other FAQs.
 * @param {Schemas["Tried"]} t
 */
export function triedView(t) {
  const x = t.explanation;
  const c = x.candidates || [];
  const box = el("div", `verdict ${t.decision === "answer" ? "good" : t.decision === "fallback" ? "bad" : ""}`);
  const title = (/** @type {string} */ id) => { const f = faqNamed(id, x.language && x.language.code); return f ? `“${f.title}” (${id})` : id; };
  const headline = {
    answer: () => x.rule ? `Answers with rule ${x.rule[0]}` : `Answers with ${title(c[0] ? c[0].faq : t.outcome)}${c[0] ? ` · ${pct(c[0].confidence)} sure` : ""}`,
    clarify: () => `Asks which one the visitor means: ${t.outcome.replace(/^clarify \(|\)$/g, "")}`,
    fallback: () => c[0] ? `Does not answer: the closest FAQ, ${c[0].faq}, is ${pct(c[0].confidence)} sure (answering needs ${pct(t.answer_confidence)})` : "Does not answer: no FAQ came close",
    handoff: () => `Hands the visitor to a person (${t.outcome.replace(/^handoff /, "")})`
  }[t.decision] || (() => t.outcome);
  box.appendChild(el("h3", null, headline()));
  box.appendChild(el("p", "muted", explainLine(x)));
  if (t.answer) box.appendChild(el("p", null, t.answer.length > 300 ? `${t.answer.slice(0, 300)}…` : t.answer));
  if (c.length) {
    const table = el("table", "candidates");
    const head = el("tr");
    ["FAQ", "Confidence", "Words covered", "Closest phrasing"].forEach(h => head.appendChild(el("th", null, h)));
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    c.forEach(k => {
      const tr = el("tr");
      tr.append(el("td", null, k.faq), el("td", "num", pct(k.confidence)), el("td", "num", pct(k.coverage)), el("td", null, k.nearest_phrasing || "–"));
      body.appendChild(tr);
    });
    box.appendChild(el("p", "muted", `Why not the others: it answers at ${pct(t.answer_confidence)} or more, asks which one at ${pct(t.clarify_confidence)} or more.`));
    box.appendChild(table);
  }
  return box;
}

// ---- try a question ----------------------------------------------------------------------------
function wireTry() {
  $("try-form").addEventListener("submit", (/** @type {Event} */ ev) => {
    ev.preventDefault();
    const text = $("try-text").value.trim();
    const out = $("try-result");
    if (!text) { out.textContent = "Type a question to try."; return; }
    Promise.all([faqList ? null : loadFaqs(), api("/api/admin/kb/try", post({ text }))]).then(([, res]) => {
      clear(out);
      if (!res.ok) { out.textContent = res.body.detail || "Cannot try it now."; return; }
      out.appendChild(triedView(res.body));
    });
  });
}

/** @param {unknown} body @returns {RequestInit} */
function post(body) {
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

// ---- the editors' suite -----------------------------------------------------------------------
function wireTests() {
  $("run-tests").addEventListener("click", () => {
    const out = $("suite");
    $("run-tests").disabled = true;
    out.textContent = "Running the editors' tests (every phrasing held out, every test case)…";
    api("/api/admin/kb/test", post({})).then(res => {
      clear(out);
      if (!res.ok) { out.textContent = res.body.detail || "Cannot run the tests now."; return; }
      out.appendChild(suiteView(res.body));
    }).finally(() => { $("run-tests").disabled = false; });
  });
}

/** @param {Schemas["Suite"]} s */
function suiteView(s) {
  const box = el("div", `verdict ${s.passed ? "good" : "bad"}`);
  const first = s.phrasings[0];
  box.appendChild(el("h3", null, `${s.passed ? "PASS" : "FAIL"}: ${first.found}/${first.phrasings} phrasings find their FAQ (${first.method}) · ${s.cases.passed}/${s.cases.cases} test cases`));
  s.phrasings.slice(1).forEach(p => box.appendChild(el("p", "muted", `${languageName(p.language)}: ${p.found}/${p.phrasings} phrasings find their FAQ (a hint: add phrasings where they miss)`)));
  const misses = [
    ...first.misses.map(m => `Phrasing “${m.phrasing}” of ${m.faq}, held out: ${m.outcome}`),
    ...s.cases.misses.map(m => `${m.file}:${m.line} “${m.text}”: expected ${m.expected}, got ${m.got}`)
  ];
  if (misses.length) {
    const list = el("ul");
    misses.slice(0, 30).forEach(m => list.appendChild(el("li", null, m)));
    box.appendChild(list);
  }
  return box;
}

// ---- fixing a question ------------------------------------------------------------------------
/** @type {{ question: string, language: string | null, closest: string | null, suggested: string[], tried: Schemas["Tried"] | null } | null} */
let fixing = null;

/** The "Fix…" button of an unanswered question. @param {Schemas["QuestionGroup"]} group */
export function fixButton(group) {
  const b = el("button", { "class": "action", type: "button" }, "Fix…");
  b.setAttribute("aria-label", `Fix: ${group.question}`);
  b.onclick = () => { openFix(group.question, group.language || null, group.closest_faq || null); };
  return b;
}

/** @param {string} question @param {string | null} language @param {string | null} closest */
function openFix(question, language, closest) {
  fixing = { question, language, closest, suggested: [], tried: null };
  $("fix-title").textContent = `Fix: “${question}”`;
  $("fix-now").textContent = "";
  clear($("fix-result"));
  $("fix-search").value = "";
  /** @type {HTMLInputElement} */ (document.querySelector('input[name="fix-kind"][value="phrasing"]')).checked = true;
  showKind();
  /** @type {HTMLDialogElement} */ ($("fix")).showModal();
  $("fix-search").focus();
  const mine = fixing;
  Promise.all([loadFaqs(), api("/api/admin/kb/try", post({ text: question }))]).then(([, res]) => {
    if (fixing !== mine) return;
    if (res.ok) {
      /** @type {Schemas["Tried"]} */
      const t = res.body;
      mine.tried = t;
      mine.language = mine.language || (t.explanation.language ? t.explanation.language.code : null);
      $("fix-now").textContent = `Now the bot: ${t.summary}`;
      mine.suggested = (t.explanation.candidates || []).map(c => c.faq);
    }
    if (closest && !mine.suggested.includes(closest)) mine.suggested.push(closest);
    renderFaqs();
    fillNewFaq();
  });
}

function kind() {
  const checked = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="fix-kind"]:checked'));
  return checked ? checked.value : "phrasing";
}

function showKind() {
  $("fix-phrasing").classList.toggle("hidden", kind() !== "phrasing");
  $("fix-new").classList.toggle("hidden", kind() !== "new_faq");
  $("fix-check").disabled = kind() === "dismiss";
  $("fix-save").textContent = kind() === "dismiss" ? "Dismiss" : "Save";
}

/** The language the fix is in: the question's, else the knowledge base's first. */
function fixLanguage() {
  const all = faqList ? faqList.faqs : [];
  return (fixing && fixing.language && all.some(f => f.language === fixing?.language)) ? fixing.language : (all[0] ? all[0].language : "en");
}

/** The FAQs of the fix's language: the suggestions first, then those matching the search. */
function renderFaqs() {
  const list = $("fix-faqs");
  clear(list);
  if (!faqList || !fixing) return;
  const language = fixLanguage();
  const query = $("fix-search").value.trim().toLowerCase();
  const mine = faqList.faqs.filter(f => f.language === language);
  const matches = (/** @type {Schemas["FaqEntry"]} */ f) => !query || f.id.includes(query) || f.title.toLowerCase().includes(query) || f.questions.some(q => q.toLowerCase().includes(query));
  const suggested = fixing.suggested.map(id => mine.find(f => f.id === id)).filter(f => f && matches(f));
  const rest = mine.filter(f => !fixing?.suggested.includes(f.id) && matches(f));
  [...suggested, ...rest].slice(0, 60).forEach((f, i) => {
    if (!f) return;
    const li = el("li");
    const label = el("label");
    const radio = el("input", { type: "radio", name: "fix-faq", value: f.id });
    if (i === 0 && !query) radio.checked = true;
    label.append(radio, " ", el("strong", null, f.title), " ", el("span", "file", `${f.id} · ${f.file}${i < suggested.length ? " · suggested" : ""}`));
    li.appendChild(label);
    const phrasings = el("div", "phrasings", `Phrasings: ${f.questions.join(" · ")}`);
    li.appendChild(phrasings);
    list.appendChild(li);
  });
  if (!list.childNodes.length) list.appendChild(el("li", "muted", "No FAQ matches; try other words, or write a new FAQ."));
}

/** A new FAQ's fields, prefilled from the question. */
function fillNewFaq() {
  if (!fixing || !faqList) return;
  const q = fixing.question.trim();
  const title = q.charAt(0).toUpperCase() + q.slice(1).replace(/[?.!]*$/, "?");
  $("fix-title-in").value = title;
  $("fix-id").value = slug(title);
  $("fix-answer").value = "";
  $("fix-more").value = "";
  const categories = [...new Set(faqList.faqs.map(f => f.category).filter(Boolean))].sort();
  const datalist = $("fix-categories");
  clear(datalist);
  categories.forEach(c => datalist.appendChild(el("option", { value: c })));
  const closest = fixing.closest && faqNamed(fixing.closest, fixLanguage());
  $("fix-category").value = closest ? closest.category : (categories[0] || "");
  const languages = [...new Set(faqList.faqs.map(f => f.language))];
  const select = $("fix-language");
  clear(select);
  languages.forEach(code => select.appendChild(el("option", { value: code }, languageName(code))));
  select.value = fixLanguage();
}

/** @param {string} text */
function slug(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "new-faq";
}

/** The fix the dialog describes, or why not. @returns {{ fix?: any, missing?: string }} */
function fixBody() {
  if (!fixing) return { missing: "Nothing to fix." };
  const question = fixing.question;
  switch (kind()) {
    case "phrasing": {
      const picked = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="fix-faq"]:checked'));
      const faq = picked && faqNamed(picked.value, fixLanguage());
      if (!faq) return { missing: "Choose the FAQ that answers it." };
      return { fix: { kind: "phrasing", question, faq: faq.id, language: faq.language, version: faq.version } };
    }
    case "new_faq": {
      const answer = $("fix-answer").value.trim();
      if (!answer) return { missing: "Write the answer." };
      const more = $("fix-more").value.split("\n").map((/** @type {string} */ l) => l.trim()).filter(Boolean);
      return { fix: { kind: "new_faq", question, id: $("fix-id").value.trim(), title: $("fix-title-in").value.trim(), answer, questions: more, category: $("fix-category").value.trim(), language: $("fix-language").value } };
    }
    case "off_topic": return { fix: { kind: "off_topic", question } };
    default: return { fix: { kind: "dismiss", question } };
  }
}

/** @param {Answer} res */
function refusal(res) {
  const box = el("div", "verdict bad");
  box.appendChild(el("h3", null, res.status === 409 && res.body.code === "changed_on_disk" ? "Not saved: the file changed meanwhile" : "Not saved"));
  box.appendChild(el("p", null, res.body.detail || "The server refused the change."));
  if (res.body.code === "changed_on_disk") {
    const again = el("button", { "class": "action", type: "button" }, "Read the FAQs again");
    again.onclick = () => { loadFaqs().then(renderFaqs); clear($("fix-result")); };
    box.appendChild(again);
  }
  return box;
}

/** @param {Schemas["Applied"]} a */
function appliedView(a) {
  const out = el("div");
  if (a.mode === "off") {
    const box = out.appendChild(el("div", "verdict"));
    box.appendChild(el("h3", null, "Nothing written here: this server offers fixes as patches (kb_writes = off)"));
    box.appendChild(el("p", null, "Apply it in the repository that holds the knowledge base with git apply, then deploy as usual."));
    const link = el("a", { download: "frontdesk-fix.patch" }, "Download the patch");
    link.href = URL.createObjectURL(new Blob([a.patch], { type: "text/x-diff" }));
    box.appendChild(link);
  } else if (!a.files.length) {
    out.appendChild(el("div", "verdict good")).appendChild(el("h3", null, "Dismissed: it leaves the unanswered list."));
  } else {
    const v = a.verdict;
    const reload = a.reload;
    const good = Boolean(v && v.fixed && reload && reload.ok);
    const alone = Boolean(v && v.faq_test && v.faq_test.misses.length);
    const box = out.appendChild(el("div", `verdict ${!good ? "bad" : alone ? "" : "good"}`));
    box.appendChild(el("h3", null, `Saved to ${a.files.map(f => f.file).join(" and ")}${reload && reload.ok ? " and reloaded" : ""}.`));
    if (reload && !reload.ok) box.appendChild(el("p", null, `The reload was rejected: ${reload.status.errors.map(e => `${e.file}: ${e.message}`).join("; ")}`));
    if (v) {
      box.appendChild(el("p", null, `${v.fixed ? "✓" : "✗"} The bot now: ${v.question.outcome} (${v.question.summary})`));
      if (v.faq_test) box.appendChild(el("p", null, `Self-test of the FAQ: ${v.faq_test.found}/${v.faq_test.phrasings} phrasings find it when held out${v.faq_test.misses.length ? `; misses: ${v.faq_test.misses.map(m => `“${m.phrasing}” → ${m.outcome}`).join(", ")}` : ""}.`));
      if (alone) box.appendChild(el("p", null, "A phrasing that is not found when held out is the only one with its key words: the bot answers it, but kb test will list it. Add another phrasing that uses the same words (fix the question's other wordings the same way, or edit the file)."));
      box.appendChild(el("p", null, `Editors' test cases: ${v.cases_passed}/${v.cases} pass${v.case_misses.length ? `; failing: ${v.case_misses.map(m => `“${m.text}” → ${m.got}`).slice(0, 5).join(", ")}` : ""}.`));
    }
  }
  a.files.forEach(f => out.appendChild(diffView(f.diff)));
  return out;
}

/** @param {Schemas["Preview"]} p */
function previewView(p) {
  const out = el("div");
  const box = out.appendChild(el("div", `verdict ${p.breaks.length ? "bad" : "good"}`));
  box.appendChild(el("h3", null, p.breaks.length ? `This change would break ${p.breaks.length} test(s):` : "This change breaks no test."));
  if (p.breaks.length) {
    const list = box.appendChild(el("ul"));
    p.breaks.slice(0, 20).forEach(b => list.appendChild(el("li", null, b)));
  }
  if (p.fixes.length) box.appendChild(el("p", null, `It fixes: ${p.fixes.slice(0, 10).join("; ")}`));
  box.appendChild(el("p", "muted", `Suite after: ${p.after.cases.passed}/${p.after.cases.cases} test cases, ${p.after.phrasings[0].found}/${p.after.phrasings[0].phrasings} phrasings.`));
  p.files.forEach(f => out.appendChild(diffView(f.diff)));
  return out;
}

function wireFix() {
  document.querySelectorAll('input[name="fix-kind"]').forEach(r => r.addEventListener("change", showKind));
  $("fix-search").addEventListener("input", renderFaqs);
  $("fix-title-in").addEventListener("input", () => { $("fix-id").value = slug($("fix-title-in").value); });
  $("fix-close").addEventListener("click", () => { /** @type {HTMLDialogElement} */ ($("fix")).close(); });
  $("fix-check").addEventListener("click", () => {
    const { fix, missing } = fixBody();
    const out = $("fix-result");
    clear(out);
    if (!fix) { out.textContent = missing || ""; return; }
    out.textContent = "Checking: the editors' tests with and without the change…";
    $("fix-check").disabled = true;
    api("/api/admin/kb/preview", post(fix)).then(res => {
      clear(out);
      out.appendChild(res.ok ? previewView(res.body) : refusal(res));
    }).finally(() => { $("fix-check").disabled = kind() === "dismiss"; });
  });
  $("fix-save").addEventListener("click", () => {
    const { fix, missing } = fixBody();
    const out = $("fix-result");
    clear(out);
    if (!fix) { out.textContent = missing || ""; return; }
    out.textContent = "Saving…";
    $("fix-save").disabled = true;
    api("/api/admin/kb/fixes", post(fix)).then(res => {
      clear(out);
      out.appendChild(res.ok ? appliedView(res.body) : refusal(res));
      if (res.ok) { faqList = null; changed(); }
    }).finally(() => { $("fix-save").disabled = false; });
  });
}

// ---- the record of changes --------------------------------------------------------------------
const ACTIONS = { phrasing: "added a phrasing", new_faq: "wrote a new FAQ", off_topic: "marked off-topic", dismiss: "dismissed" };

export function loadChanges() {
  return api("/api/admin/kb/changes?limit=30").then(res => {
    const list = $("changes");
    clear(list);
    if (!res.ok) { list.appendChild(el("li", "muted", res.body.detail || "Cannot read the record.")); return; }
    /** @type {Schemas["KbEdit"][]} */
    const edits = res.body;
    if (!edits.length) list.appendChild(el("li", "muted", "No changes made here yet."));
    edits.forEach(e => {
      const li = el("li");
      li.appendChild(el("div", null, `${new Date(e.at).toLocaleString()} · ${e.who.replace(/^(admin|token):/, "")} ${ACTIONS[e.action] || e.action}: “${e.question}”${e.faq ? ` → ${e.faq}` : ""}`));
      const files = e.files || [];
      if (files.length) {
        const details = el("details");
        details.appendChild(el("summary", null, files.map(f => f.file).join(", ")));
        files.forEach(f => details.appendChild(diffView(f.diff)));
        li.appendChild(details);
      }
      list.appendChild(li);
    });
  });
}

/**
 * Starts the editors' parts of the page.
 * @param {Api} call the page's API helper (signs out on 401)
 * @param {() => void} onChange called after a saved change
 */
export function startEditors(call, onChange) {
  api = call;
  changed = () => { onChange(); loadChanges(); };
  loadChanges();
  // Signing in again starts the page again: the controls are wired once.
  if (wired) return;
  wired = true;
  wireTry();
  wireTests();
  wireFix();
}
let wired = false;
