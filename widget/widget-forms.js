// @ts-check
// What the visitor fills in, in the transcript: "Was this helpful?" under an answer, the form
// for a message when nobody can answer now, the rating, the address for a transcript.
import { notice, place, toEnd, ui } from "./widget-panel.js";
import { ctx, el, send } from "./widget-state.js";

/** One vote per answer: a vote (here or in another tab, before a reload) removes the question. @param {number} seq */
export function voted(seq) {
  const q = ui.log.querySelector(`.vote[data-seq="${seq}"]`);
  if (q) q.replaceWith(el("div", "meta", ctx.T.thanks));
}
/** "Was this helpful?" under answer `seq` (its bubble `m`). @param {HTMLElement} m @param {number} seq */
export function feedback(m, seq) {
  const { T } = ctx;
  const wrap = el("div", "acts vote");
  wrap.setAttribute("data-seq", String(seq));
  wrap.appendChild(el("span", "meta", T.helpful));
  /** @type {[string, string, boolean][]} */
  const choices = [[T.yes, T.yesLabel, true], [T.no, T.noLabel, false]];
  choices.forEach(p => {
    const b = el("button", null, p[0]); b.type = "button";
    b.setAttribute("aria-label", p[1]);
    b.onclick = () => { send({ type: "feedback", seq, helpful: p[2] }); voted(seq); };
    wrap.appendChild(b);
  });
  m.appendChild(wrap);
}
/** The message form, at the end of the transcript and in view (an earlier one moves there). */
export function offlineForm() {
  const { T } = ctx;
  const earlier = ui.log.querySelector(".offline");
  if (earlier) {
    ui.log.appendChild(earlier);
    toEnd();
    return;
  }
  const f = el("form", "form offline");
  const email = el("input"); email.type = "email"; email.required = true; email.placeholder = T.email; email.setAttribute("aria-label", T.email);
  if (ctx.who.email) email.value = ctx.who.email;
  const text = el("textarea"); text.required = true; text.placeholder = T.message; text.setAttribute("aria-label", T.message);
  const b = el("button", null, T.leave); b.type = "submit";
  f.append(email, text, b);
  f.onsubmit = e => { e.preventDefault(); send({ type: "leave_message", email: email.value, text: text.value }); f.remove(); };
  place(f);
}
/** The rating (1 to 5 stars and a comment), once per closed conversation. */
export function ratingForm() {
  const { T } = ctx;
  if (ui.log.querySelector(".rating")) return;
  const f = el("form", "form rating");
  let score = 0;
  f.appendChild(el("div", null, T.rate));
  const stars = el("div", "stars");
  for (let i = 1; i <= 5; i++) (n => {
    const s = el("button", null, "☆"); s.type = "button"; s.setAttribute("aria-label", T.stars.replace("{n}", String(n))); s.setAttribute("aria-pressed", "false");
    s.onclick = () => {
      score = n;
      f.querySelector(".said").textContent = "";
      stars.querySelectorAll("button").forEach((x, j) => { x.setAttribute("aria-pressed", String(j < n)); x.textContent = j < n ? "★" : "☆"; });
    };
    stars.appendChild(s);
  })(i);
  const c = el("textarea"); c.placeholder = T.comment; c.setAttribute("aria-label", T.comment);
  const b = el("button", null, T.send); b.type = "submit";
  // Send without a star says what is missing, next to the stars.
  const said = el("div", "said"); said.setAttribute("role", "alert");
  f.append(stars, said, c, b);
  f.onsubmit = e => {
    e.preventDefault();
    if (!score) { said.textContent = T.pickStars; stars.querySelector("button").focus(); return; }
    send({ type: "rate", score, comment: c.value || undefined });
  };
  place(f);
}
/** "E-mail me this conversation": to which address. */
export function transcriptForm() {
  const { T } = ctx;
  const earlier = ui.log.querySelector(".mail-copy");
  if (earlier) earlier.remove();
  const f = el("form", "form mail-copy");
  f.appendChild(el("div", null, T.emailMe));
  const email = el("input"); email.type = "email"; email.required = true; email.placeholder = T.email; email.setAttribute("aria-label", T.email);
  email.value = ctx.who.email || ctx.saved.email || "";
  const said = el("div", "said"); said.setAttribute("role", "alert");
  const b = el("button", null, T.send); b.type = "submit";
  f.append(email, said, b);
  f.onsubmit = e => {
    e.preventDefault();
    ctx.saved.email = email.value;
    send({ type: "email_transcript", email: email.value });
  };
  place(f);
  toEnd();
  email.focus();
}
/** @param {string} email @param {"queued" | "too_soon"} outcome */
export function transcriptSent(email, outcome) {
  const f = ui.log.querySelector(".mail-copy");
  if (f) f.remove();
  notice(outcome === "queued" ? ctx.T.mailQueued.replace("{email}", email) : ctx.T.mailSoon, Date.now());
  toEnd();
}
/** A refusal (a bad address), under the field. @param {string} message */
export function transcriptRefused(message) {
  const said = ui.log.querySelector(".mail-copy .said");
  if (!said) return false;
  said.textContent = message;
  return true;
}
