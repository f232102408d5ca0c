// @ts-check
// What the agent console and the admin page share (served at /pages/common.js; both import it
// as `./common.js`). Plain ES module, no build step; checked by `tsc --noEmit` in scripts/test
// against the types generated from the server's frames (types/frames.d.ts).

/** @typedef {import("./types/frames").components["schemas"]} Schemas */

/**
 * The element with this id. Typed loosely on purpose: the pages' own markup is not what the
 * type check guards; the server's data is.
 * @param {string} id
 * @returns {any}
 */
export const $ = (id) => document.getElementById(id);

/**
 * A new element: `props` is its class (a string) or its attributes (an object); `text`, when
 * given, is its text (never HTML).
 * @param {string} tag
 * @param {string | Record<string, string | number> | null} [props]
 * @param {string | number | null} [text]
 * @returns {any}
 */
export function el(tag, props, text) {
  const node = document.createElement(tag);
  if (typeof props === "string") node.className = props;
  else if (props) for (const [name, value] of Object.entries(props)) node.setAttribute(name, String(value));
  if (text != null) node.textContent = String(text);
  return node;
}

/** @param {Element} node */
export function clear(node) {
  node.replaceChildren();
}

/**
 * "es" or "es-MX" as a person reads it ("Spanish", "Spanish (Mexico)"); the code itself when
 * the browser cannot name it.
 * @param {string | null | undefined} code
 */
export function languageName(code) {
  if (!code) return "Unknown language";
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

/**
 * Why a conversation waits (or waited) for a person, as a person says it.
 * @param {Schemas["ReasonKind"]} kind
 * @param {string | null | undefined} id the rule, FAQ or team the reason names
 */
export function reasonText(kind, id) {
  /** @type {Record<Schemas["ReasonKind"], string>} */
  const said = {
    visitor_asked: "the visitor asked for a person",
    frustrated: "the visitor seemed frustrated",
    repeated_misses: "the bot missed several times in a row",
    rule: `rule ${id}`,
    faq: `FAQ ${id} is answered by people`,
    team: `sent to team ${id}`,
    transfer: "an agent put it back in the queue",
    agent_left: "the agent went offline",
    not_answered: "the assigned agent did not answer",
  };
  return said[kind];
}

/**
 * The sign-in form of a staff page: posts its `id` and `password` to `endpoint` and resolves
 * with the signed-in person; a refusal or an unreachable server is said in the form's `.error`
 * until the next try.
 * @param {HTMLFormElement} form
 * @param {string} endpoint
 * @returns {Promise<{ id: string, name: string }>}
 */
export function signIn(form, endpoint) {
  const error = /** @type {HTMLElement} */ (form.querySelector(".error"));
  const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
  form.classList.remove("hidden");
  /** @type {HTMLInputElement} */ (form.elements.namedItem("id")).focus();
  return new Promise((signedIn) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const answer = await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: field("id"), password: field("password") }),
        });
        const body = await answer.json();
        if (answer.ok) signedIn(body);
        else error.textContent = body.detail || "Sign in failed";
      } catch {
        error.textContent = "The server cannot be reached";
      }
    };
  });
}

/**
 * One line on why the bot said this: which FAQ or rule, how sure, the words, the runner-up.
 * @param {Schemas["Explanation"]} x
 */
export function explainLine(x) {
  if (x.asked_for_person) return `Asked for a person (\u201c${x.asked_for_person}\u201d)`;
  if (x.rule) return `Rule ${x.rule[0]} (\u201c${x.rule[1]}\u201d)`;
  const c = x.candidates || [];
  if (!c.length) return "No FAQ came close";
  let line = `FAQ ${c[0].faq} · ${Math.round(c[0].confidence * 100)}% sure`;
  if (x.matched_terms && x.matched_terms.length) line += ` · matched: ${x.matched_terms.join(", ")}`;
  if (c[1] && c[1].confidence >= 0.05) line += ` · runner-up: ${c[1].faq} ${Math.round(c[1].confidence * 100)}%`;
  if (x.split) line += ` · two questions: \u201c${x.split.join("\u201d + \u201c")}\u201d (the other offered)`;
  if (x.corrections && x.corrections.length) line += ` · read ${x.corrections.map(p => `${p[0]} as ${p[1]}`).join(", ")}`;
  if (x.language) line += ` · read in ${languageName(x.language.code)}`;
  return line;
}
